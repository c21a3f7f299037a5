/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Typed reads of JSON config members with errors naming file and field. */
#include "ib-json-private.h"
#include "ib-error.h"
#include "ib-file-private.h"

#include <math.h>

/* The nesting depth of @data stays within IB_JSON_MAX_DEPTH (strings and
 * their escapes skipped), else an error naming the byte offset. */
static gboolean
check_depth (const char *data, gsize len, GError **error)
{
  gboolean in_string = FALSE;
  guint depth = 0;
  gsize i;

  for (i = 0; i < len; i++) {
    char c = data[i];

    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '{' || c == '[') {
      if (++depth > IB_JSON_MAX_DEPTH) {
        g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
            "nested more than %u levels deep (at byte %" G_GSIZE_FORMAT ")",
            IB_JSON_MAX_DEPTH, i);
        return FALSE;
      }
    } else if ((c == '}' || c == ']') && depth > 0) {
      depth--;
    }
  }
  return TRUE;
}

JsonNode *
ib_json_parse (const char *data, gsize len, GError **error)
{
  JsonParser *parser = NULL;
  JsonNode *root = NULL;
  GError *local = NULL;
  gsize i;

  for (i = 0; i < len && g_ascii_isspace (data[i]); i++)
    ;
  if (i == len) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT, "it is empty");
    goto out;
  }
  if (len > G_MAXSSIZE) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT, "it is too long");
    goto out;
  }
  if (!check_depth (data, len, error))
    goto out;
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, (gssize) len, &local)) {
    g_set_error_literal (error, IB_ERROR, IB_ERROR_FORMAT, local->message);
    goto out;
  }
  if (json_parser_get_root (parser) == NULL) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT, "it holds no value");
    goto out;
  }
  root = json_node_ref (json_parser_get_root (parser));

out:
  g_clear_error (&local);
  g_clear_object (&parser);
  return root;
}

JsonNode *
ib_json_load_object_file (const char *path, gboolean optional, GError **error)
{
  JsonNode *root = NULL;
  GError *local = NULL;
  gchar *contents = NULL;
  gsize length = 0;
  gboolean missing;

  if (!ib_file_read (path, IB_JSON_MAX_CONFIG_BYTES, &contents, &length,
          &missing, &local)) {
    if (!(optional && missing))
      g_propagate_error (error, g_steal_pointer (&local));
    goto out;
  }
  root = ib_json_parse (contents, length, &local);
  if (root == NULL) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT, "%s: invalid JSON: %s", path,
        local->message);
    goto out;
  }
  if (!JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: invalid JSON: the top level is not an object", path);
    g_clear_pointer (&root, json_node_unref);
  }

out:
  g_clear_error (&local);
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
ib_json_reader_int_max (IbJsonReader *r, const char *key, gint def, gint min,
    gint max)
{
  gint v = ib_json_reader_int (r, key, def, min);

  if (r->failed || v <= max || ib_json_reader_node (r, key) == NULL)
    return v;
  ib_json_reader_fail (r, IB_ERROR_FORMAT, key, "is %d, above the limit of %d",
      v, max);
  return def;
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

gdouble
ib_json_reader_double_max (IbJsonReader *r, const char *key, gdouble def,
    gdouble min_exclusive, gdouble max)
{
  gdouble v = ib_json_reader_double (r, key, def, min_exclusive);

  if (r->failed || v <= max || ib_json_reader_node (r, key) == NULL)
    return v;
  ib_json_reader_fail (r, IB_ERROR_FORMAT, key, "is %g, above the limit of %g",
      v, max);
  return def;
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

/* ---- lenient member getters ---- */

const char *
ib_json_get_string (JsonObject *obj, const char *name, const char *def)
{
  JsonNode *n = json_object_get_member (obj, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) ||
      json_node_get_value_type (n) != G_TYPE_STRING)
    return def;
  return json_node_get_string (n);
}

gboolean
ib_json_get_bool (JsonObject *obj, const char *name, gboolean def)
{
  JsonNode *n = json_object_get_member (obj, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) ||
      json_node_get_value_type (n) != G_TYPE_BOOLEAN)
    return def;
  return json_node_get_boolean (n);
}

gint64
ib_json_get_int (JsonObject *obj, const char *name, gint64 def)
{
  JsonNode *n = json_object_get_member (obj, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) ||
      json_node_get_value_type (n) != G_TYPE_INT64)
    return def;
  return json_node_get_int (n);
}

const char *
ib_json_type (JsonObject *obj)
{
  return ib_json_get_string (obj, "type", NULL);
}
