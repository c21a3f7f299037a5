/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Weight packing and the dispatch of matrix products to a backend. */
#include "gemm-priv.h"

#include <string.h>

#include "half.h"
#include "ops.h"
#include "pack.h"

struct _IbClWeight
{
  IbClDevice *dev;
  IbClGemmBackend backend;
  IbClDtype storage;
  int n, k;
  int n_padded; /* OWN: n rounded up to whole panels */
  IbClBuffer *w; /* OWN: [n_padded/NR][k][NR]; CLBLAST: [k,n] */
  IbClBuffer *bias; /* [n_padded] f32, or NULL */
  IbClBuffer *scale; /* q8 on GPUs: [n] f32, one per output channel */
  IbClDnnlWeight *dnnl; /* BF16 and Q8 on CPU devices: everything is here */
};

gsize
ib_cl_dtype_size (IbClDtype dtype)
{
  switch (dtype) {
    case IB_CL_DTYPE_F32:
      return 4;
    case IB_CL_DTYPE_Q8:
      return 1;
    default:
      return 2;
  }
}

const char *
ib_cl_dtype_name (IbClDtype dtype)
{
  switch (dtype) {
    case IB_CL_DTYPE_F32:
      return "f32";
    case IB_CL_DTYPE_F16:
      return "f16";
    case IB_CL_DTYPE_BF16:
      return "bf16";
    case IB_CL_DTYPE_Q8:
      return "q8";
  }
  return "?";
}

static inline float
load_f32 (const void *src, IbClDtype dtype, gsize i)
{
  switch (dtype) {
    case IB_CL_DTYPE_F16:
      return ib_cl_f16_to_f32 (((const guint16 *) src)[i]);
    case IB_CL_DTYPE_BF16:
      return ib_cl_bf16_to_f32 (((const guint16 *) src)[i]);
    default:
      return ((const float *) src)[i];
  }
}

/* Packing converts every weight once at load: pack.c spreads it over the
 * cores, in blocks, vectorised. */
static void
pack (void *dst, const void *w, IbClDtype src, IbClDtype storage, int n, int k,
    int n_padded, gboolean panels)
{
  ib_cl_pack_weight (dst, storage, w, src, n, k, n_padded, panels);
}

gboolean
ib_cl_gemm_supports (IbClDevice *dev, IbClDtype storage, gboolean *native,
    GError **error)
{
  const IbClDeviceInfo *info = ib_cl_device_get_info (dev);

  if (native)
    *native = TRUE;
  if (storage == IB_CL_DTYPE_F32 || storage == IB_CL_DTYPE_F16)
    return TRUE;
  if (storage != IB_CL_DTYPE_BF16 && storage != IB_CL_DTYPE_Q8) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
        "unknown weight storage %d", (int) storage);
    return FALSE;
  }
  /* CPU devices: oneDNN computes on the host in the buffers' memory. */
  if (info->is_cpu)
    return ib_cl_dnnl_check (storage, native, error);
  /* GPUs: [K,N] weights widened in registers by gemm_gpu.cl's kernels */
  if (ib_cl_device_get_gemm (dev) != IB_CL_GEMM_CLBLAST) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_UNSUPPORTED,
        "%s weights on a GPU (%s) need the CLBlast backend (gemm auto or "
        "clblast), not own",
        ib_cl_dtype_name (storage), info->name);
    return FALSE;
  }
  /* bf16 has no arithmetic of its own there: fp32 on widened weights, as
   * fast as fp16 storage and coarser, so AUTO prefers fp16 */
  if (native)
    *native = storage == IB_CL_DTYPE_Q8;
  return TRUE;
}

