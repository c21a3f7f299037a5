/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal: typed reads of JSON config members with errors naming file and field. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * Every JSON text the engine reads goes through ib_json_parse(): json-glib
 * parses recursively, so a file nested 100 000 deep would overflow the
 * stack of the host application. A pre-scan refuses more than
 * IB_JSON_MAX_DEPTH levels of arrays and objects first (real model files
 * nest at most 8 deep).
 *
 * Size limits per kind of file, in bytes (real files are far smaller):
 * config.json, generation_config.json, preprocessor configs and the
 * safetensors index up to IB_JSON_MAX_CONFIG_BYTES; tokenizer.json up to
 * IB_JSON_MAX_TOKENIZER_BYTES (those of released models are up to ~35 MB);
 * a safetensors header up to 100 MB, the format's own limit
 * (ib-safetensors.c).
 */
#define IB_JSON_MAX_DEPTH 64
#define IB_JSON_MAX_CONFIG_BYTES (16u << 20)
#define IB_JSON_MAX_TOKENIZER_BYTES (256u << 20)

/* Parses @len bytes of JSON text. Returns (transfer full) the root node, or
 * NULL with IB_ERROR_FORMAT and a bare message that callers prefix with
 * the file ("it is empty", "nested more than 64 levels deep (at byte N)",
 * or json-glib's syntax error). */
JsonNode *ib_json_parse (const char *data, gsize len, GError **error);

/* Parses the JSON file @path (at most IB_JSON_MAX_CONFIG_BYTES), whose root
 * must be an object. A missing file is IB_ERROR_IO, unless @optional: then
 * NULL is returned without error. Invalid JSON is IB_ERROR_FORMAT. Returns
 * (transfer full) the root node. */
JsonNode *ib_json_load_object_file (const char *path, gboolean optional,
    GError **error);

/*
 * A reader walks one JSON object of one file with a sticky error: the
 * first failure is kept in *error, later reads return their defaults, and
 * the caller checks ib_json_reader_failed() once at the end. Absent and
 * null members give the default. Messages read
 * "<file>: <section><key> <problem>", e.g.
 * "/m/config.json: text_config.hidden_size must be a positive integer".
 */
typedef struct
{
  const char *file; /* path, for messages */
  const char *section; /* "text_config." or "" */
  JsonObject *obj; /* may be NULL: every member absent */
  GError **error;
  gboolean failed;
} IbJsonReader;

void ib_json_reader_init (IbJsonReader *r, const char *file,
    const char *section, JsonObject *obj, GError **error);

gboolean ib_json_reader_failed (const IbJsonReader *r);

/* Records an error (if none yet) about member @key; @key may be NULL. */
void ib_json_reader_fail (IbJsonReader *r, gint code, const char *key,
    const char *format, ...) G_GNUC_PRINTF (4, 5);

/* TRUE if @key is present and not null. */
gboolean ib_json_reader_has (IbJsonReader *r, const char *key);

/* An integer >= @min (integral doubles are accepted). */
gint ib_json_reader_int (IbJsonReader *r, const char *key, gint def, gint min);

/* The same, and at most @max: "<key> is N, above the limit of @max". */
gint ib_json_reader_int_max (IbJsonReader *r, const char *key, gint def,
    gint min, gint max);

/* A token id: an integer >= -1; null gives -1, absent gives @def. */
gint ib_json_reader_token_id (IbJsonReader *r, const char *key, gint def);

/* Token ids, an integer or a list (eos_token_id); null gives none, absent
 * gives the @n_def ids of @def. Returns the count written to @ids. */
guint ib_json_reader_token_ids (IbJsonReader *r, const char *key,
    const gint *def, guint n_def, gint *ids, guint max_ids);

/* A finite number > @min_exclusive. */
gdouble ib_json_reader_double (IbJsonReader *r, const char *key, gdouble def,
    gdouble min_exclusive);

/* The same, and at most @max. */
gdouble ib_json_reader_double_max (IbJsonReader *r, const char *key,
    gdouble def, gdouble min_exclusive, gdouble max);

gboolean ib_json_reader_bool (IbJsonReader *r, const char *key, gboolean def);

/* A string, owned by the JSON tree. */
const char *ib_json_reader_string (IbJsonReader *r, const char *key,
    const char *def);

/* An object member, or NULL when absent or null. */
JsonObject *ib_json_reader_object (IbJsonReader *r, const char *key);

/* The member node, or NULL when absent or null. */
JsonNode *ib_json_reader_node (IbJsonReader *r, const char *key);

/*
 * Lenient member getters, without a reader (the tokenizer's component
 * objects, whose optional members tokenizers fill in inconsistently):
 * member @name of @obj, or @def when it is absent, null or of another type.
 */
const char *ib_json_get_string (JsonObject *obj, const char *name,
    const char *def);
gboolean ib_json_get_bool (JsonObject *obj, const char *name, gboolean def);
gint64 ib_json_get_int (JsonObject *obj, const char *name, gint64 def);
/* the "type" member, or NULL */
const char *ib_json_type (JsonObject *obj);

G_END_DECLS
