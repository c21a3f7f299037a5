/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checkpoint tensors to device buffers and packed weights, read ahead on a thread. */
#define _GNU_SOURCE /* mremap */
#include "loader.h"

#include <string.h>
#include <sys/mman.h>

#include "ib-convert.h"
#include "half.h"
#include "ib-error.h"
#include "ib-expected.h"
#include "pack.h"

/* Staged tensors that the model skipped this many requests ago are
 * dropped: it asks in nearly, not exactly, the order of the plan. */
#define STALE_AFTER 16

/* The read-ahead never holds less than this (small models)... */
#define MIN_BUDGET ((gsize) 64 << 20)
/* ...nor more than this with freed blocks kept for reuse, except for one
 * tensor larger than it alone (7B: the 524 MB f32 embedding table and
 * LM head; every other tensor is at most 180 MB): staging is bounded
 * whatever the model, and peak memory is the weights plus this. */
#define MAX_BUDGET ((gsize) 512 << 20)

/* Tensors this large are read with O_DIRECT: the disk writes into the
 * staging block, no copy out of the page cache (which costs as much CPU
 * as packing), and a checkpoint larger than memory does not evict
 * everything else from the cache. */
#define DIRECT_MIN ((gsize) 4 << 20)

/* Host buffers for raw tensor bytes. Large ones are mapped and unmapped
 * directly, so that nothing stays in malloc's arenas after loading (the
 * reader thread has its own). Not on transparent huge pages: on the VMs
 * measured, zeroing fresh huge pages cost more than the 4 KiB faults. */
#define MAP_MIN ((gsize) 2 << 20) /* and the unit they are mapped in */

static gsize
mapped_size (gsize size)
{
  return (size + MAP_MIN - 1) / MAP_MIN * MAP_MIN;
}

