/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IbBatch: questions from many threads decoded in batched steps give each
 * question exactly the ids it gets alone (ib_context_answer), and the ids
 * transformers gives for the parity fixtures' settings; greedy, repetition
 * penalty, beam search, sampling and beam sampling mixed, prompts of
 * different lengths, answers of different lengths (leaving mid-decode),
 * more questions than slots (joining mid-decode); the new frames of
 * questions that join together encoded in shared vision passes. */
#include <string.h>

#include <json-glib/json-glib.h>

#include "ib-batch-private.h"
#include "ib-checkpoint.h"
#include "ibt-model.h"
#include "instructblip.h"

typedef struct
{
  const char *setting; /* a fixture setting with transformers' ids, or NULL */
  const char *prompt; /* NULL: the fixture's */
  int max_new_tokens;
  int num_beams;
  gboolean do_sample;
  guint64 seed;
  double repetition_penalty;
  double length_penalty;
  int min_new_tokens; /* 0: none */
} Question;

/* The fixture settings as make_fixtures.py runs them (test-answer.c), then
 * others without a transformers reference (alone is the oracle). */
static const Question questions[] = {
  { "greedy", NULL, 12, 1, FALSE, 0, 1.0, 1.0 },
  { "greedy_rep", NULL, 12, 1, FALSE, 0, 1.5, 1.0 },
  { "beam5", NULL, 10, 5, FALSE, 0, 1.0, 1.0 },
  { "beam5_lp", NULL, 10, 5, FALSE, 0, 1.5, -1.0 },
  { NULL, NULL, 12, 1, TRUE, 1234, 1.0, 1.0 },
  { NULL, "what color is the ball?", 20, 1, TRUE, 99, 1.2, 1.0 },
  { NULL, NULL, 9, 3, TRUE, 7, 1.0, 1.0 },
  { NULL, "describe the video in detail, frame by frame, with every object", 25,
      1, FALSE, 0, 1.0, 1.0 },
  { NULL, "where?", 3, 1, FALSE, 0, 1.0, 1.0 },
  { NULL, "what moves?", 1, 2, FALSE, 0, 1.0, 1.0 },
};

typedef struct
{
  IbSafetensors *ref;
  char *prompt;
  float *pixels;
  int n_frames;
} Fixture;

static char *
fixture_dir (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "data", "parity", name, NULL);
}

static void
fixture_open (Fixture *f, const char *name)
{
  char *dir = fixture_dir (name);
  char *path = g_build_filename (dir, "reference.safetensors", NULL);
  char *spath = g_build_filename (dir, "settings.json", NULL);
  JsonParser *settings = json_parser_new ();
  const IbTensor *pv;
  GError *error = NULL;

  f->ref = ib_safetensors_open_file (path, &error);
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_file (settings, spath, &error));
  f->prompt = g_strdup (
      json_object_get_string_member (json_node_get_object (
                                         json_parser_get_root (settings)),
          "prompt"));
  pv = ib_safetensors_get (f->ref, "pixel_values");
  g_assert_nonnull (pv);
  f->n_frames = (int) pv->shape[0];
  f->pixels = g_new (float, pv->n_elements);
  g_assert_true (ib_tensor_read_f32 (pv, 0, pv->n_elements, f->pixels, &error));
  g_object_unref (settings);
  g_free (dir);
  g_free (path);
  g_free (spath);
}

static void
fixture_close (Fixture *f)
{
  ib_safetensors_free (f->ref);
  g_free (f->prompt);
  g_free (f->pixels);
}

