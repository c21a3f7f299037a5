/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers for the tokenizer tests: fixture paths, JSON loading, building the tested tokenizer variants. */
#include "tok-test-util.h"

#include <string.h>

char *
tok_test_fixture (const char *rel)
{
  return g_test_build_filename (G_TEST_DIST, "data", "tokenizer", rel, NULL);
}

char *
tok_test_real (const char *rel)
{
  return g_test_build_filename (G_TEST_DIST, "data", "tokenizer", "real", rel,
      NULL);
}

JsonNode *
tok_test_load_json (const char *path)
{
  JsonParser *p = json_parser_new ();
  GError *error = NULL;
  JsonNode *root = NULL;

  if (json_parser_load_from_file (p, path, &error))
    root = json_node_copy (json_parser_get_root (p));
  else
    g_test_message ("%s: %s", path, error->message);
  g_clear_error (&error);
  g_object_unref (p);
  return root;
}

char *
tok_test_variant_json (JsonObject *variant, char **path_out)
{
  const char *base = json_object_get_string_member (variant, "base");
  char *path = NULL, *out = NULL;
  JsonNode *root = NULL;
  JsonObject *obj;
  JsonGenerator *gen;

  if (g_str_has_prefix (base, "real:"))
    path = tok_test_real (base + strlen ("real:"));
  else if (g_str_has_prefix (base, "local:"))
    path = tok_test_fixture (base + strlen ("local:"));
  if (path_out)
    *path_out = g_strdup (path ? path : base);
  if (path == NULL || !g_file_test (path, G_FILE_TEST_EXISTS))
    goto out;
  root = tok_test_load_json (path);
  if (root == NULL)
    goto out;
  obj = json_node_get_object (root);
  /* the same changes make_fixtures.py makes */
  if (json_object_has_member (variant, "add_tokens")) {
    JsonArray *add = json_object_get_array_member (variant, "add_tokens");
    JsonArray *tokens = json_object_get_array_member (obj, "added_tokens");
    guint i;
    for (i = 0; i < json_array_get_length (add); i++)
      json_array_add_element (tokens,
          json_node_copy (json_array_get_element (add, i)));
  }
  if (json_object_has_member (variant, "post_processor"))
    json_object_set_member (obj, "post_processor",
        json_node_copy (json_object_get_member (variant, "post_processor")));
  gen = json_generator_new ();
  json_generator_set_root (gen, root);
  out = json_generator_to_data (gen, NULL);
  g_object_unref (gen);

out:
  if (root)
    json_node_unref (root);
  g_free (path);
  return out;
}

GArray *
tok_test_ids (JsonArray *arr)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  guint i;

  for (i = 0; i < json_array_get_length (arr); i++) {
    gint32 v = (gint32) json_array_get_int_element (arr, i);
    g_array_append_val (ids, v);
  }
  return ids;
}

gboolean
tok_test_ids_equal (const GArray *a, const GArray *b)
{
  return a->len == b->len &&
      (a->len == 0 || memcmp (a->data, b->data, a->len * sizeof (gint32)) == 0);
}

char *
tok_test_ids_str (const GArray *ids)
{
  GString *s = g_string_new ("[");
  guint i;

  for (i = 0; i < ids->len; i++)
    g_string_append_printf (s, i ? ", %d" : "%d",
        g_array_index (ids, gint32, i));
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}
