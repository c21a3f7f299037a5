/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Weight packing and the dispatch of matrix products to a backend. */
#include "gemm-priv.h"

#include <string.h>

#include "half.h"
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
  IbClDnnlWeight *dnnl; /* BF16 and Q8 storage: everything is here */
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
  /* oneDNN computes on the host in the buffers' memory: a CPU device's
   * buffers are host memory; a GPU's (even with unified memory) would need
   * mapping and cache flushes, and its own kernels: not done yet. */
  if (!info->is_cpu) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_UNSUPPORTED,
        "%s weights run through oneDNN on CPU devices only; %s is not a "
        "CPU device (use fp32 or fp16)",
        ib_cl_dtype_name (storage), info->name);
    return FALSE;
  }
  return ib_cl_dnnl_check (storage, native, error);
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
  if (storage == IB_CL_DTYPE_BF16 || storage == IB_CL_DTYPE_Q8) {
    wt->dnnl = ib_cl_dnnl_weight_new (dev, w, src, n, k, bias, storage, error);
    if (wt->dnnl == NULL)
      goto fail;
    return wt;
  }

  bytes = (gsize) wt->n_padded * k * ib_cl_dtype_size (storage);
  host = ib_cl_host_alloc (bytes);
  if (host == NULL)
    goto oom;
  if (wt->backend == IB_CL_GEMM_OWN)
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

gsize
ib_cl_weight_get_bytes (const IbClWeight *w)
{
  if (w->dnnl)
    return ib_cl_dnnl_weight_get_bytes (w->dnnl);
  return w->w->size + (w->bias ? w->bias->size : 0);
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

static void
linear_clblast (IbClQueue *q, const IbClBuffer *a, gsize a_off,
    const IbClWeight *w, const IbClBuffer *residual, IbClBuffer *c, gsize c_off,
    int m, int flags)
{
  const gboolean f16 = w->storage == IB_CL_DTYPE_F16;
  const IbClBuffer *wf = w->w;
  IbClLaunch l;

  if (m == 1) {
    size_t global = w->n;
    if (!ib_cl_launch_begin (&l, q, f16 ? "gemv_kn_f16" : "gemv_kn_f32"))
      return;
    ib_cl_launch_mem (&l, a);
    ib_cl_launch_mem (&l, w->w);
    ib_cl_launch_mem_opt (&l, w->bias);
    ib_cl_launch_mem_opt (&l, residual);
    ib_cl_launch_mem (&l, c);
    ib_cl_launch_int (&l, w->n);
    ib_cl_launch_int (&l, w->k);
    ib_cl_launch_int (&l, flags);
    ib_cl_launch_int (&l, (gint32) a_off);
    ib_cl_launch_int (&l, (gint32) c_off);
    ib_cl_launch_run (&l, 1, &global, NULL);
    return;
  }

  if (f16) {
    /* No HGEMM on devices without cl_khr_fp16: widen into scratch. */
    size_t global = (size_t) w->n * w->k;
    IbClBuffer *s = ib_cl_queue_scratch (q, global * 4);
    if (s == NULL || !ib_cl_launch_begin (&l, q, "convert_f16_f32"))
      return;
    ib_cl_launch_mem (&l, w->w);
    ib_cl_launch_mem (&l, s);
    ib_cl_launch_int (&l, (int) global);
    ib_cl_launch_run (&l, 1, &global, NULL);
    wf = s;
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
  ib_cl_clblast_sgemm (q, FALSE, m, w->n, w->k, 1.0f, a, a_off, w->k, wf, 0,
      w->n, flags ? 1.0f : 0.0f, c, c_off, w->n);
}

void
ib_cl_linear_rows (IbClQueue *q, const IbClBuffer *a, int a_row,
    const IbClWeight *w, const IbClBuffer *residual, IbClBuffer *c, int c_row,
    int m)
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
  if (w->dnnl)
    ib_cl_dnnl_linear (q, a, a_off, w->dnnl, residual, c, c_off, m);
  else if (w->backend == IB_CL_GEMM_OWN)
    linear_own (q, a, a_off, w, residual, c, c_off, m, flags);
  else
    linear_clblast (q, a, a_off, w, residual, c, c_off, m, flags);
}

void
ib_cl_linear (IbClQueue *q, const IbClBuffer *a, const IbClWeight *w,
    const IbClBuffer *residual, IbClBuffer *c, int m)
{
  ib_cl_linear_rows (q, a, 0, w, residual, c, 0, m);
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
ib_cl_gemm_batched (IbClQueue *q, gboolean trans_b, int m, int n, int k,
    float alpha, IbClMatrix a, IbClMatrix b, IbClMatrix c, int batch)
{
  size_t global[3], local[3] = { 1, 1, 1 };
  IbClLaunch l;

  if (ib_cl_queue_failed (q) || m <= 0 || n <= 0 || k <= 0 || batch <= 0)
    return;
  if (!check_matrix (q, a, m, k, batch, "A") ||
      !check_matrix (q, b, trans_b ? n : k, trans_b ? k : n, batch, "B") ||
      !check_matrix (q, c, m, n, batch, "C"))
    return;
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
