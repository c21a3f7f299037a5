/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host launchers, one per kernel family, for the operations InstructBLIP
 * needs besides matrix products. All tensors are dense row-major fp32 unless
 * stated; every call enqueues on @q without waiting and records failures in
 * the queue's sticky error (queue.h): shapes that do not fit their buffers,
 * or indices past 2^31 - 1 elements, are IB_CL_ERROR_INVALID_ARG. Empty
 * shapes do nothing. In-place use (y == x) is allowed where noted.
 *
 * Numerics follow PyTorch/transformers fp32 (the kernel files give the math):
 * exact erf GELU, no relaxed math. Row-wise ops (norms, softmaxes, argmax)
 * run one work-group per row: one work-item on CPU devices, 64 on GPUs (tests
 * force either path through queue-private.h). */
#pragma once

#include "gemm.h"
#include "kernel-defs.h" /* IB_ATT_* */

G_BEGIN_DECLS

typedef enum
{
  IB_CL_ACT_GELU, /* exact: 0.5 x (1 + erf(x / sqrt 2)) */
  IB_CL_ACT_SILU, /* x · sigmoid(x) */
} IbClActivation;

/* y[r,:] = (x[r,:] - mean) / sqrt(var + eps) · w + b, over @dim, biased
 * variance (torch LayerNorm). @b may be NULL (no bias). y may be x. */
void ib_cl_layernorm (IbClQueue *q, const IbClBuffer *x, const IbClBuffer *w,
    const IbClBuffer *b, IbClBuffer *y, int rows, int dim, float eps);

/* y[r,:] = x[r,:] · rsqrt(mean(x²) + eps) · w (LLaMA RMSNorm, T5 LayerNorm).
 * y may be x. */
void ib_cl_rmsnorm (IbClQueue *q, const IbClBuffer *x, const IbClBuffer *w,
    IbClBuffer *y, int rows, int dim, float eps);

/* y[i] = act(x[i]) for i < n. y may be x. */
void ib_cl_activate (IbClQueue *q, IbClActivation act, const IbClBuffer *x,
    IbClBuffer *y, gsize n);

/* Gated products on a fused [rows, 2f] input holding gate | up per row:
 * y[r,j] = act(gu[r,j]) · gu[r,f+j] (LLaMA SiLU MLP, T5 gated GELU). */
void ib_cl_gated (IbClQueue *q, IbClActivation act, const IbClBuffer *gu,
    IbClBuffer *y, int rows, int f);

/* y[i] = a[i] + b[i] for i < n (residual add). y may be a or b. */
void ib_cl_add (IbClQueue *q, const IbClBuffer *a, const IbClBuffer *b,
    IbClBuffer *y, gsize n);

/* x[r,:] += bias[:] in place. */
void ib_cl_add_bias (IbClQueue *q, IbClBuffer *x, const IbClBuffer *bias,
    int rows, int dim);

/* Row-wise softmax in place over x viewed as [batch, rows, cols]:
 * x[b,r,:] = softmax(scale · x[b,r,:] + bias[b % bias_batch, r, :] + mask)
 * where @bias ([bias_batch, rows, cols], may be NULL; bias_batch is then
 * ignored) is an additive bias (T5 position bias) and @key_mask ([cols],
 * may be NULL) an additive key mask (0 or a large negative, as the
 * reference builds it). Key c is masked, and gets exactly 0, when
 * key_mask[c] <= -1e30 (-inf, or torch.finfo(float32).min as HF builds
 * masks; smaller penalties such as -10000 are only added), or when
 * causal_offset >= 0 and c > r + causal_offset (the number of cached
 * positions before row 0). Fully masked rows give zeros, never NaN. */
void ib_cl_softmax (IbClQueue *q, IbClBuffer *x, int batch, int rows, int cols,
    float scale, const IbClBuffer *bias, int bias_batch,
    const IbClBuffer *key_mask, int causal_offset);

/* Rotate-half RoPE in place (GPT-NeoX / HF LLaMA layout) on x viewed as
 * [rows, n_head, head_dim] starting at float @offset, with row stride @ld
 * floats (>= n_head · head_dim): position p = pos_offset + r, inv_freq_j =
 * theta^(-2j/head_dim), x' = x·cos + rotate_half(x)·sin, rotate_half(x) =
 * [-x2, x1]. inv_freq and the angles p · inv_freq are fp32 as in HF (the
 * host computes inv_freq). head_dim is even and at most 256
 * (IB_CL_ERROR_UNSUPPORTED above). */
void ib_cl_rope (IbClQueue *q, IbClBuffer *x, gsize offset, int rows,
    int n_head, int head_dim, int ld, int pos_offset, float theta);

/* The same with row r at position @positions[r] (int32, >= 0): the rows of
 * several sequences decoded in one step, each row bit for bit as
 * ib_cl_rope gives it at its position. */
