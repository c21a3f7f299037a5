#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the parity fixtures: small InstructBLIP checkpoints with the real
architecture, and what Hugging Face transformers computes on them.

Run by developers only (CI never runs Python); the outputs are committed.
Needs torch, transformers (newest), tokenizers, safetensors, Pillow:

    python3 tests/data/parity/make_fixtures.py [TOKENIZERS_DIR]

TOKENIZERS_DIR (default tests/data/tokenizer/real) holds the real tokenizer
files; the small tokenizers here keep their normalizers, pre-tokenizers,
decoders and post-processors and get small trained vocabularies.

For each model directory (vicuna-tiny, vicuna-tiny-video, t5-tiny) the script
writes the checkpoint as `save_pretrained` does (with processor and both
tokenizers) and reference.safetensors with, per case (image: 1 frame, video:
4 frames):
  pixel_values [F,3,S,S]      the processor's output for the images/*.png
  qformer_input_ids, input_ids  (int64) the processor's ids
  vision_embeds [F,T,Dv]      vision_model output after post_layernorm
  qformer_query [F,Q,Dq]      Q-Former last hidden state, query rows
  soft_tokens [F*Q,H]         language_projection output, frames in order
  logits_first [V]            LM logits of the first generated position
  <setting>_ids               generate() output ids of each setting below
and settings.json describing the prompts and generation settings.
"""

import json
import os
import sys

# Deterministic tokenizer training (rayon threads change Unigram results).
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from tokenizers import Tokenizer, models, trainers
from transformers import (
    BlipImageProcessor,
    InstructBlipConfig,
    InstructBlipForConditionalGeneration,
    InstructBlipProcessor,
    InstructBlipVideoConfig,
    InstructBlipVideoForConditionalGeneration,
    LlamaConfig,
    PreTrainedTokenizerFast,
    T5Config,
)

HERE = os.path.dirname(os.path.abspath(__file__))
TOK_DIR = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    HERE, "..", "tokenizer", "real")

IMAGE_SIZE = 28
NUM_QUERY = 6
PROMPT = "What colour is the ball, and where does it move?"
VIDEO_PROMPT = "Which way does the square move?"

SETTINGS = {
    "greedy": dict(do_sample=False, num_beams=1, max_new_tokens=12),
    "greedy_rep": dict(do_sample=False, num_beams=1, max_new_tokens=12,
                       repetition_penalty=1.5),
    "beam5": dict(do_sample=False, num_beams=5, max_new_tokens=10,
                  length_penalty=1.0),
    "beam5_lp": dict(do_sample=False, num_beams=5, max_new_tokens=10,
                     length_penalty=-1.0, repetition_penalty=1.5),
    "sample": dict(do_sample=True, num_beams=1, max_new_tokens=12,
                   temperature=0.8, top_k=20, top_p=0.9, seed=1234),
}

CORPUS = []


def corpus():
    if CORPUS:
        return CORPUS
    rng = np.random.default_rng(0)
    colours = ["red", "green", "blue", "yellow", "white", "black", "orange",
               "purple", "cyan", "magenta", "grey", "pink"]
    shapes = ["ball", "square", "circle", "triangle", "box", "star", "line"]
    verbs = ["moves", "bounces", "rolls", "slides", "jumps", "turns"]
    dirs = ["left", "right", "up", "down", "around", "away", "closer"]
    qs = ["what colour is the", "where is the", "which way does the",
          "how many", "is there a", "describe the", "what pattern shows the"]
    for _ in range(3000):
        CORPUS.append("%s %s %s %s %s %s." % (
            rng.choice(qs), rng.choice(colours), rng.choice(shapes),
            rng.choice(verbs), rng.choice(dirs), rng.choice(["fast", "slowly",
                                                             "twice", "now"])))
    CORPUS.extend([PROMPT, VIDEO_PROMPT, "Question: {} Short Answer:",
                   "A short image caption.", "1 2 3 4 5 6 7 8 9 10 0"])
    return CORPUS


def corpus_words():
    words = {}
    for line in corpus():
        for w in line.lower().replace(".", " . ").replace("?", " ? ").replace(
                ",", " , ").split():
            words[w] = words.get(w, 0) + 1
    return sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))


def unigram_vocab():
    """<pad> </s> <unk>, then '▁word' pieces scored by log frequency, then
    single characters (so any text in the corpus alphabet segments)."""
    import math
    words = corpus_words()
    total = sum(c for _, c in words)
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    seen = set(p for p, _ in vocab)
    for w, c in words[:200]:
        p = "▁" + w
        if p not in seen:
            vocab.append((p, math.log(c / total)))
            seen.add(p)
    chars = sorted(set("".join(w for w, _ in words)) |
                   set("abcdefghijklmnopqrstuvwxyz0123456789.,?!:;'-"))
    for ch in chars:
        for p in (ch, "▁" + ch):
            if p not in seen:
                vocab.append((p, -12.0))
                seen.add(p)
    return vocab


def wordpiece_vocab():
    words = corpus_words()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = sorted(set("".join(w for w, _ in words)) |
                   set("abcdefghijklmnopqrstuvwxyz0123456789.,?!:;'-{}()"))
    vocab += chars + ["##" + c for c in chars]
    vocab += [w for w, _ in words[:150] if w not in vocab]
    return {t: i for i, t in enumerate(vocab)}


def small_like(real_path, model, trainer_kind, vocab_size):
    """A tokenizer with the real one's pipeline and a small trained model."""
    real = json.load(open(real_path))
    if trainer_kind == "bpe":
        tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True,
                                   fuse_unk=True))
        specials = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b
                                               for b in range(256)]
        trainer = trainers.BpeTrainer(vocab_size=vocab_size,
                                      special_tokens=specials,
                                      show_progress=False)
    elif trainer_kind == "unigram":
        # Built, not trained: the Unigram and WordPiece trainers break ties
        # in hash order, which changes between runs.
        tok = Tokenizer(models.Unigram(unigram_vocab(), unk_id=2))
        trainer = None
    else:
        tok = Tokenizer(models.WordPiece(wordpiece_vocab(), unk_token="[UNK]",
                                         max_input_chars_per_word=100))
        trainer = None
    tok.normalizer = Tokenizer.from_str(json.dumps(real)).normalizer
    tok.pre_tokenizer = Tokenizer.from_str(json.dumps(real)).pre_tokenizer
    if trainer is not None:
        tok.train_from_iterator(corpus(), trainer)
    mine = json.loads(tok.to_str())
    for key in ("normalizer", "pre_tokenizer", "decoder", "post_processor"):
        mine[key] = real[key]
    # Byte tokens are ordinary vocabulary in LLaMA, not added tokens.
    mine["added_tokens"] = [t for t in mine["added_tokens"]
                            if not t["content"].startswith("<0x")]
    return Tokenizer.from_str(json.dumps(mine))


