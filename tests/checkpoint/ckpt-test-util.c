/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test helpers: fixture paths, temp copies, JSON and safetensors surgery, error asserts. */
#include "ckpt-test-util.h"

#include <glib/gstdio.h>
#include <string.h>

const char *const ckpt_model_fixtures[] = {
  "llama-f32",
  "llama-f32-sharded",
  "llama-f16",
  "llama-bf16",
  "t5-bf16",
  "t5-legacy-f16",
  "video-llama-f16",
  NULL,
};

gchar *
ckpt_fixture_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "data", "checkpoint", name, NULL);
}

gchar *
ckpt_path (const char *dir, const char *file)
{
  return g_build_filename (dir, file, NULL);
}

gchar *
ckpt_copy_fixture (const char *name)
{
  GError *error = NULL;
  gchar *src = ckpt_fixture_path (name);
  gchar *dst = g_dir_make_tmp ("ib-ckpt-XXXXXX", &error);
  GDir *dir;
  const char *entry;

  g_assert_no_error (error);
  dir = g_dir_open (src, 0, &error);
  g_assert_no_error (error);
  while ((entry = g_dir_read_name (dir)) != NULL) {
    gchar *from = ckpt_path (src, entry), *to = ckpt_path (dst, entry);
    gchar *contents;
    gsize len;

    g_assert_true (g_file_get_contents (from, &contents, &len, &error));
    g_assert_true (g_file_set_contents (to, contents, (gssize) len, &error));
    g_assert_no_error (error);
    g_free (contents);
    g_free (from);
    g_free (to);
  }
  g_dir_close (dir);
  g_free (src);
  return dst;
}

void
ckpt_remove_dir (gchar *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *entry;

  if (dir != NULL) {
    while ((entry = g_dir_read_name (dir)) != NULL) {
      gchar *p = ckpt_path (path, entry);

      g_unlink (p);
      g_free (p);
    }
    g_dir_close (dir);
  }
  g_rmdir (path);
  g_free (path);
}

JsonNode *
ckpt_load_json (const char *path)
{
  JsonParser *parser = json_parser_new ();
  GError *error = NULL;
  JsonNode *root;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  root = json_node_copy (json_parser_get_root (parser));
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  g_object_unref (parser);
  return root;
}

/* json-glib 1.6 writes 1e-10 as "1e-10.0", which is not JSON: drop the
 * ".0" after an exponent. */
static gchar *
generate (JsonNode *root, gboolean pretty)
{
  JsonGenerator *gen = json_generator_new ();
  GRegex *fix = g_regex_new ("([eE][-+]?[0-9]+)\\.0", 0, 0, NULL);
  gchar *text, *fixed;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, pretty);
  text = json_generator_to_data (gen, NULL);
  fixed = g_regex_replace (fix, text, -1, 0, "\\1", 0, NULL);
  g_free (text);
  g_regex_unref (fix);
  g_object_unref (gen);
  return fixed;
}

void
ckpt_save_json (const char *path, JsonNode *root)
{
  gchar *text = generate (root, TRUE);

  ckpt_write_text (path, text);
  g_free (text);
}

