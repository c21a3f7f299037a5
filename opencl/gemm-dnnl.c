/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The oneDNN backend for bf16 and q8 linear layers on CPU devices: the only
 * file that includes dnnl.h. The products run on the host, in the OpenCL
 * buffers' own memory (devices that share host memory only), after one
 * clFinish per product. */
#include "gemm-priv.h"

#include <math.h>
#include <string.h>

#include <dnnl.h>
#include <dnnl_debug.h>

#include "half.h"

/* Alignment of every host block handed to oneDNN. */
#define ALIGN 64
/* M the packed weight layout is chosen for; oneDNN 2.6 picks the same
 * blocked layout for every M (checked for M = 1, 2, 5, 16, 64, 153, 257 and
 * 1024 on the shapes and odd ones), and the layout is given
 * explicitly when a product of another M is created. */
#define PACK_M 64
/* Below this many elements a host loop stays on one thread. */
#define PARALLEL_MIN (1 << 15)
/* q8: |S - z colsum| <= 2 * 255 * 127 * K stays below 2^31. */
#define Q8_MAX_K 33000
/* Products (M, N, K, precision, fused terms) kept ready; the whole cache
 * is dropped when full (a new prompt length per question adds a few). */
#define CACHE_MAX 512

struct _IbClDnnlWeight
{
  IbClDtype storage; /* BF16 or Q8 */
  int n, k;
  dnnl_memory_desc_t md; /* the packed layout of W^T [k, n] */
  void *data; /* the packed weight */
  gsize data_bytes;
  float *bias; /* [n] or NULL */
  float *scale; /* Q8: [n], W[j][:] ~ scale[j] * Wq[j][:] */
  gint32 *colsum; /* Q8: [n], sum over k of Wq[j][:] */
  /* the same memory as device buffers (zero copy: CPU devices), for the
   * decode GEMV on the packed layout (kernels/gemv_blocked.cl) */
  IbClBuffer *data_buf, *bias_buf, *scale_buf;
  int kp; /* K padded to the layout's blocks; 0: not the expected layout,
           * decode runs through oneDNN too */
};

typedef struct
{
  int m, n, k;
  int storage;
  int flags; /* PRIM_BIAS, PRIM_SUM */
  /* attention's batched products (storage -1): batches, B transposed,
   * alpha's bits; 0 for linear layers */
  int batch, trans_b;
  guint32 alpha;
} PrimKey;

/* What a product fuses: the bias as its bias input, the residual as a sum
 * post-op (C holds R before the product). */
#define PRIM_BIAS 1
#define PRIM_SUM 2

typedef struct
{
  dnnl_primitive_t prim;
  gsize scratchpad; /* bytes of the user scratchpad */
} Prim;

static dnnl_engine_t engine;
static GMutex cache_lock;
static GHashTable *cache; /* PrimKey -> Prim, under cache_lock */

static gboolean
dnnl_failed (GError **error, dnnl_status_t st, const char *call)
{
  g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_CALL,
      "oneDNN call failed: %s returned %s", call, dnnl_status2str (st));
  return FALSE;
}

#define DNNL_CHECK(call, err)                         \
  G_STMT_START                                        \
  {                                                   \
    dnnl_status_t dnnl_check_status_ = (call);        \
    if (dnnl_check_status_ != dnnl_success) {         \
      dnnl_failed ((err), dnnl_check_status_, #call); \
      goto out;                                       \
    }                                                 \
  }                                                   \
  G_STMT_END

static gpointer
engine_create (gpointer data)
{
  dnnl_engine_t e = NULL;

  (void) data;
  if (dnnl_engine_create (&e, dnnl_cpu, 0) != dnnl_success)
    return NULL;
  return e;
}

static dnnl_engine_t
get_engine (GError **error)
{
  static GOnce once = G_ONCE_INIT;

  engine = g_once (&once, engine_create, NULL);
  if (engine == NULL)
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_UNSUPPORTED,
        "oneDNN has no CPU engine on this machine");
  return engine;
}

gboolean
ib_cl_dnnl_check (IbClDtype storage, gboolean *native, GError **error)
{
  dnnl_cpu_isa_t isa;

  if (get_engine (error) == NULL)
    return FALSE;
  isa = dnnl_get_effective_cpu_isa ();
  if (native) {
    if (storage == IB_CL_DTYPE_BF16)
      *native = (isa & dnnl_cpu_isa_avx512_core_bf16) ==
          dnnl_cpu_isa_avx512_core_bf16;
    else
      *native = (isa & dnnl_cpu_isa_avx512_core_vnni) ==
              dnnl_cpu_isa_avx512_core_vnni ||
          (isa & dnnl_cpu_isa_avx2_vnni) == dnnl_cpu_isa_avx2_vnni;
  }
  return TRUE;
}

static gpointer
host_alloc_aligned (gsize size)
{
  return ib_cl_host_alloc ((size + ALIGN - 1) / ALIGN * ALIGN);
}

static void
md_plain (dnnl_memory_desc_t *md, int rows, int cols, dnnl_data_type_t dt,
    dnnl_format_tag_t tag)
{
  dnnl_dims_t dims = { rows, cols };
  dnnl_memory_desc_init_by_tag (md, 2, dims, dt, tag);
}

static dnnl_data_type_t
src_type (IbClDtype storage)
{
  return storage == IB_CL_DTYPE_Q8 ? dnnl_u8 : dnnl_bf16;
}

static dnnl_data_type_t
wei_type (IbClDtype storage)
{
  return storage == IB_CL_DTYPE_Q8 ? dnnl_s8 : dnnl_bf16;
}

static dnnl_data_type_t
dst_type (IbClDtype storage)
{
  return storage == IB_CL_DTYPE_Q8 ? dnnl_s32 : dnnl_f32;
}

/* The matmul C[m,n] = A[m,k] · B[k,n] with B in @wmd (format any allowed). */
static dnnl_status_t
matmul_pd (dnnl_primitive_desc_t *pd, int m, int n, int k, IbClDtype storage,
    const dnnl_memory_desc_t *wmd, int flags)
{
  dnnl_memory_desc_t smd, dmd, bmd;
  dnnl_matmul_desc_t desc;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t ops = NULL;
  dnnl_status_t st;

  md_plain (&smd, m, k, src_type (storage), dnnl_ab);
  md_plain (&dmd, m, n, dst_type (storage), dnnl_ab);
  md_plain (&bmd, 1, n, dnnl_f32, dnnl_ab);
  st = dnnl_matmul_desc_init (&desc, &smd, wmd,
      (flags & PRIM_BIAS) ? &bmd : NULL, &dmd);
  if (st != dnnl_success)
    return st;
  if ((st = dnnl_primitive_attr_create (&attr)) != dnnl_success)
    return st;
  st =
      dnnl_primitive_attr_set_scratchpad_mode (attr, dnnl_scratchpad_mode_user);
  if (st == dnnl_success && (flags & PRIM_SUM)) {
    st = dnnl_post_ops_create (&ops);
    if (st == dnnl_success)
      st = dnnl_post_ops_append_sum (ops, 1.0f);
    if (st == dnnl_success)
      st = dnnl_primitive_attr_set_post_ops (attr, ops);
  }
  if (st == dnnl_success)
    st = dnnl_primitive_desc_create (pd, &desc, attr, engine, NULL);
  if (ops)
    dnnl_post_ops_destroy (ops);
  dnnl_primitive_attr_destroy (attr);
  return st;
}

static guint
key_hash (gconstpointer p)
{
  const PrimKey *k = p;
  return (guint) k->m * 2654435761u ^ (guint) k->n * 40503u ^
      (guint) k->k * 977u ^ ((guint) k->storage << 2 | (guint) k->flags) ^
      (guint) k->batch * 131u ^ (guint) k->trans_b ^ k->alpha;
}

static gboolean
key_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (PrimKey)) == 0;
}

