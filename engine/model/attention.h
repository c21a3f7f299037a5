/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Multi-head scaled dot-product attention from the device layer's products:
 * per head h, ctx_h = softmax(scale · Q_h K_hᵀ + bias_h + mask) V_h. */
#pragma once

#include "ops.h"

G_BEGIN_DECLS

typedef struct
{
  int n_heads;
  int head_dim;
  float scale; /* 1/sqrt(head_dim); T5: 1 */
  const IbClBuffer *bias; /* [bias_batch, lq, lk] additive, or NULL */
  int bias_batch;
  const IbClBuffer *key_mask; /* [lk] additive, or NULL */
  int causal_offset; /* < 0: not causal */
  /* the products' precision (ib_cl_gemm_batched): the model's linear
   * weights' storage; 0 (F32) is the exact path */
  IbClDtype precision;
} IbAttention;

/* @q, @k, @v: matrices whose rows are tokens and whose head h occupies
 * columns [h·head_dim, (h+1)·head_dim) (ld = row stride, e.g. 3·hidden in a
 * fused qkv buffer; stride is ignored). @scores: [n_heads, lq, lk] scratch.
 * @ctx: [lq, n_heads·head_dim] output (ld as given). */
void ib_attention (IbClQueue *q, const IbAttention *a, IbClMatrix qm,
    IbClMatrix km, IbClMatrix vm, int lq, int lk, IbClBuffer *scores,
    IbClMatrix ctx);

/* TRUE where ib_cl_attention_rows gives decode rows what ib_attention
 * (fp32 precision) gives them one by one: where the batched products are
 * the project's own kernels (not CLBlast's, whose blocking depends on the
 * shape). The batched decode steps then attend all of a sequence's rows in
 * one launch. */
gboolean ib_attention_rows_supported (IbClQueue *q);

/* Raises *@need to the queue scratch ib_attention needs for up to @lq_max
 * queries and @lk_max keys (ib_cl_gemm_batched_scratch). */
gboolean ib_attention_scratch (IbClDevice *dev, const IbAttention *a,
    int lq_max, int lk_max, gsize *need, GError **error);

G_END_DECLS