void
ckpt_write_text (const char *path, const char *text)
{
  GError *error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

void
ckpt_edit_json (const char *dir, const char *file,
    void (*edit) (JsonObject *root, gpointer data), gpointer data)
{
  gchar *path = ckpt_path (dir, file);
  JsonNode *root = ckpt_load_json (path);

  edit (json_node_get_object (root), data);
  ckpt_save_json (path, root);
  json_node_unref (root);
  g_free (path);
}

CkptSt *
ckpt_st_read (const char *path)
{
  CkptSt *st = g_new0 (CkptSt, 1);
  JsonParser *parser = json_parser_new ();
  GError *error = NULL;
  gchar *contents;
  gsize len;
  guint64 n;

  g_assert_true (g_file_get_contents (path, &contents, &len, &error));
  g_assert_cmpuint (len, >=, 8);
  memcpy (&n, contents, 8);
  n = GUINT64_FROM_LE (n);
  g_assert_cmpuint (n, <=, len - 8);
  json_parser_load_from_data (parser, contents + 8, (gssize) n, &error);
  g_assert_no_error (error);
  st->header = json_node_copy (json_parser_get_root (parser));
  st->data = g_bytes_new (contents + 8 + n, len - 8 - n);
  g_object_unref (parser);
  g_free (contents);
  return st;
}

void
ckpt_st_write (const CkptSt *st, const char *path)
{
  GByteArray *out = g_byte_array_new ();
  GError *error = NULL;
  gchar *header;
  gsize header_len, data_len;
  guint64 n;
  const guint8 *data = g_bytes_get_data (st->data, &data_len);

  header = generate (st->header, FALSE);
  header_len = strlen (header);
  n = GUINT64_TO_LE ((guint64) header_len);
  g_byte_array_append (out, (const guint8 *) &n, 8);
  g_byte_array_append (out, (const guint8 *) header, (guint) header_len);
  g_byte_array_append (out, data, (guint) data_len);
  g_file_set_contents (path, (const gchar *) out->data, out->len, &error);
  g_assert_no_error (error);
  g_byte_array_unref (out);
  g_free (header);
}

void
ckpt_st_free (CkptSt *st)
{
  json_node_unref (st->header);
  g_bytes_unref (st->data);
  g_free (st);
}

JsonObject *
ckpt_st_entry (const CkptSt *st, const char *name)
{
  JsonObject *root = json_node_get_object (st->header);

  g_assert_true (json_object_has_member (root, name));
  return json_object_get_object_member (root, name);
}

static gint64
entry_begin (JsonObject *e)
{
  return json_array_get_int_element (json_object_get_array_member (e,
                                         "data_offsets"),
      0);
}

static gint
cmp_by_offset (gconstpointer a, gconstpointer b, gpointer root)
{
  gint64 x = entry_begin (json_object_get_object_member (root, a));
  gint64 y = entry_begin (json_object_get_object_member (root, b));

  return x < y ? -1 : x > y;
}

static void
set_offsets (JsonObject *e, guint64 begin, guint64 end)
{
  JsonArray *a = json_array_new ();

  json_array_add_int_element (a, (gint64) begin);
  json_array_add_int_element (a, (gint64) end);
  json_object_set_array_member (e, "data_offsets", a);
}

void
ckpt_st_repack (const char *path, const char *drop, const char *add_name,
    guint n_add)
{
  CkptSt *st = ckpt_st_read (path);
  JsonObject *root = json_node_get_object (st->header);
  GList *members = json_object_get_members (root), *names = NULL, *l;
  GByteArray *data = g_byte_array_new ();
  const guint8 *old = g_bytes_get_data (st->data, NULL);
  guint i;

  for (l = members; l != NULL; l = l->next)
    if (strcmp (l->data, "__metadata__") != 0)
      names = g_list_prepend (names, l->data);
  g_list_free (members);
  names = g_list_sort_with_data (names, cmp_by_offset, root);
  for (l = names; l != NULL; l = l->next) {
    JsonObject *e = json_object_get_object_member (root, l->data);
    JsonArray *off = json_object_get_array_member (e, "data_offsets");
    gint64 b = json_array_get_int_element (off, 0);
    gint64 end = json_array_get_int_element (off, 1);
    guint64 pos = data->len;

    if (drop != NULL && strcmp (l->data, drop) == 0)
      continue;
    g_byte_array_append (data, old + b, (guint) (end - b));
    set_offsets (e, pos, data->len);
  }
  g_list_free (names);
  if (drop != NULL) {
    g_assert_true (json_object_has_member (root, drop));
    json_object_remove_member (root, drop);
  }
  if (add_name != NULL) {
    JsonObject *e = json_object_new ();
    JsonArray *shape = json_array_new ();
    guint64 pos = data->len;

    json_object_set_string_member (e, "dtype", "F32");
    json_array_add_int_element (shape, n_add);
    json_object_set_array_member (e, "shape", shape);
    for (i = 0; i < n_add; i++) {
      float v = (float) i;

      g_byte_array_append (data, (const guint8 *) &v, 4);
    }
    set_offsets (e, pos, data->len);
    json_object_set_object_member (root, add_name, e);
  }
  g_bytes_unref (st->data);
  st->data = g_byte_array_free_to_bytes (data);
  ckpt_st_write (st, path);
  ckpt_st_free (st);
}

void
ckpt_assert_error (GError **perror, gint code, ...)
{
  GError *error = *perror;
  va_list args;
  const char *sub;

  g_assert_nonnull (error);
  if (error->domain != IB_ERROR || error->code != code)
    g_test_message ("unexpected error: %s", error->message);
  g_assert_error (error, IB_ERROR, code);
  va_start (args, code);
  while ((sub = va_arg (args, const char *)) != NULL) {
    if (strstr (error->message, sub) == NULL)
      g_test_message ("message \"%s\" lacks \"%s\"", error->message, sub);
    g_assert_nonnull (strstr (error->message, sub));
  }
  va_end (args);
  g_test_message ("ok: %s", error->message);
  g_clear_error (perror);
}
