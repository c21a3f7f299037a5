/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Configs resolve as transformers resolves them; bad fields fail with file and field named. */
#include "ckpt-test-util.h"

#include <stddef.h>
#include <string.h>

typedef enum
{
  T_INT,
  T_DOUBLE,
  T_BOOL,
  T_ACT,
  T_EOS,
  T_ARCH,
  T_MODEL,
} FieldType;

/* manifest key -> IbModelConfig field */
static const struct
{
  const char *key;
  FieldType type;
  gsize offset;
} fields[] = {
#define F(key, type, member)                    \
  {                                             \
    key, type, offsetof (IbModelConfig, member) \
  }
  F ("model_type", T_MODEL, model_type),
  F ("num_query_tokens", T_INT, n_query_tokens),
  F ("image_token_index", T_INT, image_token_index),
  F ("video_token_index", T_INT, video_token_index),
  F ("vision.hidden_size", T_INT, vision.hidden_dim),
  F ("vision.num_hidden_layers", T_INT, vision.n_layers),
  F ("vision.num_attention_heads", T_INT, vision.n_heads),
  F ("vision.intermediate_size", T_INT, vision.intermediate_dim),
  F ("vision.image_size", T_INT, vision.image_size),
  F ("vision.patch_size", T_INT, vision.patch_size),
  F ("vision.layer_norm_eps", T_DOUBLE, vision.layer_norm_eps),
  F ("vision.qkv_bias", T_BOOL, vision.qkv_bias),
  F ("vision.hidden_act", T_ACT, vision.act),
  F ("qformer.vocab_size", T_INT, qformer.vocab_size),
  F ("qformer.hidden_size", T_INT, qformer.hidden_dim),
  F ("qformer.num_hidden_layers", T_INT, qformer.n_layers),
  F ("qformer.num_attention_heads", T_INT, qformer.n_heads),
  F ("qformer.intermediate_size", T_INT, qformer.intermediate_dim),
  F ("qformer.layer_norm_eps", T_DOUBLE, qformer.layer_norm_eps),
  F ("qformer.max_position_embeddings", T_INT, qformer.max_position_embeddings),
  F ("qformer.cross_attention_frequency", T_INT,
      qformer.cross_attention_frequency),
  F ("qformer.encoder_hidden_size", T_INT, qformer.encoder_hidden_dim),
  F ("qformer.hidden_act", T_ACT, qformer.act),
  F ("text.model_type", T_ARCH, text.arch),
  F ("text.vocab_size", T_INT, text.vocab_size),
  F ("text.hidden_size", T_INT, text.hidden_dim),
  F ("text.num_layers", T_INT, text.n_layers),
  F ("text.num_decoder_layers", T_INT, text.n_decoder_layers),
  F ("text.num_heads", T_INT, text.n_heads),
  F ("text.num_kv_heads", T_INT, text.n_kv_heads),
  F ("text.head_dim", T_INT, text.head_dim),
  F ("text.intermediate_size", T_INT, text.intermediate_dim),
  F ("text.norm_eps", T_DOUBLE, text.norm_eps),
  F ("text.rope_theta", T_DOUBLE, text.rope_theta),
  F ("text.max_position_embeddings", T_INT, text.max_position_embeddings),
  F ("text.relative_attention_num_buckets", T_INT,
      text.relative_attention_num_buckets),
  F ("text.relative_attention_max_distance", T_INT,
      text.relative_attention_max_distance),
  F ("text.hidden_act", T_ACT, text.act),
  F ("text.gated_act", T_BOOL, text.gated_ffn),
  F ("text.tie_word_embeddings", T_BOOL, text.tie_word_embeddings),
  F ("text.scale_decoder_outputs", T_BOOL, text.scale_decoder_outputs),
  F ("text.bos_token_id", T_INT, text.bos_token_id),
  F ("text.pad_token_id", T_INT, text.pad_token_id),
  F ("text.decoder_start_token_id", T_INT, text.decoder_start_token_id),
  F ("text.eos_token_id", T_EOS, text.eos_token_ids),
#undef F
};

