/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Matrix products: linear layers on weights packed once at load (GEMM for
 * many rows, GEMV for one) and strided-batched products for attention.
 *
 * Two backends behind one interface, chosen per device (device.h):
 * - OWN (CPU devices such as PoCL): weights re-laid out into column panels
 *   [ceil(N/32)][K][32], fp32 or fp16; each work-item computes a 6x32 tile
 *   with float16 vectors, work-groups of one work-item (docs/gemm-pocl.md).
 * - CLBLAST (GPUs): weights stored [K,N] (CLBlast's fast NN case) as
 *   fp32, fp16, bf16 or q8; fp32 prefill through CLBlastSgemm, fp16 through
 *   CLBlastHgemm where the device has cl_khr_fp16, everything else (and
 *   every decode GEMV) through our kernels, which widen each weight in
 *   registers and sum in fp32 (kernels/gemm_gpu.cl).
 * bf16 and q8 weights on CPU devices (builds with oneDNN) go through oneDNN
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
 * F16; BF16 and Q8: CPU devices in builds with oneDNN, and GPUs on the
 * CLBlast backend). @native (may be NULL) tells whether the device has
 * arithmetic for it: on CPUs the dot-product instructions (AVX512-BF16,
 * VNNI), without which oneDNN emulates and is slow; on GPUs FALSE for BF16
 * (widened to fp32, no faster than F16). FALSE with @error saying why
 * otherwise. */
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
IbClDtype ib_cl_weight_get_storage (const IbClWeight *w);
/* Device bytes used by the packed weight and bias. */
gsize ib_cl_weight_get_bytes (const IbClWeight *w);

/* A packed weight as bytes, for a cache of packed weights (devices whose
 * buffers are host memory the host addresses: CPU devices). The
 * descriptor says the backend, storage, shape and layout (oneDNN's
 * blocked layout included); the blocks are the weight's own memory. */
#define IB_CL_WEIGHT_MAX_BLOCKS 4

typedef struct
{
  guint8 *data;
  gsize size;
} IbClWeightBlock;

/* *@desc (transfer full) and @blocks[0 .. *@n_blocks) (transfer none: the
 * weight's memory). FALSE with @error on devices whose buffers the host
 * cannot address. */
gboolean ib_cl_weight_export (const IbClWeight *w, GBytes **desc,
    IbClWeightBlock blocks[IB_CL_WEIGHT_MAX_BLOCKS], guint *n_blocks,
    GError **error);

/* What decides the packed layout of @storage weights on @dev besides
 * the weight itself: the device (platform, name, OpenCL and driver
 * versions), backend, tiles, packing revision, oneDNN's version and
 * instruction set. Part of a packed-weights cache's key.
 * (transfer full) */
char *ib_cl_weight_layout_key (IbClDevice *dev, IbClDtype storage);

/* A weight laid out as @desc says (from ib_cl_weight_export by this build
 * on a device like @dev) whose @blocks[0 .. *@n_blocks) the caller fills
 * with the exported bytes before the weight is used; no conversion. NULL
 * with @error when @desc is malformed or does not fit @dev (another
 * backend, another layout than oneDNN picks here, a device whose buffers
 * the host cannot address). (transfer full) */
IbClWeight *ib_cl_weight_new_packed (IbClDevice *dev, const void *desc,
    gsize desc_len, IbClWeightBlock blocks[IB_CL_WEIGHT_MAX_BLOCKS],
    guint *n_blocks, GError **error);

/* The same weight using the exported bytes where they lie in @map, a
 * mapped file (@mapped[0 .. @n_mapped): its blocks in export order, at
 * page-aligned offsets), in place on devices whose buffers are host memory
 * (ib_cl_buffer_new_mapped: the weight keeps a reference to @map), copied
 * elsewhere. The block sizes must be those @desc implies. @blocks: where
 * the weight's bytes are (for checking them). (transfer full) */
IbClWeight *ib_cl_weight_new_mapped (IbClDevice *dev, const void *desc,
    gsize desc_len, GBytes *map, const IbClWeightBlock *mapped, guint n_mapped,
    IbClWeightBlock blocks[IB_CL_WEIGHT_MAX_BLOCKS], guint *n_blocks,
    GError **error);

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

