/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Broken copies of the fixtures, made here, fail with the right code and a message naming file and problem. */
#include "ckpt-test-util.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A temp copy of a fixture, and paths in it. */
typedef struct
{
  gchar *dir;
  gchar *config; /* config.json */
  gchar *st; /* model.safetensors */
  gchar *index; /* model.safetensors.index.json */
  gchar *shard1, *shard2; /* of llama-f32-sharded */
} Fix;

static void
fix_setup (Fix *f, gconstpointer data)
{
  f->dir = ckpt_copy_fixture (data ? data : "llama-f32");
  f->config = ckpt_path (f->dir, "config.json");
  f->st = ckpt_path (f->dir, "model.safetensors");
  f->index = ckpt_path (f->dir, "model.safetensors.index.json");
  f->shard1 = ckpt_path (f->dir, "model-00001-of-00002.safetensors");
  f->shard2 = ckpt_path (f->dir, "model-00002-of-00002.safetensors");
}

static void
fix_teardown (Fix *f, gconstpointer data)
{
  (void) data;
  g_free (f->config);
  g_free (f->st);
  g_free (f->index);
  g_free (f->shard1);
  g_free (f->shard2);
  ckpt_remove_dir (f->dir);
}

/* ib_checkpoint_open must fail; returns its error. */
static GError *
open_fails (Fix *f)
{
  GError *error = NULL;

  g_assert_null (ib_checkpoint_open (f->dir, &error));
  g_assert_nonnull (error);
  return error;
}

/* ib_checkpoint_open fails with @code and a message holding the strings */
#define OPEN_FAILS(f, code, ...)                \
  G_STMT_START                                  \
  {                                             \
    GError *e_ = open_fails (f);                \
    ckpt_assert_error (&e_, code, __VA_ARGS__); \
  }                                             \
  G_STMT_END

static gchar *
read_file (const char *path, gsize *len)
{
  gchar *contents;

  g_assert_true (g_file_get_contents (path, &contents, len, NULL));
  return contents;
}

static void
write_file (const char *path, const gchar *contents, gsize len)
{
  g_assert_true (g_file_set_contents (path, contents, (gssize) len, NULL));
}

/* --- config.json --- */

static void
test_config_missing (Fix *f, gconstpointer data)
{
  (void) data;
  g_unlink (f->config);
  OPEN_FAILS (f, IB_ERROR_IO, f->config, "No such file", NULL);
}

static void
test_config_invalid_json (Fix *f, gconstpointer data)
{
  (void) data;
  ckpt_write_text (f->config, "{\"model_type\": \"instructblip\",");
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->config, "invalid JSON", NULL);
}

static void
set_text_type (JsonObject *root, gpointer type)
{
  json_object_set_string_member (json_object_get_object_member (root,
                                     "text_config"),
      "model_type", type);
}

static void
test_config_unknown_text_model (Fix *f, gconstpointer data)
{
  (void) data;
  ckpt_edit_json (f->dir, "config.json", set_text_type, (gpointer) "opt");
  OPEN_FAILS (f, IB_ERROR_UNSUPPORTED, f->config, "text_config.model_type",
      "\"opt\"", "not a supported text model", NULL);
}

/* --- weights files --- */

static void
test_weights_missing (Fix *f, gconstpointer data)
{
  gchar *bin;

  (void) data;
  g_unlink (f->st);
  OPEN_FAILS (f, IB_ERROR_IO, f->dir,
      "no model.safetensors or model.safetensors.index.json", NULL);
  bin = ckpt_path (f->dir, "pytorch_model.bin");
  ckpt_write_text (bin, "pickle");
  OPEN_FAILS (f, IB_ERROR_UNSUPPORTED, f->dir, "pytorch_model.bin",
      "convert them to safetensors", NULL);
  g_free (bin);
}

static void
test_no_such_dir (void)
{
  GError *error = NULL;

  g_assert_null (ib_safetensors_open_dir ("/nonexistent/model", &error));
  ckpt_assert_error (&error, IB_ERROR_IO, "/nonexistent/model",
      "no such model directory", NULL);
}

static void
test_truncated (Fix *f, gconstpointer data)
{
  gsize len;
  gchar *c = read_file (f->st, &len);

  (void) data;
  write_file (f->st, c, len - 100);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st, "lie outside the file's data section",
      "truncated", NULL);
  g_free (c);
}

