/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bf16 and q8 linear layers (oneDNN on CPU devices) against a plain C
 * double-precision loop on the unrounded inputs, each output element within
 * a bound derived from the precision's rounding:
 * - bf16: A and W rounded to nearest with an 8-bit significand, relative
 *   error u = 2^-8 each, so |C - ref| <= (2u + u^2) sum_k |a_k w_k| plus the
 *   fp32 accumulation (k 2^-23 sum_k |a_k w_k|);
 * - q8: W[j] ~ t_j Wq[j] (|error| <= t_j / 2, t_j = max|W[j]| / 127), A[i] ~
 *   s_i (q - z_i) (|error| <= s_i / 2, s_i = range / 254), so |C - ref| <=
 *   sum_k (|a_k| t_j / 2 + |w_k| s_i / 2 + s_i t_j / 4) plus fp32 rounding.
 *
 * The same on the GPU path (the device made to describe itself as a GPU,
 * device-private.h), where only the weights are rounded (gemm_gpu.cl sums
 * fp32 activations times widened weights in fp32): bf16 u sum |a_k w_k|,
 * q8 sum |a_k| t_j / 2, fp16 2^-11 sum |a_k w_k|; and fp16 through
 * CLBlast's HGEMM where the device has cl_khr_fp16, which rounds A and W to
 * fp16 (2u + u^2 with u = 2^-11) and then multiplies and sums in fp16:
 * gamma_(k+1) = (k+1)u / (1 - (k+1)u) of sum |a_k w_k| (Higham's bound for
 * a recursive dot product). */
#include <math.h>
#include <string.h>

#include "device-private.h"
#include "gemm-priv.h"
#include "half.h"

typedef struct
{
  int m, n, k;
} Shape;

/* m = 1 (decode), 5, 257; n and k multiples of none of 16, 32, 64 */
static const Shape shapes[] = {
  { 1, 37, 13 },
  { 5, 100, 37 },
  { 257, 97, 131 },
  { 1, 1061, 999 },
  { 5, 300, 1000 },
};

static float
frand (guint32 *s)
{
  *s = *s * 1664525u + 1013904223u;
  return ((*s >> 8) / 16777216.0f) * 2.0f - 1.0f;
}

static gboolean native;
/* the device runs the GPU path; and its fp16 prefill is CLBlast's HGEMM */
static gboolean gpu_path, gpu_hgemm;

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

static IbClDevice *
open_cpu (IbClDtype storage)
{
  IbClDeviceParams p;
  GError *error = NULL;
  IbClDevice *dev;

  ib_cl_device_params_init (&p);
  p.type = IB_CL_DEVICE_TYPE_CPU;
  dev = ib_cl_device_new (&p, &error);
  if (dev == NULL) {
    g_test_skip (error->message);
    g_error_free (error);
    return NULL;
  }
  if (!ib_cl_gemm_supports (dev, storage, &native, &error)) {
    /* builds without oneDNN: the refusal is the expected behaviour */
    g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_UNSUPPORTED);
    g_test_message ("%s", error->message);
    g_test_skip (error->message);
    g_error_free (error);
    ib_cl_device_unref (dev);
    return NULL;
  }
  return dev;
}

/* The weight rounded the way the source dtype holds it. */
static float
as_src (float v, IbClDtype src, guint16 *raw)
{
  if (src == IB_CL_DTYPE_F16) {
    *raw = ib_cl_f32_to_f16 (v);
    return ib_cl_f16_to_f32 (*raw);
  }
  if (src == IB_CL_DTYPE_BF16) {
    guint32 u;
    memcpy (&u, &v, 4);
    *raw = u >> 16;
    return ib_cl_bf16_to_f32 (*raw);
  }
  return v;
}

/* Rows [a_row, a_row + m) of A (inside an arena sub-buffer) times W into
 * rows [c_row, ...) of C (another sub-buffer), plus bias and residual as
 * asked; @in_place: the residual is C's own rows. Every element of C is
 * checked, the rows outside the range must be untouched. */
