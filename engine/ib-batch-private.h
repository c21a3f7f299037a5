/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IbBatch's test hooks. */
#pragma once

#include "ib-context-private.h"

G_BEGIN_DECLS

/* The next set-up waits until @n questions (at most the slots) have a slot
 * and wait for theirs, so that a test has them join together; then set-ups
 * go on as usual. */
void ib_batch_hold_setups (IbBatch *batch, int n);

/* LLaMA: the next step waits until @n questions wait for their prompts'
 * prefill (at most the slots), so that a test has them prefilled in the
 * step of those decoding; then steps go on as usual. */
void ib_batch_hold_prompts (IbBatch *batch, int n);

G_END_DECLS
