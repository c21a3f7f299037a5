#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Answers burnt into the video with textoverlay, written to a file.
#
#   pipelines/overlay-to-file.sh [OUT.avi] [NUM_BUFFERS] [INSTRUCTION]
#
# videotestsrc's moving ball (white on black) is asked about every 2 s (the
# default interval, 4 frames); the element's text_src pad feeds textoverlay,
# which shows each answer from the frame it arrives with until the next one.
# Blocking mode (the default for a non-live source), so every window of
# frames gets its answer and the file is the same on every run. Motion-JPEG
# in AVI needs only gst-plugins-good. MODEL=/path/to/checkpoint picks a model
# (default: the element's default model). Prints the answers.
set -euo pipefail
out=${1:-answers.avi}
n=${2:-300}
instruction=${3:-What colour is the ball?}
model=${MODEL:+model-path=$MODEL}

# shellcheck disable=SC2086
gst-launch-1.0 -m videotestsrc num-buffers="$n" pattern=ball ! \
  video/x-raw,width=320,height=240,framerate=30/1 ! \
  instructblip name=q $model instruction="$instruction" ! \
  queue ! textoverlay name=overlay valignment=bottom font-desc="Sans 16" ! \
  videoconvert ! jpegenc ! avimux ! filesink location="$out" \
  q.text_src ! queue ! overlay.text_sink |
  grep --line-buffered 'instructblip-answer'