IbClWeight *
ib_cl_weight_new (IbClDevice *dev, const void *w, IbClDtype src, int n, int k,
    const void *bias, IbClDtype storage, GError **error)
{
  IbClWeight *wt = NULL;
  gsize bytes;
  gpointer host;

  if (n <= 0 || k <= 0 || (gsize) n * k > G_MAXINT32) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
        "invalid weight shape [%d, %d]", n, k);
    return NULL;
  }
  if (src == IB_CL_DTYPE_Q8) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
        "q8 is a storage type, not a source dtype");
    return NULL;
  }
  if (!ib_cl_gemm_supports (dev, storage, NULL, error))
    return NULL;

  wt = g_new0 (IbClWeight, 1);
  wt->dev = ib_cl_device_ref (dev);
  wt->backend = ib_cl_device_get_gemm (dev);
  wt->storage = storage;
  wt->n = n;
  wt->k = k;
  wt->n_padded = wt->backend == IB_CL_GEMM_OWN ?
      (n + IB_CL_GEMM_NR - 1) / IB_CL_GEMM_NR * IB_CL_GEMM_NR :
      n;
  if ((storage == IB_CL_DTYPE_BF16 || storage == IB_CL_DTYPE_Q8) &&
      ib_cl_device_get_info (dev)->is_cpu) {
    wt->dnnl = ib_cl_dnnl_weight_new (dev, w, src, n, k, bias, storage, error);
    if (wt->dnnl == NULL)
      goto fail;
    return wt;
  }

  bytes = (gsize) wt->n_padded * k * ib_cl_dtype_size (storage);
  host = ib_cl_host_alloc (bytes);
  if (host == NULL)
    goto oom;
  if (storage == IB_CL_DTYPE_Q8) {
    float *scale = ib_cl_host_alloc ((gsize) n * 4);
    if (scale == NULL) {
      ib_cl_host_free (host);
      goto oom;
    }
    ib_cl_pack_kn_lowp (host, scale, storage, w, src, n, k);
    wt->scale = ib_cl_buffer_new_take_host (dev, scale, (gsize) n * 4, error);
    if (wt->scale == NULL) {
      ib_cl_host_free (host);
      goto fail;
    }
  } else if (storage == IB_CL_DTYPE_BF16)
    ib_cl_pack_kn_lowp (host, NULL, storage, w, src, n, k);
  else if (wt->backend == IB_CL_GEMM_OWN)
    pack (host, w, src, storage, n, k, wt->n_padded, TRUE);
  else
    pack (host, w, src, storage, n, k, n, FALSE);
  wt->w = ib_cl_buffer_new_take_host (dev, host, bytes, error);
  if (wt->w == NULL)
    goto fail;

  if (bias) {
    float *b = ib_cl_host_alloc ((gsize) wt->n_padded * 4);
    int i;
    if (b == NULL)
      goto oom;
    /* fp16 storage rounds the bias like the weight (kept as f32): the
     * layer is then exactly an fp16 layer computed in fp32 */
    for (i = 0; i < wt->n_padded; i++) {
      b[i] = i < n ? load_f32 (bias, src, i) : 0.0f;
      if (storage == IB_CL_DTYPE_F16)
        b[i] = ib_cl_f16_to_f32 (ib_cl_f32_to_f16 (b[i]));
    }
    wt->bias =
        ib_cl_buffer_new_take_host (dev, b, (gsize) wt->n_padded * 4, error);
    if (wt->bias == NULL)
      goto fail;
  }
  return wt;

oom:
  g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_MEMORY,
      "out of host memory packing a [%d, %d] weight", n, k);
fail:
  ib_cl_weight_free (wt);
  return NULL;
}

void
ib_cl_weight_free (IbClWeight *w)
{
  if (w == NULL)
    return;
  ib_cl_buffer_free (w->w);
  ib_cl_buffer_free (w->bias);
  ib_cl_buffer_free (w->scale);
  ib_cl_dnnl_weight_free (w->dnnl);
  ib_cl_device_unref (w->dev);
  g_free (w);
}

int
ib_cl_weight_get_n (const IbClWeight *w)
{
  return w->n;
}

int
ib_cl_weight_get_k (const IbClWeight *w)
{
  return w->k;
}

IbClDtype
ib_cl_weight_get_storage (const IbClWeight *w)
{
  return w->storage;
}

gsize
ib_cl_weight_get_bytes (const IbClWeight *w)
{
  if (w->dnnl)
    return ib_cl_dnnl_weight_get_bytes (w->dnnl);
  return w->w->size + (w->bias ? w->bias->size : 0) +
      (w->scale ? w->scale->size : 0);
}

/* Bump when the packing or quantisation of any storage changes: cached
 * packed weights of an older revision are not used. */
#define PACK_REVISION 1

char *
ib_cl_weight_layout_key (IbClDevice *dev, IbClDtype storage)
{
  const IbClDeviceInfo *info = ib_cl_device_get_info (dev);
  char *dnnl = ib_cl_dnnl_layout_key ();
  char driver[256] = "";
  char *key;

  clGetDeviceInfo (ib_cl_device_get_id (dev), CL_DRIVER_VERSION,
      sizeof (driver) - 1, driver, NULL);
  key = g_strdup_printf ("platform=%s device=%s version=%s driver=%s "
                         "backend=%d storage=%s mr=%d nr=%d pack=%d dnnl=%s",
      info->platform, info->name, info->version, driver,
      (int) ib_cl_device_get_gemm (dev), ib_cl_dtype_name (storage),
      IB_CL_GEMM_MR, IB_CL_GEMM_NR, PACK_REVISION, dnnl);
  g_free (dnnl);
  return key;
}

/* The fixed part of a packed weight's descriptor; oneDNN's part follows. */
typedef struct
{
  guint32 magic;
  guint32 backend, storage;
  gint32 n, k, n_padded;
  guint32 has_bias;
  guint32 dnnl_bytes; /* bytes of oneDNN's descriptor after this */
} PackedDesc;

#define PACKED_MAGIC 0x57504249u /* "IBPW" */

static gboolean
host_blocks_error (IbClDevice *dev, GError **error)
{
  g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_UNSUPPORTED,
      "packed weights as bytes need a device whose buffers are host memory; "
      "%s is not one",
      ib_cl_device_get_info (dev)->name);
  return FALSE;
}