static double
check (IbClDevice *dev, IbClArena *arena, Shape s, IbClDtype src,
    IbClDtype storage, gboolean with_bias, gboolean with_residual,
    gboolean in_place)
{
  const int a_row = 2, c_row = 3, ra = a_row + s.m + 1, rc = c_row + s.m + 2;
  const gboolean q8 = storage == IB_CL_DTYPE_Q8;
  GError *error = NULL;
  float *a = g_new (float, (gsize) ra *s.k);
  float *w = g_new (float, (gsize) s.n *s.k);
  float *bias = g_new (float, s.n), *c0 = g_new (float, (gsize) rc *s.n);
  float *r = g_new (float, (gsize) rc *s.n);
  float *c = g_new (float, (gsize) rc *s.n);
  float *t = g_new (float, s.n), *sa = g_new (float, s.m);
  guint16 *raw = g_new (guint16, (gsize) s.n * s.k),
          *braw = g_new (guint16, s.n);
  guint32 seed = s.m * 7919 + s.n * 31 + s.k + storage;
  IbClBuffer *da, *dc, *dr = NULL, *pad;
  IbClWeight *wt;
  IbClQueue *q;
  double worst = 0.0;
  int i, j, z;

  ib_cl_arena_reset (arena);
  for (i = 0; i < ra * s.k; i++)
    a[i] = frand (&seed) * (1.0f + (i % 7 == 0)); /* some larger values */
  for (i = 0; i < s.n * s.k; i++)
    w[i] = as_src (frand (&seed) * 0.5f, src, &raw[i]);
  for (j = 0; j < s.n; j++)
    bias[j] = as_src (frand (&seed), src, &braw[j]);
  for (i = 0; i < rc * s.n; i++) {
    c0[i] = frand (&seed);
    r[i] = in_place ? c0[i] : frand (&seed);
  }
  /* q8 scales: per output channel for W, per row of A */
  for (j = 0; j < s.n; j++) {
    float mx = 0.0f;
    for (z = 0; z < s.k; z++)
      mx = fmaxf (mx, fabsf (w[(gsize) j * s.k + z]));
    t[j] = mx / 127.0f;
  }
  for (i = 0; i < s.m; i++) {
    float lo = 0.0f, hi = 0.0f;
    for (z = 0; z < s.k; z++) {
      lo = fminf (lo, a[(gsize) (a_row + i) * s.k + z]);
      hi = fmaxf (hi, a[(gsize) (a_row + i) * s.k + z]);
    }
    sa[i] = (hi - lo) / 254.0f;
  }

  wt = ib_cl_weight_new (dev,
      src == IB_CL_DTYPE_F32 ? (void *) w : (void *) raw, src, s.n, s.k,
      with_bias ? (src == IB_CL_DTYPE_F32 ? (void *) bias : (void *) braw) :
                  NULL,
      storage, &error);
  g_assert_no_error (error);
  q = sized_queue (dev, wt, s.m);
  /* decode (m == 1) runs gemv_blocked.cl on oneDNN's packed layout, which
   * is the expected one wherever the CPU has AVX512-BF16 */
  if (native && storage == IB_CL_DTYPE_BF16)
    g_assert_true (ib_cl_weight_has_blocked_gemv (wt));
  if (!gpu_path && s.m == 1 && !ib_cl_weight_has_blocked_gemv (wt))
    g_test_message ("%s [%d, %d]: decode through oneDNN (another layout)",
        ib_cl_dtype_name (storage), s.n, s.k);
  /* sub-buffers at non-zero origins */
  pad = ib_cl_arena_alloc (arena, 12, &error);
  da = ib_cl_arena_alloc (arena, (gsize) ra * s.k * 4, &error);
  dc = ib_cl_arena_alloc (arena, (gsize) rc * s.n * 4, &error);
  g_assert_no_error (error);
  g_assert_nonnull (pad);
  ib_cl_queue_upload (q, da, 0, a, (gsize) ra * s.k * 4);
  ib_cl_queue_upload (q, dc, 0, c0, (gsize) rc * s.n * 4);
  if (with_residual && !in_place) {
    dr = ib_cl_arena_alloc (arena, (gsize) rc * s.n * 4, &error);
    g_assert_no_error (error);
    ib_cl_queue_upload (q, dr, 0, r, (gsize) rc * s.n * 4);
  } else if (with_residual)
    dr = dc;
  ib_cl_linear_rows (q, da, a_row, wt, dr, dc, c_row, s.m);
  ib_cl_queue_download (q, dc, 0, c, (gsize) rc * s.n * 4);
  ib_cl_queue_finish (q, &error);
  g_assert_no_error (error);

  for (i = 0; i < rc; i++)
    for (j = 0; j < s.n; j++) {
      gsize o = (gsize) i * s.n + j;
      double ref = 0.0, mag = 0.0, bound, tol, extra = 0.0;
      int x = i - c_row;
      if (x < 0 || x >= s.m) {
        g_assert_cmpfloat (c[o], ==, c0[o]); /* untouched */
        continue;
      }
      for (z = 0; z < s.k; z++) {
        double av = a[(gsize) (a_row + x) * s.k + z],
               wv = w[(gsize) j * s.k + z];
        ref += av * wv;
        mag += fabs (av * wv);
        if (q8)
          extra +=
              fabs (av) * t[j] / 2 + fabs (wv) * sa[x] / 2 + sa[x] * t[j] / 4;
      }
      if (with_bias)
        ref += bias[j];
      if (with_residual)
        ref += r[o];
      if (gpu_path) {
        const double u = ldexp (1.0, storage == IB_CL_DTYPE_F16 ? -11 : -8);
        if (q8)
          bound = 0.0;
        else if (storage == IB_CL_DTYPE_F16 && gpu_hgemm && s.m > 1) {
          const double g = (s.k + 1) * u / (1.0 - (s.k + 1) * u);
          bound = (2 * u + u * u) * mag + g * (1 + u) * (1 + u) * mag;
        } else
          bound = u * mag;
        if (q8)
          for (z = 0; z < s.k; z++)
            bound += fabs (a[(gsize) (a_row + x) * s.k + z]) * t[j] / 2;
      } else if (q8)
        bound = extra;
      else
        bound = (2.0 / 256 + 1.0 / 65536) * mag;
      /* fp32 accumulation and the final additions */
      tol = bound + s.k * ldexp (1.0, -23) * mag +
          ldexp (1.0, -22) * (mag + fabs (bias[j]) + fabs (r[o]));
      if (fabs (c[o] - ref) > tol)
        g_error ("%s %dx%dx%d (%s weights, bias %d, residual %d%s): C[%d][%d] "
                 "= %.8g, exact %.8g, bound %.3g",
            ib_cl_dtype_name (storage), s.m, s.n, s.k, ib_cl_dtype_name (src),
            with_bias, with_residual, in_place ? " in place" : "", x, j, c[o],
            ref, tol);
      worst = MAX (worst, fabs (c[o] - ref) / tol);
    }

  ib_cl_queue_free (q);
  ib_cl_weight_free (wt);
  g_free (a);
  g_free (w);
  g_free (bias);
  g_free (c0);
  g_free (r);
  g_free (c);
  g_free (t);
  g_free (sa);
  g_free (raw);
  g_free (braw);
  return worst;
}

