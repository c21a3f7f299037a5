/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Row reductions over vocabulary logits: log-softmax and argmax.
 *
 * log_softmax_f32: x [rows, cols] fp32 in place,
 *   x[r,c] = (x[r,c] - max) - log Σ exp(x[r,:] - max) (torch's order).
 * argmax_f32: out[r] (int32) = the smallest c with x[r,c] == max x[r,:];
 *   NaN entries are ignored (a row of NaN gives 0).
 *
 * One work-group per row, global (rows · L), local (L), L and the element
 * assignment as in rows.cl.
 */

__kernel void
log_softmax_f32 (__global float *x, int cols)
{
  __local float scratch[IB_ROW_GROUP_MAX];
  const int row = get_group_id (0);
  const int lid = get_local_id (0), L = get_local_size (0);
  const int nv = cols / 16;
  __global float *xr = x + (size_t) row * cols;
  float16 acc;
  float m, s;

  acc = (float16) (-INFINITY);
  for (int c = lid; c < nv; c += L)
    acc = fmax (acc, vload16 (c, xr));
  m = ib_hmax16 (acc);
  for (int i = nv * 16 + lid; i < cols; i += L)
    m = fmax (m, xr[i]);
  m = ib_wg_max (m, scratch);

  acc = (float16) (0.0f);
  for (int c = lid; c < nv; c += L)
    acc += exp (vload16 (c, xr) - m);
  s = ib_hsum16 (acc);
  for (int i = nv * 16 + lid; i < cols; i += L)
    s += exp (xr[i] - m);
  s = log (ib_wg_sum (s, scratch));

  for (int c = lid; c < nv; c += L)
    vstore16 ((vload16 (c, xr) - m) - s, c, xr);
  for (int i = nv * 16 + lid; i < cols; i += L)
    xr[i] = (xr[i] - m) - s;
}

__kernel void
argmax_f32 (const __global float *x, __global int *out, int cols)
{
  __local float scratch[IB_ROW_GROUP_MAX];
  __local int iscratch[IB_ROW_GROUP_MAX];
  const int row = get_group_id (0);
  const int lid = get_local_id (0), L = get_local_size (0);
  const int nv = cols / 16;
  const __global float *xr = x + (size_t) row * cols;
  float16 acc;
  float m;
  int best = INT_MAX;

  acc = (float16) (-INFINITY);
  for (int c = lid; c < nv; c += L)
    acc = fmax (acc, vload16 (c, xr));
  m = ib_hmax16 (acc);
  for (int i = nv * 16 + lid; i < cols; i += L)
    m = fmax (m, xr[i]);
  m = ib_wg_max (m, scratch);

  /* This work-item's chunks come in increasing order: the first hit is its
   * smallest index, and tail indices are larger than every chunk's. */
  for (int c = lid; c < nv && best == INT_MAX; c += L)
    if (any (vload16 (c, xr) == (float16) (m)))
      for (int i = c * 16; i < c * 16 + 16; i++)
        if (xr[i] == m) {
          best = i;
          break;
        }
  for (int i = nv * 16 + lid; i < cols && best == INT_MAX; i += L)
    if (xr[i] == m)
      best = i;
  best = ib_wg_min_int (best, iscratch);
  if (lid == 0)
    out[row] = best == INT_MAX ? 0 : best;
}