gboolean
ib_cl_weight_export (const IbClWeight *w, GBytes **desc,
    IbClWeightBlock blocks[IB_CL_WEIGHT_MAX_BLOCKS], guint *n_blocks,
    GError **error)
{
  PackedDesc d = { PACKED_MAGIC, (guint32) w->backend, (guint32) w->storage,
    w->n, w->k, w->n_padded, 0, 0 };
  GByteArray *bytes = g_byte_array_new ();
  GByteArray *dnnl = g_byte_array_new ();
  gboolean ok = FALSE;

  *n_blocks = 0;
  if (w->dnnl) {
    if (!ib_cl_dnnl_weight_export (w->dnnl, dnnl, blocks, n_blocks, error))
      goto out;
    d.has_bias = ib_cl_dnnl_weight_has_bias (w->dnnl);
  } else {
    if (w->w->data == NULL || (w->bias && w->bias->data == NULL)) {
      host_blocks_error (w->dev, error);
      goto out;
    }
    blocks[(*n_blocks)++] = (IbClWeightBlock){ w->w->data, w->w->size };
    if (w->bias)
      blocks[(*n_blocks)++] = (IbClWeightBlock){ w->bias->data, w->bias->size };
    d.has_bias = w->bias != NULL;
  }
  d.dnnl_bytes = dnnl->len;
  g_byte_array_append (bytes, (const guint8 *) &d, sizeof (d));
  g_byte_array_append (bytes, dnnl->data, dnnl->len);
  *desc = g_byte_array_free_to_bytes (g_steal_pointer (&bytes));
  ok = TRUE;
out:
  if (bytes)
    g_byte_array_unref (bytes);
  g_byte_array_unref (dnnl);
  return ok;
}

IbClBuffer *
ib_cl_packed_block (IbClDevice *dev, const IbClMappedBlocks *src, guint i,
    gsize size, GError **error)
{
  gsize map_size;
  const guint8 *base;
  gpointer host;

  if (src == NULL) {
    if ((host = ib_cl_host_alloc (size)) == NULL) {
      g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_MEMORY,
          "out of host memory for a packed weight block of %" G_GSIZE_FORMAT
          " bytes",
          size);
      return NULL;
    }
    return ib_cl_buffer_new_take_host (dev, host, size, error);
  }
  base = g_bytes_get_data (src->map, &map_size);
  if (i >= src->n_blocks || src->blocks[i].size != size ||
      src->blocks[i].data < base ||
      (gsize) (src->blocks[i].data - base) > map_size - size) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
        "packed weight block %u: %" G_GSIZE_FORMAT " bytes expected in the "
        "mapped file",
        i, size);
    return NULL;
  }
  return ib_cl_buffer_new_mapped (dev, src->map,
      (gsize) (src->blocks[i].data - base), size, error);
}

static IbClWeight *
new_packed (IbClDevice *dev, const void *desc, gsize desc_len,
    const IbClMappedBlocks *src,
    IbClWeightBlock blocks[IB_CL_WEIGHT_MAX_BLOCKS], guint *n_blocks,
    GError **error)
{
  IbClWeight *wt = NULL;
  PackedDesc d;
  gsize bytes;

  *n_blocks = 0;
  if (desc_len < sizeof (d)) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
        "packed weight descriptor of %" G_GSIZE_FORMAT
        " bytes, at least %" G_GSIZE_FORMAT " needed",
        desc_len, sizeof (d));
    return NULL;
  }
  memcpy (&d, desc, sizeof (d));
  if (d.magic != PACKED_MAGIC || d.storage > IB_CL_DTYPE_Q8 || d.n <= 0 ||
      d.k <= 0 || (gsize) d.n * d.k > G_MAXINT32 ||
      d.dnnl_bytes != desc_len - sizeof (d)) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
        "malformed packed weight descriptor");
    return NULL;
  }
  if (d.backend != (guint32) ib_cl_device_get_gemm (dev)) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_UNSUPPORTED,
        "packed [%d, %d] weight is for another GEMM backend than %s uses", d.n,
        d.k, ib_cl_device_get_info (dev)->name);
    return NULL;
  }
  if (!ib_cl_gemm_supports (dev, d.storage, NULL, error))
    return NULL;

  wt = g_new0 (IbClWeight, 1);
  wt->dev = ib_cl_device_ref (dev);
  wt->backend = d.backend;
  wt->storage = d.storage;
  wt->n = d.n;
  wt->k = d.k;
  wt->n_padded = wt->backend == IB_CL_GEMM_OWN ?
      (d.n + IB_CL_GEMM_NR - 1) / IB_CL_GEMM_NR * IB_CL_GEMM_NR :
      d.n;
  if (wt->n_padded != d.n_padded) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_UNSUPPORTED,
        "packed [%d, %d] weight has %d padded rows, this build pads to %d", d.n,
        d.k, d.n_padded, wt->n_padded);
    goto fail;
  }
  if (d.storage == IB_CL_DTYPE_BF16 || d.storage == IB_CL_DTYPE_Q8) {
    wt->dnnl = ib_cl_dnnl_weight_new_packed (dev, d.n, d.k, d.storage,
        d.has_bias != 0, (const guint8 *) desc + sizeof (d), d.dnnl_bytes, src,
        blocks, n_blocks, error);
    if (wt->dnnl == NULL)
      goto fail;
    return wt;
  }
  if (d.dnnl_bytes != 0) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
        "malformed packed weight descriptor");
    goto fail;
  }
  bytes = (gsize) wt->n_padded * wt->k * ib_cl_dtype_size (wt->storage);
  wt->w = ib_cl_packed_block (dev, src, 0, bytes, error);
  if (wt->w == NULL)
    goto fail;
  if (d.has_bias) {
    wt->bias =
        ib_cl_packed_block (dev, src, 1, (gsize) wt->n_padded * 4, error);
    if (wt->bias == NULL)
      goto fail;
  }
  if (src && src->n_blocks != (d.has_bias ? 2u : 1u)) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
        "packed [%d, %d] weight: %u blocks, %u expected", d.n, d.k,
        src->n_blocks, d.has_bias ? 2u : 1u);
    goto fail;
  }
  if (wt->w->data == NULL || (wt->bias && wt->bias->data == NULL)) {
    host_blocks_error (dev, error);
    goto fail;
  }
  blocks[(*n_blocks)++] = (IbClWeightBlock){ wt->w->data, wt->w->size };
  if (wt->bias)
    blocks[(*n_blocks)++] = (IbClWeightBlock){ wt->bias->data, wt->bias->size };
  return wt;

