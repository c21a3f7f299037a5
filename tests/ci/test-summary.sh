#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# .ci/summary.py on a made-up testlog.json: subtests counted from TAP, a
# skipped parity subtest and an unexplained program skip are failures, a
# missing OpenCL device and perf-only subtests are allowed skips, subtests a
# crash left unreported fail; the closing line and the exit status.
set -euo pipefail
out=$(python3 "${SUMMARY:?}" "$(dirname "$0")/testlog.json") && rc=0 || rc=$?
echo "$out"
[ "$rc" -eq 1 ] || { echo "exit status $rc, not 1" >&2; exit 1; }
[ "$(echo "$out" | tail -n 1)" = "4 passed, 5 failed" ] ||
  { echo "closing line is not '4 passed, 5 failed'" >&2; exit 1; }
echo "$out" | grep -qx 'failed: p:tokenizer / tokenizer-tokenizer /tokenizer/flan-t5/encode (skipped: data/tokenizer/real/flan-t5/tokenizer.json is absent)'
echo "$out" | grep -qx 'skipped (allowed): p:opencl / ops /ops/norm (no OpenCL platform found: install an OpenCL driver)'
