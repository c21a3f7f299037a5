#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes a random InstructBLIP checkpoint with real shapes, for load and
speed benchmarks (not for answers: the weights are noise).

  make_random_checkpoint.py --preset vicuna-7b --out /work/bigdata/vicuna-7b
  make_random_checkpoint.py --preset mid --out /tmp/ib-mid

vicuna-7b has the tensor names, shapes, fp32 dtype and shard layout of
Salesforce/instructblip-vicuna-7b (4 shards, 31.65 GB: tensors in
state_dict order, a new shard when the next tensor would pass 10 GB,
each shard's tensors sorted by name as the safetensors writer does).
"mid" keeps the vision and Q-Former models and shrinks the LLaMA to a
few GB. "t5-mid" is a Flan-T5 model at flan-t5-base widths (tokenizers
and configs from tests/data/parity/t5-tiny). Tensor names follow engine/checkpoint/ib-expected.c, which the
engine checks on open.

The files are streamed: header first, then each tensor from a random pool
in slices, so memory stays at the pool (64 MB) whatever the model size.
Only the Python standard library and numpy are needed. The tokenizers are
copied from models/instructblip-synthvid-tiny (their ids fit any vocab
here); config.json is written for the preset.
"""

import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TINY = os.path.join(HERE, "..", "..", "models", "instructblip-synthvid-tiny")
T5_TINY = os.path.join(HERE, "..", "..", "tests", "data", "parity", "t5-tiny")

PRESETS = {
    # Salesforce/instructblip-vicuna-7b (docs: instructblip-spec.md 7, 8)
    "vicuna-7b": dict(
        vision=dict(hidden=1408, inter=6144, layers=39, heads=16, image=224,
                    patch=14),
        qformer=dict(hidden=768, inter=3072, layers=12, heads=12,
                     vocab=30523, max_pos=512, cross_freq=2),
        n_query=32,
        text=dict(hidden=4096, inter=11008, layers=32, heads=32,
                  vocab=32064, max_pos=2048),
        shard_bytes=10 * 10**9,
    ),
    # the same vision encoder and Q-Former, a quarter-depth, half-width LLM
    "mid": dict(
        vision=dict(hidden=1408, inter=6144, layers=39, heads=16, image=224,
                    patch=14),
        qformer=dict(hidden=768, inter=3072, layers=12, heads=12,
                     vocab=30523, max_pos=512, cross_freq=2),
        n_query=32,
        text=dict(hidden=2048, inter=5504, layers=8, heads=16, vocab=32064,
                  max_pos=2048),
        shard_bytes=2 * 10**9,
    ),
    # Flan-T5 at flan-t5-base widths (768 d_model, 2048 d_ff, 12 + 12
    # layers, 32128 vocabulary, untied head) after the real Q-Former; a
    # two-layer vision encoder of ViT-g's width keeps the file small (the
    # streams benchmark encodes its frame before timing)
    "t5-mid": dict(
        arch="t5",
        vision=dict(hidden=1408, inter=6144, layers=2, heads=16, image=224,
                    patch=14),
        qformer=dict(hidden=768, inter=3072, layers=12, heads=12,
                     vocab=30523, max_pos=512, cross_freq=2),
        n_query=32,
        text=dict(hidden=768, inter=2048, layers=12, heads=12, d_kv=64,
                  vocab=32128, buckets=32),
        shard_bytes=2 * 10**9,
    ),
}


def tensors(p):
    """(name, shape) in state_dict order (query_tokens, vision, Q-Former,
    projection, LLM), as transformers saves them."""
    v, q, t = p["vision"], p["qformer"], p["text"]
    out = [("query_tokens", [1, p["n_query"], q["hidden"]])]
    h = v["hidden"]
    n_pos = (v["image"] // v["patch"]) ** 2 + 1
    pre = "vision_model."
    out += [
        (pre + "embeddings.class_embedding", [1, 1, h]),
        (pre + "embeddings.patch_embedding.weight",
         [h, 3, v["patch"], v["patch"]]),
        (pre + "embeddings.patch_embedding.bias", [h]),
        (pre + "embeddings.position_embedding", [1, n_pos, h]),
    ]
    for i in range(v["layers"]):
        lp = "%sencoder.layers.%d." % (pre, i)
        out += [
            (lp + "self_attn.qkv.weight", [3 * h, h]),
            (lp + "self_attn.qkv.bias", [3 * h]),
            (lp + "self_attn.projection.weight", [h, h]),
            (lp + "self_attn.projection.bias", [h]),
            (lp + "layer_norm1.weight", [h]),
            (lp + "layer_norm1.bias", [h]),
            (lp + "mlp.fc1.weight", [v["inter"], h]),
            (lp + "mlp.fc1.bias", [v["inter"]]),
            (lp + "mlp.fc2.weight", [h, v["inter"]]),
            (lp + "mlp.fc2.bias", [h]),
            (lp + "layer_norm2.weight", [h]),
            (lp + "layer_norm2.bias", [h]),
        ]
    out += [(pre + "post_layernorm.weight", [h]),
            (pre + "post_layernorm.bias", [h])]

    d = q["hidden"]
    pre = "qformer."
    out += [
        (pre + "embeddings.word_embeddings.weight", [q["vocab"], d]),
        (pre + "embeddings.position_embeddings.weight", [q["max_pos"], d]),
        (pre + "embeddings.layernorm.weight", [d]),
        (pre + "embeddings.layernorm.bias", [d]),
    ]

    def linear(prefix, n, k):
        return [(prefix + ".weight", [n, k]), (prefix + ".bias", [n])]

    def norm(prefix):
        return [(prefix + ".weight", [d]), (prefix + ".bias", [d])]

    for i in range(q["layers"]):
        lp = "%sencoder.layer.%d." % (pre, i)
        for x in ("query", "key", "value"):
            out += linear(lp + "attention.attention." + x, d, d)
        out += linear(lp + "attention.output.dense", d, d)
        out += norm(lp + "attention.output.LayerNorm")
        if i % q["cross_freq"] == 0:
            out += linear(lp + "crossattention.attention.query", d, d)
            out += linear(lp + "crossattention.attention.key", d, h)
            out += linear(lp + "crossattention.attention.value", d, h)
            out += linear(lp + "crossattention.output.dense", d, d)
            out += norm(lp + "crossattention.output.LayerNorm")
        for suffix in ("", "_query"):
            out += linear(lp + "intermediate%s.dense" % suffix, q["inter"], d)
            out += linear(lp + "output%s.dense" % suffix, d, q["inter"])
            out += norm(lp + "output%s.LayerNorm" % suffix)

    H, F = t["hidden"], t["inter"]
    out += linear("language_projection", H, d)
    if p.get("arch") == "t5":
        return out + t5_tensors(t)
    pre = "language_model."
    out += [(pre + "model.embed_tokens.weight", [t["vocab"], H])]
    for i in range(t["layers"]):
        lp = "%smodel.layers.%d." % (pre, i)
        out += [(lp + "self_attn.%s_proj.weight" % x, [H, H])
                for x in ("q", "k", "v", "o")]
        out += [
            (lp + "mlp.gate_proj.weight", [F, H]),
            (lp + "mlp.up_proj.weight", [F, H]),
            (lp + "mlp.down_proj.weight", [H, F]),
            (lp + "input_layernorm.weight", [H]),
            (lp + "post_attention_layernorm.weight", [H]),
        ]
    out += [(pre + "model.norm.weight", [H]),
            (pre + "lm_head.weight", [t["vocab"], H])]
    return out


def t5_tensors(t):
    """Flan-T5's language_model.* (transformers' T5ForConditionalGeneration
    names, untied head)."""
    H, F, inner = t["hidden"], t["inter"], t["heads"] * t["d_kv"]
    pre = "language_model."
    out = [(pre + "shared.weight", [t["vocab"], H])]
    for stack in ("encoder", "decoder"):
        for i in range(t["layers"]):
            lp = "%s%s.block.%d.layer." % (pre, stack, i)
            sa = lp + "0.SelfAttention."
            out += [(sa + x + ".weight", [inner, H]) for x in "qkv"]
            out += [(sa + "o.weight", [H, inner])]
            if i == 0:
                out += [(sa + "relative_attention_bias.weight",
                         [t["buckets"], t["heads"]])]
            out += [(lp + "0.layer_norm.weight", [H])]
            ff = 1
            if stack == "decoder":
                ca = lp + "1.EncDecAttention."
                out += [(ca + x + ".weight", [inner, H]) for x in "qkv"]
                out += [(ca + "o.weight", [H, inner]),
                        (lp + "1.layer_norm.weight", [H])]
                ff = 2
            dr = "%s%d.DenseReluDense." % (lp, ff)
            out += [(dr + "wi_0.weight", [F, H]), (dr + "wi_1.weight", [F, H]),
                    (dr + "wo.weight", [H, F]),
                    ("%s%d.layer_norm.weight" % (lp, ff), [H])]
        out += [(pre + stack + ".final_layer_norm.weight", [H])]
    return out + [(pre + "lm_head.weight", [t["vocab"], H])]


def nbytes(shape):
    n = 4
    for s in shape:
        n *= s
    return n


def shards(named, limit):
    """transformers' split: a new shard when the next tensor passes
    @limit bytes."""
    out, cur, size = [], [], 0
    for name, shape in named:
        b = nbytes(shape)
        if cur and size + b > limit:
            out.append(cur)
            cur, size = [], 0
        cur.append((name, shape))
        size += b
    if cur:
        out.append(cur)
    return out


def write_shard(path, named, pool, rng):
    pool = pool.view(np.uint8)
    named = sorted(named)  # the safetensors writer: by dtype, then name
    header, pos = {}, 0
    for name, shape in named:
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [pos, pos + nbytes(shape)]}
        pos += nbytes(shape)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # data aligned to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name, shape in named:
            left = nbytes(shape)
            while left:
                # a random slice of the pool: no two tensors alike
                start = int(rng.integers(0, pool.nbytes // 2)) // 4 * 4
                n = min(left, pool.nbytes - start)
                f.write(pool[start:start + n].data)
                left -= n
    return pos


def source(p):
    """The checkpoint whose tokenizers and configs the preset starts from."""
    return T5_TINY if p.get("arch") == "t5" else TINY


def config(p):
    v, q, t = p["vision"], p["qformer"], p["text"]
    with open(os.path.join(source(p), "config.json")) as f:
        c = json.load(f)
    image_token = c["image_token_index"]
    c["dtype"] = "float32"
    c["num_query_tokens"] = p["n_query"]
    c["image_token_index"] = 32001
    c["vision_config"].update(
        hidden_size=v["hidden"], intermediate_size=v["inter"],
        num_hidden_layers=v["layers"], num_attention_heads=v["heads"],
        image_size=v["image"], patch_size=v["patch"], qkv_bias=True)
    c["qformer_config"].update(
        hidden_size=q["hidden"], intermediate_size=q["inter"],
        num_hidden_layers=q["layers"], num_attention_heads=q["heads"],
        vocab_size=q["vocab"], max_position_embeddings=q["max_pos"],
        cross_attention_frequency=q["cross_freq"],
        encoder_hidden_size=v["hidden"])
    if p.get("arch") == "t5":
        c["image_token_index"] = image_token  # the tokenizer's <image>
        c["text_config"].update(
            d_model=t["hidden"], d_ff=t["inter"], d_kv=t["d_kv"],
            num_layers=t["layers"], num_decoder_layers=t["layers"],
            num_heads=t["heads"], vocab_size=t["vocab"],
            relative_attention_num_buckets=t["buckets"],
            tie_word_embeddings=False)
        return c
    c["text_config"].update(
        hidden_size=t["hidden"], intermediate_size=t["inter"],
        num_hidden_layers=t["layers"], num_attention_heads=t["heads"],
        num_key_value_heads=t["heads"], head_dim=t["hidden"] // t["heads"],
        vocab_size=t["vocab"], max_position_embeddings=t["max_pos"],
        pad_token_id=32000, bos_token_id=1, eos_token_id=2)
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="mid")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shard-bytes", type=int,
                    help="largest shard (default: the preset's)")
    a = ap.parse_args()

    p = PRESETS[a.preset]
    named = tensors(p)
    total = sum(nbytes(s) for _, s in named)
    free = shutil.disk_usage(os.path.dirname(os.path.abspath(a.out))).free
    if total > free:
        sys.exit("%s: %.1f GB needed, %.1f GB free" % (a.out, total / 1e9,
                                                       free / 1e9))
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    # N(0, 0.02) like a trained model's weights; 64 MB reused in slices
    pool = (rng.standard_normal(16 << 20, dtype=np.float32) * 0.02)
    parts = shards(named, a.shard_bytes or p["shard_bytes"])
    weight_map = {}
    for i, part in enumerate(parts):
        fname = "model-%05d-of-%05d.safetensors" % (i + 1, len(parts))
        size = write_shard(os.path.join(a.out, fname), part, pool, rng)
        weight_map.update({name: fname for name, _ in part})
        print("%s: %d tensors, %.2f GB" % (fname, len(part), size / 1e9),
              flush=True)
    with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total},
                   "weight_map": weight_map}, f, indent=2)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config(p), f, indent=2)
    for name in os.listdir(source(p)):
        src = os.path.join(source(p), name)
        if name in ("config.json", "model.safetensors", "README.md") or \
                name.startswith("reference") or name == "settings.json":
            continue
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(a.out, name), dirs_exist_ok=True)
        else:
            shutil.copy(src, a.out)
    prep = os.path.join(a.out, "preprocessor_config.json")
    with open(prep) as f:
        pc = json.load(f)
    pc["size"] = {"height": p["vision"]["image"], "width": p["vision"]["image"]}
    with open(prep, "w") as f:
        json.dump(pc, f, indent=2)
    print("%s: %d tensors, %.2f GB in %d shards" %
          (a.out, len(named), total / 1e9, len(parts)))


if __name__ == "__main__":
    main()