static void
prim_clear (gpointer p)
{
  Prim *pr = p;
  if (pr->prim)
    dnnl_primitive_destroy (pr->prim);
}

static void
prim_unref (gpointer p)
{
  g_atomic_rc_box_release_full (p, prim_clear);
}

/* The cached product for @key, created by @create on first use; a
 * reference the caller releases with prim_unref (a full cache is dropped
 * while others may still run its products). */
static Prim *
cached_prim (const PrimKey *key,
    dnnl_status_t (*create) (dnnl_primitive_desc_t *pd, const PrimKey *key,
        const dnnl_memory_desc_t *wmd),
    const dnnl_memory_desc_t *wmd, GError **error)
{
  dnnl_primitive_desc_t pd = NULL;
  Prim *pr;

  g_mutex_lock (&cache_lock);
  if (cache == NULL)
    cache = g_hash_table_new_full (key_hash, key_equal, g_free, prim_unref);
  pr = g_hash_table_lookup (cache, key);
  if (pr == NULL) {
    dnnl_status_t st = create (&pd, key, wmd);
    if (st != dnnl_success) {
      g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_CALL,
          "oneDNN %s product %s[%d x %d] x [%d x %d]: "
          "dnnl_primitive_desc_create returned %s",
          key->storage < 0 ? "bf16 batched" :
                             ib_cl_dtype_name ((IbClDtype) key->storage),
          key->batch ? "batches of " : "", key->m, key->k, key->k, key->n,
          dnnl_status2str (st));
      goto out;
    }
    pr = g_atomic_rc_box_new0 (Prim);
    pr->scratchpad = dnnl_memory_desc_get_size (
        dnnl_primitive_desc_query_md (pd, dnnl_query_scratchpad_md, 0));
    st = dnnl_primitive_create (&pr->prim, pd);
    if (st != dnnl_success) {
      dnnl_failed (error, st, "dnnl_primitive_create (matmul)");
      prim_unref (pr);
      pr = NULL;
      goto out;
    }
    if (g_hash_table_size (cache) >= CACHE_MAX)
      g_hash_table_remove_all (cache);
    g_hash_table_insert (cache, g_memdup2 (key, sizeof (*key)), pr);
  }
  g_atomic_rc_box_acquire (pr);
out:
  if (pd)
    dnnl_primitive_desc_destroy (pd);
  g_mutex_unlock (&cache_lock);
  return pr;
}

static dnnl_status_t
linear_pd (dnnl_primitive_desc_t *pd, const PrimKey *key,
    const dnnl_memory_desc_t *wmd)
{
  return matmul_pd (pd, key->m, key->n, key->k, (IbClDtype) key->storage, wmd,
      key->flags);
}

/* The product for (@m, @w, @flags), see cached_prim. */
static Prim *
get_prim (int m, const IbClDnnlWeight *w, int flags, GError **error)
{
  PrimKey key = { m, w->n, w->k, (int) w->storage, flags, 0, 0, 0 };

  return cached_prim (&key, linear_pd, &w->md, error);
}

/* Row @row of the [n, k] source @w as floats: an f32 source's own row (no
 * copy), else the row converted into @dst. */
static const float *
source_row (const void *w, IbClDtype src, int k, int row, float *dst)
{
  gsize base = (gsize) row * k;
  int i;

  switch (src) {
    case IB_CL_DTYPE_F16:
      for (i = 0; i < k; i++)
        dst[i] = ib_cl_f16_to_f32 (((const guint16 *) w)[base + i]);
      return dst;
    case IB_CL_DTYPE_BF16:
      for (i = 0; i < k; i++) {
        guint32 u = (guint32) ((const guint16 *) w)[base + i] << 16;
        memcpy (dst + i, &u, 4);
      }
      return dst;
    default:
      return (const float *) w + base;
  }
}

/* The host loops below are vectorised for the CPU that runs them (one
 * clone per instruction set, picked at load time) and compiled at -O3
 * (opencl/meson.build): at -O2 and without AVX they cost as much as the
 * product itself. */
#define HOT __attribute__ ((target_clones ("avx512f", "avx2", "default")))

/* f32 -> bf16, round to nearest even; NaN stays NaN (quiet). */
static inline guint16
to_bf16 (float f)
{
  guint32 u, r, nan;

  memcpy (&u, &f, 4);
  r = (u + 0x7fffu + ((u >> 16) & 1)) >> 16;
  nan = (u >> 16) | 0x40;
  return (guint16) ((u & 0x7fffffffu) > 0x7f800000u ? nan : r);
}

HOT static void
to_bf16_row (const float *src, guint16 *dst, int k)
{
  int i;

  for (i = 0; i < k; i++)
    dst[i] = to_bf16 (src[i]);
}

/* One weight row to int8, symmetric: W[j][:] ~ scale * q, |q| <= 127;
 * @sum gets the sum of q (the zero-point correction of the product). */
HOT static void
quantize_s8_row (const float *row, gint8 *q, int k, float *scale, gint32 *sum)
{
  float amax = 0.0f, s, inv;
  gint32 total = 0;
  int i;

#pragma omp simd reduction(max : amax)
  for (i = 0; i < k; i++) {
    float a = row[i] < 0.0f ? -row[i] : row[i];
    amax = a > amax ? a : amax;
  }
  s = amax > 0.0f ? amax / 127.0f : 1.0f;
  inv = 1.0f / s;
#pragma omp simd reduction(+ : total)
  for (i = 0; i < k; i++) {
    float v = nearbyintf (row[i] * inv);
    v = v < -127.0f ? -127.0f : v;
    q[i] = (gint8) (v > 127.0f ? 127.0f : v);
    total += q[i];
  }
  *scale = s;
  *sum = total;
}

/* The plain [n, k] weight in the storage type (bf16, or s8 with its
 * per-output-channel scales and row sums). */
static gboolean
fill_plain (IbClDnnlWeight *wt, const void *w, IbClDtype src, void *plain,
    GError **error)
{
  const int n = wt->n, k = wt->k;
  gboolean oom = FALSE;
  int j;

#pragma omp parallel for schedule(static) if ((gsize) n * k >= PARALLEL_MIN)
  for (j = 0; j < n; j++) {
    float *row = g_try_malloc ((gsize) k * 4);
    const float *src_row;

    if (row == NULL) {
      oom = TRUE;
      continue;
    }
    src_row = source_row (w, src, k, j, row);
    if (wt->storage == IB_CL_DTYPE_BF16)
      to_bf16_row (src_row, (guint16 *) plain + (gsize) j * k, k);
    else
      quantize_s8_row (src_row, (gint8 *) plain + (gsize) j * k, k,
          &wt->scale[j], &wt->colsum[j]);
    g_free (row);
  }
  if (oom)
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_MEMORY,
        "out of host memory converting a [%d, %d] weight", n, k);
  return !oom;
}

/* Writes the weight straight into the blocked layout gemv_blocked.cl
 * reads (blocked_kp (@wt) == @kp > 0), as oneDNN's reorder of the plain
 * weight would, padding zeroed; no plain copy, one pass. The layout in
 * 32-bit words (2 bf16 or 4 int8 of consecutive k): word w of output
 * column j is at (j / 64) * (kp / pw) * 64 + (w / 16) * 1024 + (w % 16) * 64
 * + j % 64. One 64-column block per iteration: its region (kp * 64
 * elements) stays in the core's cache while rows are scattered into it. */