static guint8 *
map_block (gsize size)
{
  void *p = mmap (NULL, mapped_size (size), PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

  return p == MAP_FAILED ? NULL : p;
}

/* One tensor read ahead. */
typedef struct
{
  guint8 *data; /* the staging block */
  gsize size; /* its size */
  const guint8 *bytes; /* the tensor inside it */
  GError *error; /* the read failed: reported to whoever asks for it */
} Staged;

/* The read-ahead: a thread reads the plan's tensors in order into staging
 * buffers, at most @budget bytes ahead of the model. */
struct _IbLoaderReader
{
  GThread *thread;
  GMutex lock;
  GCond cond;
  const IbTensor **plan;
  guint n_plan;
  GHashTable *index; /* IbTensor * -> plan index + 1 */
  GHashTable *staged; /* plan index + 1 -> Staged * */
  guint next; /* next plan entry to read */
  guint reading; /* plan index + 1 being read, or 0 */
  guint asked; /* plan index of the latest request */
  gsize held; /* bytes staged, being read, or taken and not yet released */
  gsize budget;
  gboolean stop;
  /* freed staging blocks, reused for the next tensors (smallest that
   * fits): the kernel zeroes fresh pages, which costs more than reading
   * them from disk; at most the budget */
  GSList *pool; /* of guint8 * blocks */
  GHashTable *caps; /* every mapped block -> its mapped size */
  gsize pooled;
};

static GSList *pool_smallest (IbLoaderReader *r);

/* Takes pooled blocks out (smallest first) while staged and pooled bytes
 * together exceed the budget, or all when stopping (@r locked); returns
 * them for unmapping. */
static GSList *
pool_trim (IbLoaderReader *r)
{
  GSList *drop = NULL, *l;

  while (r->pool && (r->stop || r->pooled + r->held > r->budget)) {
    l = pool_smallest (r);
    r->pool = g_slist_remove_link (r->pool, l);
    r->pooled -= GPOINTER_TO_SIZE (g_hash_table_lookup (r->caps, l->data));
    drop = g_slist_concat (l, drop);
  }
  return drop;
}

/* Unmaps the blocks of @drop (@r locked) and frees the list. */
static void
pool_unmap (IbLoaderReader *r, GSList *drop)
{
  GSList *l;

  for (l = drop; l; l = l->next) {
    munmap (l->data, GPOINTER_TO_SIZE (g_hash_table_lookup (r->caps, l->data)));
    g_hash_table_remove (r->caps, l->data);
  }
  g_slist_free (drop);
}

/* A buffer for @size bytes of tensor data. */
static guint8 *
staging_alloc (IbLoaderReader *r, gsize size)
{
  GSList *l, *best = NULL;
  gsize cap, best_cap = 0;
  guint8 *p = NULL;

  if (size < MAP_MIN)
    return g_try_malloc (MAX (size, 1));
  if (r == NULL)
    return map_block (size);
  g_mutex_lock (&r->lock);
  for (l = r->pool; l; l = l->next) {
    cap = GPOINTER_TO_SIZE (g_hash_table_lookup (r->caps, l->data));
    if (cap >= size && (best == NULL || cap < best_cap)) {
      best = l;
      best_cap = cap;
    }
  }
  if (best == NULL) {
    /* none large enough: the largest grows (mremap keeps its pages, only
     * the new tail is fresh), not a new block beside it: the kernel zeroes
     * fresh pages, the biggest CPU cost of loading after conversion */
    for (l = r->pool; l; l = l->next) {
      cap = GPOINTER_TO_SIZE (g_hash_table_lookup (r->caps, l->data));
      if (best == NULL || cap > best_cap) {
        best = l;
        best_cap = cap;
      }
    }
  }
  if (best) {
    p = best->data;
    r->pool = g_slist_delete_link (r->pool, best);
    r->pooled -= best_cap;
    if (best_cap < size) {
      void *q = mremap (p, best_cap, mapped_size (size), MREMAP_MAYMOVE);
      g_hash_table_remove (r->caps, p);
      if (q == MAP_FAILED) {
        munmap (p, best_cap);
        p = NULL;
      } else {
        p = q;
        g_hash_table_insert (r->caps, p, GSIZE_TO_POINTER (mapped_size (size)));
      }
      pool_unmap (r, pool_trim (r));
      g_mutex_unlock (&r->lock);
      return p;
    }
  } else {
    /* a new block: first give back what the bound no longer allows */
    pool_unmap (r, pool_trim (r));
  }
  g_mutex_unlock (&r->lock);
  if (p == NULL && (p = map_block (size)) != NULL) {
    g_mutex_lock (&r->lock);
    g_hash_table_insert (r->caps, p, GSIZE_TO_POINTER (mapped_size (size)));
    g_mutex_unlock (&r->lock);
  }
  return p;
}

/* The smallest pooled block (@r locked), or NULL. */
static GSList *
pool_smallest (IbLoaderReader *r)
{
  GSList *l, *best = NULL;
  gsize cap, best_cap = 0;

  for (l = r->pool; l; l = l->next) {
    cap = GPOINTER_TO_SIZE (g_hash_table_lookup (r->caps, l->data));
    if (best == NULL || cap < best_cap) {
      best = l;
      best_cap = cap;
    }
  }
  return best;
}

static void
staging_free (IbLoaderReader *r, guint8 *p, gsize size)
{
  if (size < MAP_MIN) {
    g_free (p);
    return;
  }
  if (p == NULL)
    return;
  if (r == NULL) {
    munmap (p, mapped_size (size));
    return;
  }
  g_mutex_lock (&r->lock);
  if (!g_hash_table_contains (r->caps, p)) {
    g_mutex_unlock (&r->lock);
    munmap (p, mapped_size (size)); /* mapped before the read-ahead began */
    return;
  }
  r->pool = g_slist_prepend (r->pool, p);
  r->pooled += GPOINTER_TO_SIZE (g_hash_table_lookup (r->caps, p));
  pool_unmap (r, pool_trim (r));
  g_mutex_unlock (&r->lock);
}

static void
pool_clear (IbLoaderReader *r)
{
  GSList *l;

  for (l = r->pool; l; l = l->next)
    munmap (l->data, GPOINTER_TO_SIZE (g_hash_table_lookup (r->caps, l->data)));
  g_clear_pointer (&r->pool, g_slist_free);
  r->pooled = 0;
}

/* Reads @t into a new staging block (*@block, *@size); returns the
 * tensor's first byte in it, aligned to its element size, or NULL. */
static const guint8 *
read_tensor (IbLoaderReader *r, const IbTensor *t, guint8 **block, gsize *size,
    GError **error)
{
  const gboolean direct = t->n_bytes >= DIRECT_MIN;
  const guint8 *data;
  gboolean ok;

  *size = direct ? ib_tensor_direct_size (t) : t->n_bytes;
  *block = staging_alloc (r, *size);
  if (*block == NULL) {
    g_set_error (error, IB_ERROR, IB_ERROR_NO_MEMORY,
        "out of memory reading tensor %s (%" G_GSIZE_FORMAT " bytes)", t->name,
        t->n_bytes);
    return NULL;
  }
  data = *block;
  ok = direct ? ib_tensor_read_direct (t, *block, &data, error) :
                ib_tensor_read_bytes (t, 0, t->n_bytes, *block, error);
  if (!ok)
    return NULL;
  if ((guintptr) data % ib_dtype_size (t->dtype) != 0) {
    memmove (*block, data, t->n_bytes);
    data = *block;
  }
  return data;
}

/* Frees @s; its buffer goes back to @r's pool (@r unlocked). */
static void
staged_free (IbLoaderReader *r, Staged *s)
{
  staging_free (r, s->data, s->size);
  g_clear_error (&s->error);
  g_free (s);
}

static gpointer
reader_main (gpointer data)
{
  IbLoaderReader *r = data;

  g_mutex_lock (&r->lock);
  while (!r->stop) {
    const IbTensor *t;
    Staged *s;
    guint at;

    if (r->next >= r->n_plan ||
        (r->held > 0 && r->held + r->plan[r->next]->n_bytes > r->budget)) {
      g_cond_wait (&r->cond, &r->lock);
      continue;
    }
    at = r->next++;
    if (g_hash_table_contains (r->staged, GUINT_TO_POINTER (at + 1)))
      continue;
    t = r->plan[at];
    r->reading = at + 1;
    r->held += t->n_bytes;
    g_mutex_unlock (&r->lock);

    s = g_new0 (Staged, 1);
    s->bytes = read_tensor (r, t, &s->data, &s->size, &s->error);

    g_mutex_lock (&r->lock);
    r->reading = 0;
    if (r->stop || at + STALE_AFTER < r->asked) {
      r->held -= t->n_bytes;
      g_mutex_unlock (&r->lock);
      staged_free (r, s);
      g_mutex_lock (&r->lock);
    } else {
      g_hash_table_insert (r->staged, GUINT_TO_POINTER (at + 1), s);
    }
    g_cond_broadcast (&r->cond);
  }
  g_mutex_unlock (&r->lock);
  return NULL;
}

void
ib_loader_read_ahead (IbLoader *l, const IbModelConfig *cfg)
{
  GPtrArray *expected;
  IbLoaderReader *r;
  gsize largest = 0;
  guint i;

  g_return_if_fail (l->reader == NULL);

  expected = ib_expected_tensors (cfg);
  r = g_new0 (IbLoaderReader, 1);
  r->plan = g_new (const IbTensor *, expected->len);
  r->index = g_hash_table_new (NULL, NULL);
  r->staged = g_hash_table_new (NULL, NULL);
  r->caps = g_hash_table_new (NULL, NULL);
  for (i = 0; i < expected->len; i++) {
    const IbExpectedTensor *e = g_ptr_array_index (expected, i);
    const IbTensor *t = ib_safetensors_get (l->st, e->name);

    /* absent (tied) and optional tensors are never asked for by name */
    if (t == NULL || e->optional || g_hash_table_contains (r->index, t))
      continue;
    g_hash_table_insert (r->index, (gpointer) t,
        GUINT_TO_POINTER (r->n_plan + 1));
    r->plan[r->n_plan++] = t;
    largest = MAX (largest, t->n_bytes);
  }
  g_ptr_array_unref (expected);
  /* the tensor being packed and the next one, within the bounds */
  r->budget = CLAMP (2 * largest, MIN_BUDGET, MAX_BUDGET);
  g_mutex_init (&r->lock);
  g_cond_init (&r->cond);
  r->thread = g_thread_try_new ("ib-read", reader_main, r, NULL);
  if (r->thread == NULL) {
    /* no thread: every tensor is read when asked for */
    l->reader = r;
    ib_loader_clear (l);
    return;
  }
  l->reader = r;
}

void
ib_loader_clear (IbLoader *l)
{
  IbLoaderReader *r = l->reader;
  GHashTableIter it;
  gpointer value;

  if (r == NULL)
    return;
  g_mutex_lock (&r->lock);
  r->stop = TRUE;
  g_cond_broadcast (&r->cond);
  g_mutex_unlock (&r->lock);
  if (r->thread)
    g_thread_join (r->thread);
  g_hash_table_iter_init (&it, r->staged);
  while (g_hash_table_iter_next (&it, NULL, &value))
    staged_free (r, value); /* stopped: unmapped, not pooled */
  g_hash_table_unref (r->staged);
  pool_clear (r);
  g_hash_table_unref (r->caps);
  g_hash_table_unref (r->index);
  g_free (r->plan);
  g_mutex_clear (&r->lock);
  g_cond_clear (&r->cond);
  g_free (r);
  l->reader = NULL;
}

/* Raw bytes of one tensor: from the read-ahead or read when asked. */
typedef struct
{
  guint8 *data; /* staging block */
  gsize size; /* its size */
  const guint8 *bytes; /* the tensor's first byte in it */
  gsize held; /* counted in the read-ahead's budget, or 0 */
} Bytes;

/* The read-ahead's copy of @t, waiting for it if it is being read; NULL
 * if it has none (then the reader skips past @t). */
static Staged *
take_staged (IbLoaderReader *r, const IbTensor *t)
{
  GHashTableIter it;
  gpointer key, value;
  GSList *stale = NULL, *l;
  Staged *s = NULL;
  guint at;

  if (r == NULL)
    return NULL;
  g_mutex_lock (&r->lock);
  at = GPOINTER_TO_UINT (g_hash_table_lookup (r->index, t));
  if (at == 0)
    goto out;
  at--;
  r->asked = at;
  /* what the model skipped is not coming back soon */
  g_hash_table_iter_init (&it, r->staged);
  while (g_hash_table_iter_next (&it, &key, &value)) {
    if (GPOINTER_TO_UINT (key) - 1 + STALE_AFTER < at) {
      r->held -= r->plan[GPOINTER_TO_UINT (key) - 1]->n_bytes;
      stale = g_slist_prepend (stale, value);
      g_hash_table_iter_steal (&it);
    }
  }
  while (r->reading == at + 1)
    g_cond_wait (&r->cond, &r->lock);
  if (!g_hash_table_steal_extended (r->staged, GUINT_TO_POINTER (at + 1), NULL,
          (gpointer *) &s) &&
      r->next <= at)
    r->next = at + 1; /* read here; the reader goes on after it */
  g_cond_broadcast (&r->cond);
out:
  g_mutex_unlock (&r->lock);
  for (l = stale; l; l = l->next)
    staged_free (r, l->data);
  g_slist_free (stale);
  return s;
}

static void
bytes_clear (IbLoader *l, Bytes *b)
{
  IbLoaderReader *r = l->reader;

  if (b->data == NULL)
    return;
  /* no longer held before it is pooled: the pool's bound counts both */
  if (b->held && r) {
    g_mutex_lock (&r->lock);
    r->held -= b->held;
    g_cond_broadcast (&r->cond);
    g_mutex_unlock (&r->lock);
  }
  staging_free (r, b->data, b->size);
  memset (b, 0, sizeof (*b));
}

static gboolean
get_bytes (IbLoader *l, const IbTensor *t, Bytes *out, GError **error)
{
  Staged *s = take_staged (l->reader, t);

  memset (out, 0, sizeof (*out));
  if (s != NULL) {
    out->data = g_steal_pointer (&s->data);
    out->size = s->size;
    out->bytes = s->bytes;
    out->held = t->n_bytes;
    if (s->error)
      g_propagate_error (error, g_steal_pointer (&s->error));
    g_free (s);
  } else {
    out->bytes = read_tensor (l->reader, t, &out->data, &out->size, error);
  }
  if (out->bytes == NULL) {
    bytes_clear (l, out);
    return FALSE;
  }
  return TRUE;
}

/* @t's bytes into @dst (t->n_bytes). */
static gboolean
read_into (IbLoader *l, const IbTensor *t, guint8 *dst, GError **error)
{
  Staged *s = take_staged (l->reader, t);
  gboolean ok = TRUE;
  Bytes b;

  if (s == NULL)
    return ib_tensor_read_bytes (t, 0, t->n_bytes, dst, error);
  b = (Bytes){ g_steal_pointer (&s->data), s->size, s->bytes, t->n_bytes };
  if (s->error) {
    g_propagate_error (error, g_steal_pointer (&s->error));
    ok = FALSE;
  } else {
    memcpy (dst, b.bytes, t->n_bytes);
  }
  g_free (s);
  bytes_clear (l, &b);
  return ok;
}

/* The device layer's name for a weight dtype (ib_load_tensor checked it
 * is one). */
static IbClDtype
cl_dtype (IbDtype dtype)
{
  switch (dtype) {
    case IB_DTYPE_F16:
      return IB_CL_DTYPE_F16;
    case IB_DTYPE_BF16:
      return IB_CL_DTYPE_BF16;
    default:
      return IB_CL_DTYPE_F32;
  }
}

const IbTensor *
ib_load_tensor (IbLoader *l, const char *name, guint64 n, GError **error)
{
  const IbTensor *t = ib_safetensors_get (l->st, name);

  if (t == NULL) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT, "%s: tensor %s is missing",
        ib_safetensors_get_source (l->st), name);
    return NULL;
  }
  if (!ib_dtype_is_supported_weight (t->dtype)) {
    g_set_error (error, IB_ERROR, IB_ERROR_UNSUPPORTED,
        "%s: tensor %s has dtype %s; weights must be F32, F16 or BF16", t->file,
        name, ib_dtype_name (t->dtype));
    return NULL;
  }
  if (n && t->n_elements != n) {
    char *shape = ib_shape_to_string (t->n_dims, t->shape);
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: tensor %s has shape %s (%" G_GUINT64_FORMAT " elements), the "
        "configuration needs %" G_GUINT64_FORMAT,
        t->file, name, shape, t->n_elements, n);
    g_free (shape);
    return NULL;
  }
  return t;
}

