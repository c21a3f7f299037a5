/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every failure point of the public engine calls (issue 12, item 10): with
 * the device layer's fault injection (opencl/fault-private.h), the Nth
 * device operation (allocation, kernel launch or wait, transfer, build)
 * fails, for N = 1, 2, ... until the call no longer reaches a failure. Each
 * failing call must return a clean GError (no crash, no success computed
 * from garbage), and the context must keep answering right afterwards: the
 * default model's answer to a held-out question must keep PyTorch's ids
 * (tests/default-model/data, written by training/train_default_model.py).
 *
 * Linked with the engine's sources (not libinstructblip.so, which hides
 * the device layer) so that the test reaches the fault switch. */
#include <string.h>

#include <json-glib/json-glib.h>

#include "fault-private.h"
#include "ib-checkpoint.h"
#include "instructblip.h"

#define N_FRAMES 4

typedef struct
{
  char *model_dir;
  char *question;
  gint32 *torch_ids;
  int n_ids;
  guint8 *frames; /* [N_FRAMES, S, S, 3] */
  int size;
  int max_new_tokens;
} Question;

static Question qa;

/* The first held-out question of the committed sample. */
static void
question_load (Question *q)
{
  char *dir =
      g_test_build_filename (G_TEST_DIST, "default-model", "data", NULL);
  char *qpath = g_build_filename (dir, "questions.json", NULL);
  char *fpath = g_build_filename (dir, "frames.bin", NULL);
  JsonParser *parser = json_parser_new ();
  GError *error = NULL;
  JsonObject *root, *first;
  JsonArray *ids;
  gsize len;
  int i;

  g_assert_true (json_parser_load_from_file (parser, qpath, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  first = json_array_get_object_element (json_object_get_array_member (root,
                                             "questions"),
      0);
  g_assert_cmpint (json_object_get_int_member (first, "frames"), ==, N_FRAMES);
  q->size = (int) json_object_get_int_member (root, "image_size");
  q->max_new_tokens = (int) json_object_get_int_member (root, "max_new_tokens");
  q->question = g_strdup (json_object_get_string_member (first, "question"));
  ids = json_object_get_array_member (first, "torch_ids");
  q->n_ids = (int) json_array_get_length (ids);
  q->torch_ids = g_new (gint32, q->n_ids);
  for (i = 0; i < q->n_ids; i++)
    q->torch_ids[i] = (gint32) json_array_get_int_element (ids, i);
  g_assert_true (
      g_file_get_contents (fpath, (char **) &q->frames, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (len, >=, (gsize) N_FRAMES * q->size * q->size * 3);
  q->model_dir = g_test_build_filename (G_TEST_DIST, "..", "models",
      "instructblip-synthvid-tiny", NULL);
  g_object_unref (parser);
  g_free (dir);
  g_free (qpath);
  g_free (fpath);
}

static void
question_clear (Question *q)
{
  g_free (q->model_dir);
  g_free (q->question);
  g_free (q->torch_ids);
  g_free (q->frames);
}

static void
set_frames (IbContext *ctx, GError **error, gboolean *ok)
{
  IbImage frames[N_FRAMES];
  gsize frame_bytes = (gsize) qa.size * qa.size * 3;
  int f;

  for (f = 0; f < N_FRAMES; f++)
    frames[f] = (IbImage){ qa.size, qa.size, qa.size * 3, IB_PIXEL_FORMAT_RGB,
      qa.frames + f * frame_bytes };
  *ok = ib_context_set_frames (ctx, frames, N_FRAMES, error);
}

static IbAnswer *
answer (IbContext *ctx, GError **error)
{
  IbGenerateParams p;

  ib_generate_params_init (&p);
  p.max_new_tokens = qa.max_new_tokens;
  return ib_context_answer (ctx, qa.question, &p, error);
}

/* A clean answer on @ctx must have PyTorch's ids. */
static void
assert_answers_right (IbContext *ctx)
{
  GError *error = NULL;
  IbAnswer *a;
  gboolean ok;

  set_frames (ctx, &error, &ok);
  g_assert_no_error (error);
  g_assert_true (ok);
  a = answer (ctx, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (a->token_ids, a->n_tokens * sizeof (gint32), qa.torch_ids,
      qa.n_ids * sizeof (gint32));
  ib_answer_free (a);
}

/* After the call, with the switch off: did the armed fault happen? A failed
 * call must have fired it and set a GError with a message; a call that
 * fired it must have failed. */
static gboolean
check_outcome (const char *what, guint n, gboolean ok, GError *error)
{
  gboolean fired = ib_cl_fault_fired ();

  ib_cl_fault_arm (0, 0);
  if (fired) {
    if (ok)
      g_error ("%s: device operation %u failed but the call succeeded", what,
          n);
    g_assert_nonnull (error);
    g_assert_true (error->message != NULL && *error->message != '\0');
    if (g_test_verbose () || n == 1)
      g_test_message ("%s, fault %u: %s", what, n, error->message);
  } else {
    g_assert_no_error (error);
    g_assert_true (ok);
  }
  return fired;
}

static IbModel *
load_clean (void)
{
  GError *error = NULL;
  IbModel *m = ib_model_load (qa.model_dir, NULL, &error);

  if (m == NULL && g_error_matches (error, IB_ERROR, IB_ERROR_NO_DEVICE)) {
    g_test_skip (error->message);
    g_error_free (error);
    return NULL;
  }
  g_assert_no_error (error);
  return m;
}

static void
test_load (void)
{
  IbModel *m = load_clean ();
  guint n;

  if (m == NULL)
    return;
  ib_model_unref (m);
  for (n = 1;; n++) {
    GError *error = NULL;

    ib_cl_fault_arm (IB_CL_FAULT_ALL, n);
    m = ib_model_load (qa.model_dir, NULL, &error);
    if (!check_outcome ("model load", n, m != NULL, error))
      break;
    g_error_free (error);
  }
  g_test_message ("model load: %u failure points", n - 1);
  g_assert_cmpuint (n, >, 1);
  /* the model loaded on the last round answers right */
  {
    GError *error = NULL;
    IbContext *ctx = ib_context_new (m, NULL, &error);

    g_assert_no_error (error);
    assert_answers_right (ctx);
    ib_context_free (ctx);
  }
  ib_model_unref (m);
}

static void
test_context (void)
{
  IbModel *m = load_clean ();
  IbContext *ctx = NULL;
  guint n;

  if (m == NULL)
    return;
  for (n = 1;; n++) {
    GError *error = NULL;

    ib_cl_fault_arm (IB_CL_FAULT_ALL, n);
    ctx = ib_context_new (m, NULL, &error);
    if (!check_outcome ("context", n, ctx != NULL, error))
      break;
    g_error_free (error);
  }
  g_test_message ("context creation: %u failure points", n - 1);
  g_assert_cmpuint (n, >, 1);
  assert_answers_right (ctx);
  ib_context_free (ctx);
  ib_model_unref (m);
}

/* Answers @prompt with @p on @ctx for N = 1, 2, ... failing operations;
 * each failure must be clean and leave @ctx usable (@check: a clean answer
 * every few rounds); the round without a fault must give @want. */
static void
walk_answer (const char *what, IbContext *ctx, const char *prompt,
    const IbGenerateParams *p, const gint32 *want, int n_want,
    void (*check) (IbContext *ctx))
{
  GError *error = NULL;
  IbAnswer *a = NULL;
  guint n;

  for (n = 1;; n++) {
    ib_cl_fault_arm (IB_CL_FAULT_ALL, n);
    a = ib_context_answer (ctx, prompt, p, &error);
    if (!check_outcome (what, n, a != NULL, error))
      break;
    g_clear_error (&error);
    if (check && n % 16 == 0)
      check (ctx);
  }
  g_test_message ("%s: %u failure points", what, n - 1);
  g_assert_cmpuint (n, >, 1);
  g_assert_cmpmem (a->token_ids, a->n_tokens * sizeof (gint32), want,
      n_want * sizeof (gint32));
  ib_answer_free (a);
}

/* set_frames and answer (greedy, then beam search) on one context: after
 * every failure, the same context goes on (a failed call leaves the
 * context usable). */
static void
test_frames_and_answer (void)
{
  IbModel *m = load_clean ();
  IbGenerateParams p;
  IbContext *ctx;
  GError *error = NULL;
  IbAnswer *beams;
  gboolean ok;
  guint n;

  if (m == NULL)
    return;
  ctx = ib_context_new (m, NULL, &error);
  g_assert_no_error (error);

  for (n = 1;; n++) {
    ib_cl_fault_arm (IB_CL_FAULT_ALL, n);
    set_frames (ctx, &error, &ok);
    if (!check_outcome ("set_frames", n, ok, error))
      break;
    g_clear_error (&error);
  }
  g_test_message ("set_frames: %u failure points", n - 1);
  g_assert_cmpuint (n, >, 1);
  assert_answers_right (ctx);

  ib_generate_params_init (&p);
  p.max_new_tokens = qa.max_new_tokens;
  walk_answer ("answer", ctx, qa.question, &p, qa.torch_ids, qa.n_ids,
      assert_answers_right);
  assert_answers_right (ctx);

  /* beam search: beams are reordered on the device; the reference is a
   * clean run of the same call */
  p.num_beams = 3;
  beams = ib_context_answer (ctx, qa.question, &p, &error);
  g_assert_no_error (error);
  walk_answer ("answer, 3 beams", ctx, qa.question, &p, beams->token_ids,
      beams->n_tokens, assert_answers_right);
  ib_answer_free (beams);
  assert_answers_right (ctx);

  ib_context_free (ctx);
  ib_model_unref (m);
}

/* The T5 path (t5.c) on the t5-tiny parity fixture: greedy ids of
 * transformers' generate() (tests/data/parity/make_fixtures.py). */
static void
test_t5_answer (void)
{
  char *dir =
      g_test_build_filename (G_TEST_DIST, "data", "parity", "t5-tiny", NULL);
  char *ref_path = g_build_filename (dir, "reference.safetensors", NULL);
  char *settings_path = g_build_filename (dir, "settings.json", NULL);
  JsonParser *settings = json_parser_new ();
  GError *error = NULL;
  IbSafetensors *ref;
  const IbTensor *pv, *ids;
  IbGenerateParams p;
  IbContext *ctx;
  IbModel *m;
  float *pixels;
  gint32 *want;
  const char *prompt;
  guint64 i;

  m = ib_model_load (dir, NULL, &error);
  if (m == NULL && g_error_matches (error, IB_ERROR, IB_ERROR_NO_DEVICE)) {
    g_test_skip (error->message);
    g_error_free (error);
    goto out;
  }
  g_assert_no_error (error);
  ref = ib_safetensors_open_file (ref_path, &error);
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_file (settings, settings_path, &error));
  prompt = json_object_get_string_member (json_node_get_object (
                                              json_parser_get_root (settings)),
      "prompt");
  pv = ib_safetensors_get (ref, "pixel_values");
  pixels = g_new (float, pv->n_elements);
  g_assert_true (ib_tensor_read_f32 (pv, 0, pv->n_elements, pixels, &error));
  /* transformers' ids start with T5's decoder start token */
  ids = ib_safetensors_get (ref, "greedy_ids");
  want = g_new (gint32, ids->n_elements - 1);
  for (i = 1; i < ids->n_elements; i++) {
    gint64 v;
    memcpy (&v, (const guint8 *) ids->data + i * 8, 8);
    want[i - 1] = (gint32) v;
  }

  ctx = ib_context_new (m, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (
      ib_context_set_pixel_values (ctx, pixels, (int) pv->shape[0], &error));
  g_assert_no_error (error);
  ib_generate_params_init (&p);
  p.max_new_tokens = 12; /* settings.json "greedy" */
  walk_answer ("t5 answer", ctx, prompt, &p, want, (int) ids->n_elements - 1,
      NULL);

  ib_context_free (ctx);
  g_free (want);
  g_free (pixels);
  ib_safetensors_free (ref);
  ib_model_unref (m);
out:
  g_object_unref (settings);
  g_free (dir);
  g_free (ref_path);
  g_free (settings_path);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  question_load (&qa);
  g_test_add_func ("/faults/load", test_load);
  g_test_add_func ("/faults/context", test_context);
  g_test_add_func ("/faults/frames-and-answer", test_frames_and_answer);
  g_test_add_func ("/faults/t5-answer", test_t5_answer);
  ret = g_test_run ();
  question_clear (&qa);
  return ret;
}
