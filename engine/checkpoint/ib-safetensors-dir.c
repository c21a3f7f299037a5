/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The weights of a model directory: model.safetensors, or an index and its shards. */
#include "ib-safetensors-private.h"
#include "ib-file-private.h"
#include "ib-json-private.h"
#include "ib-error.h"

#include <string.h>

#define INDEX_NAME "model.safetensors.index.json"
#define SINGLE_NAME "model.safetensors"

/* A shard must be a plain file name inside the model directory. */
static gboolean
is_plain_file_name (const char *name)
{
  return name[0] != '\0' && strcmp (name, ".") != 0 &&
      strcmp (name, "..") != 0 && strchr (name, '/') == NULL &&
      strchr (name, '\\') == NULL;
}

/* Reads weight_map: name -> shard file; fills @shards (file -> first tensor
 * naming it). */
static JsonObject *
read_weight_map (const char *index_path, JsonNode *root, GHashTable *shards,
    GError **error)
{
  IbJsonReader r;
  JsonObject *map;
  GList *members, *l;
  gboolean ok = TRUE;

  ib_json_reader_init (&r, index_path, "", json_node_get_object (root), error);
  map = ib_json_reader_object (&r, "weight_map");
  if (r.failed)
    return NULL;
  if (map == NULL) {
    ib_json_reader_fail (&r, IB_ERROR_FORMAT, "weight_map", "is missing");
    return NULL;
  }
  members = json_object_get_members (map);
  for (l = members; ok && l != NULL; l = l->next) {
    const char *name = l->data;
    JsonNode *node = json_object_get_member (map, name);
    const char *file;

    if (!JSON_NODE_HOLDS_VALUE (node) ||
        json_node_get_value_type (node) != G_TYPE_STRING) {
      g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
          "%s: weight_map[\"%s\"] is not a file name", index_path, name);
      ok = FALSE;
      break;
    }
    file = json_node_get_string (node);
    if (!is_plain_file_name (file)) {
      g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
          "%s: weight_map[\"%s\"] = \"%s\" is not a file name inside the "
          "model directory",
          index_path, name, file);
      ok = FALSE;
      break;
    }
    if (!g_hash_table_contains (shards, file))
      g_hash_table_insert (shards, (gpointer) file, (gpointer) name);
  }
  g_list_free (members);
  return ok ? map : NULL;
}

/* Every tensor of the index must be in the shard the index names. */
static gboolean
check_index (const IbSafetensors *st, const char *index_path, JsonObject *map,
    GError **error)
{
  GList *members, *l;
  gboolean ok = TRUE;
  guint i, n_mapped = 0;

  members = json_object_get_members (map);
  for (l = members; ok && l != NULL; l = l->next) {
    const char *name = l->data;
    const char *file = json_object_get_string_member (map, name);
    const IbTensor *t = ib_safetensors_get (st, name);
    gchar *base = t ? g_path_get_basename (t->file) : NULL;

    if (t == NULL) {
      g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
          "%s maps tensor %s to %s, but %s has no tensor %s", index_path, name,
          file, file, name);
      ok = FALSE;
    } else if (strcmp (base, file) != 0) {
      g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
          "%s maps tensor %s to %s, but it is in %s", index_path, name, file,
          t->file);
      ok = FALSE;
    }
    n_mapped++;
    g_free (base);
  }
  g_list_free (members);
  if (ok && n_mapped != ib_safetensors_get_n_tensors (st)) {
    for (i = 0; i < ib_safetensors_get_n_tensors (st); i++) {
      const IbTensor *t = ib_safetensors_get_nth (st, i);

      if (!json_object_has_member (map, t->name))
        g_debug ("%s: tensor %s is not in %s; kept", t->file, t->name,
            index_path);
    }
  }
  return ok;
}

static IbSafetensors *
open_index (const char *model_dir, const char *index_path, GError **error)
{
  IbSafetensors *st = NULL;
  JsonNode *root = NULL;
  JsonObject *map;
  GHashTable *shards = NULL;
  GList *files = NULL, *l;
  gchar *path = NULL;
  gboolean ok = FALSE;

  root = ib_json_load_object_file (index_path, FALSE, error);
  if (root == NULL)
    goto out;
  shards = g_hash_table_new (g_str_hash, g_str_equal);
  map = read_weight_map (index_path, root, shards, error);
  if (map == NULL)
    goto out;

  st = ib_safetensors_new (index_path);
  files = g_list_sort (g_hash_table_get_keys (shards), (GCompareFunc) strcmp);
  for (l = files; l != NULL; l = l->next) {
    g_free (path);
    path = g_build_filename (model_dir, (const char *) l->data, NULL);
    switch (ib_file_probe (path, error)) {
      case 0:
        g_set_error (error, IB_ERROR, IB_ERROR_IO,
            "%s does not exist (%s maps tensor %s to it)", path, index_path,
            (const char *) g_hash_table_lookup (shards, l->data));
        goto out;
      case -1:
        goto out;
    }
    if (!ib_safetensors_add_file (st, path, error))
      goto out;
  }
  ib_safetensors_finish (st);
  ok = check_index (st, index_path, map, error);

out:
  if (!ok)
    g_clear_pointer (&st, ib_safetensors_free);
  g_list_free (files);
  if (shards)
    g_hash_table_unref (shards);
  if (root)
    json_node_unref (root);
  g_free (path);
  return st;
}

IbSafetensors *
ib_safetensors_open_dir (const char *model_dir, GError **error)
{
  IbSafetensors *st = NULL;
  gchar *index = NULL, *single = NULL, *bin = NULL, *bin_index = NULL;
  int has_index, has_single = 0;

  g_return_val_if_fail (model_dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  index = g_build_filename (model_dir, INDEX_NAME, NULL);
  single = g_build_filename (model_dir, SINGLE_NAME, NULL);
  bin = g_build_filename (model_dir, "pytorch_model.bin", NULL);
  bin_index =
      g_build_filename (model_dir, "pytorch_model.bin.index.json", NULL);
  /* "cannot read" (permissions, a symlink loop) is not "missing" */
  if ((has_index = ib_file_probe (index, error)) < 0 ||
      (!has_index && (has_single = ib_file_probe (single, error)) < 0)) {
    /* error set */
  } else if (has_index) {
    st = open_index (model_dir, index, error);
  } else if (has_single) {
    st = ib_safetensors_open_file (single, error);
  } else if (!g_file_test (model_dir, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, IB_ERROR, IB_ERROR_IO, "%s: no such model directory",
        model_dir);
  } else if (g_file_test (bin, G_FILE_TEST_EXISTS) ||
      g_file_test (bin_index, G_FILE_TEST_EXISTS)) {
    g_set_error (error, IB_ERROR, IB_ERROR_UNSUPPORTED,
        "%s: only PyTorch pickle weights (pytorch_model.bin) found, no "
        "%s or %s; convert them to safetensors",
        model_dir, SINGLE_NAME, INDEX_NAME);
  } else {
    g_set_error (error, IB_ERROR, IB_ERROR_IO,
        "%s: no %s or %s in the model directory", model_dir, SINGLE_NAME,
        INDEX_NAME);
  }
  g_free (index);
  g_free (single);
  g_free (bin);
  g_free (bin_index);
  return st;
}