static gboolean
fill_blocked (IbClDnnlWeight *wt, const void *w, IbClDtype src, int kp,
    GError **error)
{
  const int n = wt->n, k = wt->k;
  const int pw = wt->storage == IB_CL_DTYPE_Q8 ? 4 : 2;
  const gsize kw = (gsize) kp / pw; /* words per column */
  const int n_blocks = (n + 63) / 64;
  gboolean oom = FALSE;
  int nb;

#pragma omp parallel for schedule(dynamic) if ((gsize) n * k >= PARALLEL_MIN)
  for (nb = 0; nb < n_blocks; nb++) {
    float *row = g_try_malloc ((gsize) k * 4);
    guint32 *words = g_try_malloc0 (kw * 4);
    guint32 *dst = (guint32 *) wt->data + (gsize) nb * kw * 64;
    int j;
    gsize wi;

    if (row == NULL || words == NULL) {
      oom = TRUE;
      g_free (row);
      g_free (words);
      continue;
    }
    memset (dst, 0, kw * 64 * 4);
    for (j = nb * 64; j < MIN (n, nb * 64 + 64); j++) {
      guint32 *col = dst + (j % 64);
      const float *src_row = source_row (w, src, k, j, row);

      if (wt->storage == IB_CL_DTYPE_BF16)
        to_bf16_row (src_row, (guint16 *) words, k);
      else
        quantize_s8_row (src_row, (gint8 *) words, k, &wt->scale[j],
            &wt->colsum[j]);
      /* words past k stay zero: the tail of the last word and the
       * padding words are never written */
      for (wi = 0; wi < kw; wi++)
        col[(wi / 16) * 1024 + (wi % 16) * 64] = words[wi];
    }
    g_free (row);
    g_free (words);
  }
  if (oom)
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_MEMORY,
        "out of host memory converting a [%d, %d] weight", n, k);
  return !oom;
}

/* Reorders the plain [n, k] weight (W^T as [k, n] "ba") into @wt's packed
 * layout. */
static gboolean
reorder (IbClDnnlWeight *wt, void *plain, GError **error)
{
  dnnl_memory_desc_t pmd;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_t prim = NULL;
  dnnl_memory_t from = NULL, to = NULL;
  dnnl_stream_t stream = NULL;
  gboolean ok = FALSE;

  md_plain (&pmd, wt->k, wt->n, wei_type (wt->storage), dnnl_ba);
  DNNL_CHECK (dnnl_reorder_primitive_desc_create (&pd, &pmd, engine, &wt->md,
                  engine, NULL),
      error);
  DNNL_CHECK (dnnl_primitive_create (&prim, pd), error);
  DNNL_CHECK (dnnl_memory_create (&from, &pmd, engine, plain), error);
  DNNL_CHECK (dnnl_memory_create (&to, &wt->md, engine, wt->data), error);
  DNNL_CHECK (dnnl_stream_create (&stream, engine, dnnl_stream_default_flags),
      error);
  {
    dnnl_exec_arg_t args[] = { { DNNL_ARG_FROM, from }, { DNNL_ARG_TO, to } };
    DNNL_CHECK (dnnl_primitive_execute (prim, stream, 2, args), error);
  }
  DNNL_CHECK (dnnl_stream_wait (stream), error);
  ok = TRUE;
out:
  if (stream)
    dnnl_stream_destroy (stream);
  if (from)
    dnnl_memory_destroy (from);
  if (to)
    dnnl_memory_destroy (to);
  if (prim)
    dnnl_primitive_destroy (prim);
  if (pd)
    dnnl_primitive_desc_destroy (pd);
  return ok;
}

/* Hands @host (ib_cl_host_alloc'd) to a zero-copy buffer; @host is
 * owned by the buffer (or freed) afterwards. */
static gboolean
wrap (IbClDevice *dev, gpointer *host, gsize size, IbClBuffer **buf,
    GError **error)
{
  gpointer p = *host;

  *host = NULL;
  if (p == NULL)
    return TRUE;
  *buf = ib_cl_buffer_new_take_host (dev, p, size, error);
  if (*buf == NULL)
    return FALSE;
  *host = (*buf)->data;
  return *host != NULL;
}

static gboolean
wrap_buffers (IbClDnnlWeight *wt, IbClDevice *dev, GError **error)
{
  return wrap (dev, &wt->data, wt->data_bytes, &wt->data_buf, error) &&
      wrap (dev, (gpointer *) &wt->bias, (gsize) wt->n * 4, &wt->bias_buf,
          error) &&
      wrap (dev, (gpointer *) &wt->scale, (gsize) wt->n * 4, &wt->scale_buf,
          error);
}

/* K padded to the blocks when @wt's packed layout is the one
 * gemv_blocked.cl reads (oneDNN 2.6 with AVX-512: BA16a64b2a for bf16,
 * BA16a64b4a for int8), else 0. */
static int
blocked_kp (const IbClDnnlWeight *wt)
{
  const dnnl_memory_desc_t *md = &wt->md;
  const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
  const int per_word = wt->storage == IB_CL_DTYPE_Q8 ? 4 : 2;
  const dnnl_dim_t kp = md->padded_dims[0], np = md->padded_dims[1];

  if (md->format_kind != dnnl_blocked || md->ndims != 2 || md->offset0 != 0 ||
      md->extra.flags != 0 || b->inner_nblks != 3 || b->inner_blks[0] != 16 ||
      b->inner_idxs[0] != 0 || b->inner_blks[1] != 64 ||
      b->inner_idxs[1] != 1 || b->inner_blks[2] != per_word ||
      b->inner_idxs[2] != 0 || kp % (16 * per_word) != 0 || np % 64 != 0 ||
      b->strides[0] != 16 * 64 * per_word || b->strides[1] != kp * 64)
    return 0;
  return (int) kp;
}

IbClDnnlWeight *
ib_cl_dnnl_weight_new (IbClDevice *dev, const void *w, IbClDtype src, int n,
    int k, const void *bias, IbClDtype storage, GError **error)
{
  IbClDnnlWeight *wt = NULL;
  dnnl_memory_desc_t any;
  dnnl_primitive_desc_t pd = NULL;
  void *plain = NULL;
  float *row = NULL;
  int j, kp;

  if (get_engine (error) == NULL)
    return NULL;
  if (storage == IB_CL_DTYPE_Q8 && k > Q8_MAX_K) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_UNSUPPORTED,
        "q8 weight [%d, %d]: k above %d would overflow the 32-bit sums", n, k,
        Q8_MAX_K);
    return NULL;
  }
  wt = g_new0 (IbClDnnlWeight, 1);
  wt->storage = storage;
  wt->n = n;
  wt->k = k;

  /* the layout oneDNN prefers for this weight */
  md_plain (&any, k, n, wei_type (storage), dnnl_format_tag_any);
  DNNL_CHECK (matmul_pd (&pd, PACK_M, n, k, storage, &any, 0), error);
  wt->md = *dnnl_primitive_desc_query_md (pd, dnnl_query_weights_md, 0);
  wt->data_bytes = dnnl_memory_desc_get_size (&wt->md);

  wt->data = host_alloc_aligned (wt->data_bytes);
  /* the layout gemv_blocked.cl knows is written directly; any other
   * through a plain copy and oneDNN's reorder */
  kp = blocked_kp (wt);
  if (kp == 0)
    plain = host_alloc_aligned (
        (gsize) n * k * (storage == IB_CL_DTYPE_Q8 ? 1 : 2));
  if (storage == IB_CL_DTYPE_Q8) {
    wt->scale = host_alloc_aligned ((gsize) n * 4);
    wt->colsum = host_alloc_aligned ((gsize) n * 4);
  }
  if (bias)
    wt->bias = host_alloc_aligned ((gsize) n * 4);
  if (wt->data == NULL || (kp == 0 && plain == NULL) ||
      (storage == IB_CL_DTYPE_Q8 &&
          (wt->scale == NULL || wt->colsum == NULL)) ||
      (bias && wt->bias == NULL)) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_MEMORY,
        "out of host memory packing a [%d, %d] weight", n, k);
    goto out;
  }
  if (kp > 0 ? !fill_blocked (wt, w, src, kp, error) :
               (!fill_plain (wt, w, src, plain, error) ||
                   !reorder (wt, plain, error)))
    goto out;
  if (bias) {
    /* the bias has the weight's source dtype: one row of n elements */
    const float *bias_row;
    row = g_new (float, n);
    bias_row = source_row (bias, src, n, 0, row);
    for (j = 0; j < n; j++)
      wt->bias[j] = bias_row[j];
  }
  if (!wrap_buffers (wt, dev, error))
    goto out;
  wt->kp = blocked_kp (wt);
  ib_cl_host_free (plain);
  g_free (row);
  dnnl_primitive_desc_destroy (pd);
  return wt;

