/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Constants shared by host code and kernels, defined once: the host uses
 * them as enum values, and every kernel build gets them as -D options
 * (ib_cl_kernel_build_options), so the kernels never repeat a number. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* X (NAME, VALUE, what it is) */
#define IB_CL_KERNEL_DEFS(X)                                                   \
  /* optional-argument flags passed to kernels as one int */                   \
  X (IB_HAS_BIAS, 1, "a bias vector is given")                                 \
  X (IB_HAS_RESIDUAL, 2, "a residual is added")                                \
  X (IB_HAS_MASK, 4, "a key mask is given")                                    \
  X (IB_HAS_SCALE, 8, "per-column weight scales (q8)")                         \
  /* weight and table dtypes as kernels see them (IbClDtype values) */         \
  X (IB_F32, 0, "fp32")                                                        \
  X (IB_F16, 1, "fp16")                                                        \
  X (IB_BF16, 2, "bf16")                                                       \
  /* gemm_pk_*: MR rows x NR columns per work-item, weights in panels of NR  \
   * columns (gemm.cl: the MR rows are unrolled by hand, it checks MR) */ \
  X (IB_CL_GEMM_MR, 6, "rows per work-item of gemm_pk_*")                      \
  X (IB_CL_GEMM_NR, 32, "columns per weight panel and work-item")              \
  /* gemm_batched_f32: BMR x BNR per work-item; transpose_batched: BKT rows */ \
  X (IB_CL_BATCHED_MR, 6, "rows per work-item of gemm_batched_f32")            \
  X (IB_CL_BATCHED_NR, 16, "columns per work-item of gemm_batched_f32")        \
  X (IB_CL_TRANSPOSE_K, 16, "rows per work-item of transpose_batched")         \
  /* gemv_kn_rows_*: rows of the decode GEMV per work-item (unrolled) */       \
  X (IB_CL_GEMV_ROWS, 4, "rows per work-item of gemv_kn_rows_*")               \
  /* gemm_gpu.cl: GEMV work-groups of GX columns x GK slices of K; GEMM     \
   * work-groups of TS x TS, WPT x WPT outputs each, K in steps of TK */  \
  X (IB_CL_GEMV_GX, 32, "columns per work-group of gemv_kn_*")                 \
  X (IB_CL_GEMV_GK, 8, "K slices per work-group of gemv_kn_*")                 \
  X (IB_CL_GPU_TS, 16, "work-items per side of gemm_kn_* groups")              \
  X (IB_CL_GPU_WPT, 4, "outputs per side of a gemm_kn_* work-item")            \
  X (IB_CL_GPU_TK, 16, "K step of gemm_kn_*")                                  \
  /* row kernels (rows.cl): the largest work-group per row; RoPE (rope.cl): \
   * the most frequencies a head takes (head_dim / 2) */  \
  X (IB_ROW_GROUP_MAX, 256, "largest row work-group")                          \
  /* attention_rows_f32: one int32 entry per query row, fields at these   \
   * indices; the caches of up to IB_ATT_MAX_SEQS sequences per launch */    \
  X (IB_ATT_ROW_INTS, 5, "ints per row of the attention row table")            \
  X (IB_ATT_ROW_K, 0, "the row's first key (float offset)")                    \
  X (IB_ATT_ROW_V, 1, "the row's first value (float offset)")                  \
  X (IB_ATT_ROW_LEN, 2, "the row's number of keys")                            \
  X (IB_ATT_ROW_SEQ, 4, "the row's sequence among the launch's buffers")       \
  X (IB_ATT_MAX_SEQS, 8, "sequences (cache buffers) per attention launch")     \
  X (IB_ATT_APPEND, 16, "flag: append the row's new key and value first")      \
  X (IB_ATT_ROW_BIAS, 3, "the row's [heads, len] bias (float offset)")         \
  X (IB_ROPE_MAX_HALF, 128, "largest head_dim / 2 for RoPE")

#define IB_CL_KERNEL_DEF_ENUM(name, value, what) name = value,
enum
{
  IB_CL_KERNEL_DEFS (IB_CL_KERNEL_DEF_ENUM)
};
#undef IB_CL_KERNEL_DEF_ENUM

/* "-cl-std=CL1.2 -DIB_HAS_BIAS=1 ...": the options of every kernel build
 * (OpenCL C 1.2, exact math: parity with the reference needs IEEE exp and
 * erf, nothing is relaxed). (transfer none) */
const char *ib_cl_kernel_build_options (void);

G_END_DECLS