static void
test_linear (gconstpointer data)
{
  IbClDtype storage = GPOINTER_TO_INT (data) & 0xff;
  g_autoptr (IbClDevice) dev = NULL;
  GError *error = NULL;
  IbClArena *arena;
  double worst = 0.0, worst_gemv = 0.0;
  guint i;

  /* bit 8: the GPU path; bit 9: ... without cl_khr_fp16 */
  gpu_path = (GPOINTER_TO_INT (data) & 0x100) != 0;
  ib_cl_device_pretend_gpu (gpu_path, (GPOINTER_TO_INT (data) & 0x200) != 0);
  dev = open_cpu (storage);
  ib_cl_device_pretend_gpu (FALSE, FALSE);
  if (dev == NULL)
    return;
  if (gpu_path) {
    const IbClDeviceInfo *info = ib_cl_device_get_info (dev);
    g_assert_false (info->is_cpu);
    g_assert_cmpint (ib_cl_device_get_gemm (dev), ==, IB_CL_GEMM_CLBLAST);
    gpu_hgemm = info->has_fp16;
    g_test_message ("%s on the GPU path, %s", info->name,
        gpu_hgemm ? "fp16 prefill through CLBlast's HGEMM" :
                    "no cl_khr_fp16: fp16 prefill through gemm_kn_f16");
  }
  arena = ib_cl_arena_new (dev, 8u << 20, &error);
  g_assert_no_error (error);
  for (i = 0; i < G_N_ELEMENTS (shapes); i++) {
    Shape s = shapes[i];
    double *wp = s.m == 1 ? &worst_gemv : &worst;
    *wp = MAX (*wp,
        check (dev, arena, s, IB_CL_DTYPE_F32, storage, TRUE, TRUE, FALSE));
    *wp = MAX (*wp,
        check (dev, arena, s, IB_CL_DTYPE_F32, storage, FALSE, FALSE, FALSE));
    *wp = MAX (*wp,
        check (dev, arena, s, IB_CL_DTYPE_F32, storage, TRUE, TRUE, TRUE));
    *wp = MAX (*wp,
        check (dev, arena, s, IB_CL_DTYPE_F32, storage, FALSE, TRUE, TRUE));
    *wp = MAX (*wp,
        check (dev, arena, s, IB_CL_DTYPE_BF16, storage, TRUE, FALSE, FALSE));
    *wp = MAX (*wp,
        check (dev, arena, s, IB_CL_DTYPE_F16, storage, TRUE, TRUE, FALSE));
  }
  g_test_message ("%s%s: largest error %.2g (m = 1: %.2g) of its bound",
      ib_cl_dtype_name (storage),
      !gpu_path                                   ? "" :
          gpu_hgemm && storage == IB_CL_DTYPE_F16 ? " (GPU path, HGEMM)" :
                                                    " (GPU path)",
      worst, worst_gemv);
  ib_cl_arena_free (arena);
}

