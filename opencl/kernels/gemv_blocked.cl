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
 * vload16), P multiply-adds on each of four float16 accumulators.
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
 * W[k][n] ~ scale[n] · q. Activations stay fp32 here. */
#define GB_Q8(j, u, x0, x1, x2, x3)                                       \
  a##j = fma (convert_float16 (((u) << 24) >> 24), (float16) (x0), a##j); \
  a##j = fma (convert_float16 (((u) << 16) >> 24), (float16) (x1), a##j); \
  a##j = fma (convert_float16 (((u) << 8) >> 24), (float16) (x2), a##j);  \
  a##j = fma (convert_float16 ((u) >> 24), (float16) (x3), a##j)

__kernel void
gemv_blocked_q8 (const __global float *x, const __global uint *W,
    const __global float *scale, const __global float *bias,
    const __global float *r, __global float *y, int N, int K, int Kp, int flags,
    int x_off, int y_off)
{
  const int n0 = get_global_id (0) * 64;
  const __global int *w =
      (const __global int *) W + (size_t) (n0 / 64) * (Kp / 4) * 64;
  float16 a0 = (float16) (0.0f), a1 = a0, a2 = a0, a3 = a0;
  int k = 0;

  if (n0 >= N)
    return;
  x += x_off;
  for (; k + 4 <= K; k += 4, w += 64) {
    const float x0 = x[k], x1 = x[k + 1], x2 = x[k + 2], x3 = x[k + 3];
    GB_Q8 (0, vload16 (0, w), x0, x1, x2, x3);
    GB_Q8 (1, vload16 (1, w), x0, x1, x2, x3);
    GB_Q8 (2, vload16 (2, w), x0, x1, x2, x3);
    GB_Q8 (3, vload16 (3, w), x0, x1, x2, x3);
  }
  if (k < K) { /* the padding rows are zero */
    const float x0 = x[k], x1 = k + 1 < K ? x[k + 1] : 0.0f,
                x2 = k + 2 < K ? x[k + 2] : 0.0f;
    GB_Q8 (0, vload16 (0, w), x0, x1, x2, 0.0f);
    GB_Q8 (1, vload16 (1, w), x0, x1, x2, 0.0f);
    GB_Q8 (2, vload16 (2, w), x0, x1, x2, 0.0f);
    GB_Q8 (3, vload16 (3, w), x0, x1, x2, 0.0f);
  }
  GB_STORE_ALL (GB_SCALE);
}
