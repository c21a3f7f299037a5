/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GPU-shaped linear layers on weights stored [K,N] (the CLBlast backend's
 * layout) as fp32, fp16, bf16 or q8 (int8 with one fp32 scale per output
 * column): each weight is widened in registers, never into a scratch copy of
 * the matrix, and every sum is fp32. None needs cl_khr_fp16 (vload_half,
 * vstore_half_rte are core OpenCL 1.2).
 *
 * gemv_kn_*: y[N] = (x[K] · W[K,N]) * scale + bias (+ r), for decode. A
 *   work-group of GEMV_GX x GEMV_GK work-items owns GEMV_GX neighbouring
 *   columns (neighbouring work-items read neighbouring weights: coalesced)
 *   and splits K GEMV_GK ways; the partial sums meet in local memory.
 *   Global (ceil(N / GX) * GX, GK), local (GX, GK).
 *
 * gemm_kn_*: C[M,N] = (A[M,K] · W[K,N]) * scale + bias (+ R), for prefill
 *   where no HGEMM applies (no cl_khr_fp16, bf16 or q8 weights). Work-groups
 *   of TS x TS work-items own a (TS * WPT)² tile of C; K advances TK at a
 *   time through local memory, the weights widened on their way in. Each
 *   work-item holds WPT x WPT accumulators, rows ty + TS * i and columns
 *   tx + TS * j (stores and weight reads coalesced along N).
 *   Global (ceil(N / T) * TS, ceil(M / T) * TS) with T = TS * WPT, local
 *   (TS, TS).
 *
 * gemv_kn_rows_*: gemv_kn_* on several rows, each bit for bit its GEMV
 *   alone (batched decoding; below).
 *
 * hgemm_a_to_f16 / hgemm_epilogue: the conversions around CLBlastHgemm
 *   (fp16 activations in, fp16 product out, fp32 bias and residual).
 *
 * flags: IB_HAS_BIAS, IB_HAS_RESIDUAL, IB_HAS_SCALE (q8: the per-column
 * scales). Offsets are in elements of A/x and C/y. */

#define GPU_T (IB_CL_GPU_TS * IB_CL_GPU_WPT)

#define KN_LOAD_F32(W, i) ((W)[i])
#define KN_LOAD_F16(W, i) vload_half ((i), (W))
#define KN_LOAD_BF16(W, i) as_float ((uint) (W)[i] << 16)
#define KN_LOAD_Q8(W, i) ((float) (W)[i])

#define DEFINE_GEMV_KN(NAME, WTYPE, LOAD)                                  \
  __kernel void NAME (const __global float *x, const __global WTYPE *W,    \
      const __global float *scale, const __global float *bias,             \
      const __global float *r, __global float *y, int N, int K, int flags, \
      int x_off, int y_off)                                                \
  {                                                                        \
    __local float part[IB_CL_GEMV_GK][IB_CL_GEMV_GX];                      \
    const int lx = get_local_id (0), lk = get_local_id (1);                \
    const int n = get_global_id (0);                                       \
    float acc = 0.0f;                                                      \
                                                                           \
    x += x_off;                                                            \
    if (n < N)                                                             \
      for (int k = lk; k < K; k += IB_CL_GEMV_GK)                          \
        acc = fma (x[k], LOAD (W, (size_t) k * N + n), acc);               \
    part[lk][lx] = acc;                                                    \
    barrier (CLK_LOCAL_MEM_FENCE);                                         \
    if (lk != 0 || n >= N)                                                 \
      return;                                                              \
    for (int j = 1; j < IB_CL_GEMV_GK; j++)                                \
      acc += part[j][lx];                                                  \
    if (flags & IB_HAS_SCALE)                                              \
      acc *= scale[n];                                                     \
    if (flags & IB_HAS_BIAS)                                               \
      acc += bias[n];                                                      \
    if (flags & IB_HAS_RESIDUAL)                                           \
      acc += r[y_off + n];                                                 \
    y[y_off + n] = acc;                                                    \
  }

DEFINE_GEMV_KN (gemv_kn_f32, float, KN_LOAD_F32)
DEFINE_GEMV_KN (gemv_kn_f16, half, KN_LOAD_F16)
DEFINE_GEMV_KN (gemv_kn_bf16, ushort, KN_LOAD_BF16)
DEFINE_GEMV_KN (gemv_kn_q8, char, KN_LOAD_Q8)

