#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Trains the project's default model: a small InstructBLIP with the real
architecture (InstructBlipForConditionalGeneration, EVA-style ViT, Q-Former,
LLaMA) on synthetic video question answering (training/synthvid.py), and
saves it with save_pretrained, its processor and both tokenizers.

    python3 training/train_default_model.py [--out models/instructblip-synthvid-tiny]
        [--steps 5000] [--eval-dir build/default-model-eval] [--cache-dir DIR]

Needs gst-launch-1.0 (videotestsrc), torch, transformers 5.x, tokenizers,
Pillow, numpy. Everything is seeded; on 2 CPU cores it takes about 80
minutes (4 of them making the videotestsrc clips).

Video: the checkpoint is an image checkpoint. A question about F frames is
answered the way InstructBlipVideoForConditionalGeneration does it (and the
engine does for image checkpoints): every frame through the ViT and the
Q-Former with the same instruction, soft tokens concatenated frame-major, and
F·Q <image> placeholders before the tokenizer's own ids. Training uses F = 4
(the element's default num-frames) and, for still content, F = 1.

Besides the answer's cross-entropy, two training-only terms: LookLoss (the
Q-Former's last cross-attention on the objects a question names) and
ShapeHead (a per-patch shape classifier on the ViT output). Neither is saved;
the checkpoint is a plain InstructBLIP.
"""

import argparse
import json
import math
import os
import sys
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"

import numpy as np
import torch
from tokenizers import Tokenizer, models, trainers, normalizers, decoders
from tokenizers import pre_tokenizers
from transformers import (BlipImageProcessor, InstructBlipConfig,
                          InstructBlipForConditionalGeneration,
                          InstructBlipProcessor, LlamaConfig,
                          PreTrainedTokenizerFast)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synthvid as sv  # noqa: E402

MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]
NUM_QUERY = 8
MAX_NEW_TOKENS = 10

TRAIN_SEED = 1
EVAL_SEED = 2

# ---- tokenizers -------------------------------------------------------------


def template(single, specials):
    return {"type": "TemplateProcessing", "single": single,
            "pair": single + [{"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {s: {"id": s, "ids": [i], "tokens": [s]}
                               for s, i in specials.items()}}


def llama_tokenizer(corpus):
    """Byte-fallback BPE of the LLaMA kind (LLaMA's normalizer and decoder),
    <unk> 0, <s> 1, </s> 2, then <0x00>..<0xFF>; its template prepends </s>
    like InstructBLIP-Vicuna's; [PAD], <image>, <video> added."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True,
                               fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"),
                                           normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "),
                                     decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    specials = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=specials,
                                  show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    d = json.loads(tok.to_str())
    d["added_tokens"] = [t for t in d["added_tokens"]
                         if not t["content"].startswith("<0x")]
    d["post_processor"] = template(
        [{"SpecialToken": {"id": "</s>", "type_id": 0}},
         {"Sequence": {"id": "A", "type_id": 0}}], {"</s>": 2})
    fast = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(d)), bos_token="</s>",
        eos_token="</s>", unk_token="</s>", pad_token="[PAD]")
    fast.add_special_tokens({"pad_token": "[PAD]"})
    fast.add_tokens(["<image>", "<video>"], special_tokens=True)
    return fast