fail:
  *n_blocks = 0;
  ib_cl_weight_free (wt);
  return NULL;
}

IbClWeight *
ib_cl_weight_new_packed (IbClDevice *dev, const void *desc, gsize desc_len,
    IbClWeightBlock blocks[IB_CL_WEIGHT_MAX_BLOCKS], guint *n_blocks,
    GError **error)
{
  return new_packed (dev, desc, desc_len, NULL, blocks, n_blocks, error);
}

IbClWeight *
ib_cl_weight_new_mapped (IbClDevice *dev, const void *desc, gsize desc_len,
    GBytes *map, const IbClWeightBlock *mapped, guint n_mapped,
    IbClWeightBlock blocks[IB_CL_WEIGHT_MAX_BLOCKS], guint *n_blocks,
    GError **error)
{
  const IbClMappedBlocks src = { map, mapped, n_mapped };

  return new_packed (dev, desc, desc_len, &src, blocks, n_blocks, error);
}

gboolean
ib_cl_weight_has_blocked_gemv (const IbClWeight *w)
{
  return w->dnnl && ib_cl_dnnl_weight_has_gemv (w->dnnl);
}

void
ib_cl_weight_disable_blocked_gemv (IbClWeight *w)
{
  if (w->dnnl)
    ib_cl_dnnl_weight_disable_gemv (w->dnnl);
}

/* Prefill on fp16 weights through CLBlast's HGEMM: the CLBlast backend on
 * a device with cl_khr_fp16 (never on CPU devices, whose half arithmetic is
 * emulated). */
static gboolean
uses_hgemm (const IbClWeight *w, int m)
{
  const IbClDeviceInfo *info = ib_cl_device_get_info (w->dev);

  return m > 1 && w->dnnl == NULL && w->backend == IB_CL_GEMM_CLBLAST &&
      w->storage == IB_CL_DTYPE_F16 && info->has_fp16 && !info->is_cpu;
}

gboolean
ib_cl_linear_scratch (const IbClWeight *w, int m_max, gsize *need,
    GError **error)
{
  if (w->dnnl)
    return ib_cl_dnnl_linear_scratch (w->dnnl, m_max, need, error);
  /* HGEMM (linear_clblast): A in fp16, then the fp16 product */
  if (uses_hgemm (w, m_max)) {
    const gsize a_n = (gsize) m_max * w->k, p_off = (a_n + 63) / 64 * 64;
    *need = MAX (*need, (p_off + (gsize) m_max * w->n) * 2);
  }
  return TRUE;
}

/* Attention's products in bf16/q8 models go through oneDNN where their
 * weights do: on CPU devices (GPUs keep fp32 products). */
static gboolean
batched_dnnl (IbClDevice *dev, IbClDtype precision)
{
  return (precision == IB_CL_DTYPE_BF16 || precision == IB_CL_DTYPE_Q8) &&
      ib_cl_device_get_info (dev)->is_cpu;
}

gboolean
ib_cl_gemm_batched_scratch (IbClDevice *dev, IbClDtype precision,
    gboolean trans_b, int m_max, int n, int k, float alpha, int batch,
    gboolean dense_c, gsize *need, GError **error)
{
  if (batched_dnnl (dev, precision))
    return ib_cl_dnnl_batched_scratch (trans_b, m_max, n, k, alpha, batch,
        dense_c, need, error);
  /* the own kernel's K^T, [batch][k][n] */
  if (trans_b && ib_cl_device_get_gemm (dev) == IB_CL_GEMM_OWN)
    *need = MAX (*need, (gsize) batch * k * n * 4);
  return TRUE;
}

static gboolean
check_buffer (IbClQueue *q, const IbClBuffer *buf, gsize floats,
    const char *what)
{
  if (buf->size < floats * 4) {
    GError *e = g_error_new (IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
        "%s buffer holds %" G_GSIZE_FORMAT
        " bytes, the product needs %" G_GSIZE_FORMAT,
        what, buf->size, floats * 4);
    return ib_cl_queue_take_error (q, e);
  }
  return TRUE;
}

