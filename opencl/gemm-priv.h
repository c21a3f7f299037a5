/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared between gemm.c, gemm-clblast.c and device.c. */
#pragma once

#include "gemm.h"
#include "kernel-defs.h" /* the OWN backend's tiles: IB_CL_GEMM_MR, _NR */

G_BEGIN_DECLS

/* CLBlast: parameters for devices its tuning database does not know, and the
 * calls. Only gemm-clblast.c includes clblast_c.h. */
gboolean ib_cl_clblast_setup (IbClDevice *dev, GError **error);
void ib_cl_clblast_sgemm (IbClQueue *q, gboolean trans_b, int m, int n, int k,
    float alpha, const IbClBuffer *a, gsize a_off, int lda, const IbClBuffer *b,
    gsize b_off, int ldb, float beta, IbClBuffer *c, gsize c_off, int ldc);
/* C16[m,n] = A16[m,k] · B16[k,n], all fp16 and dense row-major (B: a
 * [K,N] weight), offsets in halves. CLBlast's HGEMM also sums in fp16. */
void ib_cl_clblast_hgemm (IbClQueue *q, int m, int n, int k,
    const IbClBuffer *a, gsize a_off, const IbClBuffer *b, IbClBuffer *c,
    gsize c_off);
void ib_cl_clblast_sgemm_batched (IbClQueue *q, gboolean trans_b, int m, int n,
    int k, float alpha, IbClMatrix a, IbClMatrix b, IbClMatrix c, int batch);

/* oneDNN (gemm-dnnl.c; gemm-dnnl-none.c in builds without it): bf16 and
 * q8 weights packed in oneDNN's preferred layout, and the product on the
 * host memory of @a, @residual and @c (device sharing host memory), after
 * one clFinish. Errors go to the queue's sticky error. */
typedef struct _IbClDnnlWeight IbClDnnlWeight;

gboolean ib_cl_dnnl_check (IbClDtype storage, gboolean *native, GError **error);
IbClDnnlWeight *ib_cl_dnnl_weight_new (IbClDevice *dev, const void *w,
    IbClDtype src, int n, int k, const void *bias, IbClDtype storage,
    GError **error);
void ib_cl_dnnl_weight_free (IbClDnnlWeight *w);
/* ib_cl_weight_export / _new_packed for oneDNN weights: @desc gets the
 * layout; blocks are the packed data, then bias, scale, column sums as
 * present. */
gboolean ib_cl_dnnl_weight_export (const IbClDnnlWeight *w, GByteArray *desc,
    IbClWeightBlock *blocks, guint *n_blocks, GError **error);
/* oneDNN's version and instruction set ("none" without oneDNN). */
char *ib_cl_dnnl_layout_key (void);
gboolean ib_cl_dnnl_weight_has_bias (const IbClDnnlWeight *w);
/* The blocks of a packed weight in a mapped file (ib_cl_weight_new_mapped),
 * in the order ib_cl_weight_export gives them; NULL: new memory. */
typedef struct
{
  GBytes *map;
  const IbClWeightBlock *blocks; /* inside @map */
  guint n_blocks;
} IbClMappedBlocks;

/* A block of @size bytes of a packed weight as a read-only buffer: new
 * host memory the caller fills (@src NULL), or block @i of @src in place
 * (its size checked). */
IbClBuffer *ib_cl_packed_block (IbClDevice *dev, const IbClMappedBlocks *src,
    guint i, gsize size, GError **error);

IbClDnnlWeight *ib_cl_dnnl_weight_new_packed (IbClDevice *dev, int n, int k,
    IbClDtype storage, gboolean has_bias, const void *desc, gsize desc_len,
    const IbClMappedBlocks *src, IbClWeightBlock *blocks, guint *n_blocks,
    GError **error);

gsize ib_cl_dnnl_weight_get_bytes (const IbClDnnlWeight *w);
/* C rows [c_off/n, +m) = A · Wᵀ + bias (+ R); offsets in floats. m == 1
 * runs an OpenCL GEMV on the packed weight where its layout is known
 * (kernels/gemv_blocked.cl), without synchronising. */
void ib_cl_dnnl_linear (IbClQueue *q, const IbClBuffer *a, gsize a_off,
    const IbClDnnlWeight *w, const IbClBuffer *residual, IbClBuffer *c,
    gsize c_off, int m);
/* Whether the product of @m rows on @w can apply GELU in its epilogue (q8,
 * not the one-row GEMV), and that product: C rows = GELU (A · Wᵀ + bias),
 * the host's GELU (gemm-dnnl.c: gelu_row) on the epilogue's fp32 values. */
gboolean ib_cl_dnnl_fuses_gelu (const IbClDnnlWeight *w, int m);
void ib_cl_dnnl_linear_gelu (IbClQueue *q, const IbClBuffer *a, gsize a_off,
    const IbClDnnlWeight *w, IbClBuffer *c, gsize c_off, int m);

/* Attention's batched products (ib_cl_gemm_batched) in bf16 on the
 * buffers' host memory, after one clFinish. */
void ib_cl_dnnl_gemm_batched (IbClQueue *q, gboolean trans_b, int m, int n,
    int k, float alpha, IbClMatrix a, IbClMatrix b, IbClMatrix c, int batch);
/* The same with A = softmax (P) by rows, P dense scores softmaxed in place
 * on the host on their way to bf16 (ib_cl_softmax_gemm_batched). */
void ib_cl_dnnl_softmax_gemm_batched (IbClQueue *q, int m, int n, int k,
    IbClMatrix p, IbClMatrix b, IbClMatrix c, int batch);

/* TRUE when single rows (decode) of @w run the OpenCL GEMV on oneDNN's
 * packed layout rather than oneDNN itself (tests). */
gboolean ib_cl_dnnl_weight_has_gemv (const IbClDnnlWeight *w);
gboolean ib_cl_weight_has_blocked_gemv (const IbClWeight *w);
/* Sends single rows of @w through oneDNN from now on (the benchmark's
 * comparison); call before any queue uses @w. */
void ib_cl_dnnl_weight_disable_gemv (IbClDnnlWeight *w);
void ib_cl_weight_disable_blocked_gemv (IbClWeight *w);

/* Around every kernel enqueue (ib_cl_launch_run, CLBlast calls): on a
 * device with IbClDeviceInfo.serial_queues, waits until no other queue has
 * kernels in flight and keeps it so until the matching
 * ib_cl_queue_launch_unlock (process-wide: PoCL's cache is). */
void ib_cl_queue_launch_lock (IbClQueue *q);
void ib_cl_queue_launch_unlock (IbClQueue *q);


/* Scratch needs of the oneDNN products (see ib_cl_linear_scratch). */
gboolean ib_cl_dnnl_linear_scratch (const IbClDnnlWeight *w, int m_max,
    gsize *need, GError **error);
gboolean ib_cl_dnnl_batched_scratch (gboolean trans_b, int m_max, int n, int k,
    float alpha, int batch, gboolean dense_c, gsize *need, GError **error);

/* The queue's scratch (ib_cl_queue_reserve_scratch) when it holds @size
 * bytes; else NULL and an error in the queue. (transfer none) */
IbClBuffer *ib_cl_queue_scratch (IbClQueue *q, gsize size);

G_END_DECLS
