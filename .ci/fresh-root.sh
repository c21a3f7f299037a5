# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by .ci/fresh-machine.sh and .ci/debian-packages.sh: a minimal
# Debian 12 root built with mmdebstrap from the Debian archive, /proc, /sys
# and /dev bound into it (PoCL needs them), commands run in it as root with
# a clean environment, and a cleanup that unmounts (lazily) before it
# removes anything, never crossing into a bound file system.
#   FRESH_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   FRESH_ROOT    where to build the root (default: a new /var/tmp folder,
#                 removed afterwards unless FRESH_KEEP=1)

fresh_mounted=()
fresh_root=""

# fresh_root_create: sets fresh_root, builds the root there, installs the
# EXIT trap that undoes everything.
fresh_root_create() {
  local mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}
  if [ "$(id -u)" -ne 0 ]; then
    echo "$0: needs root (chroot, mounts)" >&2
    exit 2
  fi
  if ! command -v mmdebstrap > /dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends mmdebstrap
  fi
  fresh_root=${FRESH_ROOT:-$(mktemp -d /var/tmp/ib-fresh.XXXXXX)}
  trap fresh_root_cleanup EXIT
  echo "== Debian 12 minbase root in $fresh_root from $mirror"
  rm -rf --one-file-system "$fresh_root"
  mmdebstrap --variant=minbase --mode=root bookworm "$fresh_root" \
    "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main"
  cp -L /etc/resolv.conf "$fresh_root/etc/resolv.conf"
  # what every installed Debian has (the installer writes it; a minbase
  # root has none, and then "localhost" does not resolve)
  [ -e "$fresh_root/etc/hosts" ] || printf '%s\n' '127.0.0.1 localhost' \
    '::1 localhost ip6-localhost ip6-loopback' > "$fresh_root/etc/hosts"
}

fresh_root_mount() {
  local m
  for m in proc sys dev; do
    mount --bind "/$m" "$fresh_root/$m"
    fresh_mounted+=("$fresh_root/$m")
  done
}

fresh_root_cleanup() {
  local i
  for ((i = ${#fresh_mounted[@]} - 1; i >= 0; i--)); do
    umount -l "${fresh_mounted[i]}" || true
  done
  fresh_mounted=()
  if [ -n "$fresh_root" ] && [ "${FRESH_KEEP:-0}" != 1 ] &&
    [ -z "${FRESH_ROOT:-}" ]; then
    rm -rf --one-file-system "$fresh_root"
  fi
}

# fresh_in_root DIR COMMAND: runs COMMAND with bash in DIR inside the root,
# as root, with only HOME, TERM, LANG and PATH set.
fresh_in_root() {
  chroot "$fresh_root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c "cd $1 && $2"
}

# readme_commands SECTION: prints the ```sh blocks of README.md's
# "## SECTION..." section, in order (each block is one command line).
readme_commands() {
  awk -v sec="## $1" '
    index($0, sec) == 1 { s = 1; next }
    /^## / { s = 0 }
    s && /^```sh$/ { b = 1; cmd = ""; next }
    s && b && /^```$/ { b = 0; print cmd; next }
    s && b { cmd = cmd (cmd == "" ? "" : "\n") $0 }
  ' README.md
}