static void
linear_own (IbClQueue *q, const IbClBuffer *a, gsize a_off, const IbClWeight *w,
    const IbClBuffer *residual, IbClBuffer *c, gsize c_off, int m, int flags)
{
  const gboolean f16 = w->storage == IB_CL_DTYPE_F16;
  const int mr = m == 1 ? 1 : IB_CL_GEMM_MR;
  size_t global[2], local[2] = { 1, 1 };
  IbClLaunch l;

  if (!ib_cl_launch_begin (&l, q,
          m == 1 ? (f16 ? "gemv_pk_f16" : "gemv_pk_f32") :
                   (f16 ? "gemm_pk_f16" : "gemm_pk_f32")))
    return;
  ib_cl_launch_mem (&l, a);
  ib_cl_launch_mem (&l, w->w);
  ib_cl_launch_mem_opt (&l, w->bias);
  ib_cl_launch_mem_opt (&l, residual);
  ib_cl_launch_mem (&l, c);
  ib_cl_launch_int (&l, m);
  ib_cl_launch_int (&l, w->n);
  ib_cl_launch_int (&l, w->k);
  ib_cl_launch_int (&l, flags);
  ib_cl_launch_int (&l, (gint32) a_off);
  ib_cl_launch_int (&l, (gint32) c_off);
  global[0] = (m + mr - 1) / mr;
  global[1] = w->n_padded / IB_CL_GEMM_NR;
  ib_cl_launch_run (&l, 2, global, local);
}

/* Kernel names of gemm_gpu.cl by weight storage. */
static const char *
kn_kernel (const char *prefix, IbClDtype storage, char *buf, gsize size)
{
  g_snprintf (buf, size, "%s_%s", prefix, ib_cl_dtype_name (storage));
  return buf;
}

static void
gemv_gpu (IbClQueue *q, const IbClBuffer *a, gsize a_off, const IbClWeight *w,
    const IbClBuffer *residual, IbClBuffer *c, gsize c_off, int flags)
{
  size_t global[2], local[2] = { IB_CL_GEMV_GX, IB_CL_GEMV_GK };
  char name[32];
  IbClLaunch l;

  if (!ib_cl_launch_begin (&l, q,
          kn_kernel ("gemv_kn", w->storage, name, sizeof (name))))
    return;
  ib_cl_launch_mem (&l, a);
  ib_cl_launch_mem (&l, w->w);
  ib_cl_launch_mem_opt (&l, w->scale);
  ib_cl_launch_mem_opt (&l, w->bias);
  ib_cl_launch_mem_opt (&l, residual);
  ib_cl_launch_mem (&l, c);
  ib_cl_launch_int (&l, w->n);
  ib_cl_launch_int (&l, w->k);
  ib_cl_launch_int (&l, flags);
  ib_cl_launch_int (&l, (gint32) a_off);
  ib_cl_launch_int (&l, (gint32) c_off);
  global[0] =
      (size_t) (w->n + IB_CL_GEMV_GX - 1) / IB_CL_GEMV_GX * IB_CL_GEMV_GX;
  global[1] = IB_CL_GEMV_GK;
  ib_cl_launch_run (&l, 2, global, local);
}

/* Prefill on fp16, bf16 or q8 weights without HGEMM: fp32 sums of
 * weights widened on their way into local memory. */
static void
gemm_gpu (IbClQueue *q, const IbClBuffer *a, gsize a_off, const IbClWeight *w,
    const IbClBuffer *residual, IbClBuffer *c, gsize c_off, int m, int flags)
{
  const int t = IB_CL_GPU_TS * IB_CL_GPU_WPT;
  size_t global[2], local[2] = { IB_CL_GPU_TS, IB_CL_GPU_TS };
  char name[32];
  IbClLaunch l;

  if (!ib_cl_launch_begin (&l, q,
          kn_kernel ("gemm_kn", w->storage, name, sizeof (name))))
    return;
  ib_cl_launch_mem (&l, a);
  ib_cl_launch_mem (&l, w->w);
  ib_cl_launch_mem_opt (&l, w->scale);
  ib_cl_launch_mem_opt (&l, w->bias);
  ib_cl_launch_mem_opt (&l, residual);
  ib_cl_launch_mem (&l, c);
  ib_cl_launch_int (&l, m);
  ib_cl_launch_int (&l, w->n);
  ib_cl_launch_int (&l, w->k);
  ib_cl_launch_int (&l, flags);
  ib_cl_launch_int (&l, (gint32) a_off);
  ib_cl_launch_int (&l, (gint32) c_off);
  global[0] = (size_t) (w->n + t - 1) / t * IB_CL_GPU_TS;
  global[1] = (size_t) (m + t - 1) / t * IB_CL_GPU_TS;
  ib_cl_launch_run (&l, 2, global, local);
}

/* Prefill on fp16 weights where the device has cl_khr_fp16: A rounded to
 * fp16, CLBlast's HGEMM (fp16 products and sums), the fp16 product
 * widened with the fp32 bias and residual. One scratch holds A16 and the
 * product; the weight is read where it is. */
