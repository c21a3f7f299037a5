#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Checks that GStreamer has every element (or tracer) named on the command
# line as ELEMENT=DEBIAN-PACKAGE; names the packages to install when not.
# Used by meson at configure time, by the gst-elements test and at the start
# of every pipeline test.
set -u
if ! command -v gst-inspect-1.0 > /dev/null; then
  echo "gst-inspect-1.0 not found: install the Debian package gstreamer1.0-tools" >&2
  exit 1
fi
missing=()
packages=()
for pair in "$@"; do
  element=${pair%%=*}
  package=${pair#*=}
  if ! gst-inspect-1.0 --exists "$element" 2> /dev/null; then
    missing+=("$element")
    case " ${packages[*]} " in *" $package "*) ;; *) packages+=("$package") ;; esac
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "GStreamer elements missing: ${missing[*]}; install the Debian" \
    "package(s): apt-get install ${packages[*]} (or run .ci/deps.sh)" >&2
  exit 1
fi
