#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Two streams, two instructions, one loaded model.
#
#   pipelines/two-streams.sh [NUM_BUFFERS]
#
# Both elements name the same model-instance-id, so the process loads the
# model once and one worker thread answers both streams in turn. Each answer
# message names its element (instructblip "cam1" or "cam2").
set -euo pipefail
n=${1:-90}
model=${MODEL:+model-path=$MODEL}

# shellcheck disable=SC2086
gst-launch-1.0 -m \
  videotestsrc num-buffers="$n" pattern=ball ! \
    video/x-raw,width=160,height=120,framerate=30/1 ! \
    instructblip name=cam1 model-instance-id=shared $model num-frames=2 \
      interval=1000000000 instruction="Where is the ball?" ! fakesink \
  videotestsrc num-buffers="$n" pattern=smpte ! \
    video/x-raw,width=160,height=120,framerate=30/1 ! \
    instructblip name=cam2 model-instance-id=shared $model num-frames=2 \
      interval=1000000000 instruction="What colours do you see?" ! fakesink |
  grep --line-buffered 'instructblip-answer'