out:
  ib_cl_host_free (plain);
  g_free (row);
  if (pd)
    dnnl_primitive_desc_destroy (pd);
  ib_cl_dnnl_weight_free (wt);
  g_prefix_error (error, "packing a [%d, %d] %s weight for oneDNN: ", n, k,
      ib_cl_dtype_name (storage));
  return NULL;
}

char *
ib_cl_dnnl_layout_key (void)
{
  const dnnl_version_t *v = dnnl_version ();

  return g_strdup_printf ("%d.%d.%d-%s-isa%d", v->major, v->minor, v->patch,
      v->hash, (int) dnnl_get_effective_cpu_isa ());
}

static void weight_blocks (const IbClDnnlWeight *w, IbClWeightBlock *blocks,
    guint *n_blocks);

gboolean
ib_cl_dnnl_weight_has_bias (const IbClDnnlWeight *w)
{
  return w->bias != NULL;
}

gboolean
ib_cl_dnnl_weight_export (const IbClDnnlWeight *w, GByteArray *desc,
    IbClWeightBlock *blocks, guint *n_blocks, GError **error)
{
  if (w->data_buf == NULL || w->data_buf->data == NULL) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_UNSUPPORTED,
        "oneDNN weights are not in host memory the host addresses");
    return FALSE;
  }
  /* the layout as this oneDNN describes it; compared on import with what
   * it picks then (dnnl_memory_desc_equal), never trusted blindly */
  g_byte_array_append (desc, (const guint8 *) &w->md, sizeof (w->md));
  weight_blocks (w, blocks, n_blocks);
  return TRUE;
}

/* @w's memory: the packed data, then bias, scale and column sums. */
static void
weight_blocks (const IbClDnnlWeight *w, IbClWeightBlock *blocks,
    guint *n_blocks)
{
  *n_blocks = 0;
  blocks[(*n_blocks)++] = (IbClWeightBlock){ w->data, w->data_bytes };
  if (w->bias)
    blocks[(*n_blocks)++] =
        (IbClWeightBlock){ (guint8 *) w->bias, (gsize) w->n * 4 };
  if (w->scale) {
    blocks[(*n_blocks)++] =
        (IbClWeightBlock){ (guint8 *) w->scale, (gsize) w->n * 4 };
    blocks[(*n_blocks)++] =
        (IbClWeightBlock){ (guint8 *) w->colsum, (gsize) w->n * 4 };
  }
}

/* @wt's blocks (weight_blocks' order) used in place in @src's mapped file;
 * the column sums, which oneDNN reads from the host only, are copied. */
static gboolean
map_blocks (IbClDnnlWeight *wt, IbClDevice *dev, const IbClMappedBlocks *src,
    gboolean has_bias, GError **error)
{
  const gsize row_bytes = (gsize) wt->n * 4;
  guint i = 0;

  if ((wt->data_buf = ib_cl_packed_block (dev, src, i++, wt->data_bytes,
           error)) == NULL)
    return FALSE;
  wt->data = wt->data_buf->data;
  if (has_bias) {
    if ((wt->bias_buf = ib_cl_packed_block (dev, src, i++, row_bytes, error)) ==
        NULL)
      return FALSE;
    wt->bias = (float *) wt->bias_buf->data;
  }
  if (wt->storage == IB_CL_DTYPE_Q8) {
    if ((wt->scale_buf =
                ib_cl_packed_block (dev, src, i++, row_bytes, error)) == NULL)
      return FALSE;
    wt->scale = (float *) wt->scale_buf->data;
    if (i >= src->n_blocks || src->blocks[i].size != row_bytes) {
      g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
          "packed [%d, %d] weight: no column sums of %" G_GSIZE_FORMAT " bytes",
          wt->n, wt->k, row_bytes);
      return FALSE;
    }
    wt->colsum = host_alloc_aligned (row_bytes);
    if (wt->colsum == NULL) {
      g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_MEMORY,
          "out of host memory for a packed [%d, %d] weight", wt->n, wt->k);
      return FALSE;
    }
    memcpy (wt->colsum, src->blocks[i++].data, row_bytes);
  }
  if (i != src->n_blocks) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
        "packed [%d, %d] weight: %u blocks, %u expected", wt->n, wt->k,
        src->n_blocks, i);
    return FALSE;
  }
  return TRUE;
}

IbClDnnlWeight *
ib_cl_dnnl_weight_new_packed (IbClDevice *dev, int n, int k, IbClDtype storage,
    gboolean has_bias, const void *desc, gsize desc_len,
    const IbClMappedBlocks *src, IbClWeightBlock *blocks, guint *n_blocks,
    GError **error)
{
  IbClDnnlWeight *wt = NULL;
  dnnl_memory_desc_t any, stored;
  dnnl_primitive_desc_t pd = NULL;

  *n_blocks = 0;
  if (get_engine (error) == NULL)
    return NULL;
  if (desc_len != sizeof (stored)) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
        "packed [%d, %d] %s weight: oneDNN layout of %" G_GSIZE_FORMAT
        " bytes, this oneDNN's has %" G_GSIZE_FORMAT,
        n, k, ib_cl_dtype_name (storage), desc_len, sizeof (stored));
    return NULL;
  }
  memcpy (&stored, desc, sizeof (stored));
  wt = g_new0 (IbClDnnlWeight, 1);
  wt->storage = storage;
  wt->n = n;
  wt->k = k;
  md_plain (&any, k, n, wei_type (storage), dnnl_format_tag_any);
  DNNL_CHECK (matmul_pd (&pd, PACK_M, n, k, storage, &any, 0), error);
  wt->md = *dnnl_primitive_desc_query_md (pd, dnnl_query_weights_md, 0);
  if (!dnnl_memory_desc_equal (&wt->md, &stored)) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_UNSUPPORTED,
        "packed [%d, %d] %s weight is in another layout than oneDNN picks "
        "on this machine",
        n, k, ib_cl_dtype_name (storage));
    goto out;
  }
  wt->data_bytes = dnnl_memory_desc_get_size (&wt->md);
  if (src != NULL) {
    if (!map_blocks (wt, dev, src, has_bias, error))
      goto out;
  } else {
    wt->data = host_alloc_aligned (wt->data_bytes);
    if (storage == IB_CL_DTYPE_Q8) {
      wt->scale = host_alloc_aligned ((gsize) n * 4);
      wt->colsum = host_alloc_aligned ((gsize) n * 4);
    }
    if (has_bias)
      wt->bias = host_alloc_aligned ((gsize) n * 4);
    if (wt->data == NULL ||
        (storage == IB_CL_DTYPE_Q8 &&
            (wt->scale == NULL || wt->colsum == NULL)) ||
        (has_bias && wt->bias == NULL)) {
      g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_MEMORY,
          "out of host memory for a packed [%d, %d] weight", n, k);
      goto out;
    }
    if (!wrap_buffers (wt, dev, error))
      goto out;
  }
  wt->kp = blocked_kp (wt);
  dnnl_primitive_desc_destroy (pd);
  if (wt->data_buf->data == NULL) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_UNSUPPORTED,
        "oneDNN weights need buffers in host memory the host addresses");
    ib_cl_dnnl_weight_free (wt);
    return NULL;
  }
  weight_blocks (wt, blocks, n_blocks);
  return wt;

