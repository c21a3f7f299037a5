#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes unicode-tables.c: the character classes and mappings that Hugging
Face `tokenizers` uses, measured from the library itself.

The Rust library takes its character data from several crates, each with its
own Unicode version (unicode_categories, unicode-normalization-alignments,
std, regex, unicode-segmentation).  Reading the Unicode database would give
slightly different answers, so most tables here are found by asking the
library about every code point.  Grapheme-cluster properties come from the
`regex` module (same UAX #29 data as unicode-segmentation), canonical
combining classes from `unicodedata` (only for marks the library reorders).

Run by a developer (never by the build or CI):
    pip install "tokenizers<0.23" regex "unicodedata2>=16,<17"
    python3 engine/tokenizer/gen-unicode-tables.py [T5_TOKENIZER_JSON] \
        > engine/tokenizer/unicode-tables.c

Grapheme properties: unicode-segmentation (in tokenizers 0.22) has Unicode
16 data while `regex` may be newer, so only code points assigned in Unicode
16 (unicodedata2) get regex's properties.  With T5's tokenizer.json (its
Precompiled normalizer groups graphemes), the "extends the previous
grapheme" property of every BMP code point is also measured from the
library and wins.
"""

import sys
import unicodedata

import base64
import json

import regex
import tokenizers
import unicodedata2
from tokenizers import normalizers, pre_tokenizers

MAX_CP = 0x110000


def code_points():
    for c in range(MAX_CP):
        if 0xD800 <= c <= 0xDFFF:
            continue
        yield c


def ranges_of(pred):
    out = []
    start = None
    prev = None
    for c in code_points():
        if pred(c):
            if start is not None and c == prev + 1:
                prev = c
                continue
            if start is not None:
                out.append((start, prev))
            start = prev = c
    if start is not None:
        out.append((start, prev))
    return out


def valued_ranges(values):
    """values: dict cp -> small int (0 omitted). Returns (lo, hi, v) runs."""
    out = []
    for c in sorted(values):
        v = values[c]
        if out and out[-1][1] == c - 1 and out[-1][2] == v:
            out[-1] = (out[-1][0], c, v)
        else:
            out.append((c, c, v))
    return out


def emit_ranges(name, rng):
    print(f"const IbUniRange {name}[] = {{")
    for lo, hi in rng:
        print(f"  {{0x{lo:04X}, 0x{hi:04X}}},")
    print("};")
    print(f"const guint {name}_len = {len(rng)};")
    print()


def emit_map(name, mapping, width):
    print(f"const IbUniMap{width} {name}[] = {{")
    for c in sorted(mapping):
        to = [ord(x) for x in mapping[c]]
        assert len(to) <= width, (hex(c), mapping[c])
        to += [0] * (width - len(to))
        vals = ", ".join(f"0x{t:04X}" for t in to)
        print(f"  {{0x{c:04X}, {{{vals}}}}},")
    print("};")
    print(f"const guint {name}_len = {len(mapping)};")
    print()


def main():
    ws_split = pre_tokenizers.WhitespaceSplit()
    bert_pre = pre_tokenizers.BertPreTokenizer()
    word_pre = pre_tokenizers.Whitespace()
    clean = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False
    )
    strip_mn = normalizers.BertNormalizer(
        clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False
    )
    strip_marks = normalizers.StripAccents()
    lower = normalizers.Lowercase()
    nfd = normalizers.NFD()

    whitespace = set()
    punct = set()
    control = set()
    word = set()
    nonspacing = set()
    combining = set()
    lower_map = {}
    nfd_map = {}

    for c in code_points():
        ch = chr(c)
        if len(ws_split.pre_tokenize_str("a" + ch + "b")) == 2:
            whitespace.add(c)
        if len(bert_pre.pre_tokenize_str("a" + ch + "b")) == 3:
            punct.add(c)
        if clean.normalize_str(ch) == "":
            control.add(c)
        if len(word_pre.pre_tokenize_str("a" + ch)) == 1 and c not in whitespace:
            word.add(c)
        d = nfd.normalize_str(ch)
        if d != ch:
            if not (0xAC00 <= c <= 0xD7A3):
                nfd_map[c] = d
        elif strip_mn.normalize_str(ch) == "":
            nonspacing.add(c)
        if strip_marks.normalize_str(ch) == "":
            combining.add(c)
        lo = lower.normalize_str(ch)
        if lo != ch:
            lower_map[c] = lo

    # Hangul syllables decompose algorithmically; check the library agrees.
    for c in (0xAC00, 0xAC01, 0xD7A3):
        s = c - 0xAC00
        exp = chr(0x1100 + s // 588) + chr(0x1161 + (s % 588) // 28)
        if s % 28:
            exp += chr(0x11A7 + s % 28)
        assert nfd.normalize_str(chr(c)) == exp

    # Canonical combining classes: unicodedata's value, for the marks that
    # the library's NFD actually reorders (its tables may be older).
    ccc = {}
    for c in code_points():
        v = unicodedata.combining(chr(c))
        if v == 0:
            continue
        ch = chr(c)
        p1 = nfd.normalize_str("\u0301" + ch) == ch + "\u0301"  # 0 < ccc < 230
        p2 = nfd.normalize_str(ch + "\u0334") == "\u0334" + ch  # ccc > 1
        if p1 or p2:
            ccc[c] = v

    # Grapheme cluster break properties (UAX #29).
    gcb_names = [
        "Other", "CR", "LF", "Control", "Extend", "ZWJ", "Regional_Indicator",
        "Prepend", "SpacingMark", "L", "V", "T", "LV", "LVT",
    ]
    all_chars = "".join(chr(c) for c in code_points())
    cps = [c for c in code_points()]
    props = {}

    def mark(pattern, value, shift):
        for m in regex.finditer(pattern + "+", all_chars):
            for i in range(m.start(), m.end()):
                cp = cps[i]
                props[cp] = props.get(cp, 0) | (value << shift)

    for i, name in enumerate(gcb_names):
        if i == 0:
            continue
        mark(r"\p{Grapheme_Cluster_Break=" + name + "}", i, 0)
    mark(r"\p{Extended_Pictographic}", 1, 4)
    for i, name in enumerate(["None", "Linker", "Consonant", "Extend"]):
        if i == 0:
            continue
        mark(r"\p{InCB=" + name + "}", i, 5)
    for cp in list(props):
        if unicodedata2.category(chr(cp)) == "Cn" and not (props[cp] & 0x10):
            del props[cp]  # not assigned in Unicode 16 (Extended_Pictographic keeps reserved ranges)

    if len(sys.argv) > 1:
        t5 = json.load(open(sys.argv[1], encoding="utf-8"))
        charsmap = [n for n in t5["normalizer"]["normalizers"] if n["type"] == "Precompiled"][0]
        pc = normalizers.Precompiled(base64.b64decode(charsmap["precompiled_charsmap"]))
        extending = (4, 5, 8)  # Extend, ZWJ, SpacingMark
        changed = 0
        for cp in range(0x80, 0x10000):
            if 0xD800 <= cp <= 0xDFFF:
                continue
            ch = chr(cp)
            if pc.normalize_str(ch) == "":
                continue  # deleted either way: cannot tell, and it does not matter
            joins = pc.normalize_str("\u00a0" + ch) == " "
            gcb = props.get(cp, 0) & 0x0F
            if joins and gcb not in extending:
                props[cp] = (props.get(cp, 0) & ~0x0F) | 4
                changed += 1
            elif not joins and gcb in extending:
                props[cp] = props.get(cp, 0) & ~0x0F
                changed += 1
        print(f"grapheme probe changed {changed} code points", file=sys.stderr)
    else:
        print("no T5 tokenizer.json given: grapheme properties not probed", file=sys.stderr)

    print("/* SPDX-License-Identifier: LGPL-2.1-or-later */")
    print("/* Character tables measured from Hugging Face tokenizers "
          f"{tokenizers.__version__} (regex {regex.__version__}). */")
    print("/* Generated by gen-unicode-tables.py; do not edit. */")
    print("/* clang-format off */")
    print('#include "unicode.h"')
    print()
    emit_ranges("ib_uni_whitespace", ranges_of(lambda c: c in whitespace))
    emit_ranges("ib_uni_bert_punct", ranges_of(lambda c: c in punct))
    emit_ranges("ib_uni_bert_control", ranges_of(lambda c: c in control))
    emit_ranges("ib_uni_word", ranges_of(lambda c: c in word))
    emit_ranges("ib_uni_nonspacing", ranges_of(lambda c: c in nonspacing))
    emit_ranges("ib_uni_combining", ranges_of(lambda c: c in combining))
    emit_map("ib_uni_lower", lower_map, 3)
    emit_map("ib_uni_nfd", nfd_map, 4)
    print("const IbUniValRange ib_uni_ccc_table[] = {")
    for lo, hi, v in valued_ranges(ccc):
        print(f"  {{0x{lo:04X}, 0x{hi:04X}, {v}}},")
    print("};")
    print(f"const guint ib_uni_ccc_table_len = {len(valued_ranges(ccc))};")
    print()
    gr = valued_ranges({c: v for c, v in props.items() if v})
    print("const IbUniValRange ib_uni_grapheme[] = {")
    for lo, hi, v in gr:
        print(f"  {{0x{lo:04X}, 0x{hi:04X}, {v}}},")
    print("};")
    print(f"const guint ib_uni_grapheme_len = {len(gr)};")
    print("/* clang-format on */")


if __name__ == "__main__":
    sys.exit(main())
