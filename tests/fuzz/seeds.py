#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the seed corpus of each fuzz target into OUT/<target>/ from the
repository's real files: the default model's files, the test fixtures, and
small derivatives of them (a tokenizer.json without its 300 KB charsmap,
prompts from the tokenizer corpus with the target's flag bytes in front).

Inputs that once found a bug are kept in tests/fuzz/regressions/<target>/
and join the seeds.

Usage: seeds.py SOURCE_ROOT OUT"""
import base64
import glob
import json
import os
import struct
import subprocess
import sys

root, out = sys.argv[1], sys.argv[2]


def files(*patterns, max_bytes=1 << 20):
    found = []
    for p in patterns:
        for f in sorted(glob.glob(os.path.join(root, p), recursive=True)):
            if os.path.isfile(f) and os.path.getsize(f) <= max_bytes:
                found.append(f)
    return found


def write(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def copy(target, paths):
    for i, p in enumerate(paths):
        with open(p, "rb") as f:
            write(target, "%03d-%s" % (i, os.path.basename(p)), f.read())




def trimmed_safetensors(path, max_data=4096):
    """The file's header with only the tensors (in file order) whose data
    fits in @max_data bytes, offsets renumbered, and their real bytes: a
    small valid file of the same shape of header."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    meta = header.pop("__metadata__", None)
    kept, blob = {}, b""
    for name, t in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        b, e = t["data_offsets"]
        if len(blob) + (e - b) > max_data:
            continue
        kept[name] = dict(t, data_offsets=[len(blob), len(blob) + e - b])
        blob += data[b:e]
    if meta is not None:
        kept["__metadata__"] = meta
    h = json.dumps(kept, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blob


# weights: every fixture trimmed to a few KB of tensors (the default model's
# 9 MB file is opened by the config targets instead), and the smallest whole
weights = files("models/*/model.safetensors", "tests/data/**/*.safetensors",
                max_bytes=16 << 20)
for i, p in enumerate(weights):
    name = "%03d-%s" % (i, p[len(root):].strip("/").replace("/", "_"))
    write("fuzz-safetensors", name, trimmed_safetensors(p))
copy("fuzz-safetensors", files("tests/data/checkpoint/half-cases/*.safetensors"))
copy("fuzz-safetensors-index",
     files("tests/data/checkpoint/*/model.safetensors.index.json"))
copy("fuzz-config", files("models/*/config.json",
                          "tests/data/checkpoint/**/config.json",
                          "tests/data/parity/*/config.json"))
copy("fuzz-generation-config", files("models/*/generation_config.json",
                                     "tests/data/**/generation_config.json"))
copy("fuzz-preprocessor-config",
     files("models/*/preprocessor_config.json",
           "tests/data/**/preprocessor_config.json",
           "tests/data/**/video_preprocessor_config.json"))

# tokenizer.json: the real ones, and each without the precompiled charsmap
# (300 KB of base64 that would slow every mutation; fuzz-charsmap covers it)
toks = files("models/**/tokenizer.json", "tests/data/parity/**/tokenizer.json",
             "tests/data/tokenizer/small/*.json")
for i, p in enumerate(toks):
    with open(p, "rb") as f:
        raw = f.read()
    tok = json.loads(raw)
    name = "%03d-%s" % (i, p[len(root):].strip("/").replace("/", "_"))
    if len(raw) <= 80 << 10:
        write("fuzz-tokenizer-load", name, raw)
    norm = tok.get("normalizer") or {}
    if "charsmap" in json.dumps(norm)[:200] or len(raw) > 80 << 10:
        tok["normalizer"] = None
        small = json.dumps(tok, ensure_ascii=False).encode()
        if len(small) <= 80 << 10:
            write("fuzz-tokenizer-load", name + ".nocharsmap", small)
    if "precompiled_charsmap" in json.dumps(norm):
        def find(n):
            if isinstance(n, dict):
                if "precompiled_charsmap" in n:
                    return n["precompiled_charsmap"]
                for v in n.values():
                    r = find(v)
                    if r:
                        return r
            if isinstance(n, list):
                for v in n:
                    r = find(v)
                    if r:
                        return r
            return None
        blob = base64.b64decode(find(norm))
        # the real trie cut to 12 KB (its size field rewritten), then the
        # first 4 KB of its replacement strings, then text to normalise
        trie_size = struct.unpack("<I", blob[:4])[0]
        trie = blob[4:4 + min(trie_size, 12 << 10)]
        norm_strings = blob[4 + trie_size:4 + trie_size + (4 << 10)]
        cut = struct.pack("<I", len(trie)) + trie + norm_strings
        write("fuzz-charsmap", name, struct.pack("<H", len(cut)) + cut +
              "ｈｅｌｌｏ ① ﬁ Å\u3000x".encode())



def mini_tokenizer(tok, n=96):
    """@tok with only the model's first @n ids (BPE merges between kept
    tokens only) and the added tokens below @n: a small real tokenizer
    that loads in microseconds, so the fuzzer spends its time on
    variations instead of on parsing 60 KB."""
    tok = json.loads(json.dumps(tok))
    model = tok.get("model") or {}
    vocab = model.get("vocab")
    if isinstance(vocab, dict):
        model["vocab"] = {t: i for t, i in vocab.items() if i < n}
        keep = model["vocab"]
        merges = model.get("merges")
        if isinstance(merges, list):
            def parts(m):
                return m.split(" ", 1) if isinstance(m, str) else m
            model["merges"] = [m for m in merges
                               if all(p in keep for p in parts(m))
                               and "".join(parts(m)) in keep]
    elif isinstance(vocab, list):
        model["vocab"] = vocab[:n]
        if isinstance(model.get("unk_id"), int) and model["unk_id"] >= n:
            model["unk_id"] = 0
    tok["added_tokens"] = [a for a in tok.get("added_tokens") or []
                           if a.get("id", n) < n]
    return json.dumps(tok, ensure_ascii=False).encode()


for i, p in enumerate(toks):
    with open(p, "rb") as f:
        tok = json.loads(f.read())
    tok["normalizer"] = tok.get("normalizer") if "charsmap" not in json.dumps(
        tok.get("normalizer"))[:200] else None
    write("fuzz-tokenizer-load", "%03d-mini-%s" % (i, os.path.basename(p)),
          mini_tokenizer(tok))

# text to encode: the tokenizer corpus with a flag byte (tokenizer, special
# tokens, truncation) and a length byte in front
with open(os.path.join(root, "tests/data/tokenizer/corpus.json"),
          encoding="utf-8") as f:
    corpus = json.load(f)
for i, text in enumerate(corpus):
    if not isinstance(text, str):
        continue
    write("fuzz-tokenizer-text", "%03d" % i,
          bytes([i & 0x1F, 8 + i % 24]) + text.encode())
write("fuzz-tokenizer-text", "invalid-utf8", b"\x04\x10abc\xff\xfe\xc3")

# id lists: small ids, ids around the vocabulary sizes, negative and huge
ids_seeds = [
    [1, 450, 3681, 338, 263, 2],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [-1, 2147483647, -2147483648, 32000, 32001, 30522, 32128],
    list(range(100, 140)),
]
for i, ids in enumerate(ids_seeds):
    for flags in (0, 4, 8 | 1, 8 | 2 | 4):
        write("fuzz-tokenizer-ids", "%d-%d" % (i, flags),
              bytes([flags]) + struct.pack("<%di" % len(ids), *ids))

# frames: every PNG and JPEG fixture (the CLI's decoder)
copy("fuzz-image", files("tests/data/image/*.png",
                         "tests/data/parity/images/*.png",
                         "tests/cli/data/*.jpg", max_bytes=64 << 10))
copy("fuzz-image-jpeg", files("tests/cli/data/*.jpg"))
# a three-frame MJPEG AVI, for the video path (when GStreamer's tools exist)
avi = os.path.join(out, "fuzz-image", "video.avi")
os.makedirs(os.path.dirname(avi), exist_ok=True)
subprocess.call(["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=3", "!",
                 "video/x-raw,width=16,height=16", "!", "jpegenc", "!",
                 "avimux", "!", "filesink", "location=" + avi],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

# the image processor: header (see fuzz-image-preprocess.c) + pixels
for i, hdr in enumerate([
        bytes([27, 27, 8, 0, 27, 27, 7, 255]),   # 28x28 RGB -> 28x28
        bytes([2, 4, 8, 2, 223, 223, 7, 255]),   # 3x5 RGBA -> 224x224
        bytes([44, 16, 12, 5, 9, 9, 1, 128]),    # 45x17 ABGR, padded
        bytes([0, 0, 8, 9, 0, 0, 15, 1]),        # 1x1 XBGR, zero std
        bytes([27, 3, 8, 0, 223, 223, 0x87, 255]),  # 224x32 ×8 RGB
]):
    write("fuzz-image-preprocess", "%d" % i,
          hdr + bytes((j * 37 + i) & 0xFF for j in range(300)))

# inputs that once found a bug (tests/fuzz/regressions/<target>/), run
# first on every run
for d in sorted(glob.glob(os.path.join(root, "tests/fuzz/regressions/*/"))):
    d = d.rstrip("/")
    copy(os.path.basename(d), files(os.path.join(d[len(root):].strip("/"), "*")))
