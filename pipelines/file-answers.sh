#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A video file -> answers on stdout, one element message per answer.
#
#   pipelines/file-answers.sh clip.mp4 ["What is the person doing?"]
#
# Blocking mode (the default for files): every answer is about the 4 frames
# of each 2 s of video and the run is deterministic. MODEL=/path/to/checkpoint
# picks a model (default: the element's default model).
set -euo pipefail
file=${1:?usage: file-answers.sh FILE [INSTRUCTION]}
instruction=${2:-What is happening in the video?}
model=${MODEL:+model-path=$MODEL}

# shellcheck disable=SC2086
gst-launch-1.0 -m filesrc location="$file" ! decodebin ! videoconvert ! \
  instructblip $model instruction="$instruction" num-frames=4 \
    interval=2000000000 ! \
  fakesink |
  grep --line-buffered 'instructblip-answer'
