#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Answers leave the machine: a live stream's answers published as JSON.
#
#   pipelines/publish-answers.sh file answers.jsonl [NUM_BUFFERS]
#   pipelines/publish-answers.sh mqtt broker.example:1883 [NUM_BUFFERS]
#   pipelines/publish-answers.sh kafka k1:9092,k2:9092 [NUM_BUFFERS]
#
# videotestsrc is-live=true stands in for a camera, so instructblip answers
# asynchronously and instructblippublish never holds the video back: a slow
# or absent broker only fills the publisher's outbox (max-queue), whose
# overflow is dropped and counted. from-bus=true also publishes the answers
# that finish at EOS (each answer once). SOURCE_ID (default: the host name)
# names the stream in every message and is the Kafka key; TOPIC (default
# instructblip-answers) is the MQTT or Kafka topic; MODEL=/path/to/checkpoint
# picks a model. Files rotate at 10 MB, five old files kept.
set -euo pipefail
method=${1:?usage: publish-answers.sh file|mqtt|kafka DESTINATION [NUM_BUFFERS]}
dest=${2:?usage: publish-answers.sh file|mqtt|kafka DESTINATION [NUM_BUFFERS]}
n=${3:-300}
model=${MODEL:+model-path=$MODEL}
source_id=${SOURCE_ID:+source-id=$SOURCE_ID}
topic=${TOPIC:-instructblip-answers}

case "$method" in
  file) to=(method=file "file-path=$dest" max-file-size=10000000 max-files=5) ;;
  mqtt) to=(method=mqtt "address=$dest" "topic=$topic" qos=1) ;;
  kafka) to=(method=kafka "address=$dest" "topic=$topic") ;;
  *)
    echo "unknown method $method (file, mqtt or kafka)" >&2
    exit 2
    ;;
esac

# shellcheck disable=SC2086
gst-launch-1.0 -q videotestsrc is-live=true num-buffers="$n" pattern=ball ! \
  video/x-raw,width=160,height=120,framerate=30/1 ! \
  instructblip $model num-frames=2 interval=1000000000 \
    instruction="Where is the ball?" ! \
  instructblippublish "${to[@]}" $source_id from-bus=true ! \
  fakesink