static void
check_eos (const gint *ids, guint n, JsonArray *expected)
{
  guint i;

  g_assert_cmpuint (n, ==, json_array_get_length (expected));
  for (i = 0; i < n; i++)
    g_assert_cmpint (ids[i], ==, json_array_get_int_element (expected, i));
}

/* Every key of @expected (as written by make_fixtures.py from the
 * resolved transformers config) must match @cfg. */
static void
check_config (const IbModelConfig *cfg, JsonObject *expected)
{
  GList *keys = json_object_get_members (expected), *l;
  const guint8 *base = (const guint8 *) cfg;
  guint i;

  for (l = keys; l != NULL; l = l->next) {
    const char *key = l->data;
    JsonNode *want = json_object_get_member (expected, key);
    const void *p;

    for (i = 0; i < G_N_ELEMENTS (fields); i++)
      if (strcmp (fields[i].key, key) == 0)
        break;
    if (i == G_N_ELEMENTS (fields))
      g_error ("no field for manifest key %s", key);
    p = base + fields[i].offset;
    g_test_message ("%s", key);
    switch (fields[i].type) {
      case T_INT:
        g_assert_cmpint (*(const gint *) p, ==, json_node_get_int (want));
        break;
      case T_DOUBLE:
        g_assert_cmpfloat (*(const gdouble *) p, ==,
            json_node_get_double (want));
        break;
      case T_BOOL:
        g_assert_cmpint (*(const gboolean *) p, ==,
            json_node_get_boolean (want));
        break;
      case T_ACT:
        g_assert_cmpstr (ib_activation_name (*(const IbActivation *) p), ==,
            json_node_get_string (want));
        break;
      case T_ARCH:
        g_assert_cmpstr (ib_text_arch_name (*(const IbTextArch *) p), ==,
            json_node_get_string (want));
        break;
      case T_MODEL:
        g_assert_cmpstr (ib_model_type_name (*(const IbModelType *) p), ==,
            json_node_get_string (want));
        break;
      case T_EOS:
        check_eos (cfg->text.eos_token_ids, cfg->text.n_eos_token_ids,
            json_node_get_array (want));
        break;
    }
  }
  g_list_free (keys);
}

static void
check_clip_processor (const IbImageProcessorConfig *p, gint h, gint w)
{
  g_assert_true (p->do_resize);
  g_assert_cmpint (p->size_mode, ==, IB_RESIZE_EXACT);
  g_assert_cmpint (p->height, ==, h);
  g_assert_cmpint (p->width, ==, w);
  g_assert_cmpint (p->resample, ==, IB_RESAMPLE_BICUBIC);
  g_assert_true (p->do_rescale);
  g_assert_cmpfloat_with_epsilon (p->rescale_factor, 1.0 / 255.0, 1e-15);
  g_assert_true (p->do_normalize);
  g_assert_cmpfloat (p->image_mean[0], ==, 0.48145466);
  g_assert_cmpfloat (p->image_mean[2], ==, 0.40821073);
  g_assert_cmpfloat (p->image_std[1], ==, 0.26130258);
  g_assert_true (p->do_convert_rgb);
  g_assert_false (p->do_center_crop);
}

