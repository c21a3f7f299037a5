#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Intel's CPU OpenCL runtime from PyPI (intel-opencl-rt, intel-cmplr-lib-rt)
# in a virtual environment DIR, with DIR/vendors/intel-cpu.icd naming its
# libintelocl.so. Prints DIR/vendors: OCL_ICD_VENDORS=DIR/vendors makes the
# OpenCL ICD loader see this runtime only.
set -euo pipefail
dir=${1:?usage: intel-opencl.sh DIR}
if [ ! -s "$dir/vendors/intel-cpu.icd" ]; then
  python3 -m venv "$dir" >&2
  "$dir/bin/pip" install -q --disable-pip-version-check \
    intel-opencl-rt intel-cmplr-lib-rt >&2
  lib=$(find "$dir" -name libintelocl.so -print -quit)
  if [ -z "$lib" ]; then
    echo "intel-opencl.sh: no libintelocl.so in $dir" >&2
    exit 1
  fi
  mkdir -p "$dir/vendors"
  echo "$lib" > "$dir/vendors/intel-cpu.icd"
fi
echo "$dir/vendors"
