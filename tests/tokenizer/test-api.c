/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Error paths and API contracts of the tokenizer: bad files, bad input, unknown components, truncation. */
#include <string.h>

#include "tok-test-util.h"

/* a tiny WordPiece tokenizer in the old, untagged model format */
static const char *tiny_wp =
    "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null,"
    " \"future_field\": {\"x\": [1, 2]},"
    " \"added_tokens\": ["
    "  {\"id\": 0, \"content\": \"[UNK]\", \"single_word\": false,"
    "   \"lstrip\": false, \"rstrip\": false, \"normalized\": false,"
    "   \"special\": true},"
    "  {\"id\": 1, \"content\": \"[CLS]\", \"special\": true},"
    "  {\"id\": 2, \"content\": \"[SEP]\", \"special\": true}],"
    " \"normalizer\": {\"type\": \"BertNormalizer\", \"lowercase\": true,"
    "   \"unknown_option\": 3},"
    " \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"},"
    " \"post_processor\": {\"type\": \"BertProcessing\","
    "   \"sep\": [\"[SEP]\", 2], \"cls\": [\"[CLS]\", 1]},"
    " \"decoder\": {\"type\": \"WordPiece\", \"prefix\": \"##\","
    "   \"cleanup\": true},"
    " \"model\": {\"unk_token\": \"[UNK]\","
    "   \"continuing_subword_prefix\": \"##\","
    "   \"max_input_chars_per_word\": 100,"
    "   \"vocab\": {\"[UNK]\": 0, \"[CLS]\": 1, \"[SEP]\": 2, \"a\": 3,"
    "     \"b\": 4, \"##b\": 5, \"ab\": 6, \".\": 7}}}";

static IbTokenizer *
tiny (void)
{
  GError *error = NULL;
  IbTokenizer *tok = ib_tokenizer_new_from_data (tiny_wp, -1, &error);

  g_assert_no_error (error);
  g_assert_nonnull (tok);
  return tok;
}

static void
test_encode_basic (void)
{
  IbTokenizer *tok = tiny ();
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  static const gint32 want[] = { 1, 6, 4, 0, 7, 3, 2 };
  char *text;

  /* "AB b c. a": lowercase, ab | b | [UNK] | . | a */
  g_assert_true (ib_tokenizer_encode (tok, "AB b c. a", -1, TRUE, ids, NULL));
  g_assert_cmpmem (ids->data, ids->len * 4, want, sizeof (want));
  /* @len limits the text; ids are appended */
  g_assert_true (ib_tokenizer_encode (tok, "abXYZ", 2, FALSE, ids, NULL));
  g_assert_cmpuint (ids->len, ==, 8);
  g_assert_cmpint (g_array_index (ids, gint32, 7), ==, 6);
  /* U+0000 is a valid character (clean_text removes it) */
  g_assert_true (ib_tokenizer_encode (tok, "a\0b", 3, FALSE, ids, NULL));
  g_assert_cmpuint (ids->len, ==, 9);
  g_assert_cmpint (g_array_index (ids, gint32, 8), ==, 6);
  g_array_set_size (ids, 8);

  text = ib_tokenizer_decode (tok, (const gint32 *) (void *) ids->data,
      ids->len, TRUE, NULL);
  g_assert_cmpstr (text, ==, "ab b. a ab"); /* [UNK] is special */
  g_free (text);
  text = ib_tokenizer_decode (tok, NULL, 0, TRUE, NULL);
  g_assert_cmpstr (text, ==, "");
  g_free (text);
  g_assert_cmpuint (ib_tokenizer_get_vocab_size (tok), ==, 8);
  g_assert_true (ib_tokenizer_is_special_id (tok, 1));
  g_assert_false (ib_tokenizer_is_special_id (tok, 3));
  g_array_free (ids, TRUE);
  ib_tokenizer_free (tok);
  ib_tokenizer_free (NULL);
}

static void
test_invalid_utf8 (void)
{
  IbTokenizer *tok = tiny ();
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  GError *error = NULL;

  g_assert_false (
      ib_tokenizer_encode (tok, "ab\xff\xfe", -1, TRUE, ids, &error));
  g_assert_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_INPUT);
  g_assert_cmpuint (ids->len, ==, 0);
  g_clear_error (&error);
  /* a truncated multi-byte sequence */
  g_assert_false (ib_tokenizer_encode (tok, "\xe2\x96", -1, TRUE, ids, &error));
  g_assert_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_INPUT);
  g_clear_error (&error);
  g_array_free (ids, TRUE);
  ib_tokenizer_free (tok);
}