static void
test_truncated_in_header (Fix *f, gconstpointer data)
{
  gsize len;
  gchar *c = read_file (f->st, &len);

  (void) data;
  write_file (f->st, c, 100);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st, "header length",
      "exceeds the file size (100 bytes)", NULL);
  write_file (f->st, c, 5);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st,
      "the file is 5 bytes, too short for the 8-byte header length", NULL);
  write_file (f->st, c, 0);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st, "the file is 0 bytes", NULL);
  g_free (c);
}

static void
test_header_length_too_large (Fix *f, gconstpointer data)
{
  gsize len;
  gchar *c = read_file (f->st, &len);
  guint64 n;

  (void) data;
  n = GUINT64_TO_LE ((guint64) len);
  memcpy (c, &n, 8);
  write_file (f->st, c, len);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st, "exceeds the file size", NULL);
  n = G_MAXUINT64;
  memcpy (c, &n, 8);
  write_file (f->st, c, len);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st, "exceeds the file size", NULL);
  g_free (c);
}

static void
test_header_not_json (Fix *f, gconstpointer data)
{
  gsize len;
  gchar *c = read_file (f->st, &len);

  (void) data;
  memcpy (c + 8, "{\"a\": [1, 2", 11);
  write_file (f->st, c, len);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st, "header is not valid JSON", NULL);
  memcpy (c + 8, "xxxx", 4);
  write_file (f->st, c, len);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st, "not a safetensors file", NULL);
  g_free (c);
}

static void
set_offsets (JsonObject *e, gint64 begin, gint64 end)
{
  JsonArray *a = json_array_new ();

  json_array_add_int_element (a, begin);
  json_array_add_int_element (a, end);
  json_object_set_array_member (e, "data_offsets", a);
}

static gint64
offset (JsonObject *e, guint i)
{
  return json_array_get_int_element (json_object_get_array_member (e,
                                         "data_offsets"),
      i);
}

static void
test_offsets_outside (Fix *f, gconstpointer data)
{
  CkptSt *st = ckpt_st_read (f->st);
  JsonObject *e = ckpt_st_entry (st, "language_projection.bias");
  gint64 size = offset (e, 1) - offset (e, 0);
  gint64 data_len = (gint64) g_bytes_get_size (st->data);

  (void) data;
  set_offsets (e, data_len, data_len + size);
  ckpt_st_write (st, f->st);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st, "language_projection.bias",
      "lie outside the file's data section", NULL);
  ckpt_st_free (st);
}

/* The last tensor moved back by its own size onto its predecessor. */
static void
test_overlap (Fix *f, gconstpointer data)
{
  CkptSt *st = ckpt_st_read (f->st);
  JsonObject *root = json_node_get_object (st->header);
  GList *names = json_object_get_members (root), *l;
  const char *last = NULL;
  gint64 max_begin = -1;
  JsonObject *e;

  (void) data;
  for (l = names; l != NULL; l = l->next) {
    if (strcmp (l->data, "__metadata__") == 0)
      continue;
    e = json_object_get_object_member (root, l->data);
    if (offset (e, 0) > max_begin) {
      max_begin = offset (e, 0);
      last = l->data;
    }
  }
  e = ckpt_st_entry (st, last);
  set_offsets (e, 2 * offset (e, 0) - offset (e, 1), offset (e, 0));
  ckpt_st_write (st, f->st);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st, last, "overlap", NULL);
  g_list_free (names);
  ckpt_st_free (st);
}

/* An entry dropped from the header but not from the data. */
static void
test_gap (Fix *f, gconstpointer data)
{
  CkptSt *st = ckpt_st_read (f->st);

  (void) data;
  json_object_remove_member (json_node_get_object (st->header),
      "vision_model.post_layernorm.bias");
  ckpt_st_write (st, f->st);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st, "belong to no tensor", NULL);
  ckpt_st_free (st);
}

static void
test_trailing_garbage (Fix *f, gconstpointer data)
{
  gsize len;
  gchar *c = read_file (f->st, &len);
  gchar *more = g_malloc0 (len + 16);

  (void) data;
  memcpy (more, c, len);
  write_file (f->st, more, len + 16);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st,
      "16 bytes of trailing data after the last tensor", NULL);
  g_free (more);
  g_free (c);
}

