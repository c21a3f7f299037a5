/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Multi-head attention: batched QKᵀ, masked softmax, batched PV. */
#include "attention.h"

void
ib_attention (IbClQueue *q, const IbAttention *a, IbClMatrix qm, IbClMatrix km,
    IbClMatrix vm, int lq, int lk, IbClBuffer *scores, IbClMatrix ctx)
{
  IbClMatrix sm = { scores, 0, lk, (gsize) lq * lk };

  /* heads are batches: head h starts h·head_dim columns in */
  qm.stride = km.stride = vm.stride = ctx.stride = a->head_dim;

  /* scores[h] = scale · Q_h K_hᵀ   [n_heads, lq, lk] */
  ib_cl_gemm_batched (q, a->precision, TRUE, lq, lk, a->head_dim, a->scale, qm,
      km, sm, a->n_heads);
  /* ctx_h = softmax (scores_h) V_h   [lq, head_dim] into columns of ctx,
   * in one step where nothing is added to the scores (the ViT) */
  if (a->bias == NULL && a->key_mask == NULL && a->causal_offset < 0) {
    ib_cl_softmax_gemm_batched (q, a->precision, lq, a->head_dim, lk, sm, vm,
        ctx, a->n_heads);
    return;
  }
  /* + position bias + key mask, causal, softmax over keys */
  ib_cl_softmax (q, scores, a->n_heads, lq, lk, 1.0f, a->bias, a->bias_batch,
      a->key_mask, a->causal_offset);
  /* ctx_h = P_h V_h   [lq, head_dim] into columns of ctx */
  ib_cl_gemm_batched (q, a->precision, FALSE, lq, a->head_dim, lk, 1.0f, sm, vm,
      ctx, a->n_heads);
}

gboolean
ib_attention_scratch (IbClDevice *dev, const IbAttention *a, int lq_max,
    int lk_max, gsize *need, GError **error)
{
  return ib_cl_gemm_batched_scratch (dev, a->precision, TRUE, lq_max, lk_max,
             a->head_dim, a->scale, a->n_heads, TRUE, need, error) &&
      ib_cl_gemm_batched_scratch (dev, a->precision, FALSE, lq_max, a->head_dim,
          lk_max, 1.0f, a->n_heads, FALSE, need, error);
}

gboolean
ib_attention_rows_supported (IbClQueue *q)
{
  /* as ib_cl_gemm_batched chooses for fp32 products */
  return ib_cl_device_get_gemm (ib_cl_queue_get_device (q)) !=
      IB_CL_GEMM_CLBLAST;
}
