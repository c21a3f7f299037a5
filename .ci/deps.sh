#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs every Debian 12 package the build, the tests and the examples need,
# on a fresh machine (a minimal debootstrap root has none of them).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -q
packages=(
  # build
  build-essential meson ninja-build pkg-config python3 clang-format git
  libglib2.0-dev libjson-glib-dev
  ocl-icd-opencl-dev opencl-headers ocl-icd-libopencl1 libclblast-dev
  libdnnl-dev        # oneDNN: the CPU GEMM backend
  cmake              # how meson finds oneDNN (its CMake package; no .pc)
  libjpeg-dev        # Pillow-exact JPEG decoding in instructblip-ask
  libopenblas-dev    # the GEMM benchmark's side-by-side figures
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev  # + gstreamer-check-1.0
  check
  # run time: the OpenCL CPU driver, and every GStreamer element the
  # element, the CLI, the tests and pipelines/ use (tests/gst/meson.build
  # lists them with their packages and checks them up front)
  pocl-opencl-icd clinfo
  gstreamer1.0-tools         # gst-launch-1.0, gst-inspect-1.0
  gstreamer1.0-plugins-base  # videotestsrc, videoconvert, decodebin, appsink
  gstreamer1.0-plugins-good  # jpegenc/jpegdec, pngdec, avimux, matroskamux
  gstreamer1.0-x             # textoverlay (the pango plugin)
  fonts-dejavu-core          # a "Sans" font for textoverlay
  python3-gi gir1.2-gstreamer-1.0  # the Python example
  libmosquitto-dev librdkafka-dev  # instructblippublish: method=mqtt, kafka
  mosquitto                  # the MQTT broker the publish tests start
  python3-venv               # CI: Intel's CPU OpenCL runtime from PyPI (.ci/intel-opencl.sh)
)
$SUDO apt-get install -y -q --no-install-recommends "${packages[@]}"