/* Work queued before a oneDNN product (two rows: not the decode GEMV) is
 * finished before it reads A, work queued after it sees its C, and a queue
 * that already failed skips the product and keeps its first error. */
static void
test_sync (gconstpointer data)
{
  IbClDtype storage = GPOINTER_TO_INT (data);
  g_autoptr (IbClDevice) dev = open_cpu (storage);
  const int n = 3, k = 4;
  float w[12] = { 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0 };
  float a[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, zero[8] = { 0 };
  float sentinel[6] = { -9, -9, -9, -9, -9, -9 }, c[6];
  const float want[6] = { 1, 2, 3, 5, 6, 7 };
  GError *error = NULL;
  IbClBuffer *da, *db, *dc, *dd, *small, *big0, *big1;
  const gsize big = 64u << 20;
  IbClWeight *wt;
  IbClQueue *q;
  int i;

  if (dev == NULL)
    return;
  wt = ib_cl_weight_new (dev, w, IB_CL_DTYPE_F32, n, k, NULL, storage, &error);
  g_assert_no_error (error);
  q = sized_queue (dev, wt, 2);
  da = ib_cl_buffer_new (dev, sizeof (a), &error);
  db = ib_cl_buffer_new (dev, sizeof (a), &error);
  dc = ib_cl_buffer_new (dev, sizeof (c), &error);
  dd = ib_cl_buffer_new (dev, sizeof (c), &error);
  g_assert_no_error (error);
  big0 = ib_cl_buffer_new (dev, big, &error);
  big1 = ib_cl_buffer_new (dev, big, &error);
  g_assert_no_error (error);
  ib_cl_queue_upload (q, da, 0, zero, sizeof (a));
  ib_cl_queue_upload (q, db, 0, a, sizeof (a));
  /* a first product creates oneDNN's primitive */
  ib_cl_linear (q, da, wt, NULL, dc, 2);
  g_assert_true (ib_cl_queue_finish (q, &error));
  /* A arrives by an enqueued copy behind a long one, C leaves by another */
  ib_cl_queue_copy (q, big0, 0, big1, 0, big);
  ib_cl_queue_copy (q, db, 0, da, 0, sizeof (a));
  ib_cl_linear (q, da, wt, NULL, dc, 2);
  ib_cl_queue_copy (q, dc, 0, dd, 0, sizeof (c));
  ib_cl_queue_download (q, dd, 0, c, sizeof (c));
  g_assert_true (ib_cl_queue_finish (q, &error));
  for (i = 0; i < 6; i++)
    g_assert_cmpfloat (fabsf (c[i] - want[i]), <, 0.05);

  /* sticky error: an overrun product fails, the next one is skipped */
  ib_cl_queue_upload (q, dc, 0, sentinel, sizeof (c));
  g_assert_true (ib_cl_queue_finish (q, &error));
  small = ib_cl_buffer_new (dev, 4, &error);
  ib_cl_linear (q, small, wt, NULL, dc, 2);
  ib_cl_linear (q, da, wt, NULL, dc, 2);
  g_assert_false (ib_cl_queue_finish (q, &error));
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG);
  g_clear_error (&error);
  ib_cl_queue_download (q, dc, 0, c, sizeof (c));
  g_assert_true (ib_cl_queue_finish (q, &error));
  for (i = 0; i < 6; i++)
    g_assert_cmpfloat (c[i], ==, -9);
  ib_cl_buffer_free (small);
  ib_cl_buffer_free (big0);
  ib_cl_buffer_free (big1);
  ib_cl_buffer_free (da);
  ib_cl_buffer_free (db);
  ib_cl_buffer_free (dc);
  ib_cl_buffer_free (dd);
  ib_cl_weight_free (wt);
  ib_cl_queue_free (q);
}

/* |C - ref| for one batched product element: both operands rounded to
 * bf16 (2u + u^2 relative on each product), fp32 accumulation. */
static void
check_batched_elem (float got, double ref, double mag, double alpha, int k,
    double *worst, const char *what)
{
  double bound = (2.0 / 256 + 1.0 / 65536) * mag * fabs (alpha);
  double tol = bound + k * ldexp (1.0, -23) * mag * fabs (alpha) + 1e-30;

  if (!(fabs (got - ref) <= tol))
    g_error ("%s: %.8g, exact %.8g, bound %.3g", what, got, ref, tol);
  *worst = MAX (*worst, fabs (got - ref) / tol);
}