static void
hgemm (IbClQueue *q, const IbClBuffer *a, gsize a_off, const IbClWeight *w,
    const IbClBuffer *residual, IbClBuffer *c, gsize c_off, int m, int flags)
{
  const gsize a_n = (gsize) m * w->k, p_off = (a_n + 63) / 64 * 64;
  size_t global[2];
  IbClBuffer *s;
  IbClLaunch l;

  if (p_off + (gsize) m * w->n > G_MAXINT32) {
    ib_cl_queue_take_error (q,
        g_error_new (IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
            "HGEMM: [%d, %d] x [%d, %d] needs more than 2^31 halves of "
            "scratch",
            m, w->k, w->k, w->n));
    return;
  }
  s = ib_cl_queue_scratch (q, (p_off + (gsize) m * w->n) * 2);
  if (s == NULL || !ib_cl_launch_begin (&l, q, "hgemm_a_to_f16"))
    return;
  ib_cl_launch_mem (&l, a);
  ib_cl_launch_mem (&l, s);
  ib_cl_launch_int (&l, (gint32) a_n);
  ib_cl_launch_int (&l, (gint32) a_off);
  global[0] = a_n;
  ib_cl_launch_run (&l, 1, global, NULL);
  ib_cl_clblast_hgemm (q, m, w->n, w->k, s, 0, w->w, s, p_off);
  if (!ib_cl_launch_begin (&l, q, "hgemm_epilogue"))
    return;
  ib_cl_launch_mem (&l, s);
  ib_cl_launch_int (&l, (gint32) p_off);
  ib_cl_launch_mem_opt (&l, w->bias);
  ib_cl_launch_mem_opt (&l, residual);
  ib_cl_launch_mem (&l, c);
  ib_cl_launch_int (&l, m);
  ib_cl_launch_int (&l, w->n);
  ib_cl_launch_int (&l, flags);
  ib_cl_launch_int (&l, (gint32) c_off);
  global[0] = w->n;
  global[1] = m;
  ib_cl_launch_run (&l, 2, global, NULL);
}

/* The CLBlast backend (GPUs): weights [K,N]. fp32: CLBlast's SGEMM; fp16:
 * HGEMM where the device has cl_khr_fp16; otherwise and for bf16 and q8
 * our kernels, which widen each weight in registers (gemm_gpu.cl). */
static void
linear_clblast (IbClQueue *q, const IbClBuffer *a, gsize a_off,
    const IbClWeight *w, const IbClBuffer *residual, IbClBuffer *c, gsize c_off,
    int m, int flags)
{
  IbClLaunch l;

  if (w->scale)
    flags |= IB_HAS_SCALE;
  if (m == 1) {
    gemv_gpu (q, a, a_off, w, residual, c, c_off, flags);
    return;
  }
  if (uses_hgemm (w, m)) {
    hgemm (q, a, a_off, w, residual, c, c_off, m, flags);
    return;
  }
  if (w->storage != IB_CL_DTYPE_F32) {
    gemm_gpu (q, a, a_off, w, residual, c, c_off, m, flags);
    return;
  }
  if (flags) {
    size_t global[2] = { w->n, m };
    if (!ib_cl_launch_begin (&l, q, "bias_residual_fill"))
      return;
    ib_cl_launch_mem_opt (&l, w->bias);
    ib_cl_launch_mem_opt (&l, residual);
    ib_cl_launch_mem (&l, c);
    ib_cl_launch_int (&l, m);
    ib_cl_launch_int (&l, w->n);
    ib_cl_launch_int (&l, flags);
    ib_cl_launch_int (&l, (gint32) c_off);
    ib_cl_launch_run (&l, 2, global, NULL);
  }
  ib_cl_clblast_sgemm (q, FALSE, m, w->n, w->k, 1.0f, a, a_off, w->k, w->w, 0,
      w->n, flags ? 1.0f : 0.0f, c, c_off, w->n);
}

/* ib_cl_linear_rows; with @gelu (no residual, ib_cl_dnnl_fuses_gelu) the
 * oneDNN product applies GELU in its epilogue. */
static void
linear_rows (IbClQueue *q, const IbClBuffer *a, int a_row, const IbClWeight *w,
    const IbClBuffer *residual, IbClBuffer *c, int c_row, int m, gboolean gelu)
{
  int flags = (w->bias ? IB_HAS_BIAS : 0) | (residual ? IB_HAS_RESIDUAL : 0);
  gsize a_off = (gsize) a_row * w->k, c_off = (gsize) c_row * w->n;

  if (ib_cl_queue_failed (q) || m <= 0)
    return;
  if (!check_buffer (q, a, a_off + (gsize) m * w->k, "input") ||
      !check_buffer (q, c, c_off + (gsize) m * w->n, "output") ||
      (residual &&
          !check_buffer (q, residual, c_off + (gsize) m * w->n, "residual")))
    return;
  if (a_off + (gsize) m * w->k > G_MAXINT32 ||
      c_off + (gsize) m * w->n > G_MAXINT32) {
    ib_cl_queue_take_error (q,
        g_error_new (IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
            "linear: offsets beyond 2^31 floats"));
    return;
  }
  if (gelu)
    ib_cl_dnnl_linear_gelu (q, a, a_off, w->dnnl, c, c_off, m);
  else if (w->dnnl)
    ib_cl_dnnl_linear (q, a, a_off, w->dnnl, residual, c, c_off, m);
  else if (w->backend == IB_CL_GEMM_OWN)
    linear_own (q, a, a_off, w, residual, c, c_off, m, flags);
  else
    linear_clblast (q, a, a_off, w, residual, c, c_off, m, flags);
}

void
ib_cl_linear_rows (IbClQueue *q, const IbClBuffer *a, int a_row,
    const IbClWeight *w, const IbClBuffer *residual, IbClBuffer *c, int c_row,
    int m)
{
  linear_rows (q, a, a_row, w, residual, c, c_row, m, FALSE);
}