static void
test_fixture (gconstpointer data)
{
  const char *name = data;
  gchar *dir = ckpt_fixture_path (name);
  gchar *mpath = ckpt_path (dir, "manifest.json");
  JsonNode *manifest = ckpt_load_json (mpath);
  JsonObject *mo = json_node_get_object (manifest);
  GError *error = NULL;
  IbModelConfig *cfg;

  cfg = ib_model_config_load (dir, &error);
  g_assert_no_error (error);
  check_config (cfg, json_object_get_object_member (mo, "config"));

  if (json_object_has_member (mo, "generation")) {
    JsonObject *g = json_object_get_object_member (mo, "generation");

    g_assert_true (cfg->generation.present);
    g_assert_cmpint (cfg->generation.bos_token_id, ==,
        json_object_get_int_member (g, "bos_token_id"));
    g_assert_cmpint (cfg->generation.pad_token_id, ==,
        json_object_get_int_member (g, "pad_token_id"));
    check_eos (cfg->generation.eos_token_ids, cfg->generation.n_eos_token_ids,
        json_object_get_array_member (g, "eos_token_id"));
    g_assert_cmpint (cfg->generation.max_length, ==,
        json_object_get_int_member (g, "max_length"));
    g_assert_cmpint (cfg->generation.min_length, ==,
        json_object_get_int_member (g, "min_length"));
    g_assert_cmpint (cfg->generation.num_beams, ==,
        json_object_get_int_member (g, "num_beams"));
    g_assert_cmpfloat (cfg->generation.repetition_penalty, ==,
        json_object_get_double_member (g, "repetition_penalty"));
    g_assert_false (cfg->generation.do_sample);
    g_assert_cmpint (cfg->generation.max_new_tokens, ==, -1);
    g_assert_cmpint (cfg->generation.top_k, ==, 50);
  } else if (cfg->generation.present) {
    /* written by save_pretrained from the model config: ids as text */
    g_assert_cmpint (cfg->generation.pad_token_id, ==, cfg->text.pad_token_id);
    g_assert_cmpint (cfg->generation.max_length, ==, 20);
    g_assert_cmpint (cfg->generation.num_beams, ==, 1);
  }

  g_assert_true (cfg->image_processor.present);
  check_clip_processor (&cfg->image_processor, 8, 8);
  if (strcmp (name, "video-llama-f16") == 0) {
    g_assert_true (cfg->video_processor.present);
    check_clip_processor (&cfg->video_processor, 6, 10);
  } else {
    g_assert_false (cfg->video_processor.present);
    check_clip_processor (&cfg->video_processor, 8, 8);
  }

  ib_model_config_free (cfg);
  json_node_unref (manifest);
  g_free (mpath);
  g_free (dir);
}

/* Hub-style configs that omit most fields resolve to transformers'
 * class defaults. */
static void
test_legacy (gconstpointer data)
{
  gchar *name = g_build_filename ("configs", data, NULL);
  gchar *dir = ckpt_fixture_path (name);
  gchar *epath = ckpt_path (dir, "expected.json");
  JsonNode *expected = ckpt_load_json (epath);
  GError *error = NULL;
  IbModelConfig *cfg = ib_model_config_load (dir, &error);

  g_assert_no_error (error);
  check_config (cfg, json_node_get_object (expected));
  /* no generation_config.json: the ids of text_config */
  g_assert_false (cfg->generation.present);
  g_assert_cmpint (cfg->generation.bos_token_id, ==, cfg->text.bos_token_id);
  check_eos (cfg->generation.eos_token_ids, cfg->generation.n_eos_token_ids,
      json_object_get_array_member (json_node_get_object (expected),
          "text.eos_token_id"));
  g_assert_cmpint (cfg->generation.max_length, ==, 20);
  /* no preprocessor_config.json: CLIP defaults at the vision size */
  g_assert_false (cfg->image_processor.present);
  check_clip_processor (&cfg->image_processor, cfg->vision.image_size,
      cfg->vision.image_size);
  ib_model_config_free (cfg);
  json_node_unref (expected);
  g_free (epath);
  g_free (dir);
  g_free (name);
}

/* T5 activation rules: feed_forward_proj alone, dense_act_fn override,
 * legacy "gelu" + is_gated_act. */
