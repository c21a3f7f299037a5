/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Matrix products.
 *
 * gemm_pk_*: C[M,N] = A[M,K] · W + bias (+ R), W packed in column panels
 *   Wp[ceil(N/NR)][K][NR] (NR = 32), fp32 or fp16 (vload_half16,
 *   no cl_khr_fp16 needed). Work-groups of one work-item, each computing an
 *   MR x NR register tile with float16 vectors: PoCL compiles that to a
 *   BLIS-like broadcast + FMA loop in 512-bit registers. Global size
 *   (ceil(M/MR), ceil(N/NR)); dimension 0 walks M so that neighbouring
 *   work-groups share a W panel in cache. Rows past M are clamped on load and
 *   skipped on store; bias is padded to whole panels; columns past N are
 *   stored one by one.
 *
 * gemv_pk_*: the same with MR = 1, for single-token decode.
 *
 *         K                    NR
 *     +-------+            +-------+ panel p: K rows of NR contiguous
 *  MR | A row | x  K rows  |  W_p  | weights, one stream per work-item
 *     +-------+            +-------+
 */

/* Tiles from opencl/kernel-defs.h (build options); the kernels below are
 * unrolled by hand for these sizes. */
#if IB_CL_GEMM_MR != 6 || IB_CL_GEMM_NR != 32
#error "gemm_pk_* are written for a 6 x 32 tile (two float16 per row)"
#endif
#if IB_CL_BATCHED_MR != 6 || IB_CL_BATCHED_NR != 16
#error "gemm_batched_f32 is written for a 6 x 16 tile (one float16 per row)"
#endif

/* The micro-kernel is written out with named registers (12 float16
 * accumulators for 6 rows x 2 vectors): arrays of vectors or of row pointers
 * make LLVM keep them on the stack. */
#define PK_DECL_ROW(i)                                               \
  const __global float *a##i = A + (size_t) min (m0 + i, M - 1) * K; \
  float16 c##i##0 = (float16) (0.0f), c##i##1 = (float16) (0.0f)