out:
  if (pd)
    dnnl_primitive_desc_destroy (pd);
  ib_cl_dnnl_weight_free (wt);
  return NULL;
}

void
ib_cl_dnnl_weight_free (IbClDnnlWeight *w)
{
  if (w == NULL)
    return;
  if (w->data_buf)
    ib_cl_buffer_free (w->data_buf);
  else
    ib_cl_host_free (w->data);
  if (w->bias_buf)
    ib_cl_buffer_free (w->bias_buf);
  else
    ib_cl_host_free (w->bias);
  if (w->scale_buf)
    ib_cl_buffer_free (w->scale_buf);
  else
    ib_cl_host_free (w->scale);
  ib_cl_host_free (w->colsum);
  g_free (w);
}

gsize
ib_cl_dnnl_weight_get_bytes (const IbClDnnlWeight *w)
{
  gsize b = w->data_bytes;

  if (w->bias)
    b += (gsize) w->n * 4;
  if (w->scale)
    b += (gsize) w->n * 8;
  return b;
}

gboolean
ib_cl_dnnl_weight_has_gemv (const IbClDnnlWeight *w)
{
  return w->kp > 0;
}

void
ib_cl_dnnl_weight_disable_gemv (IbClDnnlWeight *w)
{
  w->kp = 0;
}

/* A[m,k] f32 -> bf16. */
static void
quantize_bf16 (const float *a, guint16 *dst, int m, int k)
{
  int i;

#pragma omp parallel for schedule(static) if ((gsize) m * k >= PARALLEL_MIN)
  for (i = 0; i < m; i++)
    to_bf16_row (a + (gsize) i * k, dst + (gsize) i * k, k);
}

/* A[m,k] f32 -> u8 per row (token), asymmetric over [min(row, 0),
 * max(row, 0)]: A[i][:] ~ scale[i] * (q[i][:] - zero[i]), |error| <=
 * scale[i] / 2. A whole byte for the row's range, which matters for
 * one-signed inputs (after GELU); an outlier in a row costs that row's
 * resolution only. 254 steps, not 255: round(hi/s) + round(-lo/s) then
 * never exceeds 255, so nothing is clamped. */
HOT static void
quantize_u8_row (const float *r, guint8 *q, int k, float *scale, gint32 *zero)
{
  float lo = 0.0f, hi = 0.0f, s, inv, z;
  int j;

#pragma omp simd reduction(min : lo) reduction(max : hi)
  for (j = 0; j < k; j++) {
    lo = r[j] < lo ? r[j] : lo;
    hi = r[j] > hi ? r[j] : hi;
  }
  s = hi > lo ? (hi - lo) / 254.0f : 1.0f;
  inv = 1.0f / s;
  z = nearbyintf (-lo * inv);
  for (j = 0; j < k; j++) {
    float v = nearbyintf (r[j] * inv) + z;
    v = v < 0.0f ? 0.0f : v;
    q[j] = (guint8) (v > 255.0f ? 255.0f : v);
  }
  *scale = s;
  *zero = (gint32) z;
}

static void
quantize_u8 (const float *a, guint8 *q, float *scale, gint32 *zero, int m,
    int k)
{
  int i;

#pragma omp parallel for schedule(static) if ((gsize) m * k >= PARALLEL_MIN)
  for (i = 0; i < m; i++)
    quantize_u8_row (a + (gsize) i * k, q + (gsize) i * k, k, scale + i,
        zero + i);
}

/* One row of C = sa * scale[j] * (S[j] - z * colsum[j]) + bias[j] (+ R[j]),
 * the integer part exact (Q8_MAX_K). */
HOT static void
epilogue_q8_row (const gint32 *s, float sa, gint32 z, const float *scale,
    const gint32 *colsum, const float *bias, const float *r, float *c, int n)
{
  int j;

  for (j = 0; j < n; j++) {
    float v = sa * scale[j] * (float) (s[j] - z * colsum[j]);
    v += bias ? bias[j] : 0.0f;
    c[j] = v + (r ? r[j] : 0.0f);
  }
}

/* e^(a1 + a2) for a1 + a2 in [-87, 0] (the caller clamps) within 2 ulp,
 * a1 exact or small: a1 + a2 = n ln 2 + r, |r| <= ln 2 / 2, with a1 - n ·
 * (ln 2's first 9 bits) exact, so a1's digits are kept; Cephes' expf
 * polynomial for e^r, 2^n from its bits. Plain arithmetic, so the loops
 * calling it vectorise. */
static inline float
exp_sum (float a1, float a2)
{
  const float n = nearbyintf ((a1 + a2) * 1.44269504088896341f);
  const float r = ((a1 - n * 0.693359375f) + a2) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  gint32 bits;
  float two_n;

  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  bits = ((gint32) n + 127) << 23;
  memcpy (&two_n, &bits, 4);
  return p * two_n;
}

/* GELU in place, the exact form x · (1 + erf (x / √2)) / 2 written with
 * erfc (z) = 1 - erf (z), z = |x| / √2, so that no 1 ± erf cancels:
 * x - x · erfc (z) / 2 for x >= 0, x · erfc (z) / 2 below. erfc from
 * Numerical Recipes' erfcc (Chebyshev fit, relative error < 1.2e-7 for
 * every z >= 0): t · e^(P(t) - z²), t = 1 / (1 + z/2), with z² = x² / 2
 * split as (xh² + (|x| - xh)(|x| + xh)) / 2, xh |x|'s first 12 bits (xh²
 * exact), as rounding z or z² would cost e^(-z²) 2^-24 z² of relative
 * error. The
 * OpenCL kernel computes 1 + erf, which keeps only erf's last digits for
 * x below -3; this keeps GELU within a few ulp there too, down to x = -13
 * (below that, |GELU (x)| < 2^-125 and 0 is returned) (tests/opencl:
 * gemm-lowp, against libm's erfc in double). */
HOT static void
gelu_row (float *c, int n)
{
  int j;

  for (j = 0; j < n; j++) {
    const float x = c[j];
    const float ax = fabsf (x), z = ax * 0.70710678118654752f;
    const float t = 1.0f / (1.0f + 0.5f * z);
    float p = 0.17087277f, xh, a1, a2, half_erfc;
    guint32 bits;

    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    memcpy (&bits, &ax, 4);
    bits &= 0xfffff000u;
    memcpy (&xh, &bits, 4);
    a1 = -0.5f * (xh * xh);
    a2 = p - 0.5f * ((ax - xh) * (ax + xh));
    /* written so that NaN takes the 0 too: exp_sum never converts it */
    half_erfc = !(a1 + a2 >= -87.0f) ? 0.0f : 0.5f * t * exp_sum (a1, a2);
    c[j] = x >= 0.0f ? x - x * half_erfc : x * half_erfc;
  }
}

static void
epilogue_q8 (const IbClDnnlWeight *w, const gint32 *s, const float *scale,
    const gint32 *zero, const float *r, float *c, int m, gboolean gelu)
{
  const int n = w->n;
  int i;

#pragma omp parallel for schedule(static) if ((gsize) m * n >= PARALLEL_MIN)
  for (i = 0; i < m; i++) {
    epilogue_q8_row (s + (gsize) i * n, scale[i], zero[i], w->scale, w->colsum,
        w->bias, r ? r + (gsize) i * n : NULL, c + (gsize) i * n, n);
    if (gelu)
      gelu_row (c + (gsize) i * n, n);
  }
}

static gsize
round_up (gsize x)
{
  return (x + ALIGN - 1) / ALIGN * ALIGN;
}

static gboolean
host_address (IbClQueue *q, const IbClBuffer *b, const char *what)
{
  if (b->data != NULL)
    return TRUE;
  return ib_cl_queue_take_error (q,
      g_error_new (IB_CL_ERROR, IB_CL_ERROR_UNSUPPORTED,
          "oneDNN product: the %s buffer has no host address (device %s "
          "does not share host memory)",
          what, ib_cl_device_get_info (ib_cl_queue_get_device (q))->name));
}