def bert_tokenizer(corpus):
    """WordPiece of the BERT-uncased kind over the corpus words (built, not
    trained: deterministic)."""
    words = {}
    for line in corpus:
        for w in pre_tokenizers.BertPreTokenizer().pre_tokenize_str(
                line.lower()):
            words[w[0]] = words.get(w[0], 0) + 1
    chars = sorted(set("".join(words)) |
                   set("abcdefghijklmnopqrstuvwxyz0123456789.,?!:;'-{}()"))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += chars + ["##" + c for c in chars]
    vocab += sorted(w for w in words if w not in vocab)
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)},
                                     unk_token="[UNK]",
                                     max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None,
        lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    d = json.loads(tok.to_str())
    d["post_processor"] = template(
        [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
         {"Sequence": {"id": "A", "type_id": 0}},
         {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
        {"[CLS]": 2, "[SEP]": 3})
    fast = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(d)), unk_token="[UNK]",
        pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", truncation_side="left")
    fast.add_special_tokens({"bos_token": "[DEC]"})
    return fast


# ---- model ------------------------------------------------------------------


def make_model(tok, qtok, patch=8, cross_every=1):
    vision = dict(hidden_size=128, num_hidden_layers=4, num_attention_heads=4,
                  intermediate_size=512, image_size=sv.IMAGE_SIZE,
                  patch_size=patch, layer_norm_eps=1e-6, qkv_bias=True,
                  attention_dropout=0.0)
    qformer = dict(vocab_size=len(qtok), hidden_size=128, num_hidden_layers=4,
                   num_attention_heads=4, intermediate_size=512,
                   max_position_embeddings=64,
                   cross_attention_frequency=cross_every,
                   layer_norm_eps=1e-12, hidden_dropout_prob=0.0,
                   attention_probs_dropout_prob=0.0)
    text = LlamaConfig(vocab_size=len(tok), hidden_size=192,
                       intermediate_size=512, num_hidden_layers=4,
                       num_attention_heads=4, num_key_value_heads=4,
                       max_position_embeddings=512, rms_norm_eps=1e-6,
                       rope_theta=10000.0, bos_token_id=1, eos_token_id=2,
                       pad_token_id=tok.pad_token_id,
                       tie_word_embeddings=False)
    cfg = InstructBlipConfig(vision_config=vision, qformer_config=qformer,
                             text_config=text.to_dict(),
                             num_query_tokens=NUM_QUERY,
                             image_token_index=tok.convert_tokens_to_ids(
                                 "<image>"))
    model = InstructBlipForConditionalGeneration(cfg)
    init_weights(model)
    model.generation_config.eos_token_id = 2
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.bos_token_id = 2
    model.generation_config.max_new_tokens = MAX_NEW_TOKENS
    model.generation_config.do_sample = False
    model.generation_config.num_beams = 1
    return model


def init_weights(model):
    """transformers' initialisation is meant for loading pretrained weights:
    the vision tower gets std 1e-10 (its initializer_range default), the
    query tokens zeros, everything else N(0, 0.02), which at these small
    widths leaves the Q-Former's cross-attention uniform for thousands of
    steps (it then only sees the mean of the image). Here every linear and
    convolution weight is N(0, 1/fan_in) (biases 0, norms 1), embeddings and
    query tokens N(0, 0.02) as in LAVIS. The ViT's position embeddings start
    as a 2-D sine-cosine table (MAE's), of the patch embeddings' scale: at
    N(0, 0.02) they are 3 % of a patch's embedding, and a plain patch looks
    the same wherever it is, so where a shape is stayed invisible (position
    and direction answers at chance after 6400 steps)."""
    gen = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name.lower():
                continue
            if name.endswith("bias"):
                p.zero_()
            elif name.endswith("embeddings.position_embedding"):
                p.copy_(sincos_2d(p.shape[-1], p.shape[1] - 1))
            elif p.dim() >= 2 and ("embed" not in name or
                                   "patch_embedding" in name) and \
                    "query_tokens" not in name:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.02)


