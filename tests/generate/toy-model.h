/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The toy language model of the generation tests (twin of
 * tests/data/generate/toy.py): logits are a pure function of the last two
 * ids, and the model keeps one history per beam like a KV cache. */
#pragma once

#include "generate.h"

G_BEGIN_DECLS

#define TOY_VOCAB 50
#define TOY_NO_TOKEN 1000 /* the id "before" the first one */
#define TOY_ERROR (g_quark_from_static_string ("toy-error"))

typedef enum
{
  TOY_COARSE, /* logits on a 1/8 grid: many exact ties within a row */
  TOY_FINE, /* logits on a 1/1024 grid: near-ties */
} ToyVariant;

/* logits [TOY_VOCAB] after the ids ..., a, b */
void toy_logits (ToyVariant variant, gint32 a, gint32 b, float *logits);

/* logits after seq[0..n) (n may be 0) */
void toy_logits_after (ToyVariant variant, const gint32 *seq, int n,
    float *logits);

typedef struct ToyModel ToyModel;

/* A model that has consumed prompt[0..n_prompt): first_logits [TOY_VOCAB]
 * gets the prefill's logits.  model gets the callbacks. */
ToyModel *toy_model_new (ToyVariant variant, const gint32 *prompt, int n_prompt,
    IbGenModel *model, float *first_logits);
void toy_model_free (ToyModel *toy);

/* counters for the tests: step and reorder calls; fail_at_step >= 0 makes
 * that step fail (with an error if set_error) */
int toy_model_n_steps (const ToyModel *toy);
int toy_model_n_reorders (const ToyModel *toy);
void toy_model_fail_at (ToyModel *toy, int step, gboolean set_error);

G_END_DECLS