/* gemv_kn_rows_*: gemv_kn_* on M rows at once (batched decoding of several
 * sequences), IB_CL_GEMV_ROWS rows per work-group slice (rows past M
 * clamped on load, skipped on store), each weight read once for all of
 * them. Every row's partial sums and their meeting run in the order and
 * with the fma of gemv_kn_*, so each row is bit for bit its GEMV alone.
 * Global (ceil(N / GX) * GX, GK, ceil(M / ROWS)), local (GX, GK, 1). */
#define DEFINE_GEMV_KN_ROWS(NAME, WTYPE, LOAD)                          \
  __kernel void NAME (const __global float *x, const __global WTYPE *W, \
      const __global float *scale, const __global float *bias,          \
      const __global float *r, __global float *y, int M, int N, int K,  \
      int flags, int x_off, int y_off)                                  \
  {                                                                     \
    __local float part[IB_CL_GEMV_GK][IB_CL_GEMV_ROWS][IB_CL_GEMV_GX];  \
    const int lx = get_local_id (0), lk = get_local_id (1);             \
    const int n = get_global_id (0);                                    \
    const int m0 = get_global_id (2) * IB_CL_GEMV_ROWS;                 \
    const __global float *xr[IB_CL_GEMV_ROWS];                          \
    float acc[IB_CL_GEMV_ROWS];                                         \
                                                                        \
    x += x_off;                                                         \
    for (int i = 0; i < IB_CL_GEMV_ROWS; i++) {                         \
      acc[i] = 0.0f;                                                    \
      xr[i] = x + (size_t) min (m0 + i, M - 1) * K;                     \
    }                                                                   \
    if (n < N)                                                          \
      for (int k = lk; k < K; k += IB_CL_GEMV_GK) {                     \
        const float w = LOAD (W, (size_t) k * N + n);                   \
        for (int i = 0; i < IB_CL_GEMV_ROWS; i++)                       \
          acc[i] = fma (xr[i][k], w, acc[i]);                           \
      }                                                                 \
    for (int i = 0; i < IB_CL_GEMV_ROWS; i++)                           \
      part[lk][i][lx] = acc[i];                                         \
    barrier (CLK_LOCAL_MEM_FENCE);                                      \
    if (lk != 0 || n >= N)                                              \
      return;                                                           \
    for (int i = 0; i < IB_CL_GEMV_ROWS && m0 + i < M; i++) {           \
      const size_t o = (size_t) y_off + (size_t) (m0 + i) * N + n;      \
      float v = acc[i];                                                 \
      for (int j = 1; j < IB_CL_GEMV_GK; j++)                           \
        v += part[j][i][lx];                                            \
      if (flags & IB_HAS_SCALE)                                         \
        v *= scale[n];                                                  \
      if (flags & IB_HAS_BIAS)                                          \
        v += bias[n];                                                   \
      if (flags & IB_HAS_RESIDUAL)                                      \
        v += r[o];                                                      \
      y[o] = v;                                                         \
    }                                                                   \
  }

DEFINE_GEMV_KN_ROWS (gemv_kn_rows_f32, float, KN_LOAD_F32)
DEFINE_GEMV_KN_ROWS (gemv_kn_rows_f16, half, KN_LOAD_F16)
DEFINE_GEMV_KN_ROWS (gemv_kn_rows_bf16, ushort, KN_LOAD_BF16)
DEFINE_GEMV_KN_ROWS (gemv_kn_rows_q8, char, KN_LOAD_Q8)

/* One C element's epilogue: scale, bias, residual. */
#define KN_STORE(m, n, v)                    \
  {                                          \
    float o = (v);                           \
    if (flags & IB_HAS_SCALE)                \
      o *= scale[n];                         \
    if (flags & IB_HAS_BIAS)                 \
      o += bias[n];                          \
    if (flags & IB_HAS_RESIDUAL)             \
      o += R[c_off + (size_t) (m) *N + (n)]; \
    C[c_off + (size_t) (m) *N + (n)] = o;    \
  }