static void
test_t5_activation (void)
{
  static const struct
  {
    const char *text;
    IbActivation act;
    gboolean gated;
  } cases[] = {
    { "\"feed_forward_proj\": \"gated-gelu\"", IB_ACT_GELU_TANH, TRUE },
    { "\"feed_forward_proj\": \"gated-gelu\", \"dense_act_fn\": \"gelu\"",
        IB_ACT_GELU, TRUE },
    { "\"feed_forward_proj\": \"gelu\", \"is_gated_act\": true", IB_ACT_GELU,
        TRUE },
    { "\"feed_forward_proj\": \"relu\"", IB_ACT_RELU, FALSE },
    { "\"feed_forward_proj\": \"gated-silu\"", IB_ACT_SILU, TRUE },
  };
  GError *error = NULL;
  gchar *dir = g_dir_make_tmp ("ib-ckpt-XXXXXX", &error);
  gchar *path = ckpt_path (dir, "config.json");
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *text = g_strdup_printf ("{\"model_type\": \"instructblip\", "
                                   "\"text_config\": {\"model_type\": \"t5\", "
                                   "%s}}",
        cases[i].text);
    IbModelConfig *cfg;

    ckpt_write_text (path, text);
    cfg = ib_model_config_load (dir, &error);
    g_assert_no_error (error);
    g_assert_cmpint (cfg->text.act, ==, cases[i].act);
    g_assert_cmpint (cfg->text.gated_ffn, ==, cases[i].gated);
    ib_model_config_free (cfg);
    g_free (text);
  }
  g_free (path);
  ckpt_remove_dir (dir);
}

/* image_token_id / video_token_id (transformers' attribute_map names)
 * stand for *_token_index; null means none. */
static void
test_token_index_alias (void)
{
  GError *error = NULL;
  gchar *dir = g_dir_make_tmp ("ib-ckpt-XXXXXX", &error);
  gchar *path = ckpt_path (dir, "config.json");
  IbModelConfig *cfg;

  ckpt_write_text (path,
      "{\"model_type\": \"instructblipvideo\", "
      "\"image_token_id\": 7, \"video_token_index\": "
      "null, \"text_config\": {\"model_type\": "
      "\"llama\", \"eos_token_id\": [2, 3]}}");
  cfg = ib_model_config_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (cfg->model_type, ==, IB_MODEL_INSTRUCTBLIP_VIDEO);
  g_assert_cmpint (cfg->image_token_index, ==, 7);
  g_assert_cmpint (cfg->video_token_index, ==, -1);
  g_assert_cmpuint (cfg->text.n_eos_token_ids, ==, 2);
  g_assert_cmpint (cfg->text.eos_token_ids[1], ==, 3);
  ib_model_config_free (cfg);
  g_free (path);
  ckpt_remove_dir (dir);
}

/* A config.json that must fail: @body is the whole file. */
static void
expect_config_error (const char *body, gint code, const char *sub1,
    const char *sub2)
{
  GError *error = NULL;
  gchar *dir = g_dir_make_tmp ("ib-ckpt-XXXXXX", &error);
  gchar *path = ckpt_path (dir, "config.json");

  g_assert_no_error (error);
  ckpt_write_text (path, body);
  g_assert_null (ib_model_config_load (dir, &error));
  ckpt_assert_error (&error, code, "config.json", sub1, sub2, NULL);
  g_free (path);
  ckpt_remove_dir (dir);
}

#define TOP "{\"model_type\": \"instructblip\", "
#define LLAMA "\"text_config\": {\"model_type\": \"llama\""

