/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The public engine API end to end against transformers' generate() on the
 * parity fixtures: greedy, repetition penalty, beam search, from pixels and
 * from image files; sampling reproducible by seed; errors. */
#include <string.h>

#include <json-glib/json-glib.h>

#include "ib-checkpoint.h"
#include "ibt-model.h"
#include "instructblip.h"

static char *
fixture_dir (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "data", "parity", name, NULL);
}

typedef struct
{
  IbSafetensors *ref;
  JsonParser *settings;
  float *pixels;
  int n_frames;
} Ref;

static gboolean
ref_open (Ref *r, const char *name)
{
  char *dir = fixture_dir (name);
  char *path = g_build_filename (dir, "reference.safetensors", NULL);
  char *spath = g_build_filename (dir, "settings.json", NULL);
  const IbTensor *pv;
  GError *error = NULL;

  r->ref = ib_safetensors_open_file (path, &error);
  g_assert_no_error (error);
  r->settings = json_parser_new ();
  g_assert_true (json_parser_load_from_file (r->settings, spath, &error));
  pv = ib_safetensors_get (r->ref, "pixel_values");
  g_assert_nonnull (pv);
  r->n_frames = (int) pv->shape[0];
  r->pixels = g_new (float, pv->n_elements);
  g_assert_true (ib_tensor_read_f32 (pv, 0, pv->n_elements, r->pixels, &error));
  g_free (dir);
  g_free (path);
  g_free (spath);
  return TRUE;
}

static void
ref_close (Ref *r)
{
  ib_safetensors_free (r->ref);
  g_object_unref (r->settings);
  g_free (r->pixels);
}

static const char *
ref_prompt (Ref *r)
{
  return json_object_get_string_member (json_node_get_object (
                                            json_parser_get_root (r->settings)),
      "prompt");
}

/* The fixture's reference ids for @setting, without T5's start token. */
static GArray *
ref_ids (Ref *r, const char *setting, gboolean t5)
{
  char *name = g_strdup_printf ("%s_ids", setting);
  const IbTensor *t = ib_safetensors_get (r->ref, name);
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  guint64 i;

  g_assert_nonnull (t);
  for (i = t5 ? 1 : 0; i < t->n_elements; i++) {
    gint64 v;
    gint32 id;
    g_assert_true (ib_tensor_read_bytes (t, i * 8, 8, &v, NULL));
    id = (gint32) v;
    g_array_append_val (ids, id);
  }
  g_free (name);
  return ids;
}

/* transformers' settings of make_fixtures.py, by name */
static void
settings_for (const char *setting, IbGenerateParams *p)
{
  ib_generate_params_init (p);
  p->max_new_tokens = 12;
  if (g_str_equal (setting, "greedy_rep"))
    p->repetition_penalty = 1.5;
  else if (g_str_has_prefix (setting, "beam5")) {
    p->num_beams = 5;
    p->max_new_tokens = 10;
    if (g_str_equal (setting, "beam5_lp")) {
      p->length_penalty = -1.0;
      p->repetition_penalty = 1.5;
    }
  }
}

static IbModel *
load (const char *name, IbPrecision precision)
{
  char *dir = fixture_dir (name);
  IbModel *m = ibt_load_model (dir, precision);

  g_free (dir);
  return m;
}

static void
check_setting (IbContext *ctx, Ref *r, const char *setting, gboolean t5)
{
  IbGenerateParams p;
  GError *error = NULL;
  IbAnswer *a;
  GArray *want = ref_ids (r, setting, t5);
  guint i;

  settings_for (setting, &p);
  a = ib_context_answer (ctx, ref_prompt (r), &p, &error);
  g_assert_no_error (error);
  g_test_message ("%s: \"%s\" (%d tokens)", setting, a->text, a->n_tokens);
  g_assert_cmpint (a->n_tokens, ==, want->len);
  for (i = 0; i < want->len; i++)
    g_assert_cmpint (a->token_ids[i], ==, g_array_index (want, gint32, i));
  ib_answer_free (a);
  g_array_unref (want);
}

