/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IbBatch's test hooks. */
#pragma once

#include "ib-context-private.h"

G_BEGIN_DECLS

/* The next set-up waits until @n questions (at most the slots) have a slot
 * and wait for theirs, so that a test has them join together; then set-ups
 * go on as usual. */
void ib_batch_hold_setups (IbBatch *batch, int n);

/* The language model passes the batched steps ran: one per step where the
 * model's decoder steps all questions together, one per question and step
 * where it steps them one after the other. */
guint64 ib_batch_get_decoder_passes (IbBatch *batch);

/* The set-ups' shared Q-Former passes and the most (frame, instruction)
 * sequences one of them took. */
void ib_batch_get_qformer_passes (IbBatch *batch, guint64 *n_passes,
    int *max_pass);
/* LLaMA: the next step waits until @n questions wait for their prompts'
 * prefill (at most the slots), so that a test has them prefilled in the
 * step of those decoding; then steps go on as usual. */
void ib_batch_hold_prompts (IbBatch *batch, int n);

G_END_DECLS
