/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A normalized string that remembers, byte by byte, where it came from in the original text. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Mirrors tokenizers' NormalizedString: @s is the current (normalized)
 * text; @align holds, for each byte of @s, the [start, end) byte range of
 * the original text it came from, relative to this piece's original, which
 * starts at @shift in the whole input.  Only the original offsets of a
 * piece are ever read (Metaspace prepend_scheme "first"), but they are
 * kept exactly as the library keeps them. */
typedef struct
{
  char *s; /* NUL-terminated */
  gsize len;
  guint32 *align; /* [len][2] */
  gsize shift;
  gsize orig_len;
} IbNormStr;

/* One char of a transformation: @change is 0 when @c replaces the current
 * char, 1 when @c is inserted, -N when @c replaces the current char and
 * the N chars after it are removed. */
typedef struct
{
  gunichar c;
  gint change;
} IbNsChange;

/* A piece of a string for a split: [start, end) bytes, and whether it
 * matched the pattern. */
typedef struct
{
  gsize start, end;
  gboolean is_match;
} IbMatch;

typedef enum
{
  IB_SPLIT_REMOVED,
  IB_SPLIT_ISOLATED,
  IB_SPLIT_MERGED_WITH_PREVIOUS,
  IB_SPLIT_MERGED_WITH_NEXT,
  IB_SPLIT_CONTIGUOUS,
} IbSplitBehavior;

typedef gboolean (*IbCharPred) (gunichar c, gpointer user_data);

/* UTF-8 validation of @len bytes that accepts NUL characters */
gboolean ib_utf8_validate_len (const char *s, gsize len);

/* number of chars in @len bytes of valid UTF-8 (NUL counts as a char) */
gsize ib_utf8_count (const char *s, gsize len);

IbNormStr *ib_ns_new (const char *text, gsize len, gsize shift);
void ib_ns_free (IbNormStr *ns);
IbNormStr *ib_ns_copy (const IbNormStr *ns);
/* a piece of @ns, by normalized byte range */
IbNormStr *ib_ns_slice (const IbNormStr *ns, gsize start, gsize end);
/* applies a whole-string transformation (NormalizedString::transform) */
void ib_ns_transform (IbNormStr *ns, const IbNsChange *changes, gsize n,
    gsize initial_offset);
/* transformation of the normalized byte range [start, end) */
void ib_ns_transform_range (IbNormStr *ns, gsize start, gsize end,
    const IbNsChange *changes, gsize n, gsize initial_offset);
/* replaces each matching piece of @matches by @content */
void ib_ns_replace (IbNormStr *ns, const GArray *matches, const char *content);
void ib_ns_prepend (IbNormStr *ns, const char *text);
void ib_ns_strip (IbNormStr *ns, gboolean left, gboolean right);
/* splits by @matches; returns a GPtrArray of IbNormStr (may hold empty ones) */
GPtrArray *ib_ns_split (const IbNormStr *ns, const GArray *matches,
    IbSplitBehavior behavior);

/* Pattern matching: GArrays of IbMatch covering the whole text */
GArray *ib_find_matches_pred (const char *s, gsize len, IbCharPred pred,
    gpointer user_data);
GArray *ib_find_matches_char (const char *s, gsize len, gunichar c);
GArray *ib_find_matches_literal (const char *s, gsize len, const char *lit);
GArray *ib_find_matches_regex (const char *s, gsize len, GRegex *re);
void ib_matches_invert (GArray *matches);

G_END_DECLS
