/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shipped default model (models/instructblip-synthvid-tiny) through the
 * public engine API on held-out synthetic questions: exact answers, and the
 * same greedy ids as PyTorch. The committed sample is small; set
 * IB_DEFAULT_MODEL_EVAL to a directory written by
 * training/train_default_model.py (--eval-dir) to run the full held-out set. */
#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "ibt-model.h"
#include "instructblip.h"

static char *
model_dir (void)
{
  const char *env = g_getenv ("IB_DEFAULT_MODEL");
  if (env != NULL)
    return g_strdup (env);
  return g_test_build_filename (G_TEST_DIST, "..", "models",
      "instructblip-synthvid-tiny", NULL);
}

static IbModel *
load (IbPrecision precision)
{
  char *dir = model_dir ();
  IbModel *m = ibt_load_model (dir, precision);

  g_free (dir);
  return m;
}

typedef struct
{
  JsonParser *parser;
  JsonArray *questions;
  guint8 *frames; /* [N, F, S, S, 3] uint8, resized RGB */
  gsize frames_len;
  int size;
  int max_new_tokens;
} EvalSet;

static void
eval_set_open (EvalSet *s, const char *dir)
{
  char *qpath = g_build_filename (dir, "questions.json", NULL);
  char *fpath = g_build_filename (dir, "frames.bin", NULL);
  GError *error = NULL;
  JsonObject *root;

  s->parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (s->parser, qpath, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (s->parser));
  s->questions = json_object_get_array_member (root, "questions");
  s->size = (int) json_object_get_int_member (root, "image_size");
  s->max_new_tokens = (int) json_object_get_int_member (root, "max_new_tokens");
  g_assert_true (g_file_get_contents (fpath, (char **) &s->frames,
      &s->frames_len, &error));
  g_assert_no_error (error);
  g_free (qpath);
  g_free (fpath);
}

static void
eval_set_close (EvalSet *s)
{
  g_object_unref (s->parser);
  g_free (s->frames);
}

/* Per kind of question ("pattern", "position", ...): [0] right, [1] asked. */
static void
tally_kind (GHashTable *kinds, JsonObject *q, gboolean right)
{
  const char *kind =
      json_object_get_string_member_with_default (q, "kind", "unlabelled");
  guint *t = g_hash_table_lookup (kinds, kind);

  if (t == NULL) {
    t = g_new0 (guint, 2);
    g_hash_table_insert (kinds, g_strdup (kind), t);
  }
  t[0] += right;
  t[1]++;
}

static void
report_kinds (GHashTable *kinds)
{
  GList *keys =
      g_list_sort (g_hash_table_get_keys (kinds), (GCompareFunc) strcmp);
  GString *line = g_string_new ("by kind:");

  for (GList *k = keys; k != NULL; k = k->next) {
    guint *t = g_hash_table_lookup (kinds, k->data);
    g_string_append_printf (line, " %s %u/%u%s", (char *) k->data, t[0], t[1],
        k->next != NULL ? "," : "");
  }
  g_test_message ("%s", line->str);
  g_string_free (line, TRUE);
  g_list_free (keys);
}

/* Answers every question of @dir greedily; asserts the shares of exact
 * answers and of ids equal to PyTorch's. */
