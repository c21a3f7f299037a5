/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Content hashes of frames: XXH64 (the xxHash specification, seed 0) over
 * the visible bytes of a frame, row by row, so that stride padding plays no
 * part.
 *
 * Why XXH64: the frame cache hashes every frame it is given, so the hash
 * must cost little beside preprocessing (a 1080p RGB frame: 1-2 ms on one
 * core of the development machine, where GLib's SHA-256 takes 53 ms).
 * XXH64 passes SMHasher; with width, height and format also compared, two
 * unrelated frames share a key with probability about 2^-64 (5e-20) per
 * comparison, so a stream comparing each frame with a dozen cached ones at
 * 30 fps for ten years stays below 1e-8. It is not collision-resistant
 * against crafted input: someone who controls the video could make two
 * frames that share a key, and the second would be answered as the first,
 * about that same stream. */
#pragma once

#include "image.h"

G_BEGIN_DECLS

/* Streaming XXH64 state; byte for byte the reference algorithm. */
typedef struct
{
  guint64 total_len;
  guint64 v[4];
  guint8 mem[32];
  guint mem_size;
  guint64 seed;
} IbXxh64;

void ib_xxh64_init (IbXxh64 *s, guint64 seed);
void ib_xxh64_update (IbXxh64 *s, const void *data, gsize len);
guint64 ib_xxh64_digest (const IbXxh64 *s);
/* One-shot XXH64 of @len bytes at @data. */
guint64 ib_xxh64 (const void *data, gsize len, guint64 seed);

/* XXH64 (seed 0) of the width × bytes-per-pixel visible bytes of each row
 * of @img (which must have passed ib_image_check), top row first: two
 * frames with the same pixels hash equal whatever their strides. */
guint64 ib_image_hash (const IbImage *img);

G_END_DECLS
