#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fresh-machine proof: builds a minimal Debian 12 root with mmdebstrap from
# the Debian archive, puts a clean clone of this checkout's HEAD into it, and
# runs the README's two commands exactly as written there (taken from
# README.md, so they cannot drift), as root, with /proc, /sys and /dev bound
# (PoCL needs them). Then prints the subtest summary. Needs root.
#   FRESH_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   FRESH_ROOT    where to build the root (default: a new /var/tmp folder,
#                 removed afterwards unless FRESH_KEEP=1)
#   FRESH_TESTLOG where to copy the tests' testlog.json (for .ci/summary.py)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
start=$(date +%s)
# shellcheck source=.ci/fresh-root.sh
. .ci/fresh-root.sh

# The README's two commands: the first two ```sh blocks of its
# "## Two commands on a fresh Debian 12 machine" section.
mapfile -t commands < <(readme_commands "Two commands" | head -n 2)
if [ ${#commands[@]} -ne 2 ]; then
  echo "fresh-machine.sh: README.md has no two commands under" \
    "'## Two commands on a fresh Debian 12 machine'" >&2
  exit 2
fi

fresh_root_create
root=$fresh_root

echo "== fresh-machine: clean clone of $(git rev-parse --short HEAD)"
head=$(git rev-parse HEAD)
src=/root/gst-instructblip
git clone -q --no-checkout "$repo" "$root$src"
git -C "$root$src" checkout -q --detach "$head"

fresh_root_mount
in_root() { fresh_in_root "$src" "$1"; }

status=0
for i in 0 1; do
  echo "== fresh-machine: README command $((i + 1)):"
  echo "${commands[i]}"
  t0=$(date +%s)
  in_root "${commands[i]}" || status=$?
  echo "== fresh-machine: command $((i + 1)) exit $status after" \
    "$(($(date +%s) - t0)) s"
  [ $status -eq 0 ] || break
done
if [ -f "$root$src/build/meson-logs/testlog.json" ]; then
  in_root "python3 .ci/summary.py build/meson-logs/testlog.json" || status=1
  if [ -n "${FRESH_TESTLOG:-}" ]; then
    cp "$root$src/build/meson-logs/testlog.json" "$FRESH_TESTLOG"
  fi
fi
echo "== fresh-machine: $([ $status -eq 0 ] && echo passed || echo FAILED)" \
  "in $(($(date +%s) - start)) s"
exit $status
