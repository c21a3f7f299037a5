/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Flan-T5 encoder-decoder: RMS LayerNorm, unscaled attention with learned
 * relative position buckets, gated GELU feed-forward, cross-attention, a
 * decoder KV cache per beam, untied lm_head. */
#pragma once

#include "ib-config.h"
#include "loader.h"

G_BEGIN_DECLS

typedef struct _IbT5 IbT5;

IbT5 *ib_t5_new (IbLoader *l, const IbTextConfig *cfg, GError **error);
void ib_t5_free (IbT5 *t5);
int ib_t5_get_vocab (const IbT5 *t5);

typedef struct _IbT5State IbT5State;

/* @n_enc: most encoder positions; @n_dec: most decoder positions. */
gsize ib_t5_state_footprint (const IbT5 *t5, const IbClDevice *dev, int n_enc,
    int n_dec, int n_beams);
IbT5State *ib_t5_state_new (const IbT5 *t5, IbClArena *arena, int n_enc,
    int n_dec, int n_beams, GError **error);
void ib_t5_state_free (IbT5State *st);

/* Raises *@need to the queue scratch the products of a state of @n_enc
 * encoder and @n_dec decoder positions and @n_beams beams need
 * (ib_cl_queue_reserve_scratch). */
gboolean ib_t5_product_scratch (const IbT5 *t5, IbClDevice *dev, int n_enc,
    int n_dec, int n_beams, gsize *need, GError **error);

/* Encoder input rows [n_enc, d_model]: embeddings and soft tokens. */
IbClBuffer *ib_t5_state_input (IbT5State *st);
IbClBuffer *ib_t5_state_logits (IbT5State *st);

void ib_t5_embed (const IbT5 *t5, IbClQueue *q, IbT5State *st,
    const gint32 *ids, int n, int row);

/* Encodes the @n input rows and prepares every decoder layer's
 * cross-attention keys and values. */
void ib_t5_encode (const IbT5 *t5, IbClQueue *q, IbT5State *st, int n);

/* One decoder token per beam at position @pos: logits [n_beams, vocab]. */
void ib_t5_decode (const IbT5 *t5, IbClQueue *q, IbT5State *st,
    const gint32 *ids, int n_beams, int pos);

void ib_t5_reorder (const IbT5 *t5, IbClQueue *q, IbT5State *st, const int *src,
    int n_beams, int len);

/* Several sequences decoded in one step (continuous batching): the rows of
 * all their beams go through each decoder layer's products together;
 * self-attention reads each sequence's own cache at its own position,
 * cross-attention its own encoder output. */
typedef struct
{
  IbT5State *st; /* the sequence's caches and encoder output */
  const gint32 *ids; /* [n_beams] */
  int n_beams;
  int pos; /* the decoder position of this step (the cache holds < pos) */
} IbT5Seq;

/* Activations for @rows rows of one batched step, without caches. */
gsize ib_t5_rows_footprint (const IbT5 *t5, const IbClDevice *dev, int rows);
IbT5State *ib_t5_rows_new (const IbT5 *t5, IbClArena *arena, int rows,
    GError **error);
/* Raises *@need to the product scratch of one batched step of @rows rows
 * whose sequences have up to @n_beams beams, @n_enc encoder and @n_dec
 * decoder positions (the queue that runs ib_t5_decode_many reserves it). */
gboolean ib_t5_rows_scratch (const IbT5 *t5, IbClDevice *dev, int rows,
    int n_beams, int n_enc, int n_dec, gsize *need, GError **error);

/* One step of @n sequences on @rows (from ib_t5_rows_new): logits of
 * sequence s's beams in consecutive rows of ib_t5_state_logits (@rows), the
 * sequences in order. Each row's logits are bit for bit those ib_t5_decode
 * gives the sequence alone (ib_cl_linear_segments). */
void ib_t5_decode_many (const IbT5 *t5, IbClQueue *q, IbT5State *rows,
    const IbT5Seq *seqs, int n);

G_END_DECLS
