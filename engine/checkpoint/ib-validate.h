/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checks a checkpoint's tensors against its config: presence, dtype, shape. */
#pragma once

#include "ib-expected.h"

G_BEGIN_DECLS

/* Checks that @st holds every tensor ib_expected_tensors (@config) lists,
 * each with a weight dtype (F32, F16, BF16) and the shape the config
 * implies. Tolerated: tied weights that are absent (LLaMA lm_head with
 * tie_word_embeddings, T5 lm_head and encoder/decoder.embed_tokens, all
 * replaced by the input embedding), position_ids and rotary inv_freq
 * buffers, and unknown extra tensors (reported with g_debug). Fails with
 * IB_ERROR_FORMAT (missing tensor, integer dtype, wrong shape) or
 * IB_ERROR_UNSUPPORTED (F64, F8 weights); messages name the file, the
 * tensor and, for shapes, the config fields: "<dir>/model.safetensors:
 * vision_model.encoder.layers.3.mlp.fc1.weight has shape [37, 32] but
 * config.json (vision_config.intermediate_size=38) needs [38, 32]". */
gboolean ib_checkpoint_validate (const IbModelConfig *config,
    const IbSafetensors *st, GError **error);

/* The tensor that provides @e: @e itself, else its alias; NULL if
 * neither is in @st. */
const IbTensor *ib_expected_resolve (const IbExpectedTensor *e,
    const IbSafetensors *st);

G_END_DECLS
