/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Limits on generation settings, shared by generation_config.json, the context, the element's properties and the CLI. */
#pragma once

/* Beam search width: 1 .. IB_MAX_NUM_BEAMS. */
#define IB_MAX_NUM_BEAMS 16

/* Tokens one answer may generate: 1 .. IB_MAX_NEW_TOKENS (also the bound
 * of min_length and min_new_tokens). */
#define IB_MAX_NEW_TOKENS 1024

/* Sampling temperature: (0, IB_MAX_TEMPERATURE]. */
#define IB_MAX_TEMPERATURE 100.0

/* repetition_penalty: (0, IB_MAX_PENALTY]; length_penalty:
 * [-IB_MAX_PENALTY, IB_MAX_PENALTY]. */
#define IB_MAX_PENALTY 100.0
