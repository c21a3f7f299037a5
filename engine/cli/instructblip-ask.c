/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* instructblip-ask: command-line front end of the engine; one function per mode (--tokenize, --decode, answering in ask-answer.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "ask.h"
#include "ib-json-private.h"
#include "tokenizer.h"

typedef struct
{
  char *model_dir;
  char *tokenizer_file;
  gboolean tokenize;
  gboolean decode;
  gboolean no_special;
  gboolean keep_special;
  gboolean qformer;
  gint max_length;
  char *truncation_side;
  gboolean bench;
} Options;

static Options opts = { NULL, NULL, FALSE, FALSE, FALSE, FALSE, FALSE, 0, NULL,
  FALSE };

static GOptionEntry entries[] = {
  { "model", 'm', 0, G_OPTION_ARG_FILENAME, &opts.model_dir,
      "Hugging Face model directory (default for answering: the project's "
      "default model)",
      "DIR" },
  { "tokenizer", 't', 0, G_OPTION_ARG_FILENAME, &opts.tokenizer_file,
      "A bare tokenizer.json (instead of --model)", "FILE" },
  { "tokenize", 0, 0, G_OPTION_ARG_NONE, &opts.tokenize,
      "Read UTF-8 lines from stdin, print {\"ids\": [...]} per line", NULL },
  { "decode", 0, 0, G_OPTION_ARG_NONE, &opts.decode,
      "Read JSON id arrays from stdin, print {\"text\": \"...\"} per line",
      NULL },
  { "no-special", 0, 0, G_OPTION_ARG_NONE, &opts.no_special,
      "--tokenize: do not add special tokens", NULL },
  { "keep-special", 0, 0, G_OPTION_ARG_NONE, &opts.keep_special,
      "--decode: keep special tokens in the text", NULL },
  { "qformer", 0, 0, G_OPTION_ARG_NONE, &opts.qformer,
      "Use the Q-Former tokenizer of the --model directory", NULL },
  { "max-length", 0, 0, G_OPTION_ARG_INT, &opts.max_length,
      "--tokenize: truncate to N ids, special tokens included", "N" },
  { "truncation-side", 0, 0, G_OPTION_ARG_STRING, &opts.truncation_side,
      "--max-length: which end to cut, left or right (default left)", "SIDE" },
  { "bench", 0, 0, G_OPTION_ARG_NONE, &opts.bench,
      "--tokenize: encode stdin repeatedly and report tokens/s on stderr",
      NULL },
  { NULL }
};

static IbTokenizer *
load_tokenizer (GError **error)
{
  IbTokenizer *tok;
  char *path;

  if (opts.tokenizer_file != NULL)
    return ib_tokenizer_new_from_file (opts.tokenizer_file, error);
  if (opts.model_dir == NULL) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_IO,
        "give --model DIR or --tokenizer FILE");
    return NULL;
  }
  if (opts.qformer)
    path = g_build_filename (opts.model_dir, "qformer_tokenizer",
        "tokenizer.json", NULL);
  else
    path = g_build_filename (opts.model_dir, "tokenizer.json", NULL);
  tok = ib_tokenizer_new_from_file (path, error);
  g_free (path);
  return tok;
}

/* one line of stdin without its newline, or NULL at the end */
static char *
read_line (FILE *f, gsize *len)
{
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline (&line, &cap, f);

  if (n < 0) {
    free (line);
    return NULL;
  }
  if (n > 0 && line[n - 1] == '\n')
    line[--n] = '\0';
  *len = n;
  return line;
}

static void
print_ids (const GArray *ids)
{
  GString *s = g_string_new ("{\"ids\": [");
  guint i;

  for (i = 0; i < ids->len; i++)
    g_string_append_printf (s, i ? ", %d" : "%d",
        g_array_index (ids, gint32, i));
  g_string_append (s, "]}\n");
  fputs (s->str, stdout);
  g_string_free (s, TRUE);
}

static gboolean
encode_line (IbTokenizer *tok, const char *line, gsize len, GArray *ids,
    GError **error)
{
  IbTruncateSide side = IB_TRUNCATE_LEFT;

  if (opts.truncation_side && strcmp (opts.truncation_side, "right") == 0)
    side = IB_TRUNCATE_RIGHT;
  if (opts.max_length > 0)
    return ib_tokenizer_encode_truncated (tok, line, len, !opts.no_special,
        opts.max_length, side, ids, error);
  return ib_tokenizer_encode (tok, line, len, !opts.no_special, ids, error);
}

