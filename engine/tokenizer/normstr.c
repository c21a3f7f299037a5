/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NormalizedString: text plus byte alignments, transforms, slices, splits and pattern matches. */
#include "normstr.h"
#include "unicode.h"

#include <string.h>

/* a NUL-terminated copy of @len bytes that may contain NUL */
static char *
bytes_dup (const char *s, gsize len)
{
  char *d = g_malloc (len + 1);

  memcpy (d, s, len);
  d[len] = '\0';
  return d;
}

gboolean
ib_utf8_validate_len (const char *s, gsize len)
{
  gsize i = 0;

  while (i < len) {
    const char *end;
    if (s[i] == '\0') {
      i++;
      continue;
    }
    g_utf8_validate (s + i, len - i, &end);
    if (end == s + i)
      return FALSE;
    i = end - s;
  }
  return TRUE;
}

gsize
ib_utf8_count (const char *s, gsize len)
{
  const char *p = s, *end = s + len;
  gsize n = 0;

  while (p < end) {
    p = g_utf8_next_char (p);
    n++;
  }
  return n;
}

IbNormStr *
ib_ns_new (const char *text, gsize len, gsize shift)
{
  IbNormStr *ns = g_new0 (IbNormStr, 1);
  gsize i = 0;

  ns->s = bytes_dup (text, len);
  ns->len = len;
  ns->orig_len = len;
  ns->shift = shift;
  ns->align = g_new (guint32, 2 * (len + 1));
  while (i < len) {
    gsize n = g_utf8_next_char (text + i) - (text + i), k;
    for (k = 0; k < n && i + k < len; k++) {
      ns->align[2 * (i + k)] = i;
      ns->align[2 * (i + k) + 1] = i + n;
    }
    i += n;
  }
  return ns;
}

void
ib_ns_free (IbNormStr *ns)
{
  if (ns == NULL)
    return;
  g_free (ns->s);
  g_free (ns->align);
  g_free (ns);
}

IbNormStr *
ib_ns_copy (const IbNormStr *ns)
{
  IbNormStr *out = g_new0 (IbNormStr, 1);

  *out = *ns;
  out->s = bytes_dup (ns->s, ns->len);
  out->align = g_memdup2 (ns->align, 2 * sizeof (guint32) * (ns->len + 1));
  return out;
}

IbNormStr *
ib_ns_slice (const IbNormStr *ns, gsize start, gsize end)
{
  IbNormStr *out = g_new0 (IbNormStr, 1);
  gsize o_start, o_end, i;

  if (start == end) {
    /* convert_offsets returns an empty target unchanged */
    o_start = start;
    o_end = end;
  } else {
    o_start = ns->align[2 * start];
    o_end = ns->align[2 * (end - 1) + 1];
  }
  out->s = bytes_dup (ns->s + start, end - start);
  out->len = end - start;
  out->orig_len = o_end > o_start ? o_end - o_start : 0;
  out->shift = ns->shift + o_start;
  out->align = g_new (guint32, 2 * (out->len + 1));
  for (i = 0; i < out->len; i++) {
    out->align[2 * i] = ns->align[2 * (start + i)] - o_start;
    out->align[2 * i + 1] = ns->align[2 * (start + i) + 1] - o_start;
  }
  return out;
}

