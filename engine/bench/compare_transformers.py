#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Speed and memory of the engine side by side with Hugging Face
transformers (PyTorch, CPU) on the same checkpoint, reported as ratios.

Developers only (needs torch and transformers; CI never runs it):

    # a mid-size random checkpoint with the real layer shapes, fewer layers
    python3 engine/bench/compare_transformers.py --make vicuna7b-2l /tmp/mid-vicuna
    python3 engine/bench/compare_transformers.py --make flant5xl-2l /tmp/mid-t5
    # compare on any checkpoint directory
    python3 engine/bench/compare_transformers.py /tmp/mid-vicuna --ib-bench build/engine/bench/ib-bench

Both sides get the same random pixels shape, the same instruction and are
forced to the same number of new tokens (min = max); each stage is the
median of --runs answers after a warm-up. The reference runs with
torch.set_num_threads(os.cpu_count()) in each --ref-dtypes dtype (bf16 is
what a CPU user runs; fp32 where it fits), the engine in each --precisions
precision, every configuration in its own process so that peak RSS is its
own. Ratios are reference / engine: > 1 means the engine is faster (time)
or smaller (memory).

Honest timing of the reference:
- load: from_pretrained may map the safetensors files lazily; every
  parameter is read once (a sum) inside the timed load, so that the load
  figure includes reading the weights, as the engine's does.
- decode: LLaMA's generate() repeats the prefill, which is subtracted;
  T5's generate() is given the encoder output and does not repeat the
  encoder, so nothing is subtracted there.
- answer: one whole answer (vision, Q-Former, prefill, decode) as a user
  sees it, model loaded.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

PROMPT = "What is happening in the video?"


def make(kind, out):
    import torch
    from transformers import (BlipImageProcessor, InstructBlipConfig,
                              InstructBlipForConditionalGeneration,
                              LlamaConfig, T5Config)
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                    "tests", "data", "parity"))
    argv, sys.argv = sys.argv, sys.argv[:1]   # its SHARED_DIR argument
    import make_fixtures as fx  # tokenizers of the real kinds, small vocab
    sys.argv = argv
    vision = dict(hidden_size=1408, num_hidden_layers=2,
                  num_attention_heads=16, intermediate_size=6144,
                  image_size=224, patch_size=14, layer_norm_eps=1e-6,
                  qkv_bias=True)
    qtok = fx.bert_tokenizer()
    qformer = dict(vocab_size=len(qtok), hidden_size=768,
                   num_hidden_layers=2, num_attention_heads=12,
                   intermediate_size=3072, cross_attention_frequency=2)
    if kind.startswith("vicuna"):
        tok = fx.llama_tokenizer()
        text = LlamaConfig(vocab_size=32000, hidden_size=4096,
                           intermediate_size=11008, num_hidden_layers=2,
                           num_attention_heads=32, max_position_embeddings=2048,
                           rms_norm_eps=1e-6, bos_token_id=1, eos_token_id=2,
                           tie_word_embeddings=False)
    else:
        tok = fx.t5_tokenizer()
        text = T5Config(vocab_size=32128, d_model=2048, d_kv=64,
                        num_heads=32, d_ff=5120, num_layers=2,
                        num_decoder_layers=2, feed_forward_proj="gated-gelu",
                        dense_act_fn="gelu", decoder_start_token_id=0,
                        eos_token_id=1, pad_token_id=0,
                        tie_word_embeddings=False)
    cfg = InstructBlipConfig(vision_config=vision, qformer_config=qformer,
                             text_config=text.to_dict(), num_query_tokens=32,
                             image_token_index=tok.convert_tokens_to_ids(
                                 "<image>"))
    torch.manual_seed(0)
    model = InstructBlipForConditionalGeneration(cfg).eval()
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.normal_(0, 0.02)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    qtok.save_pretrained(os.path.join(out, "qformer_tokenizer"))
    BlipImageProcessor(size={"height": 224, "width": 224},
                       resample=3).save_pretrained(out)
    print("wrote", out)


