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
torch.set_num_threads(os.cpu_count()), in fp32. Ratios > 1 mean the engine
is faster (time) or smaller (memory).
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


def reference(model_dir, frames, tokens, runs):
    import torch
    from transformers import (AutoTokenizer,
                              InstructBlipForConditionalGeneration)
    torch.set_num_threads(os.cpu_count())
    t0 = time.perf_counter()
    model = InstructBlipForConditionalGeneration.from_pretrained(
        model_dir, torch_dtype=torch.float32).eval()
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
    vis, qf, pre, dec = [], [], [], []
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
            if model.config.text_config.model_type == "t5":
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
            # generate() repeats the prefill: subtract it
            dec.append(((t4 - t3) - (t3 - t2)) * 1e3 / max(tokens - 1, 1))
    return {"engine": "transformers %s" % __import__("transformers").__version__,
            "load_s": load_s,
            "vision_ms_per_frame": statistics.median(vis),
            "qformer_ms_per_frame": statistics.median(qf),
            "prefill_ms": statistics.median(pre),
            "decode_ms_per_token": statistics.median(dec),
            "rss_after_load_mb": rss_load,
            "peak_rss_mb": resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss / 1024}


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
    ap.add_argument("--precision", default="fp32")
    a = ap.parse_args()
    if a.make:
        make(a.make, a.model_dir)
        return
    ours = json.loads(subprocess.check_output(
        [a.ib_bench, "--model", a.model_dir, "--frames", str(a.frames),
         "--tokens", str(a.tokens), "--runs", str(a.runs), "--precision",
         a.precision]))
    ref = reference(a.model_dir, a.frames, a.tokens, a.runs)
    keys = ["load_s", "vision_ms_per_frame", "qformer_ms_per_frame",
            "prefill_ms", "decode_ms_per_token", "rss_after_load_mb",
            "peak_rss_mb"]
    print("%-22s %14s %14s %8s" % ("", "transformers", "engine",
                                   "ratio"))
    for k in keys:
        print("%-22s %14.1f %14.1f %8.2f" % (k, ref[k], ours[k],
                                             ref[k] / max(ours[k], 1e-9)))
    print(json.dumps({"reference": ref, "engine": ours}))


if __name__ == "__main__":
    main()