static gsize
char_len (gunichar c)
{
  return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

void
ib_ns_transform_range (IbNormStr *ns, gsize start, gsize end,
    const IbNsChange *changes, gsize n, gsize initial_offset)
{
  GString *out;
  GArray *al;
  const char *rp = ns->s + start, *rend = ns->s + end;
  gsize offset, i, k, initial_removed = 0;
  guint32 a[2];
  char buf[8];

  /* the chars being replaced, consumed as the changes go */
  for (i = 0; i < initial_offset && rp < rend; i++) {
    const char *nx = g_utf8_next_char (rp);
    initial_removed += nx - rp;
    rp = nx;
  }
  offset = initial_removed + start;
  out = g_string_sized_new (end - start + 16);
  al = g_array_sized_new (FALSE, FALSE, 2 * sizeof (guint32), end - start + 16);

  for (i = 0; i < n; i++) {
    gsize idx = offset, replaced = 0, removed = 0, cl;
    gunichar c = changes[i].c;

    if (changes[i].change > 0) {
      if (idx < 1) {
        a[0] = a[1] = 0;
      } else {
        a[0] = ns->align[2 * (idx - 1)];
        a[1] = ns->align[2 * (idx - 1) + 1];
      }
    } else {
      gsize j = MIN (idx, ns->len ? ns->len - 1 : 0);
      a[0] = ns->len ? ns->align[2 * j] : 0;
      a[1] = ns->len ? ns->align[2 * j + 1] : 0;
      if (rp < rend) {
        const char *nx = g_utf8_next_char (rp);
        replaced = nx - rp;
        rp = nx;
      }
    }
    if (changes[i].change < 0) {
      gint r;
      for (r = 0; r < -changes[i].change && rp < rend; r++) {
        const char *nx = g_utf8_next_char (rp);
        removed += nx - rp;
        rp = nx;
      }
    }
    offset += replaced + removed;
    cl = g_unichar_to_utf8 (c, buf);
    g_string_append_len (out, buf, cl);
    for (k = 0; k < cl; k++)
      g_array_append_val (al, a);
  }

  /* splice the new text and alignments over [start, end) */
  {
    gsize new_len = ns->len - (end - start) + out->len;
    char *s = g_malloc (new_len + 1);
    guint32 *align = g_new (guint32, 2 * (new_len + 1));

    memcpy (s, ns->s, start);
    memcpy (s + start, out->str, out->len);
    memcpy (s + start + out->len, ns->s + end, ns->len - end);
    s[new_len] = '\0';
    memcpy (align, ns->align, 2 * sizeof (guint32) * start);
    memcpy (align + 2 * start, al->data, 2 * sizeof (guint32) * al->len);
    memcpy (align + 2 * (start + out->len), ns->align + 2 * end,
        2 * sizeof (guint32) * (ns->len - end));
    g_free (ns->s);
    g_free (ns->align);
    ns->s = s;
    ns->align = align;
    ns->len = new_len;
  }
  g_string_free (out, TRUE);
  g_array_free (al, TRUE);
}

void
ib_ns_transform (IbNormStr *ns, const IbNsChange *changes, gsize n,
    gsize initial_offset)
{
  gsize i, start = G_MAXSIZE, end = G_MAXSIZE;

  /* convert_offsets (Range::Original (..)): the normalized range that
   * covers the whole original */
  if (ns->orig_len == 0) {
    start = end = 0;
  } else {
    for (i = 0; i < ns->len; i++) {
      guint32 s = ns->align[2 * i], e = ns->align[2 * i + 1];
      if (ns->orig_len < e)
        break;
      if (start == G_MAXSIZE && s != e)
        start = i;
      end = i + 1;
    }
    if (end == G_MAXSIZE)
      return;
    if (start == G_MAXSIZE)
      start = end;
  }
  ib_ns_transform_range (ns, start, end, changes, n, initial_offset);
}

void
ib_ns_replace (IbNormStr *ns, const GArray *matches, const char *content)
{
  GString *s = g_string_sized_new (ns->len + 16);
  GArray *al =
      g_array_sized_new (FALSE, FALSE, 2 * sizeof (guint32), ns->len + 16);
  gsize last_end = 0, i, clen = strlen (content);
  gboolean any = FALSE;

  for (i = 0; i < matches->len; i++) {
    const IbMatch *m = &g_array_index (matches, IbMatch, i);
    guint32 a[2];
    gsize k;

    if (!m->is_match)
      continue;
    any = TRUE;
    g_string_append_len (s, ns->s + last_end, m->start - last_end);
    g_array_append_vals (al, ns->align + 2 * last_end, m->start - last_end);
    /* every inserted char shares the alignment of the char before the
     * insertion point, i.e. the last char of the match */
    if (m->end < 1) {
      a[0] = a[1] = 0;
    } else {
      a[0] = ns->align[2 * (m->end - 1)];
      a[1] = ns->align[2 * (m->end - 1) + 1];
    }
    g_string_append_len (s, content, clen);
    for (k = 0; k < clen; k++)
      g_array_append_val (al, a);
    last_end = m->end;
  }
  if (!any) {
    g_string_free (s, TRUE);
    g_array_free (al, TRUE);
    return;
  }
  g_string_append_len (s, ns->s + last_end, ns->len - last_end);
  g_array_append_vals (al, ns->align + 2 * last_end, ns->len - last_end);
  g_free (ns->s);
  g_free (ns->align);
  ns->len = s->len;
  ns->s = g_string_free (s, FALSE);
  g_array_set_size (al, al->len + 1);
  ns->align = (guint32 *) (void *) g_array_free (al, FALSE);
}

void
ib_ns_prepend (IbNormStr *ns, const char *text)
{
  GArray *ch;
  const char *p;
  gunichar next;
  IbNsChange c;
  gboolean first = TRUE;

  if (ns->len == 0)
    return;
  next = g_utf8_get_char (ns->s);
  ch = g_array_new (FALSE, FALSE, sizeof (IbNsChange));
  for (p = text; *p; p = g_utf8_next_char (p)) {
    c.c = g_utf8_get_char (p);
    c.change = first ? 0 : 1;
    first = FALSE;
    g_array_append_val (ch, c);
  }
  c.c = next;
  c.change = 1;
  g_array_append_val (ch, c);
  ib_ns_transform_range (ns, 0, char_len (next),
      (const IbNsChange *) (void *) ch->data, ch->len, 0);
  g_array_free (ch, TRUE);
}

void
ib_ns_strip (IbNormStr *ns, gboolean left, gboolean right)
{
  gsize leading = 0, trailing = 0, count = 0, i;
  const char *p;
  GArray *ch;

  for (p = ns->s; p < ns->s + ns->len; p = g_utf8_next_char (p))
    count++;
  if (left) {
    for (p = ns->s; p < ns->s + ns->len; p = g_utf8_next_char (p)) {
      if (!ib_uni_is_whitespace (g_utf8_get_char (p)))
        break;
      leading++;
    }
  }
  if (right) {
    const char *q = ns->s + ns->len;
    while (q > ns->s) {
      const char *pr = g_utf8_prev_char (q);
      if (!ib_uni_is_whitespace (g_utf8_get_char (pr)))
        break;
      trailing++;
      q = pr;
    }
  }
  if (leading == 0 && trailing == 0)
    return;

  ch = g_array_new (FALSE, FALSE, sizeof (IbNsChange));
  for (i = 0, p = ns->s; p < ns->s + ns->len; p = g_utf8_next_char (p), i++) {
    IbNsChange c;
    if (i < leading || i + trailing >= count)
      continue;
    c.c = g_utf8_get_char (p);
    /* the library compares a char index with the byte length here */
    c.change = ((gssize) i == (gssize) ns->len - (gssize) trailing - 1) ?
        -(gint) trailing :
        0;
    g_array_append_val (ch, c);
  }
  ib_ns_transform (ns, (const IbNsChange *) (void *) ch->data, ch->len,
      leading);
  g_array_free (ch, TRUE);
}

GPtrArray *
ib_ns_split (const IbNormStr *ns, const GArray *matches,
    IbSplitBehavior behavior)
{
  GArray *sp = g_array_new (FALSE, FALSE, sizeof (IbMatch));
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) ib_ns_free);
  gboolean prev_match = FALSE;
  gsize i;

  switch (behavior) {
    case IB_SPLIT_REMOVED:
      g_array_append_vals (sp, matches->data, matches->len);
      break;
    case IB_SPLIT_ISOLATED:
      for (i = 0; i < matches->len; i++) {
        IbMatch m = g_array_index (matches, IbMatch, i);
        m.is_match = FALSE;
        g_array_append_val (sp, m);
      }
      break;
    case IB_SPLIT_CONTIGUOUS:
      for (i = 0; i < matches->len; i++) {
        IbMatch m = g_array_index (matches, IbMatch, i);
        if (m.is_match == prev_match && sp->len > 0) {
          g_array_index (sp, IbMatch, sp->len - 1).end = m.end;
        } else {
          IbMatch n = { m.start, m.end, FALSE };
          g_array_append_val (sp, n);
        }
        prev_match = m.is_match;
      }
      break;
    case IB_SPLIT_MERGED_WITH_PREVIOUS:
      for (i = 0; i < matches->len; i++) {
        IbMatch m = g_array_index (matches, IbMatch, i);
        if (m.is_match && !prev_match && sp->len > 0) {
          g_array_index (sp, IbMatch, sp->len - 1).end = m.end;
        } else {
          IbMatch n = { m.start, m.end, FALSE };
          g_array_append_val (sp, n);
        }
        prev_match = m.is_match;
      }
      break;
    case IB_SPLIT_MERGED_WITH_NEXT:
      for (i = matches->len; i > 0; i--) {
        IbMatch m = g_array_index (matches, IbMatch, i - 1);
        if (m.is_match && !prev_match && sp->len > 0) {
          g_array_index (sp, IbMatch, sp->len - 1).start = m.start;
        } else {
          IbMatch n = { m.start, m.end, FALSE };
          g_array_append_val (sp, n);
        }
        prev_match = m.is_match;
      }
      for (i = 0; i < sp->len / 2; i++) {
        IbMatch t = g_array_index (sp, IbMatch, i);
        g_array_index (sp, IbMatch, i) =
            g_array_index (sp, IbMatch, sp->len - 1 - i);
        g_array_index (sp, IbMatch, sp->len - 1 - i) = t;
      }
      break;
  }
  for (i = 0; i < sp->len; i++) {
    IbMatch m = g_array_index (sp, IbMatch, i);
    if (!m.is_match)
      g_ptr_array_add (out, ib_ns_slice (ns, m.start, m.end));
  }
  g_array_free (sp, TRUE);
  return out;
}

