#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Many streams on one model: runs ib-streams-bench on each checkpoint
(N streams answered one at a time and batched, one loaded model per
checkpoint) and prints a Markdown table: answers per minute, p50/p95
latency, peak resident memory, the batched/one-at-a-time throughput ratio
and memory relative to one stream. A benchmark, never a test.

  streams_bench.py [--build BUILD] [--streams 1,2,4,8] [--questions N]
                   [--tokens N] [--precision P] [--stagger MS]
                   [MODEL_DIR ...]

Without MODEL_DIR: the default model. Runs the checkpoints one after the
other (never two large loads at once)."""
import argparse
import json
import os
import subprocess
import sys


def run(binary, model, args):
    cmd = [binary, "--streams", args.streams, "--questions",
           str(args.questions), "--tokens", str(args.tokens)]
    if model:
        cmd += ["--model", model]
    if args.precision:
        cmd += ["--precision", args.precision]
    if args.stagger:
        cmd += ["--stagger", str(args.stagger)]
    env = dict(os.environ, OMP_WAIT_POLICY="passive")
    out = subprocess.run(cmd, env=env, check=True, capture_output=True,
                         text=True)
    sys.stderr.write(out.stderr)
    return [json.loads(line) for line in out.stdout.splitlines()
            if line.startswith("{")]


def table(name, rows):
    by = {(r["mode"], r["streams"]): r for r in rows}
    base_rss = by[("one-at-a-time", 1)]["peak_rss_mb"]
    print(f"\n### {name}\n")
    print("| streams | mode | answers/min | p50 ms | p95 ms | peak RSS MiB "
          "| RSS vs 1 stream | batched speed-up |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for n in sorted({r["streams"] for r in rows}):
        alone = by.get(("one-at-a-time", n))
        for mode in ("one-at-a-time", "batched"):
            r = by.get((mode, n))
            if r is None:
                continue
            speed = ""
            if mode == "batched" and alone:
                speed = "%.2fx" % (r["answers_per_minute"] /
                                   alone["answers_per_minute"])
            print(f"| {n} | {mode} | {r['answers_per_minute']:.1f} "
                  f"| {r['p50_ms']:.0f} | {r['p95_ms']:.0f} "
                  f"| {r['peak_rss_mb']:.0f} "
                  f"| {r['peak_rss_mb'] / base_rss:.3f}x | {speed} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", help="checkpoint directories")
    ap.add_argument("--build", default="build")
    ap.add_argument("--streams", default="1,2,4,8")
    ap.add_argument("--questions", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--precision")
    ap.add_argument("--stagger", type=int, default=0,
                    help="stream i asks its first question i*MS ms late")
    args = ap.parse_args()
    binary = os.path.join(args.build, "engine", "bench", "ib-streams-bench")
    print(f"{args.questions} questions per stream, {args.tokens} tokens per "
          "answer, one frame for all streams (encoded before timing)")
    for model in args.models or [None]:
        rows = run(binary, model, args)
        table(model or "default model", rows)


if __name__ == "__main__":
    main()