void ib_cl_rope_rows (IbClQueue *q, IbClBuffer *x, gsize offset, int rows,
    int n_head, int head_dim, int ld, const IbClBuffer *positions, float theta);

/* T5 relative position bias: out[h,r,c] = table[bucket(c - (r + q_offset)),
 * h] for out [heads, rows, cols] and table [num_buckets, heads] (as stored
 * by HF: relative_attention_bias.weight). Bidirectional (encoder) or causal
 * (decoder) bucketing as HF's _relative_position_bucket, bucket for bucket
 * (fp32 log, truncation). Needs max_distance > the exact-bucket count
 * (num_buckets / 4 bidirectional, / 2 causal), which must be >= 1. */
void ib_cl_t5_position_bias (IbClQueue *q, const IbClBuffer *table,
    IbClBuffer *out, int heads, int rows, int cols, int q_offset,
    gboolean bidirectional, int num_buckets, int max_distance);

/* out[i,:] = table[ids[i],:] for i < n; @table [vocab, dim] stored as
 * @dtype (F32, F16 or BF16, widened exactly), @ids an int32 buffer. Ids
 * outside [0, vocab) give a zero row (callers validate ids on the host). */
void ib_cl_embed (IbClQueue *q, const IbClBuffer *table, IbClDtype dtype,
    int vocab, const IbClBuffer *ids, IbClBuffer *out, int n, int dim);

/* Patches of a [channels, height, width] image for a stride-@patch
 * convolution with a [out, channels, patch, patch] kernel, as a GEMM input:
 * out[(py·(width/patch) + px), (c·patch + ky)·patch + kx]. */
void ib_cl_im2col_patch (IbClQueue *q, const IbClBuffer *img, IbClBuffer *out,
    int channels, int height, int width, int patch);

/* out[i] = (float) in[i] for i < n, @in stored as F16 or BF16 (or F32: a
 * copy). */
void ib_cl_convert_to_f32 (IbClQueue *q, const IbClBuffer *in, IbClDtype dtype,
    IbClBuffer *out, gsize n);

/* The sequences of one ib_cl_attention_rows launch and its row table. */
typedef struct
{
  /* sequence i's keys, values and bias (or NULL: none; all or none), i <
   * n_seqs <= IB_ATT_MAX_SEQS (kernel-defs.h) */
  const IbClBuffer *k[IB_ATT_MAX_SEQS], *v[IB_ATT_MAX_SEQS],
      *bias[IB_ATT_MAX_SEQS];
  int n_seqs;
  int kv_ld; /* floats between two positions of K and of V */
  const IbClBuffer *table; /* int32 [rows][IB_ATT_ROW_INTS] on the device */
  const gint32 *host_table; /* the same entries on the host (checks) */
  int table_row; /* the launch's first row's entry */
  int n_heads, head_dim;
  float scale;
  /* >= 0: the columns of each query row holding its new key and value,
   * written to its cache at position len - 1 first; < 0: none */
  int append_k, append_v;
} IbClAttentionRows;

/* Decode attention of @rows query rows of @qm (row r at offset + r·ld,
 * head h h·head_dim floats in), each with its own keys, values, length and
 * bias (table entry table_row + r, kernel-defs.h IB_ATT_ROW_*), in one
 * launch: ctx row r (ctx offset + r·ld) is, bit for bit, what
 * ib_cl_gemm_batched (own kernels, fp32), ib_cl_softmax and
 * ib_cl_gemm_batched give that row alone. Takes the queue's scratch
 * (ib_cl_attention_rows_scratch) for the scores. */
void ib_cl_attention_rows (IbClQueue *q, const IbClAttentionRows *a,
    IbClMatrix qm, int rows, IbClMatrix ctx);

/* Raises *@need to the queue scratch of ib_cl_attention_rows over up to
 * @rows rows of @n_heads heads and up to @max_len keys. */
void ib_cl_attention_rows_scratch (int rows, int n_heads, int max_len,
    gsize *need);

/* Row-wise log-softmax in place over [rows, cols] (vocabulary rows):
 * x - max - log Σ exp(x - max), in torch's order. */
void ib_cl_log_softmax (IbClQueue *q, IbClBuffer *x, int rows, int cols);

/* out[r] = index of the largest x[r,:] (first one on ties), int32. NaN
 * entries are ignored. */
void ib_cl_argmax (IbClQueue *q, const IbClBuffer *x, IbClBuffer *out, int rows,
    int cols);

/* dst[dst_off + r·dst_ld + c] = src[src_off + r·src_ld + c] for r < rows,
 * c < cols (floats): slices, concatenation, KV-cache appends. Both strides
 * are >= cols; the two regions must not overlap. */
void ib_cl_copy_rows (IbClQueue *q, const IbClBuffer *src, gsize src_off,
    int src_ld, IbClBuffer *dst, gsize dst_off, int dst_ld, int rows, int cols);

G_END_DECLS
