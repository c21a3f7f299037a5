/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config.json (top level, vision_config, qformer_config) and the loader entry point. */
#include "ib-config-private.h"
#include "ib-error.h"

#include <string.h>

#define L IB_CONFIG_MAX_LAYERS
#define W IB_CONFIG_MAX_WIDTH
#define H IB_CONFIG_MAX_HEADS
#define V IB_CONFIG_MAX_VOCAB
#define P IB_CONFIG_MAX_POSITIONS

static const struct
{
  const char *name;
  IbActivation act;
} activations[] = {
  { "gelu", IB_ACT_GELU },
  { "gelu_new", IB_ACT_GELU_TANH },
  { "gelu_pytorch_tanh", IB_ACT_GELU_TANH },
  { "relu", IB_ACT_RELU },
  { "silu", IB_ACT_SILU },
  { "swish", IB_ACT_SILU },
};

const char *
ib_activation_name (IbActivation act)
{
  switch (act) {
    case IB_ACT_GELU:
      return "gelu";
    case IB_ACT_GELU_TANH:
      return "gelu_new";
    case IB_ACT_RELU:
      return "relu";
    case IB_ACT_SILU:
      return "silu";
  }
  return "unknown";
}

const char *
ib_text_arch_name (IbTextArch arch)
{
  return arch == IB_TEXT_ARCH_T5 ? "t5" : "llama";
}

const char *
ib_model_type_name (IbModelType type)
{
  return type == IB_MODEL_INSTRUCTBLIP_VIDEO ? "instructblipvideo" :
                                               "instructblip";
}

gboolean
ib_config_activation_from_name (const char *name, IbActivation *out)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (activations); i++) {
    if (strcmp (name, activations[i].name) == 0) {
      *out = activations[i].act;
      return TRUE;
    }
  }
  return FALSE;
}

void
ib_config_read_activation (IbJsonReader *r, const char *key, const char *def,
    IbActivation *out)
{
  const char *name = ib_json_reader_string (r, key, def);

  if (r->failed || ib_config_activation_from_name (name, out))
    return;
  ib_json_reader_fail (r, IB_ERROR_UNSUPPORTED, key,
      "\"%s\" is not a supported activation (gelu, gelu_new, "
      "gelu_pytorch_tanh, relu, silu)",
      name);
}