def fix_template(tok_json, single, pair, specials):
    d = json.loads(tok_json)
    d["post_processor"] = {
        "type": "TemplateProcessing",
        "single": single, "pair": pair,
        "special_tokens": {s: {"id": s, "ids": [i], "tokens": [s]}
                           for s, i in specials.items()},
    }
    return json.dumps(d)


def llama_tokenizer():
    tok = small_like(os.path.join(TOK_DIR, "llama", "tokenizer.json"),
                     "bpe", "bpe", 420)
    # InstructBLIP-Vicuna's tokenizer uses </s> as bos (spec §4).
    eos = tok.token_to_id("</s>")
    s = fix_template(tok.to_str(),
                     [{"SpecialToken": {"id": "</s>", "type_id": 0}},
                      {"Sequence": {"id": "A", "type_id": 0}}],
                     [{"SpecialToken": {"id": "</s>", "type_id": 0}},
                      {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "</s>", "type_id": 1}},
                      {"Sequence": {"id": "B", "type_id": 1}}],
                     {"</s>": eos})
    fast = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(s),
                                   bos_token="</s>", eos_token="</s>",
                                   unk_token="</s>", pad_token="[PAD]")
    fast.add_special_tokens({"pad_token": "[PAD]"})
    fast.add_tokens(["<image>", "<video>"], special_tokens=True)
    return fast


