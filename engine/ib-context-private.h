/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ib_context_answer in its parts, for IbBatch: the device half (Q-Former,
 * prompt, prefill) and the host half (decoding loop, text), with the
 * decoding steps of several contexts run as one batched step. */
#pragma once

#include "generate.h"
#include "ib-model-private.h"

G_BEGIN_DECLS

/* One answer in progress. */
typedef struct
{
  GArray *gen_prompt; /* gint32: the ids the decoding loop starts from */
  IbGenParams gp; /* eos_ids point into eos */
  gint32 eos[IB_MAX_EOS_IDS + 1];
  IbTimings t;
  gint64 t0; /* start of decoding */
} IbAnswerJob;

/* Checks @params, runs the Q-Former and the prefill on the current frames;
 * the logits after the prompt are then in ib_context_get_logits (), and
 * every beam's cache holds the prompt. */
gboolean ib_context_answer_begin (IbContext *ctx, const char *instruction,
    const IbGenerateParams *params, IbAnswerJob *job, GError **error);
/* The generated ids as text (host only): the answer. (transfer full) */
IbAnswer *ib_context_answer_end (IbContext *ctx, IbAnswerJob *job,
    GArray *out_ids, GError **error);
void ib_answer_job_clear (IbAnswerJob *job);

/* Host logits [max_beams, vocab] of the last prefill or step. */
float *ib_context_get_logits (IbContext *ctx);
int ib_context_get_max_beams (const IbContext *ctx);
/* Positions its caches hold (prompt and answer). */
int ib_context_get_n_ctx (const IbContext *ctx);

/* Device bytes a context with @params takes on @model (what
 * ib_context_new allocates); 0 with @error for invalid @params. */
gsize ib_context_footprint (IbModel *model, const IbContextParams *params,
    GError **error);

/* One decoding step of sequence i of @n: tokens[i] for its n_beams[i] beams
 * after reordering its beams by src[i] (NULL: none), logits into
 * logits[i] ([n_beams[i], vocab]). LLaMA: one batched step on @q with the
 * activations of @rows (ib_llama_rows_new, at least the sum of n_beams
 * rows); T5: one step after the other on each context's queue. Row for row
 * the logits of ib_context_answer's steps. errors[i] gets sequence i's
 * failure; FALSE if any failed. */
gboolean ib_context_step_many (IbContext *const *ctxs,
    const gint32 *const *tokens, const int *const *src, const int *n_beams,
    float *const *logits, int n, IbClQueue *q, IbLlamaState *rows,
    GError **errors);

G_END_DECLS
