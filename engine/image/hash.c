/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* XXH64 as the xxHash specification defines it (doc/xxhash_spec.md), and
 * the content hash of a frame's visible bytes. */
#include "hash.h"

#include <string.h>

#define P1 G_GUINT64_CONSTANT (0x9E3779B185EBCA87)
#define P2 G_GUINT64_CONSTANT (0xC2B2AE3D27D4EB4F)
#define P3 G_GUINT64_CONSTANT (0x165667B19E3779F9)
#define P4 G_GUINT64_CONSTANT (0x85EBCA77C2B2AE63)
#define P5 G_GUINT64_CONSTANT (0x27D4EB2F165667C5)

static inline guint64
rotl (guint64 x, int r)
{
  return (x << r) | (x >> (64 - r));
}

static inline guint64
read64 (const guint8 *p)
{
  guint64 v;

  memcpy (&v, p, 8);
  return GUINT64_FROM_LE (v);
}

static inline guint32
read32 (const guint8 *p)
{
  guint32 v;

  memcpy (&v, p, 4);
  return GUINT32_FROM_LE (v);
}

static inline guint64
round64 (guint64 acc, guint64 input)
{
  acc += input * P2;
  acc = rotl (acc, 31);
  return acc * P1;
}

static inline guint64
merge (guint64 acc, guint64 val)
{
  acc ^= round64 (0, val);
  return acc * P1 + P4;
}

/* One 32-byte stripe into the four lanes. */
static inline void
stripe (guint64 *v, const guint8 *p)
{
  v[0] = round64 (v[0], read64 (p));
  v[1] = round64 (v[1], read64 (p + 8));
  v[2] = round64 (v[2], read64 (p + 16));
  v[3] = round64 (v[3], read64 (p + 24));
}

void
ib_xxh64_init (IbXxh64 *s, guint64 seed)
{
  memset (s, 0, sizeof (*s));
  s->seed = seed;
  s->v[0] = seed + P1 + P2;
  s->v[1] = seed + P2;
  s->v[2] = seed;
  s->v[3] = seed - P1;
}

void
ib_xxh64_update (IbXxh64 *s, const void *data, gsize len)
{
  const guint8 *p = data, *end = p + len;
  gsize fill;

  s->total_len += len;
  if (s->mem_size + len < 32) {
    memcpy (s->mem + s->mem_size, p, len);
    s->mem_size += (guint) len;
    return;
  }
  if (s->mem_size > 0) {
    fill = 32 - s->mem_size;
    memcpy (s->mem + s->mem_size, p, fill);
    stripe (s->v, s->mem);
    p += fill;
    s->mem_size = 0;
  }
  for (; end - p >= 32; p += 32)
    stripe (s->v, p);
  memcpy (s->mem, p, end - p);
  s->mem_size = (guint) (end - p);
}

guint64
ib_xxh64_digest (const IbXxh64 *s)
{
  const guint8 *p = s->mem, *end = s->mem + s->mem_size;
  guint64 h;

  if (s->total_len >= 32) {
    h = rotl (s->v[0], 1) + rotl (s->v[1], 7) + rotl (s->v[2], 12) +
        rotl (s->v[3], 18);
    h = merge (h, s->v[0]);
    h = merge (h, s->v[1]);
    h = merge (h, s->v[2]);
    h = merge (h, s->v[3]);
  } else {
    h = s->seed + P5;
  }
  h += s->total_len;
  for (; end - p >= 8; p += 8) {
    h ^= round64 (0, read64 (p));
    h = rotl (h, 27) * P1 + P4;
  }
  if (end - p >= 4) {
    h ^= (guint64) read32 (p) * P1;
    h = rotl (h, 23) * P2 + P3;
    p += 4;
  }
  for (; p < end; p++) {
    h ^= *p * P5;
    h = rotl (h, 11) * P1;
  }
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

guint64
ib_xxh64 (const void *data, gsize len, guint64 seed)
{
  IbXxh64 s;

  ib_xxh64_init (&s, seed);
  ib_xxh64_update (&s, data, len);
  return ib_xxh64_digest (&s);
}

guint64
ib_image_hash (const IbImage *img)
{
  const gsize row = (gsize) img->width * ib_pixel_format_get_bpp (img->format);
  IbXxh64 s;
  int y;

  ib_xxh64_init (&s, 0);
  for (y = 0; y < img->height; y++)
    ib_xxh64_update (&s, img->data + (gsize) y * img->stride, row);
  return ib_xxh64_digest (&s);
}
