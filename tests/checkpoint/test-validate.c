/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Expected tensors from the config match every fixture; tied weights and extras are tolerated. */
#include "ckpt-test-util.h"

#include <string.h>

/* The fixture opens and validates; every expected tensor resolves to one
 * of the expected shape, and every tensor of the file is expected (or a
 * known ignorable buffer). */
static void
test_fixture (gconstpointer data)
{
  gchar *dir = ckpt_fixture_path (data);
  GError *error = NULL;
  IbCheckpoint *ckpt = ib_checkpoint_open (dir, &error);
  const IbSafetensors *st;
  GPtrArray *expected;
  GHashTable *names;
  guint i;

  g_assert_no_error (error);
  g_assert_nonnull (ckpt);
  st = ib_checkpoint_get_safetensors (ckpt);
  expected = ib_expected_tensors (ib_checkpoint_get_config (ckpt));
  names = g_hash_table_new (g_str_hash, g_str_equal);
  for (i = 0; i < expected->len; i++) {
    const IbExpectedTensor *e = g_ptr_array_index (expected, i);
    const IbTensor *t = ib_expected_resolve (e, st);

    g_hash_table_add (names, e->name);
    if (e->optional && t == NULL)
      continue;
    g_assert_nonnull (t);
    g_assert_true (ib_checkpoint_get_tensor (ckpt, e->name) == t);
    g_assert_cmpuint (t->n_dims, ==, e->n_dims);
    g_assert_cmpmem (t->shape, t->n_dims * 8, e->shape, e->n_dims * 8);
  }
  for (i = 0; i < ib_safetensors_get_n_tensors (st); i++) {
    const IbTensor *t = ib_safetensors_get_nth (st, i);

    if (!g_hash_table_contains (names, t->name))
      g_assert_true (ib_expected_is_ignored (t->name));
  }
  g_hash_table_unref (names);
  g_ptr_array_unref (expected);
  ib_checkpoint_free (ckpt);
  g_free (dir);
}

static const IbTensor *
tensor_of (IbCheckpoint *ckpt, const char *name)
{
  return ib_safetensors_get (ib_checkpoint_get_safetensors (ckpt), name);
}

/* lm_head: its own where the file has it, else the tied embedding. */
static void
test_tied (void)
{
  static const struct
  {
    const char *fixture, *lm_head;
  } cases[] = {
    { "llama-f32", "language_model.lm_head.weight" },
    { "video-llama-f16", "language_model.model.embed_tokens.weight" },
    { "t5-bf16", "language_model.shared.weight" },
    { "t5-legacy-f16", "language_model.lm_head.weight" },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *dir = ckpt_fixture_path (cases[i].fixture);
    GError *error = NULL;
    IbCheckpoint *ckpt = ib_checkpoint_open (dir, &error);

    g_assert_no_error (error);
    g_assert_true (
        ib_checkpoint_get_tensor (ckpt, "language_model.lm_head.weight") ==
        tensor_of (ckpt, cases[i].lm_head));
    g_assert_null (ib_checkpoint_get_tensor (ckpt, "nope"));
    ib_checkpoint_free (ckpt);
    g_free (dir);
  }
}

/* Cross-attention exactly on layers i % cross_attention_frequency == 0,
 * the query FFN on every layer. */
static void
test_qformer_layout (void)
{
  gchar *dir = ckpt_fixture_path ("llama-f16");
  GError *error = NULL;
  IbModelConfig *cfg = ib_model_config_load (dir, &error);
  GPtrArray *expected;
  GHashTable *names;
  guint i;

  g_assert_no_error (error);
  g_assert_cmpint (cfg->qformer.n_layers, ==, 4);
  g_assert_cmpint (cfg->qformer.cross_attention_frequency, ==, 2);
  expected = ib_expected_tensors (cfg);
  names = g_hash_table_new (g_str_hash, g_str_equal);
  for (i = 0; i < expected->len; i++)
    g_hash_table_add (names,
        ((IbExpectedTensor *) g_ptr_array_index (expected, i))->name);
  for (i = 0; i < 4; i++) {
    gchar *cross = g_strdup_printf (
        "qformer.encoder.layer.%u.crossattention.attention.key.weight", i);
    gchar *query =
        g_strdup_printf ("qformer.encoder.layer.%u.output_query.LayerNorm.bias",
            i);

    g_assert_cmpint (g_hash_table_contains (names, cross), ==, i % 2 == 0);
    g_assert_true (g_hash_table_contains (names, query));
    g_free (cross);
    g_free (query);
  }
  g_hash_table_unref (names);
  g_ptr_array_unref (expected);
  ib_model_config_free (cfg);
  g_free (dir);
}

/* An extra unknown tensor is reported (g_debug) but accepted. */
static void
test_extra_tensor (void)
{
  gchar *dir = ckpt_copy_fixture ("llama-f16");
  gchar *st_path = ckpt_path (dir, "model.safetensors");
  GError *error = NULL;
  IbCheckpoint *ckpt;

  ckpt_st_repack (st_path, NULL, "vision_model.some_new_buffer", 5);
  ckpt = ib_checkpoint_open (dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tensor_of (ckpt, "vision_model.some_new_buffer"));
  ib_checkpoint_free (ckpt);
  g_free (st_path);
  ckpt_remove_dir (dir);
}

static void
set_tie (JsonObject *root, gpointer data)
{
  json_object_set_boolean_member (json_object_get_object_member (root,
                                      "text_config"),
      "tie_word_embeddings", GPOINTER_TO_INT (data));
}

/* A LLaMA file without lm_head is fine only when tied. */
static void
test_untied_lm_head_missing (void)
{
  gchar *dir = ckpt_copy_fixture ("llama-f16");
  gchar *st_path = ckpt_path (dir, "model.safetensors");
  GError *error = NULL;
  IbCheckpoint *ckpt;

  ckpt_st_repack (st_path, "language_model.lm_head.weight", NULL, 0);
  g_assert_null (ib_checkpoint_open (dir, &error));
  ckpt_assert_error (&error, IB_ERROR_FORMAT, "model.safetensors",
      "language_model.lm_head.weight is missing", "tie_word_embeddings", NULL);
  ckpt_edit_json (dir, "config.json", set_tie, GINT_TO_POINTER (TRUE));
  ckpt = ib_checkpoint_open (dir, &error);
  g_assert_no_error (error);
  g_assert_true (
      ib_checkpoint_get_tensor (ckpt, "language_model.lm_head.weight") ==
      tensor_of (ckpt, "language_model.model.embed_tokens.weight"));
  ib_checkpoint_free (ckpt);
  g_free (st_path);
  ckpt_remove_dir (dir);
}

int
main (int argc, char **argv)
{
  guint i;

  g_test_init (&argc, &argv, NULL);
  for (i = 0; ckpt_model_fixtures[i] != NULL; i++) {
    gchar *path =
        g_strdup_printf ("/validate/fixture/%s", ckpt_model_fixtures[i]);

    g_test_add_data_func (path, ckpt_model_fixtures[i], test_fixture);
    g_free (path);
  }
  g_test_add_func ("/validate/tied-lm-head", test_tied);
  g_test_add_func ("/validate/qformer-layout", test_qformer_layout);
  g_test_add_func ("/validate/extra-tensor", test_extra_tensor);
  g_test_add_func ("/validate/untied-lm-head-missing",
      test_untied_lm_head_missing);
  return g_test_run ();
}
