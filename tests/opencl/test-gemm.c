/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Linear layers (GEMM and GEMV) and batched attention products on both
 * backends, against a naive double-precision loop. */
#include <math.h>
#include <string.h>

#include "device-private.h"
#include "gemm.h"
#include "half.h"

typedef struct
{
  int m, n, k;
} Shape;

/* odd sizes on purpose: not multiples of the 6x32 tile, of 4 or of 16 */
static const Shape shapes[] = {
  { 1, 37, 13 },
  { 1, 64, 96 },
  { 2, 33, 5 },
  { 5, 100, 37 },
  { 6, 32, 4 },
  { 7, 65, 130 },
  { 13, 96, 72 },
  { 64, 128, 256 },
  { 257, 96, 88 },
  /* large enough (n·k >= 2^20) that packing runs on several threads */
  { 3, 1061, 1000 },
};

static float
frand (guint32 *s)
{
  *s = *s * 1664525u + 1013904223u;
  return ((*s >> 8) / 16777216.0f) * 2.0f - 1.0f;
}

static IbClDevice *
open_backend (IbClGemmBackend backend)
{
  IbClDeviceParams p;
  GError *error = NULL;
  IbClDevice *dev;

  ib_cl_device_params_init (&p);
  p.gemm = backend;
  dev = ib_cl_device_new (&p, &error);
  if (dev == NULL) {
    g_test_skip (error->message);
    g_error_free (error);
  }
  return dev;
}

