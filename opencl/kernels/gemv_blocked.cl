/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Single-token decode y[N] = x[K] · W + bias (+ r) on the weights oneDNN
 * packed for its bf16 and int8 products (gemm-dnnl.c), so that decode
 * reads the one copy of the weights at memory speed, with no host
 * synchronisation. The layout (oneDNN's BA16a64b2a / BA16a64b4a for
 * W^T [K, N]): blocks of P·16 rows of K by 64 columns, the blocks of one
 * 64-column panel contiguous along K; inside a block, for each of its 16
 * row groups, 64 columns of P consecutive k (P = 2 bf16 or 4 int8 per
 * 32-bit word):
 *
 *   word (k, n) = ((n / 64) · Kp / P + k / P) · 64 + n % 64
 *   (Kp: K rounded up to the block, padding zero)
 *
 * One work-item computes a panel of 64 columns, reading it as one
 * sequential stream: per group of P rows, 64 consecutive words (four
 * vload16), P multiply-adds on each of four float16 accumulators (bf16;
 * int8: see gemv_blocked_q8).
 * Global N/64 rounded up, work-groups of one work-item. */

#define GB_STORE(acc, j0, SCALE)                      \
  for (int j = 0; j < 16 && n0 + (j0) + j < N; j++) { \
    float v = (acc)[j] * SCALE (n0 + (j0) + j);       \
    if (flags & IB_HAS_BIAS)                          \
      v += bias[n0 + (j0) + j];                       \
    if (flags & IB_HAS_RESIDUAL)                      \
      v += r[(j0) + j];                               \
    y[(j0) + j] = v;                                  \
  }
#define GB_STORE_ALL(SCALE) \
  y += y_off + n0;          \
  r += y_off + n0;          \
  GB_STORE (a0, 0, SCALE);  \
  GB_STORE (a1, 16, SCALE); \
  GB_STORE (a2, 32, SCALE); \
  GB_STORE (a3, 48, SCALE)
#define GB_NO_SCALE(n) 1.0f
#define GB_SCALE(n) scale[n]

/* bf16 pairs: the low half is the even k. */
#define GB_BF16(j, u, x0, x1)                                \
  a##j = fma (as_float16 ((u) << 16), (float16) (x0), a##j); \
  a##j = fma (as_float16 ((u) &0xffff0000u), (float16) (x1), a##j)

__kernel void
gemv_blocked_bf16 (const __global float *x, const __global uint *W,
    const __global float *bias, const __global float *r, __global float *y,
    int N, int K, int Kp, int flags, int x_off, int y_off)
{
  const int n0 = get_global_id (0) * 64;
  const __global uint *w = W + (size_t) (n0 / 64) * (Kp / 2) * 64;
  float16 a0 = (float16) (0.0f), a1 = a0, a2 = a0, a3 = a0;
  int k = 0;

  if (n0 >= N)
    return;
  x += x_off;
  for (; k + 2 <= K; k += 2, w += 64) {
    const float x0 = x[k], x1 = x[k + 1];
    GB_BF16 (0, vload16 (0, w), x0, x1);
    GB_BF16 (1, vload16 (1, w), x0, x1);
    GB_BF16 (2, vload16 (2, w), x0, x1);
    GB_BF16 (3, vload16 (3, w), x0, x1);
  }
  if (k < K) { /* odd K: the padding row is zero */
    const float x0 = x[k];
    GB_BF16 (0, vload16 (0, w), x0, 0.0f);
    GB_BF16 (1, vload16 (1, w), x0, 0.0f);
    GB_BF16 (2, vload16 (2, w), x0, 0.0f);
    GB_BF16 (3, vload16 (3, w), x0, 0.0f);
  }
  GB_STORE_ALL (GB_NO_SCALE);
}

/* int8 quads (the lowest byte is the first k), one scale per column:
 * W[k][n] ~ scale[n] · q. Activations stay fp32 here. Read as bytes: 16
 * consecutive bytes are 4 columns x 4 k, widened to a float16 by one
 * conversion and multiplied by (x_k .. x_k+3) four times; accumulator i
 * holds columns 4i .. 4i + 3, lane 4c + j column 4i + c's partial sum over
 * k = j mod 4, reduced once at the end. Per 64 bytes: 4 conversions and 4
 * multiply-adds (shifting each byte out of its word took 7 more integer
 * operations, and decode in q8 is bound by them, not by memory). */
#define GQ_FMA(i) a##i = fma (convert_float16 (vload16 (i, w)), xv, a##i)
#define GQ_STEP \
  GQ_FMA (0);   \
  GQ_FMA (1);   \
  GQ_FMA (2);   \
  GQ_FMA (3);   \
  GQ_FMA (4);   \
  GQ_FMA (5);   \
  GQ_FMA (6);   \
  GQ_FMA (7);   \
  GQ_FMA (8);   \
  GQ_FMA (9);   \
  GQ_FMA (10);  \
  GQ_FMA (11);  \
  GQ_FMA (12);  \
  GQ_FMA (13);  \
  GQ_FMA (14);  \
  GQ_FMA (15)
/* column n0 + j = @v times its scale, plus bias and residual */
#define GQ_PUT(j, v)                \
  if (n0 + (j) < N) {               \
    float t = (v) *scale[n0 + (j)]; \
    if (flags & IB_HAS_BIAS)        \
      t += bias[n0 + (j)];          \
    if (flags & IB_HAS_RESIDUAL)    \
      t += r[n0 + (j)];             \
    y[n0 + (j)] = t;                \
  }
/* columns 4i .. 4i + 3 from accumulator i */
#define GQ_STORE(i)                        \
  {                                        \
    const float8 h = a##i.even + a##i.odd; \
    const float4 s = h.even + h.odd;       \
    GQ_PUT (4 * (i), s.s0);                \
    GQ_PUT (4 * (i) + 1, s.s1);            \
    GQ_PUT (4 * (i) + 2, s.s2);            \
    GQ_PUT (4 * (i) + 3, s.s3);            \
  }

__kernel void
gemv_blocked_q8 (const __global float *x, const __global uint *W,
    const __global float *scale, const __global float *bias,
    const __global float *r, __global float *y, int N, int K, int Kp, int flags,
    int x_off, int y_off)
{
  const int n0 = get_global_id (0) * 64;
  const __global char *w =
      (const __global char *) W + (size_t) (n0 / 64) * Kp * 64;
  float16 a0 = (float16) (0.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
          a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0,
          a13 = a0, a14 = a0, a15 = a0;
  int k = 0;

  if (n0 >= N)
    return;
  x += x_off;
  for (; k + 4 <= K; k += 4, w += 256) {
    const float4 x4 = vload4 (0, x + k);
    const float16 xv = (float16) (x4, x4, x4, x4);
    GQ_STEP;
  }
  if (k < K) { /* the padding rows are zero */
    const float4 x4 = (float4) (x[k], k + 1 < K ? x[k + 1] : 0.0f,
        k + 2 < K ? x[k + 2] : 0.0f, 0.0f);
    const float16 xv = (float16) (x4, x4, x4, x4);
    GQ_STEP;
  }
  y += y_off;
  r += y_off;
  GQ_STORE (0);
  GQ_STORE (1);
  GQ_STORE (2);
  GQ_STORE (3);
  GQ_STORE (4);
  GQ_STORE (5);
  GQ_STORE (6);
  GQ_STORE (7);
  GQ_STORE (8);
  GQ_STORE (9);
  GQ_STORE (10);
  GQ_STORE (11);
  GQ_STORE (12);
  GQ_STORE (13);
  GQ_STORE (14);
  GQ_STORE (15);
}
