/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test helpers: fixture paths, temp copies, JSON and safetensors surgery, error asserts. */
#pragma once

#include <json-glib/json-glib.h>

#include "ib-checkpoint.h"

G_BEGIN_DECLS

/* tests/data/checkpoint/@name (G_TEST_DIST). */
gchar *ckpt_fixture_path (const char *name);

/* A fresh temp directory holding a copy of fixture @name. */
gchar *ckpt_copy_fixture (const char *name);

/* Removes @dir and the files in it (one level), then frees @dir. */
void ckpt_remove_dir (gchar *dir);

/* @dir/@file; free with g_free(). */
gchar *ckpt_path (const char *dir, const char *file);

/* Parses a JSON file whose root is an object (asserts). */
JsonNode *ckpt_load_json (const char *path);

/* Writes @root to @path. */
void ckpt_save_json (const char *path, JsonNode *root);

/* Writes @text to @path. */
void ckpt_write_text (const char *path, const char *text);

/* Loads @dir/@file, passes the root object to @edit, writes it back. */
void ckpt_edit_json (const char *dir, const char *file,
    void (*edit) (JsonObject *root, gpointer data), gpointer data);

/* A safetensors file taken apart: its header object and data section. */
typedef struct
{
  JsonNode *header; /* root object */
  GBytes *data;
} CkptSt;

CkptSt *ckpt_st_read (const char *path);

/* Writes the header as is (whatever its offsets say) and the data. */
void ckpt_st_write (const CkptSt *st, const char *path);

void ckpt_st_free (CkptSt *st);

/* The header entry of tensor @name (asserts it exists). */
JsonObject *ckpt_st_entry (const CkptSt *st, const char *name);

/* Rewrites @path without tensor @drop (offsets and data repacked), and, if
 * @add_name, with an extra F32 tensor of @n_add values. */
void ckpt_st_repack (const char *path, const char *drop, const char *add_name,
    guint n_add);

/* Asserts *@error is IB_ERROR @code and its message holds each of the
 * NULL-terminated substrings; then clears it. */
void ckpt_assert_error (GError **error, gint code, ...) G_GNUC_NULL_TERMINATED;

/* The fixture model directories with a manifest.json. */
extern const char *const ckpt_model_fixtures[];

G_END_DECLS