static void
set_shape1 (JsonObject *e, gint64 n)
{
  JsonArray *a = json_array_new ();

  json_array_add_int_element (a, n);
  json_object_set_array_member (e, "shape", a);
}

static void
test_size_mismatch (Fix *f, gconstpointer data)
{
  CkptSt *st = ckpt_st_read (f->st);

  (void) data;
  set_shape1 (ckpt_st_entry (st, "vision_model.post_layernorm.weight"), 13);
  ckpt_st_write (st, f->st);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st, "vision_model.post_layernorm.weight",
      "hold 48 bytes", "dtype F32 and shape [13] need 52", NULL);
  ckpt_st_free (st);
}

/* Rewrites the dtype (and shape, keeping the byte count) of one tensor. */
static void
retype (Fix *f, const char *name, const char *dtype, gint64 n)
{
  CkptSt *st = ckpt_st_read (f->st);
  JsonObject *e = ckpt_st_entry (st, name);

  json_object_set_string_member (e, "dtype", dtype);
  set_shape1 (e, n);
  ckpt_st_write (st, f->st);
  ckpt_st_free (st);
}

static void
test_unknown_dtype (Fix *f, gconstpointer data)
{
  (void) data;
  retype (f, "vision_model.post_layernorm.weight", "Q4_K", 48);
  OPEN_FAILS (f, IB_ERROR_UNSUPPORTED, f->st,
      "vision_model.post_layernorm.weight", "unsupported dtype \"Q4_K\"", NULL);
}

static void
test_unsupported_dtype (Fix *f, gconstpointer data)
{
  GError *error = NULL;
  IbSafetensors *st;

  (void) data;
  retype (f, "vision_model.post_layernorm.weight", "F64", 6);
  /* the file itself is fine: only using it as a weight is not */
  st = ib_safetensors_open_dir (f->dir, &error);
  g_assert_no_error (error);
  ib_safetensors_free (st);
  OPEN_FAILS (f, IB_ERROR_UNSUPPORTED, f->st,
      "vision_model.post_layernorm.weight", "unsupported dtype F64",
      "F32, F16, BF16", NULL);
}

static void
test_wrong_dtype (Fix *f, gconstpointer data)
{
  (void) data;
  retype (f, "qformer.embeddings.layernorm.bias", "I64", 4);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st, "qformer.embeddings.layernorm.bias",
      "has dtype I64", "a weight must be F32, F16 or BF16", NULL);
}

static void
test_missing_tensor (Fix *f, gconstpointer data)
{
  const char *name = "qformer.encoder.layer.2.crossattention.output.dense.bias";

  (void) data;
  ckpt_st_repack (f->st, name, NULL, 0);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st, name, "is missing", NULL);
}

static void
set_vision_intermediate (JsonObject *root, gpointer data)
{
  json_object_set_int_member (json_object_get_object_member (root,
                                  "vision_config"),
      "intermediate_size", GPOINTER_TO_INT (data));
}

static void
set_cross_frequency (JsonObject *root, gpointer data)
{
  json_object_set_int_member (json_object_get_object_member (root,
                                  "qformer_config"),
      "cross_attention_frequency", GPOINTER_TO_INT (data));
}

static void
test_wrong_shape (Fix *f, gconstpointer data)
{
  (void) data;
  ckpt_edit_json (f->dir, "config.json", set_vision_intermediate,
      GINT_TO_POINTER (38));
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st,
      "vision_model.encoder.layers.0.mlp.fc1.weight has shape [37, 12] but "
      "config.json (vision_config.intermediate_size=38) needs [38, 12]",
      NULL);
}

static void
test_wrong_layout (Fix *f, gconstpointer data)
{
  (void) data;
  /* cross-attention on every layer: layer 1 has none in the file */
  ckpt_edit_json (f->dir, "config.json", set_cross_frequency,
      GINT_TO_POINTER (1));
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st,
      "qformer.encoder.layer.1.crossattention.attention.query.weight",
      "is missing", NULL);
}

/* A whole-tensor shape contradiction: transposed projection. */
static void
test_transposed (Fix *f, gconstpointer data)
{
  CkptSt *st = ckpt_st_read (f->st);
  JsonObject *e = ckpt_st_entry (st, "language_projection.weight");
  JsonArray *a = json_array_new ();

  (void) data;
  json_array_add_int_element (a, 8);
  json_array_add_int_element (a, 20);
  json_object_set_array_member (e, "shape", a);
  ckpt_st_write (st, f->st);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st,
      "language_projection.weight has shape [8, 20] but config.json "
      "(text_config.hidden_size=20, qformer_config.hidden_size=8) needs "
      "[20, 8]",
      NULL);
  ckpt_st_free (st);
}