/* image_size / patch_size: an int, or [h, w] with h == w. */
static gint
read_square (IbJsonReader *r, const char *key, gint def)
{
  JsonNode *node = ib_json_reader_node (r, key);
  JsonArray *a;
  gint64 h, w;

  if (r->failed || node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return ib_json_reader_int_max (r, key, def, 1, IB_CONFIG_MAX_IMAGE);
  a = json_node_get_array (node);
  if (json_array_get_length (a) != 2 ||
      !JSON_NODE_HOLDS_VALUE (json_array_get_element (a, 0)) ||
      !JSON_NODE_HOLDS_VALUE (json_array_get_element (a, 1)) ||
      (h = json_array_get_int_element (a, 0)) < 1 ||
      (w = json_array_get_int_element (a, 1)) < 1 || h > IB_CONFIG_MAX_IMAGE) {
    ib_json_reader_fail (r, IB_ERROR_FORMAT, key,
        "must be a positive integer or [height, width], at most %d",
        IB_CONFIG_MAX_IMAGE);
    return def;
  }
  if (h != w) {
    ib_json_reader_fail (r, IB_ERROR_UNSUPPORTED, key,
        "is %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
        "; only square sizes are supported",
        h, w);
    return def;
  }
  return (gint) h;
}

static void
check_heads (IbJsonReader *r, gint hidden, gint heads)
{
  if (!r->failed && hidden % heads != 0)
    ib_json_reader_fail (r, IB_ERROR_FORMAT, "hidden_size",
        "(%d) is not a multiple of %snum_attention_heads (%d)", hidden,
        r->section, heads);
}

static gboolean
parse_vision (IbVisionConfig *v, const char *file, JsonObject *obj,
    GError **error)
{
  IbJsonReader r;

  ib_json_reader_init (&r, file, "vision_config.", obj, error);
  v->hidden_dim = ib_json_reader_int_max (&r, "hidden_size", 1408, 1, W);
  v->n_layers = ib_json_reader_int_max (&r, "num_hidden_layers", 39, 1, L);
  v->n_heads = ib_json_reader_int_max (&r, "num_attention_heads", 16, 1, H);
  v->intermediate_dim =
      ib_json_reader_int_max (&r, "intermediate_size", 6144, 1, W);
  v->image_size = read_square (&r, "image_size", 224);
  v->patch_size = read_square (&r, "patch_size", 14);
  v->layer_norm_eps = ib_json_reader_double (&r, "layer_norm_eps", 1e-6, 0.0);
  ib_config_read_activation (&r, "hidden_act", "gelu", &v->act);
  v->qkv_bias = ib_json_reader_bool (&r, "qkv_bias", TRUE);
  check_heads (&r, v->hidden_dim, v->n_heads);
  if (!r.failed && v->patch_size > v->image_size)
    ib_json_reader_fail (&r, IB_ERROR_FORMAT, "patch_size",
        "(%d) is larger than vision_config.image_size (%d)", v->patch_size,
        v->image_size);
  return !r.failed;
}

static gboolean
parse_qformer (IbQFormerConfig *q, const IbVisionConfig *v, const char *file,
    JsonObject *obj, GError **error)
{
  IbJsonReader r;

  ib_json_reader_init (&r, file, "qformer_config.", obj, error);
  q->vocab_size = ib_json_reader_int_max (&r, "vocab_size", 30522, 1, V);
  q->hidden_dim = ib_json_reader_int_max (&r, "hidden_size", 768, 1, W);
  q->n_layers = ib_json_reader_int_max (&r, "num_hidden_layers", 12, 1, L);
  q->n_heads = ib_json_reader_int_max (&r, "num_attention_heads", 12, 1, H);
  q->intermediate_dim =
      ib_json_reader_int_max (&r, "intermediate_size", 3072, 1, W);
  q->layer_norm_eps = ib_json_reader_double (&r, "layer_norm_eps", 1e-12, 0.0);
  q->max_position_embeddings =
      ib_json_reader_int_max (&r, "max_position_embeddings", 512, 1, P);
  q->cross_attention_frequency =
      ib_json_reader_int (&r, "cross_attention_frequency", 2, 1);
  /* read for its type only: InstructBlipConfig overwrites it with the
   * vision hidden size */
  (void) ib_json_reader_int_max (&r, "encoder_hidden_size", 1408, 1, W);
  q->encoder_hidden_dim = v->hidden_dim;
  ib_config_read_activation (&r, "hidden_act", "gelu", &q->act);
  q->pad_token_id = ib_json_reader_token_id (&r, "pad_token_id", 0);
  check_heads (&r, q->hidden_dim, q->n_heads);
  return !r.failed;
}

static gboolean
parse_top (IbModelConfig *cfg, const char *file, JsonObject *obj,
    GError **error)
{
  IbJsonReader r;
  const char *type;
  JsonObject *vision, *qformer, *text;
  const char *image_key, *video_key;

  ib_json_reader_init (&r, file, "", obj, error);
  type = ib_json_reader_string (&r, "model_type", NULL);
  if (r.failed)
    return FALSE;
  if (type == NULL) {
    ib_json_reader_fail (&r, IB_ERROR_FORMAT, "model_type",
        "is missing (expected \"instructblip\" or \"instructblipvideo\")");
    return FALSE;
  }
  if (strcmp (type, "instructblip") == 0) {
    cfg->model_type = IB_MODEL_INSTRUCTBLIP;
  } else if (strcmp (type, "instructblipvideo") == 0) {
    cfg->model_type = IB_MODEL_INSTRUCTBLIP_VIDEO;
  } else {
    ib_json_reader_fail (&r, IB_ERROR_UNSUPPORTED, "model_type",
        "\"%s\" is not supported (expected \"instructblip\" or "
        "\"instructblipvideo\")",
        type);
    return FALSE;
  }

  cfg->n_query_tokens = ib_json_reader_int_max (&r, "num_query_tokens", 32, 1,
      IB_CONFIG_MAX_QUERIES);
  /* transformers also accepts the attribute_map names */
  image_key = ib_json_reader_has (&r, "image_token_index") ||
          !ib_json_reader_has (&r, "image_token_id") ?
      "image_token_index" :
      "image_token_id";
  video_key = ib_json_reader_has (&r, "video_token_index") ||
          !ib_json_reader_has (&r, "video_token_id") ?
      "video_token_index" :
      "video_token_id";
  cfg->image_token_index = ib_json_reader_token_id (&r, image_key, -1);
  cfg->video_token_index = ib_json_reader_token_id (&r, video_key, -1);
  cfg->tie_word_embeddings =
      ib_json_reader_bool (&r, "tie_word_embeddings", TRUE);
  vision = ib_json_reader_object (&r, "vision_config");
  qformer = ib_json_reader_object (&r, "qformer_config");
  text = ib_json_reader_object (&r, "text_config");
  if (!r.failed && text == NULL)
    ib_json_reader_fail (&r, IB_ERROR_UNSUPPORTED, "text_config",
        "is missing (transformers would default to OPT, which this engine "
        "does not support; expected a llama or t5 text_config)");
  if (r.failed)
    return FALSE;

  return parse_vision (&cfg->vision, file, vision, error) &&
      parse_qformer (&cfg->qformer, &cfg->vision, file, qformer, error) &&
      ib_config_parse_text (&cfg->text, file, text, error);
}

/* Token id @id (-1: none) of @key in @file must lie in the vocabulary of
 * @vocab_key (@vocab ids): the model would read beyond its embedding. */
static gboolean
check_id (const char *file, const char *key, gint id, gint vocab,
    const char *vocab_key, GError **error)
{
  if (id < vocab)
    return TRUE;
  g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
      "%s: %s is %d, outside the vocabulary (%s is %d: ids 0 .. %d)", file, key,
      id, vocab_key, vocab, vocab - 1);
  return FALSE;
}

