/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sentencepiece's precompiled_charsmap: a Darts double-array trie over UTF-8 keys plus NUL-separated replacements. */
#include "tokenizer-private.h"

#include <string.h>

struct _IbCharsmap
{
  guint32 *units; /* the double array */
  gsize n_units;
  char *normalized; /* replacement strings, NUL-separated */
  gsize norm_len;
};

/* One unit of the double array (Darts-clone layout):
 *   bit 8 has_leaf, bits 0-7 (+ bit 31) label, value in the low 31 bits
 *   of a leaf unit, offset in bits 10-31 scaled by bit 9. */
static inline gboolean
unit_has_leaf (guint32 u)
{
  return (u >> 8) & 1;
}

static inline guint32
unit_value (guint32 u)
{
  return u & 0x7FFFFFFFu;
}

static inline guint32
unit_label (guint32 u)
{
  return u & (0x80000000u | 0xFFu);
}

static inline guint32
unit_offset (guint32 u)
{
  return (u >> 10) << ((u & (1u << 9)) >> 6);
}

IbCharsmap *
ib_charsmap_new (const char *base64, GError **error)
{
  IbCharsmap *m = NULL;
  guchar *blob = NULL;
  gsize blob_len = 0, i;
  guint32 trie_size;

  blob = g_base64_decode (base64, &blob_len);
  if (blob_len < 4) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "precompiled_charsmap is too short (%" G_GSIZE_FORMAT " bytes)",
        blob_len);
    goto out;
  }
  trie_size =
      blob[0] | (blob[1] << 8) | (blob[2] << 16) | ((guint32) blob[3] << 24);
  if ((gsize) trie_size / 4 * 4 > blob_len - 4) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "precompiled_charsmap: trie of %u bytes in a %" G_GSIZE_FORMAT
        "-byte blob",
        trie_size, blob_len);
    goto out;
  }
  m = g_new0 (IbCharsmap, 1);
  m->n_units = trie_size / 4;
  m->units = g_new (guint32, m->n_units + 1);
  for (i = 0; i < m->n_units; i++) {
    const guchar *p = blob + 4 + 4 * i;
    m->units[i] = p[0] | (p[1] << 8) | (p[2] << 16) | ((guint32) p[3] << 24);
  }
  m->norm_len = blob_len - 4 - 4 * m->n_units;
  m->normalized = g_malloc (m->norm_len + 1);
  memcpy (m->normalized, blob + 4 + 4 * m->n_units, m->norm_len);
  m->normalized[m->norm_len] = '\0';
  /* NUL-separated UTF-8 strings */
  for (i = 0; i < m->norm_len; i += strlen (m->normalized + i) + 1) {
    if (!g_utf8_validate (m->normalized + i, -1, NULL))
      break;
  }
  if (i < m->norm_len) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "precompiled_charsmap: replacement strings are not UTF-8");
    g_clear_pointer (&m, ib_charsmap_free);
  }

out:
  g_free (blob);
  return m;
}

void
ib_charsmap_free (IbCharsmap *m)
{
  if (m == NULL)
    return;
  g_free (m->units);
  g_free (m->normalized);
  g_free (m);
}

const char *
ib_charsmap_lookup (const IbCharsmap *m, const char *key, gsize key_len,
    gsize *out_len)
{
  gsize node = 0, i, idx, end;
  guint32 unit;

  if (m->n_units == 0)
    return NULL;
  unit = m->units[0];
  node ^= unit_offset (unit);
  for (i = 0; i < key_len; i++) {
    guchar c = (guchar) key[i];
    if (c == 0)
      break;
    node ^= c;
    if (node >= m->n_units)
      return NULL;
    unit = m->units[node];
    if (unit_label (unit) != c)
      return NULL;
    node ^= unit_offset (unit);
    if (unit_has_leaf (unit)) {
      /* the first (shortest) match is the one used */
      if (node >= m->n_units)
        return NULL;
      idx = unit_value (m->units[node]);
      if (idx > m->norm_len)
        return NULL;
      end = idx;
      while (end < m->norm_len && m->normalized[end] != '\0')
        end++;
      /* the strings are UTF-8 (checked when loaded), but a hostile trie may
       * point inside a character: no replacement then (fuzz-charsmap) */
      if (!g_utf8_validate (m->normalized + idx, (gssize) (end - idx), NULL))
        return NULL;
      *out_len = end - idx;
      return m->normalized + idx;
    }
  }
  return NULL;
}