/* The same over consecutive segments of rows (e.g. the beams of several
 * sequences decoded in one step): C rows [r, r + rows[s]) from A rows
 * [r, r + rows[s]) for each segment s in order. Each segment's rows come out
 * bit for bit as ib_cl_linear on that segment alone gives them: one product
 * over all rows where the backend's per-row result does not depend on the
 * number of rows (the own fp32/fp16 kernels, whose GEMV and GEMM sum K in
 * the same order); otherwise one product per segment (oneDNN; CLBlast for
 * beam segments), except that CLBlast runs consecutive one-row segments
 * in one multi-row GEMV that sums each row as its GEMV alone does. */
void ib_cl_linear_segments (IbClQueue *q, const IbClBuffer *a,
    const IbClWeight *w, const IbClBuffer *residual, IbClBuffer *c,
    const int *rows, int n_segments);

/* C = GELU (A · Wᵀ + bias) over the same segments (no residual), GELU's
 * exact form x · (1 + erf (x / √2)) / 2 (ops.h: IB_CL_ACT_GELU). q8 weights
 * on oneDNN apply it on the host in the product's epilogue, to the fp32
 * values the product alone gives, within 4.1e-7 relative of the exact
 * GELU (written with erfc: no 1 + erf cancelling for negative inputs; 0
 * below x = -13.1, where |GELU| < 2^-125); every other weight (and q8's one-row GEMV) runs the
 * product, then the OpenCL activation over all its rows, bit for bit as
 * those two calls. */
void ib_cl_linear_segments_gelu (IbClQueue *q, const IbClBuffer *a,
    const IbClWeight *w, IbClBuffer *c, const int *rows, int n_segments);

/* Whether @w's per-row results are independent of the number of rows
 * (see ib_cl_linear_segments). */
gboolean ib_cl_weight_rows_independent (const IbClWeight *w);

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
 * products: scores = Q_h K_hᵀ (trans_b) and context = P_h V_h.
 * @precision: F32 or F16 (the exact fp32 products, OpenCL kernels or
 * CLBlast), BF16 or Q8 (a model with such weights: oneDNN's bf16 × bf16 →
 * fp32 on the buffers' host memory, one clFinish per product; CPU devices,
 * builds with oneDNN, see ib_cl_gemm_supports). */
void ib_cl_gemm_batched (IbClQueue *q, IbClDtype precision, gboolean trans_b,
    int m, int n, int k, float alpha, IbClMatrix a, IbClMatrix b, IbClMatrix c,
    int batch);

/* For b < batch: C_b[m,n] = softmax (P_b) · B_b, the softmax over each
 * row of the dense scores P [batch][m][k] (ld k, stride m·k) without bias
 * or mask, in place as ib_cl_softmax (scale 1) leaves them, B_b [k,n]:
 * attention's second product. F32/F16 run ib_cl_softmax and then
 * ib_cl_gemm_batched, bit for bit those two calls; BF16 and Q8 (oneDNN)
 * softmax on the host on the way to the product's bf16 copy of P, one
 * clFinish for both and no OpenCL softmax. The scratch is
 * ib_cl_gemm_batched's for the same product. */
void ib_cl_softmax_gemm_batched (IbClQueue *q, IbClDtype precision, int m,
    int n, int k, IbClMatrix p, IbClMatrix b, IbClMatrix c, int batch);

/* Scratch sizing (ib_cl_queue_reserve_scratch): raise *@need to the bytes
 * of the queue's scratch that ib_cl_linear on @w with up to @m_max rows
 * needs, or ib_cl_gemm_batched with up to @m_max rows of A and at most
 * @n, @k (@dense_c: C is [batch][m][n] dense, as attention's scores).
 * oneDNN products are sized at @m_max and every power of two below it.
 * FALSE with @error when oneDNN cannot create the product. */
gboolean ib_cl_linear_scratch (const IbClWeight *w, int m_max, gsize *need,
    GError **error);
gboolean ib_cl_gemm_batched_scratch (IbClDevice *dev, IbClDtype precision,
    gboolean trans_b, int m_max, int n, int k, float alpha, int batch,
    gboolean dense_c, gsize *need, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (IbClWeight, ib_cl_weight_free)

G_END_DECLS
