/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parity with Hugging Face tokenizers 0.22: every corpus line, for each tokenizer of variants.json (make_fixtures.py). */
#include <string.h>

#include "tok-test-util.h"

typedef struct
{
  char *name;
  JsonObject *variant;
  JsonObject *expected; /* NULL when the fixture is absent */
  IbTokenizer *tok; /* loaded on first use */
  gboolean tried;
  char *missing; /* why it cannot be tested: a failure */
} Variant;

static JsonArray *corpus;
static GPtrArray *variants;

static IbTokenizer *
variant_tokenizer (Variant *v)
{
  char *json, *path = NULL;
  GError *error = NULL;

  if (v->tried)
    return v->tok;
  v->tried = TRUE;
  if (v->expected == NULL) {
    v->missing = g_strdup_printf ("no expected/%s.json", v->name);
    return NULL;
  }
  json = tok_test_variant_json (v->variant, &path);
  if (json == NULL) {
    v->missing = g_strdup_printf ("%s is absent", path);
    g_free (path);
    return NULL;
  }
  v->tok = ib_tokenizer_new_from_data (json, -1, &error);
  g_assert_no_error (error);
  g_free (json);
  g_free (path);
  return v->tok;
}

#define GET_TOKENIZER(v)                    \
  IbTokenizer *tok = variant_tokenizer (v); \
  if (tok == NULL) {                        \
    g_test_fail_printf ("%s", v->missing);  \
    return;                                 \
  }

/* compares the encodings of every corpus line with @member */
static void
check_encode (Variant *v, IbTokenizer *tok, const char *member,
    gboolean add_special, guint max_length)
{
  JsonArray *exp = json_object_get_array_member (v->expected, member);
  guint i, bad = 0, n = json_array_get_length (corpus);

  g_assert_cmpuint (json_array_get_length (exp), ==, n);
  for (i = 0; i < n; i++) {
    const char *text = json_array_get_string_element (corpus, i);
    GArray *want = tok_test_ids (json_array_get_array_element (exp, i));
    GArray *got = g_array_new (FALSE, FALSE, sizeof (gint32));
    GError *error = NULL;

    if (max_length)
      ib_tokenizer_encode_truncated (tok, text, -1, add_special, max_length,
          IB_TRUNCATE_LEFT, got, &error);
    else
      ib_tokenizer_encode (tok, text, -1, add_special, got, &error);
    g_assert_no_error (error);
    if (!tok_test_ids_equal (want, got)) {
      if (bad++ < 8) {
        char *a = tok_test_ids_str (want), *b = tok_test_ids_str (got);
        char *esc = g_strescape (text, NULL);
        g_test_message ("%s line %u \"%s\":\n  want %s\n  got  %s", member, i,
            esc, a, b);
        g_free (a);
        g_free (b);
        g_free (esc);
      }
    }
    g_array_free (want, TRUE);
    g_array_free (got, TRUE);
  }
  g_test_message ("%s %s: %u/%u lines identical", v->name, member, n - bad, n);
  g_assert_cmpuint (bad, ==, 0);
}

static void
test_encode (gconstpointer data)
{
  Variant *v = (Variant *) data;
  GET_TOKENIZER (v);

  check_encode (v, tok, "encode", TRUE, 0);
  check_encode (v, tok, "encode_plain", FALSE, 0);
}

static void
test_truncate (gconstpointer data)
{
  Variant *v = (Variant *) data;
  GET_TOKENIZER (v);

  check_encode (v, tok, "encode_truncated", TRUE,
      json_object_get_int_member (v->expected, "truncate_left"));
}

static guint
check_decode (Variant *v, IbTokenizer *tok, const char *what, guint i,
    GArray *ids, gboolean skip, const char *want)
{
  GError *error = NULL;
  char *got = ib_tokenizer_decode (tok, (const gint32 *) (void *) ids->data,
      ids->len, skip, &error);
  guint bad = 0;

  g_assert_no_error (error);
  if (g_strcmp0 (got, want) != 0) {
    char *a = g_strescape (want, NULL), *b = g_strescape (got, NULL);
    char *s = tok_test_ids_str (ids);
    g_test_message ("%s %s %u (skip=%d) %s:\n  want \"%s\"\n  got  \"%s\"",
        v->name, what, i, skip, s, a, b);
    g_free (a);
    g_free (b);
    g_free (s);
    bad = 1;
  }
  g_free (got);
  return bad;
}

static void
test_decode (gconstpointer data)
{
  Variant *v = (Variant *) data;
  JsonArray *enc, *skip, *keep, *cases;
  guint i, bad = 0, n;
  GET_TOKENIZER (v);

  enc = json_object_get_array_member (v->expected, "encode");
  skip = json_object_get_array_member (v->expected, "decode_skip");
  keep = json_object_get_array_member (v->expected, "decode_keep");
  n = json_array_get_length (enc);
  for (i = 0; i < n; i++) {
    GArray *ids = tok_test_ids (json_array_get_array_element (enc, i));
    bad += check_decode (v, tok, "line", i, ids, TRUE,
        json_array_get_string_element (skip, i));
    bad += check_decode (v, tok, "line", i, ids, FALSE,
        json_array_get_string_element (keep, i));
    g_array_free (ids, TRUE);
  }
  cases = json_object_get_array_member (v->expected, "decode_cases");
  for (i = 0; i < json_array_get_length (cases); i++) {
    JsonObject *c = json_array_get_object_element (cases, i);
    GArray *ids = tok_test_ids (json_object_get_array_member (c, "ids"));
    bad += check_decode (v, tok, "case", i, ids, TRUE,
        json_object_get_string_member (c, "skip"));
    bad += check_decode (v, tok, "case", i, ids, FALSE,
        json_object_get_string_member (c, "keep"));
    g_array_free (ids, TRUE);
  }
  g_test_message ("%s decode: %u mismatches in %u lines and %u cases", v->name,
      bad, n, json_array_get_length (cases));
  g_assert_cmpuint (bad, ==, 0);
}