def sincos_2d(dim, n_patches):
    """[1, 1 + n_patches, dim]: zeros for the class token, then for patch
    (y, x) of the g×g grid sin/cos of y and of x at dim/4 frequencies, from
    1 down to pi/(2g) radians per patch (MAE's span down to 1e-4 would leave
    most channels flat over a grid this small)."""
    g = int(round(n_patches ** 0.5))
    k = torch.arange(dim // 4, dtype=torch.float64) / max(1, dim // 4 - 1)
    omega = (math.pi / (2 * g)) ** k
    y, x = torch.meshgrid(torch.arange(g, dtype=torch.float64),
                          torch.arange(g, dtype=torch.float64), indexing="ij")
    parts = []
    for c in (y.flatten(), x.flatten()):
        a = c[:, None] * omega[None]
        parts += [torch.sin(a), torch.cos(a)]
    table = torch.cat(parts, dim=1).float()
    return torch.cat([torch.zeros(1, dim), table])[None]


def to_pixels(frames):
    """uint8 [..., S, S, 3] (already resized) -> normalised float [..., 3, S, S]
    (the image processor's rescale and normalise)."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).float() * (1 / 255.0)
    x = (x - torch.tensor(MEAN)) / torch.tensor(STD)
    return x.movedim(-1, -3).contiguous()


def soft_tokens(model, pixels, qids, qmask):
    """pixels [B, F, 3, S, S] -> soft tokens [B, F·Q, H], frame-major, as
    InstructBlipVideoForConditionalGeneration computes them."""
    b, f = pixels.shape[:2]
    feats = model.get_image_features(
        pixel_values=pixels.reshape(b * f, *pixels.shape[2:]),
        qformer_input_ids=qids.repeat_interleave(f, dim=0),
        qformer_attention_mask=qmask.repeat_interleave(f, dim=0)).pooler_output
    return feats.reshape(b, f * feats.shape[1], feats.shape[2])


def soft_tokens_shared(model, pixels, clip_idx, qids, qmask):
    """soft_tokens() for several questions about the same clips, with each
    clip through the ViT once: pixels [C, F, 3, S, S], clip_idx [N] (the
    clip of each question), qids/qmask [N, T] -> [N, F·Q, H]. The same
    steps as get_image_features (checked against it at start-up)."""
    c, f = pixels.shape[:2]
    img = model.vision_model(pixel_values=pixels.flatten(0, 1)).last_hidden_state
    img = img.view(c, f, *img.shape[1:])[clip_idx].flatten(0, 1)  # [N·F, T, D]
    n, q = len(clip_idx), model.query_tokens.shape[1]
    mask = torch.cat([torch.ones(n * f, q, dtype=qmask.dtype),
                      qmask.repeat_interleave(f, dim=0)], dim=1)
    out = model.qformer(input_ids=qids.repeat_interleave(f, dim=0),
                        attention_mask=mask,
                        query_embeds=model.query_tokens.expand(n * f, -1, -1),
                        encoder_hidden_states=img,
                        encoder_attention_mask=torch.ones(
                            img.shape[:2], dtype=torch.long))
    feats = model.language_projection(out.last_hidden_state[:, :q])
    return feats.reshape(n, f * q, feats.shape[-1])


def look_masks(frames, colours, patch):
    """[F, P] float: 1 for the patches of each frame of which at least 20 %
    of the pixels are of one of @colours (the objects a question is about;
    all scene colours are distinct), all 0 for a frame where none is visible
    or when @colours is empty."""
    f, s = frames.shape[:2]
    g = s // patch
    if not colours:
        return np.zeros((f, g * g), np.float32)
    px = frames.astype(np.int32)
    hit = np.zeros(frames.shape[:3], bool)
    for c in colours:
        hit |= np.abs(px - np.array(sv.COLOURS[c])).sum(-1) < 60
    frac = hit.reshape(f, g, patch, g, patch).mean((2, 4)).reshape(f, g * g)
    return (frac >= 0.2).astype(np.float32)


class LookLoss:
    """Training-only grounding: the cross-entropy of the last Q-Former
    cross-attention layer's attention (every query and head) against the
    patches of the objects the question is about, -log(attention mass on
    them). A forward hook recomputes the attention probabilities from the
    layer's own query and key projections (whatever attention kernel runs)."""

    def __init__(self, model):
        self.probs = None
        att = model.qformer.encoder.layer[-1].crossattention.attention
        att.register_forward_hook(self.hook, with_kwargs=True)

    def hook(self, mod, args, kwargs, out):
        enc = kwargs.get("encoder_hidden_states")
        if not mod.training or enc is None:
            return
        hs = args[0] if args else kwargs["hidden_states"]
        d = mod.attention_head_size
        q = mod.query(hs).unflatten(-1, (-1, d)).transpose(1, 2)
        k = mod.key(enc).unflatten(-1, (-1, d)).transpose(1, 2)
        self.probs = torch.softmax(q @ k.transpose(-1, -2) * mod.scaling, -1)

    def __call__(self, masks):
        """masks [N·F, P] (the rows of the Q-Former batch) -> scalar."""
        p = self.probs[:, :, :NUM_QUERY, 1:]          # [N·F, H, Q, P]
        on = (p * masks[:, None, None, :]).sum(-1).clamp_min(1e-6)
        rows = (masks.sum(-1) > 0).float()            # [N·F]
        per_row = -on.log().mean((1, 2))
        return (per_row * rows).sum() / rows.sum().clamp_min(1.0)


def shape_targets(frames, shapes, patch):
    """[F, P] int64: for each patch, 1 + the index in sv.SHAPES of the shape
    covering it (by colour, as look_masks finds objects) or 0 for the
    background; all -100 (ignored) when @shapes is empty (a videotestsrc
    clip)."""
    f, s = frames.shape[:2]
    g = s // patch
    if not shapes:
        return np.full((f, g * g), -100, np.int64)
    t = np.zeros((f, g * g), np.int64)
    for colour, kind in shapes:
        t[look_masks(frames, (colour,), patch) > 0] = 1 + sv.SHAPES.index(kind)
    return t


class ShapeHead(torch.nn.Module):
    """Training-only dense target on the image encoder: a linear layer
    classifies every patch of the ViT's last hidden state as background or
    one of the shapes. The answer's loss alone teaches the ViT shapes slowly
    (a one-shape task: 44 % right after 700 steps, 70 % with this term). The
    head is not saved: the released model is plain InstructBLIP."""

    def __init__(self, model):
        super().__init__()
        self.proj = torch.nn.Linear(model.config.vision_config.hidden_size,
                                    1 + len(sv.SHAPES))
        self.hidden = None
        model.vision_model.register_forward_hook(self.hook)

    def hook(self, mod, args, out):
        if mod.training:
            self.hidden = out.last_hidden_state

    def forward(self, targets):
        """targets [C·F, P] (the rows of the ViT batch) -> scalar."""
        if not (targets >= 0).any():
            return torch.zeros(())
        logits = self.proj(self.hidden[:, 1:])       # [C·F, P, 1 + shapes]
        return torch.nn.functional.cross_entropy(
            logits.flatten(0, 1), targets.flatten(), ignore_index=-100)


def embed(model, input_ids, soft):
    emb = model.get_input_embeddings()(input_ids)
    mask = (input_ids == model.config.image_token_index).unsqueeze(-1)
    return emb.masked_scatter(mask.expand_as(emb), soft.to(emb.dtype))


class Batcher:
    def __init__(self, tok, qtok, patch=8):
        self.tok, self.qtok, self.patch = tok, qtok, patch
        self.image_id = tok.convert_tokens_to_ids("<image>")
        self.cache = {}

    def ids(self, text):
        if text not in self.cache:
            self.cache[text] = (self.tok(text)["input_ids"],
                                self.qtok(text)["input_ids"])
        return self.cache[text]

    def answer_ids(self, a):
        return self.tok(a, add_special_tokens=False)["input_ids"] + [2]

    def prompt(self, q, n_frames):
        lids, qids = self.ids(q)
        return [self.image_id] * (n_frames * NUM_QUERY) + lids, qids

    def batch(self, clips):
        """clips: (frames [F,S,S,3], [(question, answer, kind, look)],
        shapes) as sv.clip gives them; one row per question, right padding.
        Returns the model's tensors, the grounding masks [N·F, P] and the
        shape targets [C·F, P]."""
        rows, labels, qrows, cidx, looks, shapes = [], [], [], [], [], []
        for c, (frames, qs, scene) in enumerate(clips):
            shapes.append(shape_targets(frames, scene, self.patch))
            for q, a, _, look in qs:
                cidx.append(c)
                self.row(frames, q, a, rows, labels, qrows)
                looks.append(look_masks(frames, look, self.patch))
        return self.tensors(clips, cidx, rows, labels, qrows) + (
            torch.from_numpy(np.concatenate(looks)),
            torch.from_numpy(np.concatenate(shapes)))

    def row(self, frames, q, a, rows, labels, qrows):
        p, qids = self.prompt(q, len(frames))
        ans = self.answer_ids(a)
        rows.append(p + ans)
        labels.append([-100] * len(p) + ans)
        qrows.append(qids)

    def tensors(self, clips, cidx, rows, labels, qrows):
        L, T = max(map(len, rows)), max(map(len, qrows))
        pad = self.tok.pad_token_id
        ids = torch.tensor([r + [pad] * (L - len(r)) for r in rows])
        att = torch.tensor([[1] * len(r) + [0] * (L - len(r)) for r in rows])
        lab = torch.tensor([r + [-100] * (L - len(r)) for r in labels])
        qids = torch.tensor([r + [0] * (T - len(r)) for r in qrows])
        qm = torch.tensor([[1] * len(r) + [0] * (T - len(r)) for r in qrows])
        px = to_pixels(np.stack([c[0] for c in clips]))
        return px, torch.tensor(cidx), qids, qm, ids, att, lab


def loss_fn(model, px, cidx, qids, qm, ids, att, lab, looks=None, shapes=None,
            look=None, shape_head=None):
    """The answer's cross-entropy, with @look (a LookLoss) its grounding
    term on @looks [N·F, P], with @shape_head its dense shape term on
    @shapes [C·F, P]: (ce, grounding or 0, shape or 0)."""
    soft = soft_tokens_shared(model, px, cidx, qids, qm)
    logits = model.language_model(inputs_embeds=embed(model, ids, soft),
                                  attention_mask=att).logits
    ce = torch.nn.functional.cross_entropy(
        logits[:, :-1].flatten(0, 1).float(), lab[:, 1:].flatten(),
        ignore_index=-100)
    zero = torch.zeros(())
    return ce, (look(looks) if look is not None else zero), (
        shape_head(shapes) if shape_head is not None else zero)


@torch.no_grad()
def greedy(model, batcher, frames, q, max_new=MAX_NEW_TOKENS):
    """Batch-1 greedy decoding with a KV cache: the generated ids (eos
    included if made), as the engine returns them."""
    p, qids = batcher.prompt(q, len(frames))
    ids = torch.tensor([p])
    soft = soft_tokens(model, to_pixels(frames)[None], torch.tensor([qids]),
                       torch.ones(1, len(qids), dtype=torch.long))
    lm = model.language_model
    out = lm(inputs_embeds=embed(model, ids, soft), use_cache=True)
    past, gen = out.past_key_values, []
    for _ in range(max_new):
        nxt = int(out.logits[0, -1].float().argmax())
        gen.append(nxt)
        if nxt == 2:
            break
        out = lm(input_ids=torch.tensor([[nxt]]), past_key_values=past,
                 use_cache=True)
        past = out.past_key_values
    return gen


def decode(tok, ids):
    return tok.decode(ids, skip_special_tokens=True).strip()


def evaluate(model, batcher, items):
    """Greedy answers to (frames, question, answer, kind) items: the number
    exactly right, [(ids, text)], and {kind: (right, total)}."""
    model.eval()
    right, out, kinds = 0, [], {}
    for frames, q, a, kind in items:
        g = greedy(model, batcher, frames, q)
        text = decode(batcher.tok, g)
        right += text == a
        out.append((g, text))
        r, n = kinds.get(kind, (0, 0))
        kinds[kind] = (r + (text == a), n + 1)
    model.train()
    return right, out, kinds


def kinds_line(kinds):
    return ", ".join("%s %d/%d" % (k, r, n) for k, (r, n) in sorted(kinds.items()))


def held_out(n, seed, bank, n_frames=sv.FRAMES):
    rng = np.random.default_rng(seed)
    return [sv.sample(rng, bank, n_frames) for _ in range(n)]


def write_eval_set(path, items, results):
    """frames.bin: uint8 [N, F, S, S, 3] (resized RGB), questions.json."""
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "frames.bin"), "wb") as f:
        for frames, _, _, _ in items:
            f.write(np.ascontiguousarray(frames, np.uint8).tobytes())
    qs = [dict(question=q, answer=a, kind=k, frames=int(len(fr)),
               torch_ids=[int(i) for i in g], torch_text=t)
          for (fr, q, a, k), (g, t) in zip(items, results)]
    json.dump(dict(image_size=sv.IMAGE_SIZE, max_new_tokens=MAX_NEW_TOKENS,
                   questions=qs), open(os.path.join(path, "questions.json"),
                                       "w"), indent=0)


