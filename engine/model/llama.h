/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LLaMA / Vicuna decoder with a KV cache: RMSNorm, rotate-half RoPE, causal
 * multi-head attention, SiLU-gated MLP, untied lm_head. Beams are rows of
 * one batch, each with its own cache. */
#pragma once

#include "ib-config.h"
#include "loader.h"

G_BEGIN_DECLS

typedef struct _IbLlama IbLlama;

/* Loads language_model.* (transfer full). */
IbLlama *ib_llama_new (IbLoader *l, const IbTextConfig *cfg, GError **error);
void ib_llama_free (IbLlama *llm);

/* Per-stream state: KV caches for @n_beams sequences of up to @n_ctx
 * positions, activations, logits. */
typedef struct _IbLlamaState IbLlamaState;

gsize ib_llama_state_footprint (const IbLlama *llm, const IbClDevice *dev,
    int n_ctx, int n_beams);
IbLlamaState *ib_llama_state_new (const IbLlama *llm, IbClArena *arena,
    int n_ctx, int n_beams, GError **error);
void ib_llama_state_free (IbLlamaState *st);

/* Raises *@need to the queue scratch the products of a state of @n_ctx
 * positions and @n_beams beams need (ib_cl_queue_reserve_scratch). */
gboolean ib_llama_product_scratch (const IbLlama *llm, IbClDevice *dev,
    int n_ctx, int n_beams, gsize *need, GError **error);

/* The input rows of a prefill: [n_ctx, hidden]. Callers write embeddings
 * here (ib_llama_embed, soft tokens) before ib_llama_prefill. */
IbClBuffer *ib_llama_state_input (IbLlamaState *st);
/* Logits of the last step: [n_beams, vocab] (prefill: row 0). */
IbClBuffer *ib_llama_state_logits (IbLlamaState *st);

/* Token embeddings of @ids into rows [row, row + n) of the input. */
void ib_llama_embed (const IbLlama *llm, IbClQueue *q, IbLlamaState *st,
    const gint32 *ids, int n, int row);

/* Runs the @n input rows (positions 0 .. n-1) through the decoder into beam
 * 0's cache; logits of the last position into row 0 of the logits. */
void ib_llama_prefill (const IbLlama *llm, IbClQueue *q, IbLlamaState *st,
    int n);

/* One token for each of @n_beams beams at position @pos (the cache holds
 * positions < pos): logits [n_beams, vocab]. */
void ib_llama_decode (const IbLlama *llm, IbClQueue *q, IbLlamaState *st,
    const gint32 *ids, int n_beams, int pos);

/* Beam b takes over the cache of beam src[b] for positions < @len. */
void ib_llama_reorder (const IbLlama *llm, IbClQueue *q, IbLlamaState *st,
    const int *src, int n_beams, int len);

/* Several sequences decoded in one step (continuous batching): the rows of
 * all their beams go through each layer's products together, attention
 * reads each sequence's own cache at its own position. */
typedef struct
{
  IbLlamaState *st; /* the sequence's caches */
  const gint32 *ids; /* [n_beams] */
  int n_beams;
  int pos; /* the position of this step (the cache holds < pos) */
} IbLlamaSeq;

/* A prompt prefilled in a batched step (ib_llama_step_many): its rows are
 * @n_soft soft tokens from @soft [n_soft, hidden] in rows 0 .. n_soft, and
 * @ids embedded from row @first_id_row (0 when the soft tokens replace
 * placeholder ids, n_soft when they are prepended), as ib_llama_embed and
 * ib_context's prefill lay them out. */
typedef struct
{
  IbLlamaState *st; /* the sequence's caches: beam 0 from position 0 */
  const gint32 *ids;
  int n_ids;
  int first_id_row;
  const IbClBuffer *soft;
  int n_soft;
} IbLlamaPrompt;

/* Activations for @rows rows of one batched step (decoding rows and prompt
 * rows), logits for @logit_rows of them, without caches. */
gsize ib_llama_rows_footprint (const IbLlama *llm, const IbClDevice *dev,
    int rows, int logit_rows);
IbLlamaState *ib_llama_rows_new (const IbLlama *llm, IbClArena *arena, int rows,
    int logit_rows, GError **error);
/* Adds to *@need the product scratch of one batched step of @rows rows
 * whose sequences' caches hold up to @n_ctx positions and whose prompts
 * have up to @prompt_rows rows (0: none; the queue that runs
 * ib_llama_step_many reserves it). */
gboolean ib_llama_rows_scratch (const IbLlama *llm, IbClDevice *dev, int rows,
    int n_ctx, int prompt_rows, gsize *need, GError **error);

/* One step of @n sequences on @rows (from ib_llama_rows_new): logits of
 * sequence s's beams in consecutive rows of ib_llama_state_logits (@rows),
 * the sequences in order. Each row's logits are bit for bit those
 * ib_llama_decode gives the sequence alone (ib_cl_linear_segments). */
void ib_llama_decode_many (const IbLlama *llm, IbClQueue *q, IbLlamaState *rows,
    const IbLlamaSeq *seqs, int n);

/* The same step with the prefill of @n_prompts prompts in the same pass:
 * their rows after the decoding rows, products over all rows (one segment
 * per sequence and per prompt), attention per prompt in its own cache
 * with its own causal mask. The logits of each prompt's last position
 * follow the sequences' rows, one row per prompt, bit for bit those
 * ib_llama_prefill gives the prompt alone; its caches hold what
 * ib_llama_prefill leaves there. */
void ib_llama_step_many (const IbLlama *llm, IbClQueue *q, IbLlamaState *rows,
    const IbLlamaSeq *seqs, int n, const IbLlamaPrompt *prompts, int n_prompts);

int ib_llama_get_vocab (const IbLlama *llm);

G_END_DECLS