static void
test_truncation (void)
{
  IbTokenizer *tok = tiny ();
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  GError *error = NULL;
  static const gint32 left[] = { 1, 7, 3, 2 };
  static const gint32 right[] = { 1, 6, 4, 2 };

  g_assert_true (ib_tokenizer_encode_truncated (tok, "ab b c. a", -1, TRUE, 4,
      IB_TRUNCATE_LEFT, ids, NULL));
  g_assert_cmpmem (ids->data, ids->len * 4, left, sizeof (left));
  g_array_set_size (ids, 0);
  g_assert_true (ib_tokenizer_encode_truncated (tok, "ab b c. a", -1, TRUE, 4,
      IB_TRUNCATE_RIGHT, ids, NULL));
  g_assert_cmpmem (ids->data, ids->len * 4, right, sizeof (right));
  g_array_set_size (ids, 0);
  /* without special tokens the whole budget is text */
  g_assert_true (ib_tokenizer_encode_truncated (tok, "ab b c. a", -1, FALSE, 2,
      IB_TRUNCATE_LEFT, ids, NULL));
  g_assert_cmpuint (ids->len, ==, 2);
  g_assert_cmpint (g_array_index (ids, gint32, 1), ==, 3);
  g_array_set_size (ids, 0);
  g_assert_false (ib_tokenizer_encode_truncated (tok, "ab", -1, TRUE, 1,
      IB_TRUNCATE_LEFT, ids, &error));
  g_assert_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_INPUT);
  g_clear_error (&error);
  g_array_free (ids, TRUE);
  ib_tokenizer_free (tok);
}

/* tiny_wp with one member replaced */
static char *
tiny_with (const char *member, const char *json)
{
  JsonNode *root = json_from_string (tiny_wp, NULL);
  JsonNode *n = json_from_string (json, NULL);
  char *out;

  json_object_set_member (json_node_get_object (root), member, n);
  out = json_to_string (root, FALSE);
  json_node_unref (root);
  return out;
}

static void
expect_error (const char *json, gint code, const char *needle)
{
  GError *error = NULL;
  IbTokenizer *tok = ib_tokenizer_new_from_data (json, -1, &error);

  g_assert_null (tok);
  g_assert_error (error, IB_TOKENIZER_ERROR, code);
  if (needle && strstr (error->message, needle) == NULL)
    g_error ("'%s' not in '%s'", needle, error->message);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
}

static void
test_bad_files (void)
{
  GError *error = NULL;
  char *j;

  g_assert_null (
      ib_tokenizer_new_from_file ("/nonexistent/tokenizer.json", &error));
  g_assert_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_IO);
  g_clear_error (&error);

  expect_error ("{\"model\": ", IB_TOKENIZER_ERROR_FORMAT, NULL);
  expect_error ("[1, 2]", IB_TOKENIZER_ERROR_FORMAT, NULL);
  expect_error ("{}", IB_TOKENIZER_ERROR_FORMAT, "model");

  j = tiny_with ("normalizer", "{\"type\": \"Fancy\"}");
  expect_error (j, IB_TOKENIZER_ERROR_UNSUPPORTED, "Fancy");
  g_free (j);
  j = tiny_with ("normalizer",
      "{\"type\": \"Sequence\", \"normalizers\":"
      " [{\"type\": \"NFD\"}, {\"type\": \"Weird\"}]}");
  expect_error (j, IB_TOKENIZER_ERROR_UNSUPPORTED, "Weird");
  g_free (j);
  j = tiny_with ("pre_tokenizer", "{\"type\": \"ByteLevel\"}");
  expect_error (j, IB_TOKENIZER_ERROR_UNSUPPORTED, "ByteLevel");
  g_free (j);
  j = tiny_with ("decoder", "{\"type\": \"CTC\"}");
  expect_error (j, IB_TOKENIZER_ERROR_UNSUPPORTED, "CTC");
  g_free (j);
  j = tiny_with ("model", "{\"type\": \"Magic\", \"vocab\": {}}");
  expect_error (j, IB_TOKENIZER_ERROR_UNSUPPORTED, "Magic");
  g_free (j);
  j = tiny_with ("model",
      "{\"type\": \"BPE\", \"vocab\": {\"a\": 0},"
      " \"merges\": [\"a b\"]}");
  expect_error (j, IB_TOKENIZER_ERROR_FORMAT, "merge");
  g_free (j);
  j = tiny_with ("model",
      "{\"type\": \"Unigram\", \"unk_id\": 5,"
      " \"vocab\": [[\"a\", -1.0]]}");
  expect_error (j, IB_TOKENIZER_ERROR_FORMAT, "unk_id");
  g_free (j);
  j = tiny_with ("normalizer",
      "{\"type\": \"Precompiled\","
      " \"precompiled_charsmap\": \"AAA=\"}");
  expect_error (j, IB_TOKENIZER_ERROR_FORMAT, "charsmap");
  g_free (j);
  j = tiny_with ("version", "\"2.0\"");
  expect_error (j, IB_TOKENIZER_ERROR_FORMAT, "version");
  g_free (j);
  j = tiny_with ("added_tokens", "[{\"id\": 3}]");
  expect_error (j, IB_TOKENIZER_ERROR_FORMAT, "content");
  g_free (j);
}

/* @n opening brackets, then as many closing ones, inside a member of an
 * object: {"x": [[[...]]]} */
static char *
nested (const char *open, const char *close, guint n)
{
  GString *s = g_string_new ("{\"version\": \"1.0\", \"x\": ");
  guint i;

  for (i = 0; i < n; i++)
    g_string_append (s, open);
  for (i = 0; i < n; i++)
    g_string_append (s, close);
  g_string_append (s, "}");
  return g_string_free (s, FALSE);
}

