/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Character classes, case mapping, NFD and grapheme clusters as Hugging Face tokenizers sees them. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  gunichar lo, hi;
} IbUniRange;

typedef struct
{
  gunichar lo, hi;
  guint8 value;
} IbUniValRange;

typedef struct
{
  gunichar from;
  gunichar to[3];
} IbUniMap3;

typedef struct
{
  gunichar from;
  gunichar to[4];
} IbUniMap4;

/* Grapheme_Cluster_Break values, in the low 4 bits of ib_uni_grapheme. */
enum
{
  IB_GCB_OTHER,
  IB_GCB_CR,
  IB_GCB_LF,
  IB_GCB_CONTROL,
  IB_GCB_EXTEND,
  IB_GCB_ZWJ,
  IB_GCB_RI,
  IB_GCB_PREPEND,
  IB_GCB_SPACING_MARK,
  IB_GCB_L,
  IB_GCB_V,
  IB_GCB_T,
  IB_GCB_LV,
  IB_GCB_LVT,
};

/* the generated tables (unicode-tables.c) */
extern const IbUniRange ib_uni_whitespace[];
extern const guint ib_uni_whitespace_len;
extern const IbUniRange ib_uni_bert_punct[];
extern const guint ib_uni_bert_punct_len;
extern const IbUniRange ib_uni_bert_control[];
extern const guint ib_uni_bert_control_len;
extern const IbUniRange ib_uni_word[];
extern const guint ib_uni_word_len;
extern const IbUniRange ib_uni_nonspacing[];
extern const guint ib_uni_nonspacing_len;
extern const IbUniRange ib_uni_combining[];
extern const guint ib_uni_combining_len;
extern const IbUniMap3 ib_uni_lower[];
extern const guint ib_uni_lower_len;
extern const IbUniMap4 ib_uni_nfd[];
extern const guint ib_uni_nfd_len;
extern const IbUniValRange ib_uni_ccc_table[];
extern const guint ib_uni_ccc_table_len;
extern const IbUniValRange ib_uni_grapheme[];
extern const guint ib_uni_grapheme_len;

/* Rust char::is_whitespace */
gboolean ib_uni_is_whitespace (gunichar c);
/* BertPreTokenizer: ASCII or Unicode punctuation */
gboolean ib_uni_is_bert_punct (gunichar c);
/* BertNormalizer clean_text: characters removed (controls, NUL, U+FFFD) */
gboolean ib_uni_is_bert_control (gunichar c);
/* regex \w */
gboolean ib_uni_is_word (gunichar c);
/* General_Category Mn (BertNormalizer strip_accents) */
gboolean ib_uni_is_nonspacing (gunichar c);
/* combining marks (StripAccents normalizer) */
gboolean ib_uni_is_combining (gunichar c);
/* Rust char::to_lowercase: writes up to 3 chars to @out, returns the count */
guint ib_uni_to_lower (gunichar c, gunichar out[3]);
/* canonical combining class (0 for starters) */
guint8 ib_uni_ccc (gunichar c);
/* full canonical decomposition of one char: writes up to 4 chars, returns
 * the count (1 and c itself when it does not decompose) */
guint ib_uni_nfd_char (gunichar c, gunichar out[4]);

/* Extended grapheme clusters (UAX #29): returns the byte length of the
 * cluster starting at @s (@len bytes of valid UTF-8 remain, len > 0). */
gsize ib_uni_grapheme_next (const char *s, gsize len);

G_END_DECLS
