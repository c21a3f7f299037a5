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

G_END_DECLS