static void
push_match (GArray *a, gsize start, gsize end, gboolean is_match)
{
  IbMatch m = { start, end, is_match };
  g_array_append_val (a, m);
}

GArray *
ib_find_matches_pred (const char *s, gsize len, IbCharPred pred,
    gpointer user_data)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (IbMatch));
  gsize last_offset = 0, last_seen = 0, b = 0;

  if (len == 0) {
    push_match (a, 0, 0, FALSE);
    return a;
  }
  while (b < len) {
    gunichar c = g_utf8_get_char (s + b);
    gsize n = g_utf8_next_char (s + b) - (s + b);
    last_seen = b + n;
    if (pred (c, user_data)) {
      if (last_offset < b)
        push_match (a, last_offset, b, FALSE);
      push_match (a, b, b + n, TRUE);
      last_offset = b + n;
    }
    b += n;
  }
  if (last_seen > last_offset)
    push_match (a, last_offset, last_seen, FALSE);
  return a;
}

static gboolean
char_eq (gunichar c, gpointer user_data)
{
  return c == GPOINTER_TO_UINT (user_data);
}

GArray *
ib_find_matches_char (const char *s, gsize len, gunichar c)
{
  return ib_find_matches_pred (s, len, char_eq, GUINT_TO_POINTER (c));
}

