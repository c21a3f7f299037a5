#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes parity cases: small InstructBLIP checkpoints and the token ids
Hugging Face transformers generates on them from pixel_values, in fp32 and
in "fp16" (transformers in fp32 on the fp16-rounded parameters, which is
what the engine's precision=fp16 means).

Run by developers only (CI never runs Python); the outputs are committed.
Needs torch, transformers (newest), safetensors:

    python3 tests/data/cases/make_cases.py special      # named cases
    python3 tests/data/cases/make_cases.py utf8         # real tokenizers
    python3 tests/data/cases/make_cases.py sample       # committed sweep
    python3 tests/data/cases/make_cases.py sweep DIR N [SEED]  # full sweep

Each case is a directory holding a checkpoint as save_pretrained writes it
(tokenizer.json and qformer_tokenizer/tokenizer.json are relative symbolic
links to tokenizers committed elsewhere in tests/data), pixels.safetensors
(pixel_values [F,3,S,S]; utf8: from frame.rgb, an S x S RGB frame, through
the image processor transformers picks) and case.json:

  {"frames": F, "draw": {...the configuration...},
   "settings": [{"name", "prompt", "num_beams", "max_new_tokens",
                 "min_length", "min_new_tokens", "length_penalty",
                 "repetition_penalty", "ids": {"fp32": [...],
                 "fp16": [...]}, "text": {...decoded, special tokens
                 skipped...}, "gap": {"fp32": g, "fp16": g}}]}

ids are the generated ids (LLaMA: after the prompt; T5: after the decoder
start token); gap is the smallest top-2 logit gap of a greedy run
(diagnostics: a tiny gap makes a mismatch a near-tie, not a bug).

The sweep draws configurations at random: vision/Q-Former/LLM sizes and
heads (T5: d_kv·heads ≠ d_model), query tokens,
cross-attention frequency, T5 buckets and distances, layer norm eps,
rope theta, extra vocabulary rows, 1-4 video frames, and generation
settings (greedy, beam 2-5, length penalty, repetition penalty,
min_length, min_new_tokens).
"""

import copy
import json
import os
import random
import shutil
import sys

import torch
from safetensors.torch import load_file, save_file
from PIL import Image
from transformers import (
    AutoImageProcessor,
    BlipImageProcessor,
    InstructBlipConfig,
    InstructBlipForConditionalGeneration,
    InstructBlipVideoConfig,
    InstructBlipVideoForConditionalGeneration,
    LlamaConfig,
    PreTrainedTokenizerFast,
    T5Config,
)

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)
PARITY = os.path.join(DATA, "parity")
REAL = os.path.join(DATA, "tokenizer", "real")

# Tokenizers by kind: (tokenizer.json, qformer tokenizer.json).
TOKENIZERS = {
    "llama": (os.path.join(PARITY, "vicuna-tiny", "tokenizer.json"),
              os.path.join(PARITY, "vicuna-tiny", "qformer_tokenizer",
                           "tokenizer.json")),
    "t5": (os.path.join(PARITY, "t5-tiny", "tokenizer.json"),
           os.path.join(PARITY, "t5-tiny", "qformer_tokenizer",
                        "tokenizer.json")),
    "llama-real": (os.path.join(REAL, "llama", "tokenizer.json"),
                   os.path.join(REAL, "bert-base-uncased", "tokenizer.json")),
    "t5-real": (os.path.join(REAL, "flan-t5", "tokenizer.json"),
                os.path.join(REAL, "bert-base-uncased", "tokenizer.json")),
}

PROMPTS = [
    "What colour is the ball, and where does it move?",
    "Which way does the square move?",
    "describe the red ball.",
    "how many green star bounces left twice?",
    "is there a blue box?",
    "Question: what pattern shows the line? Short Answer:",
]

UTF8_PROMPTS = [
    "Où est la balle rouge ? Décris-la en détail, s'il te plaît.",
    "这个视频里的球是什么颜色？",
    "What is this? 🎈🐱 Answer with an emoji 👍",
    "Ça bouge à gauche, à droite… ou nulle part ? 日本語も 🚀",
]


def load_tok(path):
    return PreTrainedTokenizerFast(tokenizer_file=path)


def randomize(model, gen):
    """As make_fixtures.py: weights of realistic relative scale, far from
    HF's tiny init, so that logits are decisive rather than near-ties."""
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            r = torch.randn(p.shape, generator=gen)
            if "norm" in name.lower() and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * r)
            elif name.endswith("bias") and "relative_attention" not in name:
                p.copy_(0.1 * r)
            elif p.dim() >= 2 and ("embed" in name or "shared" in name
                                   or "query_tokens" in name
                                   or "position" in name):
                p.copy_(r)
            elif "relative_attention_bias" in name:
                p.copy_(r)
            elif p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(r * 1.5 / fan_in ** 0.5)
            else:
                p.copy_(0.1 * r)