static int
run_bench (IbTokenizer *tok)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (free);
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  GTimer *timer = g_timer_new ();
  guint64 n_tokens = 0, n_bytes = 0;
  guint rounds = 0, i;
  char *line;
  gsize len;
  int status = EXIT_SUCCESS;

  while ((line = read_line (stdin, &len)) != NULL)
    g_ptr_array_add (lines, line);
  do {
    for (i = 0; i < lines->len; i++) {
      const char *l = g_ptr_array_index (lines, i);
      GError *error = NULL;
      g_array_set_size (ids, 0);
      if (!encode_line (tok, l, strlen (l), ids, &error)) {
        g_printerr ("instructblip-ask: line %u: %s\n", i + 1, error->message);
        g_clear_error (&error);
        status = EXIT_FAILURE;
        goto out;
      }
      n_tokens += ids->len;
      n_bytes += strlen (l);
    }
    rounds++;
  } while (g_timer_elapsed (timer, NULL) < 2.0 && lines->len > 0);
  g_printerr ("%" G_GUINT64_FORMAT " tokens (%" G_GUINT64_FORMAT
              " bytes) in %.3f s: %.0f tokens/s, %.2f MB/s, %u rounds\n",
      n_tokens, n_bytes, g_timer_elapsed (timer, NULL),
      n_tokens / g_timer_elapsed (timer, NULL),
      n_bytes / g_timer_elapsed (timer, NULL) / 1e6, rounds);

out:
  g_timer_destroy (timer);
  g_array_free (ids, TRUE);
  g_ptr_array_free (lines, TRUE);
  return status;
}

/* --tokenize: stdin lines -> {"ids": [...]} */
static int
run_tokenize (IbTokenizer *tok)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  guint line_no = 0;
  char *line;
  gsize len;
  int status = EXIT_SUCCESS;

  while ((line = read_line (stdin, &len)) != NULL) {
    GError *error = NULL;
    line_no++;
    g_array_set_size (ids, 0);
    if (!encode_line (tok, line, len, ids, &error)) {
      g_printerr ("instructblip-ask: line %u: %s\n", line_no, error->message);
      g_clear_error (&error);
      free (line);
      status = EXIT_FAILURE;
      break;
    }
    print_ids (ids);
    free (line);
  }
  g_array_free (ids, TRUE);
  return status;
}

/* parses "[1, 2, 3]" into @ids; every id must name a token of @tok */
static gboolean
parse_id_array (IbTokenizer *tok, const char *line, gsize len, GArray *ids,
    GError **error)
{
  JsonNode *root;
  JsonArray *arr;
  GError *local = NULL;
  gboolean ok = FALSE;
  guint i;

  /* depth-checked: a line of 100 000 '[' must not overflow the stack */
  root = ib_json_parse (line, len, &local);
  if (root == NULL) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_INPUT,
        "invalid JSON: %s", local->message);
    g_clear_error (&local);
    goto out;
  }
  if (!JSON_NODE_HOLDS_ARRAY (root)) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_INPUT,
        "expected a JSON array of ids");
    goto out;
  }
  arr = json_node_get_array (root);
  for (i = 0; i < json_array_get_length (arr); i++) {
    JsonNode *n = json_array_get_element (arr, i);
    gint64 v;
    gint32 id;
    if (!JSON_NODE_HOLDS_VALUE (n) ||
        json_node_get_value_type (n) != G_TYPE_INT64 ||
        (v = json_node_get_int (n)) < G_MININT32 || v > G_MAXINT32) {
      g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_INPUT,
          "element %u is not an integer id", i);
      goto out;
    }
    id = (gint32) v;
    if (ib_tokenizer_id_to_token (tok, id) == NULL) {
      g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_INPUT,
          "element %u: id %d names no token of this tokenizer (%u tokens)", i,
          id, ib_tokenizer_get_vocab_size (tok));
      goto out;
    }
    g_array_append_val (ids, id);
  }
  ok = TRUE;

out:
  if (root)
    json_node_unref (root);
  return ok;
}

