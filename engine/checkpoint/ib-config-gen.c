/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* generation_config.json, with GenerationConfig's defaults. */
#include "ib-config-private.h"
#include "ib-error.h"
#include "ib-limits.h"

#include <string.h>

static IbEarlyStopping
read_early_stopping (IbJsonReader *r)
{
  JsonNode *node = ib_json_reader_node (r, "early_stopping");

  if (r->failed || node == NULL)
    return IB_EARLY_STOPPING_FALSE;
  if (JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_STRING &&
      strcmp (json_node_get_string (node), "never") == 0)
    return IB_EARLY_STOPPING_NEVER;
  if (JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_BOOLEAN)
    return json_node_get_boolean (node) ? IB_EARLY_STOPPING_TRUE :
                                          IB_EARLY_STOPPING_FALSE;
  ib_json_reader_fail (r, IB_ERROR_FORMAT, "early_stopping",
      "must be true, false or \"never\"");
  return IB_EARLY_STOPPING_FALSE;
}

gboolean
ib_config_load_generation (IbGenerationConfig *gen, const IbTextConfig *text,
    const char *path, GError **error)
{
  JsonNode *root;
  IbJsonReader r;
  GError *local = NULL;
  gboolean ok;

  root = ib_json_load_object_file (path, TRUE, &local);
  if (local != NULL) {
    g_propagate_error (error, local);
    return FALSE;
  }

  gen->present = root != NULL;
  ib_json_reader_init (&r, path, "", root ? json_node_get_object (root) : NULL,
      error);
  gen->bos_token_id =
      ib_json_reader_token_id (&r, "bos_token_id", text->bos_token_id);
  gen->pad_token_id =
      ib_json_reader_token_id (&r, "pad_token_id", text->pad_token_id);
  gen->decoder_start_token_id = ib_json_reader_token_id (&r,
      "decoder_start_token_id", text->decoder_start_token_id);
  gen->n_eos_token_ids =
      ib_json_reader_token_ids (&r, "eos_token_id", text->eos_token_ids,
          text->n_eos_token_ids, gen->eos_token_ids, IB_MAX_EOS_IDS);
  gen->max_length = ib_json_reader_int (&r, "max_length", 20, 0);
  gen->max_new_tokens =
      ib_json_reader_int_max (&r, "max_new_tokens", -1, 0, IB_MAX_NEW_TOKENS);
  gen->min_length =
      ib_json_reader_int_max (&r, "min_length", 0, 0, IB_MAX_NEW_TOKENS);
  gen->num_beams =
      ib_json_reader_int_max (&r, "num_beams", 1, 1, IB_MAX_NUM_BEAMS);
  gen->do_sample = ib_json_reader_bool (&r, "do_sample", FALSE);
  gen->temperature = ib_json_reader_double_max (&r, "temperature", 1.0, 0.0,
      IB_MAX_TEMPERATURE);
  gen->top_k = ib_json_reader_int (&r, "top_k", 50, 0);
  gen->top_p = ib_json_reader_double_max (&r, "top_p", 1.0, 0.0, 1.0);
  gen->repetition_penalty = ib_json_reader_double_max (&r, "repetition_penalty",
      1.0, 0.0, IB_MAX_PENALTY);
  gen->length_penalty = ib_json_reader_double_max (&r, "length_penalty", 1.0,
      -G_MAXDOUBLE, IB_MAX_PENALTY);
  if (!r.failed && gen->length_penalty < -IB_MAX_PENALTY)
    ib_json_reader_fail (&r, IB_ERROR_FORMAT, "length_penalty",
        "is %g, below the limit of %g", gen->length_penalty, -IB_MAX_PENALTY);
  gen->no_repeat_ngram_size =
      ib_json_reader_int (&r, "no_repeat_ngram_size", 0, 0);
  gen->early_stopping = read_early_stopping (&r);
  ok = !r.failed;
  if (root)
    json_node_unref (root);
  return ok;
}