/* Bytes of the queue's scratch a linear product of @m rows uses: A
 * converted (bf16 or u8); q8: the s32 product and the rows' scales and
 * zero points; oneDNN's scratchpad of @scratchpad bytes. */
static gsize
linear_scratch (const IbClDnnlWeight *w, int m, gsize scratchpad,
    gsize *a_bytes, gsize *s_bytes, gsize *rows_bytes)
{
  const gboolean q8 = w->storage == IB_CL_DTYPE_Q8;

  *a_bytes = round_up ((gsize) m * w->k * (q8 ? 1 : 2));
  *s_bytes = q8 ? round_up ((gsize) m * w->n * 4) : 0;
  *rows_bytes = q8 ? 2 * round_up ((gsize) m * 4) : 0;
  return *a_bytes + *s_bytes + *rows_bytes + round_up (scratchpad);
}

/* oneDNN's scratchpad for the product of @key (its descriptor only). */
static gboolean
scratchpad_bytes (const PrimKey *key,
    dnnl_status_t (*create) (dnnl_primitive_desc_t *pd, const PrimKey *key,
        const dnnl_memory_desc_t *wmd),
    const dnnl_memory_desc_t *wmd, gsize *bytes, GError **error)
{
  dnnl_primitive_desc_t pd = NULL;
  dnnl_status_t st;

  if (get_engine (error) == NULL)
    return FALSE;
  if ((st = create (&pd, key, wmd)) != dnnl_success)
    return dnnl_failed (error, st, "dnnl_primitive_desc_create (sizing)");
  *bytes = dnnl_memory_desc_get_size (
      dnnl_primitive_desc_query_md (pd, dnnl_query_scratchpad_md, 0));
  dnnl_primitive_desc_destroy (pd);
  return TRUE;
}

/* The row counts a product is sized for: @m_max and the powers of two
 * below it (oneDNN's scratchpad follows its blocking of M). */
static int
next_m (int m, int m_max)
{
  if (m >= m_max)
    return 0;
  return m * 2 < m_max ? m * 2 : m_max;
}

gboolean
ib_cl_dnnl_linear_scratch (const IbClDnnlWeight *w, int m_max, gsize *need,
    GError **error)
{
  const gboolean q8 = w->storage == IB_CL_DTYPE_Q8;
  int m, sum;

  for (m = 1; m > 0; m = next_m (m, m_max))
    for (sum = 0; sum <= (q8 ? 0 : PRIM_SUM); sum += PRIM_SUM) {
      PrimKey key = { m, w->n, w->k, (int) w->storage,
        q8 ? 0 : (w->bias ? PRIM_BIAS : 0) | sum, 0, 0, 0 };
      gsize pad, a, s, r;
      if (m == 1 && w->kp > 0)
        continue; /* the GEMV */
      if (!scratchpad_bytes (&key, linear_pd, &w->md, &pad, error))
        return FALSE;
      *need = MAX (*need, linear_scratch (w, m, pad, &a, &s, &r));
    }
  return TRUE;
}

/* Decode: one row through the OpenCL kernel on the packed weight,
 * enqueued like every other kernel (no synchronisation). */
static void
gemv_blocked (IbClQueue *q, const IbClBuffer *a, gsize a_off,
    const IbClDnnlWeight *w, const IbClBuffer *residual, IbClBuffer *c,
    gsize c_off)
{
  const gboolean q8 = w->storage == IB_CL_DTYPE_Q8;
  size_t global = (size_t) (w->n + 63) / 64, local = 1;
  IbClLaunch l;

  if (!ib_cl_launch_begin (&l, q, q8 ? "gemv_blocked_q8" : "gemv_blocked_bf16"))
    return;
  ib_cl_launch_mem (&l, a);
  ib_cl_launch_mem (&l, w->data_buf);
  if (q8)
    ib_cl_launch_mem (&l, w->scale_buf);
  ib_cl_launch_mem_opt (&l, w->bias_buf);
  ib_cl_launch_mem_opt (&l, residual);
  ib_cl_launch_mem (&l, c);
  ib_cl_launch_int (&l, w->n);
  ib_cl_launch_int (&l, w->k);
  ib_cl_launch_int (&l, w->kp);
  ib_cl_launch_int (&l,
      (w->bias ? IB_HAS_BIAS : 0) | (residual ? IB_HAS_RESIDUAL : 0));
  ib_cl_launch_int (&l, (gint32) a_off);
  ib_cl_launch_int (&l, (gint32) c_off);
  ib_cl_launch_run (&l, 1, &global, &local);
}

gboolean
ib_cl_dnnl_fuses_gelu (const IbClDnnlWeight *w, int m)
{
  return w->storage == IB_CL_DTYPE_Q8 && !(m == 1 && w->kp > 0);
}

/* ib_cl_dnnl_linear, then GELU on C when @gelu (q8 products of more than
 * the GEMV's one row only: ib_cl_dnnl_fuses_gelu). */
static void
dnnl_linear (IbClQueue *q, const IbClBuffer *a, gsize a_off,
    const IbClDnnlWeight *w, const IbClBuffer *residual, IbClBuffer *c,
    gsize c_off, int m, gboolean gelu)
{
  const gboolean q8 = w->storage == IB_CL_DTYPE_Q8;
  const int n = w->n, k = w->k;
  const float *A, *R = NULL;
  float *C;
  gsize a_bytes, s_bytes, rows_bytes, need;
  guint8 *scratch;
  IbClBuffer *sb;
  Prim *prim;
  GError *e = NULL;
  dnnl_memory_desc_t smd, dmd, bmd;
  dnnl_memory_t ms = NULL, mw = NULL, mb = NULL, md = NULL, msp = NULL;
  dnnl_stream_t stream = NULL;
  dnnl_exec_arg_t args[5];
  int n_args = 0, flags;
  cl_int st;

  if (ib_cl_queue_failed (q))
    return;
  if (m == 1 && w->kp > 0) {
    gemv_blocked (q, a, a_off, w, residual, c, c_off);
    return;
  }
  if (!host_address (q, a, "input") || !host_address (q, c, "output") ||
      (residual && !host_address (q, residual, "residual")))
    return;
  /* q8: bias and residual in our epilogue; bf16: fused by oneDNN (sum
   * post-op on C, which holds R first) */
  flags = q8 ? 0 : (w->bias ? PRIM_BIAS : 0) | (residual ? PRIM_SUM : 0);
  if ((prim = get_prim (m, w, flags, &e)) == NULL) {
    ib_cl_queue_take_error (q, e);
    return;
  }

  need =
      linear_scratch (w, m, prim->scratchpad, &a_bytes, &s_bytes, &rows_bytes);
  sb = ib_cl_queue_scratch (q, need);
  if (sb == NULL || !host_address (q, sb, "scratch"))
    goto out;
  scratch = sb->data;

  /* the one synchronisation: the kernels before wrote A (and R) */
  st = clFinish (ib_cl_queue_get_cl (q));
  if (st != CL_SUCCESS) {
    ib_cl_queue_cl_error (q, st, "clFinish");
    goto out;
  }
  A = (const float *) a->data + a_off;
  C = (float *) c->data + c_off;
  if (residual)
    R = (const float *) residual->data + c_off;

  if (q8)
    quantize_u8 (A, scratch, (float *) (scratch + a_bytes + s_bytes),
        (gint32 *) (scratch + a_bytes + s_bytes + rows_bytes / 2), m, k);
  else {
    quantize_bf16 (A, (guint16 *) scratch, m, k);
    if (R && R != C)
      memcpy (C, R, (gsize) m * n * 4);
  }

  md_plain (&smd, m, k, src_type (w->storage), dnnl_ab);
  md_plain (&dmd, m, n, dst_type (w->storage), dnnl_ab);
  md_plain (&bmd, 1, n, dnnl_f32, dnnl_ab);
  DNNL_CHECK (dnnl_memory_create (&ms, &smd, engine, scratch), &e);
  DNNL_CHECK (dnnl_memory_create (&mw, &w->md, engine, w->data), &e);
  DNNL_CHECK (dnnl_memory_create (&md, &dmd, engine,
                  q8 ? (void *) (scratch + a_bytes) : (void *) C),
      &e);
  args[n_args++] = (dnnl_exec_arg_t){ DNNL_ARG_SRC, ms };
  args[n_args++] = (dnnl_exec_arg_t){ DNNL_ARG_WEIGHTS, mw };
  args[n_args++] = (dnnl_exec_arg_t){ DNNL_ARG_DST, md };
  if (flags & PRIM_BIAS) {
    DNNL_CHECK (dnnl_memory_create (&mb, &bmd, engine, w->bias), &e);
    args[n_args++] = (dnnl_exec_arg_t){ DNNL_ARG_BIAS, mb };
  }
  if (prim->scratchpad) {
    dnnl_memory_desc_t spmd;
    dnnl_dims_t d = { (dnnl_dim_t) prim->scratchpad };
    dnnl_memory_desc_init_by_tag (&spmd, 1, d, dnnl_u8, dnnl_a);
    DNNL_CHECK (dnnl_memory_create (&msp, &spmd, engine,
                    scratch + a_bytes + s_bytes + rows_bytes),
        &e);
    args[n_args++] = (dnnl_exec_arg_t){ DNNL_ARG_SCRATCHPAD, msp };
  }
  DNNL_CHECK (dnnl_stream_create (&stream, engine, dnnl_stream_default_flags),
      &e);
  DNNL_CHECK (dnnl_primitive_execute (prim->prim, stream, n_args, args), &e);
  DNNL_CHECK (dnnl_stream_wait (stream), &e);
  if (q8)
    epilogue_q8 (w, (const gint32 *) (scratch + a_bytes),
        (const float *) (scratch + a_bytes + s_bytes),
        (const gint32 *) (scratch + a_bytes + s_bytes + rows_bytes / 2), R, C,
        m, gelu);
out:
  if (e)
    ib_cl_queue_take_error (q, e);
  prim_unref (prim);
  if (stream)
    dnnl_stream_destroy (stream);
  if (ms)
    dnnl_memory_destroy (ms);
  if (mw)
    dnnl_memory_destroy (mw);
  if (mb)
    dnnl_memory_destroy (mb);
  if (md)
    dnnl_memory_destroy (md);
  if (msp)
    dnnl_memory_destroy (msp);
}

