/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Typed reads of JSON config members with errors naming file and field. */
#include "ib-json-private.h"
#include "ib-error.h"

#include <math.h>

JsonNode *
ib_json_load_object_file (const char *path, gboolean optional, GError **error)
{
  JsonParser *parser = NULL;
  JsonNode *root = NULL;
  GError *local = NULL;
  gchar *contents = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &contents, &length, &local)) {
    if (optional && g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      goto out;
    g_set_error (error, IB_ERROR, IB_ERROR_IO, "%s: cannot read: %s", path,
        local->message);
    goto out;
  }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, contents, (gssize) length, &local)) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT, "%s: invalid JSON: %s", path,
        local->message);
    goto out;
  }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: invalid JSON: the top level is not an object", path);
    goto out;
  }
  root = json_node_ref (json_parser_get_root (parser));

out:
  g_clear_error (&local);
  g_clear_object (&parser);
  g_free (contents);
  return root;
}

void
ib_json_reader_init (IbJsonReader *r, const char *file, const char *section,
    JsonObject *obj, GError **error)
{
  r->file = file;
  r->section = section ? section : "";
  r->obj = obj;
  r->error = error;
  r->failed = FALSE;
}

gboolean
ib_json_reader_failed (const IbJsonReader *r)
{
  return r->failed;
}

void
ib_json_reader_fail (IbJsonReader *r, gint code, const char *key,
    const char *format, ...)
{
  va_list args;
  gchar *what;

  if (r->failed)
    return;
  r->failed = TRUE;
  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  if (key)
    g_set_error (r->error, IB_ERROR, code, "%s: %s%s %s", r->file, r->section,
        key, what);
  else
    g_set_error (r->error, IB_ERROR, code, "%s: %s", r->file, what);
  g_free (what);
}

JsonNode *
ib_json_reader_node (IbJsonReader *r, const char *key)
{
  JsonNode *node;

  if (r->obj == NULL)
    return NULL;
  node = json_object_get_member (r->obj, key);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  return node;
}

gboolean
ib_json_reader_has (IbJsonReader *r, const char *key)
{
  return ib_json_reader_node (r, key) != NULL;
}

/* A JSON number that is an integer in gint64 range, or FALSE. */
static gboolean
node_get_integer (JsonNode *node, gint64 *out)
{
  GType type;
  gdouble d;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64) {
    *out = json_node_get_int (node);
    return TRUE;
  }
  if (type != G_TYPE_DOUBLE)
    return FALSE;
  d = json_node_get_double (node);
  if (!isfinite (d) || d != floor (d) || fabs (d) > 9.0e15)
    return FALSE;
  *out = (gint64) d;
  return TRUE;
}

gint
ib_json_reader_int (IbJsonReader *r, const char *key, gint def, gint min)
{
  JsonNode *node = ib_json_reader_node (r, key);
  gint64 v;

  if (r->failed || node == NULL)
    return def;
  if (!node_get_integer (node, &v) || v < min || v > G_MAXINT) {
    if (min == 1)
      ib_json_reader_fail (r, IB_ERROR_FORMAT, key,
          "must be a positive integer");
    else
      ib_json_reader_fail (r, IB_ERROR_FORMAT, key, "must be an integer >= %d",
          min);
    return def;
  }
  return (gint) v;
}

gint
ib_json_reader_token_id (IbJsonReader *r, const char *key, gint def)
{
  JsonNode *node;

  if (r->obj == NULL || !json_object_has_member (r->obj, key))
    return def;
  node = ib_json_reader_node (r, key);
  if (node == NULL)
    return -1;
  return ib_json_reader_int (r, key, def, -1);
}

guint
ib_json_reader_token_ids (IbJsonReader *r, const char *key, const gint *def,
    guint n_def, gint *ids, guint max_ids)
{
  JsonNode *node;
  JsonArray *array;
  guint i, n;
  gint64 v;

  if (r->failed || r->obj == NULL || !json_object_has_member (r->obj, key)) {
    n = MIN (n_def, max_ids);
    for (i = 0; i < n; i++)
      ids[i] = def[i];
    return n;
  }
  node = ib_json_reader_node (r, key);
  if (node == NULL)
    return 0;
  if (JSON_NODE_HOLDS_VALUE (node)) {
    if (!node_get_integer (node, &v) || v < -1 || v > G_MAXINT) {
      ib_json_reader_fail (r, IB_ERROR_FORMAT, key,
          "must be a token id or a list of token ids");
      return 0;
    }
    if (v < 0)
      return 0;
    ids[0] = (gint) v;
    return 1;
  }
  if (!JSON_NODE_HOLDS_ARRAY (node)) {
    ib_json_reader_fail (r, IB_ERROR_FORMAT, key,
        "must be a token id or a list of token ids");
    return 0;
  }
  array = json_node_get_array (node);
  n = json_array_get_length (array);
  if (n > max_ids) {
    ib_json_reader_fail (r, IB_ERROR_UNSUPPORTED, key,
        "lists %u token ids; at most %u are supported", n, max_ids);
    return 0;
  }
  for (i = 0; i < n; i++) {
    if (!node_get_integer (json_array_get_element (array, i), &v) || v < 0 ||
        v > G_MAXINT) {
      ib_json_reader_fail (r, IB_ERROR_FORMAT, key,
          "[%u] must be a token id (an integer >= 0)", i);
      return 0;
    }
    ids[i] = (gint) v;
  }
  return n;
}

gdouble
ib_json_reader_double (IbJsonReader *r, const char *key, gdouble def,
    gdouble min_exclusive)
{
  JsonNode *node = ib_json_reader_node (r, key);
  GType type;
  gdouble v;

  if (r->failed || node == NULL)
    return def;
  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : 0;
  if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE) {
    ib_json_reader_fail (r, IB_ERROR_FORMAT, key, "must be a number");
    return def;
  }
  v = json_node_get_double (node);
  if (!isfinite (v) || !(v > min_exclusive)) {
    ib_json_reader_fail (r, IB_ERROR_FORMAT, key,
        "must be a finite number > %g", min_exclusive);
    return def;
  }
  return v;
}

gboolean
ib_json_reader_bool (IbJsonReader *r, const char *key, gboolean def)
{
  JsonNode *node = ib_json_reader_node (r, key);

  if (r->failed || node == NULL)
    return def;
  if (!JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_BOOLEAN) {
    ib_json_reader_fail (r, IB_ERROR_FORMAT, key, "must be true or false");
    return def;
  }
  return json_node_get_boolean (node);
}

const char *
ib_json_reader_string (IbJsonReader *r, const char *key, const char *def)
{
  JsonNode *node = ib_json_reader_node (r, key);

  if (r->failed || node == NULL)
    return def;
  if (!JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING) {
    ib_json_reader_fail (r, IB_ERROR_FORMAT, key, "must be a string");
    return def;
  }
  return json_node_get_string (node);
}

JsonObject *
ib_json_reader_object (IbJsonReader *r, const char *key)
{
  JsonNode *node = ib_json_reader_node (r, key);

  if (r->failed || node == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    ib_json_reader_fail (r, IB_ERROR_FORMAT, key, "must be an object");
    return NULL;
  }
  return json_node_get_object (node);
}