/* issue 12: ids beyond the vocabulary, nesting that would overflow the
 * stack, an empty file */
static void
test_hostile_files (void)
{
  GError *error = NULL;
  IbTokenizer *tok;
  char *j, *deep;

  /* id + 1 overflowed; 1e9 allocated an 8 GB id table */
  j = tiny_with ("model",
      "{\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 2147483647},"
      " \"merges\": []}");
  expect_error (j, IB_TOKENIZER_ERROR_FORMAT,
      "BPE vocab entry 'b' has id 2147483647; ids must be 0 .. 4 (2 entries "
      "and 3 added tokens)");
  g_free (j);
  j = tiny_with ("model",
      "{\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1000000000},"
      " \"merges\": []}");
  expect_error (j, IB_TOKENIZER_ERROR_FORMAT, "has id 1000000000");
  g_free (j);
  j = tiny_with ("model",
      "{\"type\": \"WordPiece\", \"vocab\": {\"a\": 2147483647}}");
  expect_error (j, IB_TOKENIZER_ERROR_FORMAT, "'a' has id 2147483647");
  g_free (j);
  j = tiny_with ("model", "{\"type\": \"WordLevel\", \"vocab\": {\"a\": -1}}");
  expect_error (j, IB_TOKENIZER_ERROR_FORMAT, "'a' has id -1");
  g_free (j);
  /* a gap the added tokens may fill is fine: 2 entries + 3 added, id 4 */
  j = tiny_with ("model",
      "{\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 4},"
      " \"merges\": []}");
  tok = ib_tokenizer_new_from_data (j, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ib_tokenizer_token_to_id (tok, "b"), ==, 4);
  ib_tokenizer_free (tok);
  g_free (j);

  /* 100 000 levels overflowed json-glib's recursive parser */
  deep = nested ("[", "]", 100000);
  expect_error (deep, IB_TOKENIZER_ERROR_FORMAT,
      "nested more than 64 levels deep");
  g_free (deep);
  deep = nested ("{\"a\": ", "}", 65);
  expect_error (deep, IB_TOKENIZER_ERROR_FORMAT,
      "nested more than 64 levels deep");
  g_free (deep);
  /* 63 levels inside the root object, and brackets in strings, are fine:
   * the error is then about the missing model */
  deep = nested ("[", "]", 63);
  expect_error (deep, IB_TOKENIZER_ERROR_FORMAT, "has no model");
  g_free (deep);
  deep = nested ("\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                 "[[[[[[\\\"",
      "\"", 1);
  expect_error (deep, IB_TOKENIZER_ERROR_FORMAT, "has no model");
  g_free (deep);

  expect_error ("", IB_TOKENIZER_ERROR_FORMAT, "invalid JSON: it is empty");
  expect_error (" \n", IB_TOKENIZER_ERROR_FORMAT, "it is empty");
}

/* a null normalizer / pre-tokenizer / decoder is fine; no decoder joins
 * tokens with spaces, as the library does */
static void
test_nulls (void)
{
  char *j = tiny_with ("decoder", "null");
  IbTokenizer *tok = ib_tokenizer_new_from_data (j, -1, NULL);
  gint32 ids[] = { 6, 5, 7 };
  char *text;

  g_assert_nonnull (tok);
  text = ib_tokenizer_decode (tok, ids, 3, TRUE, NULL);
  g_assert_cmpstr (text, ==, "ab ##b .");
  g_free (text);
  ib_tokenizer_free (tok);
  g_free (j);
}

/* The domain is named as ib-tokenizer-error.h says (G_DEFINE_QUARK
 * stringified the hyphenated name that clang-format had spaced out, giving
 * "ib - tokenizer - error - quark"), and the same quark from any thread. */
static gpointer
domain_in_thread (G_GNUC_UNUSED gpointer data)
{
  return GUINT_TO_POINTER (IB_TOKENIZER_ERROR);
}

static void
test_error_domain (void)
{
  GThread *threads[4];
  int i;

  for (i = 0; i < 4; i++)
    threads[i] = g_thread_new ("domain", domain_in_thread, NULL);
  for (i = 0; i < 4; i++)
    g_assert_cmpuint (GPOINTER_TO_UINT (g_thread_join (threads[i])), ==,
        g_quark_from_static_string ("ib-tokenizer-error-quark"));
  g_assert_cmpstr (g_quark_to_string (IB_TOKENIZER_ERROR), ==,
      "ib-tokenizer-error-quark");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tokenizer/api/error-domain", test_error_domain);
  g_test_add_func ("/tokenizer/api/encode-basic", test_encode_basic);
  g_test_add_func ("/tokenizer/api/invalid-utf8", test_invalid_utf8);
  g_test_add_func ("/tokenizer/api/truncation", test_truncation);
  g_test_add_func ("/tokenizer/api/bad-files", test_bad_files);
  g_test_add_func ("/tokenizer/api/hostile-files", test_hostile_files);
  g_test_add_func ("/tokenizer/api/nulls", test_nulls);
  return g_test_run ();
}