/* Mixed dtypes among the parts: everything through f32 (rare). */
static IbClWeight *
load_linear_f32 (IbLoader *l, const char *const *weights,
    const char *const *biases, gint64 n, gint64 k, GError **error)
{
  IbClWeight *w = NULL;
  float *wbuf = NULL, *bbuf = NULL;
  gint64 row = 0;
  guint i;

  wbuf = g_try_malloc ((gsize) n * k * sizeof (float));
  if (biases)
    bbuf = g_try_malloc0 ((gsize) n * sizeof (float));
  if (wbuf == NULL || (biases && bbuf == NULL)) {
    g_set_error (error, IB_ERROR, IB_ERROR_NO_MEMORY,
        "out of memory converting %s", weights[0]);
    goto out;
  }
  for (i = 0; weights[i]; i++) {
    const IbTensor *t = ib_safetensors_get (l->st, weights[i]);
    if (!ib_tensor_read_f32 (t, 0, t->n_elements, wbuf + row * k, error))
      goto out;
    if (biases && biases[i]) {
      const IbTensor *b = ib_load_tensor (l, biases[i], t->shape[0], error);
      if (b == NULL ||
          !ib_tensor_read_f32 (b, 0, b->n_elements, bbuf + row, error))
        goto out;
    }
    row += t->shape[0];
  }
  w = ib_cl_weight_new (l->dev, wbuf, IB_CL_DTYPE_F32, (int) n, (int) k, bbuf,
      l->storage, error);
out:
  g_free (wbuf);
  g_free (bbuf);
  return w;
}

