/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LRU bookkeeping of a context's vision-output slots, keyed by content. */
#include "ib-frame-cache.h"

typedef struct
{
  IbFrameKey key;
  guint64 used; /* tick of the last use; 0: never */
  gboolean valid; /* holds key's output */
  gboolean pinned; /* used by the frames being set */
} Slot;

struct _IbFrameCache
{
  int n_slots;
  guint64 tick;
  Slot *slots; /* [n_slots] */
};

IbFrameCache *
ib_frame_cache_new (int n_slots)
{
  IbFrameCache *c;

  g_return_val_if_fail (n_slots > 0, NULL);
  c = g_new0 (IbFrameCache, 1);
  c->n_slots = n_slots;
  c->slots = g_new0 (Slot, n_slots);
  return c;
}

void
ib_frame_cache_free (IbFrameCache *c)
{
  if (c == NULL)
    return;
  g_free (c->slots);
  g_free (c);
}

void
ib_frame_cache_begin (IbFrameCache *c)
{
  int i;

  for (i = 0; i < c->n_slots; i++)
    c->slots[i].pinned = FALSE;
}

static gboolean
key_equal (const IbFrameKey *a, const IbFrameKey *b)
{
  return a->hash == b->hash && a->width == b->width && a->height == b->height &&
      a->format == b->format;
}

static void
use (IbFrameCache *c, int i)
{
  c->slots[i].used = ++c->tick;
  c->slots[i].pinned = TRUE;
}

int
ib_frame_cache_lookup (IbFrameCache *c, const IbFrameKey *key)
{
  int i;

  for (i = 0; i < c->n_slots; i++)
    if (c->slots[i].valid && key_equal (&c->slots[i].key, key)) {
      use (c, i);
      return i;
    }
  return -1;
}

/* Whether @a should be reused before @b: empty slots first, then the least
 * recently used. */
static gboolean
sooner (const Slot *a, const Slot *b)
{
  if (a->valid != b->valid)
    return !a->valid;
  return a->used < b->used;
}

int
ib_frame_cache_claim (IbFrameCache *c, const IbFrameKey *key)
{
  int i, best = -1;

  for (i = 0; i < c->n_slots; i++)
    if (!c->slots[i].pinned &&
        (best < 0 || sooner (&c->slots[i], &c->slots[best])))
      best = i;
  if (best < 0)
    return -1;
  c->slots[best].key = *key;
  c->slots[best].valid = FALSE;
  use (c, best);
  return best;
}

void
ib_frame_cache_commit (IbFrameCache *c, int slot)
{
  g_return_if_fail (slot >= 0 && slot < c->n_slots);
  c->slots[slot].valid = TRUE;
}
