/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which of a context's vision-output slots holds which frame: frames are
 * known by their content (ib_image_hash) and kind, slots are reused least
 * recently used first, and the slots of the frames being set are pinned. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* IbFrameKey.format of frames given as preprocessed float pixels. */
#define IB_FRAME_KEY_PIXELS (-1)

/* A frame's identity: its content hash and what else makes equal bytes
 * different frames (size and pixel format). */
typedef struct
{
  guint64 hash; /* XXH64 of the visible bytes */
  int width, height;
  int format; /* IbPixelFormat, or IB_FRAME_KEY_PIXELS */
} IbFrameKey;

typedef struct _IbFrameCache IbFrameCache;

/* Bookkeeping for @n_slots slots, all empty. (transfer full) */
IbFrameCache *ib_frame_cache_new (int n_slots);
void ib_frame_cache_free (IbFrameCache *c);

/* Starts a new set of frames: no slot is pinned any more. */
void ib_frame_cache_begin (IbFrameCache *c);

/* The slot whose output is @key's, pinned and made the most recent; -1 when
 * no slot holds it. */
int ib_frame_cache_lookup (IbFrameCache *c, const IbFrameKey *key);

/* A slot for @key's output to be computed into: an empty slot, else the
 * least recently used unpinned one. The slot is pinned and holds nothing
 * until ib_frame_cache_commit (a failed computation leaves it empty).
 * -1 when every slot is pinned. */
int ib_frame_cache_claim (IbFrameCache *c, const IbFrameKey *key);

/* @slot (from ib_frame_cache_claim) now holds its key's output. */
void ib_frame_cache_commit (IbFrameCache *c, int slot);

G_END_DECLS