/* Attention's products in a bf16/q8 model (oneDNN bf16, ib_cl_gemm_batched):
 * scores = alpha Q_h K_h^T from a fused qkv buffer (heads as column ranges),
 * then context_h = S_h V_h into a head's columns of a wider buffer whose
 * extra columns must stay untouched; Q and K arrive by an enqueued copy
 * behind a long one (the product's synchronisation). Then the softmax and
 * the second product in one (ib_cl_softmax_gemm_batched, on the host) on a
 * copy of the scores: the copy in place within 8 ulp of softmax (S_h) in
 * double, context_h within the bf16 bound of that softmax times V_h. */
static void
test_batched (gconstpointer data)
{
  IbClDtype precision = GPOINTER_TO_INT (data);
  g_autoptr (IbClDevice) dev = open_cpu (precision);
  static const int dims[][3] = { { 1, 1, 8 }, { 5, 3, 13 }, { 37, 4, 24 },
    { 70, 2, 40 } }; /* L, heads, head_dim */
  const float alpha = 0.37f;
  const gsize big = 64u << 20;
  GError *error = NULL;
  IbClQueue *q;
  IbClBuffer *big0, *big1;
  double worst = 0.0;
  gsize need = 0;
  guint t;

  if (dev == NULL)
    return;
  q = ib_cl_queue_new (dev, &error);
  for (t = 0; t < G_N_ELEMENTS (dims); t++) {
    const int L = dims[t][0], heads = dims[t][1], d = dims[t][2];
    g_assert_true (ib_cl_gemm_batched_scratch (dev, precision, TRUE, L, L, d,
        alpha, heads, TRUE, &need, &error));
    g_assert_true (ib_cl_gemm_batched_scratch (dev, precision, FALSE, L, d, L,
        1.0f, heads, FALSE, &need, &error));
  }
  g_assert_true (ib_cl_queue_reserve_scratch (q, need, &error));
  big0 = ib_cl_buffer_new (dev, big, &error);
  big1 = ib_cl_buffer_new (dev, big, &error);
  g_assert_no_error (error);
  for (t = 0; t < G_N_ELEMENTS (dims); t++) {
    const int L = dims[t][0], heads = dims[t][1], d = dims[t][2];
    const int H = heads * d, ldc = H + 3;
    const gsize nqkv = (gsize) L * 3 * H, ns = (gsize) heads * L * L;
    float *qkv = g_new (float, nqkv), *sc = g_new (float, ns);
    float *ctx = g_new (float, (gsize) L *ldc);
    float *init = g_new (float, (gsize) L *ldc);
    float *pr = g_new (float, ns), *ctx2 = g_new (float, (gsize) L *ldc);
    IbClBuffer *src, *dqkv, *dsc, *dctx, *dp, *dctx2;
    guint32 seed = 7 + t;
    gsize i;
    int h, x, y, z;

    for (i = 0; i < nqkv; i++)
      qkv[i] = frand (&seed);
    for (i = 0; i < (gsize) L * ldc; i++)
      init[i] = -7.0f;
    src = ib_cl_buffer_new (dev, nqkv * 4, &error);
    dqkv = ib_cl_buffer_new (dev, nqkv * 4, &error);
    dsc = ib_cl_buffer_new (dev, ns * 4, &error);
    dctx = ib_cl_buffer_new (dev, (gsize) L * ldc * 4, &error);
    dp = ib_cl_buffer_new (dev, ns * 4, &error);
    dctx2 = ib_cl_buffer_new (dev, (gsize) L * ldc * 4, &error);
    g_assert_no_error (error);
    ib_cl_queue_upload (q, src, 0, qkv, nqkv * 4);
    ib_cl_queue_upload (q, dctx, 0, init, (gsize) L * ldc * 4);
    g_assert_true (ib_cl_queue_finish (q, &error));
    ib_cl_queue_copy (q, big0, 0, big1, 0, big);
    ib_cl_queue_copy (q, src, 0, dqkv, 0, nqkv * 4);
    ib_cl_gemm_batched (q, precision, TRUE, L, L, d, alpha,
        (IbClMatrix){ dqkv, 0, 3 * H, d }, (IbClMatrix){ dqkv, H, 3 * H, d },
        (IbClMatrix){ dsc, 0, L, (gsize) L * L }, heads);
    ib_cl_gemm_batched (q, precision, FALSE, L, d, L, 1.0f,
        (IbClMatrix){ dsc, 0, L, (gsize) L * L },
        (IbClMatrix){ dqkv, 2 * H, 3 * H, d }, (IbClMatrix){ dctx, 0, ldc, d },
        heads);
    ib_cl_queue_copy (q, dsc, 0, dp, 0, ns * 4);
    ib_cl_queue_copy (q, dctx, 0, dctx2, 0, (gsize) L * ldc * 4);
    ib_cl_softmax_gemm_batched (q, precision, L, d, L,
        (IbClMatrix){ dp, 0, L, (gsize) L * L },
        (IbClMatrix){ dqkv, 2 * H, 3 * H, d }, (IbClMatrix){ dctx2, 0, ldc, d },
        heads);
    ib_cl_queue_download (q, dsc, 0, sc, ns * 4);
    ib_cl_queue_download (q, dctx, 0, ctx, (gsize) L * ldc * 4);
    ib_cl_queue_download (q, dp, 0, pr, ns * 4);
    ib_cl_queue_download (q, dctx2, 0, ctx2, (gsize) L * ldc * 4);
    g_assert_true (ib_cl_queue_finish (q, &error));

    for (h = 0; h < heads; h++)
      for (x = 0; x < L; x++) {
        for (y = 0; y < L; y++) {
          double ref = 0.0, mag = 0.0;
          for (z = 0; z < d; z++) {
            double p = (double) qkv[(gsize) x * 3 * H + h * d + z] *
                qkv[(gsize) y * 3 * H + H + h * d + z];
            ref += p;
            mag += fabs (p);
          }
          check_batched_elem (sc[((gsize) h * L + x) * L + y], ref * alpha, mag,
              alpha, d, &worst, "scores");
        }
        /* the context from the scores the device computed (the exact
         * product of those, not of the exact scores) */
        for (z = 0; z < d; z++) {
          double ref = 0.0, mag = 0.0;
          for (y = 0; y < L; y++) {
            double p = (double) sc[((gsize) h * L + x) * L + y] *
                qkv[(gsize) y * 3 * H + 2 * H + h * d + z];
            ref += p;
            mag += fabs (p);
          }
          check_batched_elem (ctx[(gsize) x * ldc + h * d + z], ref, mag, 1.0,
              L, &worst, "context");
        }
        /* softmax of the scores' row, then its product */
        {
          const float *sr = sc + ((gsize) h * L + x) * L;
          const float *prow = pr + ((gsize) h * L + x) * L;
          double mx = sr[0], sum = 0.0;
          for (y = 1; y < L; y++)
            mx = MAX (mx, sr[y]);
          for (y = 0; y < L; y++)
            sum += exp (sr[y] - mx);
          for (y = 0; y < L; y++) {
            double ref = exp (sr[y] - mx) / sum;
            if (!(fabs (prow[y] - ref) <= ldexp (ref, -20)))
              g_error ("softmax in place: %.9g, exact %.9g", prow[y], ref);
          }
          for (z = 0; z < d; z++) {
            double ref = 0.0, mag = 0.0;
            for (y = 0; y < L; y++) {
              double p = exp (sr[y] - mx) / sum *
                  qkv[(gsize) y * 3 * H + 2 * H + h * d + z];
              ref += p;
              mag += fabs (p);
            }
            check_batched_elem (ctx2[(gsize) x * ldc + h * d + z], ref, mag,
                1.0, L, &worst, "softmax context");
          }
        }
      }
    for (x = 0; x < L; x++)
      for (z = H; z < ldc; z++)
        g_assert_cmpfloat (ctx[(gsize) x * ldc + z], ==, -7.0f);
    for (x = 0; x < L; x++)
      for (z = H; z < ldc; z++)
        g_assert_cmpfloat (ctx2[(gsize) x * ldc + z], ==, -7.0f);
    ib_cl_buffer_free (dp);
    ib_cl_buffer_free (dctx2);
    g_free (pr);
    g_free (ctx2);
    ib_cl_buffer_free (src);
    ib_cl_buffer_free (dqkv);
    ib_cl_buffer_free (dsc);
    ib_cl_buffer_free (dctx);
    g_free (qkv);
    g_free (sc);
    g_free (ctx);
    g_free (init);
  }
  g_test_message ("%s batched: largest error %.2f of its bound",
      ib_cl_dtype_name (precision), worst);
  ib_cl_buffer_free (big0);
  ib_cl_buffer_free (big1);
  ib_cl_queue_free (q);
}