/* The name a linear layer is recorded under in the cache: its parts. */
static char *
linear_name (const char *const *weights, const char *const *biases)
{
  GString *s = g_string_new ("linear:");
  guint i;

  for (i = 0; weights[i]; i++) {
    g_string_append_printf (s, "%s%s", i ? "+" : "", weights[i]);
    if (biases)
      g_string_append_printf (s, "|%s", biases[i] ? biases[i] : "-");
  }
  return g_string_free (s, FALSE);
}

/* The cache gave up on its entry: the checkpoint is read ahead from here
 * on. */
static void
cache_fallback (IbLoader *l)
{
  if (l->reader == NULL && l->cfg != NULL)
    ib_loader_read_ahead (l, l->cfg);
}

static IbClWeight *load_linear (IbLoader *l, const char *const *weights,
    const char *const *biases, GError **error);

IbClWeight *
ib_load_linear (IbLoader *l, const char *const *weights,
    const char *const *biases, GError **error)
{
  char *name = l->cache ? linear_name (weights, biases) : NULL;
  IbClWeight *w = NULL;

  if (ib_weight_cache_reading (l->cache)) {
    w = ib_weight_cache_get_weight (l->cache, l->dev, name);
    if (w == NULL)
      cache_fallback (l);
  }
  if (w == NULL) {
    w = load_linear (l, weights, biases, error);
    if (w && l->cache)
      ib_weight_cache_put_weight (l->cache, name, w);
  }
  if (w)
    l->bytes += ib_cl_weight_get_bytes (w);
  g_free (name);
  return w;
}