def t5_tokenizer():
    tok = small_like(os.path.join(TOK_DIR, "flan-t5", "tokenizer.json"),
                     "unigram", "unigram", 300)
    eos = tok.token_to_id("</s>")
    s = fix_template(tok.to_str(),
                     [{"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                     [{"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "</s>", "type_id": 0}},
                      {"Sequence": {"id": "B", "type_id": 0}},
                      {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                     {"</s>": eos})
    fast = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(s),
                                   eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>")
    fast.add_tokens(["<extra_id_%d>" % i for i in range(3)],
                    special_tokens=True)
    fast.add_tokens(["<image>", "<video>"], special_tokens=True)
    return fast


def bert_tokenizer():
    tok = small_like(os.path.join(TOK_DIR, "bert-base-uncased",
                                  "tokenizer.json"), "wordpiece", "wordpiece",
                     260)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    s = fix_template(tok.to_str(),
                     [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                      {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                     [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                      {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                      {"Sequence": {"id": "B", "type_id": 1}},
                      {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                     {"[CLS]": cls, "[SEP]": sep})
    fast = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(s),
                                   unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]",
                                   mask_token="[MASK]",
                                   truncation_side="left")
    fast.add_special_tokens({"bos_token": "[DEC]"})
    return fast


def vision_qformer(qformer_vocab):
    vision = dict(hidden_size=40, num_hidden_layers=3, num_attention_heads=4,
                  intermediate_size=70, image_size=IMAGE_SIZE, patch_size=7,
                  layer_norm_eps=1e-6, qkv_bias=True)
    qformer = dict(vocab_size=qformer_vocab, hidden_size=32,
                   num_hidden_layers=4, num_attention_heads=4,
                   intermediate_size=48, max_position_embeddings=64,
                   cross_attention_frequency=2, layer_norm_eps=1e-12)
    return vision, qformer


def randomize(model, seed):
    """Weights of realistic relative scale but far from HF's tiny init, so
    that activations and logits are decisive rather than near-ties:
    linear weights N(0, 1/fan_in)·1.5, norms 1 + N(0, 0.1), biases and
    embeddings N(0, 0.1)/N(0, 1)."""
    gen = torch.Generator().manual_seed(seed)
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


def make_images():
    """Four 40x32 frames of a red ball moving right over a gradient, plus
    noise: the same frames feed the image (frame 0) and video cases."""
    out = []
    rng = np.random.default_rng(7)
    h, w = 32, 40
    yy, xx = np.mgrid[0:h, 0:w]
    for f in range(4):
        img = np.zeros((h, w, 3), np.float32)
        img[..., 0] = 40 + 4 * xx
        img[..., 1] = 60 + 5 * yy
        img[..., 2] = 200 - 3 * xx
        cx, cy = 8 + 7 * f, 16
        m = (xx - cx) ** 2 + (yy - cy) ** 2 <= 36
        img[m] = [230, 20, 30]
        img += rng.normal(0, 6, img.shape)
        out.append(Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)))
    os.makedirs(os.path.join(HERE, "images"), exist_ok=True)
    for i, im in enumerate(out):
        im.save(os.path.join(HERE, "images", "frame%d.png" % i))
        np.asarray(im).tofile(os.path.join(HERE, "images",
                                           "frame%d.rgb" % i))
    return out


def generate_all(model, inputs, refs, prefix, is_t5):
    for name, s in SETTINGS.items():
        s = dict(s)
        seed = s.pop("seed", None)
        if seed is not None:
            torch.manual_seed(seed)
        out = model.generate(**inputs, **s, output_scores=True,
                             return_dict_in_generate=True)
        if name == "greedy":
            gaps = [float(torch.topk(sc[0], 2).values[0] -
                          torch.topk(sc[0], 2).values[1])
                    for sc in out.scores]
            print("  greedy: smallest top-2 gap over %d steps %.4f" %
                  (len(gaps), min(gaps)))
        ids = out.sequences[0]
        if not is_t5:
            ids = ids[inputs["input_ids"].shape[1]:]   # prompt echoed back
        refs[prefix + name + "_ids"] = ids.to(torch.int64).contiguous()


@torch.no_grad()
def record(model, inputs, refs, prefix, is_t5, n_frames):
    pv = inputs["pixel_values"]
    flat = pv.reshape(-1, *pv.shape[-3:])
    vis = model.vision_model(pixel_values=flat).last_hidden_state
    qids = inputs["qformer_input_ids"]
    qmask = inputs["qformer_attention_mask"]
    if n_frames > 1:
        qids = qids.repeat_interleave(n_frames, dim=0)
        qmask = qmask.repeat_interleave(n_frames, dim=0)
    query = model.query_tokens.expand(flat.shape[0], -1, -1)
    qout = model.qformer(input_ids=qids, attention_mask=qmask,
                         query_embeds=query, encoder_hidden_states=vis,
                         encoder_attention_mask=torch.ones(
                             vis.shape[:-1], dtype=torch.long)
                         ).last_hidden_state[:, :NUM_QUERY]
    soft = model.language_projection(qout).reshape(-1, qout.shape[0] //
                                                   n_frames * 0 + model.
                                                   language_projection.
                                                   out_features)
    refs[prefix + "pixel_values"] = pv.reshape(flat.shape).contiguous()
    refs[prefix + "qformer_input_ids"] = inputs["qformer_input_ids"][0]
    refs[prefix + "input_ids"] = inputs["input_ids"][0]
    refs[prefix + "vision_embeds"] = vis.contiguous()
    refs[prefix + "qformer_query"] = qout.contiguous()
    refs[prefix + "soft_tokens"] = soft.contiguous()
    if is_t5:
        dec = torch.tensor([[model.config.text_config.decoder_start_token_id]])
        logits = model(**inputs, decoder_input_ids=dec).logits[0, -1]
    else:
        logits = model(**inputs).logits[0, -1]
    refs[prefix + "logits_first"] = logits.contiguous()
    top = torch.topk(logits, 2).values
    print("  %s first-step top-2 logit gap %.4f" % (prefix or "image",
                                                    float(top[0] - top[1])))
    generate_all(model, inputs, refs, prefix, is_t5)
    rank_candidates(model, inputs, refs, is_t5)


CANDIDATES = ["red", "blue ball", "left", "it moves right", "green"]


@torch.no_grad()
def rank_candidates(model, inputs, refs, is_t5):
    """Vocabulary ranking as LAVIS _predict_class scores it: the summed
    log-likelihood of each candidate's answer tokens after the prompt
    (LLaMA: the candidate tokens without the bos; T5: with the </s>)."""
    tok = model._fixture_tokenizer
    scores = []
    for cand in CANDIDATES:
        if is_t5:
            ans = tok(cand)["input_ids"]
            dec = [model.config.text_config.decoder_start_token_id] + ans
            out = model(**inputs,
                        decoder_input_ids=torch.tensor([dec[:-1]]))
            lp = torch.log_softmax(out.logits[0].double(), -1)
            scores.append(sum(float(lp[i, t]) for i, t in enumerate(ans)))
        else:
            ans = tok(cand, add_special_tokens=False)["input_ids"]
            ids = torch.cat([inputs["input_ids"], torch.tensor([ans])], 1)
            kw = dict(inputs)
            kw["input_ids"] = ids
            kw["attention_mask"] = torch.ones_like(ids)
            out = model(**kw)
            n = inputs["input_ids"].shape[1]
            lp = torch.log_softmax(out.logits[0].double(), -1)
            scores.append(sum(float(lp[n - 1 + i, t])
                              for i, t in enumerate(ans)))
    refs["rank_scores"] = torch.tensor(scores, dtype=torch.float64)


def build(name, text_kind, video=False, seed=0):
    out_dir = os.path.join(HERE, name)
    os.makedirs(out_dir, exist_ok=True)
    qtok = bert_tokenizer()
    tok = t5_tokenizer() if text_kind == "t5" else llama_tokenizer()
    vocab = len(tok)
    vision, qformer = vision_qformer(len(qtok))
    if text_kind == "t5":
        text = T5Config(vocab_size=vocab, d_model=48, d_kv=12, num_heads=4,
                        d_ff=80, num_layers=2, num_decoder_layers=2,
                        feed_forward_proj="gated-gelu", dense_act_fn="gelu",
                        relative_attention_num_buckets=32,
                        relative_attention_max_distance=128,
                        decoder_start_token_id=0, pad_token_id=0,
                        eos_token_id=1, tie_word_embeddings=False)
    else:
        text = LlamaConfig(vocab_size=vocab, hidden_size=48,
                           intermediate_size=80, num_hidden_layers=3,
                           num_attention_heads=4, num_key_value_heads=4,
                           max_position_embeddings=256, rms_norm_eps=1e-6,
                           rope_theta=10000.0, bos_token_id=1,
                           eos_token_id=2, pad_token_id=tok.pad_token_id,
                           tie_word_embeddings=False)
    image_token = tok.convert_tokens_to_ids("<image>")
    video_token = tok.convert_tokens_to_ids("<video>")
    ip = BlipImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
                            resample=3, do_convert_rgb=True,
                            image_mean=[0.48145466, 0.4578275, 0.40821073],
                            image_std=[0.26862954, 0.26130258, 0.27577711])
    if video:
        cfg = InstructBlipVideoConfig(vision_config=vision,
                                      qformer_config=qformer,
                                      text_config=text.to_dict(),
                                      num_query_tokens=NUM_QUERY,
                                      video_token_index=video_token)
        model = InstructBlipVideoForConditionalGeneration(cfg)
    else:
        cfg = InstructBlipConfig(vision_config=vision, qformer_config=qformer,
                                 text_config=text.to_dict(),
                                 num_query_tokens=NUM_QUERY,
                                 image_token_index=image_token)
        model = InstructBlipForConditionalGeneration(cfg)
    randomize(model, seed)
    model.eval()
    model._fixture_tokenizer = tok
    model.generation_config.eos_token_id = text.eos_token_id
    model.generation_config.pad_token_id = text.pad_token_id
    model.save_pretrained(out_dir)
    frames = make_images()
    refs = {}
    if video:
        # The v5 video processor resizes tensors (torchvision), not with
        # Pillow; the checkpoints' own image processor is the reference for
        # pixels, so frames go through it and the ids are built the way
        # InstructBlipVideoProcessor builds them: <video> x (Q * 4), then the
        # tokenizer's own specials and the prompt.
        ip.save_pretrained(out_dir)
        tok.save_pretrained(out_dir)
        qtok.save_pretrained(os.path.join(out_dir, "qformer_tokenizer"))
        pv = ip(images=frames, return_tensors="pt")["pixel_values"]
        q = qtok(VIDEO_PROMPT, return_tensors="pt")
        t = tok(VIDEO_PROMPT, return_tensors="pt")
        ids = torch.cat([torch.full((1, NUM_QUERY * 4), video_token),
                         t["input_ids"]], dim=1)
        inputs = {"pixel_values": pv.unsqueeze(0),
                  "qformer_input_ids": q["input_ids"],
                  "qformer_attention_mask": q["attention_mask"],
                  "input_ids": ids, "attention_mask": torch.ones_like(ids)}
        print(name)
        record(model, inputs, refs, "", text_kind == "t5", 4)
    else:
        proc = InstructBlipProcessor(image_processor=ip, tokenizer=tok,
                                     qformer_tokenizer=qtok,
                                     num_query_tokens=NUM_QUERY)
        proc.save_pretrained(out_dir)
        ip.save_pretrained(out_dir)   # preprocessor_config.json, as on the Hub
        inputs = proc(images=frames[0], text=PROMPT, return_tensors="pt")
        print(name)
        record(model, inputs, refs, "", text_kind == "t5", 1)
    save_file(refs, os.path.join(out_dir, "reference.safetensors"))
    json.dump({"prompt": VIDEO_PROMPT if video else PROMPT,
               "frames": 4 if video else 1,
               "images": ["images/frame%d.png" % i
                          for i in range(4 if video else 1)],
               "settings": SETTINGS,
               "candidates": CANDIDATES,
               "transformers": __import__("transformers").__version__,
               "torch": torch.__version__},
              open(os.path.join(out_dir, "settings.json"), "w"), indent=1)


def main():
    torch.manual_seed(0)
    build("vicuna-tiny", "llama", seed=1)
    build("t5-tiny", "t5", seed=2)
    build("vicuna-tiny-video", "llama", video=True, seed=4)


if __name__ == "__main__":
    main()
