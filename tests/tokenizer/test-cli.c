/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* instructblip-ask --tokenize/--decode against the small-tokenizer fixtures, and its failures on bad input. */
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "tok-test-util.h"

static char *model_dir;
static JsonArray *corpus;
static JsonNode *corpus_node, *bpe_node, *wp_node;

/* runs instructblip-ask with @args and @input on stdin (from a file, so
 * that a program that stops reading early cannot break a pipe) */
static int
run_ask (const char *const *args, const char *input, gsize len, char **out,
    char **err)
{
  GPtrArray *argv = g_ptr_array_new ();
  GSubprocessLauncher *l;
  GSubprocess *p;
  GBytes *o = NULL, *e = NULL;
  GError *error = NULL;
  char *in_path = g_build_filename (model_dir, "stdin.txt", NULL);
  int status;

  g_assert_true (g_file_set_contents (in_path, input, len, NULL));
  g_ptr_array_add (argv, (gpointer) g_getenv ("IB_ASK"));
  for (; *args; args++)
    g_ptr_array_add (argv, (gpointer) *args);
  g_ptr_array_add (argv, NULL);
  l = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_stdin_file_path (l, in_path);
  p = g_subprocess_launcher_spawnv (l, (const char *const *) argv->pdata,
      &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate (p, NULL, NULL, &o, &e, &error));
  g_assert_no_error (error);
  status = g_subprocess_get_exit_status (p);
  *out = g_strndup (g_bytes_get_data (o, NULL), g_bytes_get_size (o));
  if (err)
    *err = g_strndup (g_bytes_get_data (e, NULL), g_bytes_get_size (e));
  g_bytes_unref (o);
  g_bytes_unref (e);
  g_object_unref (p);
  g_object_unref (l);
  g_ptr_array_free (argv, TRUE);
  g_remove (in_path);
  g_free (in_path);
  return status;
}

/* the corpus lines that are lines (no newline inside) */
static GArray *
line_indices (void)
{
  GArray *idx = g_array_new (FALSE, FALSE, sizeof (guint));
  guint i;

  for (i = 0; i < json_array_get_length (corpus); i++) {
    const char *t = json_array_get_string_element (corpus, i);
    if (strchr (t, '\n') == NULL && strchr (t, '\r') == NULL)
      g_array_append_val (idx, i);
  }
  return idx;
}

/* --tokenize with @args; compares each output line with @member */
static void
check_tokenize (const char *const *args, JsonNode *exp, const char *member)
{
  GArray *idx = line_indices ();
  GString *in = g_string_new (NULL);
  JsonArray *want =
      json_object_get_array_member (json_node_get_object (exp), member);
  char *out, *err;
  char **lines;
  guint i, bad = 0;

  for (i = 0; i < idx->len; i++) {
    g_string_append (in,
        json_array_get_string_element (corpus, g_array_index (idx, guint, i)));
    g_string_append_c (in, '\n');
  }
  g_assert_cmpint (run_ask (args, in->str, in->len, &out, &err), ==, 0);
  lines = g_strsplit (out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, idx->len + 1);
  for (i = 0; i < idx->len; i++) {
    JsonNode *n = json_from_string (lines[i], NULL);
    GArray *got, *w;
    g_assert_nonnull (n);
    got = tok_test_ids (
        json_object_get_array_member (json_node_get_object (n), "ids"));
    w = tok_test_ids (
        json_array_get_array_element (want, g_array_index (idx, guint, i)));
    bad += !tok_test_ids_equal (got, w);
    g_array_free (got, TRUE);
    g_array_free (w, TRUE);
    json_node_unref (n);
  }
  g_test_message ("%s: %u/%u lines identical", member, idx->len - bad,
      idx->len);
  g_assert_cmpuint (bad, ==, 0);
  g_strfreev (lines);
  g_free (out);
  g_free (err);
  g_string_free (in, TRUE);
  g_array_free (idx, TRUE);
}

static void
test_tokenize (void)
{
  const char *a1[] = { "--tokenize", "--model", model_dir, NULL };
  const char *a2[] = { "--tokenize", "--no-special", "--model", model_dir,
    NULL };
  const char *a3[] = { "--tokenize", "--qformer", "--model", model_dir, NULL };
  char *wp =
      g_build_filename (model_dir, "qformer_tokenizer", "tokenizer.json", NULL);
  const char *a4[] = { "--tokenize", "--tokenizer", wp, "--max-length", "128",
    NULL };

  check_tokenize (a1, bpe_node, "encode");
  check_tokenize (a2, bpe_node, "encode_plain");
  check_tokenize (a3, wp_node, "encode");
  check_tokenize (a4, wp_node, "encode_truncated");
  g_free (wp);
}

static void
check_decode (const char *const *args, JsonNode *exp, const char *member)
{
  JsonObject *o = json_node_get_object (exp);
  JsonArray *enc = json_object_get_array_member (o, "encode");
  JsonArray *want = json_object_get_array_member (o, member);
  GString *in = g_string_new (NULL);
  char *out, *err;
  char **lines;
  guint i, n = json_array_get_length (enc), bad = 0;

  for (i = 0; i < n; i++) {
    GArray *ids = tok_test_ids (json_array_get_array_element (enc, i));
    char *s = tok_test_ids_str (ids);
    g_string_append_printf (in, "%s\n", s);
    g_free (s);
    g_array_free (ids, TRUE);
  }
  g_assert_cmpint (run_ask (args, in->str, in->len, &out, &err), ==, 0);
  lines = g_strsplit (out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, n + 1);
  for (i = 0; i < n; i++) {
    JsonNode *node = json_from_string (lines[i], NULL);
    g_assert_nonnull (node);
    if (g_strcmp0 (json_object_get_string_member (json_node_get_object (node),
                       "text"),
            json_array_get_string_element (want, i)) != 0)
      bad++;
    json_node_unref (node);
  }
  g_test_message ("%s: %u/%u lines identical", member, n - bad, n);
  g_assert_cmpuint (bad, ==, 0);
  g_strfreev (lines);
  g_free (out);
  g_free (err);
  g_string_free (in, TRUE);
}

