/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Decode attention of many query rows, each against its own keys and
 * values, in one launch (the batched decode step's rows: every beam of
 * every question).
 *
 * attention_rows_f32: one work-group per (row, head), global
 * (rows · heads · L), local (L) as the row kernels (rows.cl). Row r's
 * entry in @table (IB_ATT_ROW_INTS ints) gives the float offsets of its
 * first key and value in K and V (positions kv_ld floats apart, head h
 * h·head_dim floats in), its number of keys n and the offset of its
 * [heads, n] additive bias (IB_HAS_BIAS). For each (row, head):
 *
 *   s[j] = scale · Σ_k q[k]·K[j][k]   (fma chain over k ascending)
 *   p    = softmax(s + bias)          (ib_softmax_row, softmax_f32's code)
 *   c[d] = Σ_j p[j]·V[j][d]           (fma chain over j ascending)
 *
 * which is, bit for bit, what ib_attention's three launches give one query
 * row with the project's own kernels: gemm_batched_f32 (QKᵀ and PV, one
 * fma chain per output from 0, alpha applied at the end) and softmax_f32
 * with the same work-group size. Scores go to S (row·heads + h)·s_ld. */

/* K[j0 + x][k] for x < 16 (rows ld apart; lanes past nn repeat the last) */
inline float16
ib_att_gather16 (const __global float *p, int ld, int nn)
{
  float t[16];

  for (int x = 0; x < 16; x++)
    t[x] = p[(size_t) min (x, nn - 1) * ld];
  return vload16 (0, t);
}

__kernel void
attention_rows_f32 (const __global float *Q, int q_off, int q_ld,
    const __global float *K, const __global float *V, int kv_ld,
    const __global int *table, int table_row, const __global float *bias,
    __global float *S, int s_ld, __global float *C, int c_off, int c_ld,
    int heads, int hd, float scale, int flags)
{
  __local float scratch[IB_ROW_GROUP_MAX];
  const int g = get_group_id (0);
  const int lid = get_local_id (0), L = get_local_size (0);
  const int r = g / heads, h = g % heads;
  const __global int *e = table + (size_t) (table_row + r) * IB_ATT_ROW_INTS;
  const int n = e[IB_ATT_ROW_LEN];
  const __global float *q = Q + q_off + (size_t) r * q_ld + h * hd;
  const __global float *k = K + e[IB_ATT_ROW_K] + h * hd;
  const __global float *v = V + e[IB_ATT_ROW_V] + h * hd;
  const __global float *br = bias + e[IB_ATT_ROW_BIAS] + (size_t) h * n;
  __global float *xr = S + (size_t) g * s_ld;
  __global float *c = C + c_off + (size_t) r * c_ld + h * hd;

  /* scores: 16 keys per work-item and step, one fma chain per key */
  for (int j0 = lid * 16; j0 < n; j0 += L * 16) {
    const int nn = min (16, n - j0);
    const __global float *kj = k + (size_t) j0 * kv_ld;
    float16 acc = (float16) (0.0f);
    for (int x = 0; x < hd; x++)
      acc = fma ((float16) (q[x]), ib_att_gather16 (kj + x, kv_ld, nn), acc);
    store16_partial (scale * acc, xr + j0, nn);
  }
  barrier (CLK_GLOBAL_MEM_FENCE);
  ib_softmax_row (xr, br, br, n, n, 1.0f, flags & IB_HAS_BIAS, scratch);
  barrier (CLK_GLOBAL_MEM_FENCE);
  /* context: 16 columns per work-item and step, one fma chain per column */
  for (int d0 = lid * 16; d0 < hd; d0 += L * 16) {
    const int nd = min (16, hd - d0);
    float16 acc = (float16) (0.0f);
    for (int j = 0; j < n; j++) {
      const __global float *vj = v + (size_t) j * kv_ld + d0;
      const float16 vv = nd == 16 ? vload16 (0, vj) : load16_partial (vj, nd);
      acc = fma ((float16) (xr[j]), vv, acc);
    }
    store16_partial (acc, c + d0, nd);
  }
}
