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
 * One work-item computes 16 columns: per group of P rows it loads 16
 * consecutive words (vload16) and does P multiply-adds on float16.
 * Global N/16 rounded up, work-groups of one work-item. */

/* bf16 pairs: the low half is the even k. */
__kernel void
gemv_blocked_bf16 (const __global float *x, const __global uint *W,
    const __global float *bias, const __global float *r, __global float *y,
    int N, int K, int Kp, int flags, int x_off, int y_off)
{
  const int g = get_global_id (0);
  const int n0 = g * 16;
  const __global uint *w = W + (size_t) (n0 / 64) * (Kp / 2) * 64 + n0 % 64;
  float16 acc = (float16) (0.0f);
  int k = 0;

  if (n0 >= N)
    return;
  x += x_off;
  for (; k + 2 <= K; k += 2) {
    const uint16 u = vload16 (0, w + (size_t) (k / 2) * 64);
    acc = fma (as_float16 (u << 16), (float16) (x[k]), acc);
    acc = fma (as_float16 (u & 0xffff0000u), (float16) (x[k + 1]), acc);
  }
  if (k < K) {
    const uint16 u = vload16 (0, w + (size_t) (k / 2) * 64);
    acc = fma (as_float16 (u << 16), (float16) (x[k]), acc);
  }
  y += y_off + n0;
  r += y_off + n0;
  for (int j = 0; j < 16 && n0 + j < N; j++) {
    float v = acc[j];
    if (flags & IB_HAS_BIAS)
      v += bias[n0 + j];
    if (flags & IB_HAS_RESIDUAL)
      v += r[j];
    y[j] = v;
  }
}

/* int8 quads (the lowest byte is the first k), one scale per column:
 * W[k][n] ~ scale[n] · q. Activations stay fp32 here. */
__kernel void
gemv_blocked_q8 (const __global float *x, const __global uint *W,
    const __global float *scale, const __global float *bias,
    const __global float *r, __global float *y, int N, int K, int Kp, int flags,
    int x_off, int y_off)
{
  const int g = get_global_id (0);
  const int n0 = g * 16;
  const __global uint *w = W + (size_t) (n0 / 64) * (Kp / 4) * 64 + n0 % 64;
  float16 acc = (float16) (0.0f);
  int k = 0;

  if (n0 >= N)
    return;
  x += x_off;
  for (; k + 4 <= K; k += 4) {
    const int16 u = as_int16 (vload16 (0, w + (size_t) (k / 4) * 64));
    acc = fma (convert_float16 ((u << 24) >> 24), (float16) (x[k]), acc);
    acc = fma (convert_float16 ((u << 16) >> 24), (float16) (x[k + 1]), acc);
    acc = fma (convert_float16 ((u << 8) >> 24), (float16) (x[k + 2]), acc);
    acc = fma (convert_float16 (u >> 24), (float16) (x[k + 3]), acc);
  }
  if (k < K) {
    const int16 u = as_int16 (vload16 (0, w + (size_t) (k / 4) * 64));
    for (int s = 0; k + s < K; s++)
      acc = fma (convert_float16 ((u << (24 - 8 * s)) >> 24),
          (float16) (x[k + s]), acc);
  }
  y += y_off + n0;
  r += y_off + n0;
  for (int j = 0; j < 16 && n0 + j < N; j++) {
    float v = acc[j] * scale[n0 + j];
    if (flags & IB_HAS_BIAS)
      v += bias[n0 + j];
    if (flags & IB_HAS_RESIDUAL)
      v += r[j];
    y[j] = v;
  }
}