static void
test_decode (void)
{
  const char *a1[] = { "--decode", "--model", model_dir, NULL };
  const char *a2[] = { "--decode", "--keep-special", "--model", model_dir,
    NULL };

  check_decode (a1, bpe_node, "decode_skip");
  check_decode (a2, bpe_node, "decode_keep");
}

static void
expect_failure (const char *const *args, const char *input, gsize len)
{
  char *out, *err;

  g_assert_cmpint (run_ask (args, input, len, &out, &err), !=, 0);
  g_assert_cmpstr (err, !=, "");
  g_test_message ("stderr: %s", err);
  g_free (out);
  g_free (err);
}

static void
test_failures (void)
{
  const char *tok[] = { "--tokenize", "--model", model_dir, NULL };
  const char *dec[] = { "--decode", "--model", model_dir, NULL };
  const char *missing[] = { "--tokenize", "--tokenizer", "/nonexistent.json",
    NULL };
  const char *nomode[] = { "--model", model_dir, NULL };
  const char *nomodel[] = { "--tokenize", NULL };
  const char *bad_side[] = { "--tokenize", "--model", model_dir, "--max-length",
    "8", "--truncation-side", "middle", NULL };

  expect_failure (tok, "fine\nbad \xff\xfe bytes\n", 17);
  expect_failure (missing, "x\n", 2);
  expect_failure (nomode, "x\n", 2);
  expect_failure (nomodel, "x\n", 2);
  expect_failure (bad_side, "x\n", 2);
  expect_failure (dec, "[1, 2\n", 6);
  expect_failure (dec, "{\"a\": 1}\n", 9);
  expect_failure (dec, "[1, \"x\"]\n", 9);
}

/* fails with @needle on stderr */
static void
expect_stderr (const char *const *args, const char *input, gsize len,
    const char *needle)
{
  char *out, *err;

  g_assert_cmpint (run_ask (args, input, len, &out, &err), !=, 0);
  g_test_message ("stderr: %s", err);
  if (strstr (err, needle) == NULL)
    g_error ("\"%s\" not in \"%s\"", needle, err);
  g_free (out);
  g_free (err);
}

/* issue 12: --decode dropped ids outside the vocabulary silently; a deep
 * line overflowed the stack */
static void
test_decode_hostile (void)
{
  const char *dec[] = { "--decode", "--model", model_dir, NULL };
  GString *deep = g_string_new (NULL);
  guint i;

  expect_stderr (dec, "[1, 2147483647]\n", 16,
      "line 1: element 1: id 2147483647 names no token of this tokenizer");
  expect_stderr (dec, "[1]\n[-1]\n", 9, "line 2: element 0: id -1 names no");
  for (i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  g_string_append_c (deep, '\n');
  expect_stderr (dec, deep->str, deep->len, "nested more than 64 levels deep");
  g_string_free (deep, TRUE);
}

static void
copy_file (const char *from, const char *to)
{
  char *data;
  gsize len;

  g_assert_true (g_file_get_contents (from, &data, &len, NULL));
  g_assert_true (g_file_set_contents (to, data, len, NULL));
  g_free (data);
}

int
main (int argc, char **argv)
{
  char *p, *q, *dir;
  int ret;

  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("IB_ASK") == NULL) {
    g_test_message ("IB_ASK (the instructblip-ask binary) is not set");
    return 77;
  }
  model_dir = g_dir_make_tmp ("ib-ask-XXXXXX", NULL);
  dir = g_build_filename (model_dir, "qformer_tokenizer", NULL);
  g_mkdir (dir, 0700);
  p = tok_test_fixture ("small/small-bpe.json");
  q = g_build_filename (model_dir, "tokenizer.json", NULL);
  copy_file (p, q);
  g_free (p);
  g_free (q);
  p = tok_test_fixture ("small/small-wordpiece.json");
  q = g_build_filename (dir, "tokenizer.json", NULL);
  copy_file (p, q);
  g_free (p);
  p = tok_test_fixture ("corpus.json");
  corpus_node = tok_test_load_json (p);
  corpus = json_node_get_array (corpus_node);
  g_free (p);
  p = tok_test_fixture ("expected/small-bpe.json");
  bpe_node = tok_test_load_json (p);
  g_free (p);
  p = tok_test_fixture ("expected/small-wordpiece.json");
  wp_node = tok_test_load_json (p);
  g_free (p);

  g_test_add_func ("/tokenizer/cli/tokenize", test_tokenize);
  g_test_add_func ("/tokenizer/cli/decode", test_decode);
  g_test_add_func ("/tokenizer/cli/failures", test_failures);
  g_test_add_func ("/tokenizer/cli/decode-hostile", test_decode_hostile);
  ret = g_test_run ();

  g_remove (q);
  g_free (q);
  g_rmdir (dir);
  g_free (dir);
  q = g_build_filename (model_dir, "tokenizer.json", NULL);
  g_remove (q);
  g_free (q);
  g_rmdir (model_dir);
  g_free (model_dir);
  json_node_unref (corpus_node);
  json_node_unref (bpe_node);
  json_node_unref (wp_node);
  return ret;
}