GArray *
ib_find_matches_literal (const char *s, gsize len, const char *lit)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (IbMatch));
  gsize ll = strlen (lit), prev = 0, i = 0;

  if (ll == 0) {
    /* an empty pattern matches nothing (the end is counted in chars) */
    push_match (a, 0, ib_utf8_count (s, len), FALSE);
    return a;
  }
  if (len == 0) {
    push_match (a, 0, 0, FALSE);
    return a;
  }
  while (i + ll <= len) {
    if (memcmp (s + i, lit, ll) == 0) {
      if (prev != i)
        push_match (a, prev, i, FALSE);
      push_match (a, i, i + ll, TRUE);
      i += ll;
      prev = i;
    } else {
      i++;
    }
  }
  if (prev != len)
    push_match (a, prev, len, FALSE);
  return a;
}

GArray *
ib_find_matches_regex (const char *s, gsize len, GRegex *re)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (IbMatch));
  GMatchInfo *mi = NULL;
  gsize prev = 0;

  if (len == 0) {
    push_match (a, 0, 0, FALSE);
    return a;
  }
  g_regex_match_full (re, s, len, 0, 0, &mi, NULL);
  while (g_match_info_matches (mi)) {
    gint ms, me;
    g_match_info_fetch_pos (mi, 0, &ms, &me);
    if (prev != (gsize) ms)
      push_match (a, prev, ms, FALSE);
    push_match (a, ms, me, TRUE);
    prev = me;
    if (!g_match_info_next (mi, NULL))
      break;
  }
  g_match_info_free (mi);
  if (prev != len)
    push_match (a, prev, len, FALSE);
  return a;
}

void
ib_matches_invert (GArray *matches)
{
  gsize i;

  for (i = 0; i < matches->len; i++)
    g_array_index (matches, IbMatch, i).is_match =
        !g_array_index (matches, IbMatch, i).is_match;
}
