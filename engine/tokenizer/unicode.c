/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Lookups in the generated character tables, NFD helpers and the UAX #29 grapheme-cluster rules. */
#include "unicode.h"

static gboolean
in_ranges (const IbUniRange *r, guint n, gunichar c)
{
  guint lo = 0, hi = n;

  while (lo < hi) {
    guint mid = (lo + hi) / 2;
    if (c < r[mid].lo)
      hi = mid;
    else if (c > r[mid].hi)
      lo = mid + 1;
    else
      return TRUE;
  }
  return FALSE;
}

static guint8
range_value (const IbUniValRange *r, guint n, gunichar c)
{
  guint lo = 0, hi = n;

  while (lo < hi) {
    guint mid = (lo + hi) / 2;
    if (c < r[mid].lo)
      hi = mid;
    else if (c > r[mid].hi)
      lo = mid + 1;
    else
      return r[mid].value;
  }
  return 0;
}

gboolean
ib_uni_is_whitespace (gunichar c)
{
  if (c < 0x80)
    return c == ' ' || (c >= 0x09 && c <= 0x0D);
  return in_ranges (ib_uni_whitespace, ib_uni_whitespace_len, c);
}

gboolean
ib_uni_is_bert_punct (gunichar c)
{
  return in_ranges (ib_uni_bert_punct, ib_uni_bert_punct_len, c);
}

gboolean
ib_uni_is_bert_control (gunichar c)
{
  return in_ranges (ib_uni_bert_control, ib_uni_bert_control_len, c);
}

gboolean
ib_uni_is_word (gunichar c)
{
  if (c < 0x80)
    return g_ascii_isalnum (c) || c == '_';
  return in_ranges (ib_uni_word, ib_uni_word_len, c);
}

gboolean
ib_uni_is_nonspacing (gunichar c)
{
  if (c < 0x300)
    return FALSE;
  return in_ranges (ib_uni_nonspacing, ib_uni_nonspacing_len, c);
}

gboolean
ib_uni_is_combining (gunichar c)
{
  if (c < 0x300)
    return FALSE;
  return in_ranges (ib_uni_combining, ib_uni_combining_len, c);
}

guint
ib_uni_to_lower (gunichar c, gunichar out[3])
{
  guint lo = 0, hi = ib_uni_lower_len, n = 0;

  if (c < 0x80) {
    out[0] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
    return 1;
  }
  while (lo < hi) {
    guint mid = (lo + hi) / 2;
    if (c < ib_uni_lower[mid].from)
      hi = mid;
    else if (c > ib_uni_lower[mid].from)
      lo = mid + 1;
    else {
      for (n = 0; n < 3 && ib_uni_lower[mid].to[n]; n++)
        out[n] = ib_uni_lower[mid].to[n];
      return n;
    }
  }
  out[0] = c;
  return 1;
}

guint8
ib_uni_ccc (gunichar c)
{
  if (c < 0x300)
    return 0;
  return range_value (ib_uni_ccc_table, ib_uni_ccc_table_len, c);
}

guint
ib_uni_nfd_char (gunichar c, gunichar out[4])
{
  guint lo = 0, hi = ib_uni_nfd_len, n;

  if (c < 0xC0) {
    out[0] = c;
    return 1;
  }
  if (c >= 0xAC00 && c <= 0xD7A3) {
    guint s = c - 0xAC00;
    out[0] = 0x1100 + s / 588;
    out[1] = 0x1161 + (s % 588) / 28;
    if (s % 28 == 0)
      return 2;
    out[2] = 0x11A7 + s % 28;
    return 3;
  }
  while (lo < hi) {
    guint mid = (lo + hi) / 2;
    if (c < ib_uni_nfd[mid].from)
      hi = mid;
    else if (c > ib_uni_nfd[mid].from)
      lo = mid + 1;
    else {
      for (n = 0; n < 4 && ib_uni_nfd[mid].to[n]; n++)
        out[n] = ib_uni_nfd[mid].to[n];
      return n;
    }
  }
  out[0] = c;
  return 1;
}

/* grapheme properties: low 4 bits GCB, bit 4 Extended_Pictographic,
 * bits 5-6 InCB (1 Linker, 2 Consonant, 3 Extend) */