void
ib_cl_dnnl_linear (IbClQueue *q, const IbClBuffer *a, gsize a_off,
    const IbClDnnlWeight *w, const IbClBuffer *residual, IbClBuffer *c,
    gsize c_off, int m)
{
  dnnl_linear (q, a, a_off, w, residual, c, c_off, m, FALSE);
}

void
ib_cl_dnnl_linear_gelu (IbClQueue *q, const IbClBuffer *a, gsize a_off,
    const IbClDnnlWeight *w, IbClBuffer *c, gsize c_off, int m)
{
  g_return_if_fail (ib_cl_dnnl_fuses_gelu (w, m));
  dnnl_linear (q, a, a_off, w, NULL, c, c_off, m, TRUE);
}

/* Attention's batched products: C_b = alpha · A_b · op(B_b) in bf16 × bf16
 * → fp32 (the same products in bf16 and q8 models). A and B are gathered
 * from their strided places (heads are column ranges of a fused qkv
 * buffer) into dense bf16, which oneDNN's bf16 kernels need anyway (on a
 * strided operand it falls back to its slow reference GEMM); C is written
 * in place when dense (the scores), else gathered back (a head's columns
 * of the context). */
static dnnl_status_t
batched_pd (dnnl_primitive_desc_t *pd, const PrimKey *key,
    const dnnl_memory_desc_t *unused)
{
  dnnl_dims_t da = { key->batch, key->m, key->k };
  dnnl_dims_t db = { key->batch, key->k, key->n };
  dnnl_dims_t dc = { key->batch, key->m, key->n };
  dnnl_memory_desc_t amd, bmd, cmd;
  dnnl_matmul_desc_t desc;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_status_t st;
  float alpha;

  (void) unused;
  memcpy (&alpha, &key->alpha, 4);
  dnnl_memory_desc_init_by_tag (&amd, 3, da, dnnl_bf16, dnnl_abc);
  /* B^T as [batch][n][k]: the logical [batch, k, n] in "acb" */
  dnnl_memory_desc_init_by_tag (&bmd, 3, db, dnnl_bf16,
      key->trans_b ? dnnl_acb : dnnl_abc);
  dnnl_memory_desc_init_by_tag (&cmd, 3, dc, dnnl_f32, dnnl_abc);
  if ((st = dnnl_matmul_desc_init (&desc, &amd, &bmd, NULL, &cmd)) !=
      dnnl_success)
    return st;
  if ((st = dnnl_primitive_attr_create (&attr)) != dnnl_success)
    return st;
  st =
      dnnl_primitive_attr_set_scratchpad_mode (attr, dnnl_scratchpad_mode_user);
  if (st == dnnl_success && alpha != 1.0f)
    st = dnnl_primitive_attr_set_output_scales (attr, 1, 0, &alpha);
  if (st == dnnl_success)
    st = dnnl_primitive_desc_create (pd, &desc, attr, engine, NULL);
  dnnl_primitive_attr_destroy (attr);
  return st;
}

static void
batched_key (PrimKey *key, gboolean trans_b, int m, int n, int k, float alpha,
    int batch)
{
  memset (key, 0, sizeof (*key));
  key->m = m;
  key->n = n;
  key->k = k;
  key->storage = -1;
  key->batch = batch;
  key->trans_b = trans_b != FALSE;
  memcpy (&key->alpha, &alpha, 4);
}

static gboolean
dense_output (IbClMatrix c, int m, int n, int batch)
{
  return c.ld == n && (batch == 1 || c.stride == (gsize) m * n);
}

/* Bytes of the queue's scratch one batched product uses: A and B in bf16,
 * C in fp32 unless written in place, oneDNN's scratchpad. */
static gsize
batched_scratch (const Prim *prim, int m, int n, int k, int batch,
    gboolean dense_c, gsize *a_bytes, gsize *b_bytes, gsize *c_bytes)
{
  *a_bytes = round_up ((gsize) batch * m * k * 2);
  *b_bytes = round_up ((gsize) batch * n * k * 2);
  *c_bytes = dense_c ? 0 : round_up ((gsize) batch * m * n * 4);
  return *a_bytes + *b_bytes + *c_bytes + round_up (prim->scratchpad);
}

/* @rows x @cols of each of @batch matrices at @src (strided) -> dense bf16
 * [batch][rows][cols]. */
static void
gather_bf16 (const float *src, int ld, gsize stride, int batch, int rows,
    int cols, guint16 *dst)
{
  const int total = batch * rows;
  int i;

#pragma omp parallel for schedule( \
    static) if ((gsize) total * cols >= PARALLEL_MIN)
  for (i = 0; i < total; i++)
    to_bf16_row (src + (gsize) (i / rows) * stride + (gsize) (i % rows) * ld,
        dst + (gsize) i * cols, cols);
}

/* Softmax of each row of the dense fp32 scores @x [rows, cols] in place,
 * as softmax.cl computes it without bias or mask: the max, e^(v - max)
 * written back with its sum, then the scaling by 1/sum; and the
 * probabilities in bf16 into @dst, the product's A. */