static void
test_generate (gconstpointer data)
{
  const char *name = data;
  const gboolean t5 = g_str_has_prefix (name, "t5");
  static const char *const settings[] = { "greedy", "greedy_rep", "beam5",
    "beam5_lp" };
  IbModel *m = load (name, IB_PRECISION_F32);
  GError *error = NULL;
  IbContext *ctx;
  Ref r;
  guint i;

  if (m == NULL)
    return;
  ref_open (&r, name);
  ctx = ib_context_new (m, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (
      ib_context_set_pixel_values (ctx, r.pixels, r.n_frames, &error));
  for (i = 0; i < G_N_ELEMENTS (settings); i++)
    check_setting (ctx, &r, settings[i], t5);
  ib_context_free (ctx);
  ib_model_unref (m);
  ref_close (&r);
}

/* From the fixture's frames as RGB images: the engine's Pillow-exact
 * preprocessing gives the processor's pixels, hence the same answer. */
static void
test_from_frames (void)
{
  IbModel *m = load ("vicuna-tiny-video", IB_PRECISION_F32);
  IbImage frames[4];
  guint8 *rgb[4];
  GError *error = NULL;
  IbContext *ctx;
  Ref r;
  int f;

  if (m == NULL)
    return;
  ref_open (&r, "vicuna-tiny-video");
  for (f = 0; f < 4; f++) {
    char *name = g_strdup_printf ("frame%d.rgb", f);
    char *path = g_test_build_filename (G_TEST_DIST, "data", "parity", "images",
        name, NULL);
    gsize len;
    g_assert_true (g_file_get_contents (path, (char **) &rgb[f], &len, &error));
    g_assert_cmpuint (len, ==, 40 * 32 * 3);
    frames[f] = (IbImage){ 40, 32, 40 * 3, IB_PIXEL_FORMAT_RGB, rgb[f] };
    g_free (name);
    g_free (path);
  }
  ctx = ib_context_new (m, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ib_context_set_frames (ctx, frames, 4, &error));
  check_setting (ctx, &r, "greedy", FALSE);
  check_setting (ctx, &r, "beam5", FALSE);
  for (f = 0; f < 4; f++)
    g_free (rgb[f]);
  ib_context_free (ctx);
  ib_model_unref (m);
  ref_close (&r);
}

/* precision=fp16 is transformers in fp32 on the parameters rounded to
 * fp16 once: every setting's ids equal those of reference-fp16.safetensors
 * (make_fp16_refs.py) on every fixture. */
static void
test_fp16 (gconstpointer data)
{
  const char *name = data;
  const gboolean t5 = g_str_has_prefix (name, "t5");
  static const char *const settings[] = { "greedy", "greedy_rep", "beam5",
    "beam5_lp" };
  IbModel *m = load (name, IB_PRECISION_F16);
  char *dir = fixture_dir (name),
       *path = g_build_filename (dir, "reference-fp16.safetensors", NULL);
  GError *error = NULL;
  IbSafetensors *fp32_ref;
  IbContext *ctx;
  Ref r;
  guint i;

  if (m == NULL)
    goto out;
  ref_open (&r, name);
  /* the pixels and prompt stay, the ids are the fp16 ones */
  fp32_ref = r.ref;
  r.ref = ib_safetensors_open_file (path, &error);
  g_assert_no_error (error);
  ctx = ib_context_new (m, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (
      ib_context_set_pixel_values (ctx, r.pixels, r.n_frames, &error));
  for (i = 0; i < G_N_ELEMENTS (settings); i++)
    check_setting (ctx, &r, settings[i], t5);
  ib_context_free (ctx);
  ib_model_unref (m);
  ib_safetensors_free (fp32_ref);
  ref_close (&r);
out:
  g_free (dir);
  g_free (path);
}

/* Sampling cannot replay torch's random stream; the same seed gives the
 * same answer, and every id is a vocabulary id. */
static void
test_sampling_seeded (void)
{
  IbModel *m = load ("vicuna-tiny", IB_PRECISION_F32);
  IbGenerateParams p;
  GError *error = NULL;
  IbAnswer *a, *b, *c;
  IbContext *ctx;
  Ref r;

  if (m == NULL)
    return;
  ref_open (&r, "vicuna-tiny");
  ctx = ib_context_new (m, NULL, &error);
  g_assert_true (ib_context_set_pixel_values (ctx, r.pixels, 1, &error));
  ib_generate_params_init (&p);
  p.do_sample = TRUE;
  p.temperature = 0.8;
  p.top_k = 20;
  p.top_p = 0.9;
  p.max_new_tokens = 12;
  p.seed = 1234;
  a = ib_context_answer (ctx, ref_prompt (&r), &p, &error);
  b = ib_context_answer (ctx, ref_prompt (&r), &p, &error);
  p.seed = 99;
  c = ib_context_answer (ctx, ref_prompt (&r), &p, &error);
  g_assert_no_error (error);
  g_assert_cmpint (a->n_tokens, ==, b->n_tokens);
  g_assert_cmpmem (a->token_ids, a->n_tokens * 4, b->token_ids,
      b->n_tokens * 4);
  g_assert_true (a->n_tokens != c->n_tokens ||
      memcmp (a->token_ids, c->token_ids, a->n_tokens * 4) != 0);
  ib_answer_free (a);
  ib_answer_free (b);
  ib_answer_free (c);
  ib_context_free (ctx);
  ib_model_unref (m);
  ref_close (&r);
}

/* Vocabulary ranking: the summed log-likelihood of each candidate equals
 * transformers' (make_fixtures.py rank_candidates), so does the winner. */
static void
test_rank (gconstpointer data)
{
  const char *name = data;
  static const char *const cands[] = { "red", "blue ball", "left",
    "it moves right", "green" };
  IbModel *m = load (name, IB_PRECISION_F32);
  GError *error = NULL;
  const IbTensor *t;
  double scores[5], want[5];
  int best, want_best = 0, i;
  IbContext *ctx;
  Ref r;

  if (m == NULL)
    return;
  ref_open (&r, name);
  t = ib_safetensors_get (r.ref, "rank_scores");
  g_assert_nonnull (t);
  g_assert_true (ib_tensor_read_bytes (t, 0, sizeof (want), want, NULL));
  ctx = ib_context_new (m, NULL, &error);
  g_assert_true (
      ib_context_set_pixel_values (ctx, r.pixels, r.n_frames, &error));
  best = ib_context_rank (ctx, ref_prompt (&r), cands, 5, scores, &error);
  g_assert_no_error (error);
  for (i = 0; i < 5; i++) {
    g_test_message ("%s: %.6f (transformers %.6f)", cands[i], scores[i],
        want[i]);
    g_assert_cmpfloat_with_epsilon (scores[i], want[i],
        1e-4 * MAX (1.0, ABS (want[i])));
    if (want[i] > want[want_best])
      want_best = i;
  }
  g_assert_cmpint (best, ==, want_best);
  ib_context_free (ctx);
  ib_model_unref (m);
  ref_close (&r);
}

typedef struct
{
  IbModel *model;
  Ref *ref;
  const char *setting;
  gboolean ok;
} ThreadJob;

static gpointer
thread_answer (gpointer data)
{
  ThreadJob *job = data;
  GError *error = NULL;
  IbContext *ctx = ib_context_new (job->model, NULL, &error);
  GArray *want = ref_ids (job->ref, job->setting, FALSE);
  IbGenerateParams p;
  int round;

  job->ok = ctx != NULL &&
      ib_context_set_pixel_values (ctx, job->ref->pixels, job->ref->n_frames,
          &error);
  settings_for (job->setting, &p);
  for (round = 0; job->ok && round < 3; round++) {
    IbAnswer *a = ib_context_answer (ctx, ref_prompt (job->ref), &p, &error);
    job->ok = a && a->n_tokens == (int) want->len &&
        memcmp (a->token_ids, want->data, want->len * 4) == 0;
    ib_answer_free (a);
  }
  if (error)
    g_printerr ("%s\n", error->message);
  g_clear_error (&error);
  g_array_unref (want);
  ib_context_free (ctx);
  return NULL;
}

/* Two contexts on one model, in two threads at once, each answering as it
 * would alone. */
static void
test_two_threads (void)
{
  IbModel *m = load ("vicuna-tiny", IB_PRECISION_F32);
  ThreadJob jobs[2];
  GThread *threads[2];
  Ref r;
  int i;

  if (m == NULL)
    return;
  ref_open (&r, "vicuna-tiny");
  jobs[0] = (ThreadJob){ m, &r, "greedy", FALSE };
  jobs[1] = (ThreadJob){ m, &r, "beam5", FALSE };
  for (i = 0; i < 2; i++)
    threads[i] = g_thread_new ("answer", thread_answer, &jobs[i]);
  for (i = 0; i < 2; i++)
    g_thread_join (threads[i]);
  g_assert_true (jobs[0].ok);
  g_assert_true (jobs[1].ok);
  ib_model_unref (m);
  ref_close (&r);
}

static void
test_errors (void)
{
  GError *error = NULL;
  IbModel *m;
  IbContext *ctx;
  IbGenerateParams p;

  g_assert_null (ib_model_load ("/nonexistent/model", NULL, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_IO);
  g_clear_error (&error);
  /* a checkpoint without its tokenizers says which file is missing */
  {
    char *dir = g_test_build_filename (G_TEST_DIST, "data", "checkpoint",
        "llama-f32", NULL);
    g_assert_null (ib_model_load (dir, NULL, &error));
    g_assert_error (error, IB_ERROR, IB_ERROR_IO);
    g_assert_nonnull (strstr (error->message, "tokenizer.json"));
    g_clear_error (&error);
    g_free (dir);
  }

  /* values outside the enums: refused before the checkpoint is read */
  {
    IbModelParams mp;
    ib_model_params_init (&mp);
    mp.gemm = (IbGemmBackend) 3;
    g_assert_null (ib_model_load ("/nonexistent/model", &mp, &error));
    g_assert_error (error, IB_ERROR, IB_ERROR_INVALID_ARG);
    g_assert_nonnull (strstr (error->message, "gemm 3"));
    g_clear_error (&error);
    ib_model_params_init (&mp);
    mp.precision = (IbPrecision) -1;
    g_assert_null (ib_model_load ("/nonexistent/model", &mp, &error));
    g_assert_error (error, IB_ERROR, IB_ERROR_INVALID_ARG);
    g_assert_nonnull (strstr (error->message, "precision -1"));
    g_clear_error (&error);
  }

  m = load ("vicuna-tiny", IB_PRECISION_F32);
  if (m == NULL)
    return;
  /* an unknown device */
  {
    char *dir = fixture_dir ("vicuna-tiny");
    IbModelParams mp;
    ib_model_params_init (&mp);
    mp.device = "no-such-accelerator";
    g_assert_null (ib_model_load (dir, &mp, &error));
    g_assert_error (error, IB_ERROR, IB_ERROR_NO_DEVICE);
    g_assert_nonnull (strstr (error->message, "no-such-accelerator"));
    g_clear_error (&error);
    g_free (dir);
  }
  ctx = ib_context_new (m, NULL, &error);
  /* no frames yet */
  g_assert_null (ib_context_answer (ctx, "what?", NULL, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_INVALID_ARG);
  g_clear_error (&error);
  g_assert_false (ib_context_set_pixel_values (ctx, NULL, 0, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_INVALID_ARG);
  g_clear_error (&error);
  /* more beams than the context was sized for */
  {
    float *pix = g_new0 (float, 3 * 28 * 28);
    g_assert_true (ib_context_set_pixel_values (ctx, pix, 1, &error));
    g_free (pix);
  }
  ib_generate_params_init (&p);
  p.num_beams = 6;
  g_assert_null (ib_context_answer (ctx, "what?", &p, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_INVALID_ARG);
  g_clear_error (&error);
  /* an early_stopping that is no IbEarlyStopping value */
  p.num_beams = 2;
  p.early_stopping = (IbEarlyStopping) 3;
  g_assert_null (ib_context_answer (ctx, "what?", &p, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_INVALID_ARG);
  g_assert_nonnull (strstr (error->message, "early_stopping 3"));
  g_clear_error (&error);
  p.early_stopping = IB_EARLY_STOPPING_NEVER;
  /* invalid UTF-8 */
  g_assert_null (ib_context_answer (ctx, "\xff\xfe", NULL, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_INVALID_ARG);
  g_clear_error (&error);
  /* and the context still answers */
  p.num_beams = 1;
  {
    IbAnswer *a = ib_context_answer (ctx, "what?", &p, &error);
    g_assert_no_error (error);
    ib_answer_free (a);
  }
  ib_context_free (ctx);
  ib_model_unref (m);
}

/* the names the CLI's --gemm takes, and nothing else */
static void
test_gemm_names (void)
{
  IbGemmBackend b = IB_GEMM_AUTO;

  g_assert_true (ib_gemm_backend_from_string ("clblast", &b));
  g_assert_cmpint (b, ==, IB_GEMM_CLBLAST);
  g_assert_true (ib_gemm_backend_from_string ("own", &b));
  g_assert_cmpint (b, ==, IB_GEMM_OWN);
  g_assert_true (ib_gemm_backend_from_string ("auto", &b));
  g_assert_cmpint (b, ==, IB_GEMM_AUTO);
  g_assert_false (ib_gemm_backend_from_string ("cublas", &b));
  g_assert_false (ib_gemm_backend_from_string (NULL, &b));
  g_assert_cmpint (b, ==, IB_GEMM_AUTO);
  g_assert_cmpstr (ib_gemm_backend_to_string (IB_GEMM_OWN), ==, "own");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/answer/vicuna", "vicuna-tiny", test_generate);
  g_test_add_data_func ("/answer/t5", "t5-tiny", test_generate);
  g_test_add_data_func ("/answer/video", "vicuna-tiny-video", test_generate);
  g_test_add_func ("/answer/from-frames", test_from_frames);
  g_test_add_data_func ("/answer/fp16/vicuna", "vicuna-tiny", test_fp16);
  g_test_add_data_func ("/answer/fp16/t5", "t5-tiny", test_fp16);
  g_test_add_data_func ("/answer/fp16/video", "vicuna-tiny-video", test_fp16);
  g_test_add_func ("/answer/sampling-seeded", test_sampling_seeded);
  g_test_add_data_func ("/answer/rank/vicuna", "vicuna-tiny", test_rank);
  g_test_add_data_func ("/answer/rank/t5", "t5-tiny", test_rank);
  g_test_add_data_func ("/answer/rank/video", "vicuna-tiny-video", test_rank);
  g_test_add_func ("/answer/two-threads", test_two_threads);
  g_test_add_func ("/answer/errors", test_errors);
  g_test_add_func ("/answer/gemm-names", test_gemm_names);
  return g_test_run ();
}