static guint8
grapheme_props (gunichar c)
{
  if (c >= 0x20 && c < 0x7F)
    return 0;
  return range_value (ib_uni_grapheme, ib_uni_grapheme_len, c);
}

#define GCB(p) ((p) &0x0F)
#define EXT_PICT(p) (((p) >> 4) & 1)
#define INCB(p) (((p) >> 5) & 3)
#define INCB_LINKER 1
#define INCB_CONSONANT 2
#define INCB_EXTEND 3

gsize
ib_uni_grapheme_next (const char *s, gsize len)
{
  const char *p = s, *end = s + len;
  gunichar c = g_utf8_get_char (p);
  guint8 prev = grapheme_props (c);
  /* state for GB11 (emoji ZWJ sequences), GB12/13 (regional indicator
   * pairs) and GB9c (Indic conjuncts) */
  gboolean emoji_run = EXT_PICT (prev);
  gboolean emoji_zwj = FALSE;
  guint ri_count = GCB (prev) == IB_GCB_RI ? 1 : 0;
  gboolean conj_consonant = INCB (prev) == INCB_CONSONANT;
  gboolean conj_linker = FALSE;

  p = g_utf8_next_char (p);
  while (p < end) {
    guint8 cur;
    guint a, b;
    gboolean brk;

    c = g_utf8_get_char (p);
    cur = grapheme_props (c);
    a = GCB (prev);
    b = GCB (cur);

    if (a == IB_GCB_CR && b == IB_GCB_LF)
      brk = FALSE; /* GB3 */
    else if (a == IB_GCB_CR || a == IB_GCB_LF || a == IB_GCB_CONTROL)
      brk = TRUE; /* GB4 */
    else if (b == IB_GCB_CR || b == IB_GCB_LF || b == IB_GCB_CONTROL)
      brk = TRUE; /* GB5 */
    else if (a == IB_GCB_L &&
        (b == IB_GCB_L || b == IB_GCB_V || b == IB_GCB_LV || b == IB_GCB_LVT))
      brk = FALSE; /* GB6 */
    else if ((a == IB_GCB_LV || a == IB_GCB_V) &&
        (b == IB_GCB_V || b == IB_GCB_T))
      brk = FALSE; /* GB7 */
    else if ((a == IB_GCB_LVT || a == IB_GCB_T) && b == IB_GCB_T)
      brk = FALSE; /* GB8 */
    else if (b == IB_GCB_EXTEND || b == IB_GCB_ZWJ)
      brk = FALSE; /* GB9 */
    else if (b == IB_GCB_SPACING_MARK)
      brk = FALSE; /* GB9a */
    else if (a == IB_GCB_PREPEND)
      brk = FALSE; /* GB9b */
    else if (INCB (cur) == INCB_CONSONANT && conj_consonant && conj_linker)
      brk = FALSE; /* GB9c */
    else if (a == IB_GCB_ZWJ && EXT_PICT (cur) && emoji_zwj)
      brk = FALSE; /* GB11 */
    else if (a == IB_GCB_RI && b == IB_GCB_RI && ri_count % 2 == 1)
      brk = FALSE; /* GB12, GB13 */
    else
      brk = TRUE; /* GB999 */

    if (brk)
      break;

    /* update the rule state with the char just joined */
    if (EXT_PICT (cur))
      emoji_run = TRUE, emoji_zwj = FALSE;
    else if (b == IB_GCB_EXTEND && emoji_run && !emoji_zwj)
      ;
    else if (b == IB_GCB_ZWJ && emoji_run && !emoji_zwj)
      emoji_zwj = TRUE;
    else
      emoji_run = emoji_zwj = FALSE;

    ri_count = b == IB_GCB_RI ? ri_count + 1 : 0;

    if (INCB (cur) == INCB_CONSONANT) {
      conj_consonant = TRUE;
      conj_linker = FALSE;
    } else if (conj_consonant && INCB (cur) == INCB_LINKER) {
      conj_linker = TRUE;
    } else if (conj_consonant && INCB (cur) == INCB_EXTEND) {
      ;
    } else {
      conj_consonant = conj_linker = FALSE;
    }

    prev = cur;
    p = g_utf8_next_char (p);
  }
  return p - s;
}
