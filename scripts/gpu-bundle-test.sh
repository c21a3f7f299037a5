#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Checks scripts/gpu-bundle.sh here, without a GPU: builds the bundle, moves
# it to another folder (nothing may point back to where it was built), runs
# its run.sh with an empty environment on PoCL (through the bundle's own
# ICD loader and vendors/all/pocl.icd), and checks that parity passed and
# every result file is there. About 5 minutes on 2 cores (PoCL compiles the
# kernels in every process of the fresh home), so not part of CI's tests
# (docs/performance.md, "GPU bundle").
#   scripts/gpu-bundle-test.sh [WORK_DIR]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/ib-bundle-test.XXXXXX)}
mkdir -p "$work"
work=$(cd "$work" && pwd)

bash "$src/scripts/gpu-bundle.sh" "$work/built"
rm -rf "$work/moved"
mv "$work/built" "$work/moved"
if grep -rlF "$work/built" "$work/moved/bin" "$work/moved/lib" > /dev/null; then
  echo "gpu-bundle-test: the bundle names the folder it was built in:" >&2
  grep -rlF "$work/built" "$work/moved/bin" "$work/moved/lib" >&2
  exit 1
fi
mkdir -p "$work/home"
env -i HOME="$work/home" PATH=/usr/bin:/bin IB_PRECISIONS="fp32 fp16" \
  IB_BENCH_ARGS="--frames 1 --tokens 4 --runs 1" \
  "$work/moved/run.sh" "$work/results"
for f in environment.txt parity.tap parity-summary.txt summary.txt \
  bench-vicuna-tiny-fp16.txt; do
  [ -s "$work/results/$f" ] || { echo "gpu-bundle-test: no $f" >&2; exit 1; }
done
grep -q '"decode_ms_per_token"' "$work/results/bench-vicuna-tiny-fp16.txt"
echo "gpu-bundle-test: ok ($work)"
