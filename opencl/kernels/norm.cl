/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Row normalisations: LayerNorm (ViT, Q-Former) and RMSNorm (LLaMA, T5).
 *
 * layernorm_f32: y[r,:] = (x[r,:] - mean) · rstd · w + b (b if IB_HAS_BIAS),
 *   mean = Σx / dim, var = Σ(x - mean)² / dim (biased, as torch), rstd =
 *   rsqrt(var + eps). Two passes: the mean, then the deviations from it,
 *   whose sum also corrects the mean's rounding error (below).
 * rmsnorm_f32: y[r,:] = w · (x[r,:] · rsqrt(Σx² / dim + eps)) (HF LLaMA and
 *   T5 LayerNorm: no mean, no bias, variance in fp32).
 *
 * x, y: [rows, dim] row-major fp32, y may be x; w, b: [dim]. One work-group
 * per row, global (rows · L), local (L), L as in rows.cl; sums accumulate in
 * 16 float lanes per work-item, then across lanes and work-items.
 */

__kernel void
layernorm_f32 (const __global float *x, const __global float *w,
    const __global float *b, __global float *y, int dim, float eps, int flags)
{
  __local float scratch[IB_ROW_GROUP_MAX];
  const int row = get_group_id (0);
  const int lid = get_local_id (0), L = get_local_size (0);
  const int nv = dim / 16;
  const __global float *xr = x + (size_t) row * dim;
  __global float *yr = y + (size_t) row * dim;
  float16 acc = (float16) (0.0f);
  float s = 0.0f;

  for (int c = lid; c < nv; c += L)
    acc += vload16 (c, xr);
  s = ib_hsum16 (acc);
  for (int i = nv * 16 + lid; i < dim; i += L)
    s += xr[i];
  const float mean0 = ib_wg_sum (s, scratch) / dim;

  /* Deviations d = x - mean0 from the fp32 mean, with their sum: mean0 +
   * Σd/dim is the mean without mean0's rounding error (the corrected
   * two-pass algorithm), var = (Σd² - (Σd)²/dim) / dim. The correction
   * stays a separate term, as the corrected mean may not be an fp32. */
  float16 acc2 = (float16) (0.0f);
  acc = (float16) (0.0f);
  for (int c = lid; c < nv; c += L) {
    const float16 d = vload16 (c, xr) - mean0;
    acc += d;
    acc2 += d * d;
  }
  float sd = ib_hsum16 (acc);
  s = ib_hsum16 (acc2);
  for (int i = nv * 16 + lid; i < dim; i += L) {
    const float d = xr[i] - mean0;
    sd += d;
    s += d * d;
  }
  sd = ib_wg_sum (sd, scratch);
  s = ib_wg_sum (s, scratch);
  const float corr = sd / dim;
  const float var = fmax (s - sd * sd / dim, 0.0f) / dim;
  const float rstd = rsqrt (var + eps);

  for (int c = lid; c < nv; c += L) {
    float16 v = (vload16 (c, xr) - mean0 - corr) * rstd * vload16 (c, w);
    if (flags & IB_HAS_BIAS)
      v += vload16 (c, b);
    vstore16 (v, c, yr);
  }
  for (int i = nv * 16 + lid; i < dim; i += L) {
    float v = (xr[i] - mean0 - corr) * rstd * w[i];
    if (flags & IB_HAS_BIAS)
      v += b[i];
    yr[i] = v;
  }
}

__kernel void
rmsnorm_f32 (const __global float *x, const __global float *w,
    __global float *y, int dim, float eps)
{
  __local float scratch[IB_ROW_GROUP_MAX];
  const int row = get_group_id (0);
  const int lid = get_local_id (0), L = get_local_size (0);
  const int nv = dim / 16;
  const __global float *xr = x + (size_t) row * dim;
  __global float *yr = y + (size_t) row * dim;
  float16 acc = (float16) (0.0f);
  float s = 0.0f;

  for (int c = lid; c < nv; c += L) {
    const float16 v = vload16 (c, xr);
    acc += v * v;
  }
  s = ib_hsum16 (acc);
  for (int i = nv * 16 + lid; i < dim; i += L)
    s += xr[i] * xr[i];
  const float r = rsqrt (ib_wg_sum (s, scratch) / dim + eps);

  for (int c = lid; c < nv; c += L)
    vstore16 (vload16 (c, w) * (vload16 (c, xr) * r), c, yr);
  for (int i = nv * 16 + lid; i < dim; i += L)
    yr[i] = w[i] * (xr[i] * r);
}