def draw(rng, n):
    """One random configuration (a dict of plain values)."""
    kind = rng.choice(["llama", "llama", "t5"])
    patch = rng.choice([2, 3, 4, 5, 7])
    grid = rng.randint(1, 4)
    vh = rng.randint(1, 4)
    qh = rng.randint(1, 4)
    d = dict(
        kind=kind,
        video=rng.random() < 0.3,
        frames=1,
        num_query=rng.randint(1, 8),
        vision=dict(hidden_size=vh * rng.choice([4, 6, 8]),
                    num_attention_heads=vh,
                    num_hidden_layers=rng.randint(1, 3),
                    intermediate_size=rng.randint(8, 64),
                    image_size=patch * grid, patch_size=patch,
                    layer_norm_eps=rng.choice([1e-6, 1e-5]),
                    qkv_bias=rng.random() < 0.8),
        qformer=dict(hidden_size=qh * rng.choice([4, 6, 8]),
                     num_attention_heads=qh,
                     num_hidden_layers=rng.randint(1, 4),
                     intermediate_size=rng.randint(8, 64),
                     max_position_embeddings=64,
                     cross_attention_frequency=rng.randint(1, 3),
                     layer_norm_eps=rng.choice([1e-12, 1e-6, 1e-5])),
        extra_vocab=rng.choice([0, 0, 3, 17]),
        extra_qvocab=rng.choice([0, 5]),
        prompt=rng.choice(PROMPTS),
        eos_boost=rng.choice([1.0, 1.0, 2.0, 3.0]),
        seed=rng.randrange(1 << 30),
    )
    if d["video"]:
        d["frames"] = rng.randint(1, 4)
    if kind == "llama":
        heads = rng.randint(1, 5)
        kv = heads   # the engine refuses grouped-query attention (no
        # InstructBLIP checkpoint has it) with a clear error
        hd = rng.choice([2, 4, 6, 8])
        d["text"] = dict(hidden_size=heads * hd, num_attention_heads=heads,
                         num_key_value_heads=kv,
                         intermediate_size=rng.randint(8, 64),
                         num_hidden_layers=rng.randint(1, 3),
                         max_position_embeddings=256,
                         rms_norm_eps=rng.choice([1e-6, 1e-5]),
                         rope_theta=rng.choice([10000.0, 500000.0,
                                                float(rng.randint(50, 5000))]))
    else:
        layers = rng.randint(1, 3)
        buckets = rng.choice([8, 16, 32])
        # the decoder's exact range is buckets/2: a max distance within it
        # leaves no log-spaced buckets (transformers divides by log(1))
        distance = rng.choice([m for m in (12, 16, 20, 64, 128)
                               if m > buckets // 2])
        d["text"] = dict(d_model=rng.randint(2, 12) * 4,
                         d_kv=rng.choice([2, 4, 6, 8, 12]),
                         num_heads=rng.randint(1, 5),
                         d_ff=rng.randint(8, 64), num_layers=layers,
                         num_decoder_layers=rng.randint(1, 4),
                         relative_attention_num_buckets=buckets,
                         relative_attention_max_distance=distance,
                         layer_norm_epsilon=rng.choice([1e-6, 1e-5]))
        d["untied_head"] = rng.random() < 0.5
        d["no_cache"] = (d["text"]["num_decoder_layers"] >
                         d["text"]["num_layers"])
    d["settings"] = [dict(name="greedy", num_beams=1,
                          max_new_tokens=rng.randint(4, 12))]
    for i in range(rng.randint(1, 3)):
        s = dict(name="s%d" % i, num_beams=rng.choice([1, 2, 3, 5]),
                 max_new_tokens=rng.randint(2, 12))
        if s["num_beams"] > 1 and rng.random() < 0.6:
            s["length_penalty"] = rng.choice([-1.0, 0.0, 0.5, 2.0])
        if rng.random() < 0.5:
            s["repetition_penalty"] = rng.choice([1.2, 1.5, 2.0])
        if rng.random() < 0.3:
            s["min_new_tokens"] = rng.randint(1, s["max_new_tokens"])
        elif rng.random() < 0.3:
            s["min_length"] = rng.randint(1, 40)
        d["settings"].append(s)
    return d


def build_model(d, tok, qtok):
    """The model of draw @d, randomized, with its config objects."""
    vocab = len(tok) + d["extra_vocab"]
    if d["kind"] == "llama":
        text = LlamaConfig(vocab_size=vocab, bos_token_id=1, eos_token_id=2,
                           pad_token_id=0, tie_word_embeddings=False,
                           **d["text"])
    else:
        text = T5Config(vocab_size=vocab, feed_forward_proj="gated-gelu",
                        dense_act_fn="gelu", decoder_start_token_id=0,
                        pad_token_id=0, eos_token_id=1,
                        tie_word_embeddings=d.get("tie", False),
                        **d["text"])
    qformer = dict(d["qformer"], vocab_size=len(qtok) + d["extra_qvocab"])
    ph = d["placeholder"]
    if d["video"]:
        cfg = InstructBlipVideoConfig(vision_config=d["vision"],
                                      qformer_config=qformer,
                                      text_config=text.to_dict(),
                                      num_query_tokens=d["num_query"],
                                      video_token_index=ph)
        model = InstructBlipVideoForConditionalGeneration(cfg)
    else:
        cfg = InstructBlipConfig(vision_config=d["vision"],
                                 qformer_config=qformer,
                                 text_config=text.to_dict(),
                                 num_query_tokens=d["num_query"],
                                 image_token_index=ph)
        model = InstructBlipForConditionalGeneration(cfg)
    randomize(model, torch.Generator().manual_seed(d["seed"]))
    # a stronger eos row ends answers early, so that min_length matters
    with torch.no_grad():
        eos = 2 if d["kind"] == "llama" else 1
        model.get_output_embeddings().weight[eos] *= d.get("eos_boost", 1.0)
    return model


def placeholder_id(tok, vocab_rows, video):
    """<image> (<video>) if the tokenizer has it, else the last row of the
    model's vocabulary (an id no text produces)."""
    i = tok.convert_tokens_to_ids("<video>" if video else "<image>")
    if i is None or i == tok.unk_token_id or i < 0:
        return vocab_rows - 1
    return i


def link(src, dst):
    os.symlink(os.path.relpath(src, os.path.dirname(dst)), dst)


def gen_kwargs(s):
    return dict(do_sample=False, num_beams=s["num_beams"],
                max_new_tokens=s["max_new_tokens"],
                min_length=s.get("min_length", 0),
                min_new_tokens=s.get("min_new_tokens"),
                length_penalty=s.get("length_penalty", 1.0),
                repetition_penalty=s.get("repetition_penalty", 1.0),
                early_stopping=False, num_return_sequences=1,
                output_scores=True, return_dict_in_generate=True)


@torch.no_grad()
def run_settings(model, d, tok, qtok, pixels, out, precision):
    t5 = d["kind"] == "t5"
    Q, F = d["num_query"], d["frames"]
    for s in d["settings"]:
        prompt = s.get("prompt", d["prompt"])
        q = qtok(prompt, return_tensors="pt")
        t = tok(prompt, return_tensors="pt")
        # legacy too: transformers 5 has no legacy path, the same
        # embeddings come from placeholders the config names (special())
        ids = torch.cat([torch.full((1, Q * F), d["placeholder"]),
                         t["input_ids"]], dim=1)
        pv = pixels.unsqueeze(0) if d["video"] else pixels
        o = model.generate(pixel_values=pv, qformer_input_ids=q["input_ids"],
                           qformer_attention_mask=q["attention_mask"],
                           input_ids=ids, attention_mask=torch.ones_like(ids),
                           use_cache=not d.get("no_cache", False),
                           **gen_kwargs(s))
        seq = o.sequences[0]
        seq = seq[1:] if t5 else seq[ids.shape[1]:]
        s.setdefault("ids", {})[precision] = [int(x) for x in seq]
        s.setdefault("text", {})[precision] = tok.decode(
            seq, skip_special_tokens=True)
        if s["num_beams"] == 1:
            gaps = [float(v[0] - v[1]) for v in
                    (torch.topk(sc[0], 2).values for sc in o.scores)]
            s.setdefault("gap", {})[precision] = min(gaps) if gaps else 0.0
        s["prompt"] = prompt
    out["settings"] = d["settings"]


def round_params(model):
    """precision=fp16: every parameter rounded to fp16 once, fp32 after."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())


# smallest top-2 logit gap of a case meant to tell fp16 meanings apart
MIN_GAP = 2e-3


def round_weights_and_tables(model):
    """What precision=fp16 rounded before it was defined exactly: linear
    and convolution weights and embedding tables only (see precision.c),
    not norms, biases, position tables, query tokens or relative biases."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            table = ("embed_tokens." in name or "word_embeddings." in name
                     or name.endswith("shared.weight"))
            linear = (p.dim() >= 2 and name.endswith(".weight")
                      and "position" not in name
                      and "relative_attention_bias" not in name)
            if table or linear:
                p.copy_(p.half().float())


@torch.no_grad()
def fp16_sensitive_seed(d, tok_kind, first_seed):
    """The first seed from @first_seed whose ids with every parameter
    rounded differ from those with only weights and tables rounded: a case
    that tells the two meanings of fp16 apart."""
    tok_path, qtok_path = TOKENIZERS[tok_kind]
    tok, qtok = load_tok(tok_path), load_tok(qtok_path)
    d["placeholder"] = placeholder_id(tok, len(tok) + d["extra_vocab"],
                                      d["video"])
    for seed in range(first_seed, first_seed + 200):
        d["seed"] = seed
        S = d["vision"]["image_size"]
        gen = torch.Generator().manual_seed(seed + 1)
        pixels = torch.randn((d["frames"], 3, S, S), generator=gen)
        runs, gaps = [], []
        for rounding in (round_params, round_weights_and_tables):
            model = build_model(d, tok, qtok).eval()
            rounding(model)
            out = {}
            run_settings(model, copy.deepcopy(d), tok, qtok, pixels, out,
                         "x")
            runs.append([s["ids"]["x"] for s in out["settings"]])
            gaps.append([s["gap"]["x"] for s in out["settings"]])
        # a difference that is no near-tie (float order alone never flips)
        if any(a != b and min(ga, gb) > MIN_GAP for a, b, ga, gb in
               zip(runs[0], runs[1], gaps[0], gaps[1])):
            return seed
    raise RuntimeError("no fp16-sensitive seed")


def write_case(out_dir, d, tok_kind, fp16_checkpoint=False):
    tok_path, qtok_path = TOKENIZERS[tok_kind]
    tok, qtok = load_tok(tok_path), load_tok(qtok_path)
    vocab_rows = len(tok) + d["extra_vocab"]
    d["placeholder"] = placeholder_id(tok, vocab_rows, d["video"])
    model = build_model(d, tok, qtok)
    if fp16_checkpoint:
        model = model.half()
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(os.path.join(out_dir, "qformer_tokenizer"))
    model.generation_config.eos_token_id = 2 if d["kind"] == "llama" else 1
    model.generation_config.pad_token_id = 0
    model.save_pretrained(out_dir)
    if d.get("untied_head"):
        # as the Salesforce Flan-T5 checkpoints store it: a head of its own
        # (transformers 5 ties T5 heads at init; a checkpoint whose head
        # differs from shared.weight is loaded untied)
        st = os.path.join(out_dir, "model.safetensors")
        tensors = load_file(st)
        hd = tensors["language_model.shared.weight"]
        g = torch.Generator().manual_seed(d["seed"] + 2)
        head = torch.randn(hd.shape, generator=g) * 1.5 / hd.shape[1] ** 0.5
        head[1] *= d.get("eos_boost", 1.0)
        tensors["language_model.lm_head.weight"] = head.to(hd.dtype)
        save_file(tensors, st, metadata={"format": "pt"})
    cfg_path = os.path.join(out_dir, "config.json")
    if d.get("legacy"):
        cfg = json.load(open(cfg_path))
        cfg.pop("image_token_index", None)
        cfg.pop("image_token_id", None)
        json.dump(cfg, open(cfg_path, "w"), indent=2)
    S = d["vision"]["image_size"]
    BlipImageProcessor(size={"height": S, "width": S}, resample=3,
                       do_convert_rgb=True).save_pretrained(out_dir)
    link(tok_path, os.path.join(out_dir, "tokenizer.json"))
    link(qtok_path, os.path.join(out_dir, "qformer_tokenizer",
                                 "tokenizer.json"))
    gen = torch.Generator().manual_seed(d["seed"] + 1)
    if d.get("frame"):
        # an S x S RGB frame (frame.rgb) through the image processor
        # transformers picks by default for this checkpoint
        rgb = torch.randint(0, 256, (S, S, 3), generator=gen,
                            dtype=torch.uint8).numpy()
        rgb.tofile(os.path.join(out_dir, "frame.rgb"))
        proc = AutoImageProcessor.from_pretrained(out_dir)
        pixels = proc(images=Image.fromarray(rgb),
                      return_tensors="pt")["pixel_values"]
        d["image_processor"] = type(proc).__name__
    else:
        pixels = torch.randn((d["frames"], 3, S, S), generator=gen)
    save_file({"pixel_values": pixels.contiguous()},
              os.path.join(out_dir, "pixels.safetensors"))

    # the reference runs on the checkpoint as transformers loads it
    cls = (InstructBlipVideoForConditionalGeneration if d["video"] else
           InstructBlipForConditionalGeneration)
    ref = cls.from_pretrained(out_dir, dtype=torch.float32)
    if d.get("legacy"):
        ref.config.image_token_id = d["placeholder"]
    ref.eval()
    out = {"frames": d["frames"]}
    run_settings(ref, d, tok, qtok, pixels, out, "fp32")
    round_params(ref)
    run_settings(ref, d, tok, qtok, pixels, out, "fp16")
    draw_info = {k: v for k, v in d.items() if k != "settings"}
    out["draw"] = draw_info
    out["transformers"] = __import__("transformers").__version__
    out["torch"] = torch.__version__
    json.dump(out, open(os.path.join(out_dir, "case.json"), "w"), indent=1,
              ensure_ascii=False)
    return out


def sweep(out_root, n, seed):
    rng = random.Random(seed)
    os.makedirs(out_root, exist_ok=True)
    for i in range(n):
        d = draw(rng, i)
        name = "case%03d-%s%s" % (i, d["kind"], "-video" if d["video"] else
                                  "")
        write_case(os.path.join(out_root, name), d, d["kind"])
        print(name, flush=True)


BASE = dict(video=False, frames=1, num_query=4, extra_vocab=0,
            extra_qvocab=0, prompt=PROMPTS[0],
            vision=dict(hidden_size=16, num_attention_heads=2,
                        num_hidden_layers=2, intermediate_size=24,
                        image_size=14, patch_size=7, layer_norm_eps=1e-6,
                        qkv_bias=True),
            qformer=dict(hidden_size=16, num_attention_heads=2,
                         num_hidden_layers=2, intermediate_size=24,
                         max_position_embeddings=64,
                         cross_attention_frequency=2, layer_norm_eps=1e-12))
LLAMA = dict(hidden_size=24, num_attention_heads=3, num_key_value_heads=3,
             intermediate_size=40, num_hidden_layers=2,
             max_position_embeddings=256, rms_norm_eps=1e-6,
             rope_theta=10000.0)
T5 = dict(d_model=24, d_kv=8, num_heads=3, d_ff=40, num_layers=2,
          num_decoder_layers=2, relative_attention_num_buckets=32,
          relative_attention_max_distance=128, layer_norm_epsilon=1e-6)
SETTINGS = [dict(name="greedy", num_beams=1, max_new_tokens=10),
            dict(name="greedy_rep", num_beams=1, max_new_tokens=10,
                 repetition_penalty=1.5),
            dict(name="beam4_lp", num_beams=4, max_new_tokens=8,
                 length_penalty=-1.0),
            dict(name="beam3_min", num_beams=3, max_new_tokens=8,
                 min_new_tokens=6)]


def special():
    """Named cases: T5 with its own untied lm_head (tie_word_embeddings
    false: transformers keeps the checkpoint's head and does not scale by
    d_model**-0.5), T5 with more decoder than encoder layers, LLaMA with
    <image> placeholders and the legacy config without image_token_index
    (transformers 5 dropped its legacy path; its ids are those of the same
    embeddings placed by placeholders: settings without repetition penalty
    and with min_new_tokens only, where the two layouts agree)."""
    root = os.path.join(HERE, "special")
    cases = {
        "t5-untied-head": dict(kind="t5", text=dict(T5), seed=11,
                               untied_head=True),
        # transformers 5.25 sizes the T5 cache by num_layers: generate()
        # fails (IndexError in cache_utils) with more decoder layers, so
        # this reference runs without the cache (the same products)
        "t5-deep-decoder": dict(kind="t5", text=dict(T5, num_layers=1,
                                                      num_decoder_layers=4),
                                seed=12, no_cache=True),
        "vicuna-image-tokens": dict(kind="llama", text=dict(LLAMA), seed=13),
        "vicuna-legacy": dict(kind="llama", text=dict(LLAMA), seed=13,
                              legacy=True),
    }
    # fp16 means every parameter rounded (model.half() on fp32
    # arithmetic), not only weights and tables: this seed tells them apart
    cases["vicuna-fp16-all-parameters"] = dict(
        kind="llama", text=dict(LLAMA), seed=100, fp16_search=True,
        settings=[dict(name="greedy%d" % i, num_beams=1, max_new_tokens=20,
                       prompt=p) for i, p in enumerate(PROMPTS)])
    for name, c in cases.items():
        d = copy.deepcopy(BASE)
        d.update(c)
        d.setdefault("settings", copy.deepcopy(SETTINGS))
        if d.get("fp16_search"):
            d["seed"] = fp16_sensitive_seed(d, d["kind"], d["seed"])
        if d.get("legacy"):
            d["settings"] = [s for s in d["settings"]
                             if "repetition_penalty" not in s]
        write_case(os.path.join(root, name), d, d["kind"])
        print(name)


def utf8():
    """The real LLaMA and Flan-T5 tokenizers (and BERT for the Q-Former) on
    a tiny model, non-Latin instructions. Stored as fp16 (the real
    vocabularies make the tables large); fp32 is exact on those weights."""
    root = os.path.join(HERE, "utf8")
    small = dict(BASE, num_query=3,
                 qformer=dict(BASE["qformer"], hidden_size=8,
                              num_attention_heads=2))
    cases = {
        "vicuna-real-tokenizer": dict(kind="llama", seed=21, text=dict(
            LLAMA, hidden_size=8, num_attention_heads=2,
            num_key_value_heads=2, intermediate_size=16)),
        "t5-real-tokenizer": dict(kind="t5", seed=22, text=dict(
            T5, d_model=8, d_kv=4, num_heads=2, d_ff=16)),
    }
    for name, c in cases.items():
        d = copy.deepcopy(small)
        d.update(c)
        d["extra_vocab"] = 1   # the placeholder row
        d["frame"] = True   # the element test feeds frame.rgb
        d["settings"] = [dict(name="greedy%d" % i, num_beams=1,
                              max_new_tokens=8, prompt=p)
                         for i, p in enumerate(UTF8_PROMPTS)]
        d["settings"].append(dict(name="beam3", num_beams=3,
                                  max_new_tokens=6, prompt=UTF8_PROMPTS[1]))
        write_case(os.path.join(root, name), d, d["kind"] + "-real",
                   fp16_checkpoint=True)
        print(name)


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "sample"
    if what == "special":
        special()
    elif what == "utf8":
        utf8()
    elif what == "sample":
        shutil.rmtree(os.path.join(HERE, "sample"), ignore_errors=True)
        sweep(os.path.join(HERE, "sample"), 10, 20261207)
    elif what == "sweep":
        sweep(sys.argv[2], int(sys.argv[3]),
              int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
