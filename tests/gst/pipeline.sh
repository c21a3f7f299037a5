#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs one pipelines/ example briefly with the default (small) model and
# checks that answers came out; for the README's two pipelines, that they are
# right (videotestsrc's default pattern is smpte, its ball is white). Exit 77 (skip) where the example's extra
# tools are missing (python3-gi for the Python one).
set -euo pipefail
name=${1:?usage: pipeline.sh file|camera|two|python|overlay|readme}
dir=${PIPELINES:?PIPELINES must point at pipelines/}
# every element the examples use, up front, naming the Debian packages
# shellcheck disable=SC2086
"${IB_CHECK_GST_ELEMENTS:?}" ${IB_GST_ELEMENTS:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

case "$name" in
  file)
    gst-launch-1.0 -q videotestsrc num-buffers=90 pattern=ball ! \
      video/x-raw,width=160,height=120,framerate=30/1 ! jpegenc ! \
      matroskamux ! filesink location="$tmp/clip.mkv"
    "$dir/file-answers.sh" "$tmp/clip.mkv" "What is moving?" > "$tmp/out"
    # 3 s of video, a question per 2 s: one full window, one at EOS
    test "$(grep -c 'instructblip-answer' "$tmp/out")" -eq 2
    ;;
  camera)
    "$dir/camera-overlay.sh" 45 > "$tmp/out"
    grep -q 'instructblip-answer' "$tmp/out"
    ;;
  two)
    "$dir/two-streams.sh" 60 > "$tmp/out"
    grep -q 'element "cam1".*Where\\ is\\ the\\ ball' "$tmp/out"
    grep -q 'element "cam2".*What\\ colours' "$tmp/out"
    ;;
  overlay)
    "$dir/overlay-to-file.sh" "$tmp/answers.avi" 150 > "$tmp/out"
    # 5 s of video, a question per 2 s: two full windows, one at EOS
    test "$(grep -c 'instructblip-answer' "$tmp/out")" -eq 3
    test "$(grep -c 'answer=(string)white,' "$tmp/out")" -eq 3
    # the file holds the 150 frames, decodable
    gst-launch-1.0 -v filesrc location="$tmp/answers.avi" ! avidemux ! \
      jpegdec ! fakesink silent=false 2>&1 |
      grep -c 'last-message = chain' > "$tmp/frames" || true
    test "$(cat "$tmp/frames")" -eq 150
    ;;
  readme)
    # The README's first command, after its build steps
    gst-launch-1.0 -m videotestsrc num-buffers=120 ! videoconvert ! \
      instructblip instruction="What pattern is this?" ! fakesink |
      grep instructblip-answer > "$tmp/out"
    test "$(grep -c 'instructblip-answer' "$tmp/out")" -eq 2
    test "$(grep -c 'answer=(string)smpte,' "$tmp/out")" -eq 2
    ;;
  python)
    for py in /usr/bin/python3 python3; do
      if "$py" -c 'import gi; gi.require_version("Gst", "1.0")' 2>/dev/null
      then
        exec "$py" "$dir/read-meta.py" 30
      fi
    done
    echo "python3-gi with Gst 1.0 typelibs not found: skipped" >&2
    exit 77
    ;;
  *)
    echo "unknown example $name" >&2
    exit 2
    ;;
esac
cat "$tmp/out"
