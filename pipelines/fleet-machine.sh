#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One machine of a fleet: several cameras in one process, one model for all
# of them (shared automatically; their questions decoded in one batch), the
# answers published to the site's MQTT broker under fleet/MACHINE/answers.
#
#   pipelines/fleet-machine.sh MACHINE BROKER_HOST:PORT [CAMERAS] [NUM_BUFFERS]
#
# videotestsrc is-live=true stands in for each camera (a different pattern
# each); MODEL=/path/to/checkpoint picks the model (default: the small one
# that ships with the plugin). Each answer's source-id is MACHINE.
set -euo pipefail
machine=${1:?usage: fleet-machine.sh MACHINE BROKER_HOST:PORT [CAMERAS] [NUM_BUFFERS]}
broker=${2:?usage: fleet-machine.sh MACHINE BROKER_HOST:PORT [CAMERAS] [NUM_BUFFERS]}
cameras=${3:-2}
n=${4:-300}
model=${MODEL:+model-path=$MODEL}
patterns=(ball snow smpte pinwheel spokes gradient circular zone-plate)

launch=()
for ((i = 0; i < cameras; i++)); do
  # shellcheck disable=SC2206
  launch+=(videotestsrc is-live=true num-buffers="$n"
    pattern="${patterns[i % ${#patterns[@]}]}" !
    video/x-raw,width=160,height=120,framerate=30/1 !
    instructblip name="cam$i" $model num-frames=2 interval=1000000000
    max-new-tokens=8 "instruction=What is in the picture?" ! fakesink)
done
# one publisher serves every camera of the machine: from-bus=true takes the
# answers of all instructblip elements in the pipeline; its own input is a
# silent dummy branch
launch+=(fakesrc num-buffers=0 ! instructblippublish method=mqtt
  "address=$broker" "topic=fleet/$machine/answers" qos=1
  "source-id=$machine" from-bus=true ! fakesink)
exec gst-launch-1.0 -q "${launch[@]}"
