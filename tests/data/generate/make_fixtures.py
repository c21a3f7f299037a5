#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes fixtures.json: what transformers' generate() and its helpers return
for the toy model of toy.py, for tests/generate/test-generate.c.

Developers only (CI never runs Python).  Needs torch and transformers (5.x;
written against 5.24).  Run from any directory:

    python3 tests/data/generate/make_fixtures.py

Sections of fixtures.json:
  toy_rows     logits of the toy model for a few contexts (C must agree)
  generate     generate() output ids (without the prompt) for greedy and beam
               search settings, the number of forward calls after the prefill
               ("steps"); "fragile" marks cases whose ids change when
               every log_softmax row moves by one float ulp (beam search
               only; the C test reports those instead of failing)
  log_softmax  rows and torch's log_softmax of them (C is compared within a
               few ulps, and the bit-exact share is reported)
  topk         values with many ties, k, torch.topk's indices (C must give
               exactly these: torch's order among ties)
  warpers      scores before and after Temperature/TopK/TopP warpers and the
               softmax probabilities (-inf written as null)
  sample_first first-step distribution of generate(do_sample=True) through
               all processors and warpers, from the processors themselves
  rank         LAVIS _predict_class losses and ranking on the toy model
  rng          first outputs of xoshiro256** seeded by splitmix64 (a Python
               transcription of the generator of engine/generate/rng.c)