/* transformers' ids for @setting (T5: without the start id) */
static GArray *
ref_ids (Fixture *f, const char *setting, gboolean t5)
{
  char *name = g_strdup_printf ("%s_ids", setting);
  const IbTensor *t = ib_safetensors_get (f->ref, name);
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

static void
params_for (const Question *q, IbGenerateParams *p)
{
  ib_generate_params_init (p);
  p->max_new_tokens = q->max_new_tokens;
  p->num_beams = q->num_beams;
  p->do_sample = q->do_sample;
  p->seed = q->seed;
  p->repetition_penalty = q->repetition_penalty;
  p->length_penalty = q->length_penalty;
  p->min_new_tokens = q->min_new_tokens;
  if (q->do_sample) {
    p->temperature = 0.8;
    /* beam sampling draws 2·beams distinct ids: no truncation */
    p->top_k = q->num_beams > 1 ? 0 : 20;
    p->top_p = q->num_beams > 1 ? 1.0 : 0.9;
  }
}

typedef struct
{
  IbBatch *batch;
  Fixture *fx;
  const Question *q;
  gulong delay_us; /* before asking: later questions join mid-decode */
  IbAnswer *answer;
  GError *error;
} Asker;

static gpointer
ask (gpointer data)
{
  Asker *a = data;
  IbGenerateParams p;

  params_for (a->q, &p);
  g_usleep (a->delay_us);
  a->answer = ib_batch_answer_pixels (a->batch, a->fx->pixels, a->fx->n_frames,
      a->q->prompt ? a->q->prompt : a->fx->prompt, &p, &a->error);
  return NULL;
}

static void
assert_ids (const IbAnswer *a, const gint32 *want, int n, const char *what)
{
  g_test_message ("%s: \"%s\" (%d tokens)", what, a->text, a->n_tokens);
  g_assert_cmpint (a->n_tokens, ==, n);
  g_assert_cmpmem (a->token_ids, (gsize) n * 4, want, (gsize) n * 4);
}

/* Every question asked at once from its own thread, with fewer slots than
 * questions, against each question alone and transformers. */
static void
test_alone_equal (gconstpointer data)
{
  const char *name = data;
  const gboolean t5 = g_str_has_prefix (name, "t5");
  const int n = G_N_ELEMENTS (questions);
  char *dir = fixture_dir (name);
  IbModel *m = ibt_load_model (dir, IB_PRECISION_F32);
  IbAnswer *alone[G_N_ELEMENTS (questions)];
  Asker askers[G_N_ELEMENTS (questions)];
  GThread *threads[G_N_ELEMENTS (questions)];
  IbBatchParams bp;
  IbBatchStats st;
  GError *error = NULL;
  IbContext *ctx;
  IbBatch *batch;
  Fixture fx;
  int i;

  g_free (dir);
  if (m == NULL)
    return;
  fixture_open (&fx, name);

  /* alone: one context, one question after the other */
  ctx = ib_context_new (m, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (
      ib_context_set_pixel_values (ctx, fx.pixels, fx.n_frames, &error));
  for (i = 0; i < n; i++) {
    IbGenerateParams p;
    params_for (&questions[i], &p);
    alone[i] = ib_context_answer (ctx,
        questions[i].prompt ? questions[i].prompt : fx.prompt, &p, &error);
    g_assert_no_error (error);
    if (questions[i].setting) {
      GArray *want = ref_ids (&fx, questions[i].setting, t5);
      assert_ids (alone[i], (const gint32 *) want->data, want->len,
          questions[i].setting);
      g_array_unref (want);
    }
  }
  ib_context_free (ctx);

  /* together: four slots for ten questions */
  ib_batch_params_init (&bp);
  bp.max_requests = 4;
  batch = ib_batch_new (m, &bp, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ib_batch_get_max_requests (batch), ==, 4);
  for (i = 0; i < n; i++) {
    askers[i] =
        (Asker){ batch, &fx, &questions[i], (gulong) i * 2000, NULL, NULL };
    threads[i] = g_thread_new ("asker", ask, &askers[i]);
  }
  for (i = 0; i < n; i++) {
    g_thread_join (threads[i]);
    g_assert_no_error (askers[i].error);
    assert_ids (askers[i].answer, alone[i]->token_ids, alone[i]->n_tokens,
        questions[i].setting ? questions[i].setting : "other");
    g_assert_cmpstr (askers[i].answer->text, ==, alone[i]->text);
    ib_answer_free (askers[i].answer);
    ib_answer_free (alone[i]);
  }
  ib_batch_get_stats (batch, &st);
  g_test_message ("%" G_GUINT64_FORMAT " steps, %" G_GUINT64_FORMAT
                  " rows, at most %d rows and %d questions, %" G_GUINT64_FORMAT
                  " joins mid-decode",
      st.n_steps, st.n_rows, st.max_rows, st.max_active, st.n_joins);
  g_assert_cmpuint (st.n_answers, ==, n);
  /* batched for real: several questions in one step, some joining while
   * others decode, never more than the slots */
  g_assert_cmpint (st.max_active, >, 1);
  g_assert_cmpint (st.max_active, <=, 4);
  g_assert_cmpint (st.max_rows, >, st.max_active);
  g_assert_cmpuint (st.n_joins, >, 0);
  /* one decoder pass per step for all its questions (T5 included) */
  g_assert_cmpuint (ib_batch_get_decoder_passes (batch), ==, st.n_steps);
  ib_batch_free (batch);
  ib_model_unref (m);
  fixture_close (&fx);
}

typedef struct
{
  IbBatch *batch;
  Fixture *fx;
  gint done;
  IbAnswer *answer;
} Long;

static gpointer
ask_long (gpointer data)
{
  Long *l = data;
  IbGenerateParams p;
  GError *error = NULL;

  ib_generate_params_init (&p);
  p.max_new_tokens = p.min_new_tokens = 200;
  l->answer = ib_batch_answer_pixels (l->batch, l->fx->pixels, l->fx->n_frames,
      l->fx->prompt, &p, &error);
  g_assert_no_error (error);
  g_atomic_int_set (&l->done, 1);
  return NULL;
}

/* Fairness: a short question asked while a long answer is being decoded
 * joins at the next step and is answered long before the long one ends. */
static void
test_fair (void)
{
  char *dir = fixture_dir ("vicuna-tiny");
  IbModel *m = ibt_load_model (dir, IB_PRECISION_F32);
  IbBatchParams bp;
  IbGenerateParams p;
  IbBatchStats st;
  GError *error = NULL;
  IbAnswer *a;
  GThread *t;
  Fixture fx;
  Long l = { 0 };

  g_free (dir);
  if (m == NULL)
    return;
  fixture_open (&fx, "vicuna-tiny");
  ib_batch_params_init (&bp);
  bp.max_requests = 2;
  bp.context.max_beams = 1;
  l.batch = ib_batch_new (m, &bp, &error);
  g_assert_no_error (error);
  l.fx = &fx;
  t = g_thread_new ("long", ask_long, &l);
  do {
    g_usleep (1000);
    ib_batch_get_stats (l.batch, &st);
  } while (st.n_steps < 5);
  ib_generate_params_init (&p);
  p.max_new_tokens = p.min_new_tokens = 3;
  a = ib_batch_answer_pixels (l.batch, fx.pixels, fx.n_frames, "Where?", &p,
      &error);
  g_assert_no_error (error);
  g_assert_cmpint (a->n_tokens, ==, 3);
  /* the long answer (200 steps) is still being decoded */
  g_assert_cmpint (g_atomic_int_get (&l.done), ==, 0);
  ib_batch_get_stats (l.batch, &st);
  g_assert_cmpint (st.max_active, ==, 2);
  g_thread_join (t);
  g_assert_cmpint (l.answer->n_tokens, ==, 200);
  ib_answer_free (l.answer);
  ib_answer_free (a);
  ib_batch_free (l.batch);
  ib_model_unref (m);
  fixture_close (&fx);
}

/* A question the slots cannot take fails alone; the others are answered. */
static void
test_errors (void)
{
  char *dir = fixture_dir ("vicuna-tiny");
  IbModel *m = ibt_load_model (dir, IB_PRECISION_F32);
  IbBatchParams bp;
  IbGenerateParams p;
  IbBatchStats st;
  GError *error = NULL;
  IbBatch *batch;
  IbAnswer *a;
  Fixture fx, bad;
  Asker askers[2];
  GThread *threads[2];
  int i;

  g_free (dir);
  if (m == NULL)
    return;
  fixture_open (&fx, "vicuna-tiny");
  ib_batch_params_init (&bp);
  bp.max_requests = IB_BATCH_MAX_REQUESTS + 1;
  g_assert_null (ib_batch_new (m, &bp, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_INVALID_ARG);
  g_clear_error (&error);

  /* max_requests 0: from device memory, at least one */
  bp.max_requests = 0;
  bp.context.max_beams = 2;
  batch = ib_batch_new (m, &bp, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ib_batch_get_max_requests (batch), >=, 1);
  g_assert_cmpint (ib_batch_get_max_requests (batch), <=,
      IB_BATCH_AUTO_REQUESTS);
  ib_generate_params_init (&p);
  p.max_new_tokens = 4;
  p.num_beams = 3; /* the slots hold 2 */
  g_assert_null (ib_batch_answer_pixels (batch, fx.pixels, fx.n_frames,
      fx.prompt, &p, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_INVALID_ARG);
  g_clear_error (&error);
  g_assert_null (
      ib_batch_answer_pixels (batch, fx.pixels, 0, fx.prompt, &p, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  p.num_beams = 2;
  a = ib_batch_answer_pixels (batch, fx.pixels, fx.n_frames, fx.prompt, &p,
      &error);
  g_assert_no_error (error);
  g_assert_cmpint (a->n_tokens, >=, 1);
  ib_answer_free (a);
  ib_batch_free (batch);
  ib_batch_free (NULL);

  bp.max_requests = 2;
  bp.vision_pass_frames = IB_BATCH_MAX_VISION_FRAMES + 1;
  g_assert_null (ib_batch_new (m, &bp, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_INVALID_ARG);
  g_clear_error (&error);
  bp.vision_pass_frames = 0;

  /* prompt rows: within the limit, and a slot's longest prompt at least
   * (4 frames x 6 query tokens + 256 prompt tokens) */
  bp.prefill_rows = IB_BATCH_MAX_PREFILL_ROWS + 1;
  g_assert_null (ib_batch_new (m, &bp, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_INVALID_ARG);
  g_clear_error (&error);
  bp.prefill_rows = 4 * 6 + 256 - 1;
  g_assert_null (ib_batch_new (m, &bp, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_INVALID_ARG);
  g_assert_nonnull (strstr (error->message, "prefill_rows 279"));
  g_clear_error (&error);
  bp.prefill_rows = 4 * 6 + 256;
  batch = ib_batch_new (m, &bp, &error);
  g_assert_no_error (error);
  ib_batch_free (batch);
  bp.prefill_rows = 0;

  /* set up together with a question whose frames fail: it alone fails */
  bp.vision_pass_frames = 0;
  batch = ib_batch_new (m, &bp, &error);
  g_assert_no_error (error);
  bad = fx;
  bad.n_frames = 0;
  askers[0] = (Asker){ batch, &fx, &questions[0], 0, NULL, NULL };
  askers[1] = (Asker){ batch, &bad, &questions[0], 0, NULL, NULL };
  ib_batch_hold_setups (batch, 2);
  for (i = 0; i < 2; i++)
    threads[i] = g_thread_new ("asker", ask, &askers[i]);
  for (i = 0; i < 2; i++)
    g_thread_join (threads[i]);
  g_assert_no_error (askers[0].error);
  g_assert_cmpint (askers[0].answer->n_tokens, >=, 1);
  g_assert_error (askers[1].error, IB_ERROR, IB_ERROR_INVALID_ARG);
  g_assert_null (askers[1].answer);
  ib_batch_get_stats (batch, &st);
  g_assert_cmpuint (st.n_setups, ==, 1);
  g_assert_cmpint (st.max_setup, ==, 2);
  g_assert_cmpuint (st.n_vision_frames, ==, fx.n_frames);
  ib_answer_free (askers[0].answer);
  g_clear_error (&askers[1].error);

  /* set up together with questions whose instructions are no text (NULL,
   * invalid UTF-8): they fail as alone, before the shared Q-Former pass;
   * the other one is answered */
  {
    static const Question no_text[2] = {
      { NULL, "\xff\xfe what?", 4, 1, FALSE, 0, 1.0, 1.0 },
      { NULL, NULL, 4, 1, FALSE, 0, 1.0, 1.0 },
    };
    Asker three[3];
    GThread *t3[3];
    char *saved = fx.prompt;
    Fixture none = fx;

    none.prompt = NULL;
    three[0] = (Asker){ batch, &fx, &questions[0], 0, NULL, NULL };
    three[1] = (Asker){ batch, &fx, &no_text[0], 0, NULL, NULL };
    three[2] = (Asker){ batch, &none, &no_text[1], 0, NULL, NULL };
    ib_batch_hold_setups (batch, 2);
    for (i = 0; i < 3; i++)
      t3[i] = g_thread_new ("asker", ask, &three[i]);
    for (i = 0; i < 3; i++)
      g_thread_join (t3[i]);
    g_assert_no_error (three[0].error);
    g_assert_cmpint (three[0].answer->n_tokens, >=, 1);
    for (i = 1; i < 3; i++) {
      g_assert_error (three[i].error, IB_ERROR, IB_ERROR_INVALID_ARG);
      g_assert_null (three[i].answer);
      g_clear_error (&three[i].error);
    }
    ib_answer_free (three[0].answer);
    fx.prompt = saved;
  }
  ib_batch_free (batch);
  ib_model_unref (m);
  fixture_close (&fx);
}

/* Shared vision passes: four questions on different frames join together
 * (the batch's test hook holds the set-up until all four have a slot);
 * their new frames go through the vision encoder in shared passes of up to
 * @pass frames, a frame two of them are given is encoded once, and each
 * question gets exactly its ids alone (and transformers' for the fixture's
 * greedy setting). Asked again, all on the fixture's frames, only the
 * slots whose frame cache lacks them encode anything. */
typedef struct
{
  const char *name;
  int pass;
} SharedCase;

/* Question i asked alone on @pixels in a fresh context. */
static IbAnswer *
answer_alone (IbModel *m, const Question *q, const char *prompt,
    const float *pixels, int n_frames)
{
  IbGenerateParams p;
  GError *error = NULL;
  IbContext *ctx = ib_context_new (m, NULL, &error);
  IbAnswer *a;

  g_assert_no_error (error);
  g_assert_true (ib_context_set_pixel_values (ctx, pixels, n_frames, &error));
  params_for (q, &p);
  a = ib_context_answer (ctx, q->prompt ? q->prompt : prompt, &p, &error);
  g_assert_no_error (error);
  ib_context_free (ctx);
  return a;
}

/* The four questions together on frame sets @sets; their ids against
 * @alone. */
static void
ask_together (IbBatch *batch, Fixture *sets, const Question *const *qs,
    IbAnswer *const *alone)
{
  Asker askers[4];
  GThread *threads[4];
  int i;

  ib_batch_hold_setups (batch, 4);
  for (i = 0; i < 4; i++) {
    askers[i] = (Asker){ batch, &sets[i], qs[i], 0, NULL, NULL };
    threads[i] = g_thread_new ("asker", ask, &askers[i]);
  }
  for (i = 0; i < 4; i++) {
    g_thread_join (threads[i]);
    g_assert_no_error (askers[i].error);
    assert_ids (askers[i].answer, alone[i]->token_ids, alone[i]->n_tokens,
        qs[i]->setting ? qs[i]->setting : "other");
    ib_answer_free (askers[i].answer);
  }
}

static void
test_shared_vision (gconstpointer data)
{
  const SharedCase *c = data;
  const gboolean t5 = g_str_has_prefix (c->name, "t5");
  /* the fixture's greedy setting, and three other kinds */
  const Question *qs[4] = { &questions[0], &questions[9], &questions[6],
    &questions[5] };
  char *dir = fixture_dir (c->name);
  IbModel *m = ibt_load_model (dir, IB_PRECISION_F32);
  IbAnswer *alone[4];
  Fixture fx, sets[4];
  IbBatchParams bp;
  IbBatchStats st, st1;
  guint64 qf_passes;
  int qf_max;
  GError *error = NULL;
  IbBatch *batch;
  GArray *want;
  gsize frame, n;
  int F, i, f;

  g_free (dir);
  if (m == NULL)
    return;
  fixture_open (&fx, c->name);
  F = fx.n_frames;
  n = ib_safetensors_get (fx.ref, "pixel_values")->n_elements;
  frame = n / F;
  /* 0: the fixture's frames; 1: the same in reverse order (nothing new);
   * 2 and 3: frames of their own */
  for (i = 0; i < 4; i++) {
    sets[i] = fx;
    sets[i].pixels = g_new (float, n);
  }
  memcpy (sets[0].pixels, fx.pixels, n * 4);
  for (f = 0; f < F; f++)
    memcpy (sets[1].pixels + f * frame, fx.pixels + (F - 1 - f) * frame,
        frame * 4);
  for (i = 0; i < (int) n; i++) {
    sets[2].pixels[i] = fx.pixels[i] + 0.25f;
    sets[3].pixels[i] = -fx.pixels[i];
  }

  for (i = 0; i < 4; i++)
    alone[i] = answer_alone (m, qs[i], fx.prompt, sets[i].pixels, F);
  want = ref_ids (&fx, "greedy", t5);
  assert_ids (alone[0], (const gint32 *) want->data, want->len, "greedy");
  g_array_unref (want);

  ib_batch_params_init (&bp);
  bp.max_requests = 4;
  bp.vision_pass_frames = c->pass;
  batch = ib_batch_new (m, &bp, &error);
  g_assert_no_error (error);
  ask_together (batch, sets, qs, alone);
  ib_batch_get_stats (batch, &st);
  g_test_message ("%" G_GUINT64_FORMAT " set-ups (at most %d questions), "
                  "%" G_GUINT64_FORMAT " vision passes, %" G_GUINT64_FORMAT
                  " frames (at most %d in one), %" G_GUINT64_FORMAT " shared",
      st.n_setups, st.max_setup, st.n_vision_passes, st.n_vision_frames,
      st.max_vision_frames, st.n_frames_shared);
  /* one set-up of all four; the three distinct sets' frames encoded once
   * each, in passes of up to @pass; the reversed set copied */
  g_assert_cmpuint (st.n_setups, ==, 1);
  g_assert_cmpint (st.max_setup, ==, 4);
  g_assert_cmpuint (st.n_vision_frames, ==, 3 * F);
  g_assert_cmpuint (st.n_vision_passes, ==, (3 * F + c->pass - 1) / c->pass);
  g_assert_cmpint (st.max_vision_frames, ==, MIN (3 * F, c->pass));
  g_assert_cmpuint (st.n_frames_shared, ==, F);
  /* the Q-Former of all four questions' frames, each with its question's
   * instruction (four instructions of different lengths), in shared passes
   * of up to @pass sequences (their instructions are short: only the
   * number of sequences limits a pass) */
  ib_batch_get_qformer_passes (batch, &qf_passes, &qf_max);
  g_test_message ("%" G_GUINT64_FORMAT " Q-Former passes, at most %d "
                  "sequences in one",
      qf_passes, qf_max);
  g_assert_cmpuint (qf_passes, ==, (4 * F + c->pass - 1) / c->pass);
  g_assert_cmpint (qf_max, ==, MIN (4 * F, c->pass));

  /* again, all on the fixture's frames: the two slots that had frames of
   * their own encode them (once, shared), the others hit their caches */
  for (i = 0; i < 4; i++) {
    ib_answer_free (alone[i]);
    alone[i] = answer_alone (m, qs[i], fx.prompt, fx.pixels, F);
    memcpy (sets[i].pixels, fx.pixels, n * 4);
  }
  ask_together (batch, sets, qs, alone);
  ib_batch_get_stats (batch, &st1);
  g_assert_cmpuint (st1.n_setups, ==, 2);
  g_assert_cmpuint (st1.n_vision_frames - st.n_vision_frames, ==, F);
  g_assert_cmpuint (st1.n_frames_shared - st.n_frames_shared, ==, F);
  g_assert_cmpuint (st1.n_answers, ==, 8);

  for (i = 0; i < 4; i++) {
    ib_answer_free (alone[i]);
    g_free (sets[i].pixels);
  }
  ib_batch_free (batch);
  ib_model_unref (m);
  fixture_close (&fx);
}

/* ---- prompts prefilled in the batched steps (LLaMA) ---- */

typedef struct
{
  const char *name;
  IbPrecision precision;
  IbGemmBackend gemm;
} PrefillCase;

static IbModel *
load_with_gemm (const char *dir, IbPrecision precision, IbGemmBackend gemm)
{
  IbModelParams mp;
  GError *error = NULL;
  IbModel *m;

  if (gemm == IB_GEMM_AUTO)
    return ibt_load_model (dir, precision);
  ib_model_params_init (&mp);
  mp.precision = precision;
  mp.gemm = gemm;
  m = ib_model_load (dir, &mp, &error);
  g_assert_no_error (error);
  return m;
}

/* A context on the first @n_frames of @fx's frames. */
static IbContext *
context_on (IbModel *m, Fixture *fx, int n_frames)
{
  GError *error = NULL;
  IbContext *ctx = ib_context_new (m, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (
      ib_context_set_pixel_values (ctx, fx->pixels, n_frames, &error));
  return ctx;
}

/* The logits of prompts prefilled together in one step with another
 * question's decoding row, and those of the next step, against each prompt
 * prefilled alone (ib_context_answer_begin) and the decoding row stepped
 * alone: equal bit for bit (memcmp), for prompts of different lengths
 * (frames and instructions) and a beam search prompt whose beams all start
 * from its cache. */
static void
test_prefill_logits (gconstpointer data)
{
  const PrefillCase *c = data;
  static const char *const instr[] = { "where?",
    "describe the video in detail, frame by frame, with every object",
    "what color is the ball?" };
  const int beams[] = { 1, 3, 1 };
  char *dir = fixture_dir (c->name);
  IbModel *m = load_with_gemm (dir, c->precision, c->gemm);
  IbContext *alone[3], *pctx[3], *dec[2];
  IbAnswerJob ajob[3], pjob[3], djob[2];
  IbAnswerJob *pjobs[3];
  IbGenerateParams p;
  GError *error = NULL, *errors[3] = { NULL }, *perrors[3] = { NULL };
  IbClQueue *q;
  IbClArena *arena;
  IbLlamaState *rows;
  gsize scratch = 0, V;
  int frames[3], i, n_rows;
  float *want[3], *dlog[2], *step[2];
  Fixture fx;

  g_free (dir);
  if (m == NULL)
    return;
  fixture_open (&fx, c->name);
  V = ib_llama_get_vocab (m->llama);
  frames[0] = 1;
  frames[1] = fx.n_frames;
  frames[2] = MAX (fx.n_frames / 2, 1);

  /* alone: each prompt's logits after its prefill */
  for (i = 0; i < 3; i++) {
    ib_generate_params_init (&p);
    p.num_beams = beams[i];
    alone[i] = context_on (m, &fx, frames[i]);
    g_assert_true (
        ib_context_answer_begin (alone[i], instr[i], &p, &ajob[i], &error));
    g_assert_no_error (error);
    want[i] = g_memdup2 (ib_context_get_logits (alone[i]), V * 4);
  }
  /* a question decoding, twice: one to step with the prompts, one alone */
  for (i = 0; i < 2; i++) {
    dec[i] = context_on (m, &fx, fx.n_frames);
    g_assert_true (
        ib_context_answer_begin (dec[i], fx.prompt, NULL, &djob[i], &error));
    dlog[i] = g_new (float, V);
    step[i] = g_new (float, 3 * V);
  }

  /* the batch's rows: one decoding row, the three prompts */
  n_rows = 1;
  for (i = 0; i < 3; i++) {
    ib_generate_params_init (&p);
    p.num_beams = beams[i];
    pctx[i] = context_on (m, &fx, frames[i]);
    g_assert_true (
        ib_context_answer_prepare (pctx[i], instr[i], &p, &pjob[i], &error));
    pjobs[i] = &pjob[i];
    n_rows += ib_context_prompt_rows (pctx[i], &pjob[i]);
  }
  g_assert_true (ib_llama_rows_scratch (m->llama, m->dev, n_rows,
      ib_context_get_n_ctx (pctx[0]), n_rows, &scratch, &error));
  q = ib_cl_queue_new (m->dev, &error);
  g_assert_no_error (error);
  g_assert_true (ib_cl_queue_reserve_scratch (q, scratch, &error));
  arena = ib_cl_arena_new (m->dev,
      ib_llama_rows_footprint (m->llama, m->dev, n_rows, 4), &error);
  g_assert_no_error (error);
  rows = ib_llama_rows_new (m->llama, arena, n_rows, 4, &error);
  g_assert_no_error (error);

  {
    const gint32 tok = 5;
    const gint32 *tokens[1] = { &tok };
    const int *src[1] = { NULL };
    const int nb[1] = { 1 };
    float *lg[1] = { dlog[0] };
    g_assert_true (ib_context_step_prefill_many (&dec[0], tokens, src, nb, lg,
        1, pctx, pjobs, 3, q, rows, errors, perrors));
    lg[0] = dlog[1];
    g_assert_true (ib_context_step_many (&dec[1], tokens, src, nb, lg, 1, q,
        rows, errors));
  }
  g_assert_cmpmem (dlog[0], V * 4, dlog[1], V * 4);
  for (i = 0; i < 3; i++) {
    g_assert_no_error (perrors[i]);
    g_assert_cmpmem (ib_context_get_logits (pctx[i]), V * 4, want[i], V * 4);
    g_assert_cmpmem (pjob[i].gen_prompt->data, pjob[i].gen_prompt->len * 4,
        ajob[i].gen_prompt->data, ajob[i].gen_prompt->len * 4);
  }
  /* the next step of each prompt, every beam from the prompt's cache */
  for (i = 0; i < 3; i++) {
    const gint32 toks[3] = { 7, 11, 3 };
    const gint32 *tokens[1] = { toks };
    const int *src[1] = { NULL };
    const int nb[1] = { beams[i] };
    float *lg[1] = { step[0] };
    g_assert_true (ib_context_step_many (&pctx[i], tokens, src, nb, lg, 1, q,
        rows, errors));
    lg[0] = step[1];
    g_assert_true (ib_context_step_many (&alone[i], tokens, src, nb, lg, 1, q,
        rows, errors));
    g_assert_cmpmem (step[0], beams[i] * V * 4, step[1], beams[i] * V * 4);
  }

  for (i = 0; i < 3; i++) {
    ib_answer_job_clear (&ajob[i]);
    ib_answer_job_clear (&pjob[i]);
    ib_context_free (alone[i]);
    ib_context_free (pctx[i]);
    g_free (want[i]);
  }
  for (i = 0; i < 2; i++) {
    ib_answer_job_clear (&djob[i]);
    ib_context_free (dec[i]);
    g_free (dlog[i]);
    g_free (step[i]);
  }
  ib_llama_state_free (rows);
  ib_cl_arena_free (arena);
  ib_cl_queue_free (q);
  ib_model_unref (m);
  fixture_close (&fx);
}

/* Questions joining mid-decode through the batch: a long answer decodes
 * while three questions of different kinds and prompt lengths (frames,
 * instructions) join at once; their prompts are prefilled together in the
 * long answer's steps, in one step when the slots' prompt rows hold them
 * (@tight FALSE) or over several (@tight: prefill_rows 48 leaves room
 * for fewer), and every question gets exactly its ids
 * alone. */
static void
test_prefill_join (gconstpointer data)
{
  const gboolean tight = GPOINTER_TO_INT (data);
  const char *name = "vicuna-tiny-video";
  const Question *qs[3] = { &questions[6], &questions[2], &questions[5] };
  const Question longq = { NULL, NULL, 120, 1, FALSE, 0, 1.0, 1.0, 120 };
  char *dir = fixture_dir (name);
  IbModel *m = ibt_load_model (dir, IB_PRECISION_F32);
  IbAnswer *alone[4];
  Asker askers[4];
  GThread *threads[4];
  Fixture fx, sets[4];
  IbBatchParams bp;
  IbBatchStats st;
  GError *error = NULL;
  IbBatch *batch;
  int i;

  g_free (dir);
  if (m == NULL)
    return;
  fixture_open (&fx, name);
  for (i = 0; i < 4; i++)
    sets[i] = fx;
  sets[1].n_frames = 1;
  sets[3].n_frames = MAX (fx.n_frames / 2, 1);
  alone[0] = answer_alone (m, &longq, fx.prompt, fx.pixels, fx.n_frames);
  for (i = 0; i < 3; i++)
    alone[i + 1] =
        answer_alone (m, qs[i], fx.prompt, fx.pixels, sets[i + 1].n_frames);

  ib_batch_params_init (&bp);
  bp.max_requests = 4;
  bp.context.max_beams = 5;
  if (tight) {
    /* one slot's longest prompt: 4 frames x 6 query tokens + 24 */
    bp.context.max_prompt_tokens = 24;
    bp.prefill_rows = 48;
  }
  batch = ib_batch_new (m, &bp, &error);
  g_assert_no_error (error);
  askers[0] = (Asker){ batch, &sets[0], &longq, 0, NULL, NULL };
  threads[0] = g_thread_new ("long", ask, &askers[0]);
  do {
    g_usleep (1000);
    ib_batch_get_stats (batch, &st);
  } while (st.n_steps < 3);
  /* the three set up together, and the long answer's next step waits for
   * their prompts */
  ib_batch_hold_setups (batch, 3);
  ib_batch_hold_prompts (batch, 3);
  for (i = 1; i < 4; i++) {
    askers[i] = (Asker){ batch, &sets[i], qs[i - 1], 0, NULL, NULL };
    threads[i] = g_thread_new ("asker", ask, &askers[i]);
  }
  for (i = 0; i < 4; i++) {
    g_thread_join (threads[i]);
    g_assert_no_error (askers[i].error);
    assert_ids (askers[i].answer, alone[i]->token_ids, alone[i]->n_tokens,
        i == 0                 ? "long" :
            qs[i - 1]->setting ? qs[i - 1]->setting :
                                 "other");
    ib_answer_free (askers[i].answer);
    ib_answer_free (alone[i]);
  }
  ib_batch_get_stats (batch, &st);
  g_test_message ("%" G_GUINT64_FORMAT " steps, %" G_GUINT64_FORMAT
                  " prefilling (%" G_GUINT64_FORMAT " with decoding rows), "
                  "%" G_GUINT64_FORMAT " prompts, at most %d in one step, "
                  "%" G_GUINT64_FORMAT " prompt rows",
      st.n_steps, st.n_prefill_steps, st.n_mixed_steps, st.n_prefills,
      st.max_prefills, st.n_prefill_rows);
  /* every prompt prefilled in a step (the long answer's alone); the
   * joiners' with the long answer's decoding rows: all three together, or
   * over two steps when the prompt rows of one step do not hold them */
  g_assert_cmpuint (st.n_prefills, ==, 4);
  g_assert_cmpuint (st.n_prefill_steps, ==, st.n_mixed_steps + 1);
  if (tight) {
    /* which fit together depends on their order of arrival */
    g_assert_cmpuint (st.n_mixed_steps, >=, 2);
    g_assert_cmpint (st.max_prefills, <, 3);
  } else {
    g_assert_cmpuint (st.n_mixed_steps, ==, 1);
    g_assert_cmpint (st.max_prefills, ==, 3);
  }
  ib_batch_free (batch);
  ib_model_unref (m);
  fixture_close (&fx);
}

int
main (int argc, char **argv)
{
  static const SharedCase shared[] = { { "vicuna-tiny", 16 },
    { "vicuna-tiny", 2 }, { "vicuna-tiny-video", 16 },
    { "vicuna-tiny-video", 5 }, { "t5-tiny", 16 }, { "t5-tiny", 2 } };
  /* the own kernels (fp32, fp16), oneDNN (bf16, q8 on CPU devices) and
   * CLBlast */
  static const PrefillCase prefill[] = {
    { "vicuna-tiny", IB_PRECISION_F32, IB_GEMM_AUTO },
    { "vicuna-tiny-video", IB_PRECISION_F32, IB_GEMM_AUTO },
    { "vicuna-tiny-video", IB_PRECISION_F16, IB_GEMM_AUTO },
    { "vicuna-tiny-video", IB_PRECISION_BF16, IB_GEMM_AUTO },
    { "vicuna-tiny-video", IB_PRECISION_Q8, IB_GEMM_AUTO },
    { "vicuna-tiny-video", IB_PRECISION_F32, IB_GEMM_CLBLAST },
    { "vicuna-tiny-video", IB_PRECISION_F16, IB_GEMM_CLBLAST },
  };

  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/batch/alone-equal/vicuna", "vicuna-tiny",
      test_alone_equal);
  g_test_add_data_func ("/batch/alone-equal/video", "vicuna-tiny-video",
      test_alone_equal);
  g_test_add_data_func ("/batch/alone-equal/t5", "t5-tiny", test_alone_equal);
  g_test_add_func ("/batch/fair", test_fair);
  for (gsize i = 0; i < G_N_ELEMENTS (prefill); i++) {
    char *path = g_strdup_printf ("/batch/prefill-logits/%s/%s/%s",
        prefill[i].name, ib_precision_to_string (prefill[i].precision),
        ib_gemm_backend_to_string (prefill[i].gemm));
    g_test_add_data_func (path, &prefill[i], test_prefill_logits);
    g_free (path);
  }
  g_test_add_data_func ("/batch/prefill-join/together", GINT_TO_POINTER (0),
      test_prefill_join);
  g_test_add_data_func ("/batch/prefill-join/one-per-step", GINT_TO_POINTER (1),
      test_prefill_join);
  g_test_add_func ("/batch/errors", test_errors);
  for (gsize i = 0; i < G_N_ELEMENTS (shared); i++) {
    char *path = g_strdup_printf ("/batch/shared-vision/%s/pass-%d",
        shared[i].name, shared[i].pass);
    g_test_add_data_func (path, &shared[i], test_shared_vision);
    g_free (path);
  }
  return g_test_run ();
}
