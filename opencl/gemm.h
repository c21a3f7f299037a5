/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Matrix products: linear layers on weights packed once at load (GEMM for
 * many rows, GEMV for one) and strided-batched products for attention.
 *
 * Two backends behind one interface, chosen per device (device.h):
 * - OWN (CPU devices such as PoCL): weights re-laid out into column panels
 *   [ceil(N/32)][K][32], fp32 or fp16; each work-item computes a 6x32 tile
 *   with float16 vectors, work-groups of one work-item (docs/gemm-pocl.md).
 * - CLBLAST (GPUs): weights stored [K,N] (CLBlast's fast NN case), fp16
 *   weights widened to fp32 scratch before CLBlastSgemm; the decode GEMV is
 *   our own kernel, one work-item per output column.
 * bf16 and q8 weights (CPU devices, builds with oneDNN) go through oneDNN
 * in the layout it prefers, on the buffers' host memory (gemm-dnnl.c). */
#pragma once

#include "queue.h"

G_BEGIN_DECLS

typedef enum
{
  IB_CL_DTYPE_F32,
  IB_CL_DTYPE_F16,
  IB_CL_DTYPE_BF16,
  /* storage only: int8 with one fp32 scale per output channel
   * (symmetric); activations quantised per row at run time */
  IB_CL_DTYPE_Q8,
} IbClDtype;

gsize ib_cl_dtype_size (IbClDtype dtype);
const char *ib_cl_dtype_name (IbClDtype dtype);

/* A linear layer's weight W[n,k] (torch nn.Linear layout) and optional bias
 * [n], packed once for the device's GEMM backend. Immutable after creation
 * and shareable by every queue of the device. */
typedef struct _IbClWeight IbClWeight;

/* Whether @dev can store linear weights as @storage (every device: F32 and
 * F16; BF16 and Q8: CPU devices sharing host memory, in builds with
 * oneDNN). @native (may be NULL) tells whether the CPU has the matching
 * dot-product instructions (AVX512-BF16, VNNI); without them oneDNN
 * emulates and is slow. FALSE with @error saying why otherwise. */
gboolean ib_cl_gemm_supports (IbClDevice *dev, IbClDtype storage,
    gboolean *native, GError **error);

/* Packs @w ([n,k] row-major, dtype @src: F32, F16 or BF16) into the
 * backend's layout, stored as @storage (see ib_cl_gemm_supports). @bias
 * ([n], dtype @src) may be NULL; F16 storage rounds it to fp16 as well (kept
 * as f32). Host memory holds at most the packed copy,
 * which is the device buffer itself on CPU devices. (transfer full) */
IbClWeight *ib_cl_weight_new (IbClDevice *dev, const void *w, IbClDtype src,
    int n, int k, const void *bias, IbClDtype storage, GError **error);
void ib_cl_weight_free (IbClWeight *w);
int ib_cl_weight_get_n (const IbClWeight *w);
int ib_cl_weight_get_k (const IbClWeight *w);
/* Device bytes used by the packed weight and bias. */
gsize ib_cl_weight_get_bytes (const IbClWeight *w);

/* C[m,n] = A[m,k] · Wᵀ + bias (+ R[m,n] when @residual is not NULL).
 * A, R and C are row-major and dense; C may be R (in-place residual) but
 * never A. m == 1 runs the GEMV kernel. */
void ib_cl_linear (IbClQueue *q, const IbClBuffer *a, const IbClWeight *w,
    const IbClBuffer *residual, IbClBuffer *c, int m);

/* The same on row ranges: A rows from @a_row, C (and R) rows from @c_row,
 * e.g. one frame of a video's image embeddings or the last position. */
void ib_cl_linear_rows (IbClQueue *q, const IbClBuffer *a, int a_row,
    const IbClWeight *w, const IbClBuffer *residual, IbClBuffer *c, int c_row,
    int m);

/* A strided row-major matrix inside a buffer: element (r, c) of batch b is
 * at offset + b * stride + r * ld + c (all in floats). */
typedef struct
{
  const IbClBuffer *buf;
  gsize offset;
  int ld;
  gsize stride;
} IbClMatrix;

/* For b < batch: C_b[m,n] = alpha · A_b[m,k] · (trans_b ? B_bᵀ : B_b),
 * where B_b is [n,k] when trans_b and [k,n] otherwise. The attention
 * products: scores = Q_h K_hᵀ (trans_b) and context = P_h V_h. */
void ib_cl_gemm_batched (IbClQueue *q, gboolean trans_b, int m, int n, int k,
    float alpha, IbClMatrix a, IbClMatrix b, IbClMatrix c, int batch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (IbClWeight, ib_cl_weight_free)

G_END_DECLS
