#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# run.sh of a bundle made by scripts/gpu-bundle.sh: on this machine's first
# GPU (else its CPU), the parity test against the committed transformers
# fixtures, then ib-bench per precision on the bundled models and on any
# model folders given. Everything goes to RESULTS; the exit status is
# parity's.
#   ./run.sh RESULTS [MODEL_DIR ...]
# Environment: IB_DEVICE (default auto), IB_BENCH_ARGS (default
# "--frames 4 --tokens 16 --runs 3"), IB_PRECISIONS (default
# "fp32 fp16 bf16 q8"), OCL_ICD_VENDORS (default: the bundle's vendors/all,
# which names the NVIDIA, AMD, Intel GPU and PoCL libraries; those the
# system lacks are skipped by the loader).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
res=${1:?usage: run.sh RESULTS [MODEL_DIR ...]}
shift
mkdir -p "$res"
res=$(cd "$res" && pwd)
export OCL_ICD_VENDORS=${OCL_ICD_VENDORS:-$here/vendors/all}
device=${IB_DEVICE:-auto}
read -r -a bench_args <<< "${IB_BENCH_ARGS:---frames 4 --tokens 16 --runs 3}"
read -r -a precisions <<< "${IB_PRECISIONS:-fp32 fp16 bf16 q8}"

{
  cat "$here/MANIFEST"
  echo "host: $(uname -a)"
  echo "OCL_ICD_VENDORS=$OCL_ICD_VENDORS device=$device"
  command -v nvidia-smi > /dev/null && nvidia-smi -L
} > "$res/environment.txt" 2>&1

echo "== parity (tests/data/parity vs transformers) -> $res/parity.tap"
G_TEST_SRCDIR="$here/tests" OMP_WAIT_POLICY=passive \
  "$here/bin/test-parity" --verbose > "$res/parity.tap" 2>&1
parity=$?
grep -E '^(ok|not ok)|rel err|greedy ids|GPU path|Bail out' "$res/parity.tap" \
  > "$res/parity-summary.txt"
echo "parity: exit $parity, $(grep -c '^ok' "$res/parity.tap") ok," \
  "$(grep -c '^not ok' "$res/parity.tap") not ok" | tee -a "$res/summary.txt"

models=("$here"/share/instructblip/models/* "$here"/tests/data/parity/vicuna-tiny
  "$here"/tests/data/parity/t5-tiny "$@")
for m in "${models[@]}"; do
  for p in "${precisions[@]}"; do
    log="$res/bench-$(basename "$m")-$p.txt"
    echo "== ib-bench $(basename "$m") $p -> $log"
    "$here/bin/ib-bench" --model "$m" --device "$device" --precision "$p" \
      "${bench_args[@]}" > "$log" 2>&1
    echo "bench $(basename "$m") $p: exit $?" | tee -a "$res/summary.txt"
  done
done
exit $parity