/* --- sharded checkpoints --- */

static void
remap (JsonObject *root, gpointer data)
{
  gchar **kv = data;
  JsonObject *map = json_object_get_object_member (root, "weight_map");

  json_object_set_string_member (map, kv[0], kv[1]);
}

static const char *
a_tensor_in (const char *index_path, const char *shard)
{
  static gchar name[256];
  JsonNode *root = ckpt_load_json (index_path);
  JsonObject *map =
      json_object_get_object_member (json_node_get_object (root), "weight_map");
  GList *names = json_object_get_members (map), *l;

  name[0] = '\0';
  for (l = names; l != NULL; l = l->next)
    if (strcmp (json_object_get_string_member (map, l->data), shard) == 0)
      g_strlcpy (name, l->data, sizeof name);
  g_list_free (names);
  json_node_unref (root);
  g_assert_cmpstr (name, !=, "");
  return name;
}

static void
test_index_missing_shard (Fix *f, gconstpointer data)
{
  const char *kv[2];

  (void) data;
  kv[0] = a_tensor_in (f->index, "model-00002-of-00002.safetensors");
  kv[1] = "model-00003-of-00003.safetensors";
  ckpt_edit_json (f->dir, "model.safetensors.index.json", remap, (gpointer) kv);
  OPEN_FAILS (f, IB_ERROR_IO, "model-00003-of-00003.safetensors does not exist",
      "model.safetensors.index.json", kv[0], NULL);
  /* or the shard file is simply gone */
  fix_teardown (f, data);
  fix_setup (f, data);
  g_unlink (f->shard2);
  OPEN_FAILS (f, IB_ERROR_IO, f->shard2, "does not exist", NULL);
}

static void
test_index_wrong_shard (Fix *f, gconstpointer data)
{
  const char *kv[2];

  (void) data;
  kv[0] = a_tensor_in (f->index, "model-00002-of-00002.safetensors");
  kv[1] = "model-00001-of-00002.safetensors";
  ckpt_edit_json (f->dir, "model.safetensors.index.json", remap, (gpointer) kv);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->index, kv[0],
      "to model-00001-of-00002.safetensors, but it is in", f->shard2, NULL);
}

static void
test_index_tensor_missing_from_shard (Fix *f, gconstpointer data)
{
  const char *kv[2] = { "qformer.not_there.weight",
    "model-00001-of-00002.safetensors" };

  (void) data;
  ckpt_edit_json (f->dir, "model.safetensors.index.json", remap, (gpointer) kv);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->index,
      "maps tensor qformer.not_there.weight to "
      "model-00001-of-00002.safetensors, but "
      "model-00001-of-00002.safetensors has no tensor "
      "qformer.not_there.weight",
      NULL);
}

static void
test_index_bad_path (Fix *f, gconstpointer data)
{
  const char *kv[2] = { "language_projection.bias", "../model.safetensors" };

  (void) data;
  ckpt_edit_json (f->dir, "model.safetensors.index.json", remap, (gpointer) kv);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->index,
      "\"../model.safetensors\" is not a file name inside the model "
      "directory",
      NULL);
}

static void
test_index_invalid (Fix *f, gconstpointer data)
{
  (void) data;
  ckpt_write_text (f->index, "{\"weight_map\": ");
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->index, "invalid JSON", NULL);
  ckpt_write_text (f->index, "{\"metadata\": {}}");
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->index, "weight_map is missing", NULL);
}

static void
test_shard_truncated (Fix *f, gconstpointer data)
{
  gsize len;
  gchar *c = read_file (f->shard2, &len);

  (void) data;
  write_file (f->shard2, c, len / 2);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->shard2, "truncated", NULL);
  g_free (c);
}

static void
test_duplicate_across_shards (Fix *f, gconstpointer data)
{
  const char *name;

  (void) data;
  name = a_tensor_in (f->index, "model-00001-of-00002.safetensors");
  ckpt_st_repack (f->shard2, NULL, name, 3);
  OPEN_FAILS (f, IB_ERROR_FORMAT, name, "is in both", f->shard1, f->shard2,
      NULL);
}

