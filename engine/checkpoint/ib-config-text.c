/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config.json text_config: LLaMA (Vicuna) and T5 (Flan-T5), with transformers' defaults. */
#include "ib-config-private.h"
#include "ib-error.h"

#include <string.h>

#define L IB_CONFIG_MAX_LAYERS
#define W IB_CONFIG_MAX_WIDTH
#define H IB_CONFIG_MAX_HEADS
#define V IB_CONFIG_MAX_VOCAB
#define P IB_CONFIG_MAX_POSITIONS

static void
parse_llama (IbTextConfig *t, IbJsonReader *r)
{
  static const gint def_eos[] = { 2 };
  JsonObject *rope;
  const char *rope_type = "default";

  t->arch = IB_TEXT_ARCH_LLAMA;
  t->vocab_size = ib_json_reader_int_max (r, "vocab_size", 32000, 1, V);
  t->hidden_dim = ib_json_reader_int_max (r, "hidden_size", 4096, 1, W);
  t->intermediate_dim =
      ib_json_reader_int_max (r, "intermediate_size", 11008, 1, W);
  t->n_layers = ib_json_reader_int_max (r, "num_hidden_layers", 32, 1, L);
  t->n_decoder_layers = 0;
  t->n_heads = ib_json_reader_int_max (r, "num_attention_heads", 32, 1, H);
  /* null or absent: derived, as in LlamaConfig.__post_init__ */
  t->n_kv_heads =
      ib_json_reader_int_max (r, "num_key_value_heads", t->n_heads, 1, H);
  t->head_dim = ib_json_reader_int_max (r, "head_dim",
      t->n_heads > 0 ? MAX (t->hidden_dim / t->n_heads, 1) : 1, 1, W);
  ib_config_read_activation (r, "hidden_act", "silu", &t->act);
  t->gated_ffn = TRUE;
  t->max_position_embeddings =
      ib_json_reader_int_max (r, "max_position_embeddings", 2048, 1, P);
  t->norm_eps = ib_json_reader_double (r, "rms_norm_eps", 1e-6, 0.0);
  t->attention_bias = ib_json_reader_bool (r, "attention_bias", FALSE);
  t->mlp_bias = ib_json_reader_bool (r, "mlp_bias", FALSE);
  t->tie_word_embeddings =
      ib_json_reader_bool (r, "tie_word_embeddings", FALSE);
  t->scale_decoder_outputs = FALSE;
  t->bos_token_id = ib_json_reader_token_id (r, "bos_token_id", 1);
  t->pad_token_id = ib_json_reader_token_id (r, "pad_token_id", -1);
  t->decoder_start_token_id =
      ib_json_reader_token_id (r, "decoder_start_token_id", -1);
  t->n_eos_token_ids = ib_json_reader_token_ids (r, "eos_token_id", def_eos,
      G_N_ELEMENTS (def_eos), t->eos_token_ids, IB_MAX_EOS_IDS);

  /* RoPE: transformers 5 writes rope_parameters {rope_theta, rope_type};
   * older files rope_theta and rope_scaling at the top of text_config */
  rope = ib_json_reader_object (r, "rope_parameters");
  t->rope_theta = ib_json_reader_double (r, "rope_theta", 10000.0, 0.0);
  if (rope != NULL) {
    IbJsonReader rr;
    gchar *section = g_strconcat (r->section, "rope_parameters.", NULL);

    ib_json_reader_init (&rr, r->file, section, rope, r->error);
    rr.failed = r->failed;
    t->rope_theta =
        ib_json_reader_double (&rr, "rope_theta", t->rope_theta, 0.0);
    rope_type = ib_json_reader_string (&rr, "rope_type", "default");
    if (!rr.failed && strcmp (rope_type, "default") != 0)
      ib_json_reader_fail (&rr, IB_ERROR_UNSUPPORTED, "rope_type",
          "\"%s\" is not supported (only \"default\" RoPE)", rope_type);
    r->failed = rr.failed;
    g_free (section);
  }
  rope = ib_json_reader_object (r, "rope_scaling");
  if (!r->failed && rope != NULL) {
    IbJsonReader rr;

    ib_json_reader_init (&rr, r->file, "", rope, NULL);
    rope_type = ib_json_reader_string (&rr, "rope_type",
        ib_json_reader_string (&rr, "type", "default"));
    if (rope_type == NULL || strcmp (rope_type, "default") != 0)
      ib_json_reader_fail (r, IB_ERROR_UNSUPPORTED, "rope_scaling",
          "(\"%s\") is not supported (only unscaled RoPE)",
          rope_type ? rope_type : "?");
  }

  if (!r->failed && t->n_heads % t->n_kv_heads != 0)
    ib_json_reader_fail (r, IB_ERROR_FORMAT, "num_attention_heads",
        "(%d) is not a multiple of %snum_key_value_heads (%d)", t->n_heads,
        r->section, t->n_kv_heads);
  if (!r->failed && !ib_json_reader_has (r, "head_dim") &&
      t->hidden_dim % t->n_heads != 0)
    ib_json_reader_fail (r, IB_ERROR_FORMAT, "hidden_size",
        "(%d) is not a multiple of %snum_attention_heads (%d)", t->hidden_dim,
        r->section, t->n_heads);
}

