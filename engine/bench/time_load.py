#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Times the engine's model load on a checkpoint, cold or warm.

  time_load.py --bench build/engine/bench/ib-bench --model /work/bigdata/ib-mid
  time_load.py ... --warm            (leave the shards in the page cache)
  time_load.py ... --weight-cache DIR [--weight-cache-copy] [--drop-caches]
                     (with the packed-weights cache; cold evicts its files
                     too; --drop-caches empties the whole page cache first:
                     echo 3 > /proc/sys/vm/drop_caches, needs root)

Cold (the default) first drops the checkpoint's own files from the page
cache (fsync, then posix_fadvise DONTNEED: nothing else is evicted), so
the load reads the disk. Runs ib-bench for one 1-frame, 1-token answer
under /usr/bin/time -v and prints the load time, the read rate over the
weight files' bytes, and the process's peak RSS. Speed depends on what
else runs on the machine: note the load average printed with it.
"""

import argparse
import glob
import json
import os
import re
import subprocess


def shards(model):
    return sorted(glob.glob(os.path.join(model, "*.safetensors")))


def evict(paths):
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", required=True, help="the ib-bench binary")
    ap.add_argument("--model", required=True)
    ap.add_argument("--precision", default="fp16")
    ap.add_argument("--warm", action="store_true")
    ap.add_argument("--weight-cache", help="packed-weights cache directory")
    ap.add_argument("--drop-caches", action="store_true")
    ap.add_argument("--weight-cache-copy", action="store_true",
                    help="read the entry into memory instead of mapping it")
    a = ap.parse_args()

    files = shards(a.model)
    total = sum(os.path.getsize(p) for p in files)
    cached = sorted(glob.glob(os.path.join(a.weight_cache, "*.ibw"))) \
        if a.weight_cache else []
    if not a.warm:
        evict(files + cached)
    if a.drop_caches:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    load_avg = os.getloadavg()
    r = subprocess.run(
        ["/usr/bin/time", "-v", a.bench, "--model", a.model, "--precision",
         a.precision, "--runs", "1", "--tokens", "1", "--frames", "1"]
        + (["--weight-cache", a.weight_cache] if a.weight_cache else [])
        + (["--weight-cache-copy"] if a.weight_cache_copy else []),
        capture_output=True, text=True, check=True)
    out = json.loads(r.stdout)
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                            r.stderr).group(1))
    print(json.dumps({
        "model": a.model, "cold": not a.warm, "precision": a.precision,
        "weight_cache_read": ("copy" if a.weight_cache_copy else "map")
        if a.weight_cache else None,
        "weight_bytes": total, "load_s": out["load_s"],
        "load_cpu_s": out.get("load_cpu_s"),
        "load_sys_s": out.get("load_sys_s"),
        "read_mb_per_s": round(total / out["load_s"] / 1e6, 1),
        "rss_after_load_mb": out["rss_after_load_mb"],
        "peak_rss_mb": round(peak_kb / 1024, 1),  # MiB: ru_maxrss is KiB
        "peak_rss_gb": round(peak_kb * 1024 / 1e9, 2),  # 10^9 bytes
        "weight_cache_bytes": sum(os.path.getsize(p) for p in cached),
        "load_average": [round(x, 2) for x in load_avg],
        "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()