static void
test_vocab (gconstpointer data)
{
  Variant *v = (Variant *) data;
  JsonArray *checks;
  guint i;
  GET_TOKENIZER (v);

  g_assert_cmpuint (ib_tokenizer_get_vocab_size (tok), ==,
      json_object_get_int_member (v->expected, "vocab_size"));
  checks = json_object_get_array_member (v->expected, "token_to_id");
  for (i = 0; i < json_array_get_length (checks); i++) {
    JsonArray *c = json_array_get_array_element (checks, i);
    const char *t = json_array_get_string_element (c, 0);
    gint32 id = json_array_get_int_element (c, 1);
    g_assert_cmpint (ib_tokenizer_token_to_id (tok, t), ==, id);
    if (id >= 0)
      g_assert_cmpstr (ib_tokenizer_id_to_token (tok, id), ==, t);
  }
  g_assert_null (ib_tokenizer_id_to_token (tok, -1));
  g_assert_null (ib_tokenizer_id_to_token (tok, 1 << 30));
}

/* tokens/s over the corpus (only with -m perf) */
static void
test_bench (gconstpointer data)
{
  Variant *v = (Variant *) data;
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  GTimer *timer;
  guint64 n_tok = 0, n_bytes = 0;
  guint i, rounds = 0;
  double s;
  GET_TOKENIZER (v);

  timer = g_timer_new ();
  do {
    for (i = 0; i < json_array_get_length (corpus); i++) {
      const char *text = json_array_get_string_element (corpus, i);
      g_array_set_size (ids, 0);
      g_assert_true (ib_tokenizer_encode (tok, text, -1, TRUE, ids, NULL));
      n_tok += ids->len;
      n_bytes += strlen (text);
    }
    rounds++;
  } while (g_timer_elapsed (timer, NULL) < 1.0);
  s = g_timer_elapsed (timer, NULL);
  g_test_minimized_result (s / n_tok, "%s: %.0f tokens/s, %.2f MB/s", v->name,
      n_tok / s, n_bytes / s / 1e6);
  g_test_message ("%s: %.0f tokens/s, %.2f MB/s (%u rounds of the corpus)",
      v->name, n_tok / s, n_bytes / s / 1e6, rounds);
  g_timer_destroy (timer);
  g_array_free (ids, TRUE);
}

static void
variant_free (Variant *v)
{
  g_free (v->name);
  ib_tokenizer_free (v->tok);
  g_free (v->missing);
  g_free (v);
}

int
main (int argc, char **argv)
{
  char *path;
  JsonNode *vnode, *cnode;
  GPtrArray *exp_nodes =
      g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  guint i;
  int ret;

  g_test_init (&argc, &argv, NULL);

  path = tok_test_fixture ("variants.json");
  vnode = tok_test_load_json (path);
  g_free (path);
  path = tok_test_fixture ("corpus.json");
  cnode = tok_test_load_json (path);
  g_free (path);
  if (vnode == NULL || cnode == NULL)
    return 1;
  corpus = json_node_get_array (cnode);
  variants = g_ptr_array_new_with_free_func ((GDestroyNotify) variant_free);

  for (i = 0; i < json_array_get_length (json_node_get_array (vnode)); i++) {
    Variant *v = g_new0 (Variant, 1);
    char *rel, *t;
    JsonNode *e;

    v->variant = json_array_get_object_element (json_node_get_array (vnode), i);
    v->name = g_strdup (json_object_get_string_member (v->variant, "name"));
    rel = g_strdup_printf ("expected/%s.json", v->name);
    path = tok_test_fixture (rel);
    if (g_file_test (path, G_FILE_TEST_EXISTS) &&
        (e = tok_test_load_json (path)) != NULL) {
      g_ptr_array_add (exp_nodes, e);
      v->expected = json_node_get_object (e);
    }
    g_free (rel);
    g_free (path);
    g_ptr_array_add (variants, v);

    t = g_strdup_printf ("/tokenizer/%s/encode", v->name);
    g_test_add_data_func (t, v, test_encode);
    g_free (t);
    t = g_strdup_printf ("/tokenizer/%s/decode", v->name);
    g_test_add_data_func (t, v, test_decode);
    g_free (t);
    t = g_strdup_printf ("/tokenizer/%s/vocab", v->name);
    g_test_add_data_func (t, v, test_vocab);
    g_free (t);
    if (json_object_has_member (v->variant, "truncate")) {
      t = g_strdup_printf ("/tokenizer/%s/truncate-left", v->name);
      g_test_add_data_func (t, v, test_truncate);
      g_free (t);
    }
    if (g_test_perf ()) {
      t = g_strdup_printf ("/tokenizer/%s/bench", v->name);
      g_test_add_data_func (t, v, test_bench);
      g_free (t);
    }
  }

  ret = g_test_run ();
  g_ptr_array_free (variants, TRUE);
  g_ptr_array_free (exp_nodes, TRUE);
  json_node_unref (vnode);
  json_node_unref (cnode);
  return ret;
}