/* --- hostile JSON (issue 12) --- */

/* {"a": [[[...]]]} with @n levels below the root */
static gchar *
deep_json (guint n)
{
  GString *s = g_string_new ("{\"a\": ");
  guint i;

  for (i = 0; i < n; i++)
    g_string_append_c (s, '[');
  for (i = 0; i < n; i++)
    g_string_append_c (s, ']');
  g_string_append_c (s, '}');
  return g_string_free (s, FALSE);
}

/* 100 000 levels overflowed the stack in json-glib's recursive parser */
static void
test_json_nested (Fix *f, gconstpointer data)
{
  static const char *const files[] = { "config.json", "generation_config.json",
    "preprocessor_config.json" };
  gchar *deep = deep_json (100000);
  gsize len, deep_len = strlen (deep);
  gchar *c = read_file (f->st, &len);
  gchar *st_bytes;
  guint64 n;
  guint i;

  (void) data;
  for (i = 0; i < G_N_ELEMENTS (files); i++) {
    gchar *path = ckpt_path (f->dir, files[i]);
    gchar *saved = read_file (path, &len);

    ckpt_write_text (path, deep);
    OPEN_FAILS (f, IB_ERROR_FORMAT, path, "invalid JSON",
        "nested more than 64 levels deep", NULL);
    write_file (path, saved, len);
    g_free (saved);
    g_free (path);
  }
  /* the safetensors header: 8-byte length, then the JSON */
  st_bytes = g_malloc (8 + deep_len);
  n = GUINT64_TO_LE ((guint64) deep_len);
  memcpy (st_bytes, &n, 8);
  memcpy (st_bytes + 8, deep, deep_len);
  write_file (f->st, st_bytes, 8 + deep_len);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->st, "the header is not valid JSON",
      "nested more than 64 levels deep", NULL);
  g_free (st_bytes);
  g_free (c);
  g_free (deep);
  /* 63 levels below the root are fine (the member is simply unknown) */
  deep = deep_json (63);
  ckpt_write_text (f->config, deep);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->config, "model_type is missing", NULL);
  g_free (deep);
}

static void
test_index_nested (Fix *f, gconstpointer data)
{
  gchar *deep = deep_json (100000);

  (void) data;
  ckpt_write_text (f->index, deep);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->index, "nested more than 64 levels deep",
      NULL);
  g_free (deep);
}

/* an empty file printed a Json-CRITICAL (fatal in the tests) */
static void
test_json_empty (Fix *f, gconstpointer data)
{
  gchar *gen = ckpt_path (f->dir, "generation_config.json");

  (void) data;
  ckpt_write_text (gen, "");
  OPEN_FAILS (f, IB_ERROR_FORMAT, gen, "invalid JSON: it is empty", NULL);
  ckpt_write_text (f->config, " \n");
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->config, "invalid JSON: it is empty", NULL);
  g_free (gen);
}

/* config files are bounded (IB_JSON_MAX_CONFIG_BYTES, 16 MiB) before they
 * are read: a sparse file one byte over */
static void
test_json_too_large (Fix *f, gconstpointer data)
{
  FILE *fp;

  (void) data;
  fp = fopen (f->config, "w");
  g_assert_nonnull (fp);
  g_assert_cmpint (fseek (fp, 16 * 1024 * 1024, SEEK_SET), ==, 0);
  g_assert_cmpint (fputc ('}', fp), !=, EOF);
  fclose (fp);
  OPEN_FAILS (f, IB_ERROR_FORMAT, f->config,
      "the file has 16777217 bytes; a file of its kind may have at most "
      "16777216",
      NULL);
}

/* a path that exists but cannot be read is not reported as missing */
static void
test_unreadable (Fix *f, gconstpointer data)
{
  gchar *gen = ckpt_path (f->dir, "generation_config.json");

  (void) data;
  /* a symlink loop exists and fails with ELOOP even for root */
  g_unlink (gen);
  g_assert_cmpint (symlink ("generation_config.json", gen), ==, 0);
  OPEN_FAILS (f, IB_ERROR_IO, gen, "cannot read", g_strerror (ELOOP), NULL);
  g_unlink (gen);
  g_unlink (f->st);
  g_assert_cmpint (symlink ("model.safetensors", f->st), ==, 0);
  OPEN_FAILS (f, IB_ERROR_IO, f->st, "cannot read", g_strerror (ELOOP), NULL);
  g_unlink (f->st);
  if (geteuid () != 0) {
    /* a config.json the user may not read */
    g_assert_cmpint (g_chmod (f->config, 0), ==, 0);
    OPEN_FAILS (f, IB_ERROR_IO, f->config, "cannot read", g_strerror (EACCES),
        NULL);
  }
  g_free (gen);
}

