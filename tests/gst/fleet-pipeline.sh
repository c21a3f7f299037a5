#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs pipelines/fleet-example.sh (a local mosquitto, two machines of two
# cameras each, the consumer) and checks that the consumer printed answers
# of every camera of both machines. Skipped (77) only without Debian's
# mosquitto broker, as publish-mqtt.
set -euo pipefail
dir=${PIPELINES:?PIPELINES must point at pipelines/}
if ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then
  echo "no mosquitto broker installed" >&2
  exit 77
fi
out=$("$dir/fleet-example.sh" 90)
echo "$out"
for cam in machine-a/cam0 machine-a/cam1 machine-b/cam0 machine-b/cam1; do
  grep -q " $cam #[0-9]*: 'What is in the picture?' -> '" <<<"$out" || {
    echo "no answer from $cam" >&2
    exit 1
  }
done
