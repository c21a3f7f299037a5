#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A live camera with the latest answer burnt into the picture.
#
#   pipelines/camera-overlay.sh [NUM_BUFFERS]
#
# videotestsrc is-live=true stands in for a camera (use v4l2src for a real
# one). The element runs async on a live source: video never waits for the
# model; each answer shows from the frame it arrives with until the next.
# The text_src pad feeds textoverlay; the queues let the text and video
# branches run apart. SINK=autovideosink shows the picture (default fakesink).
set -euo pipefail
n=${1:-150}
sink=${SINK:-fakesink}
model=${MODEL:+model-path=$MODEL}

# shellcheck disable=SC2086
gst-launch-1.0 -m videotestsrc is-live=true num-buffers="$n" pattern=ball ! \
  video/x-raw,width=320,height=240,framerate=30/1 ! \
  instructblip name=q $model num-frames=1 interval=500000000 \
    instruction="What is in the picture?" max-new-tokens=12 ! \
  queue ! textoverlay name=overlay valignment=bottom font-desc="Sans 10" ! \
  videoconvert ! $sink \
  q.text_src ! queue ! overlay.text_sink |
  grep --line-buffered 'instructblip-answer'