/* --- sizes and ids beyond reason (issue 12) --- */

/* One member to set: @section ("" for the top level) . @key = @json. */
typedef struct
{
  const char *section;
  const char *key;
  const char *json;
} Edit;

static void
apply_edit (JsonObject *root, gpointer data)
{
  const Edit *e = data;
  JsonObject *obj =
      *e->section ? json_object_get_object_member (root, e->section) : root;

  json_object_set_member (obj, e->key, json_from_string (e->json, NULL));
}

/* Sets the member in @file of a fresh copy, expects the open to fail with
 * IB_ERROR_FORMAT and the message to hold @want and the file's path. */
static void
edit_fails (Fix *f, const char *file, Edit e, const char *want)
{
  gchar *path = ckpt_path (f->dir, file);
  gchar *saved;
  gsize len;

  saved = read_file (path, &len);
  ckpt_edit_json (f->dir, file, apply_edit, &e);
  OPEN_FAILS (f, IB_ERROR_FORMAT, want, NULL);
  write_file (path, saved, len);
  g_free (saved);
  g_free (path);
}

/* a billion layers built the expected-tensor list first: tens of GB */
static void
test_config_sizes (Fix *f, gconstpointer data)
{
  gchar *want;

  (void) data;
  edit_fails (f, "config.json",
      (Edit){ "text_config", "num_hidden_layers", "1000000000" },
      "text_config.num_hidden_layers is 1000000000, above the limit of 1024");
  edit_fails (f, "config.json",
      (Edit){ "vision_config", "hidden_size", "2000000000" },
      "vision_config.hidden_size is 2000000000, above the limit of 131072");
  edit_fails (f, "config.json", (Edit){ "text_config", "vocab_size", "1e9" },
      "text_config.vocab_size is 1000000000, above the limit of 4194304");
  edit_fails (f, "config.json", (Edit){ "", "num_query_tokens", "100000" },
      "num_query_tokens is 100000, above the limit of 4096");
  /* within the limits, but more layers than the weights hold */
  want = g_strdup_printf ("config.json: text_config.num_hidden_layers is "
                          "1000, but %s holds 2 such layers "
                          "(language_model.model.layers.N.*)",
      f->st);
  edit_fails (f, "config.json",
      (Edit){ "text_config", "num_hidden_layers", "1000" }, want);
  g_free (want);
  edit_fails (f, "config.json",
      (Edit){ "qformer_config", "num_hidden_layers", "5" },
      "qformer_config.num_hidden_layers is 5, but");
}

static void
test_t5_layers (Fix *f, gconstpointer data)
{
  (void) data;
  edit_fails (f, "config.json",
      (Edit){ "text_config", "num_decoder_layers", "1000" },
      "text_config.num_decoder_layers is 1000, but");
  edit_fails (f, "config.json", (Edit){ "text_config", "num_layers", "1000" },
      "text_config.num_layers is 1000, but");
}

/* num_beams 1000 failed every question with an internal message,
 * max_new_tokens 1e9 the start with "Could not use the OpenCL device" */
static void
test_generation_ranges (Fix *f, gconstpointer data)
{
  const char *g = "generation_config.json";

  (void) data;
  edit_fails (f, g, (Edit){ "", "num_beams", "1000" },
      "generation_config.json: num_beams is 1000, above the limit of 16");
  edit_fails (f, g, (Edit){ "", "max_new_tokens", "1e9" },
      "max_new_tokens is 1000000000, above the limit of 1024");
  edit_fails (f, g, (Edit){ "", "min_length", "5000" },
      "min_length is 5000, above the limit of 1024");
  edit_fails (f, g, (Edit){ "", "top_p", "1.5" },
      "top_p is 1.5, above the limit of 1");
  edit_fails (f, g, (Edit){ "", "temperature", "1e6" },
      "temperature is 1e+06, above the limit of 100");
  edit_fails (f, g, (Edit){ "", "repetition_penalty", "1000" },
      "repetition_penalty is 1000, above the limit of 100");
  edit_fails (f, g, (Edit){ "", "length_penalty", "-1000" },
      "length_penalty is -1000, below the limit of -100");
}

