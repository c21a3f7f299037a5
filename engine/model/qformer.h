/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The instruction-aware Q-Former: learned queries and instruction tokens in
 * BERT self-attention, cross-attention from the query rows to the image
 * embeddings every cross_attention_frequency layers, separate query and text
 * feed-forward weights, post-LN; then the language projection. */
#pragma once

#include "ib-config.h"
#include "loader.h"

G_BEGIN_DECLS

typedef struct _IbQFormer IbQFormer;

/* Loads query_tokens, qformer.* and language_projection.*. @text_hidden is
 * the LLM width the projection maps to. (transfer full) */
IbQFormer *ib_qformer_new (IbLoader *l, const IbQFormerConfig *cfg, int n_query,
    int text_hidden, GError **error);
void ib_qformer_free (IbQFormer *qf);

int ib_qformer_get_n_query (const IbQFormer *qf);
/* Most instruction tokens a question may have (max_position_embeddings). */
int ib_qformer_get_max_text (const IbQFormer *qf);

typedef struct _IbQFormerScratch IbQFormerScratch;

/* @n_image: image tokens per frame (ViT tokens). */
gsize ib_qformer_scratch_footprint (const IbQFormer *qf, const IbClDevice *dev,
    int n_image);
IbQFormerScratch *ib_qformer_scratch_new (const IbQFormer *qf, IbClArena *arena,
    int n_image, GError **error);
void ib_qformer_scratch_free (IbQFormerScratch *s);

/* Raises *@need to the queue scratch a frame's products need with
 * @n_image image tokens (ib_cl_queue_reserve_scratch). */
gboolean ib_qformer_product_scratch (const IbQFormer *qf, IbClDevice *dev,
    int n_image, gsize *need, GError **error);

/* Uploads the instruction's Q-Former ids ([CLS] ... [SEP], at most
 * max_text): they serve every frame until the next call. */
void ib_qformer_set_instruction (const IbQFormer *qf, IbClQueue *q,
    IbQFormerScratch *s, const gint32 *ids, int n_ids);

/* One frame: image embeddings @image rows [n_image, vision hidden] from row
 * @image_row → query outputs [n_query, qformer hidden] into @query_out from
 * row @out_row (may be NULL), and the projected soft tokens [n_query,
 * text_hidden] into @soft from row @out_row. */
void ib_qformer_forward (const IbQFormer *qf, IbClQueue *q, IbQFormerScratch *s,
    const IbClBuffer *image, int image_row, IbClBuffer *query_out,
    IbClBuffer *soft, int out_row);

/* Several (frame, instruction) sequences in one pass (questions set up
 * together): every layer's products over the rows of all sequences
 * (ib_cl_linear_segments), self-attention per sequence, cross-attention
 * per sequence to its own frame. Each sequence's soft tokens are bit for
 * bit those ib_qformer_forward gives it alone. */
typedef struct
{
  const gint32 *ids; /* the instruction's Q-Former ids [n_ids] */
  int n_ids;
  const IbClBuffer *image; /* the frame's embeddings from row image_row */
  int image_row;
  IbClBuffer *soft; /* its soft tokens [n_query, text_hidden] go here */
  int out_row;
} IbQFormerSeq;

typedef struct _IbQFormerMany IbQFormerMany;

/* Instruction tokens a pass of up to @max_seqs sequences holds beyond one
 * sequence's most (max_position_embeddings): this many per sequence. */
#define IB_QFORMER_MANY_TEXT_TOKENS 32

/* Instruction rows of a pass of @max_seqs sequences: at least one
 * sequence's most, at least IB_QFORMER_MANY_TEXT_TOKENS per sequence. */
int ib_qformer_many_text_rows (const IbQFormer *qf, int max_seqs);
gsize ib_qformer_many_footprint (const IbQFormer *qf, const IbClDevice *dev,
    int n_image, int max_seqs);
IbQFormerMany *ib_qformer_many_new (const IbQFormer *qf, IbClArena *arena,
    int n_image, int max_seqs, GError **error);
void ib_qformer_many_free (IbQFormerMany *s);
/* Raises *@need to the queue scratch of such passes. */
gboolean ib_qformer_many_scratch (const IbQFormer *qf, IbClDevice *dev,
    int n_image, int max_seqs, gsize *need, GError **error);
/* How many of @seqs, from the first, fit one pass (>= 1 for n >= 1). */
int ib_qformer_many_fit (const IbQFormerMany *s, const IbQFormerSeq *seqs,
    int n);
/* One pass over @n sequences (at most ib_qformer_many_fit of them). */
void ib_qformer_forward_many (const IbQFormer *qf, IbClQueue *q,
    IbQFormerMany *s, const IbQFormerSeq *seqs, int n);

G_END_DECLS