void
ask_print_json (JsonNode *root)
{
  JsonGenerator *gen = json_generator_new ();
  GString *line = g_string_new (NULL);
  char *s, *p;

  json_generator_set_root (gen, root);
  s = json_generator_to_data (gen, NULL);
  /* json-glib 1.6 leaves U+001F unescaped: escape every control byte */
  for (p = s; *p; p++) {
    if ((guchar) *p < 0x20)
      g_string_append_printf (line, "\\u%04x", (guchar) *p);
    else
      g_string_append_c (line, *p);
  }
  puts (line->str);
  g_string_free (line, TRUE);
  g_free (s);
  g_object_unref (gen);
}

static void
print_text (const char *text)
{
  JsonBuilder *b = json_builder_new ();
  JsonNode *root;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, text);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  ask_print_json (root);
  json_node_unref (root);
  g_object_unref (b);
}

/* --decode: stdin JSON id arrays -> {"text": "..."} */
static int
run_decode (IbTokenizer *tok)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  guint line_no = 0;
  char *line;
  gsize len;
  int status = EXIT_SUCCESS;

  while ((line = read_line (stdin, &len)) != NULL) {
    GError *error = NULL;
    char *text = NULL;
    line_no++;
    g_array_set_size (ids, 0);
    if (!parse_id_array (tok, line, len, ids, &error) ||
        (text = ib_tokenizer_decode (tok, (const gint32 *) (void *) ids->data,
             ids->len, !opts.keep_special, &error)) == NULL) {
      g_printerr ("instructblip-ask: line %u: %s\n", line_no, error->message);
      g_clear_error (&error);
      free (line);
      status = EXIT_FAILURE;
      break;
    }
    print_text (text);
    g_free (text);
    free (line);
  }
  g_array_free (ids, TRUE);
  return status;
}

/* --tokenize or --decode */
static int
run_tokenizer_mode (void)
{
  GError *error = NULL;
  IbTokenizer *tok;
  int status;

  tok = load_tokenizer (&error);
  if (tok == NULL) {
    g_printerr ("instructblip-ask: %s\n", error->message);
    g_clear_error (&error);
    return ASK_EXIT_RUNTIME;
  }
  if (opts.tokenize && opts.bench)
    status = run_bench (tok);
  else if (opts.tokenize)
    status = run_tokenize (tok);
  else
    status = run_decode (tok);
  ib_tokenizer_free (tok);
  return status;
}

int
main (int argc, char **argv)
{
  GOptionContext *ctx;
  GError *error = NULL;
  int status = ASK_EXIT_USAGE;

  ctx = g_option_context_new ("[FILE...] - ask InstructBLIP about images "
                              "and video");
  g_option_context_set_summary (ctx,
      "Answers --prompt about images (PNG, JPEG: one frame each, in order) "
      "or one video file\n(--frames sampled uniformly), or about "
      "--pixel-values. --tokenize and --decode\nrun the model's tokenizer "
      "on stdin instead.");
  g_option_context_add_main_entries (ctx, entries, NULL);
#ifdef IB_ASK_ANSWER
  g_option_context_add_main_entries (ctx, ask_answer_entries (), NULL);
#endif
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("instructblip-ask: %s\n", error->message);
    goto out;
  }
  if (opts.tokenize && opts.decode) {
    g_printerr ("instructblip-ask: choose one mode: --tokenize or --decode\n");
    goto out;
  }
  if (opts.truncation_side && strcmp (opts.truncation_side, "left") != 0 &&
      strcmp (opts.truncation_side, "right") != 0) {
    g_printerr ("instructblip-ask: --truncation-side is left or right\n");
    goto out;
  }
  if ((opts.tokenize || opts.decode) && argc > 1) {
    g_printerr ("instructblip-ask: --tokenize and --decode read stdin, not "
                "FILEs\n");
    goto out;
  }
  if (opts.tokenize || opts.decode) {
    status = run_tokenizer_mode ();
    goto out;
  }
#ifdef IB_ASK_ANSWER
  status = ask_answer_main (opts.model_dir, argv + 1, argc - 1);
#else
  g_printerr ("instructblip-ask: choose one mode: --tokenize or --decode "
              "(this build has no engine to answer with)\n");
#endif

out:
  g_clear_error (&error);
  g_option_context_free (ctx);
  g_free (opts.model_dir);
  g_free (opts.tokenizer_file);
  g_free (opts.truncation_side);
#ifdef IB_ASK_ANSWER
  ask_answer_options_clear ();
#endif
  return status;
}