static void
run_set (const char *dir, double min_exact, double min_same_ids)
{
  IbModel *m = load (IB_PRECISION_F32);
  IbContext *ctx;
  IbGenerateParams p;
  GError *error = NULL;
  EvalSet s;
  guint i, n, exact = 0, same = 0;
  gsize off = 0;
  GHashTable *kinds;

  if (m == NULL)
    return;
  eval_set_open (&s, dir);
  kinds = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_assert_cmpint (ib_model_get_image_size (m), ==, s.size);
  ctx = ib_context_new (m, NULL, &error);
  g_assert_no_error (error);
  ib_generate_params_init_for_model (&p, m);
  p.num_beams = 1;
  p.do_sample = FALSE;
  p.max_new_tokens = s.max_new_tokens;
  n = json_array_get_length (s.questions);
  g_assert_cmpuint (n, >, 0);
  for (i = 0; i < n; i++) {
    JsonObject *q = json_array_get_object_element (s.questions, i);
    const char *question = json_object_get_string_member (q, "question");
    const char *want = json_object_get_string_member (q, "answer");
    JsonArray *ids = json_object_get_array_member (q, "torch_ids");
    int nf = (int) json_object_get_int_member (q, "frames");
    gsize frame_bytes = (gsize) s.size * s.size * 3;
    IbImage frames[8];
    IbAnswer *a;
    gboolean ids_equal;
    int f;

    g_assert_cmpint (nf, >=, 1);
    g_assert_cmpint (nf, <=, 8);
    g_assert_cmpuint (off + nf * frame_bytes, <=, s.frames_len);
    for (f = 0; f < nf; f++)
      frames[f] = (IbImage){ s.size, s.size, s.size * 3, IB_PIXEL_FORMAT_RGB,
        s.frames + off + f * frame_bytes };
    off += nf * frame_bytes;
    g_assert_true (ib_context_set_frames (ctx, frames, nf, &error));
    g_assert_no_error (error);
    a = ib_context_answer (ctx, question, &p, &error);
    g_assert_no_error (error);
    ids_equal = (guint) a->n_tokens == json_array_get_length (ids);
    for (f = 0; ids_equal && f < a->n_tokens; f++)
      ids_equal = a->token_ids[f] == json_array_get_int_element (ids, f);
    exact += strcmp (a->text, want) == 0;
    tally_kind (kinds, q, strcmp (a->text, want) == 0);
    same += ids_equal;
    if (strcmp (a->text, want) != 0 || !ids_equal)
      g_test_message ("%u: %s -> \"%s\" (expected \"%s\", PyTorch \"%s\")%s", i,
          question, a->text, want,
          json_object_get_string_member (q, "torch_text"),
          ids_equal ? "" : " ids differ from PyTorch");
    ib_answer_free (a);
  }
  g_assert_cmpuint (off, ==, s.frames_len);
  g_test_message ("%s: %u questions, %u exact (%.1f%%), %u with PyTorch's ids "
                  "(%.1f%%)",
      dir, n, exact, 100.0 * exact / n, same, 100.0 * same / n);
  report_kinds (kinds);
  g_hash_table_unref (kinds);
  g_assert_cmpfloat ((double) exact / n, >=, min_exact);
  g_assert_cmpfloat ((double) same / n, >=, min_same_ids);
  ib_context_free (ctx);
  ib_model_unref (m);
  eval_set_close (&s);
}

/* The committed sample: every answer's ids equal PyTorch's, and at least
 * 95 % of the answers are exactly right, the project's goal (48 of 48 in
 * PyTorch for the model as trained now). */
static void
test_sample (void)
{
  char *dir =
      g_test_build_filename (G_TEST_DIST, "default-model", "data", NULL);
  run_set (dir, 0.95, 1.0);
  g_free (dir);
}

/* The whole held-out set (not committed), when asked for: the project's goal
 * of 95 % exact and 99 % with PyTorch's ids (584 and 600 of 600 at the time
 * of writing). */
static void
test_full (void)
{
  const char *dir = g_getenv ("IB_DEFAULT_MODEL_EVAL");

  if (dir == NULL) {
    g_test_skip ("set IB_DEFAULT_MODEL_EVAL to a held-out set directory");
    return;
  }
  run_set (dir, 0.95, 0.99);
}

/* A reduced precision on the committed sample, side by side with fp32:
 * the share of answers with fp32's greedy ids and of exact answers, and
 * the largest difference of the log-likelihood fp32's answer gets (the
 * summed log-softmax of its tokens, ib_context_rank: an error of the
 * logits where it matters). Devices or builds without the precision skip
 * after checking the refusal names it. */