/* The queue's scratch is sized once (ib_cl_queue_reserve_scratch): a
 * product needing more than was reserved fails with an error and leaves
 * C alone, it never grows the scratch; the sized products still run. */
static void
test_scratch (gconstpointer data)
{
  IbClDtype storage = GPOINTER_TO_INT (data);
  g_autoptr (IbClDevice) dev = open_cpu (storage);
  const int n = 40, k = 24, m_small = 3, m_big = 100;
  float *w = g_new0 (float, n *k), *a = g_new0 (float, m_big *k);
  float *c = g_new (float, (gsize) m_big *n);
  GError *error = NULL;
  IbClBuffer *da, *dc;
  IbClWeight *wt;
  IbClQueue *q;
  gsize small = 0, big = 0;
  int i;

  if (dev == NULL)
    goto out;
  for (i = 0; i < n * k; i++)
    w[i] = (float) (i % 5) - 2.0f;
  for (i = 0; i < m_big * k; i++)
    a[i] = 1.0f;
  wt = ib_cl_weight_new (dev, w, IB_CL_DTYPE_F32, n, k, NULL, storage, &error);
  g_assert_no_error (error);
  g_assert_true (ib_cl_linear_scratch (wt, m_small, &small, &error));
  g_assert_true (ib_cl_linear_scratch (wt, m_big, &big, &error));
  g_assert_cmpuint (small, >, 0);
  g_assert_cmpuint (big, >, small);
  q = sized_queue (dev, wt, m_small);
  da = ib_cl_buffer_new (dev, (gsize) m_big * k * 4, &error);
  dc = ib_cl_buffer_new (dev, (gsize) m_big * n * 4, &error);
  g_assert_no_error (error);
  ib_cl_queue_upload (q, da, 0, a, (gsize) m_big * k * 4);
  ib_cl_linear (q, da, wt, NULL, dc, m_small);
  g_assert_true (ib_cl_queue_finish (q, &error));
  for (i = 0; i < m_big * n; i++)
    c[i] = -5.0f;
  ib_cl_queue_upload (q, dc, 0, c, (gsize) m_big * n * 4);
  ib_cl_linear (q, da, wt, NULL, dc, m_big);
  g_assert_false (ib_cl_queue_finish (q, &error));
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG);
  g_assert_nonnull (strstr (error->message, "scratch"));
  g_clear_error (&error);
  ib_cl_queue_download (q, dc, 0, c, (gsize) m_big * n * 4);
  g_assert_true (ib_cl_queue_finish (q, &error));
  for (i = 0; i < m_big * n; i++)
    g_assert_cmpfloat (c[i], ==, -5.0f);
  /* the sized product still runs on the same queue */
  ib_cl_linear (q, da, wt, NULL, dc, m_small);
  ib_cl_queue_download (q, dc, 0, c, (gsize) m_small * n * 4);
  g_assert_true (ib_cl_queue_finish (q, &error));
  for (i = 0; i < n; i++) {
    /* row sums of W (small integers), within the rounding */
    float want = 0.0f;
    int z;
    for (z = 0; z < k; z++)
      want += w[i * k + z];
    g_assert_cmpfloat (fabsf (c[i] - want), <, 0.5f);
  }
  ib_cl_buffer_free (da);
  ib_cl_buffer_free (dc);
  ib_cl_queue_free (q);
  ib_cl_weight_free (wt);
