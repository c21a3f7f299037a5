#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# meson install with DESTDIR into a temporary folder, moved elsewhere (so
# only paths computed at run time can work, and the build and source trees
# are out of reach: the installed library is not in the build directory, so
# it never uses the source tree's models/). Then, against the installed
# files only: the API check (headers = exported symbols = the map), a C
# program built with pkg-config, gst-inspect-1.0 and the README pipeline
# with the installed plugin, instructblip-ask from bin/, and meson devenv.
# Every path the tools report is checked to be inside the moved install.
set -euo pipefail
: "${MESON:?}" "${BUILD_ROOT:?}" "${SOURCE_ROOT:?}" "${PREFIX:?}" "${LIBDIR:?}"
: "${BINDIR:?}" "${INCLUDEDIR:?}" "${CC:?}" "${GST_SYSTEM_PLUGINS:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step() { echo "== $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
rel() { case "$1" in /*) echo "${1#"$PREFIX"/}" ;; *) echo "$1" ;; esac; }

step "meson install, DESTDIR=$tmp/dest"
DESTDIR="$tmp/dest" "$MESON" install -C "$BUILD_ROOT" --no-rebuild --quiet
mv "$tmp/dest$PREFIX" "$tmp/moved"
P=$tmp/moved
libdir=$P/$(rel "$LIBDIR")
bindir=$P/$(rel "$BINDIR")
includedir=$P/$(rel "$INCLUDEDIR")
model=$P/share/instructblip/models/instructblip-synthvid-tiny
plugin=$libdir/gstreamer-1.0/libgstinstructblip.so
for f in "$plugin" "$bindir/instructblip-ask" "$model/model.safetensors" \
  "$model/README.md" "$includedir/instructblip-1.0/instructblip.h" \
  "$libdir/pkgconfig/instructblip-1.0.pc"; do
  [ -e "$f" ] || fail "not installed: ${f#"$P"/}"
done
soname=$(objdump -p "$libdir/libinstructblip.so" | awk '/SONAME/ { print $2 }')
[ "$soname" = libinstructblip.so.0 ] || fail "soname is '$soname'"
[ -e "$libdir/$soname" ] || fail "$soname not installed"
echo "installed: plugin, library ($soname), headers, .pc, model, CLI"

# the installed files only
unset GST_PLUGIN_PATH GST_PLUGIN_PATH_1_0 GST_PLUGIN_SYSTEM_PATH
export LD_LIBRARY_PATH=$libdir
export GST_PLUGIN_PATH_1_0=$libdir/gstreamer-1.0
export GST_PLUGIN_SYSTEM_PATH_1_0=$GST_SYSTEM_PLUGINS
export GST_REGISTRY=$tmp/registry.bin
export PKG_CONFIG_PATH=$libdir/pkgconfig
pc() { pkg-config "$@" instructblip-1.0; }

step "API: installed headers declare exactly the exported symbols"
python3 "$SOURCE_ROOT/tests/install/check-api.py" "$CC" \
  "$includedir/instructblip-1.0" "$libdir/libinstructblip.so" \
  "$SOURCE_ROOT/engine/libinstructblip.map"

step "a C program through pkg-config --cflags --libs instructblip-1.0"
[ "$(realpath "$(pc --variable=modelsdir)")" = "$P/share/instructblip/models" ] ||
  fail "modelsdir is $(pc --variable=modelsdir)"
# shellcheck disable=SC2046
"$CC" -std=gnu11 -Wall -Wextra -Werror -o "$tmp/consumer" \
  "$SOURCE_ROOT/tests/install/consumer.c" $(pc --cflags --libs)
"$tmp/consumer" | tee "$tmp/consumer.out"
grep -qx "default model: $model" "$tmp/consumer.out" ||
  fail "the library does not use the installed default model"

step "examples/ask.c (docs/api.md) through pkg-config, on the installed model"
# shellcheck disable=SC2046
"$CC" -std=gnu11 -Wall -Wextra -Werror -o "$tmp/ask" \
  "$SOURCE_ROOT/examples/ask.c" $(pc --cflags --libs)
# question 4 of the default model's held-out set: 4 frames, PyTorch: red
python3 - "$SOURCE_ROOT/tests/default-model/data/frames.bin" "$tmp/red.rgb" <<'PY'
import sys
frame = 64 * 64 * 3
open(sys.argv[2], "wb").write(open(sys.argv[1], "rb").read()[16 * frame:20 * frame])
PY
"$tmp/ask" "$tmp/red.rgb" 64 64 "What colour is the picture?" 2> "$tmp/ask.err" |
  tee "$tmp/ask.out"
grep -q "^$tmp/ask: $model on " "$tmp/ask.err" ||
  fail "examples/ask.c did not use the installed default model"
grep -qx "red" "$tmp/ask.out" || fail "examples/ask.c did not answer red"

step "gst-inspect-1.0 instructblip (installed plugin)"
gst-inspect-1.0 instructblip > "$tmp/inspect"
grep -q "Filename *$plugin" "$tmp/inspect" || fail "not the installed plugin"
grep -q "the default model at $model, a small InstructBLIP trained on" \
  "$tmp/inspect" || fail "model-path does not name the installed model"
grep -q "model-path" "$tmp/inspect"

step "the README pipeline (installed plugin and model)"
gst-launch-1.0 -m videotestsrc num-buffers=120 ! videoconvert ! \
  instructblip instruction="What pattern is this?" ! fakesink > "$tmp/run"
grep "instructblip-answer" "$tmp/run" | tee "$tmp/answers"
grep -q "Loading the model in $model" "$tmp/run" ||
  fail "the element did not load the installed model"
test "$(grep -c 'answer=(string)smpte,' "$tmp/answers")" -eq 2 ||
  fail "the answers are not smpte twice"

step "instructblip-ask in bin/"
"$bindir/instructblip-ask" --help > "$tmp/help"
grep -q -- "--model=DIR .*default for answering: $model)" "$tmp/help" ||
  fail "--help does not name the installed default model"
gst-launch-1.0 -q videotestsrc num-buffers=1 ! video/x-raw,width=224,height=224 ! \
  videoconvert ! pngenc ! filesink location="$tmp/frame.png"
"$bindir/instructblip-ask" --prompt "What pattern is this?" --frames 1 \
  "$tmp/frame.png" | tee "$tmp/ask"
grep -qx "smpte" "$tmp/ask" || fail "instructblip-ask did not answer smpte"

step "meson devenv (uninstalled: the build's plugin, the source tree's model)"
(unset GST_PLUGIN_PATH_1_0 LD_LIBRARY_PATH &&
  "$MESON" devenv -C "$BUILD_ROOT" gst-inspect-1.0 instructblip) > "$tmp/devenv"
grep -q "the default model at $SOURCE_ROOT/models/instructblip-synthvid-tiny" \
  "$tmp/devenv" || fail "meson devenv: the plugin does not use models/"
echo "install test passed"