static void
test_precision (gconstpointer data)
{
  IbPrecision precision = GPOINTER_TO_INT (data);
  char *dir = model_dir ();
  char *sample =
      g_test_build_filename (G_TEST_DIST, "default-model", "data", NULL);
  IbModelParams mp;
  IbModel *m32, *mp_model;
  IbContext *c32, *cp;
  IbGenerateParams p;
  GError *error = NULL;
  EvalSet s;
  guint i, n, same = 0, exact = 0, exact32 = 0;
  gsize off = 0;
  double max_dll = 0.0;

  m32 = load (IB_PRECISION_F32);
  if (m32 == NULL)
    goto out;
  ib_model_params_init (&mp);
  mp.precision = precision;
  mp_model = ib_model_load (dir, &mp, &error);
  if (mp_model == NULL) {
    g_assert_error (error, IB_ERROR, IB_ERROR_UNSUPPORTED);
    g_assert_nonnull (
        strstr (error->message, ib_precision_to_string (precision)));
    g_test_skip (error->message);
    g_clear_error (&error);
    ib_model_unref (m32);
    goto out;
  }
  g_assert_cmpint (ib_model_get_precision (mp_model), ==, precision);
  g_assert_cmpuint (ib_model_get_weight_bytes (mp_model), <,
      ib_model_get_weight_bytes (m32));
  eval_set_open (&s, sample);
  c32 = ib_context_new (m32, NULL, &error);
  g_assert_no_error (error);
  cp = ib_context_new (mp_model, NULL, &error);
  g_assert_no_error (error);
  ib_generate_params_init_for_model (&p, m32);
  p.num_beams = 1;
  p.do_sample = FALSE;
  p.max_new_tokens = s.max_new_tokens;
  n = json_array_get_length (s.questions);
  for (i = 0; i < n; i++) {
    JsonObject *q = json_array_get_object_element (s.questions, i);
    const char *question = json_object_get_string_member (q, "question");
    const char *want = json_object_get_string_member (q, "answer");
    int nf = (int) json_object_get_int_member (q, "frames");
    gsize frame_bytes = (gsize) s.size * s.size * 3;
    IbImage frames[8];
    IbAnswer *a32, *ap;
    const char *cand[1];
    double ll32, llp;
    gboolean ids_equal;
    int f;

    g_assert_cmpint (nf, <=, 8);
    for (f = 0; f < nf; f++)
      frames[f] = (IbImage){ s.size, s.size, s.size * 3, IB_PIXEL_FORMAT_RGB,
        s.frames + off + f * frame_bytes };
    off += nf * frame_bytes;
    g_assert_true (ib_context_set_frames (c32, frames, nf, &error));
    g_assert_true (ib_context_set_frames (cp, frames, nf, &error));
    g_assert_no_error (error);
    a32 = ib_context_answer (c32, question, &p, &error);
    g_assert_no_error (error);
    ap = ib_context_answer (cp, question, &p, &error);
    g_assert_no_error (error);
    ids_equal = a32->n_tokens == ap->n_tokens &&
        memcmp (a32->token_ids, ap->token_ids,
            (gsize) ap->n_tokens * sizeof (gint32)) == 0;
    same += ids_equal;
    exact += strcmp (ap->text, want) == 0;
    exact32 += strcmp (a32->text, want) == 0;
    cand[0] = a32->text;
    g_assert_cmpint (ib_context_rank (c32, question, cand, 1, &ll32, &error),
        ==, 0);
    g_assert_cmpint (ib_context_rank (cp, question, cand, 1, &llp, &error), ==,
        0);
    g_assert_no_error (error);
    max_dll = MAX (max_dll, fabs (ll32 - llp));
    if (!ids_equal)
      g_test_message ("%u: %s -> %s \"%s\", fp32 \"%s\"", i, question,
          ib_precision_to_string (precision), ap->text, a32->text);
    ib_answer_free (a32);
    ib_answer_free (ap);
  }
  g_test_message ("%s vs fp32 on %u questions: %u with fp32's greedy ids "
                  "(%.1f%%), %u exact (fp32 %u), weights %.2f MB (fp32 "
                  "%.2f MB), largest log-likelihood difference of fp32's "
                  "answer %.4f",
      ib_precision_to_string (precision), n, same, 100.0 * same / n, exact,
      exact32, ib_model_get_weight_bytes (mp_model) / 1e6,
      ib_model_get_weight_bytes (m32) / 1e6, max_dll);
  /* floors: measured 48/48 and 48/48 ids for bf16 and q8 on this sample
   * (see docs/performance.md); one answer in ten may change */
  g_assert_cmpfloat ((double) same / n, >=, 0.9);
  g_assert_cmpfloat ((double) exact / n, >=, 0.9);
  ib_context_free (c32);
  ib_context_free (cp);
  ib_model_unref (mp_model);
  ib_model_unref (m32);
  eval_set_close (&s);
out:
  g_free (dir);
  g_free (sample);
}

/* generation_config.json: greedy, short answers ending with </s>. */
static void
test_generation_config (void)
{
  IbModel *m = load (IB_PRECISION_F32);
  IbGenerateParams p;

  if (m == NULL)
    return;
  ib_generate_params_init_for_model (&p, m);
  g_assert_cmpint (p.num_beams, ==, 1);
  g_assert_false (p.do_sample);
  g_assert_cmpint (p.max_new_tokens, ==, 10);
  g_assert_cmpint (ib_model_get_image_size (m), ==, 64);
  ib_model_unref (m);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/default-model/generation-config", test_generation_config);
  g_test_add_func ("/default-model/sample", test_sample);
  g_test_add_func ("/default-model/full", test_full);
  g_test_add_data_func ("/default-model/sample/bf16",
      GINT_TO_POINTER (IB_PRECISION_BF16), test_precision);
  g_test_add_data_func ("/default-model/sample/q8",
      GINT_TO_POINTER (IB_PRECISION_Q8), test_precision);
  return g_test_run ();
}
