#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# examples/ask.c on the default model: frames and questions of the default
# model's held-out set (tests/default-model/data), the expected answers
# PyTorch's (torch_text, written by training/train_default_model.py).
#   test-ask.sh ASK QUESTIONS.json FRAMES.bin
set -euo pipefail
ask=$1 questions=$2 frames=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# question index -> frames file, question and PyTorch's answer
python3 - "$questions" "$frames" "$tmp" <<'PY'
import json, sys
q = json.load(open(sys.argv[1]))
size = q["image_size"]
data = open(sys.argv[2], "rb").read()
frame = size * size * 3
off = 0
for i, item in enumerate(q["questions"]):
    n = item["frames"] * frame
    if i in (4, 10, 15):  # a colour, a pattern, a motion
        open(f"{sys.argv[3]}/{i}.rgb", "wb").write(data[off:off + n])
        open(f"{sys.argv[3]}/{i}.txt", "w").write(
            f"{item['question']}\n{item['torch_text']}\n")
    off += n
print(size, file=open(f"{sys.argv[3]}/size", "w"))
PY
size=$(cat "$tmp/size")
for i in 4 10 15; do
  { read -r question; read -r want; } < "$tmp/$i.txt"
  rc=0
  got=$("$ask" "$tmp/$i.rgb" "$size" "$size" "$question") || rc=$?
  [ $rc -eq 77 ] && exit 77
  [ $rc -eq 0 ] || { echo "FAIL: ask exited $rc" >&2; exit 1; }
  echo "$question -> $got (PyTorch: $want)"
  [ "$got" = "$want" ] || { echo "FAIL: '$got', not '$want'" >&2; exit 1; }
done