static void
test_bad_fields (void)
{
  expect_config_error (TOP
      "\"vision_config\": {\"hidden_size\": \"big\"}, " LLAMA "}}",
      IB_ERROR_FORMAT, "vision_config.hidden_size", "positive integer");
  expect_config_error (TOP
      "\"vision_config\": {\"num_hidden_layers\": 0}, " LLAMA "}}",
      IB_ERROR_FORMAT, "vision_config.num_hidden_layers", "positive");
  expect_config_error (TOP
      "\"qformer_config\": {\"num_attention_heads\": 5}, " LLAMA "}}",
      IB_ERROR_FORMAT, "qformer_config.hidden_size", "multiple");
  expect_config_error (TOP "\"vision_config\": {\"qkv_bias\": 1}, " LLAMA "}}",
      IB_ERROR_FORMAT, "vision_config.qkv_bias", "true or false");
  expect_config_error (TOP
      "\"vision_config\": {\"hidden_act\": \"mish\"}, " LLAMA "}}",
      IB_ERROR_UNSUPPORTED, "vision_config.hidden_act", "mish");
  expect_config_error (TOP
      "\"vision_config\": {\"image_size\": [224, 160]}, " LLAMA "}}",
      IB_ERROR_UNSUPPORTED, "vision_config.image_size", "square");
  expect_config_error (TOP LLAMA ", \"num_key_value_heads\": 5}}",
      IB_ERROR_FORMAT, "text_config.num_attention_heads", "multiple");
  expect_config_error (TOP LLAMA ", \"rope_scaling\": {\"type\": \"linear\", "
                                 "\"factor\": 2.0}}}",
      IB_ERROR_UNSUPPORTED, "text_config.rope_scaling", "linear");
  expect_config_error (TOP LLAMA ", \"rope_parameters\": {\"rope_type\": "
                                 "\"yarn\"}}}",
      IB_ERROR_UNSUPPORTED, "text_config.rope_parameters.rope_type", "yarn");
  expect_config_error (TOP LLAMA ", \"eos_token_id\": [2, \"x\"]}}",
      IB_ERROR_FORMAT, "text_config.eos_token_id", "token id");
  expect_config_error (TOP LLAMA ", \"rms_norm_eps\": -1}}", IB_ERROR_FORMAT,
      "text_config.rms_norm_eps", "> 0");
  expect_config_error (TOP "\"text_config\": {\"model_type\": \"t5\", "
                           "\"feed_forward_proj\": \"gated-foo\"}}",
      IB_ERROR_UNSUPPORTED, "text_config.feed_forward_proj", "gated-foo");
  expect_config_error (TOP "\"text_config\": {\"model_type\": \"t5\", "
                           "\"feed_forward_proj\": \"a-b-c\"}}",
      IB_ERROR_FORMAT, "text_config.feed_forward_proj", "gated-{ACT}");
  expect_config_error (TOP "\"text_config\": {}}", IB_ERROR_FORMAT,
      "text_config.model_type", "missing");
  expect_config_error (TOP "\"text_config\": 3}", IB_ERROR_FORMAT,
      "text_config", "object");
  expect_config_error ("{\"model_type\": \"blip-2\"}", IB_ERROR_UNSUPPORTED,
      "model_type", "blip-2");
  expect_config_error ("{\"num_query_tokens\": 32}", IB_ERROR_FORMAT,
      "model_type", "missing");
  expect_config_error (TOP "\"num_query_tokens\": 32}", IB_ERROR_UNSUPPORTED,
      "text_config", "OPT");
  expect_config_error ("[1, 2]", IB_ERROR_FORMAT, "invalid JSON", "object");
}

/* The optional side files: invalid ones fail, naming the file. */
static void
test_bad_side_files (void)
{
  static const struct
  {
    const char *file, *text;
    gint code;
    const char *sub;
  } cases[] = {
    { "generation_config.json", "{\"num_beams\": 0}", IB_ERROR_FORMAT,
        "num_beams" },
    { "generation_config.json", "{\"early_stopping\": \"sometimes\"}",
        IB_ERROR_FORMAT, "early_stopping" },
    { "generation_config.json", "{\"eos_token_id\": [1,2,3,4,5,6,7,8,9]}",
        IB_ERROR_UNSUPPORTED, "eos_token_id" },
    { "generation_config.json", "{\"max_length\": 2", IB_ERROR_FORMAT,
        "invalid JSON" },
    { "preprocessor_config.json", "{\"size\": {\"longest_edge\": 8}}",
        IB_ERROR_UNSUPPORTED, "size" },
    { "preprocessor_config.json", "{\"image_std\": [1, 0, 1]}", IB_ERROR_FORMAT,
        "image_std" },
    { "preprocessor_config.json", "{\"resample\": 9}", IB_ERROR_UNSUPPORTED,
        "resample" },
    { "preprocessor_config.json", "{\"do_center_crop\": true}", IB_ERROR_FORMAT,
        "crop_size" },
    { "video_preprocessor_config.json", "{\"size\": {\"height\": -3}}",
        IB_ERROR_FORMAT, "size.height" },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *dir = ckpt_copy_fixture ("llama-f16");
    gchar *path = ckpt_path (dir, cases[i].file);
    GError *error = NULL;

    ckpt_write_text (path, cases[i].text);
    g_assert_null (ib_model_config_load (dir, &error));
    ckpt_assert_error (&error, cases[i].code, cases[i].file, cases[i].sub,
        NULL);
    g_free (path);
    ckpt_remove_dir (dir);
  }
}

