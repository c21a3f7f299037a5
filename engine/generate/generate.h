/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The decoding loop on the host: greedy, sampling and beam search with the
 * token ids transformers' generate() returns; the model only supplies logits.
 *
 * Usage (decoder-only: the model has consumed the prompt and produced
 * first_logits; beam search also needs reorder):
 *
 *   IbGenParams p;
 *   GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
 *   gint32 eos = 2;
 *
 *   ib_gen_params_init (&p);
 *   p.num_beams = 5;
 *   p.max_new_tokens = 30;
 *   p.repetition_penalty = 1.5;
 *   p.eos_ids = &eos;
 *   p.n_eos = 1;
 *   if (!ib_generate (&model, &p, prompt, n_prompt, first_logits, ids, NULL,
 *           &error))
 *     ...
 *
 * Semantics are those of transformers 5.x GenerationMixin.generate for one
 * sequence (batch size 1, num_return_sequences 1), traced in the code
 * comments.  Greedy and beam search return the same ids as transformers for
 * the same logits: processors and beam bookkeeping run in float32 like
 * torch, and every top-k selection reproduces torch's CPU order among ties
 * (see topk.h).  Sampling draws from the same distribution but with its own
 * seeded generator (see rng.h), so sampled ids cannot match torch's.
 *
 * Thread safety: ib_generate keeps no global state; concurrent calls with
 * different models are fine. */
#pragma once

#include <glib.h>

#include "ib-generate-error.h"
#include "instructblip.h" /* IbEarlyStopping */

G_BEGIN_DECLS

/* The model as the decoding loop sees it.  Beams are rows 0..n_beams-1. */
typedef struct
{
  /* Append tokens[b] to running sequence b and write the logits for its
   * next position: logits [n_beams, vocab] row-major f32.  n_beams is 1 for
   * greedy and sampling, num_beams for beam search. */
  gboolean (*step) (gpointer user, const gint32 *tokens, int n_beams,
      float *logits, GError **error);
  /* (beam search only) Before a step: sequence b continues from the state
   * (KV cache) of sequence src[b] as it was after the previous step; src
   * may repeat and drop entries.  Before the first step every beam holds
   * the prompt's state, so src[b] may be any beam.  Called before every
   * step of a beam search, also when src is the identity. */
  gboolean (
      *reorder) (gpointer user, const int *src, int n_beams, GError **error);
  gpointer user;
  int vocab; /* logits per row */
} IbGenModel;

/* Generation settings, transformers' names and meanings.  Start from
 * ib_gen_params_init () so that new fields keep their defaults.  Lengths
 * count the prompt where transformers counts it (max_length, min_length:
 * the whole sequence incl. prompt; *_new_tokens: generated ids only). */
typedef struct
{
  int max_new_tokens; /* -1: unset; wins over max_length */
  int max_length; /* -1: unset; with both unset: prompt + 20 */
  int min_new_tokens; /* -1: unset; when set, replaces min_length */
  int min_length; /* 0; eos is banned while the sequence is shorter */
  int num_beams; /* 1 */
  double length_penalty; /* 1.0: beam score = sum_logprobs / len^lp */
  IbEarlyStopping early_stopping; /* FALSE (instructblip.h) */
  double repetition_penalty; /* 1.0 (off) */
  gboolean do_sample; /* FALSE */
  double temperature; /* 1.0; sampling only */
  int top_k; /* 50; 0: off; sampling only */
  double top_p; /* 1.0 (off); sampling only */
  guint64 seed; /* 0; sampling only */
  const gint32 *eos_ids; /* (array length=n_eos) (nullable): stop ids */
  int n_eos; /* 0: no eos, generation runs to the maximum length */
} IbGenParams;

typedef struct
{
  int n_steps; /* model->step calls (the prefill not counted) */
  int n_tokens; /* ids appended to out_ids */
} IbGenStats;

/* Fill p with transformers' defaults (the values in the comments above). */
void ib_gen_params_init (IbGenParams *p);

/* Run the decoding loop.
 *
 * prompt: (array length=n_prompt) the ids the model has consumed, n_prompt
 *   >= 0 (decoder-only: the whole input, image placeholder ids included, as
 *   transformers' input_ids; encoder-decoder: the decoder start id).  They
 *   count for max_length/min_length and the repetition penalty.
 * first_logits: [vocab] f32, the logits after the prompt (the prefill).
 * out_ids: GArray of gint32; the generated ids are appended: transformers'
 *   output sequence without the prompt, with the final eos if one was
 *   generated (beam search: the best finished hypothesis).
 * stats: (nullable) filled on success.
 *
 * Fails (IB_GEN_ERROR_INVALID_ARG) where transformers raises: prompt not
 * shorter than max_length, num_beams < 1, repetition_penalty <= 0, sampling
 * with temperature <= 0, top_k < 0 or top_p outside [0, 1], beam search
 * without reorder or with num_beams * vocab < the beams kept per step
 * (max (2, 1 + n_eos) * num_beams); also when a model callback fails.
 * out_ids is left as it was on failure. */
gboolean ib_generate (const IbGenModel *model, const IbGenParams *p,
    const gint32 *prompt, int n_prompt, const float *first_logits,
    GArray *out_ids, IbGenStats *stats, GError **error);

G_END_DECLS