/* out-of-vocabulary special ids were accepted */
static void
test_token_ids_outside (Fix *f, gconstpointer data)
{
  const char *g = "generation_config.json";

  (void) data;
  edit_fails (f, "config.json", (Edit){ "text_config", "eos_token_id", "32" },
      "config.json: text_config.eos_token_id is 32, outside the vocabulary "
      "(text_config.vocab_size is 32: ids 0 .. 31)");
  edit_fails (f, "config.json",
      (Edit){ "text_config", "bos_token_id", "2147483647" },
      "text_config.bos_token_id is 2147483647, outside the vocabulary");
  edit_fails (f, "config.json",
      (Edit){ "qformer_config", "pad_token_id", "30" },
      "qformer_config.pad_token_id is 30, outside the vocabulary "
      "(qformer_config.vocab_size is 30");
  edit_fails (f, g, (Edit){ "", "eos_token_id", "[2, 99]" },
      "generation_config.json: eos_token_id is 99, outside the vocabulary");
  edit_fails (f, g, (Edit){ "", "pad_token_id", "1000000" },
      "generation_config.json: pad_token_id is 1000000, outside");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fixture, fn) \
  g_test_add ("/broken/" path, Fix, fixture, fix_setup, fn, fix_teardown)
  ADD ("config-missing", NULL, test_config_missing);
  ADD ("config-invalid-json", NULL, test_config_invalid_json);
  ADD ("config-unknown-text-model", NULL, test_config_unknown_text_model);
  ADD ("weights-missing", NULL, test_weights_missing);
  g_test_add_func ("/broken/no-such-dir", test_no_such_dir);
  ADD ("truncated", NULL, test_truncated);
  ADD ("truncated-in-header", NULL, test_truncated_in_header);
  ADD ("header-length-too-large", NULL, test_header_length_too_large);
  ADD ("header-not-json", NULL, test_header_not_json);
  ADD ("offsets-outside", NULL, test_offsets_outside);
  ADD ("overlap", NULL, test_overlap);
  ADD ("gap", NULL, test_gap);
  ADD ("trailing-garbage", NULL, test_trailing_garbage);
  ADD ("size-mismatch", NULL, test_size_mismatch);
  ADD ("unknown-dtype", NULL, test_unknown_dtype);
  ADD ("unsupported-dtype", NULL, test_unsupported_dtype);
  ADD ("wrong-dtype", NULL, test_wrong_dtype);
  ADD ("missing-tensor", NULL, test_missing_tensor);
  ADD ("wrong-shape", NULL, test_wrong_shape);
  ADD ("wrong-layout", NULL, test_wrong_layout);
  ADD ("transposed", NULL, test_transposed);
  ADD ("index-missing-shard", "llama-f32-sharded", test_index_missing_shard);
  ADD ("index-wrong-shard", "llama-f32-sharded", test_index_wrong_shard);
  ADD ("index-tensor-missing-from-shard", "llama-f32-sharded",
      test_index_tensor_missing_from_shard);
  ADD ("index-bad-path", "llama-f32-sharded", test_index_bad_path);
  ADD ("index-invalid", "llama-f32-sharded", test_index_invalid);
  ADD ("shard-truncated", "llama-f32-sharded", test_shard_truncated);
  ADD ("duplicate-across-shards", "llama-f32-sharded",
      test_duplicate_across_shards);
  ADD ("json-nested", NULL, test_json_nested);
  ADD ("index-nested", "llama-f32-sharded", test_index_nested);
  ADD ("json-empty", NULL, test_json_empty);
  ADD ("json-too-large", NULL, test_json_too_large);
  ADD ("unreadable", NULL, test_unreadable);
  ADD ("config-sizes", NULL, test_config_sizes);
  ADD ("t5-layers", "t5-bf16", test_t5_layers);
  ADD ("generation-ranges", NULL, test_generation_ranges);
  ADD ("token-ids-outside", NULL, test_token_ids_outside);
#undef ADD
  return g_test_run ();
}
