/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers for the tokenizer tests: fixture paths, JSON loading, building the tested tokenizer variants. */
#pragma once

#include <json-glib/json-glib.h>

#include "tokenizer.h"

G_BEGIN_DECLS

/* $G_TEST_SRCDIR/data/tokenizer/<rel> (transfer full) */
char *tok_test_fixture (const char *rel);
/* $G_TEST_SRCDIR/data/tokenizer/real/<rel>: the real tokenizers and their
 * test vectors (transfer full) */
char *tok_test_real (const char *rel);
/* parses a JSON file; NULL (and a test message) on failure */
JsonNode *tok_test_load_json (const char *path);
/* the variant's tokenizer.json after its changes (added tokens,
 * post_processor), or NULL if its base file is absent (@path_out: the
 * base file looked for) */
char *tok_test_variant_json (JsonObject *variant, char **path_out);
/* a GArray of gint32 from a JSON array of ints */
GArray *tok_test_ids (JsonArray *arr);
/* whether two id arrays are equal */
gboolean tok_test_ids_equal (const GArray *a, const GArray *b);
/* "[1, 2, 3]" (transfer full) */
char *tok_test_ids_str (const GArray *ids);

G_END_DECLS
