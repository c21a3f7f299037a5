/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The test vectors shipped with the real tokenizers in data/tokenizer/real (transformers baselines, llama.cpp probes). */
#include <stdlib.h>
#include <string.h>

#include "tok-test-util.h"

typedef struct
{
  const char *dir; /* folder under data/tokenizers */
  const char *baseline; /* multilingual baseline (with specials) */
  const char *encoded; /* swift-transformers *_encoded.json */
  const char *gguf; /* llama.cpp .inp/.out stem, or NULL */
  gboolean clean_up; /* transformers' clean_up_tokenization_spaces */
} Vectors;

static const Vectors vectors[] = {
  { "llama", "tinyllama_multilingual.json", "llama_encoded.json",
      "ggml-vocab-llama-spm.gguf", FALSE },
  { "flan-t5", "t5_small_multilingual.json", "t5_base_encoded.json", NULL,
      TRUE },
  { "bert-base-uncased", "bge_small_multilingual.json",
      "bert_uncased_encoded.json", "ggml-vocab-bert-bge.gguf", TRUE },
};

static IbTokenizer *
load (const Vectors *v)
{
  char *rel = g_build_filename (v->dir, "tokenizer.json", NULL);
  char *path = tok_test_real (rel);
  IbTokenizer *tok = NULL;
  GError *error = NULL;

  g_free (rel);
  tok = ib_tokenizer_new_from_file (path, &error);
  g_assert_no_error (error);
  g_free (path);
  return tok;
}

static char *
vector_path (const Vectors *v, const char *file)
{
  char *rel = g_build_filename (v->dir, "test-vectors", file, NULL);
  char *p = tok_test_real (rel);
  g_free (rel);
  return p;
}

static gboolean
same (IbTokenizer *tok, const char *text, gboolean special, GArray *want,
    const char *what)
{
  GArray *got = g_array_new (FALSE, FALSE, sizeof (gint32));
  GError *error = NULL;
  gboolean ok;

  g_assert_true (ib_tokenizer_encode (tok, text, -1, special, got, &error));
  ok = tok_test_ids_equal (want, got);
  if (!ok) {
    char *a = tok_test_ids_str (want), *b = tok_test_ids_str (got);
    g_test_message ("%s:\n  want %s\n  got  %s", what, a, b);
    g_free (a);
    g_free (b);
  }
  g_array_free (got, TRUE);
  return ok;
}

static void
test_vectors (gconstpointer data)
{
  const Vectors *v = data;
  char *path;
  IbTokenizer *tok = load (v);
  JsonNode *inputs, *base, *enc;
  JsonArray *in_arr, *entries;
  guint i, j, bad = 0, total = 0;

  /* multilingual baselines: entries match inputs by id */
  path = vector_path (v, "multilingual_inputs.json");
  inputs = tok_test_load_json (path);
  g_free (path);
  path = vector_path (v, v->baseline);
  base = tok_test_load_json (path);
  g_free (path);
  g_assert_nonnull (inputs);
  g_assert_nonnull (base);
  in_arr = json_node_get_array (inputs);
  entries =
      json_object_get_array_member (json_node_get_object (base), "entries");
  for (i = 0; i < json_array_get_length (entries); i++) {
    JsonObject *e = json_array_get_object_element (entries, i);
    const char *id = json_object_get_string_member (e, "id");
    for (j = 0; j < json_array_get_length (in_arr); j++) {
      JsonObject *in = json_array_get_object_element (in_arr, j);
      if (strcmp (json_object_get_string_member (in, "id"), id) == 0) {
        GArray *want =
            tok_test_ids (json_object_get_array_member (e, "input_ids"));
        total++;
        bad += !same (tok, json_object_get_string_member (in, "text"), TRUE,
            want, id);
        g_array_free (want, TRUE);
      }
    }
  }
  json_node_unref (inputs);
  json_node_unref (base);

  /* the long French paragraph, and its decoding */
  path = vector_path (v, v->encoded);
  enc = tok_test_load_json (path);
  g_free (path);
  g_assert_nonnull (enc);
  {
    JsonObject *o = json_node_get_object (enc);
    GArray *want = tok_test_ids (json_object_get_array_member (o, "token_ids"));
    total++;
    bad += !same (tok, json_object_get_string_member (o, "text"), TRUE, want,
        v->encoded);
    if (json_object_has_member (o, "decoded_text")) {
      char *text = ib_tokenizer_decode (tok,
          (const gint32 *) (void *) want->data, want->len, FALSE, NULL);
      if (v->clean_up) {
        char *c = ib_tokenizer_clean_up_spaces (text);
        g_free (text);
        text = c;
      }
      g_assert_cmpstr (text, ==,
          json_object_get_string_member (o, "decoded_text"));
      g_free (text);
    }
    g_array_free (want, TRUE);
  }
  json_node_unref (enc);

  /* llama.cpp probes: inputs split by "\n__ggml_vocab_test__\n", ids
   * without special tokens, one line each */
  if (v->gguf) {
    char *inp_name = g_strconcat (v->gguf, ".inp", NULL);
    char *out_name = g_strconcat (v->gguf, ".out", NULL);
    char *inp_path = vector_path (v, inp_name),
         *out_path = vector_path (v, out_name);
    char *inp = NULL, *out = NULL;
    char **texts, **lines;

    g_assert_true (g_file_get_contents (inp_path, &inp, NULL, NULL));
    g_assert_true (g_file_get_contents (out_path, &out, NULL, NULL));
    texts = g_strsplit (inp, "\n__ggml_vocab_test__\n", -1);
    lines = g_strsplit (out, "\n", -1);
    for (i = 0; texts[i] && lines[i]; i++) {
      char **nums;
      GArray *want;
      if (i + 1 == g_strv_length (texts) && *texts[i] == '\0')
        break;
      nums = g_strsplit (g_strstrip (lines[i]), " ", -1);
      want = g_array_new (FALSE, FALSE, sizeof (gint32));
      for (j = 0; nums[j]; j++) {
        gint32 x;
        if (*nums[j] == '\0')
          continue;
        x = atoi (nums[j]);
        g_array_append_val (want, x);
      }
      total++;
      bad += !same (tok, texts[i], FALSE, want, "llama.cpp probe");
      g_array_free (want, TRUE);
      g_strfreev (nums);
    }
    g_strfreev (texts);
    g_strfreev (lines);
    g_free (inp);
    g_free (out);
    g_free (inp_path);
    g_free (out_path);
    g_free (inp_name);
    g_free (out_name);
  }
  g_test_message ("%s: %u/%u vectors identical", v->dir, total - bad, total);
  g_assert_cmpuint (bad, ==, 0);
  ib_tokenizer_free (tok);
}

int
main (int argc, char **argv)
{
  guint i;

  g_test_init (&argc, &argv, NULL);
  for (i = 0; i < G_N_ELEMENTS (vectors); i++) {
    char *name = g_strdup_printf ("/tokenizer/vectors/%s", vectors[i].dir);
    g_test_add_data_func (name, &vectors[i], test_vectors);
    g_free (name);
  }
  return g_test_run ();
}
