#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Compares instructblip-ask --tokenize/--decode with Hugging Face tokenizers
0.22 on random strings drawn from many Unicode blocks (a developer check,
not run by CI).

    python3 tests/data/tokenizer/fuzz_compare.py --ask build/engine/cli/instructblip-ask \\
        [--tokenizers DIR] [--seed 1] [--count 4000]
"""

import argparse
import json
import os
import random
import subprocess
import sys

from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))

POOLS = [(0x20, 0x7E)] * 6 + [
    (0xA0, 0x17F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x5FF),
    (0x600, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F), (0x1100, 0x11FF), (0xAC00, 0xD7A3),
    (0x3040, 0x30FF), (0x4E00, 0x9FFF), (0xFF00, 0xFFEF), (0x1F300, 0x1FAFF),
    (0x1F1E6, 0x1F1FF), (0x2000, 0x206F), (0xFE00, 0xFE0F), (0x200B, 0x200D), (0x0, 0x1F),
    (0x7F, 0x9F), (0xE000, 0xE0FF), (0x10000, 0x10FFFF), (0x20000, 0x2A6DF), (0x2460, 0x24FF),
    (0x3300, 0x33FF), (0xFB00, 0xFB4F), (0x1D400, 0x1D7FF), (0xE0000, 0xE007F),
]
INSERTS = [" ", "  ", "\t", "\r", "<s>", "</s>", "[CLS]", "<extra_id_1>", "\u00a0"]


def random_lines(rng, count):
    lines = []
    for _ in range(count):
        s = []
        for _ in range(rng.randint(0, 40)):
            lo, hi = rng.choice(POOLS)
            c = rng.randint(lo, hi)
            if 0xD800 <= c <= 0xDFFF or c == 0x0A:
                c = 0x20
            s.append(chr(c))
            if rng.random() < 0.1:
                s.append(rng.choice(INSERTS))
        lines.append("".join(s))
    return lines


def run(ask, args, text):
    p = subprocess.run([ask] + args, input=text.encode(), capture_output=True)
    if p.returncode != 0:
        print(p.stderr.decode(), file=sys.stderr)
    return [json.loads(x) for x in p.stdout.decode().split("\n")[:-1]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ask", required=True, help="the instructblip-ask binary")
    ap.add_argument("--tokenizers", default=os.path.join(HERE, "real"),
                    help="the real tokenizers (default: real/ here)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=4000)
    args = ap.parse_args()
    lines = random_lines(random.Random(args.seed), args.count)
    failed = False
    for name in ["llama", "flan-t5", "bert-base-uncased"]:
        path = os.path.join(args.tokenizers, name, "tokenizer.json")
        tok = Tokenizer.from_file(path)
        want = [tok.encode(line).ids for line in lines]
        got = [x["ids"] for x in run(args.ask, ["--tokenize", "--tokenizer", path], "\n".join(lines) + "\n")]
        bad = [i for i in range(len(lines)) if i >= len(got) or got[i] != want[i]]
        print(f"{name} encode: {len(lines) - len(bad)}/{len(lines)} identical")
        for i in bad[:3]:
            print(f"  {lines[i]!r}\n    want {want[i]}\n    got  {got[i] if i < len(got) else None}")
        dec = [tok.decode(ids, skip_special_tokens=True).replace("\0", "") for ids in want]
        got_dec = [x["text"] for x in run(args.ask, ["--decode", "--tokenizer", path],
                                          "\n".join(json.dumps(ids) for ids in want) + "\n")]
        bad_dec = [i for i in range(len(dec)) if i >= len(got_dec) or got_dec[i] != dec[i]]
        print(f"{name} decode: {len(dec) - len(bad_dec)}/{len(dec)} identical")
        for i in bad_dec[:3]:
            print(f"  want {dec[i]!r}\n  got  {got_dec[i] if i < len(got_dec) else None!r}")
        failed = failed or bool(bad) or bool(bad_dec)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
