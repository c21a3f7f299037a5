#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs tests/soak/soak.py on the build's plugin (default: build/). Arguments
# go to soak.py (--frames N, --csv FILE, --max-growth-mb MB, ...).
#   tests/soak/soak.sh [--build DIR] [soak.py options]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build
if [ "${1:-}" = --build ]; then build=$2; shift 2; fi
export GST_PLUGIN_PATH=$PWD/$build/gst
export GST_REGISTRY=$PWD/$build/soak.registry
# Debian's python3, which has the GStreamer bindings (python3-gi)
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" tests/soak/soak.py "$@"