void
ib_cl_linear (IbClQueue *q, const IbClBuffer *a, const IbClWeight *w,
    const IbClBuffer *residual, IbClBuffer *c, int m)
{
  ib_cl_linear_rows (q, a, 0, w, residual, c, 0, m);
}

gboolean
ib_cl_weight_rows_independent (const IbClWeight *w)
{
  /* gemv_pk_* and gemm_pk_* run the same fma chain over k for every output
   * (tests/opencl: linear-rows); CLBlast and oneDNN choose kernels and
   * blockings by shape */
  return w->dnnl == NULL && w->backend == IB_CL_GEMM_OWN;
}

/* CLBlast backend: @m single-row segments from row @row at once, each row
 * as gemv_kn_* computes it alone (gemv_kn_rows_*, gemm_gpu.cl). */
static void
gemv_kn_rows (IbClQueue *q, const IbClBuffer *a, const IbClWeight *w,
    const IbClBuffer *residual, IbClBuffer *c, int row, int m)
{
  size_t global[3], local[3] = { IB_CL_GEMV_GX, IB_CL_GEMV_GK, 1 };
  char name[32];
  IbClLaunch l;

  if (m == 1) {
    ib_cl_linear_rows (q, a, row, w, residual, c, row, 1);
    return;
  }
  if (ib_cl_queue_failed (q) ||
      !check_buffer (q, a, (gsize) (row + m) * w->k, "input") ||
      !check_buffer (q, c, (gsize) (row + m) * w->n, "output") ||
      (residual &&
          !check_buffer (q, residual, (gsize) (row + m) * w->n, "residual")) ||
      !ib_cl_launch_begin (&l, q,
          kn_kernel ("gemv_kn_rows", w->storage, name, sizeof (name))))
    return;
  ib_cl_launch_mem (&l, a);
  ib_cl_launch_mem (&l, w->w);
  ib_cl_launch_mem_opt (&l, w->scale);
  ib_cl_launch_mem_opt (&l, w->bias);
  ib_cl_launch_mem_opt (&l, residual);
  ib_cl_launch_mem (&l, c);
  ib_cl_launch_int (&l, m);
  ib_cl_launch_int (&l, w->n);
  ib_cl_launch_int (&l, w->k);
  ib_cl_launch_int (&l,
      (w->scale ? IB_HAS_SCALE : 0) | (w->bias ? IB_HAS_BIAS : 0) |
          (residual ? IB_HAS_RESIDUAL : 0));
  ib_cl_launch_int (&l, (gint32) ((gsize) row * w->k));
  ib_cl_launch_int (&l, (gint32) ((gsize) row * w->n));
  global[0] =
      (size_t) (w->n + IB_CL_GEMV_GX - 1) / IB_CL_GEMV_GX * IB_CL_GEMV_GX;
  global[1] = IB_CL_GEMV_GK;
  global[2] = (m + IB_CL_GEMV_ROWS - 1) / IB_CL_GEMV_ROWS;
  ib_cl_launch_run (&l, 3, global, local);
}

void
ib_cl_linear_segments (IbClQueue *q, const IbClBuffer *a, const IbClWeight *w,
    const IbClBuffer *residual, IbClBuffer *c, const int *rows, int n_segments)
{
  int s, total = 0, run;

  for (s = 0; s < n_segments; s++)
    total += rows[s];
  if (ib_cl_weight_rows_independent (w)) {
    ib_cl_linear_rows (q, a, 0, w, residual, c, 0, total);
    return;
  }
  for (s = 0, total = 0; s < n_segments; total += rows[s], s++) {
    /* CLBlast: consecutive one-row segments (greedy, sampling) in one
     * multi-row GEMV; beam segments as alone (an SGEMM) */
    if (rows[s] == 1 && w->dnnl == NULL && w->backend == IB_CL_GEMM_CLBLAST) {
      for (run = 1; s + run < n_segments && rows[s + run] == 1; run++)
        ;
      gemv_kn_rows (q, a, w, residual, c, total, run);
      s += run - 1;
      total += run - 1;
      continue;
    }
    ib_cl_linear_rows (q, a, total, w, residual, c, total, rows[s]);
  }
}

void
ib_cl_linear_segments_gelu (IbClQueue *q, const IbClBuffer *a,
    const IbClWeight *w, IbClBuffer *c, const int *rows, int n_segments)
{
  gboolean fused = w->dnnl != NULL;
  int s, total = 0;

  for (s = 0; s < n_segments; s++) {
    fused = fused && ib_cl_dnnl_fuses_gelu (w->dnnl, rows[s]);
    total += rows[s];
  }
  if (!fused) {
    ib_cl_linear_segments (q, a, w, NULL, c, rows, n_segments);
    ib_cl_activate (q, IB_CL_ACT_GELU, c, c, (gsize) total * w->n);
    return;
  }
  /* one product per segment, as ib_cl_linear_segments runs oneDNN's */
  for (s = 0, total = 0; s < n_segments; total += rows[s], s++)
    linear_rows (q, a, total, w, NULL, c, total, rows[s], TRUE);
}

