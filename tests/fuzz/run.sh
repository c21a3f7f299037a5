#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the libFuzzer targets (clang, AddressSanitizer + UBSan + libFuzzer)
# in their own build directory, seeds each corpus from the repository's real
# files and runs every target; a crash, leak, sanitizer report, timeout or
# out-of-memory is a finding and fails the run (reproducer under
# <build>/fuzz-findings/).
#
#   tests/fuzz/run.sh                  every target for 60 s
#   tests/fuzz/run.sh --smoke          every target for 5 s (CI, ~1 min)
#   tests/fuzz/run.sh --seconds 600 fuzz-config fuzz-safetensors
#   tests/fuzz/run.sh --runs 1000000 --jobs 2
#
# Options: --seconds N, --runs N (executions per target, instead of time),
# --jobs N (targets run at once, default 1), --build DIR (default
# build-fuzz), --keep-corpus (reuse <build>/fuzz-corpus from earlier runs),
# --max-len N (longest input; default 65536, tokenizer.json 8192).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

seconds=60
runs=
jobs=1
build=build-fuzz
keep=0
max_len_opt=
targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --smoke) seconds=5 ;;
    --seconds) seconds=$2; shift ;;
    --runs) runs=$2; shift ;;
    --jobs) jobs=$2; shift ;;
    --build) build=$2; shift ;;
    --keep-corpus) keep=1 ;;
    --max-len) max_len_opt=$2; shift ;;
    -h|--help) sed -n '3,17p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1") ;;
  esac
  shift
done

if ! command -v clang >/dev/null; then
  echo "run.sh: clang is missing (Debian: apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi

if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined \
    -Db_lundef=false -Dgst=disabled -Dbench=disabled \
    -Dbuildtype=debugoptimized >"${TMPDIR:-/tmp}/fuzz-setup.$$.log" 2>&1 ||
    { cat "${TMPDIR:-/tmp}/fuzz-setup.$$.log"; exit 1; }
  rm -f "${TMPDIR:-/tmp}/fuzz-setup.$$.log"
fi
all=$(ninja -C "$build" -t targets all |
  sed -n 's|^tests/fuzz/\(fuzz-[a-z-]*\): .*|\1|p' | sort -u)
[ ${#targets[@]} -gt 0 ] || mapfile -t targets <<<"$all"
ninja -C "$build" "${targets[@]/#/tests/fuzz/}" >/dev/null

seeds=$build/fuzz-seeds
corpus=$build/fuzz-corpus
findings=$build/fuzz-findings
logs=$build/fuzz-logs
rm -rf "$seeds"
[ "$keep" = 1 ] || rm -rf "$corpus"
mkdir -p "$corpus" "$findings" "$logs"
python3 tests/fuzz/seeds.py "$root" "$seeds"

# leaks are findings; UBSan stops at the first report
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# GStreamer (fuzz-image): no registry fork, no plugin scanner helper
export GST_REGISTRY_FORK=no
export GST_REGISTRY=$root/$build/fuzz-gst-registry.bin

run_one() {
  local t=$1 budget dict=()
  case $t in
    fuzz-config|fuzz-generation-config|fuzz-preprocessor-config|\
    fuzz-safetensors*|fuzz-tokenizer-load)
      dict=(-dict=tests/fuzz/json.dict) ;;
  esac
  # GStreamer keeps pooled threads and caches whose memory LeakSanitizer
  # cannot see through uninstrumented frames: no leak checks per input
  # there (fuzz-image-jpeg checks the code of ours on that path)
  # (nor at exit: ASan's own check would report GLib's one-time state)
  local asan=$ASAN_OPTIONS
  if [ "$t" = fuzz-image ]; then
    dict=(-detect_leaks=0)
    asan=${ASAN_OPTIONS//detect_leaks=1/detect_leaks=0}
  fi
  if [ -n "$runs" ]; then budget=(-runs="$runs"); else
    budget=(-max_total_time="$seconds"); fi
  mkdir -p "$corpus/$t"
  # -max_len: the seeds are small real files; -timeout 10 s: a hang
  # is a finding; -rss_limit_mb 2048: so is an allocation of gigabytes
  # tokenizer.json: the small seeds only (seeds.py), big ones cut
  local max_len=65536
  [ "$t" != fuzz-tokenizer-load ] || max_len=8192
  [ -z "$max_len_opt" ] || max_len=$max_len_opt
  ASAN_OPTIONS=$asan \
    "$build/tests/fuzz/$t" "${budget[@]}" "${dict[@]}" -max_len=$max_len \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$findings/$t-" "$corpus/$t" "$seeds/$t" \
    >"$logs/$t.log" 2>&1
}

fail=0
declare -A running=() # pid -> target
reap() { # waits for one target to finish
  local pid
  wait -n -p pid "${!running[@]}" || {
    fail=1
    echo "FINDING: ${running[$pid]} ($logs/${running[$pid]}.log)"
  }
  unset "running[$pid]"
}
for t in "${targets[@]}"; do
  while [ ${#running[@]} -ge "$jobs" ]; do reap; done
  run_one "$t" &
  running[$!]=$t
done
while [ ${#running[@]} -gt 0 ]; do reap; done

for t in "${targets[@]}"; do
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log")
  per_s=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$t.log")
  cov=$(grep -o 'cov: [0-9]*' "$logs/$t.log" | tail -1 || true)
  printf '%-26s %10s execs %7s/s  %s\n' "$t" "${execs:-?}" "${per_s:-?}" "$cov"
done
if [ $fail != 0 ]; then
  for t in "${targets[@]}"; do
    grep -q -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$logs/$t.log" &&
      { echo "== $t"; grep -E -A30 'ERROR|runtime error|CRITICAL' "$logs/$t.log" | head -60; }
  done
  echo "fuzz: findings above; reproducers in $findings" >&2
  exit 1
fi
echo "fuzz: no findings"
