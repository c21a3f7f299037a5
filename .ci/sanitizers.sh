#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sanitizer and fuzz runs, each in its own build directory:
#
#   .ci/sanitizers.sh asan    the whole suite under AddressSanitizer +
#                             UndefinedBehaviorSanitizer (build-asan)
#   .ci/sanitizers.sh tsan    the threaded tests under ThreadSanitizer
#                             (build-tsan)
#   .ci/sanitizers.sh fuzz    tests/fuzz/run.sh --smoke (build-fuzz)
#   .ci/sanitizers.sh ci      what CI runs after the main suite: fuzz,
#                             tsan and asan (installs clang if missing)
#
# Suppressions, each commented: tests/sanitizers/*.supp. The GStreamer
# element tests run with the leaks tracer in every build (tests/gst).
# docs/reliability-testing.md says what each part checks and how long it
# takes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
supp=$root/tests/sanitizers

# the threaded tests: shared model and async worker (gst async), 4
# elements through 500 state cycles (gst stress), pipelines started from
# several threads (gst parallel), two contexts answering at once (engine
# answer), first loads and first device opens from several threads,
# contexts of one and of two models answering in several threads while
# others are created and freed (engine context-threads)
tsan_tests=(async stress parallel answer parallel-load first-open context-threads)

deps() {
  command -v clang >/dev/null &&
    [ -e "$(clang --print-runtime-dir)/libclang_rt.fuzzer-x86_64.a" ] &&
    return 0
  local sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
    --no-install-recommends clang libclang-rt-14-dev
}

setup() { # dir, options...
  local dir=$1
  shift
  local log
  if [ ! -f "$dir/build.ninja" ]; then
    log=$(mktemp)
    meson setup "$dir" -Db_lundef=false -Dbench=disabled "$@" >"$log" 2>&1 ||
      { cat "$log"; rm -f "$log"; return 1; }
    rm -f "$log"
  fi
  ninja -C "$dir" >"$dir/meson-logs/ninja.log" 2>&1 ||
    { tail -50 "$dir/meson-logs/ninja.log"; return 1; }
}

asan() {
  setup build-asan -Db_sanitize=address,undefined || return 1
  local tests gst other pipelines rc=0
  # test names by suite: the element's (gst), its pipelines, the rest
  tests=$(meson test -C build-asan --list 2>/dev/null |
    sed -n 's|^gst-instructblip:||p')
  gst=$(sed -n 's|^gst / ||p' <<<"$tests" | grep -v '^pipeline-')
  pipelines=$(sed -n 's|^gst / ||p' <<<"$tests" | grep '^pipeline-')
  # install: it builds an uninstrumented consumer program against the
  # installed (here instrumented) library, which ASan refuses to run; it
  # runs in the normal passes
  other=$(grep -v -e '^gst / ' -e '^install / ' <<<"$tests" |
    sed 's|^.* / ||')
  # G_SLICE=always-malloc: every GSlice object its own malloc block, so that
  # ASan sees use-after-free and overflows of GStreamer objects too.
  # use_sigaltstack=0: PoCL's worker threads install their own signal
  # stack, and ASan then aborts at thread exit ("failed to deallocate ...
  # unable to unmap", sanitizer_posix.cpp:61) when it unmaps its own.
  export G_SLICE=always-malloc
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  local asan=abort_on_error=1:use_sigaltstack=0

  # everything but the element: leaks checked at exit
  ASAN_OPTIONS=detect_leaks=1:$asan \
    meson test -C build-asan --print-errorlogs --timeout-multiplier 4 \
      --num-processes 2 $other || rc=1

  # the element: GStreamer's plugin scanner is not instrumented and cannot
  # load the instrumented plugin; the registries the tests use are built
  # beforehand by gst-inspect-1.0 with the ASan runtime preloaded (a scan
  # inside a test would show GStreamer's and GLib's scan-time allocations
  # as leaks)
  gst_registries build-asan "$(cc -print-file-name=libasan.so)" \
    ASAN_OPTIONS=detect_leaks=0:$asan
  GST_REGISTRY_FORK=no \
  ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:$asan \
  LSAN_OPTIONS=suppressions=$supp/lsan.supp:print_suppressions=0 \
    meson test -C build-asan --print-errorlogs --timeout-multiplier 4 \
      --num-processes 2 $gst || rc=1

  # pipelines/ run gst-launch-1.0 and python3, which are not instrumented:
  # the ASan runtime preloaded into them, for the plugin's memory errors;
  # no leak checks of those programs (the element tests check ours)
  LD_PRELOAD=$(cc -print-file-name=libasan.so) \
  ASAN_OPTIONS=detect_leaks=0:$asan \
    meson test -C build-asan --print-errorlogs --timeout-multiplier 4 \
      --num-processes 1 $pipelines || rc=1
  return $rc
}

tsan() {
  # without oneDNN: its OpenMP runtime (libgomp) is not instrumented and
  # crashes under TSan at start; ASan covers the bf16/q8 path
  setup build-tsan -Db_sanitize=thread -Ddnnl=disabled || return 1
  cc -shared -fPIC -O1 -o build-tsan/libtsan-glib.so \
    tests/sanitizers/tsan-glib.c $(pkg-config --cflags --libs glib-2.0) -ldl ||
    return 1
  rm -f build-tsan/tests/gst/*.registry
  # tsan-glib.c tells TSan about GLib's futex locks (see there); GSlice
  # would hand one thread's freed memory to another behind TSan's back
  G_SLICE=always-malloc GST_REGISTRY_FORK=no \
  LD_PRELOAD=$root/build-tsan/libtsan-glib.so \
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$supp/tsan.supp" \
    meson test -C build-tsan --print-errorlogs --timeout-multiplier 4 \
      --num-processes 1 "${tsan_tests[@]}"
}

# The plugin registries of the gst tests (tests/gst/meson.build names one
# per test), scanned with @preload in an uninstrumented gst-inspect-1.0.
gst_registries() { # build dir, preload, env...
  local dir=$1 preload=$2 first=
  shift 2
  rm -f "$dir"/tests/gst/*.registry
  for r in element async setup stress parallel seek-stress pipelines; do
    if [ -z "$first" ]; then
      first=$dir/tests/gst/$r.registry
      env "$@" LD_PRELOAD="$preload" GST_REGISTRY_FORK=no GST_REGISTRY="$first" \
        GST_PLUGIN_PATH_1_0="$root/$dir/gst" \
        GST_PLUGIN_SYSTEM_PATH_1_0="$(pkg-config --variable=pluginsdir gstreamer-1.0)" \
        gst-inspect-1.0 instructblip >/dev/null
    else
      cp "$first" "$dir/tests/gst/$r.registry"
    fi
  done
}

fuzz() {
  bash tests/fuzz/run.sh --smoke
}

timed() { # name, command
  local t0=$SECONDS rc=0
  echo "== sanitizers: $1"
  "$2" || rc=$?
  echo "== sanitizers: $1 $([ $rc = 0 ] && echo passed || echo FAILED) in $((SECONDS - t0)) s"
  return $rc
}

status=0
case ${1:-ci} in
  asan) timed asan asan ;;
  tsan) timed tsan tsan ;;
  fuzz) deps; timed fuzz fuzz ;;
  ci)
    deps
    timed fuzz fuzz || status=1
    timed tsan tsan || status=1
    timed asan asan || status=1
    exit $status ;;
  *) sed -n '3,17p' "$0"; exit 2 ;;
esac