static gboolean
check_matrix (IbClQueue *q, IbClMatrix mat, int rows, int cols, int batch,
    const char *what)
{
  gsize last = mat.offset + (gsize) (batch - 1) * mat.stride +
      (gsize) (rows - 1) * mat.ld + cols;
  if (mat.ld < cols || last * 4 > mat.buf->size || last > G_MAXINT32) {
    GError *e = g_error_new (IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
        "batched product: matrix %s [%d x %d, ld %d] x %d overruns its "
        "buffer of %" G_GSIZE_FORMAT " bytes",
        what, rows, cols, mat.ld, batch, mat.buf->size);
    return ib_cl_queue_take_error (q, e);
  }
  return TRUE;
}

void
ib_cl_gemm_batched (IbClQueue *q, IbClDtype precision, gboolean trans_b, int m,
    int n, int k, float alpha, IbClMatrix a, IbClMatrix b, IbClMatrix c,
    int batch)
{
  size_t global[3], local[3] = { 1, 1, 1 };
  IbClLaunch l;

  if (ib_cl_queue_failed (q) || m <= 0 || n <= 0 || k <= 0 || batch <= 0)
    return;
  if (!check_matrix (q, a, m, k, batch, "A") ||
      !check_matrix (q, b, trans_b ? n : k, trans_b ? k : n, batch, "B") ||
      !check_matrix (q, c, m, n, batch, "C"))
    return;
  if (batched_dnnl (ib_cl_queue_get_device (q), precision)) {
    ib_cl_dnnl_gemm_batched (q, trans_b, m, n, k, alpha, a, b, c, batch);
    return;
  }
  if (ib_cl_device_get_gemm (ib_cl_queue_get_device (q)) ==
      IB_CL_GEMM_CLBLAST) {
    ib_cl_clblast_sgemm_batched (q, trans_b, m, n, k, alpha, a, b, c, batch);
    return;
  }
  if (trans_b) {
    /* Kᵀ per batch, densely: [batch][k][n], then the NN kernel */
    IbClBuffer *t = ib_cl_queue_scratch (q, (gsize) batch * k * n * 4);
    if (t == NULL || !ib_cl_launch_begin (&l, q, "transpose_batched"))
      return;
    ib_cl_launch_mem (&l, b.buf);
    ib_cl_launch_int (&l, (gint32) b.offset);
    ib_cl_launch_int (&l, b.ld);
    ib_cl_launch_int (&l, (gint32) b.stride);
    ib_cl_launch_mem (&l, t);
    ib_cl_launch_int (&l, n);
    ib_cl_launch_int (&l, k);
    global[0] = (k + IB_CL_TRANSPOSE_K - 1) / IB_CL_TRANSPOSE_K;
    global[1] = n;
    global[2] = batch;
    ib_cl_launch_run (&l, 3, global, local);
    b = (IbClMatrix){ t, 0, n, (gsize) k * n };
  }
  if (!ib_cl_launch_begin (&l, q, "gemm_batched_f32"))
    return;
  ib_cl_launch_mem (&l, a.buf);
  ib_cl_launch_int (&l, (gint32) a.offset);
  ib_cl_launch_int (&l, a.ld);
  ib_cl_launch_int (&l, (gint32) a.stride);
  ib_cl_launch_mem (&l, b.buf);
  ib_cl_launch_int (&l, (gint32) b.offset);
  ib_cl_launch_int (&l, b.ld);
  ib_cl_launch_int (&l, (gint32) b.stride);
  ib_cl_launch_mem (&l, c.buf);
  ib_cl_launch_int (&l, (gint32) c.offset);
  ib_cl_launch_int (&l, c.ld);
  ib_cl_launch_int (&l, (gint32) c.stride);
  ib_cl_launch_int (&l, m);
  ib_cl_launch_int (&l, n);
  ib_cl_launch_int (&l, k);
  ib_cl_launch_float (&l, alpha);
  global[0] = (m + IB_CL_BATCHED_MR - 1) / IB_CL_BATCHED_MR;
  global[1] = (n + IB_CL_BATCHED_NR - 1) / IB_CL_BATCHED_NR;
  global[2] = batch;
  ib_cl_launch_run (&l, 3, global, local);
}

void
ib_cl_softmax_gemm_batched (IbClQueue *q, IbClDtype precision, int m, int n,
    int k, IbClMatrix p, IbClMatrix b, IbClMatrix c, int batch)
{
  if (ib_cl_queue_failed (q) || m <= 0 || n <= 0 || k <= 0 || batch <= 0)
    return;
  if (p.ld != k || (batch > 1 && p.stride != (gsize) m * k)) {
    ib_cl_queue_take_error (q,
        g_error_new (IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
            "softmax product: the scores [%d x %d] x %d are not dense (ld %d)",
            m, k, batch, p.ld));
    return;
  }
  if (!batched_dnnl (ib_cl_queue_get_device (q), precision)) {
    ib_cl_softmax (q, (IbClBuffer *) p.buf, batch, m, k, 1.0f, NULL, 0, NULL,
        -1);
    ib_cl_gemm_batched (q, precision, FALSE, m, n, k, 1.0f, p, b, c, batch);
    return;
  }
  if (!check_matrix (q, p, m, k, batch, "P") ||
      !check_matrix (q, b, k, n, batch, "B") ||
      !check_matrix (q, c, m, n, batch, "C"))
    return;
  ib_cl_dnnl_softmax_gemm_batched (q, m, n, k, p, b, c, batch);
}
