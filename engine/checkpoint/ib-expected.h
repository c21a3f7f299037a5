/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tensors (Hugging Face names and shapes) that a model config implies. */
#pragma once

#include "ib-config.h"
#include "ib-safetensors.h"

G_BEGIN_DECLS

/* One tensor the model needs, as InstructBlipForConditionalGeneration names
 * it (see the spec, section 8). */
typedef struct
{
  gchar *name;
  guint n_dims;
  gint64 shape[IB_TENSOR_MAX_DIMS];
  /* for messages: the config.json field each dimension comes from
   * ("vision_config.intermediate_size", "3*vision_config.hidden_size");
   * NULL for a fixed dimension */
  const char *dim_source[IB_TENSOR_MAX_DIMS];
  /* a tensor to use when this one is absent (tied weights: lm_head ->
   * the input embedding), or NULL */
  const char *alias;
  /* may be absent (T5's encoder/decoder.embed_tokens, copies of shared);
   * checked when present, never used by the model */
  gboolean optional;
} IbExpectedTensor;

/* The expected tensors of @config, in model order: vision, query tokens,
 * Q-Former, projection, text model. Free with g_ptr_array_unref(). */
GPtrArray *ib_expected_tensors (const IbModelConfig *config);

/* TRUE for tensors real files carry that the model never uses:
 * position_ids buffers, rotary_emb.inv_freq, T5's decoder cross-attention
 * relative_attention_bias. */
gboolean ib_expected_is_ignored (const char *name);

G_END_DECLS