static double
rel_error (const float *out, const double *ref, gsize n)
{
  double num = 0, den = 0;
  gsize i;

  for (i = 0; i < n; i++) {
    num += (out[i] - ref[i]) * (out[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return sqrt (num / MAX (den, 1e-30));
}

/* the weight as the device will see it after storage rounding */
static float
stored (float v, IbClDtype src, IbClDtype storage, guint16 *raw)
{
  if (src == IB_CL_DTYPE_F16) {
    *raw = ib_cl_f32_to_f16 (v);
    v = ib_cl_f16_to_f32 (*raw);
  } else if (src == IB_CL_DTYPE_BF16) {
    guint32 u;
    memcpy (&u, &v, 4);
    *raw = u >> 16; /* truncation is fine for a test input */
    v = ib_cl_bf16_to_f32 (*raw);
  }
  if (storage == IB_CL_DTYPE_F16)
    v = ib_cl_f16_to_f32 (ib_cl_f32_to_f16 (v));
  return v;
}

/* A queue whose scratch holds what @w needs for up to @m rows. */
static IbClQueue *
sized_queue (IbClDevice *dev, const IbClWeight *w, int m)
{
  GError *error = NULL;
  IbClQueue *q = ib_cl_queue_new (dev, &error);
  gsize need = 0;

  g_assert_no_error (error);
  g_assert_true (ib_cl_linear_scratch (w, m, &need, &error));
  g_assert_true (ib_cl_queue_reserve_scratch (q, need, &error));
  g_assert_no_error (error);
  return q;
}

static void
check_linear (IbClDevice *dev, Shape s, IbClDtype src, IbClDtype storage,
    gboolean with_bias, gboolean with_residual, gboolean in_place)
{
  GError *error = NULL;
  gsize na = (gsize) s.m * s.k, nw = (gsize) s.n * s.k, nc = (gsize) s.m * s.n;
  float *a = g_new (float, na), *w = g_new (float, nw), *c = g_new (float, nc);
  float *wv = g_new (float, nw), *r = g_new (float, nc);
  float *bias = g_new (float, s.n), *bv = g_new (float, s.n);
  guint16 *raw = g_new (guint16, nw), *braw = g_new (guint16, s.n);
  double *ref = g_new0 (double, nc);
  IbClBuffer *da, *dc, *dr = NULL;
  IbClWeight *wt;
  IbClQueue *q;
  guint32 seed = s.m * 7919 + s.n * 31 + s.k;
  double err;
  gsize i;
  int x, y, z;

  for (i = 0; i < na; i++)
    a[i] = frand (&seed);
  for (i = 0; i < nw; i++)
    wv[i] = stored (w[i] = frand (&seed) * 0.5f, src, storage, &raw[i]);
  for (x = 0; x < s.n; x++)
    bv[x] = stored (bias[x] = frand (&seed), src, storage, &braw[x]);
  /* F16 storage rounds the bias to fp16 like the weight (kept as f32 on
   * the device): an fp16 layer computed in fp32, as precision=fp16 means */
  for (i = 0; i < nc; i++)
    r[i] = frand (&seed);

  for (x = 0; x < s.m; x++)
    for (y = 0; y < s.n; y++) {
      double acc = with_bias ? bv[y] : 0.0;
      for (z = 0; z < s.k; z++)
        acc += (double) a[x * s.k + z] * wv[y * s.k + z];
      ref[x * s.n + y] = acc + (with_residual ? r[x * s.n + y] : 0.0);
    }

  wt = ib_cl_weight_new (dev,
      src == IB_CL_DTYPE_F32 ? (void *) w : (void *) raw, src, s.n, s.k,
      with_bias ? (src == IB_CL_DTYPE_F32 ? (void *) bias : (void *) braw) :
                  NULL,
      storage, &error);
  g_assert_no_error (error);
  q = sized_queue (dev, wt, s.m);
  da = ib_cl_buffer_new (dev, na * 4, &error);
  dc = ib_cl_buffer_new (dev, nc * 4, &error);
  g_assert_no_error (error);
  ib_cl_queue_upload (q, da, 0, a, na * 4);
  if (with_residual) {
    dr = in_place ? dc : ib_cl_buffer_new (dev, nc * 4, &error);
    ib_cl_queue_upload (q, dr, 0, r, nc * 4);
  }
  ib_cl_linear (q, da, wt, dr, dc, s.m);
  ib_cl_queue_download (q, dc, 0, c, nc * 4);
  ib_cl_queue_finish (q, &error);
  g_assert_no_error (error);

  err = rel_error (c, ref, nc);
  if (err > 1e-6)
    g_test_message ("linear %dx%dx%d %s->%s bias %d res %d: rel err %.3g", s.m,
        s.n, s.k, ib_cl_dtype_name (src), ib_cl_dtype_name (storage), with_bias,
        with_residual, err);
  g_assert_cmpfloat (err, <, 1e-5);

  if (dr != dc)
    ib_cl_buffer_free (dr);
  ib_cl_buffer_free (da);
  ib_cl_buffer_free (dc);
  ib_cl_queue_free (q);
  ib_cl_weight_free (wt);
  g_free (a);
  g_free (w);
  g_free (wv);
  g_free (c);
  g_free (r);
  g_free (raw);
  g_free (ref);
  g_free (bias);
  g_free (bv);
  g_free (braw);
}

static void
test_linear (gconstpointer data)
{
  IbClGemmBackend backend = GPOINTER_TO_INT (data);
  g_autoptr (IbClDevice) dev = open_backend (backend);
  guint i;

  if (dev == NULL)
    return;
  g_assert_cmpint (ib_cl_device_get_gemm (dev), ==, backend);
  for (i = 0; i < G_N_ELEMENTS (shapes); i++) {
    check_linear (dev, shapes[i], IB_CL_DTYPE_F32, IB_CL_DTYPE_F32, TRUE, FALSE,
        FALSE);
    check_linear (dev, shapes[i], IB_CL_DTYPE_F32, IB_CL_DTYPE_F32, FALSE,
        FALSE, FALSE);
    check_linear (dev, shapes[i], IB_CL_DTYPE_F32, IB_CL_DTYPE_F32, TRUE, TRUE,
        FALSE);
    check_linear (dev, shapes[i], IB_CL_DTYPE_F32, IB_CL_DTYPE_F32, FALSE, TRUE,
        TRUE);
    check_linear (dev, shapes[i], IB_CL_DTYPE_F32, IB_CL_DTYPE_F16, TRUE, TRUE,
        FALSE);
    check_linear (dev, shapes[i], IB_CL_DTYPE_F16, IB_CL_DTYPE_F32, TRUE, FALSE,
        FALSE);
    check_linear (dev, shapes[i], IB_CL_DTYPE_BF16, IB_CL_DTYPE_F16, TRUE,
        FALSE, FALSE);
  }
}

/* Per-head attention products on a fused [rows, 3·H] qkv buffer, the way
 * the models use them: scores_h = Q_h K_hᵀ · scale, ctx_h = P_h V_h. */
static void
test_batched (gconstpointer data)
{
  IbClGemmBackend backend = GPOINTER_TO_INT (data);
  g_autoptr (IbClDevice) dev = open_backend (backend);
  const int rows_list[] = { 1, 7, 33 }, dims[] = { 8, 13, 88 };
  GError *error = NULL;
  IbClQueue *q;
  gsize need = 0;
  guint ri, di;

  if (dev == NULL)
    return;
  q = ib_cl_queue_new (dev, &error);
  /* the own kernel transposes K into the scratch */
  g_assert_true (ib_cl_gemm_batched_scratch (dev, IB_CL_DTYPE_F32, TRUE, 33, 33,
      88, 1.0f, 3, TRUE, &need, &error));
  g_assert_true (ib_cl_queue_reserve_scratch (q, need, &error));
  for (ri = 0; ri < G_N_ELEMENTS (rows_list); ri++)
    for (di = 0; di < G_N_ELEMENTS (dims); di++) {
      const int L = rows_list[ri], d = dims[di], heads = 3, H = heads * d;
      const float scale = 1.0f / sqrtf ((float) d);
      gsize nqkv = (gsize) L * 3 * H, ns = (gsize) heads * L * L;
      float *qkv = g_new (float, nqkv), *sc = g_new (float, ns);
      float *ctx = g_new (float, (gsize) L *H);
      double *rs = g_new (double, ns), *rc = g_new (double, (gsize) L *H);
      IbClBuffer *dqkv, *dsc, *dctx;
      IbClMatrix mq, mk, mv, ms, mc;
      guint32 seed = L * 131 + d;
      gsize i;
      int h, x, y, z;

      for (i = 0; i < nqkv; i++)
        qkv[i] = frand (&seed);
      for (h = 0; h < heads; h++)
        for (x = 0; x < L; x++)
          for (y = 0; y < L; y++) {
            double acc = 0;
            for (z = 0; z < d; z++)
              acc += (double) qkv[x * 3 * H + h * d + z] *
                  qkv[y * 3 * H + H + h * d + z];
            rs[(h * L + x) * L + y] = acc * scale;
          }
      dqkv = ib_cl_buffer_new (dev, nqkv * 4, &error);
      dsc = ib_cl_buffer_new (dev, ns * 4, &error);
      dctx = ib_cl_buffer_new (dev, (gsize) L * H * 4, &error);
      g_assert_no_error (error);
      ib_cl_queue_upload (q, dqkv, 0, qkv, nqkv * 4);
      mq = (IbClMatrix){ dqkv, 0, 3 * H, d };
      mk = (IbClMatrix){ dqkv, H, 3 * H, d };
      mv = (IbClMatrix){ dqkv, 2 * H, 3 * H, d };
      ms = (IbClMatrix){ dsc, 0, L, (gsize) L * L };
      mc = (IbClMatrix){ dctx, 0, H, d };
      ib_cl_gemm_batched (q, IB_CL_DTYPE_F32, TRUE, L, L, d, scale, mq, mk, ms,
          heads);
      ib_cl_queue_download (q, dsc, 0, sc, ns * 4);
      g_assert_true (ib_cl_queue_finish (q, &error));
      g_assert_cmpfloat (rel_error (sc, rs, ns), <, 1e-5);

      /* context from the (unnormalised) scores as probabilities */
      for (h = 0; h < heads; h++)
        for (x = 0; x < L; x++)
          for (z = 0; z < d; z++) {
            double acc = 0;
            for (y = 0; y < L; y++)
              acc += (double) sc[(h * L + x) * L + y] *
                  qkv[y * 3 * H + 2 * H + h * d + z];
            rc[x * H + h * d + z] = acc;
          }
      ib_cl_gemm_batched (q, IB_CL_DTYPE_F32, FALSE, L, d, L, 1.0f, ms, mv, mc,
          heads);
      ib_cl_queue_download (q, dctx, 0, ctx, (gsize) L * H * 4);
      g_assert_true (ib_cl_queue_finish (q, &error));
      g_assert_cmpfloat (rel_error (ctx, rc, (gsize) L * H), <, 1e-5);

      ib_cl_buffer_free (dqkv);
      ib_cl_buffer_free (dsc);
      ib_cl_buffer_free (dctx);
      g_free (qkv);
      g_free (sc);
      g_free (ctx);
      g_free (rs);
      g_free (rc);
    }
  ib_cl_queue_free (q);
}

/* Row ranges: rows [a_row, a_row + m) of A into rows [c_row, ...) of C,
 * with the residual read from the same rows of C's buffer. */
static void
test_rows (gconstpointer data)
{
  IbClGemmBackend backend = GPOINTER_TO_INT (data);
  g_autoptr (IbClDevice) dev = open_backend (backend);
  const int m_list[] = { 1, 5, 13 }, n = 40, k = 24, a_row = 3, c_row = 2;
  GError *error = NULL;
  IbClQueue *q;
  guint mi;

  if (dev == NULL)
    return;
  q = ib_cl_queue_new (dev, &error);
  for (mi = 0; mi < G_N_ELEMENTS (m_list); mi++) {
    const int m = m_list[mi], ra = a_row + m + 1, rc = c_row + m + 2;
    float *a = g_new (float, ra *k), *w = g_new (float, n *k);
    float *bias = g_new (float, n), *c0 = g_new (float, rc *n);
    float *c = g_new (float, rc *n);
    double *ref = g_new (double, rc *n);
    guint32 seed = 99 + m;
    IbClBuffer *da, *dc;
    IbClWeight *wt;
    int i, j, z;

    for (i = 0; i < ra * k; i++)
      a[i] = frand (&seed);
    for (i = 0; i < n * k; i++)
      w[i] = frand (&seed);
    for (i = 0; i < n; i++)
      bias[i] = frand (&seed);
    for (i = 0; i < rc * n; i++)
      ref[i] = c0[i] = frand (&seed);
    for (i = 0; i < m; i++)
      for (j = 0; j < n; j++) {
        double acc = bias[j] + c0[(c_row + i) * n + j];
        for (z = 0; z < k; z++)
          acc += (double) a[(a_row + i) * k + z] * w[j * k + z];
        ref[(c_row + i) * n + j] = acc;
      }
    wt = ib_cl_weight_new (dev, w, IB_CL_DTYPE_F32, n, k, bias, IB_CL_DTYPE_F32,
        &error);
    da = ib_cl_buffer_new (dev, (gsize) ra * k * 4, &error);
    dc = ib_cl_buffer_new (dev, (gsize) rc * n * 4, &error);
    g_assert_no_error (error);
    ib_cl_queue_upload (q, da, 0, a, (gsize) ra * k * 4);
    ib_cl_queue_upload (q, dc, 0, c0, (gsize) rc * n * 4);
    ib_cl_linear_rows (q, da, a_row, wt, dc, dc, c_row, m);
    ib_cl_queue_download (q, dc, 0, c, (gsize) rc * n * 4);
    ib_cl_queue_finish (q, &error);
    g_assert_no_error (error);
    /* rows outside the range are untouched, the range matches */
    g_assert_cmpfloat (rel_error (c, ref, (gsize) rc * n), <, 1e-6);
    ib_cl_buffer_free (da);
    ib_cl_buffer_free (dc);
    ib_cl_weight_free (wt);
    g_free (a);
    g_free (w);
    g_free (bias);
    g_free (c0);
    g_free (c);
    g_free (ref);
  }
  ib_cl_queue_free (q);
}

/* Segments of rows (sequences decoded together): every segment's rows bit
 * for bit what a product over that segment alone gives, and on the own
 * kernels every row what a product over that row alone (the GEMV) gives:
 * the K order of the sums does not depend on the number of rows. */
static void
test_segments (gconstpointer data)
{
  IbClGemmBackend backend = GPOINTER_TO_INT (data);
  g_autoptr (IbClDevice) dev = NULL;
  /* runs of one-row segments (the CLBlast backend's multi-row GEMV, 5
   * rows: more than one work-item's 4) between longer ones */
  const int seg[] = { 1, 1, 3, 1, 1, 1, 1, 1, 7, 2 },
            n_seg = G_N_ELEMENTS (seg);
  const int n = 65, k = 130, m = 19; /* the sum of seg */
  const IbClDtype storage[] = { IB_CL_DTYPE_F32, IB_CL_DTYPE_F16,
    IB_CL_DTYPE_BF16, IB_CL_DTYPE_Q8 };
  GError *error = NULL;
  IbClQueue *q;
  gsize need;
  guint si;

  /* CLBlast backend: the GPU path (gemm_gpu.cl, every storage on [K,N])
   * on this device, whatever it is */
  ib_cl_device_pretend_gpu (backend == IB_CL_GEMM_CLBLAST, FALSE);
  dev = open_backend (backend);
  ib_cl_device_pretend_gpu (FALSE, FALSE);
  if (dev == NULL)
    return;
  /* own kernels: fp32 and fp16 (bf16 and q8 go through oneDNN on CPUs) */
  for (si = 0; si < (backend == IB_CL_GEMM_OWN ? 2 : G_N_ELEMENTS (storage));
       si++) {
    float *a = g_new (float, m *k), *w = g_new (float, n *k);
    float *bias = g_new (float, n), *r = g_new (float, m *n);
    float *all = g_new (float, m *n), *one = g_new (float, m *n);
    guint32 seed = 7 + si;
    IbClBuffer *da, *dr, *dc;
    IbClWeight *wt;
    int i, s, row;

    for (i = 0; i < m * k; i++)
      a[i] = frand (&seed);
    for (i = 0; i < n * k; i++)
      w[i] = frand (&seed);
    for (i = 0; i < n; i++)
      bias[i] = frand (&seed);
    for (i = 0; i < m * n; i++)
      r[i] = frand (&seed);
    wt = ib_cl_weight_new (dev, w, IB_CL_DTYPE_F32, n, k, bias, storage[si],
        &error);
    g_assert_no_error (error);
    g_assert_true (
        ib_cl_weight_rows_independent (wt) == (backend == IB_CL_GEMM_OWN));
    /* a queue with the scratch its products take (HGEMM on the GPU path
     * of a device with cl_khr_fp16) */
    need = 0;
    g_assert_true (ib_cl_linear_scratch (wt, m, &need, &error));
    q = ib_cl_queue_new (dev, &error);
    g_assert_no_error (error);
    g_assert_true (ib_cl_queue_reserve_scratch (q, need, &error));
    da = ib_cl_buffer_new (dev, (gsize) m * k * 4, &error);
    dr = ib_cl_buffer_new (dev, (gsize) m * n * 4, &error);
    dc = ib_cl_buffer_new (dev, (gsize) m * n * 4, &error);
    g_assert_no_error (error);
    ib_cl_queue_upload (q, da, 0, a, (gsize) m * k * 4);
    ib_cl_queue_upload (q, dr, 0, r, (gsize) m * n * 4);
    ib_cl_linear_segments (q, da, wt, dr, dc, seg, n_seg);
    ib_cl_queue_download (q, dc, 0, all, (gsize) m * n * 4);
    g_assert_true (ib_cl_queue_finish (q, &error));
    /* each segment alone */
    for (s = 0, row = 0; s < n_seg; row += seg[s], s++)
      ib_cl_linear_rows (q, da, row, wt, dr, dc, row, seg[s]);
    ib_cl_queue_download (q, dc, 0, one, (gsize) m * n * 4);
    g_assert_true (ib_cl_queue_finish (q, &error));
    g_assert_cmpmem (all, (gsize) m * n * 4, one, (gsize) m * n * 4);
    if (backend == IB_CL_GEMM_OWN) {
      /* each row alone: the GEMV */
      for (row = 0; row < m; row++)
        ib_cl_linear_rows (q, da, row, wt, dr, dc, row, 1);
      ib_cl_queue_download (q, dc, 0, one, (gsize) m * n * 4);
      g_assert_true (ib_cl_queue_finish (q, &error));
      g_assert_cmpmem (all, (gsize) m * n * 4, one, (gsize) m * n * 4);
    }
    ib_cl_buffer_free (da);
    ib_cl_buffer_free (dr);
    ib_cl_buffer_free (dc);
    ib_cl_weight_free (wt);
    ib_cl_queue_free (q);
    g_free (a);
    g_free (w);
    g_free (bias);
    g_free (r);
    g_free (all);
    g_free (one);
  }
}

static void
test_errors (void)
{
  g_autoptr (IbClDevice) dev = open_backend (IB_CL_GEMM_AUTO);
  GError *error = NULL;
  float w[12] = { 0 };
  IbClWeight *wt;
  IbClBuffer *small, *c;
  IbClQueue *q;

  if (dev == NULL)
    return;
  g_assert_null (ib_cl_weight_new (dev, w, IB_CL_DTYPE_F32, 0, 4, NULL,
      IB_CL_DTYPE_F32, &error));
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG);
  g_clear_error (&error);
  /* bf16 storage: oneDNN on CPU devices, refused elsewhere */
  wt = ib_cl_weight_new (dev, w, IB_CL_DTYPE_F32, 3, 4, NULL, IB_CL_DTYPE_BF16,
      &error);
  if (ib_cl_gemm_supports (dev, IB_CL_DTYPE_BF16, NULL, NULL)) {
    g_assert_no_error (error);
    g_assert_nonnull (wt);
    ib_cl_weight_free (wt);
  } else {
    g_assert_null (wt);
    g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_UNSUPPORTED);
    g_clear_error (&error);
  }
  /* q8 is a storage type only */
  g_assert_null (ib_cl_weight_new (dev, w, IB_CL_DTYPE_Q8, 3, 4, NULL,
      IB_CL_DTYPE_F32, &error));
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG);
  g_clear_error (&error);

  /* a product that would overrun its buffers is refused, not run */
  wt = ib_cl_weight_new (dev, w, IB_CL_DTYPE_F32, 3, 4, NULL, IB_CL_DTYPE_F32,
      &error);
  q = ib_cl_queue_new (dev, &error);
  small = ib_cl_buffer_new (dev, 4 * 4, &error);
  c = ib_cl_buffer_new (dev, 3 * 4, &error);
  g_assert_no_error (error);
  ib_cl_linear (q, small, wt, NULL, c, 2);
  g_assert_false (ib_cl_queue_finish (q, &error));
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG);
  g_clear_error (&error);
  ib_cl_linear (q, small, wt, NULL, c, 1);
  g_assert_true (ib_cl_queue_finish (q, &error));
  ib_cl_buffer_free (small);
  ib_cl_buffer_free (c);
  ib_cl_weight_free (wt);
  ib_cl_queue_free (q);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/gemm/own/linear", GINT_TO_POINTER (IB_CL_GEMM_OWN),
      test_linear);
  g_test_add_data_func ("/gemm/clblast/linear",
      GINT_TO_POINTER (IB_CL_GEMM_CLBLAST), test_linear);
  g_test_add_data_func ("/gemm/own/batched", GINT_TO_POINTER (IB_CL_GEMM_OWN),
      test_batched);
  g_test_add_data_func ("/gemm/clblast/batched",
      GINT_TO_POINTER (IB_CL_GEMM_CLBLAST), test_batched);
  g_test_add_data_func ("/gemm/own/rows", GINT_TO_POINTER (IB_CL_GEMM_OWN),
      test_rows);
  g_test_add_data_func ("/gemm/clblast/rows",
      GINT_TO_POINTER (IB_CL_GEMM_CLBLAST), test_rows);
  g_test_add_data_func ("/gemm/own/segments", GINT_TO_POINTER (IB_CL_GEMM_OWN),
      test_segments);
  g_test_add_data_func ("/gemm/clblast/segments",
      GINT_TO_POINTER (IB_CL_GEMM_CLBLAST), test_segments);
  g_test_add_func ("/gemm/errors", test_errors);
  return g_test_run ();
}