static IbClWeight *
load_linear (IbLoader *l, const char *const *weights, const char *const *biases,
    GError **error)
{
  const IbTensor *t, *b;
  IbClWeight *w = NULL;
  Bytes wb = { 0 }, bb = { 0 };
  gint64 n = 0, k = -1;
  gsize es, row_bytes = 0;
  IbDtype dtype = IB_DTYPE_F32;
  gboolean same = TRUE;
  guint i, count = g_strv_length ((char **) weights);

  for (i = 0; i < count; i++) {
    t = ib_load_tensor (l, weights[i], 0, error);
    if (t == NULL)
      return NULL;
    if (t->n_dims < 2 ||
        (k >= 0 && t->n_elements / t->shape[0] != (guint64) k)) {
      g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
          "%s: tensor %s is not a [n, %" G_GINT64_FORMAT "] matrix", t->file,
          weights[i], k);
      return NULL;
    }
    k = (gint64) (t->n_elements / t->shape[0]);
    n += t->shape[0];
    if (i == 0)
      dtype = t->dtype;
    same = same && t->dtype == dtype;
    if (biases && biases[i]) {
      b = ib_load_tensor (l, biases[i], t->shape[0], error);
      if (b == NULL)
        return NULL;
      same = same && b->dtype == dtype;
    }
  }
  if (!same)
    return load_linear_f32 (l, weights, biases, n, k, error);

  /* The parts as stored, stacked along n: [n, k] in one buffer, packed and
   * converted by the device layer on all cores. One part is used straight
   * from the read-ahead. */
  es = ib_dtype_size (dtype);
  if (count == 1) {
    if (!get_bytes (l, ib_safetensors_get (l->st, weights[0]), &wb, error))
      goto out;
  } else {
    wb.size = (gsize) n * k * es;
    wb.bytes = wb.data = staging_alloc (l->reader, wb.size);
    if (wb.data == NULL) {
      g_set_error (error, IB_ERROR, IB_ERROR_NO_MEMORY,
          "out of memory reading %s (%" G_GSIZE_FORMAT " bytes)", weights[0],
          wb.size);
      goto out;
    }
    for (i = 0; i < count; i++) {
      t = ib_safetensors_get (l->st, weights[i]);
      if (!read_into (l, t, wb.data + row_bytes, error))
        goto out;
      row_bytes += t->n_bytes;
    }
  }
  if (biases) {
    /* zeros (in every weight dtype) for a part without a bias */
    bb.size = (gsize) n * es;
    bb.bytes = bb.data = staging_alloc (l->reader, bb.size);
    if (bb.data == NULL) {
      g_set_error (error, IB_ERROR, IB_ERROR_NO_MEMORY, "out of memory");
      goto out;
    }
    memset (bb.data, 0, bb.size);
    row_bytes = 0;
    for (i = 0; i < count; i++) {
      t = ib_safetensors_get (l->st, weights[i]);
      if (biases[i] &&
          !read_into (l, ib_safetensors_get (l->st, biases[i]),
              bb.data + row_bytes, error))
        goto out;
      row_bytes += (gsize) t->shape[0] * es;
    }
  }
  w = ib_cl_weight_new (l->dev, wb.bytes, cl_dtype (dtype), (int) n, (int) k,
      bb.bytes, l->storage, error);