out:
  g_free (w);
  g_free (a);
  g_free (c);
}

/* GELU (A · Wᵀ + bias) over segments (ib_cl_linear_segments_gelu) against
 * GELU computed in double with libm's erfc on the same product without
 * GELU: q8 products of several rows apply it in their epilogue, within 8
 * ulp of the exact value even where 1 + erf (x / √2) cancels (x < -3;
 * below 2^-125 it may return 0);
 * every other case (bf16, a one-row segment) runs the OpenCL activation,
 * whose 1 + erf is allowed an absolute error of a few ulp of 1. */
static void
test_gelu (gconstpointer data)
{
  IbClDtype storage = GPOINTER_TO_INT (data);
  g_autoptr (IbClDevice) dev = open_cpu (storage);
  const int n = 300, k = 131, m = 257;
  const int segs[2][3] = { { 100, 157, 0 }, { 1, 2, 0 } };
  GError *error = NULL;
  float *a, *w, *bias, *plain, *got;
  IbClArena *arena;
  IbClBuffer *da, *dp, *dg;
  IbClWeight *wt;
  IbClQueue *q;
  guint32 seed = 4242;
  double worst[2] = { 0.0, 0.0 };
  int i, s, below = 0;

  if (dev == NULL)
    return;
  a = g_new (float, (gsize) m *k);
  w = g_new (float, (gsize) n *k);
  bias = g_new (float, n);
  plain = g_new (float, (gsize) m *n);
  got = g_new (float, (gsize) m *n);
  for (i = 0; i < m * k; i++)
    a[i] = frand (&seed);
  for (i = 0; i < n * k; i++)
    w[i] = frand (&seed) * 0.6f; /* C spans about ±10 */
  for (i = 0; i < n; i++)
    bias[i] = frand (&seed);
  wt = ib_cl_weight_new (dev, w, IB_CL_DTYPE_F32, n, k, bias, storage, &error);
  g_assert_no_error (error);
  q = sized_queue (dev, wt, m);
  arena = ib_cl_arena_new (dev, 4u << 20, &error);
  g_assert_no_error (error);
  da = ib_cl_arena_alloc (arena, (gsize) m * k * 4, &error);
  dp = ib_cl_arena_alloc (arena, (gsize) m * n * 4, &error);
  dg = ib_cl_arena_alloc (arena, (gsize) m * n * 4, &error);
  g_assert_no_error (error);
  ib_cl_queue_upload (q, da, 0, a, (gsize) m * k * 4);
  for (s = 0; s < 2; s++) {
    const int *rows = segs[s], n_seg = segs[s][2] ? 3 : 2;
    const int total = rows[0] + rows[1];
    ib_cl_linear_segments (q, da, wt, NULL, dp, rows, n_seg);
    ib_cl_linear_segments_gelu (q, da, wt, dg, rows, n_seg);
    ib_cl_queue_download (q, dp, 0, plain, (gsize) total * n * 4);
    ib_cl_queue_download (q, dg, 0, got, (gsize) total * n * 4);
    ib_cl_queue_finish (q, &error);
    g_assert_no_error (error);
    for (i = 0; i < total * n; i++) {
      const double x = plain[i];
      const double ref = 0.5 * x * erfc (-x / sqrt (2.0));
      const gboolean host = storage == IB_CL_DTYPE_Q8 && s == 0;
      const double tol = ldexp (fabs (ref), -20) +
          (host ? 0x1p-125 : 8 * ldexp (fabs (x), -24));
      below += x < -3.0;
      if (!(fabs (got[i] - ref) <= tol))
        g_error ("%s GELU, segments %d+%d, element %d: GELU (%.9g) = %.9g, "
                 "exact %.9g, bound %.3g",
            ib_cl_dtype_name (storage), rows[0], rows[1], i, x, got[i], ref,
            tol);
      worst[s] = MAX (worst[s], fabs (got[i] - ref) / tol);
    }
  }
  g_assert_cmpint (below, >, 100); /* the tail where 1 + erf cancels */
  g_test_message ("%s GELU: largest error %.2g (one-row segments: %.2g) of "
                  "its bound",
      ib_cl_dtype_name (storage), worst[0], worst[1]);
  ib_cl_queue_free (q);
  ib_cl_weight_free (wt);
  ib_cl_arena_free (arena);
  g_free (a);
  g_free (w);
  g_free (bias);
  g_free (plain);
  g_free (got);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/gemm-lowp/bf16/linear",
      GINT_TO_POINTER (IB_CL_DTYPE_BF16), test_linear);
  g_test_add_data_func ("/gemm-lowp/q8/linear",
      GINT_TO_POINTER (IB_CL_DTYPE_Q8), test_linear);
  /* the GPU kernels on this CPU device (device-private.h) */
  g_test_add_data_func ("/gemm-lowp/gpu/f16/linear",
      GINT_TO_POINTER (IB_CL_DTYPE_F16 | 0x100), test_linear);
  g_test_add_data_func ("/gemm-lowp/gpu/bf16/linear",
      GINT_TO_POINTER (IB_CL_DTYPE_BF16 | 0x100), test_linear);
  g_test_add_data_func ("/gemm-lowp/gpu/q8/linear",
      GINT_TO_POINTER (IB_CL_DTYPE_Q8 | 0x100), test_linear);
  g_test_add_data_func ("/gemm-lowp/gpu-no-fp16/f16/linear",
      GINT_TO_POINTER (IB_CL_DTYPE_F16 | 0x300), test_linear);
  g_test_add_data_func ("/gemm-lowp/bf16/sync",
      GINT_TO_POINTER (IB_CL_DTYPE_BF16), test_sync);
  g_test_add_data_func ("/gemm-lowp/q8/sync", GINT_TO_POINTER (IB_CL_DTYPE_Q8),
      test_sync);
  g_test_add_data_func ("/gemm-lowp/bf16/scratch",
      GINT_TO_POINTER (IB_CL_DTYPE_BF16), test_scratch);
  g_test_add_data_func ("/gemm-lowp/q8/scratch",
      GINT_TO_POINTER (IB_CL_DTYPE_Q8), test_scratch);
  g_test_add_data_func ("/gemm-lowp/bf16/gelu",
      GINT_TO_POINTER (IB_CL_DTYPE_BF16), test_gelu);
  g_test_add_data_func ("/gemm-lowp/q8/gelu", GINT_TO_POINTER (IB_CL_DTYPE_Q8),
      test_gelu);
  g_test_add_data_func ("/gemm-lowp/bf16/batched",
      GINT_TO_POINTER (IB_CL_DTYPE_BF16), test_batched);
  g_test_add_data_func ("/gemm-lowp/q8/batched",
      GINT_TO_POINTER (IB_CL_DTYPE_Q8), test_batched);
  return g_test_run ();
}