HOT static void
softmax_bf16_row (float *x, guint16 *dst, int cols)
{
  float m = -INFINITY, sum = 0.0f, inv;
  int j;

#pragma omp simd reduction(max : m)
  for (j = 0; j < cols; j++)
    m = x[j] > m ? x[j] : m;
#pragma omp simd reduction(+ : sum)
  for (j = 0; j < cols; j++) {
    const float a = x[j] - m;
    const float e = !(a >= -87.0f) ? 0.0f : exp_sum (a, 0.0f);
    x[j] = e;
    sum += e;
  }
  inv = 1.0f / sum;
  for (j = 0; j < cols; j++) {
    x[j] *= inv;
    dst[j] = to_bf16 (x[j]);
  }
}

static void
softmax_bf16 (float *x, guint16 *dst, int rows, int cols)
{
  int i;

#pragma omp parallel for schedule( \
    static) if ((gsize) rows * cols >= PARALLEL_MIN)
  for (i = 0; i < rows; i++)
    softmax_bf16_row (x + (gsize) i * cols, dst + (gsize) i * cols, cols);
}

/* dense fp32 [batch][rows][cols] -> strided @dst */
static void
scatter_f32 (const float *src, float *dst, int ld, gsize stride, int batch,
    int rows, int cols)
{
  const int total = batch * rows;
  int i;

#pragma omp parallel for schedule( \
    static) if ((gsize) total * cols >= PARALLEL_MIN)
  for (i = 0; i < total; i++)
    memcpy (dst + (gsize) (i / rows) * stride + (gsize) (i % rows) * ld,
        src + (gsize) i * cols, (gsize) cols * 4);
}

gboolean
ib_cl_dnnl_batched_scratch (gboolean trans_b, int m_max, int n, int k,
    float alpha, int batch, gboolean dense_c, gsize *need, GError **error)
{
  int m;

  for (m = 1; m > 0; m = next_m (m, m_max)) {
    PrimKey key;
    Prim pr = { NULL, 0 };
    gsize a, b, c;
    batched_key (&key, trans_b, m, n, k, alpha, batch);
    if (!scratchpad_bytes (&key, batched_pd, NULL, &pr.scratchpad, error))
      return FALSE;
    *need =
        MAX (*need, batched_scratch (&pr, m, n, k, batch, dense_c, &a, &b, &c));
  }
  return TRUE;
}

/* ib_cl_dnnl_gemm_batched; with @softmax_a, A is dense [batch][m][k]
 * scores, softmaxed in place by rows on the way to its bf16 copy. */
static void
gemm_batched (IbClQueue *q, gboolean trans_b, int m, int n, int k, float alpha,
    IbClMatrix a, IbClMatrix b, IbClMatrix c, int batch, gboolean softmax_a)
{
  const gboolean dense_c = dense_output (c, m, n, batch);
  PrimKey key;
  Prim *prim;
  GError *e = NULL;
  gsize a_bytes, b_bytes, c_bytes, need;
  guint8 *scratch;
  float *C;
  IbClBuffer *sb;
  dnnl_dims_t da = { batch, m, k }, db = { batch, k, n }, dc = { batch, m, n };
  dnnl_memory_desc_t amd, bmd, cmd;
  dnnl_memory_t ma = NULL, mb = NULL, mc = NULL, msp = NULL;
  dnnl_stream_t stream = NULL;
  dnnl_exec_arg_t args[4];
  int n_args = 0;
  cl_int st;

  if (ib_cl_queue_failed (q))
    return;
  if (!host_address (q, a.buf, "A") || !host_address (q, b.buf, "B") ||
      !host_address (q, c.buf, "C"))
    return;
  batched_key (&key, trans_b, m, n, k, alpha, batch);
  if ((prim = cached_prim (&key, batched_pd, NULL, &e)) == NULL) {
    ib_cl_queue_take_error (q, e);
    return;
  }
  need = batched_scratch (prim, m, n, k, batch, dense_c, &a_bytes, &b_bytes,
      &c_bytes);
  sb = ib_cl_queue_scratch (q, need);
  if (sb == NULL || !host_address (q, sb, "scratch"))
    goto out;
  scratch = sb->data;

  /* the one synchronisation: the kernels before wrote A and B */
  st = clFinish (ib_cl_queue_get_cl (q));
  if (st != CL_SUCCESS) {
    ib_cl_queue_cl_error (q, st, "clFinish");
    goto out;
  }
  if (softmax_a)
    softmax_bf16 ((float *) a.buf->data + a.offset, (guint16 *) scratch,
        batch * m, k);
  else
    gather_bf16 ((const float *) a.buf->data + a.offset, a.ld, a.stride, batch,
        m, k, (guint16 *) scratch);
  gather_bf16 ((const float *) b.buf->data + b.offset, b.ld, b.stride, batch,
      trans_b ? n : k, trans_b ? k : n, (guint16 *) (scratch + a_bytes));
  C = dense_c ? (float *) c.buf->data + c.offset :
                (float *) (scratch + a_bytes + b_bytes);

  dnnl_memory_desc_init_by_tag (&amd, 3, da, dnnl_bf16, dnnl_abc);
  dnnl_memory_desc_init_by_tag (&bmd, 3, db, dnnl_bf16,
      trans_b ? dnnl_acb : dnnl_abc);
  dnnl_memory_desc_init_by_tag (&cmd, 3, dc, dnnl_f32, dnnl_abc);
  DNNL_CHECK (dnnl_memory_create (&ma, &amd, engine, scratch), &e);
  DNNL_CHECK (dnnl_memory_create (&mb, &bmd, engine, scratch + a_bytes), &e);
  DNNL_CHECK (dnnl_memory_create (&mc, &cmd, engine, C), &e);
  args[n_args++] = (dnnl_exec_arg_t){ DNNL_ARG_SRC, ma };
  args[n_args++] = (dnnl_exec_arg_t){ DNNL_ARG_WEIGHTS, mb };
  args[n_args++] = (dnnl_exec_arg_t){ DNNL_ARG_DST, mc };
  if (prim->scratchpad) {
    dnnl_memory_desc_t spmd;
    dnnl_dims_t d = { (dnnl_dim_t) prim->scratchpad };
    dnnl_memory_desc_init_by_tag (&spmd, 1, d, dnnl_u8, dnnl_a);
    DNNL_CHECK (dnnl_memory_create (&msp, &spmd, engine,
                    scratch + a_bytes + b_bytes + c_bytes),
        &e);
    args[n_args++] = (dnnl_exec_arg_t){ DNNL_ARG_SCRATCHPAD, msp };
  }
  DNNL_CHECK (dnnl_stream_create (&stream, engine, dnnl_stream_default_flags),
      &e);
  DNNL_CHECK (dnnl_primitive_execute (prim->prim, stream, n_args, args), &e);
  DNNL_CHECK (dnnl_stream_wait (stream), &e);
  if (!dense_c)
    scatter_f32 (C, (float *) c.buf->data + c.offset, c.ld, c.stride, batch, m,
        n);
out:
  if (e)
    ib_cl_queue_take_error (q, e);
  prim_unref (prim);
  if (stream)
    dnnl_stream_destroy (stream);
  if (ma)
    dnnl_memory_destroy (ma);
  if (mb)
    dnnl_memory_destroy (mb);
  if (mc)
    dnnl_memory_destroy (mc);
  if (msp)
    dnnl_memory_destroy (msp);
}

void
ib_cl_dnnl_gemm_batched (IbClQueue *q, gboolean trans_b, int m, int n, int k,
    float alpha, IbClMatrix a, IbClMatrix b, IbClMatrix c, int batch)
{
  gemm_batched (q, trans_b, m, n, k, alpha, a, b, c, batch, FALSE);
}

void
ib_cl_dnnl_softmax_gemm_batched (IbClQueue *q, int m, int n, int k,
    IbClMatrix p, IbClMatrix b, IbClMatrix c, int batch)
{
  gemm_batched (q, FALSE, m, n, k, 1.0f, p, b, c, batch, TRUE);
}