#define PK_FMA_ROW(i, kk)                    \
  {                                          \
    const float16 av = (float16) (a##i[kk]); \
    c##i##0 = fma (av, b0, c##i##0);         \
    c##i##1 = fma (av, b1, c##i##1);         \
  }
#define PK_LOAD(LOADW, kk)                                        \
  const float16 b0 = LOADW (w + (size_t) (kk) *IB_CL_GEMM_NR, 0); \
  const float16 b1 = LOADW (w + (size_t) (kk) *IB_CL_GEMM_NR, 1);
#define PK_STEP6(LOADW, kk) \
  {                         \
    PK_LOAD (LOADW, kk);    \
    PK_FMA_ROW (0, kk);     \
    PK_FMA_ROW (1, kk);     \
    PK_FMA_ROW (2, kk);     \
    PK_FMA_ROW (3, kk);     \
    PK_FMA_ROW (4, kk);     \
    PK_FMA_ROW (5, kk);     \
  }
#define PK_STEP1(LOADW, kk) \
  {                         \
    PK_LOAD (LOADW, kk);    \
    PK_FMA_ROW (0, kk);     \
  }

/* Epilogue for one row: bias, residual, store (vector or column by column
 * at the right edge). */
#define PK_STORE_ROW(i)                                             \
  if (m0 + i < M) {                                                 \
    store_tile (c##i##0, C, bias, R, M, N, m0 + i, n0, flags);      \
    store_tile (c##i##1, C, bias, R, M, N, m0 + i, n0 + 16, flags); \
  }

inline void
store_tile (float16 c, __global float *C, const __global float *bias,
    const __global float *R, int M, int N, int row, int n, int flags)
{
  __global float *cp = C + (size_t) row * N + n;
  const __global float *rp = R + (size_t) row * N + n;

  if (n >= N)
    return;
  if (flags & IB_HAS_BIAS)
    c += vload16 (0, bias + n);
  if (n + 16 <= N) {
    if (flags & IB_HAS_RESIDUAL)
      c += vload16 (0, rp);
    vstore16 (c, 0, cp);
  } else {
    float t[16];
    vstore16 (c, 0, t);
    for (int x = 0; x < N - n; x++)
      cp[x] = t[x] + ((flags & IB_HAS_RESIDUAL) ? rp[x] : 0.0f);
  }
}

#define LOADW_F32(w, j) vload16 ((j), (w))
#define LOADW_F16(w, j) vload_half16 ((j), (w))

#define PK_HEAD(NAME, WTYPE, MR)                                              \
  __kernel void NAME (const __global float *A, const __global WTYPE *W,       \
      const __global float *bias, const __global float *R, __global float *C, \
      int M, int N, int K, int flags, int a_off, int c_off)                   \
  {                                                                           \
    const int m0 = get_global_id (0) * MR;                                    \
    A += a_off;                                                               \
    C += c_off;                                                               \
    R += c_off;                                                               \
    const int n0 = get_global_id (1) * IB_CL_GEMM_NR;                         \
    const __global WTYPE *w =                                                 \
        W + (size_t) get_global_id (1) * K * IB_CL_GEMM_NR;                   \
    int k = 0;

#define DEFINE_GEMM_PK(NAME, WTYPE, LOADW) \
  PK_HEAD (NAME, WTYPE, IB_CL_GEMM_MR)     \
  PK_DECL_ROW (0);                         \
  PK_DECL_ROW (1);                         \
  PK_DECL_ROW (2);                         \
  PK_DECL_ROW (3);                         \
  PK_DECL_ROW (4);                         \
  PK_DECL_ROW (5);                         \
  for (; k + 4 <= K; k += 4) {             \
    PK_STEP6 (LOADW, k);                   \
    PK_STEP6 (LOADW, k + 1);               \
    PK_STEP6 (LOADW, k + 2);               \
    PK_STEP6 (LOADW, k + 3);               \
  }                                        \
  for (; k < K; k++)                       \
    PK_STEP6 (LOADW, k);                   \
  PK_STORE_ROW (0);                        \
  PK_STORE_ROW (1);                        \
  PK_STORE_ROW (2);                        \
  PK_STORE_ROW (3);                        \
  PK_STORE_ROW (4);                        \
  PK_STORE_ROW (5);                        \
  }

#define DEFINE_GEMV_PK(NAME, WTYPE, LOADW) \
  PK_HEAD (NAME, WTYPE, 1)                 \
  PK_DECL_ROW (0);                         \
  for (; k + 4 <= K; k += 4) {             \
    PK_STEP1 (LOADW, k);                   \
    PK_STEP1 (LOADW, k + 1);               \
    PK_STEP1 (LOADW, k + 2);               \
    PK_STEP1 (LOADW, k + 3);               \
  }                                        \
  for (; k < K; k++)                       \
    PK_STEP1 (LOADW, k);                   \
  PK_STORE_ROW (0);                        \
  }

DEFINE_GEMM_PK (gemm_pk_f32, float, LOADW_F32)
DEFINE_GEMM_PK (gemm_pk_f16, half, LOADW_F16)
DEFINE_GEMV_PK (gemv_pk_f32, float, LOADW_F32)
DEFINE_GEMV_PK (gemv_pk_f16, half, LOADW_F16)

/* C[m,n] = bias[n] + R[m,n] (either optional): the epilogue of the CLBlast
 * path, written before an SGEMM with beta = 1. Global (N, M). */
__kernel void
bias_residual_fill (const __global float *bias, const __global float *R,
    __global float *C, int M, int N, int flags, int c_off)
{
  const int n = get_global_id (0), m = get_global_id (1);
  float v = 0.0f;

  if (n >= N || m >= M)
    return;
  if (flags & IB_HAS_BIAS)
    v += bias[n];
  if (flags & IB_HAS_RESIDUAL)
    v += R[c_off + (size_t) m * N + n];
  C[c_off + (size_t) m * N + n] = v;
}

/* Strided-batched C_b = alpha · A_b · B_b for attention (scores·V, and
 * Q·Kᵀ after transpose_batched lays Kᵀ out densely). Same register-tile
 * idea as gemm_pk: each work-item owns 6 rows x 16 columns in float16
 * accumulators, B rows are read as one vector per k (unaligned vload16 is
 * fine), the last partial column block loads and stores lane by lane.
 * Global (ceil(M/6), ceil(N/16), batch), work-groups of one work-item. */
inline float16
load16_partial (const __global float *p, int n)
{
  float t[16];

  for (int x = 0; x < 16; x++)
    t[x] = x < n ? p[x] : 0.0f;
  return vload16 (0, t);
}

inline void
store16_partial (float16 v, __global float *p, int n)
{
  float t[16];

  vstore16 (v, 0, t);
  for (int x = 0; x < n; x++)
    p[x] = t[x];
}

#define BT_DECL_ROW(i)                                                 \
  const __global float *a##i = A + (size_t) min (m0 + i, M - 1) * lda; \
  float16 c##i = (float16) (0.0f)
#define BT_FMA_ROW(i) c##i = fma ((float16) (a##i[k]), bv, c##i)
#define BT_STORE_ROW(i)                                    \
  if (m0 + i < M) {                                        \
    __global float *cp = C + (size_t) (m0 + i) * ldc + n0; \
    if (nn == 16)                                          \
      vstore16 (alpha *c##i, 0, cp);                       \
    else                                                   \
      store16_partial (alpha *c##i, cp, nn);               \
  }

__kernel void
gemm_batched_f32 (const __global float *A, int a_off, int lda, int a_stride,
    const __global float *B, int b_off, int ldb, int b_stride,
    __global float *C, int c_off, int ldc, int c_stride, int M, int N, int K,
    float alpha)
{
  const int m0 = get_global_id (0) * IB_CL_BATCHED_MR;
  const int n0 = get_global_id (1) * IB_CL_BATCHED_NR;
  const int b = get_global_id (2);
  const int nn = min (16, N - n0);

  A += a_off + (size_t) b * a_stride;
  B += b_off + (size_t) b * b_stride + n0;
  C += c_off + (size_t) b * c_stride;
  BT_DECL_ROW (0);
  BT_DECL_ROW (1);
  BT_DECL_ROW (2);
  BT_DECL_ROW (3);
  BT_DECL_ROW (4);
  BT_DECL_ROW (5);
  if (nn == 16) {
    for (int k = 0; k < K; k++) {
      const float16 bv = vload16 (0, B + (size_t) k * ldb);
      BT_FMA_ROW (0);
      BT_FMA_ROW (1);
      BT_FMA_ROW (2);
      BT_FMA_ROW (3);
      BT_FMA_ROW (4);
      BT_FMA_ROW (5);
    }
  } else {
    for (int k = 0; k < K; k++) {
      const float16 bv = load16_partial (B + (size_t) k * ldb, nn);
      BT_FMA_ROW (0);
      BT_FMA_ROW (1);
      BT_FMA_ROW (2);
      BT_FMA_ROW (3);
      BT_FMA_ROW (4);
      BT_FMA_ROW (5);
    }
  }
  BT_STORE_ROW (0);
  BT_STORE_ROW (1);
  BT_STORE_ROW (2);
  BT_STORE_ROW (3);
  BT_STORE_ROW (4);
  BT_STORE_ROW (5);
}

/* dst_b[k][n] = src_b[n][k] for n < N, k < K: a batch of [N, K] row slices
 * (row stride s_ld, batch stride s_stride) into dense [K, N] blocks. Global
 * (ceil(K/IB_CL_TRANSPOSE_K), N, batch). */
__kernel void
transpose_batched (const __global float *src, int s_off, int s_ld, int s_stride,
    __global float *dst, int N, int K)
{
  const int k0 = get_global_id (0) * IB_CL_TRANSPOSE_K, n = get_global_id (1);
  const int b = get_global_id (2);
  const __global float *sp =
      src + s_off + (size_t) b * s_stride + (size_t) n * s_ld;
  __global float *dp = dst + (size_t) b * K * N + n;

  for (int k = k0; k < min (k0 + IB_CL_TRANSPOSE_K, K); k++)
    dp[(size_t) k * N] = sp[k];
}
