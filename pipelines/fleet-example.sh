#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A fleet on one computer (docs/scale.md): a local mosquitto broker, two
# "machines" (two processes, two cameras each) publishing their answers to
# it, and a consumer printing every answer.
#
#   pipelines/fleet-example.sh [NUM_BUFFERS]
#
# Needs Debian's mosquitto (the broker binary only); the consumer is plain
# Python. The broker listens on a free loopback port and everything stops
# when both machines reach the end of their NUM_BUFFERS frames (default 150).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
n=${1:-150}
mosquitto=$(command -v mosquitto || echo /usr/sbin/mosquitto)
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" >"$tmp/mosquitto.conf"
"$mosquitto" -c "$tmp/mosquitto.conf" >"$tmp/broker.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break
  sleep 0.1
done

python3 "$here/consume-answers.py" "127.0.0.1:$port" 'fleet/#' --timeout 30 &
consumer=$!
pids+=($consumer)
sleep 0.5 # subscribed before the first answer

"$here/fleet-machine.sh" machine-a "127.0.0.1:$port" 2 "$n" &
a=$!
"$here/fleet-machine.sh" machine-b "127.0.0.1:$port" 2 "$n" &
b=$!
pids+=($a $b)
wait $a
wait $b
sleep 1 # the last QoS 1 messages
kill "$consumer" 2>/dev/null || true
