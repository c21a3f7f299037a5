#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian packages, as README.md's "## Debian packages" section says:
# its first command (apt-get build-dep, dpkg-buildpackage) in a clean clone
# of this checkout's HEAD, lintian on the result (errors and warnings fail),
# then its second command (install the packages, run the README pipeline)
# in a fresh Debian 12 root (.ci/fresh-root.sh) that has no build tree and
# nothing of this project but the packages. The answers are checked, and
# that the plugin, library and model came from the packages. Needs root.
#   DEBPKG_NOCHECK=1  build with DEB_BUILD_OPTIONS=nocheck (the package
#                     build's own tests skipped; CI has run them already)
#   DEBPKG_OUT        keep the built packages in this folder
#   DEBPKG_DEBS       install the .deb files of this folder instead of
#                     building (no build, no lintian: for working on the
#                     second half)
#   FRESH_MIRROR, FRESH_ROOT, FRESH_KEEP: as for .ci/fresh-root.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
start=$(date +%s)
elapsed() { echo "($(($(date +%s) - start)) s)"; }
# shellcheck source=.ci/fresh-root.sh
. .ci/fresh-root.sh

mapfile -t commands < <(readme_commands "Debian packages" | head -n 2)
if [ ${#commands[@]} -ne 2 ]; then
  echo "debian-packages.sh: README.md has no two commands under" \
    "'## Debian packages'" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "debian-packages.sh: needs root (apt-get, chroot, mounts)" >&2
  exit 2
fi
# the README's commands say sudo; here they already run as root
as_root='sudo() { "$@"; }; export DEBIAN_FRONTEND=noninteractive; '

work=$(mktemp -d /var/tmp/ib-debpkg.XXXXXX)
fresh_root_cleanup_and_work() {
  fresh_root_cleanup
  rm -rf --one-file-system "$work"
}

echo "== debian-packages: clean clone of $(git rev-parse --short HEAD) $(elapsed)"
git clone -q --no-checkout "$repo" "$work/src"
git -C "$work/src" checkout -q --detach "$(git rev-parse HEAD)"
trap fresh_root_cleanup_and_work EXIT

if [ -n "${DEBPKG_DEBS:-}" ]; then
  cp "$DEBPKG_DEBS"/*.deb "$work/"
  debs=("$work"/*.deb)
  echo "== debian-packages: not built, from $DEBPKG_DEBS: ${debs[*]##*/}"
else
  echo "== debian-packages: ${commands[0]} $(elapsed)"
  build_opts=${DEB_BUILD_OPTIONS:-}
  [ "${DEBPKG_NOCHECK:-0}" = 1 ] && build_opts="$build_opts nocheck"
  (cd "$work/src" &&
    DEB_BUILD_OPTIONS=$build_opts bash -c "$as_root${commands[0]}")
  debs=("$work"/*.deb)
  echo "built: ${debs[*]##*/}"
  if [ -n "${DEBPKG_OUT:-}" ]; then
    mkdir -p "$DEBPKG_OUT"
    cp "${debs[@]}" "$DEBPKG_OUT"
  fi

  echo "== debian-packages: lintian $(elapsed)"
  if ! command -v lintian > /dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends lintian
  fi
  lintian --fail-on error,warning --info "$work"/*.changes
fi

fresh_root_create
trap fresh_root_cleanup_and_work EXIT
root=$fresh_root
mkdir -p "$root/root/packages/src"
cp "${debs[@]}" "$root/root/packages/"
fresh_root_mount

echo "== debian-packages: in a fresh root: ${commands[1]} $(elapsed)"
out=$work/run.out
fresh_in_root /root/packages/src "$as_root${commands[1]}" | tee "$out"
test "$(grep -c 'answer=(string)smpte,' "$out")" -ge 1 ||
  { echo "FAIL: the pipeline did not answer smpte" >&2; exit 1; }

echo "== debian-packages: where things came from $(elapsed)"
fresh_in_root / 'gst-inspect-1.0 instructblip' > "$work/inspect" 2>&1 || true
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
inspect_fail() {
  echo "FAIL: $1; gst-inspect-1.0 instructblip said:" >&2
  head -n 20 "$work/inspect" >&2
  exit 1
}
grep -q "Filename *\(/usr\)\?/lib/$multiarch/gstreamer-1.0/libgstinstructblip.so" \
  "$work/inspect" || inspect_fail "not the packaged plugin"
grep -q "the default model at /usr/share/instructblip/models/instructblip-synthvid-tiny" \
  "$work/inspect" || inspect_fail "the plugin does not use the packaged model"
fresh_in_root / "instructblip-ask --help" > "$work/help"
grep -q -- "--model=DIR .*default for answering: /usr/share/instructblip/models/instructblip-synthvid-tiny)" \
  "$work/help" || { echo "FAIL: instructblip-ask does not name the packaged model" >&2; exit 1; }
fresh_in_root / "dpkg -S /usr/bin/instructblip-ask /usr/share/man/man1/instructblip-ask.1.gz && dpkg -S /usr/lib/$multiarch/gstreamer-1.0/libgstinstructblip.so \
  /usr/lib/$multiarch/libinstructblip.so.0 \
  /usr/share/instructblip/models/instructblip-synthvid-tiny/model.safetensors && \
  ! find / -xdev -name meson.build -path '*instructblip*' | grep -q ."
echo "== debian-packages: passed $(elapsed)"
