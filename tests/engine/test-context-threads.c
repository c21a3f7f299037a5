/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Contexts answering in several threads at once (instructblip.h: a model
 * may be shared by any number of contexts in any threads): contexts of one
 * model and of a second model of the same directory, each in its own
 * thread, answer different held-out questions over and over while another
 * thread creates, uses and frees contexts. PoCL 3.1 aborted here
 * (pocl_release_dlhandle_cache) before the device layer kept one queue's
 * kernels in flight at a time (opencl/queue.c). Every answer must keep
 * PyTorch's ids (tests/default-model/data, written by
 * training/train_default_model.py). */
#include <string.h>

#include <json-glib/json-glib.h>

#include "ibt-model.h"

#define N_FRAMES 4
#define N_ANSWERERS 3 /* two contexts of model A, one of model B */
#define N_ROUNDS 12 /* answers per answering thread */
#define N_CHURN 6 /* contexts created and freed by the churn thread */

typedef struct
{
  char *question;
  gint32 *torch_ids;
  int n_ids;
} Question;

static Question *questions;
static int n_questions;
static guint8 *frames; /* [n_questions, N_FRAMES, size, size, 3] */
static int size;
static int max_new_tokens;
static gint start;

static void
questions_load (void)
{
  char *dir =
      g_test_build_filename (G_TEST_DIST, "default-model", "data", NULL);
  char *qpath = g_build_filename (dir, "questions.json", NULL);
  char *fpath = g_build_filename (dir, "frames.bin", NULL);
  JsonParser *parser = json_parser_new ();
  GError *error = NULL;
  JsonObject *root;
  JsonArray *all;
  gsize len;
  int i, j;

  g_assert_true (json_parser_load_from_file (parser, qpath, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  size = (int) json_object_get_int_member (root, "image_size");
  max_new_tokens = (int) json_object_get_int_member (root, "max_new_tokens");
  all = json_object_get_array_member (root, "questions");
  n_questions = (int) json_array_get_length (all);
  questions = g_new0 (Question, n_questions);
  for (i = 0; i < n_questions; i++) {
    JsonObject *o = json_array_get_object_element (all, i);
    JsonArray *ids = json_object_get_array_member (o, "torch_ids");

    g_assert_cmpint (json_object_get_int_member (o, "frames"), ==, N_FRAMES);
    questions[i].question =
        g_strdup (json_object_get_string_member (o, "question"));
    questions[i].n_ids = (int) json_array_get_length (ids);
    questions[i].torch_ids = g_new (gint32, questions[i].n_ids);
    for (j = 0; j < questions[i].n_ids; j++)
      questions[i].torch_ids[j] = (gint32) json_array_get_int_element (ids, j);
  }
  g_assert_true (g_file_get_contents (fpath, (char **) &frames, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (len, >=, (gsize) n_questions * N_FRAMES * size * size * 3);
  g_object_unref (parser);
  g_free (dir);
  g_free (qpath);
  g_free (fpath);
}

static void
questions_clear (void)
{
  int i;

  for (i = 0; i < n_questions; i++) {
    g_free (questions[i].question);
    g_free (questions[i].torch_ids);
  }
  g_free (questions);
  g_free (frames);
}

/* Question @i on @ctx; an error, or a message naming the wrong answer. */
static gboolean
ask (IbContext *ctx, int i, GError **error)
{
  gsize frame_bytes = (gsize) size * size * 3;
  const guint8 *base = frames + (gsize) i * N_FRAMES * frame_bytes;
  IbImage images[N_FRAMES];
  IbGenerateParams p;
  IbAnswer *a;
  gboolean right;
  int f;

  for (f = 0; f < N_FRAMES; f++)
    images[f] = (IbImage){ size, size, size * 3, IB_PIXEL_FORMAT_RGB,
      base + f * frame_bytes };
  if (!ib_context_set_frames (ctx, images, N_FRAMES, error))
    return FALSE;
  ib_generate_params_init (&p);
  p.max_new_tokens = max_new_tokens;
  a = ib_context_answer (ctx, questions[i].question, &p, error);
  if (a == NULL)
    return FALSE;
  right = a->n_tokens == questions[i].n_ids &&
      memcmp (a->token_ids, questions[i].torch_ids,
          a->n_tokens * sizeof (gint32)) == 0;
  if (!right)
    g_set_error (error, g_quark_from_static_string ("context-threads"), 0,
        "question %d (\"%s\"): answer \"%s\" has other ids than PyTorch's", i,
        questions[i].question, a->text);
  ib_answer_free (a);
  return right;
}

typedef struct
{
  IbModel *model;
  int first; /* the thread's first question */
  gboolean churn; /* a new context per answer */
} Job;

static gpointer
run (gpointer data)
{
  Job *job = data;
  GError *error = NULL;
  IbContext *ctx = NULL;
  int r, n = job->churn ? N_CHURN : N_ROUNDS;

  while (!g_atomic_int_get (&start))
    g_thread_yield ();
  for (r = 0; r < n && error == NULL; r++) {
    /* a different question each time and in each thread: prompts and
     * answers of other lengths, so launches of other sizes */
    int q = (job->first + r * (N_ANSWERERS + 1)) % n_questions;

    if (ctx == NULL)
      ctx = ib_context_new (job->model, NULL, &error);
    if (ctx)
      ask (ctx, q, &error);
    if (job->churn)
      g_clear_pointer (&ctx, ib_context_free);
  }
  ib_context_free (ctx);
  return error;
}

static void
test_contexts_in_threads (void)
{
  char *dir = g_test_build_filename (G_TEST_DIST, "..", "models",
      "instructblip-synthvid-tiny", NULL);
  GThread *threads[N_ANSWERERS + 1];
  Job jobs[N_ANSWERERS + 1];
  IbModel *a, *b;
  int i;

  /* skips without a device */
  a = ibt_load_model (dir, IB_PRECISION_F32);
  if (a == NULL) {
    g_free (dir);
    return;
  }
  b = ibt_load_model (dir, IB_PRECISION_F32);
  g_assert_nonnull (b);
  for (i = 0; i <= N_ANSWERERS; i++) {
    jobs[i] = (Job){ i == 2 ? b : a, i, i == N_ANSWERERS };
    threads[i] = g_thread_new ("answer", run, &jobs[i]);
  }
  g_atomic_int_set (&start, 1);
  for (i = 0; i <= N_ANSWERERS; i++) {
    GError *error = g_thread_join (threads[i]);
    g_assert_no_error (error);
  }
  ib_model_unref (a);
  ib_model_unref (b);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  questions_load ();
  g_test_add_func ("/context-threads/answer", test_contexts_in_threads);
  ret = g_test_run ();
  questions_clear ();
  return ret;
}
