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
mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}
start=$(date +%s)

if [ "$(id -u)" -ne 0 ]; then
  echo "fresh-machine.sh: needs root (chroot, mounts)" >&2
  exit 2
fi
if ! command -v mmdebstrap > /dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    mmdebstrap
fi

# The README's two commands: the first two ```sh blocks of its
# "## Two commands on a fresh Debian 12 machine" section.
mapfile -t commands < <(awk '
  /^## Two commands/ { s = 1; next }
  /^## / { s = 0 }
  s && /^```sh$/ { b = 1; cmd = ""; next }
  s && b && /^```$/ { b = 0; print cmd; next }
  s && b { cmd = cmd (cmd == "" ? "" : "\n") $0 }
' README.md | head -n 2)
if [ ${#commands[@]} -ne 2 ]; then
  echo "fresh-machine.sh: README.md has no two commands under" \
    "'## Two commands on a fresh Debian 12 machine'" >&2
  exit 2
fi

root=${FRESH_ROOT:-$(mktemp -d /var/tmp/ib-fresh.XXXXXX)}
mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -l "${mounted[i]}" || true
  done
  if [ "${FRESH_KEEP:-0}" != 1 ] && [ -z "${FRESH_ROOT:-}" ]; then
    rm -rf --one-file-system "$root"
  fi
}
trap cleanup EXIT

echo "== fresh-machine: Debian 12 minbase root in $root from $mirror"
rm -rf --one-file-system "$root"
mmdebstrap --variant=minbase --mode=root bookworm "$root" \
  "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
  "deb http://deb.debian.org/debian-security bookworm-security main"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# what every installed Debian has (the installer writes it; a minbase root
# has none, and then "localhost" does not resolve)
[ -e "$root/etc/hosts" ] || printf '%s\n' '127.0.0.1 localhost' \
  '::1 localhost ip6-localhost ip6-loopback' > "$root/etc/hosts"

echo "== fresh-machine: clean clone of $(git rev-parse --short HEAD)"
head=$(git rev-parse HEAD)
src=/root/gst-instructblip
git clone -q --no-checkout "$repo" "$root$src"
git -C "$root$src" checkout -q --detach "$head"

for m in proc sys dev; do
  mount --bind "/$m" "$root/$m"
  mounted+=("$root/$m")
done

in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c "cd $src && $1"
}

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
