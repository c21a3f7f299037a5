/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Work-group row reductions shared by the row-wise kernels (norm.cl,
 * softmax.cl, reduce.cl).
 *
 * Row-wise kernels run one work-group per row, of L work-items (L a power of
 * two, at most IB_ROW_GROUP_MAX, chosen by the host; any such L gives the
 * right answer). On CPU devices L = 1: PoCL runs a work-group as one loop, so
 * a single work-item sweeps the row with float16 vectors (vload16), and the
 * local-memory tree below has no steps. On GPUs L = 64 and the tree combines
 * the work-items' partial results.
 *
 * Work-item l takes the 16-float chunks l, l + L, l + 2L, ... of a row and
 * the scalar tail elements 16·(n/16) + l, + L, ...; every pass of a kernel
 * uses this same assignment, so in-place kernels only read back elements
 * that the same work-item wrote.
 *
 * ib_wg_sum/max/min_int: the reduction of one value per work-item over the
 * work-group, returned to every work-item. Must be reached by all work-items
 * of the group; @s is a __local scratch of at least L entries, free again
 * when the call returns.
 *
 * The host launches exactly one group per row, and these kernels never
 * return before a barrier, not even uniformly for a whole group: PoCL 3.1
 * miscompiled such a layernorm at L = 4 (wrong sums, stray stores).
 */

float
ib_hsum16 (float16 v)
{
  float8 a = v.lo + v.hi;
  float4 b = a.lo + a.hi;
  float2 c = b.lo + b.hi;
  return c.x + c.y;
}

float
ib_hmax16 (float16 v)
{
  float8 a = fmax (v.lo, v.hi);
  float4 b = fmax (a.lo, a.hi);
  float2 c = fmax (b.lo, b.hi);
  return fmax (c.x, c.y);
}

float
ib_wg_sum (float v, __local float *s)
{
  const int lid = get_local_id (0);

  s[lid] = v;
  barrier (CLK_LOCAL_MEM_FENCE);
  for (int k = get_local_size (0) / 2; k > 0; k >>= 1) {
    if (lid < k)
      s[lid] += s[lid + k];
    barrier (CLK_LOCAL_MEM_FENCE);
  }
  v = s[0];
  barrier (CLK_LOCAL_MEM_FENCE);
  return v;
}

float
ib_wg_max (float v, __local float *s)
{
  const int lid = get_local_id (0);

  s[lid] = v;
  barrier (CLK_LOCAL_MEM_FENCE);
  for (int k = get_local_size (0) / 2; k > 0; k >>= 1) {
    if (lid < k)
      s[lid] = fmax (s[lid], s[lid + k]);
    barrier (CLK_LOCAL_MEM_FENCE);
  }
  v = s[0];
  barrier (CLK_LOCAL_MEM_FENCE);
  return v;
}

int
ib_wg_min_int (int v, __local int *s)
{
  const int lid = get_local_id (0);

  s[lid] = v;
  barrier (CLK_LOCAL_MEM_FENCE);
  for (int k = get_local_size (0) / 2; k > 0; k >>= 1) {
    if (lid < k)
      s[lid] = min (s[lid], s[lid + k]);
    barrier (CLK_LOCAL_MEM_FENCE);
  }
  v = s[0];
  barrier (CLK_LOCAL_MEM_FENCE);
  return v;
}