#define DEFINE_GEMM_KN(NAME, WTYPE, LOAD)                                   \
  __kernel void NAME (const __global float *A, const __global WTYPE *W,     \
      const __global float *scale, const __global float *bias,              \
      const __global float *R, __global float *C, int M, int N, int K,      \
      int flags, int a_off, int c_off)                                      \
  {                                                                         \
    /* As[k][m], Ws[k][n]: both read along their second index */            \
    __local float As[IB_CL_GPU_TK][GPU_T + 1];                              \
    __local float Ws[IB_CL_GPU_TK][GPU_T];                                  \
    const int tx = get_local_id (0), ty = get_local_id (1);                 \
    const int lid = ty * IB_CL_GPU_TS + tx;                                 \
    const int n0 = get_group_id (0) * GPU_T, m0 = get_group_id (1) * GPU_T; \
    float acc[IB_CL_GPU_WPT][IB_CL_GPU_WPT];                                \
                                                                            \
    A += a_off;                                                             \
    for (int i = 0; i < IB_CL_GPU_WPT; i++)                                 \
      for (int j = 0; j < IB_CL_GPU_WPT; j++)                               \
        acc[i][j] = 0.0f;                                                   \
    for (int k0 = 0; k0 < K; k0 += IB_CL_GPU_TK) {                          \
      for (int e = lid; e < IB_CL_GPU_TK * GPU_T;                           \
           e += IB_CL_GPU_TS * IB_CL_GPU_TS) {                              \
        /* A: TK consecutive k of one row; W: GPU_T consecutive n */        \
        const int am = e / IB_CL_GPU_TK, ak = e % IB_CL_GPU_TK;             \
        const int wk = e / GPU_T, wn = e % GPU_T;                           \
        As[ak][am] = m0 + am < M && k0 + ak < K ?                           \
            A[(size_t) (m0 + am) * K + k0 + ak] :                           \
            0.0f;                                                           \
        Ws[wk][wn] = n0 + wn < N && k0 + wk < K ?                           \
            LOAD (W, (size_t) (k0 + wk) * N + n0 + wn) :                    \
            0.0f;                                                           \
      }                                                                     \
      barrier (CLK_LOCAL_MEM_FENCE);                                        \
      for (int kk = 0; kk < IB_CL_GPU_TK; kk++) {                           \
        float a[IB_CL_GPU_WPT], w[IB_CL_GPU_WPT];                           \
        for (int i = 0; i < IB_CL_GPU_WPT; i++)                             \
          a[i] = As[kk][ty + IB_CL_GPU_TS * i];                             \
        for (int j = 0; j < IB_CL_GPU_WPT; j++)                             \
          w[j] = Ws[kk][tx + IB_CL_GPU_TS * j];                             \
        for (int i = 0; i < IB_CL_GPU_WPT; i++)                             \
          for (int j = 0; j < IB_CL_GPU_WPT; j++)                           \
            acc[i][j] = fma (a[i], w[j], acc[i][j]);                        \
      }                                                                     \
      barrier (CLK_LOCAL_MEM_FENCE);                                        \
    }                                                                       \
    for (int i = 0; i < IB_CL_GPU_WPT; i++) {                               \
      const int m = m0 + ty + IB_CL_GPU_TS * i;                             \
      if (m >= M)                                                           \
        break;                                                              \
      for (int j = 0; j < IB_CL_GPU_WPT; j++) {                             \
        const int n = n0 + tx + IB_CL_GPU_TS * j;                           \
        if (n < N)                                                          \
          KN_STORE (m, n, acc[i][j]);                                       \
      }                                                                     \
    }                                                                       \
  }

DEFINE_GEMM_KN (gemm_kn_f16, half, KN_LOAD_F16)
DEFINE_GEMM_KN (gemm_kn_bf16, ushort, KN_LOAD_BF16)
DEFINE_GEMM_KN (gemm_kn_q8, char, KN_LOAD_Q8)

/* out[i] = fp16 (A[a_off + i]) rounded to nearest even, i < n: the
 * activations CLBlastHgemm reads. Global (n). */
__kernel void
hgemm_a_to_f16 (const __global float *A, __global half *out, int n, int a_off)
{
  const int i = get_global_id (0);
  if (i < n)
    vstore_half_rte (A[a_off + i], i, out);
}

/* C[m,n] = fp32 (P[p_off + m*N + n]) + bias[n] (+ R[m,n]): the product
 * CLBlastHgemm wrote in fp16, widened, with the fp32 epilogue. Global
 * (N, M). */
__kernel void
hgemm_epilogue (const __global half *P, int p_off, const __global float *bias,
    const __global float *R, __global float *C, int M, int N, int flags,
    int c_off)
{
  const int n = get_global_id (0), m = get_global_id (1);
  const size_t i = (size_t) m * N + n;
  float v;

  if (n >= N || m >= M)
    return;
  v = vload_half (p_off + i, P);
  if (flags & IB_HAS_BIAS)
    v += bias[n];
  if (flags & IB_HAS_RESIDUAL)
    v += R[c_off + i];
  C[c_off + i] = v;
}