def save(model, tok, qtok, out):
    os.makedirs(out, exist_ok=True)
    half = InstructBlipForConditionalGeneration(model.config)
    half.load_state_dict(model.state_dict())
    half.generation_config = model.generation_config
    half.half().save_pretrained(out)
    ip = BlipImageProcessor(size={"height": sv.IMAGE_SIZE,
                                  "width": sv.IMAGE_SIZE},
                            resample=3, do_convert_rgb=True,
                            image_mean=MEAN, image_std=STD)
    proc = InstructBlipProcessor(image_processor=ip, tokenizer=tok,
                                 qformer_tokenizer=qtok,
                                 num_query_tokens=NUM_QUERY)
    proc.save_pretrained(out)
    ip.save_pretrained(out)


def load_f32(out):
    return InstructBlipForConditionalGeneration.from_pretrained(
        out, dtype=torch.float32).eval()


def bank(cache_dir, seed, pairs_static, pairs_ball, log):
    """The gst clip bank, cached in @cache_dir (if given) across runs."""
    import pickle
    path = cache_dir and os.path.join(cache_dir, "bank-%d-%d-%d.pkl" % (
        seed, pairs_static, pairs_ball))
    if path and os.path.exists(path):
        return pickle.load(open(path, "rb"))
    b = sv.build_gst_bank(seed, pairs_static, pairs_ball, log=log)
    if path:
        os.makedirs(cache_dir, exist_ok=True)
        pickle.dump(b, open(path, "wb"), protocol=4)
    return b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="models/instructblip-synthvid-tiny")
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--clips", type=int, default=16,
                    help="clips per step (each through the ViT once)")
    ap.add_argument("--questions-per-clip", type=int, default=4)
    ap.add_argument("--patch", type=int, default=8)
    ap.add_argument("--cross-attention-every", type=int, default=1,
                    help="the Q-Former's cross_attention_frequency: 1 puts "
                    "cross-attention in every layer (with 2, finding the "
                    "object an instruction names stayed at chance)")
    ap.add_argument("--curriculum", default="1200:2,2400:3",
                    help="STEP:N,...: before STEP, shape scenes have at most "
                    "N objects (afterwards up to 4)")
    ap.add_argument("--look-weight", type=float, default=1.0,
                    help="weight of the training-only grounding term (the "
                    "last cross-attention layer's attention on the objects "
                    "a question is about); 0 turns it off")
    ap.add_argument("--shape-weight", type=float, default=1.0,
                    help="weight of the training-only dense shape term (a "
                    "per-patch shape classifier on the ViT output, not "
                    "saved); 0 turns it off")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--eval-dir", default="build/default-model-eval")
    ap.add_argument("--n-eval", type=int, default=600)
    ap.add_argument("--n-sample", type=int, default=48)
    ap.add_argument("--sample-dir", default="tests/default-model/data")
    ap.add_argument("--checkpoint-every", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--init-from", default=None,
                    help="start from a checkpoint this script saved (with "
                    "--steps 0: only evaluate it and write the sets)")
    ap.add_argument("--data-seed", type=int, default=TRAIN_SEED + 1000)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--mix", default="0.15,0.2",
                    help="shares of still-pattern and ball examples; shape "
                    "scenes make the rest")
    ap.add_argument("--cache-dir", default=None,
                    help="keep the videotestsrc clips here across runs")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    t_start = time.time()

    def log(*a):
        print("[%6.0fs]" % (time.time() - t_start), *a, flush=True)

    corpus = sv.corpus()
    tok, qtok = llama_tokenizer(corpus), bert_tokenizer(corpus)
    log("tokenizers: llama %d, qformer %d" % (len(tok), len(qtok)))
    for a in sv.answers():
        log("  answer %-14s -> %s" % (a, tok.tokenize(a)))
    model = make_model(tok, qtok, args.patch, args.cross_attention_every)
    if args.init_from:
        # a second cycle: start from a saved (fp16) checkpoint of this script
        model.load_state_dict(load_f32(args.init_from).state_dict())
        log("initialised from %s" % args.init_from)
    n_par = sum(p.numel() for p in model.parameters())
    log("model: %.2fM parameters" % (n_par / 1e6))

    log("building the training clips (gst-launch-1.0 videotestsrc)")
    train_bank = bank(args.cache_dir, TRAIN_SEED, 5, 8, log)
    log("building the held-out clips")
    eval_bank = bank(args.cache_dir, EVAL_SEED, 3, 3, log)
    batcher = Batcher(tok, qtok, args.patch)
    look = LookLoss(model) if args.look_weight > 0 else None
    shape_head = ShapeHead(model) if args.shape_weight > 0 else None
    probe = held_out(200, EVAL_SEED + 100, eval_bank)
    with torch.no_grad():  # the shared-ViT forward is get_image_features'
        px, cidx, qids, qm = batcher.batch(
            [sv.clip(np.random.default_rng(7), train_bank)])[:4]
        a = soft_tokens_shared(model, px, cidx, qids, qm)
        b = soft_tokens(model, px[cidx], qids, qm)
        assert torch.allclose(a, b, atol=1e-5), float((a - b).abs().max())

    params = list(model.parameters())
    if shape_head is not None:
        params += list(shape_head.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01,
                            betas=(0.9, 0.98))
    warm = args.warmup

    def lr_at(s):
        if s < warm:
            return args.lr * (s + 1) / warm
        return args.lr * (0.02 + 0.98 * 0.5 *
                          (1 + math.cos(math.pi * (s - warm) /
                                        max(1, args.steps - warm))))

    rng = np.random.default_rng(args.data_seed)
    mix = tuple(float(x) for x in args.mix.split(","))
    curriculum = [tuple(int(v) for v in c.split(":"))
                  for c in args.curriculum.split(",") if c]

    def max_objects(s):
        return min([n for until, n in curriculum if s < until] + [4])
    model.train()
    ema = None
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        nf = 1 if rng.random() < 0.15 else sv.FRAMES
        clips = []
        for _ in range(args.clips):
            frames, qs, shapes = sv.clip(rng, train_bank, nf, mix, extra=True,
                                         max_objects=max_objects(step))
            k = min(args.questions_per_clip, len(qs))
            clips.append((frames, [qs[i] for i in sorted(
                rng.choice(len(qs), k, replace=False))], shapes))
        ce, grounding, shape = loss_fn(model, *batcher.batch(clips),
                                       look=look, shape_head=shape_head)
        loss = ce + args.look_weight * grounding + args.shape_weight * shape
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        lv = np.array([float(ce.detach()), float(grounding.detach()),
                       float(shape.detach())])
        ema = lv if ema is None else 0.98 * ema + 0.02 * lv
        if step % 50 == 0:
            log("step %5d  loss %.4f  grounding %.4f  shape %.4f  lr %.2e" % (
                step, ema[0], ema[1], ema[2], lr_at(step)))
        if (step + 1) % args.checkpoint_every == 0 or step + 1 == args.steps:
            right, _, kinds = evaluate(model, batcher, probe)
            log("step %5d  probe exact %d/%d (%s)" % (
                step + 1, right, len(probe), kinds_line(kinds)))
            save(model, tok, qtok, args.out)
            log("saved %s" % args.out)

    log("training done in %.1f min" % ((time.time() - t_start) / 60))
    # The reference: the saved fp16 weights, computed in fp32 (what the
    # engine loads with precision fp32).
    ref = load_f32(args.out if args.steps > 0 else args.init_from)
    items = held_out(args.n_eval, EVAL_SEED, eval_bank)
    right, res, kinds = evaluate(ref, batcher, items)
    log("held-out (F=4): %d/%d exact (%.2f%%): %s" % (
        right, len(items), 100.0 * right / len(items), kinds_line(kinds)))
    wrong = [(q, a, t) for (_, q, a, _), (_, t) in zip(items, res) if t != a]
    for w in wrong[:40]:
        log("  wrong: %r expected %r got %r" % w)
    write_eval_set(args.eval_dir, items, res)
    items1 = held_out(200, EVAL_SEED + 1, eval_bank, n_frames=1)
    right1, _, kinds1 = evaluate(ref, batcher, items1)
    log("held-out still frames (F=1): %d/%d exact: %s" % (
        right1, len(items1), kinds_line(kinds1)))
    n = args.n_sample
    write_eval_set(args.sample_dir, items[:n], res[:n])
    log("sample: %d/%d exact" % (sum(t == a for (_, _, a, _), (_, t) in
                                     zip(items[:n], res[:n])), n))
    json.dump(dict(held_out=len(items), held_out_exact=right,
                   still_frames=len(items1), still_frames_exact=right1,
                   by_kind={k: list(v) for k, v in kinds.items()},
                   steps=args.steps, clips=args.clips,
                   questions_per_clip=args.questions_per_clip,
                   minutes=round((time.time() - t_start) / 60, 1),
                   torch=torch.__version__,
                   transformers=__import__("transformers").__version__),
              open(os.path.join(args.eval_dir, "summary.json"), "w"),
              indent=1)
    log("all done in %.1f min" % ((time.time() - t_start) / 60))


if __name__ == "__main__":
    main()