out:
  bytes_clear (l, &wb);
  bytes_clear (l, &bb);
  return w;
}

IbClWeight *
ib_load_linear1 (IbLoader *l, gboolean with_bias, GError **error,
    const char *prefix_fmt, ...)
{
  va_list ap;
  char *prefix, *wn, *bn;
  IbClWeight *w;

  va_start (ap, prefix_fmt);
  prefix = g_strdup_vprintf (prefix_fmt, ap);
  va_end (ap);
  wn = g_strconcat (prefix, ".weight", NULL);
  bn = g_strconcat (prefix, ".bias", NULL);
  {
    const char *ws[] = { wn, NULL }, *bs[] = { bn, NULL };
    w = ib_load_linear (l, ws, with_bias ? bs : NULL, error);
  }
  g_free (prefix);
  g_free (wn);
  g_free (bn);
  return w;
}

/* @t (@n elements) as @to in a new host allocation for a device buffer. */
static gpointer
load_converted (IbLoader *l, const IbTensor *t, gsize n, IbClDtype to,
    GError **error)
{
  gpointer host = NULL;
  Bytes raw;

  if (!get_bytes (l, t, &raw, error))
    return NULL;
  host = ib_cl_host_alloc (n * ib_cl_dtype_size (to));
  if (host == NULL)
    g_set_error (error, IB_ERROR, IB_ERROR_NO_MEMORY,
        "out of memory loading tensor %s", t->name);
  else
    ib_cl_convert (host, to, raw.bytes, cl_dtype (t->dtype), n);
  bytes_clear (l, &raw);
  return host;
}