static void
parse_t5 (IbTextConfig *t, IbJsonReader *r)
{
  static const gint def_eos[] = { 1 };
  const char *ffp;
  const char *act_name;
  gboolean gated;

  t->arch = IB_TEXT_ARCH_T5;
  t->vocab_size = ib_json_reader_int_max (r, "vocab_size", 32128, 1, V);
  t->hidden_dim = ib_json_reader_int_max (r, "d_model", 512, 1, W);
  t->head_dim = ib_json_reader_int_max (r, "d_kv", 64, 1, W);
  t->intermediate_dim = ib_json_reader_int_max (r, "d_ff", 2048, 1, W);
  t->n_layers = ib_json_reader_int_max (r, "num_layers", 6, 1, L);
  t->n_decoder_layers =
      ib_json_reader_int_max (r, "num_decoder_layers", t->n_layers, 1, L);
  t->n_heads = ib_json_reader_int_max (r, "num_heads", 8, 1, H);
  t->n_kv_heads = t->n_heads;
  t->relative_attention_num_buckets =
      ib_json_reader_int_max (r, "relative_attention_num_buckets", 32, 1, P);
  t->relative_attention_max_distance =
      ib_json_reader_int_max (r, "relative_attention_max_distance", 128, 1, P);
  t->norm_eps = ib_json_reader_double (r, "layer_norm_epsilon", 1e-6, 0.0);
  t->max_position_embeddings = 0;
  t->rope_theta = 0.0;

  /* T5Config derives dense_act_fn and is_gated_act from feed_forward_proj
   * ("gated-gelu" means gelu_new), then the file's own dense_act_fn and
   * is_gated_act override them: the InstructBLIP configs say
   * "gated-gelu" with dense_act_fn "gelu" (erf), older Flan-T5 configs
   * "gelu" with is_gated_act true */
  ffp = ib_json_reader_string (r, "feed_forward_proj", "relu");
  if (r->failed)
    return;
  gated = g_str_has_prefix (ffp, "gated-");
  act_name = gated ? ffp + strlen ("gated-") : ffp;
  if (strchr (act_name, '-') != NULL) {
    ib_json_reader_fail (r, IB_ERROR_FORMAT, "feed_forward_proj",
        "\"%s\" is not of the form gated-{ACT} or {ACT}", ffp);
    return;
  }
  if (strcmp (ffp, "gated-gelu") == 0)
    act_name = "gelu_new";
  if (ib_json_reader_has (r, "dense_act_fn"))
    ib_config_read_activation (r, "dense_act_fn", NULL, &t->act);
  else if (!ib_config_activation_from_name (act_name, &t->act))
    ib_json_reader_fail (r, IB_ERROR_UNSUPPORTED, "feed_forward_proj",
        "\"%s\" names an unsupported activation (gelu, gelu_new, relu, "
        "silu)",
        ffp);
  t->gated_ffn = ib_json_reader_bool (r, "is_gated_act", gated);
  t->attention_bias = FALSE;
  t->mlp_bias = FALSE;

  t->tie_word_embeddings = ib_json_reader_bool (r, "tie_word_embeddings", TRUE);
  t->scale_decoder_outputs =
      ib_json_reader_bool (r, "scale_decoder_outputs", t->tie_word_embeddings);
  t->bos_token_id = ib_json_reader_token_id (r, "bos_token_id", -1);
  t->pad_token_id = ib_json_reader_token_id (r, "pad_token_id", 0);
  t->decoder_start_token_id =
      ib_json_reader_token_id (r, "decoder_start_token_id", -1);
  t->n_eos_token_ids = ib_json_reader_token_ids (r, "eos_token_id", def_eos,
      G_N_ELEMENTS (def_eos), t->eos_token_ids, IB_MAX_EOS_IDS);
}

gboolean
ib_config_parse_text (IbTextConfig *text, const char *file, JsonObject *obj,
    GError **error)
{
  IbJsonReader r;
  const char *type;

  ib_json_reader_init (&r, file, "text_config.", obj, error);
  type = ib_json_reader_string (&r, "model_type", NULL);
  if (r.failed)
    return FALSE;
  if (type == NULL) {
    ib_json_reader_fail (&r, IB_ERROR_FORMAT, "model_type",
        "is missing (expected \"llama\" or \"t5\")");
    return FALSE;
  }
  if (strcmp (type, "llama") == 0) {
    parse_llama (text, &r);
  } else if (strcmp (type, "t5") == 0) {
    parse_t5 (text, &r);
  } else {
    ib_json_reader_fail (&r, IB_ERROR_UNSUPPORTED, "model_type",
        "\"%s\" is not a supported text model (expected \"llama\" or "
        "\"t5\")",
        type);
  }
  return !r.failed;
}
