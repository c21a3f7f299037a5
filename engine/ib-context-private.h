/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ib_context_answer in its parts, for IbBatch: the device half (Q-Former,
 * prompt, prefill) and the host half (decoding loop, text), with the
 * decoding steps of several contexts run as one batched step. */
#pragma once

#include "generate.h"
#include "ib-frame-cache.h"
#include "ib-model-private.h"

G_BEGIN_DECLS

/* One answer in progress. */
typedef struct
{
  GArray *gen_prompt; /* gint32: the ids the decoding loop starts from */
  GArray *prompt; /* gint32: the prompt's ids (placeholders included) */
  int n_ph; /* placeholder ids in it (0: the soft tokens are prepended) */
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

/* ib_context_set_frames in its parts, for IbBatch to encode the new frames
 * of several contexts in shared vision passes. The plan checks the frames,
 * takes those in the frame cache and claims slots for the others: it
 * returns how many frames need the vision encoder (their indices into
 * @todo, [max_frames]), -1 with @error. Each of them is then preprocessed
 * into @out [3, S, S] (ib_context_frame_pixels) and encoded into its
 * target (ib_context_frame_target), and ib_context_frames_done makes them
 * the context's frames (not called after a failure: the frames are then
 * unset and the claimed slots stay empty). */
int ib_context_frames_plan (IbContext *ctx, const IbImage *frames,
    const float *pixels, int n_frames, int *todo, GError **error);
gboolean ib_context_frame_pixels (IbContext *ctx, const IbImage *frames,
    const float *pixels, int f, float *out, GError **error);
/* Frame @f's identity (valid after the plan). */
const IbFrameKey *ib_context_frame_key (const IbContext *ctx, int f);
/* Where the vision encoder's rows [T, vision hidden] of frame @f go. */
void ib_context_frame_target (IbContext *ctx, int f, IbClBuffer **buf,
    gsize *offset);
void ib_context_frames_done (IbContext *ctx, int n_frames, const int *todo,
    int n_todo, double vision_ms);
int ib_context_get_max_frames (const IbContext *ctx);

/* The Q-Former half of ib_context_answer_begin, for IbBatch to run the
 * Q-Former of several questions in shared passes: the instruction's
 * Q-Former ids; where frame @f's image embeddings are (rows of the vision
 * width from @image_row) and where its soft tokens go (rows from
 * @soft_row); ib_context_soft_done says that the current frames' soft
 * tokens for @instruction are made, so that the next
 * ib_context_answer_begin or ib_context_rank with that instruction keeps
 * them (any other instruction, or new frames, forget it). */
gboolean ib_context_qformer_ids (IbContext *ctx, const char *instruction,
    GArray *ids, GError **error);
int ib_context_get_n_frames (const IbContext *ctx);
void ib_context_qformer_target (IbContext *ctx, int f, const IbClBuffer **image,
    int *image_row, IbClBuffer **soft, int *soft_row);
void ib_context_soft_done (IbContext *ctx, const char *instruction);

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

/* ib_context_step_many for T5 models: one batched decoder step of all @n
 * sequences on @q with the activations of @rows (ib_t5_rows_new, at least
 * the sum of n_beams rows). Row for row the logits of ib_context_answer's
 * steps. */
gboolean ib_context_step_many_t5 (IbContext *const *ctxs,
    const gint32 *const *tokens, const int *const *src, const int *n_beams,
    float *const *logits, int n, IbClQueue *q, IbT5State *rows,
    GError **errors);
/* Prefill in the batched steps (LLaMA): ib_context_answer_begin without
 * the prefill (checks, Q-Former, the prompt's ids into @job), then the
 * prompts of several such contexts prefilled in one batched step together
 * with the decoding step of others. */
gboolean ib_context_answer_prepare (IbContext *ctx, const char *instruction,
    const IbGenerateParams *params, IbAnswerJob *job, GError **error);
/* The rows of @job's prompt (soft tokens included), after the prepare. */
int ib_context_prompt_rows (const IbContext *ctx, const IbAnswerJob *job);
/* The most rows a prompt of this context may have. */
int ib_context_get_max_prompt_rows (const IbContext *ctx);
/* ib_context_step_many's step (LLaMA only) with the prompts of the
 * @n_prompts prepared @jobs on @pctxs prefilled in the same pass
 * (ib_llama_step_many; @rows holds the decoding rows and the prompts'
 * rows, and a logits row per prompt): afterwards each of them is where
 * ib_context_answer_begin leaves it (logits in ib_context_get_logits, every
 * beam's cache holding the prompt), bit for bit. perrors[i] gets prompt
 * i's failure, errors[i] sequence i's; FALSE if any failed. */
gboolean ib_context_step_prefill_many (IbContext *const *ctxs,
    const gint32 *const *tokens, const int *const *src, const int *n_beams,
    float *const *logits, int n, IbContext *const *pctxs,
    IbAnswerJob *const *jobs, int n_prompts, IbClQueue *q, IbLlamaState *rows,
    GError **errors, GError **perrors);

G_END_DECLS