/* fp16 precision is transformers' model.half() on fp32 arithmetic: every
 * parameter rounded to fp16 once, vectors (norms, biases, position tables,
 * query tokens, relative attention biases) too, though they stay fp32 on
 * the device. */
static void
round_to_f16 (float *x, gsize n)
{
  gsize i;

  for (i = 0; i < n; i++)
    x[i] = ib_cl_f16_to_f32 (ib_cl_f32_to_f16 (x[i]));
}

/* @t (@n elements) as a device buffer of @to: from the cache's entry,
 * or converted from the checkpoint (and recorded). */
static IbClBuffer *
load_buffer (IbLoader *l, const IbTensor *t, gsize n, IbClDtype to,
    GError **error)
{
  const gsize bytes = n * ib_cl_dtype_size (to);
  char *name = NULL;
  IbClBuffer *buf = NULL;
  gpointer host;

  if (l->cache)
    name = g_strdup_printf ("%s:%s", ib_cl_dtype_name (to), t->name);
  if (ib_weight_cache_reading (l->cache)) {
    buf = ib_weight_cache_get_buffer (l->cache, l->dev, name, bytes);
    if (buf == NULL)
      cache_fallback (l);
  }
  if (buf == NULL && (host = load_converted (l, t, n, to, error)) != NULL) {
    if (to == IB_CL_DTYPE_F32 && l->storage == IB_CL_DTYPE_F16)
      round_to_f16 (host, n);
    ib_weight_cache_put_buffer (l->cache, name, host, bytes);
    buf = ib_cl_buffer_new_take_host (l->dev, host, bytes, error);
  }
  if (buf)
    l->bytes += bytes;
  g_free (name);
  return buf;
}

IbClBuffer *
ib_load_vector (IbLoader *l, gsize n, GError **error, const char *name_fmt, ...)
{
  va_list ap;
  char *name;
  const IbTensor *t;
  IbClBuffer *buf = NULL;

  va_start (ap, name_fmt);
  name = g_strdup_vprintf (name_fmt, ap);
  va_end (ap);
  t = ib_load_tensor (l, name, n, error);
  if (t != NULL)
    buf = load_buffer (l, t, n, IB_CL_DTYPE_F32, error);
  g_free (name);
  return buf;
}

IbClDtype
ib_load_table_dtype (const IbLoader *l)
{
  return l->storage == IB_CL_DTYPE_F32 ? IB_CL_DTYPE_F32 : IB_CL_DTYPE_F16;
}

IbClBuffer *
ib_load_table (IbLoader *l, const char *name, gint64 rows, gint64 cols,
    GError **error)
{
  const IbTensor *t = ib_load_tensor (l, name, (guint64) (rows * cols), error);

  if (t == NULL)
    return NULL;
  return load_buffer (l, t, (gsize) (rows * cols), ib_load_table_dtype (l),
      error);
}
