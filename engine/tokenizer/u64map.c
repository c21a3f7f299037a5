/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small open-addressing hash map from 64-bit keys to 64-bit values (BPE merges, trie edges). */
#include "tokenizer-private.h"

struct _IbU64Map
{
  guint64 *keys;
  guint64 *values;
  guint8 *used;
  gsize cap; /* power of two */
  gsize n;
};

static inline gsize
hash64 (guint64 k)
{
  k ^= k >> 33;
  k *= G_GUINT64_CONSTANT (0xff51afd7ed558ccd);
  k ^= k >> 33;
  k *= G_GUINT64_CONSTANT (0xc4ceb9fe1a85ec53);
  k ^= k >> 33;
  return (gsize) k;
}

IbU64Map *
ib_u64_map_new (gsize expected)
{
  IbU64Map *m = g_new0 (IbU64Map, 1);

  m->cap = 16;
  while (m->cap < expected * 2)
    m->cap *= 2;
  m->keys = g_new (guint64, m->cap);
  m->values = g_new (guint64, m->cap);
  m->used = g_new0 (guint8, m->cap);
  return m;
}

void
ib_u64_map_free (IbU64Map *m)
{
  if (m == NULL)
    return;
  g_free (m->keys);
  g_free (m->values);
  g_free (m->used);
  g_free (m);
}

static void
grow (IbU64Map *m)
{
  IbU64Map big;
  gsize i;

  big.cap = m->cap * 2;
  big.n = 0;
  big.keys = g_new (guint64, big.cap);
  big.values = g_new (guint64, big.cap);
  big.used = g_new0 (guint8, big.cap);
  for (i = 0; i < m->cap; i++)
    if (m->used[i])
      ib_u64_map_set (&big, m->keys[i], m->values[i]);
  g_free (m->keys);
  g_free (m->values);
  g_free (m->used);
  *m = big;
}

void
ib_u64_map_set (IbU64Map *m, guint64 key, guint64 value)
{
  gsize i;

  if ((m->n + 1) * 2 > m->cap)
    grow (m);
  i = hash64 (key) & (m->cap - 1);
  while (m->used[i] && m->keys[i] != key)
    i = (i + 1) & (m->cap - 1);
  if (!m->used[i]) {
    m->used[i] = 1;
    m->keys[i] = key;
    m->n++;
  }
  m->values[i] = value;
}

gboolean
ib_u64_map_get (const IbU64Map *m, guint64 key, guint64 *value)
{
  gsize i = hash64 (key) & (m->cap - 1);

  while (m->used[i]) {
    if (m->keys[i] == key) {
      *value = m->values[i];
      return TRUE;
    }
    i = (i + 1) & (m->cap - 1);
  }
  return FALSE;
}
