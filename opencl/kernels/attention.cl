/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Decode attention of many query rows, each against its own keys and
 * values, in one launch (the batched decode step's rows: every beam of
 * every question, for one layer).
 *
 * attention_rows_f32: one work-group per (row, head), global
 * (rows · heads · L), local (L) as the row kernels (rows.cl). Row r's
 * entry in @table (IB_ATT_ROW_INTS ints) names its sequence's buffers
 * (IB_ATT_ROW_SEQ: K<i>, V<i>, B<i>, i < IB_ATT_MAX_SEQS: OpenCL 1.2 has no
 * pointers in buffers, so up to that many sequences' caches are passed as
 * arguments) and gives the float offsets of its first key and value
 * (positions kv_ld floats apart, head h h·head_dim floats in), its number
 * of keys n and the offset of its [heads, n] additive bias (IB_HAS_BIAS).
 * With IB_ATT_APPEND the row's new key and value (columns append_k and
 * append_v of its query row) are first written to position n - 1. For
 * each (row, head):
 *
 *   s[j] = scale · Σ_k q[k]·K[j][k]   (fma chain over k ascending)
 *   p    = softmax(s + bias)          (ib_softmax_row, softmax_f32's code)
 *   c[d] = Σ_j p[j]·V[j][d]           (fma chain over j ascending)
 *
 * which is, bit for bit, what ib_attention's launches give one query row
 * with the project's own kernels: gemm_batched_f32 (QKᵀ and PV, one fma
 * chain per output from 0, alpha applied at the end) and softmax_f32 with
 * the same work-group size. Scores go to S (row·heads + h)·s_ld. */

/* K[j0 + x][k] for x < 16 (rows ld apart; lanes past nn repeat the last) */
inline float16
ib_att_gather16 (const __global float *p, int ld, int nn)
{
  float t[16];

  for (int x = 0; x < 16; x++)
    t[x] = p[(size_t) min (x, nn - 1) * ld];
  return vload16 (0, t);
}

#if IB_ATT_MAX_SEQS != 8
#error "attention_rows_f32 takes 8 sequences' buffers (IB_ATT_PICK)"
#endif

#define IB_ATT_PICK(i, a0, a1, a2, a3, a4, a5, a6, a7) \
  ((i) == 0        ? (a0) :                            \
          (i) == 1 ? (a1) :                            \
          (i) == 2 ? (a2) :                            \
          (i) == 3 ? (a3) :                            \
          (i) == 4 ? (a4) :                            \
          (i) == 5 ? (a5) :                            \
          (i) == 6 ? (a6) :                            \
                     (a7))

__kernel void
attention_rows_f32 (const __global float *Q, int q_off, int q_ld,
    __global float *K0, __global float *K1, __global float *K2,
    __global float *K3, __global float *K4, __global float *K5,
    __global float *K6, __global float *K7, __global float *V0,
    __global float *V1, __global float *V2, __global float *V3,
    __global float *V4, __global float *V5, __global float *V6,
    __global float *V7, const __global float *B0, const __global float *B1,
    const __global float *B2, const __global float *B3,
    const __global float *B4, const __global float *B5,
    const __global float *B6, const __global float *B7, int kv_ld,
    const __global int *table, int table_row, __global float *S, int s_ld,
    __global float *C, int c_off, int c_ld, int heads, int hd, float scale,
    int append_k, int append_v, int flags)
{
  __local float scratch[IB_ROW_GROUP_MAX];
  const int g = get_group_id (0);
  const int lid = get_local_id (0), L = get_local_size (0);
  const int r = g / heads, h = g % heads;
  const __global int *e = table + (size_t) (table_row + r) * IB_ATT_ROW_INTS;
  const int n = e[IB_ATT_ROW_LEN], i = e[IB_ATT_ROW_SEQ];
  const __global float *q = Q + q_off + (size_t) r * q_ld + h * hd;
  __global float *k = IB_ATT_PICK (i, K0, K1, K2, K3, K4, K5, K6, K7) +
      e[IB_ATT_ROW_K] + h * hd;
  __global float *v = IB_ATT_PICK (i, V0, V1, V2, V3, V4, V5, V6, V7) +
      e[IB_ATT_ROW_V] + h * hd;
  const __global float *br = IB_ATT_PICK (i, B0, B1, B2, B3, B4, B5, B6, B7) +
      e[IB_ATT_ROW_BIAS] + (size_t) h * n;
  __global float *xr = S + (size_t) g * s_ld;
  __global float *c = C + c_off + (size_t) r * c_ld + h * hd;

  /* the new position's key and value of this head into the cache */
  if (flags & IB_ATT_APPEND)
    for (int x = lid; x < hd; x += L) {
      k[(size_t) (n - 1) * kv_ld + x] = q[append_k + x];
      v[(size_t) (n - 1) * kv_ld + x] = q[append_v + x];
    }
  barrier (CLK_GLOBAL_MEM_FENCE);
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
