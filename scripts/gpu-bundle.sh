#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds a relocatable bundle for a machine with an NVIDIA, AMD or Intel GPU
# and no package access: the CLI, the GStreamer plugin, libinstructblip,
# ib-bench, the parity test with the committed transformers fixtures, the
# default model, every non-glibc library they load (CLBlast, json-glib, GLib,
# GStreamer, the OpenCL ICD loader, ...), ICD files for the vendors' OpenCL
# libraries, and run.sh: parity and the benchmark in one command, results
# in a folder (docs/performance.md, "GPU bundle").
#   scripts/gpu-bundle.sh OUT [BUILD]   (BUILD default: build-bundle)
# Binaries find bundle/lib through DT_RPATH $ORIGIN/../lib (also for the
# libraries they load: DT_RPATH, unlike DT_RUNPATH, covers the whole tree).
# Kept from the target system: glibc (the bundle says which version it
# needs), libstdc++, libgcc_s and zlib (every minimal Debian/Ubuntu has them,
# and the vendors' OpenCL drivers need the system's own copies).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: gpu-bundle.sh OUT [BUILD]}
bld=${2:-$src/build-bundle}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# 1. A release build without the CPU-only and optional dependencies: oneDNN
# (38 MB, bf16/q8 on CPU devices only), MQTT/Kafka publishing.
if [ ! -f "$bld/build.ninja" ]; then
  LDFLAGS='-Wl,--disable-new-dtags -Wl,-rpath,$ORIGIN/../lib:$ORIGIN/..' \
    meson setup "$bld" "$src" --prefix=/ --libdir=lib --buildtype=release \
    -Ddnnl=disabled -Dmqtt=disabled -Dkafka=disabled -Dbench=disabled \
    -Dgst=enabled > "$bld.setup.log"
fi
ninja -C "$bld" > /dev/null
rm -rf "$out"/*
DESTDIR="$out" meson install -C "$bld" --no-rebuild --quiet
cp "$bld/engine/bench/ib-bench" "$bld/tests/model/test-parity" "$out/bin/"
mkdir -p "$out/tests/data"
cp -r "$src/tests/data/parity" "$out/tests/data/"
rm -f "$out/tests/data/parity/make_fixtures.py"

# 2. Libraries: everything the binaries and the plugin load, except glibc's
# own and the few every system has.
system_re='^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libresolv|libutil|libstdc\+\+|libgcc_s|libz)\.so'
objs=("$out"/bin/* "$out"/lib/libinstructblip.so.* "$out"/lib/gstreamer-1.0/*.so)
ldd "${objs[@]}" 2> /dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' |
  sort -u | while read -r name path; do
    if [[ ! $name =~ $system_re ]] && [ ! -e "$out/lib/$name" ]; then
      cp -L "$path" "$out/lib/$name"
    fi
  done

# 3. OpenCL: the bundled ICD loader reads OCL_ICD_VENDORS=bundle/vendors,
# one file per vendor library (a name the system's loader path resolves).
mkdir -p "$out/vendors/all"
echo libnvidia-opencl.so.1 > "$out/vendors/all/nvidia.icd"
echo libamdocl64.so > "$out/vendors/all/amdocl64.icd"
echo libigdrcl.so > "$out/vendors/all/intel-gpu.icd"
echo libpocl.so.2 > "$out/vendors/all/pocl.icd"

# 4. The one command, and what was built.
install -m 755 "$src/scripts/gpu-bundle-run.sh" "$out/run.sh"
glibc=$(for f in "${objs[@]}" "$out"/lib/*.so*; do
  objdump -T "$f" 2> /dev/null | grep -o 'GLIBC_[0-9.]*'
done | sort -uV | tail -n 1)
{
  echo "source: $(git -C "$src" describe --always --dirty 2> /dev/null || echo unknown)"
  echo "built: $(date -u +%FT%TZ) on $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "needs: $glibc or newer, libstdc++.so.6, libgcc_s.so.1, libz.so.1,"
  echo "       the GPU vendor's OpenCL driver library"
  echo "bundled libraries:"
  (cd "$out/lib" && ls -1 ./*.so* | sed 's|^\./|  |')
} > "$out/MANIFEST"
echo "$out ($(du -sh "$out" | cut -f1)); run: $out/run.sh RESULTS_DIR"