/* The special token ids of config.json (@path) and
 * generation_config.json (@gen_path) against the vocabularies. */
static gboolean
check_token_ids (const IbModelConfig *cfg, const char *path,
    const char *gen_path, GError **error)
{
  const IbTextConfig *t = &cfg->text;
  const IbGenerationConfig *g = &cfg->generation;
  const char *v = "text_config.vocab_size";
  guint i;

  if (!check_id (path, "qformer_config.pad_token_id", cfg->qformer.pad_token_id,
          cfg->qformer.vocab_size, "qformer_config.vocab_size", error) ||
      !check_id (path, "text_config.bos_token_id", t->bos_token_id,
          t->vocab_size, v, error) ||
      !check_id (path, "text_config.pad_token_id", t->pad_token_id,
          t->vocab_size, v, error) ||
      !check_id (path, "text_config.decoder_start_token_id",
          t->decoder_start_token_id, t->vocab_size, v, error))
    return FALSE;
  for (i = 0; i < t->n_eos_token_ids; i++)
    if (!check_id (path, "text_config.eos_token_id", t->eos_token_ids[i],
            t->vocab_size, v, error))
      return FALSE;
  if (!g->present)
    return TRUE;
  if (!check_id (gen_path, "bos_token_id", g->bos_token_id, t->vocab_size, v,
          error) ||
      !check_id (gen_path, "pad_token_id", g->pad_token_id, t->vocab_size, v,
          error) ||
      !check_id (gen_path, "decoder_start_token_id", g->decoder_start_token_id,
          t->vocab_size, v, error))
    return FALSE;
  for (i = 0; i < g->n_eos_token_ids; i++)
    if (!check_id (gen_path, "eos_token_id", g->eos_token_ids[i], t->vocab_size,
            v, error))
      return FALSE;
  return TRUE;
}

IbModelConfig *
ib_model_config_load (const char *model_dir, GError **error)
{
  IbModelConfig *cfg = NULL;
  JsonNode *root = NULL;
  gchar *path = NULL, *gen_path = NULL, *image_path = NULL;
  gchar *video_path = NULL;
  gboolean ok = FALSE;

  g_return_val_if_fail (model_dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  path = g_build_filename (model_dir, "config.json", NULL);
  gen_path = g_build_filename (model_dir, "generation_config.json", NULL);
  image_path = g_build_filename (model_dir, "preprocessor_config.json", NULL);
  video_path =
      g_build_filename (model_dir, "video_preprocessor_config.json", NULL);

  root = ib_json_load_object_file (path, FALSE, error);
  if (root == NULL)
    goto out;
  cfg = g_new0 (IbModelConfig, 1);
  if (!parse_top (cfg, path, json_node_get_object (root), error))
    goto out;
  if (!ib_config_load_generation (&cfg->generation, &cfg->text, gen_path,
          error) ||
      !check_token_ids (cfg, path, gen_path, error))
    goto out;
  if (!ib_config_load_image_processor (&cfg->image_processor, image_path, NULL,
          cfg->vision.image_size, error))
    goto out;
  if (!ib_config_load_image_processor (&cfg->video_processor, video_path,
          &cfg->image_processor, cfg->vision.image_size, error))
    goto out;
  ok = TRUE;

out:
  if (!ok)
    g_clear_pointer (&cfg, ib_model_config_free);
  if (root)
    json_node_unref (root);
  g_free (path);
  g_free (gen_path);
  g_free (image_path);
  g_free (video_path);
  return cfg;
}

void
ib_model_config_free (IbModelConfig *config)
{
  g_free (config);
}