"""

import json
import math
import os
import random
import sys
import warnings

import torch
import transformers
from transformers.generation.logits_process import (
    MinLengthLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import toy  # noqa: E402

warnings.filterwarnings("ignore")
transformers.utils.logging.set_verbosity_error()
torch.manual_seed(0)

PROMPTS = {
    "p3": [40, 41, 3],
    "p1": [11],
    "p7": [5, 9, 13, 21, 34, 8, 1],
    "p12": [17, 17, 30, 4, 44, 12, 9, 26, 0, 48, 33, 19],
}


def f32_list(t):
    """float32 values as JSON numbers (exact: a double holds any float32);
    -inf as null."""
    out = []
    for x in t.tolist():
        out.append(None if x == -math.inf else float(x))
    return out


# --- generate() -------------------------------------------------------------

def hf_kwargs(params):
    kw = dict(do_sample=False, use_cache=False, pad_token_id=0)
    for key in ("max_new_tokens", "max_length", "min_new_tokens", "min_length"):
        if params.get(key, -1) >= 0:
            kw[key] = params[key]
    kw["num_beams"] = params.get("num_beams", 1)
    if kw["num_beams"] > 1:
        kw["length_penalty"] = params.get("length_penalty", 1.0)
        es = params.get("early_stopping", "false")
        kw["early_stopping"] = {"false": False, "true": True, "never": "never"}[es]
    if params.get("repetition_penalty", 1.0) != 1.0:
        kw["repetition_penalty"] = params["repetition_penalty"]
    eos = params.get("eos", [2])
    kw["eos_token_id"] = None if not eos else (eos[0] if len(eos) == 1 else eos)
    return kw


def run_generate(model, prompt, params):
    ids = torch.tensor([prompt])
    out = model.generate(ids, attention_mask=torch.ones_like(ids), **hf_kwargs(params))
    return out[0, len(prompt):].tolist()


def count_steps(model, prompt, params):
    """forward calls after the prefill: the decoding steps generate() ran"""
    model.n_forward = 0
    run_generate(model, prompt, params)
    return model.n_forward - 1


def perturbed_log_softmax(orig, rng):
    """log_softmax whose rows move by -1, 0 or +1 float ulp (of 2^-22)."""
    def f(x, dim=-1, **kw):
        out = orig(x, dim=dim, **kw)
        if out.dim() == 2:
            shift = torch.tensor([rng.choice((-1, 0, 1)) * 2.0 ** -22
                                  for _ in range(out.shape[0])], dtype=out.dtype)
            out = out + shift[:, None]
        return out
    return f


def is_fragile(model, prompt, params, expected):
    if params.get("num_beams", 1) == 1:
        return False  # greedy never takes a log_softmax
    orig = torch.nn.functional.log_softmax
    try:
        for trial in range(4):
            torch.nn.functional.log_softmax = perturbed_log_softmax(
                orig, random.Random(trial))
            if run_generate(model, prompt, params) != expected:
                return True
    finally:
        torch.nn.functional.log_softmax = orig
    return False


def generate_cases():
    cases = []
    for variant in ("coarse", "fine"):
        for pname, prompt in PROMPTS.items():
            n = len(prompt)
            greedy = [
                ("default-20", {}),
                ("new10", {"max_new_tokens": 10}),
                ("maxlen", {"max_length": n + 6}),
                ("maxlen-vs-new", {"max_length": n + 3, "max_new_tokens": 9}),
                ("rep1.5", {"max_new_tokens": 25, "repetition_penalty": 1.5}),
                ("rep0.7", {"max_new_tokens": 15, "repetition_penalty": 0.7}),
                ("min-new6", {"max_new_tokens": 20, "min_new_tokens": 6}),
                ("minlen", {"max_new_tokens": 20, "min_length": n + 5}),
                ("min-new-vs-minlen", {"max_new_tokens": 20, "min_new_tokens": 2,
                                       "min_length": n + 9}),
                ("rep-min", {"max_new_tokens": 30, "repetition_penalty": 1.5,
                             "min_new_tokens": 4}),
                ("eos2-7", {"max_new_tokens": 20, "eos": [2, 7]}),
                ("no-eos", {"max_new_tokens": 12, "eos": []}),
            ]
            for name, params in greedy:
                cases.append((variant, pname, "greedy-" + name, params))
            for nb in (2, 3, 5):
                for lp in (1.0, 0.0, -1.0, 2.0):
                    for es in ("false", "true", "never"):
                        cases.append((variant, pname, f"beam{nb}-lp{lp}-{es}", {
                            "max_new_tokens": 12, "num_beams": nb,
                            "length_penalty": lp, "early_stopping": es}))
            extra = [
                ("beam5-lavis", {"max_length": n + 30, "min_length": 1, "num_beams": 5,
                                 "repetition_penalty": 1.5, "length_penalty": 1.0}),
                ("beam5-vqa", {"max_new_tokens": 10, "min_length": 1, "num_beams": 5,
                               "repetition_penalty": 1.5, "length_penalty": -1.0}),
                ("beam3-min-new5", {"max_new_tokens": 15, "num_beams": 3,
                                    "min_new_tokens": 5}),
                ("beam4-eos2-7", {"max_new_tokens": 15, "num_beams": 4, "eos": [2, 7]}),
                ("beam4-eos2-7-never", {"max_new_tokens": 15, "num_beams": 4,
                                        "eos": [2, 7], "early_stopping": "never"}),
                ("beam2-no-eos", {"max_new_tokens": 10, "num_beams": 2, "eos": []}),
                ("beam3-maxlen", {"max_length": n + 4, "num_beams": 3}),
                ("beam3-default", {"num_beams": 3}),
                ("beam5-rep0.8-lp0.5", {"max_new_tokens": 20, "num_beams": 5,
                                        "repetition_penalty": 0.8, "length_penalty": 0.5}),
                ("beam6-long", {"max_new_tokens": 40, "num_beams": 6,
                                "length_penalty": 1.0, "early_stopping": "never"}),
            ]
            for name, params in extra:
                cases.append((variant, pname, name, params))

    out = []
    models = {v: toy.make_model(v) for v in ("coarse", "fine")}
    for variant, pname, name, params in cases:
        model = models[variant]
        prompt = PROMPTS[pname]
        expected = run_generate(model, prompt, params)
        steps = count_steps(model, prompt, params)
        fragile = is_fragile(model, prompt, params, expected)
        full = {
            "max_new_tokens": -1, "max_length": -1, "min_new_tokens": -1,
            "min_length": 0, "num_beams": 1, "length_penalty": 1.0,
            "early_stopping": "false", "repetition_penalty": 1.0, "eos": [2],
        }
        full.update(params)
        out.append({"name": f"{variant}/{pname}/{name}", "variant": variant,
                    "prompt": prompt, "params": full, "expected": expected,
                    "steps": steps, "fragile": fragile})
    return out


# --- helpers: log_softmax, topk, warpers ---------------------------------------

def log_softmax_cases():
    g = torch.Generator().manual_seed(1)
    rows = []
    for n in (50, 7, 16, 17, 33, 100, 1000):
        for _ in range(80 if n == 50 else 1 if n == 1000 else 6):
            rows.append((torch.randn(n, generator=g) * 3).float())
    for v in ("coarse", "fine"):
        for a, b in ((40, 41), (1000, 11), (3, 3), (8, 1)):
            rows.append(torch.tensor(toy.toy_logits(v, a, b), dtype=torch.float32))
    return [{"x": f32_list(r), "y": f32_list(torch.nn.functional.log_softmax(r, dim=-1))}
            for r in rows]


def topk_cases():
    g = torch.Generator().manual_seed(2)
    out = []
    for n, k, levels in ((250, 10, 3), (250, 5, 2), (250, 15, 6), (50, 5, 4),
                         (100, 10, 1), (15, 5, 3), (10, 5, 2), (20, 8, 4),
                         (1000, 10, 5), (1000, 15, 2), (640, 10, 3), (639, 10, 3),
                         (2000, 20, 7), (33, 32, 3), (25, 25, 2), (7, 1, 2),
                         (300, 4, 300), (3, 3, 1), (100, 1, 1), (64, 1, 2)):
        for rep in range(3):
            x = torch.randint(0, levels, (n,), generator=g).float() * 0.25 - 1.0
            if rep == 2:
                x[torch.randint(0, n, (n // 5 + 1,), generator=g)] = -1e9
            v, i = torch.topk(x, k)
            out.append({"x": f32_list(x), "k": k, "indices": i.tolist()})
    return out


def warp(scores, temperature, top_k, top_p, min_keep):
    s = scores.clone()[None, :]
    ids = torch.zeros((1, 1), dtype=torch.long)
    if temperature != 1.0:
        s = TemperatureLogitsWarper(temperature)(ids, s)
    if top_k != 0:
        s = TopKLogitsWarper(top_k, min_tokens_to_keep=min_keep)(ids, s)
    if top_p < 1.0:
        s = TopPLogitsWarper(top_p, min_tokens_to_keep=min_keep)(ids, s)
    return s[0]


def warper_cases():
    g = torch.Generator().manual_seed(3)
    rows = [
        torch.tensor(toy.toy_logits("coarse", 40, 41), dtype=torch.float32),
        torch.tensor(toy.toy_logits("fine", 8, 1), dtype=torch.float32),
        (torch.randn(50, generator=g) * 2).float(),
        (torch.randn(200, generator=g) * 1.5).float(),
    ]
    settings = [
        (0.7, 0, 1.0, 1), (1.0, 5, 1.0, 1), (1.0, 0, 0.9, 1), (1.3, 10, 0.8, 1),
        (0.5, 50, 0.95, 1), (1.0, 3, 1.0, 5), (1.0, 0, 0.3, 3), (2.0, 20, 0.6, 2),
        (1.0, 1, 1.0, 1), (1.0, 0, 0.05, 1),
    ]
    out = []
    for r in rows:
        for t, k, p, keep in settings:
            w = warp(r, t, k, p, keep)
            out.append({"x": f32_list(r), "temperature": t, "top_k": k, "top_p": p,
                        "min_keep": keep, "y": f32_list(w),
                        "probs": f32_list(torch.softmax(w, dim=-1))})
    return out


def sample_first_cases():
    """First-id distribution of generate(do_sample=True): processors then
    warpers in transformers' order, on the toy model's prefill logits."""
    out = []
    settings = [
        ("coarse", "p3", dict(temperature=1.0, top_k=50, top_p=1.0, repetition_penalty=1.0,
                              min_new_tokens=-1)),
        ("coarse", "p7", dict(temperature=0.8, top_k=20, top_p=0.9, repetition_penalty=1.3,
                              min_new_tokens=-1)),
        ("fine", "p7", dict(temperature=1.5, top_k=0, top_p=0.7, repetition_penalty=1.5,
                            min_new_tokens=3)),
        ("fine", "p12", dict(temperature=0.6, top_k=8, top_p=1.0, repetition_penalty=1.0,
                             min_new_tokens=-1)),
    ]
    for variant, pname, s in settings:
        prompt = PROMPTS[pname]
        ids = torch.tensor([prompt])
        a = prompt[-2] if len(prompt) >= 2 else toy.NO_TOKEN
        scores = torch.tensor([toy.toy_logits(variant, a, prompt[-1])], dtype=torch.float32)
        if s["repetition_penalty"] != 1.0:
            scores = RepetitionPenaltyLogitsProcessor(s["repetition_penalty"])(ids, scores)
        if s["min_new_tokens"] > 0:
            scores = MinLengthLogitsProcessor(len(prompt) + s["min_new_tokens"], [2])(ids, scores)
        w = warp(scores[0], s["temperature"], s["top_k"], s["top_p"], 1)
        out.append({"variant": variant, "prompt": prompt, **s,
                    "probs": f32_list(torch.softmax(w, dim=-1))})
    return out


# --- LAVIS vocabulary ranking --------------------------------------------------

def lavis_vicuna_losses(variant, n_soft, prompt, cands, n_segments, pad_id=0):
    """_predict_class of blip2_vicuna_instruct with the toy LM: targets -100
    on soft tokens, prompt and padding; CE reduction none; view(B, -1).mean(1)."""
    n = len(cands)
    losses = []
    for seg in range(n_segments):
        start = seg * (n // n_segments)
        seg_len = n // n_segments if seg < n_segments - 1 else n - start
        group = cands[start:start + seg_len]
        pad_len = max(len(c) for c in group)
        for c in group:
            ids = prompt + c + [pad_id] * (pad_len - len(c))
            targets = [-100] * len(prompt) + c + [-100] * (pad_len - len(c))
            full_t = [-100] * n_soft + targets
            length = n_soft + len(ids)
            logits = torch.zeros(length, toy.VOCAB)
            for pos in range(n_soft, length):
                t = pos - n_soft
                a = ids[t - 1] if t >= 1 else toy.NO_TOKEN
                logits[pos] = torch.tensor(toy.toy_logits(variant, a, ids[t]))
            shift_logits = logits[:-1]
            shift_labels = torch.tensor(full_t[1:])
            loss = torch.nn.functional.cross_entropy(shift_logits, shift_labels,
                                                     reduction="none")
            losses.append(loss.view(1, -1).mean(1).item())
    return losses


def t5_losses(variant, cands):
    """blip2_t5_instruct with the toy LM as decoder: decoder ids start [0];
    sum over the answer ids (</s> included) of -log p."""
    out = []
    for c in cands:
        dec = [0] + c
        total = 0.0
        for t in range(len(c)):
            a = dec[t - 1] if t >= 1 else toy.NO_TOKEN
            row = torch.tensor(toy.toy_logits(variant, a, dec[t]))
            total += -torch.log_softmax(row, dim=-1)[c[t]].item()
        out.append(total)
    return out


def rank_cases():
    cands = [[36, 49], [3], [30, 27, 21], [46, 15, 22, 1], [6, 29], [39, 8, 7, 27],
             [12], [44, 44, 44], [5, 1]]
    out = []
    for variant in ("coarse", "fine"):
        for pname, n_soft in (("p3", 32), ("p7", 128)):
            prompt = PROMPTS[pname]
            for n_segments in (1, 2, 3):
                losses = lavis_vicuna_losses(variant, n_soft, prompt, cands, n_segments)
                order = torch.argsort(torch.tensor(losses, dtype=torch.float64),
                                      stable=True).tolist()
                out.append({"kind": "mean_padded", "variant": variant, "prompt": prompt,
                            "n_context": n_soft + len(prompt), "n_segments": n_segments,
                            "cands": cands, "losses": losses, "order": order})
        t5_cands = [c + [1] for c in cands]
        losses = t5_losses(variant, t5_cands)
        order = torch.argsort(torch.tensor(losses, dtype=torch.float64), stable=True).tolist()
        out.append({"kind": "sum", "variant": variant, "prompt": [0], "n_context": 1,
                    "n_segments": 1, "cands": t5_cands, "losses": losses, "order": order})
    return out


# --- the sampler's generator, written out independently -----------------------

M64 = (1 << 64) - 1


def rng_outputs(seed, count):
    def splitmix(state):
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return state, z ^ (z >> 31)

    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & M64

    s, x = [], seed
    for _ in range(4):
        x, z = splitmix(x)
        s.append(z)
    out = []
    for _ in range(count):
        out.append(str((rotl((s[1] * 5) & M64, 7) * 9) & M64))
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    return out


def main():
    data = {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "vocab": toy.VOCAB,
        "toy_rows": [{"variant": v, "a": a, "b": b, "logits": toy.toy_logits(v, a, b)}
                     for v in ("coarse", "fine")
                     for a, b in ((40, 41), (toy.NO_TOKEN, 11), (2, 7), (49, 0), (13, 13))],
        "generate": generate_cases(),
        "log_softmax": log_softmax_cases(),
        "topk": topk_cases(),
        "warpers": warper_cases(),
        "sample_first": sample_first_cases(),
        "rank": rank_cases(),
        "rng": [{"seed": str(seed), "out": rng_outputs(seed, 6)}
                for seed in (0, 1, 42, 0xFFFFFFFFFFFFFFFF)],
    }
    path = os.path.join(HERE, "fixtures.json")
    with open(path, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")
    gen = data["generate"]
    print(f"{path}: {len(gen)} generate cases "
          f"({sum(c['fragile'] for c in gen)} fragile), "
          f"{len(data['topk'])} topk, {len(data['log_softmax'])} log_softmax rows")


if __name__ == "__main__":
    main()
