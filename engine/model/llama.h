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

int ib_llama_get_vocab (const IbLlama *llm);

G_END_DECLS