/* Other valid side-file forms. */
static void
test_side_file_forms (void)
{
  gchar *dir = ckpt_copy_fixture ("llama-f16");
  gchar *pre = ckpt_path (dir, "preprocessor_config.json");
  gchar *gen = ckpt_path (dir, "generation_config.json");
  GError *error = NULL;
  IbModelConfig *cfg;

  ckpt_write_text (pre,
      "{\"size\": {\"shortest_edge\": 224}, \"resample\": "
      "\"bilinear\", \"do_center_crop\": true, "
      "\"crop_size\": 224, \"image_mean\": 0.5, "
      "\"image_std\": [0.25], \"do_rescale\": false}");
  ckpt_write_text (gen,
      "{\"eos_token_id\": 7, \"pad_token_id\": null, "
      "\"early_stopping\": \"never\", \"do_sample\": true, "
      "\"top_p\": 0.9, \"temperature\": 0.7, "
      "\"max_new_tokens\": 12}");
  cfg = ib_model_config_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (cfg->image_processor.size_mode, ==, IB_RESIZE_SHORTEST_EDGE);
  g_assert_cmpint (cfg->image_processor.shortest_edge, ==, 224);
  g_assert_cmpint (cfg->image_processor.longest_edge, ==, -1);
  g_assert_cmpint (cfg->image_processor.resample, ==, IB_RESAMPLE_BILINEAR);
  g_assert_true (cfg->image_processor.do_center_crop);
  g_assert_cmpint (cfg->image_processor.crop_height, ==, 224);
  g_assert_cmpint (cfg->image_processor.crop_width, ==, 224);
  g_assert_cmpfloat (cfg->image_processor.image_mean[1], ==, 0.5);
  g_assert_cmpfloat (cfg->image_processor.image_std[2], ==, 0.25);
  g_assert_false (cfg->image_processor.do_rescale);
  g_assert_cmpuint (cfg->generation.n_eos_token_ids, ==, 1);
  g_assert_cmpint (cfg->generation.eos_token_ids[0], ==, 7);
  g_assert_cmpint (cfg->generation.pad_token_id, ==, -1);
  /* absent: the text config's */
  g_assert_cmpint (cfg->generation.bos_token_id, ==, 1);
  g_assert_cmpint (cfg->generation.early_stopping, ==, IB_EARLY_STOPPING_NEVER);
  g_assert_true (cfg->generation.do_sample);
  g_assert_cmpfloat (cfg->generation.top_p, ==, 0.9);
  g_assert_cmpfloat (cfg->generation.temperature, ==, 0.7);
  g_assert_cmpint (cfg->generation.max_new_tokens, ==, 12);
  ib_model_config_free (cfg);
  g_free (pre);
  g_free (gen);
  ckpt_remove_dir (dir);
}

int
main (int argc, char **argv)
{
  static const char *legacy[] = { "vicuna-7b", "flan-t5-xl", "t5-defaults",
    "llama-defaults", NULL };
  guint i;

  g_test_init (&argc, &argv, NULL);
  for (i = 0; ckpt_model_fixtures[i] != NULL; i++) {
    gchar *path =
        g_strdup_printf ("/config/fixture/%s", ckpt_model_fixtures[i]);

    g_test_add_data_func (path, ckpt_model_fixtures[i], test_fixture);
    g_free (path);
  }
  for (i = 0; legacy[i] != NULL; i++) {
    gchar *path = g_strdup_printf ("/config/legacy/%s", legacy[i]);

    g_test_add_data_func (path, legacy[i], test_legacy);
    g_free (path);
  }
  g_test_add_func ("/config/t5-activation", test_t5_activation);
  g_test_add_func ("/config/token-index-alias", test_token_index_alias);
  g_test_add_func ("/config/bad-fields", test_bad_fields);
  g_test_add_func ("/config/bad-side-files", test_bad_side_files);
  g_test_add_func ("/config/side-file-forms", test_side_file_forms);
  return g_test_run ();
}
