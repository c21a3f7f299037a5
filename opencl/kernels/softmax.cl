/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Attention softmax: row-wise, in place, with optional additive bias, key
 * mask and causal mask.
 *
 * softmax_f32: x viewed as [batch, rows, cols] fp32; for each row (b, r):
 *   v[c] = scale · x[b,r,c] + bias[b % bias_batch, r, c] + key_mask[c]
 *   x[b,r,c] = exp(v[c] - max v) / Σ exp(v - max v)
 * bias ([bias_batch, rows, cols]) if IB_HAS_BIAS, key_mask ([cols]) if
 * IB_HAS_MASK. Masked entries contribute exactly 0: key c is masked when
 * key_mask[c] <= IB_MASKED (-1e30: -inf or torch.finfo(float32).min as HF
 * builds masks) or, with causal_offset >= 0, when c > r + causal_offset
 * (those keys are not even read). A row with every key masked gives zeros.
 *
 * Three passes over the row: the max, exp(v - max) written back with its
 * sum, then the scaling by 1/sum (as torch). One work-group per row, global
 * (batch · rows · L), local (L), L and the element assignment as in rows.cl.
 */

#define IB_MASKED (-1e30f)

float16
ib_softmax_in16 (const __global float *xr, const __global float *br,
    const __global float *mask, int c, float scale, int flags)
{
  float16 v = scale * vload16 (c, xr);
  if (flags & IB_HAS_BIAS)
    v += vload16 (c, br);
  if (flags & IB_HAS_MASK) {
    const float16 m = vload16 (c, mask);
    v = select (v + m, (float16) (-INFINITY), m <= (float16) (IB_MASKED));
  }
  return v;
}

float
ib_softmax_in (const __global float *xr, const __global float *br,
    const __global float *mask, int i, float scale, int flags)
{
  float v = scale * xr[i];
  if (flags & IB_HAS_BIAS)
    v += br[i];
  if (flags & IB_HAS_MASK)
    v = mask[i] <= IB_MASKED ? -INFINITY : v + mask[i];
  return v;
}

/* The softmax of one row @xr of @cols entries, of which the first @n are
 * kept (the others become 0), by the work-group (scratch: IB_ROW_GROUP_MAX
 * floats of local memory). softmax_f32 and attention_rows_f32 share it, so
 * a row gets the same bits from both. */
void
ib_softmax_row (__global float *xr, const __global float *br,
    const __global float *mask, int n, int cols, float scale, int flags,
    __local float *scratch)
{
  const int lid = get_local_id (0), L = get_local_size (0);
  const int nv = n / 16;
  float16 acc;
  float m, s;

  acc = (float16) (-INFINITY);
  for (int c = lid; c < nv; c += L)
    acc = fmax (acc, ib_softmax_in16 (xr, br, mask, c, scale, flags));
  m = ib_hmax16 (acc);
  for (int i = nv * 16 + lid; i < n; i += L)
    m = fmax (m, ib_softmax_in (xr, br, mask, i, scale, flags));
  m = ib_wg_max (m, scratch);
  /* every key masked: exp(-inf - 0) = 0, the sum is 0 and so is the row */
  if (m == -INFINITY)
    m = 0.0f;

  acc = (float16) (0.0f);
  for (int c = lid; c < nv; c += L) {
    const float16 e = exp (ib_softmax_in16 (xr, br, mask, c, scale, flags) - m);
    vstore16 (e, c, xr);
    acc += e;
  }
  s = ib_hsum16 (acc);
  for (int i = nv * 16 + lid; i < n; i += L) {
    const float e = exp (ib_softmax_in (xr, br, mask, i, scale, flags) - m);
    xr[i] = e;
    s += e;
  }
  s = ib_wg_sum (s, scratch);
  s = s > 0.0f ? 1.0f / s : 0.0f;

  for (int c = lid; c < nv; c += L)
    vstore16 (vload16 (c, xr) * s, c, xr);
  for (int i = nv * 16 + lid; i < n; i += L)
    xr[i] *= s;
  for (int i = n + lid; i < cols; i += L)
    xr[i] = 0.0f;
}

__kernel void
softmax_f32 (__global float *x, int rows, int cols, float scale,
    const __global float *bias, int bias_batch, const __global float *mask,
    int causal_offset, int flags)
{
  __local float scratch[IB_ROW_GROUP_MAX];
  const int g = get_group_id (0);
  const int b = g / rows, r = g % rows;
  __global float *xr = x + (size_t) g * cols;
  const __global float *br =
      bias + ((size_t) (b % bias_batch) * rows + r) * cols;
  const int n = causal_offset >= 0 ? min (cols, r + causal_offset + 1) : cols;

  ib_softmax_row (xr, br, mask, n, cols, scale, flags, scratch);
}