def reference(model_dir, frames, tokens, runs, dtype):
    import torch
    from transformers import (AutoTokenizer,
                              InstructBlipForConditionalGeneration)
    torch.set_num_threads(os.cpu_count())
    tdtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    t0 = time.perf_counter()
    model = InstructBlipForConditionalGeneration.from_pretrained(
        model_dir, dtype=tdtype).eval()
    with torch.no_grad():   # force a lazy (mapped) load to really read
        for p in model.parameters():
            p.sum()
    load_s = time.perf_counter() - t0
    rss_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tok = AutoTokenizer.from_pretrained(model_dir)
    qtok = AutoTokenizer.from_pretrained(os.path.join(model_dir,
                                                      "qformer_tokenizer"))
    S = model.config.vision_config.image_size
    Q = model.config.num_query_tokens
    gen = torch.Generator().manual_seed(1)
    pix = torch.rand((frames, 3, S, S), generator=gen) * 4 - 2
    q = qtok(PROMPT, return_tensors="pt")
    ids = torch.cat([torch.full((1, Q * frames),
                                model.config.image_token_index),
                     tok(PROMPT, return_tensors="pt")["input_ids"]], 1)
    pix = pix.to(tdtype)
    vis, qf, pre, dec, ans = [], [], [], [], []
    with torch.no_grad():
        for r in range(runs + 1):
            t0 = time.perf_counter()
            emb = model.vision_model(pixel_values=pix).last_hidden_state
            t1 = time.perf_counter()
            qo = model.qformer(
                input_ids=q["input_ids"].repeat(frames, 1),
                attention_mask=q["attention_mask"].repeat(frames, 1),
                query_embeds=model.query_tokens.expand(frames, -1, -1),
                encoder_hidden_states=emb).last_hidden_state[:, :Q]
            soft = model.language_projection(qo).reshape(
                1, -1, model.language_projection.out_features)
            t2 = time.perf_counter()
            embeds = model.get_input_embeddings()(ids)
            embeds[:, :Q * frames] = soft
            lm = model.language_model
            t5 = model.config.text_config.model_type == "t5"
            if t5:
                enc = lm.encoder(inputs_embeds=embeds)
                t3 = time.perf_counter()
                lm.generate(encoder_outputs=enc, max_new_tokens=tokens,
                            min_new_tokens=tokens, do_sample=False)
            else:
                out = lm(inputs_embeds=embeds, use_cache=True)
                t3 = time.perf_counter()
                lm.generate(inputs_embeds=embeds, max_new_tokens=tokens,
                            min_new_tokens=tokens, do_sample=False)
            t4 = time.perf_counter()
            if r == 0:
                continue
            vis.append((t1 - t0) * 1e3 / frames)
            qf.append((t2 - t1) * 1e3 / frames)
            pre.append((t3 - t2) * 1e3)
            # LLaMA's generate() repeats the prefill: subtract it; T5's
            # gets the encoder output and repeats nothing
            gen_s = (t4 - t3) - (0 if t5 else (t3 - t2))
            dec.append(gen_s * 1e3 / max(tokens - 1, 1))
            ans.append((t3 - t0 + gen_s) * 1e3)
    return {"engine": "transformers %s %s" % (
                __import__("transformers").__version__, dtype),
            "load_s": load_s,
            "answer_ms": statistics.median(ans),
            "vision_ms_per_frame": statistics.median(vis),
            "qformer_ms_per_frame": statistics.median(qf),
            "prefill_ms": statistics.median(pre),
            "decode_ms_per_token": statistics.median(dec),
            "rss_after_load_mb": rss_load,
            "peak_rss_mb": resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss / 1024}


KEYS = ["load_s", "vision_ms_per_frame", "qformer_ms_per_frame",
        "prefill_ms", "decode_ms_per_token", "answer_ms",
        "rss_after_load_mb", "peak_rss_mb"]


def run_engine(a, precision):
    # as the README asks for bf16/q8 on CPUs (and instructblip-ask sets
    # itself): oneDNN's OpenMP threads must not spin between products
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "passive")
    return json.loads(subprocess.check_output(
        [a.ib_bench, "--model", a.model_dir, "--frames", str(a.frames),
         "--tokens", str(a.tokens), "--runs", str(a.runs), "--precision",
         precision], env=env))


def run_reference(a, dtype):
    """In a child process, so that its peak RSS is its own."""
    out = subprocess.check_output(
        [sys.executable, __file__, a.model_dir, "--reference-only", dtype,
         "--frames", str(a.frames), "--tokens", str(a.tokens),
         "--runs", str(a.runs)])
    return json.loads(out.decode().strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--make", metavar="KIND",
                    help="vicuna7b-2l or flant5xl-2l: write a random "
                    "checkpoint to model_dir first")
    ap.add_argument("--ib-bench", default="build/engine/bench/ib-bench")
    ap.add_argument("--frames", type=int, default=1)
    ap.add_argument("--tokens", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--precisions", default="fp32",
                    help="engine precisions, comma-separated "
                    "(fp32,fp16,bf16,q8,auto)")
    ap.add_argument("--ref-dtypes", default="bf16",
                    help="transformers dtypes, comma-separated (bf16,fp32)")
    ap.add_argument("--reference-only", metavar="DTYPE",
                    help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.make:
        make(a.make, a.model_dir)
        return
    if a.reference_only:
        print(json.dumps(reference(a.model_dir, a.frames, a.tokens, a.runs,
                                   a.reference_only)))
        return
    refs = {d: run_reference(a, d) for d in a.ref_dtypes.split(",") if d}
    ours = {p: run_engine(a, p) for p in a.precisions.split(",") if p}
    base = refs.get("bf16") or next(iter(refs.values()))
    cols = ["transformers " + d for d in refs] + ["engine " + p for p in ours]
    print("%-22s" % "" + "".join("%18s" % c for c in cols) +
          "".join("%14s" % ("ratio " + p) for p in ours))
    for k in KEYS:
        vals = [r.get(k, float("nan")) for r in refs.values()] + \
               [o.get(k, float("nan")) for o in ours.values()]
        ratios = [base.get(k, float("nan")) / max(o.get(k, float("nan")),
                                                  1e-9)
                  for o in ours.values()]
        print("%-22s" % k + "".join("%18.1f" % v for v in vals) +
              "".join("%14.2f" % r for r in ratios))
    print("ratios: transformers %s / engine; > 1: the engine is faster or "
          "smaller" % ("bf16" if "bf16" in refs else next(iter(refs))))
    print(json.dumps({"reference": refs, "engine": ours}))


if __name__ == "__main__":
    main()
