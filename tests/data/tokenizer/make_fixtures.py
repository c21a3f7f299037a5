#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the tokenizer test fixtures: a corpus, small tokenizers and the
outputs Hugging Face `tokenizers` 0.22.x gives for them.

Run by a developer (CI never runs Python), from anywhere:

    pip install "tokenizers<0.23"     # 0.23 does not skip <s>/</s> on decode
    python3 tests/data/tokenizer/make_fixtures.py

Writes, next to this script:
  corpus.json          the test strings (a JSON list, 1000+ entries)
  decode-cases.json    extra id sequences for decode (byte tokens, unknown ids)
  variants.json        how each tested tokenizer is built (see below)
  small/*.json         small tokenizers trained here (BPE with byte fallback,
                       Unigram with T5's precompiled charsmap, WordPiece)
  expected/NAME.json   ids and decoded strings per tokenizer

The real tokenizers (LLaMA/Vicuna, Flan-T5, bert-base-uncased) are read from
real/ next to this script (copied unchanged from public repositories, see
real/README.md).  The InstructBLIP
checkpoints add tokens to them; instead of storing modified copies,
variants.json says what to add and the C test makes the same change to the
JSON before loading it:
  llama-instructblip: [PAD]=32000, <image>=32001, <video>=32002 (special,
      not normalized) and the post-processor prepending </s> (bos = </s>, as
      the conversion script sets it);
  bert-qformer: [DEC]=30522 (special), as the Q-Former tokenizer.
"""

import argparse
import base64
import json
import os
import random
import sys

import tokenizers
from tokenizers import Tokenizer, models, trainers, pre_tokenizers

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_TRUNC = 128

# ---------------------------------------------------------------- corpus --

SENTENCES = [
    # English, prompts like InstructBLIP's
    "What is unusual about this image?",
    "Describe the image in detail.",
    "Question: what color is the car? Short Answer:",
    "Write a short and informative description that highlights the primary subjects and actions occurring in the video.",
    "Is there a dog in the picture? Answer yes or no.",
    "A man riding a wave on top of a surfboard.",
    "Hello world",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "I can't believe it's not butter! They're here, we've won, you'll see, he'd go.",
    "Mr. O'Neil's well-known e-mail: don't do-not re-do.",
    # Latin with accents
    "café résumé naïve façade — crème brûlée was excellent.",
    "Hügel über Brücke. Mañana voy a la peña con José.",
    "São Paulo é uma cidade interessante; Köln auch.",
    "Ærøskøbing på Ærø, Þórsmörk og Ísland; Œuvre, ƒ, ß, ẞ.",
    "Dzień dobry! Zażółć gęślą jaźń. Čeština: příliš žluťoučký kůň.",
    "Türkçe: İstanbul, ığdır, ŞEHİR; Română: știință, țară.",
    "Tiếng Việt: Xin chào thế giới, người Việt Nam.",
    # Cyrillic, Greek
    "Привет, мир! Это тест токенизатора.",
    "Москва — столица России. Население более 12 миллионов.",
    "Українська мова: їжак, ґанок, Єва.",
    "Καλημέρα κόσμε! Η γλώσσα είναι όμορφη.",
    "ΣΊΣΥΦΟΣ ΌΔΥΣΣΕΥΣ, ς σ Σ.",
    # Arabic, Hebrew, Hindi, Thai
    "مرحبا بالعالم! هذا اختبار للمحلل.",
    "اللُّغَةُ العَرَبِيَّةُ جميلة ١٢٣٤٥",
    "שלום עולם! זהו מבחן.",
    "עִבְרִית עם ניקוד",
    "नमस्ते दुनिया! यह एक परीक्षण है।",
    "क्षत्रिय ज्ञान श्री हिन्दी",
    "สวัสดีชาวโลก นี่คือการทดสอบ",
    "ภาษาไทยไม่มีช่องว่างระหว่างคำ",
    # CJK, Korean, Japanese
    "你好，世界！这是分词器测试。",
    "我们在北京的天安门广场看升旗。",
    "繁體中文：臺灣的資訊科技產業。",
    "안녕하세요 세계! 이것은 토크나이저 테스트입니다.",
    "한국어 ㄱㄴㄷ ᄀᄁᄂ 갂",
    "こんにちは世界！これはトークナイザーのテストです。",
    "カタカナ ひらがな ｶﾀｶﾅ 漢字",
    "東京タワーに行きました。とても楽しかったです。",
    "𠀀𠀁𪜀 𫝀 CJK extension B",
    # emoji
    "I love 🦙 and 🐍 and 🤗!",
    "Family: 👨‍👩‍👧‍👦 and 👩🏽‍💻 and 🏳️‍🌈 flags 🇫🇷🇯🇵🇺🇸",
    "Skin tones: 👍🏻👍🏼👍🏽👍🏾👍🏿 ✌️ ❤️ ☺",
    "🥰🫠🫶 newer emoji 🪿",
    "keycaps 1️⃣ #️⃣ and ©️ ®️ ™",
    # combining marks
    "e\u0301 a\u0300 o\u0308 n\u0303 c\u0327 decomposed",
    "A\u030A\u0301 Z\u0335\u0336 stacked marks x\u0301\u0302\u0303\u0304",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ Ａ\u0301",
    "ﬁ ﬂ ﬀ ligatures, ① ② ㍿ ℃ ㎏ ½ ¼ ²³",
    "Hangul jamo \u1100\u1161\u11A8 vs 각",
    # whitespace
    "",
    " ",
    "  ",
    "   ",
    "\t",
    "\n",
    "\n\n",
    "\t\n",
    "\r\n",
    " Hello world",
    "Hello world ",
    "  two leading and trailing  ",
    "tabs\tbetween\twords",
    "new\nlines\nhere",
    "mixed \t\n\r\n whitespace \u00a0nbsp\u3000ideographic\u2003em\u2009thin",
    "\u00a0\u00a0leading nbsp",
    "zero\u200bwidth\u200cjoiners\u200d\ufeffbom",
    "control\x01\x02\x7f\x85chars",
    "multiple     spaces      inside",
    # punctuation, digits
    "!!!!!!",
    "...???!!!,,,;;;:::",
    "\"Quotes\" and 'single' and «guillemets» and „German“.",
    "(parentheses) [brackets] {braces} <angles>",
    "3.14159 2,718 1e-10 -42 +7 100% $5.99 €10 ¥1000 £3",
    "Phone: +1 (555) 123-4567, ID 0000123, year 2024.",
    "1234567890123456789012345678901234567890",
    "١٢٣ ४५६ ๗๘๙ 七八九",
    # URLs, code
    "https://www.example.com/path/to/page?query=1&b=two#frag",
    "mailto:someone@example.org ftp://ftp.example.net/file.tar.gz",
    "def f(x):\n    return x ** 2  # square\n",
    "int main (void) { printf (\"%d\\n\", 42); return 0; }",
    "if (a && b || !c) { x += 1; } else { y -= 2; }",
    "<html><body><p class=\"x\">Hi</p></body></html>",
    "SELECT * FROM users WHERE id = 1;",
    "path/to/file.py:12:5: error: undefined name 'foo'",
    # looks like special tokens
    "<s>",
    "</s>",
    "<s>Hello</s>",
    "Hello <s> world </s> end",
    "<unk> <pad> <mask>",
    "[CLS] hello [SEP]",
    "[CLS][SEP][PAD][MASK][UNK]",
    "[cls] lower [sep]",
    "<image>",
    "<image><image> What is this?",
    "<video> frames <image>",
    "<ima",
    "<image",
    "image>",
    "< image >",
    "<extra_id_0>",
    "<extra_id_3> fill <extra_id_99>",
    "<extra_id_100>",
    "<extra_id_",
    "[DEC] decoder start",
    "[PAD][PAD]",
    "<0x41><0xE2>",
    "▁ spaced ▁▁ metaspace ▁",
    "##suffix ## #",
]

WORDS = [
    "the", "a", "image", "video", "cat", "dog", "bicycle", "photograph", "tokenizer",
    "running", "jumped", "beautiful", "unbelievable", "internationalization",
    "straße", "naïve", "über", "señor", "élève", "Ångström", "İzmir", "ΣΟΦΙΑ",
    "мир", "книга", "γάτα", "قطة", "חתול", "बिल्ली", "แมว", "猫", "고양이", "ねこ",
    "🐱", "👩‍🔬", "🇩🇪", "e\u0301", "x\u0300\u0301", "ﬁsh", "Ｗｉｄｅ",
    "123", "4.5", "1,000", "CamelCase", "snake_case", "kebab-case", "UPPER",
    "<s>", "</s>", "<image>", "<video>", "[CLS]", "[SEP]", "[PAD]", "[MASK]",
    "<extra_id_1>", "<extra_id_42>", "[DEC]", "<unk>", "<pad>", "<ima", "[CL",
    "don't", "it's", "C++", "a.b.c", "...", "—", "–", "…", "¿", "¡", "§", "°",
]

SEPARATORS = [" ", " ", " ", " ", "  ", "\t", "\n", "\u00a0", "\u3000", "", ", ", ". ", " - ", "\r\n"]


def make_corpus(seed=1234):
    rng = random.Random(seed)
    corpus = list(SENTENCES)
    # long words and lines
    corpus.append("a" * 150)
    corpus.append("supercalifragilisticexpialidocious" * 4)
    corpus.append("ü" * 120)
    corpus.append("日本語" * 60)
    corpus.append("😀" * 40)
    corpus.append("x" * 99 + " " + "y" * 100 + " " + "z" * 101)
    corpus.append("word " * 200)
    corpus.append(" ".join(rng.choice(WORDS) for _ in range(400)))
    # sentence variants: case, surrounding space, special-token insertions
    for s in SENTENCES:
        if not s.strip():
            continue
        corpus.append(s.upper())
        corpus.append(s.lower())
        corpus.append(" " + s + " ")
        corpus.append(rng.choice(["<s>", "</s>", "<image>", "[CLS]", "<extra_id_0>", "[SEP]", "<video>"]) + s)
        corpus.append(s + rng.choice(["</s>", " [SEP]", "<image>", " <extra_id_5>", "\n", "  "]))
    # random mixtures
    while len(corpus) < 1150:
        n = rng.randint(1, 25)
        parts = []
        for _ in range(n):
            w = rng.choice(WORDS)
            if rng.random() < 0.1:
                w = w.capitalize()
            parts.append(w)
            parts.append(rng.choice(SEPARATORS))
        line = "".join(parts)
        if rng.random() < 0.3:
            line = line.strip()
        corpus.append(line)
    # a few long mixed lines for truncation (> 128 tokens)
    for _ in range(20):
        corpus.append(" ".join(rng.choice(SENTENCES[:40]) for _ in range(rng.randint(8, 20))))
    return corpus


DECODE_CASES_EXTRA = [
    [],
    [0], [1], [2], [3],
    [999999], [-1, 5],
]

# ---------------------------------------------------------- tokenizers --


def real_tokenizer_path(name):
    return os.path.join(HERE, "real", name, "tokenizer.json")


def added(content, special=True, normalized=False, lstrip=False, rstrip=False, single_word=False, id=None):
    d = {"content": content, "single_word": single_word, "lstrip": lstrip,
         "rstrip": rstrip, "normalized": normalized, "special": special}
    if id is not None:
        d = {"id": id, **d}
    return d


VARIANTS = [
    {"name": "llama", "base": "real:llama/tokenizer.json"},
    {"name": "llama-instructblip", "base": "real:llama/tokenizer.json",
     "add_tokens": [added("[PAD]", id=32000), added("<image>", id=32001), added("<video>", id=32002)],
     "post_processor": {
         "type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [{"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                  {"SpecialToken": {"id": "</s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {"</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}}},
    {"name": "flan-t5", "base": "real:flan-t5/tokenizer.json"},
    {"name": "bert-base-uncased", "base": "real:bert-base-uncased/tokenizer.json", "truncate": MAX_TRUNC},
    {"name": "bert-qformer", "base": "real:bert-base-uncased/tokenizer.json",
     "add_tokens": [added("[DEC]", id=30522)], "truncate": MAX_TRUNC},
    {"name": "small-bpe", "base": "local:small/small-bpe.json"},
    {"name": "small-bpe-metaspace", "base": "local:small/small-bpe-metaspace.json"},
    {"name": "small-unigram", "base": "local:small/small-unigram.json"},
    {"name": "small-unigram-split", "base": "local:small/small-unigram-split.json"},
    {"name": "small-wordpiece", "base": "local:small/small-wordpiece.json", "truncate": MAX_TRUNC},
    {"name": "small-wordlevel", "base": "local:small/small-wordlevel.json", "truncate": 16},
    {"name": "small-wordlevel-split", "base": "local:small/small-wordlevel-split.json"},
]

LLAMA_BYTES = [f"<0x{i:02X}>" for i in range(256)]


def train_small_bpe(corpus):
    """LLaMA-shaped BPE: <unk> <s> </s>, 256 byte tokens, then merges."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=700, min_frequency=2, show_progress=False,
                                  limit_alphabet=150)
    tok.train_from_iterator(corpus, trainer)
    model = json.loads(tok.to_str())["model"]
    trained = sorted(model["vocab"].items(), key=lambda kv: kv[1])
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in LLAMA_BYTES:
        vocab[b] = len(vocab)
    for t, _ in trained:
        if t not in vocab:
            vocab[t] = len(vocab)
    merges = model["merges"]
    bpe_model = {"type": "BPE", "dropout": None, "unk_token": "<unk>",
                 "continuing_subword_prefix": None, "end_of_word_suffix": None,
                 "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                 "vocab": vocab, "merges": merges}
    specials = [added("<unk>", normalized=True, id=0), added("<s>", normalized=True, id=1),
                added("</s>", normalized=True, id=2)]
    extra = [added("<image>", id=len(vocab)), added("<video>", id=len(vocab) + 1),
             # the flags the real checkpoints do not use, tested here
             added("<mask>", lstrip=True, id=len(vocab) + 2),
             added("<r>", rstrip=True, id=len(vocab) + 3),
             added("word", special=False, normalized=True, single_word=True, id=len(vocab) + 4),
             added("[sw]", special=False, normalized=False, single_word=True, id=len(vocab) + 5),
             added("hello world", special=False, normalized=True, id=len(vocab) + 6)]
    old = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": specials + extra,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": bpe_model,
    }
    # the newer LLaMA form: no normalizer, Metaspace pre-tokenizer (first,
    # no split), the template with <s> and </s> both
    new = json.loads(json.dumps(old))
    new["added_tokens"] = [added("<unk>", id=0), added("<s>", id=1), added("</s>", id=2),
                           added("<image>", id=len(vocab))]
    new["normalizer"] = None
    new["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False}
    new["post_processor"]["single"] = [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                       {"Sequence": {"id": "A", "type_id": 0}},
                                       {"SpecialToken": {"id": "</s>", "type_id": 0}}]
    new["post_processor"]["special_tokens"]["</s>"] = {"id": "</s>", "ids": [2], "tokens": ["</s>"]}
    new["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    return old, new


def t5_normalizer():
    path = real_tokenizer_path("flan-t5")
    return json.load(open(path, encoding="utf-8"))["normalizer"]


def train_small_unigram(corpus):
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    # Train on half of the lines so that some characters stay unknown.  The
    # trainer sometimes stops on "likelihood is NAN": try a few settings.
    for extra, max_word in [(150, 20), (100, 20), (100, 40), (60, 12), (30, 12)]:
        lines = [" ".join(w for w in t.split() if len(w) < max_word) for t in corpus[::2] if t.strip()]
        lines = [t for t in lines if t]
        n_chars = len(set("".join(lines)))
        tok = Tokenizer(models.Unigram())
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
        trainer = trainers.UnigramTrainer(vocab_size=n_chars + extra, special_tokens=["<pad>", "</s>", "<unk>"],
                                          unk_token="<unk>", show_progress=False, max_piece_length=8)
        try:
            tok.train_from_iterator(lines, trainer)
            break
        except BaseException as e:  # pyo3 PanicException is a BaseException
            print(f"Unigram training failed ({e}); retrying", file=sys.stderr)
    else:
        sys.exit("could not train the small Unigram model")
    model = json.loads(tok.to_str())["model"]
    n = len(model["vocab"])
    extra_ids = [f"<extra_id_{i}>" for i in range(4, -1, -1)]
    model["vocab"] += [[e, 0.0] for e in extra_ids]
    added_tokens = [added("<pad>", id=0), added("</s>", id=1), added("<unk>", id=2)]
    added_tokens += [added(e, id=n + i) for i, e in enumerate(extra_ids)]
    old = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": added_tokens,
        "normalizer": t5_normalizer(),
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}},
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True},
        "model": model,
    }
    # the newer T5 form: WhitespaceSplit then Metaspace, Replace(" {2,}", "▁")
    new = json.loads(json.dumps(old))
    norms = new["normalizer"]["normalizers"]
    new["normalizer"]["normalizers"] = [n_ for n_ in norms if n_["type"] != "Replace"] + [
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": "\u2581"}]
    new["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "WhitespaceSplit"},
        {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}]}
    new["decoder"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    return old, new


def train_small_wordpiece(corpus):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    from tokenizers import normalizers
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=800, show_progress=False,
                                        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.train_from_iterator(corpus, trainer)
    d = json.loads(tok.to_str())
    n = len(d["model"]["vocab"])
    d["model"]["max_input_chars_per_word"] = 20
    d["added_tokens"] = [added(t, id=i) for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])]
    d["added_tokens"].append(added("[DEC]", id=n))
    d["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                   {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
        "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                           "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}}
    d["decoder"] = {"type": "WordPiece", "prefix": "##", "cleanup": True}
    return d


def train_small_wordlevel(corpus):
    """Components the InstructBLIP tokenizers do not use, for coverage:
    Strip, NFD, StripAccents, Lowercase, Replace(regex), Nmt, Whitespace,
    Punctuation, Digits, Split, WordLevel, BertProcessing, BPEDecoder."""
    from tokenizers import normalizers
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([
        normalizers.Strip(), normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Whitespace(), pre_tokenizers.Punctuation(),
        pre_tokenizers.Digits(individual_digits=True)])
    trainer = trainers.WordLevelTrainer(vocab_size=1500, show_progress=False,
                                        special_tokens=["[UNK]", "[CLS]", "[SEP]"])
    tok.train_from_iterator(corpus, trainer)
    d = json.loads(tok.to_str())
    d["normalizer"]["normalizers"].append(
        {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "})
    d["post_processor"] = {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]}
    d["added_tokens"] = [added(t, id=i) for i, t in enumerate(["[UNK]", "[CLS]", "[SEP]"])]
    split = json.loads(json.dumps(d))
    split["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Nmt"}, {"type": "Strip", "strip_left": True, "strip_right": False}, {"type": "Lowercase"}]}
    split["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Removed", "invert": False},
        {"type": "Split", "pattern": {"String": "-"}, "behavior": "MergedWithPrevious", "invert": False},
        {"type": "Split", "pattern": {"String": "."}, "behavior": "MergedWithNext", "invert": False},
        {"type": "Split", "pattern": {"Regex": "[a-z]+"}, "behavior": "Contiguous", "invert": True},
        {"type": "Punctuation", "behavior": "Contiguous"},
        {"type": "Digits", "individual_digits": False}]}
    split["decoder"] = {"type": "BPEDecoder", "suffix": "e"}
    split["post_processor"] = {"type": "Sequence", "processors": [
        {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]},
        {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[UNK]", 0]}]}
    return d, split


def build_variant(v):
    kind, rel = v["base"].split(":", 1)
    path = os.path.join(HERE, "real" if kind == "real" else "", rel)
    d = json.load(open(path, encoding="utf-8"))
    if "add_tokens" in v:
        d["added_tokens"] = d["added_tokens"] + v["add_tokens"]
    if "post_processor" in v:
        d["post_processor"] = v["post_processor"]
    return Tokenizer.from_str(json.dumps(d))


def decode(tok, ids, skip):
    # the C API returns C strings: U+0000 (byte token <0x00>) is left out
    return tok.decode(ids, skip_special_tokens=skip).replace("\0", "")


def expected_for(tok, corpus, decode_cases, truncate):
    out = {"encode": [], "encode_plain": [], "decode_skip": [], "decode_keep": []}
    for text in corpus:
        ids = tok.encode(text).ids
        out["encode"].append(ids)
        out["encode_plain"].append(tok.encode(text, add_special_tokens=False).ids)
        out["decode_skip"].append(decode(tok, ids, True))
        out["decode_keep"].append(decode(tok, ids, False))
    if truncate:
        tok.enable_truncation(truncate, direction="left")
        out["truncate_left"] = truncate
        out["encode_truncated"] = [tok.encode(t).ids for t in corpus]
        tok.no_truncation()
    cases = []
    vocab = tok.get_vocab_size(with_added_tokens=True)
    rng = random.Random(99)
    seqs = [list(c) for c in DECODE_CASES_EXTRA]
    for _ in range(60):
        seqs.append([rng.randrange(vocab) for _ in range(rng.randint(1, 12))])
    for _ in range(20):  # runs of byte tokens, valid and invalid UTF-8
        byte_id = tok.token_to_id("<0xE2>")
        if byte_id is None:
            break
        seqs.append([tok.token_to_id(f"<0x{b:02X}>") for b in rng.choice(
            [b"\xe2\x96\x81", b"\xe2\x96", b"\xf0\x9f\x98\x80", b"\xff\xfe", "é".encode()])]
            + [rng.randrange(vocab)])
    for s in seqs:
        valid = [i for i in s if 0 <= i < 2**32]
        cases.append({"ids": s,
                      "skip": decode(tok, valid, True),
                      "keep": decode(tok, valid, False)})
    out["decode_cases"] = cases
    out["vocab_size"] = vocab
    checks = []
    for t in ["<unk>", "<s>", "</s>", "[PAD]", "<image>", "<video>", "[CLS]", "[SEP]", "[UNK]",
              "[DEC]", "<pad>", "<extra_id_0>", "<extra_id_99>", "\u2581the", "the", "##s", "<0x41>"]:
        i = tok.token_to_id(t)
        checks.append([t, -1 if i is None else i])
    out["token_to_id"] = checks
    return out


def main():
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args()
    major, minor = (int(x) for x in tokenizers.__version__.split(".")[:2])
    if (major, minor) >= (0, 23):
        sys.exit("use tokenizers 0.22.x: pip install 'tokenizers<0.23'")

    corpus = make_corpus()
    os.makedirs(os.path.join(HERE, "small"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "expected"), exist_ok=True)

    def dump(rel, obj, indent=None):
        with open(os.path.join(HERE, rel), "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=indent, separators=None if indent else (",", ":"))
            f.write("\n")

    dump("corpus.json", corpus, indent=0)
    train_text = [t for t in corpus if t.strip()]
    bpe_old, bpe_new = train_small_bpe(train_text)
    uni_old, uni_new = train_small_unigram(corpus)
    wp = train_small_wordpiece(train_text)
    wl, wl_split = train_small_wordlevel(train_text)
    for name, d in [("small-bpe", bpe_old), ("small-bpe-metaspace", bpe_new),
                    ("small-unigram", uni_old), ("small-unigram-split", uni_new),
                    ("small-wordpiece", wp), ("small-wordlevel", wl),
                    ("small-wordlevel-split", wl_split)]:
        Tokenizer.from_str(json.dumps(d))  # must load
        dump(f"small/{name}.json", d)
    dump("variants.json", VARIANTS, indent=1)

    for v in VARIANTS:
        tok = build_variant(v)
        exp = expected_for(tok, corpus, DECODE_CASES_EXTRA, v.get("truncate"))
        exp = {"tokenizer": v["name"], "tokenizers_version": tokenizers.__version__, **exp}
        dump(f"expected/{v['name']}.json", exp)
        print(f"{v['name']}: {len(corpus)} lines, {sum(map(len, exp['encode']))} ids")


if __name__ == "__main__":
    main()
