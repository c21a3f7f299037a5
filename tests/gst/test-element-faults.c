/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every failure point of the element (issue 12, item 10): with the device
 * layer's fault injection (opencl/fault-private.h), the Nth device
 * operation (allocation, kernel launch or wait, transfer, build) fails
 * while a pipeline loads the model and answers a question. Each run must
 * end, within a bound, in EOS or a GST_ELEMENT_ERROR, never a crash or a
 * hang; a failure must show as the ERROR of a failed start or the WARNING
 * of a failed answer (docs/element.md, "Errors and warnings"), and an
 * answer given must be right. Then the same pipeline goes to NULL, starts
 * again without faults and must answer right: PyTorch's answer for the
 * default model's first held-out question (tests/default-model/data,
 * written by training/train_default_model.py).
 *
 * The element and the engine are built into this program (the plugin and
 * libinstructblip.so hide the device layer), and the element is registered
 * statically. Every failure point of each kind up to 8, then 16 more spread
 * over the rest of that kind's count. */
#include <string.h>

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include "fault-private.h"
#include "gstinstructblip.h"

#define N_FRAMES 4
#define RUN_TIMEOUT (120 * GST_SECOND) /* a hang is a failure */
#define N_FIRST 8 /* every failure point up to this one */
#define N_SPREAD 16 /* then this many more, spread to the last */

static char *model_dir;
static char *question;
static char *torch_text;
static guint8 *frames; /* [N_FRAMES, size, size, 3] */
static int size;
static int max_new_tokens;

static void
question_load (void)
{
  char *dir =
      g_test_build_filename (G_TEST_DIST, "..", "default-model", "data", NULL);
  char *qpath = g_build_filename (dir, "questions.json", NULL);
  char *fpath = g_build_filename (dir, "frames.bin", NULL);
  JsonParser *parser = json_parser_new ();
  GError *error = NULL;
  JsonObject *root, *first;
  gsize len;

  g_assert_true (json_parser_load_from_file (parser, qpath, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  first = json_array_get_object_element (json_object_get_array_member (root,
                                             "questions"),
      0);
  g_assert_cmpint (json_object_get_int_member (first, "frames"), ==, N_FRAMES);
  size = (int) json_object_get_int_member (root, "image_size");
  max_new_tokens = (int) json_object_get_int_member (root, "max_new_tokens");
  question = g_strdup (json_object_get_string_member (first, "question"));
  torch_text = g_strdup (json_object_get_string_member (first, "torch_text"));
  g_assert_true (g_file_get_contents (fpath, (char **) &frames, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (len, >=, (gsize) N_FRAMES * size * size * 3);
  g_object_unref (parser);
  model_dir = g_test_build_filename (G_TEST_DIST, "..", "..", "models",
      "instructblip-synthvid-tiny", NULL);
  g_free (dir);
  g_free (qpath);
  g_free (fpath);
}

typedef struct
{
  guint answers; /* instructblip-answer messages */
  guint wrong; /* of them, not PyTorch's answer */
  guint warnings; /* STREAM / FAILED: an answer that failed */
  gboolean error; /* a GST_ELEMENT_ERROR (the start failed) */
  gboolean eos;
  char *what; /* the first surprise */
} Outcome;

static void
outcome_note (Outcome *o, char *what)
{
  if (o->what == NULL)
    o->what = what;
  else
    g_free (what);
}

/* Plays @pipeline once: the question's frames, then EOS; collects what the
 * bus says until EOS or an ERROR, within RUN_TIMEOUT. */
static void
play (GstElement *pipeline, Outcome *o)
{
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  GstBus *bus = gst_element_get_bus (pipeline);
  gsize frame_bytes = (gsize) size * size * 3;
  gint64 deadline;
  int f;

  memset (o, 0, sizeof (*o));
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    /* the ERROR message says why; it is on the bus */
  } else {
    for (f = 0; f < N_FRAMES; f++) {
      GstBuffer *b =
          gst_buffer_new_memdup (frames + f * frame_bytes, frame_bytes);

      GST_BUFFER_PTS (b) = f * GST_SECOND / 30;
      GST_BUFFER_DURATION (b) = GST_SECOND / 30;
      gst_app_src_push_buffer (GST_APP_SRC (src), b);
    }
    gst_app_src_end_of_stream (GST_APP_SRC (src));
  }
  deadline = g_get_monotonic_time () + RUN_TIMEOUT / GST_USECOND;
  while (!o->eos && !o->error) {
    gint64 left = deadline - g_get_monotonic_time ();
    GstMessage *m;

    if (left <= 0) {
      outcome_note (o, g_strdup ("no EOS and no ERROR within the bound"));
      break;
    }
    m = gst_bus_timed_pop (bus, left * GST_USECOND);
    if (m == NULL)
      continue;
    switch (GST_MESSAGE_TYPE (m)) {
      case GST_MESSAGE_EOS:
        o->eos = TRUE;
        break;
      case GST_MESSAGE_ERROR: {
        GError *e = NULL;

        gst_message_parse_error (m, &e, NULL);
        o->error = TRUE;
        if (e->message == NULL || !e->message[0])
          outcome_note (o, g_strdup ("an ERROR without a message"));
        g_error_free (e);
        break;
      }
      case GST_MESSAGE_WARNING: {
        GError *e = NULL;

        gst_message_parse_warning (m, &e, NULL);
        if (e->domain == GST_STREAM_ERROR &&
            e->code == GST_STREAM_ERROR_FAILED &&
            strstr (e->message, "Could not answer") != NULL)
          o->warnings++;
        else
          outcome_note (o, g_strdup_printf ("a WARNING: %s", e->message));
        g_error_free (e);
        break;
      }
      case GST_MESSAGE_ELEMENT: {
        const GstStructure *s = gst_message_get_structure (m);

        if (gst_structure_has_name (s, "instructblip-answer")) {
          const char *text = gst_structure_get_string (s, "answer");

          o->answers++;
          if (g_strcmp0 (text, torch_text) != 0) {
            o->wrong++;
            outcome_note (o,
                g_strdup_printf ("answer \"%s\", PyTorch's is "
                                 "\"%s\"",
                    text, torch_text));
          }
        }
        break;
      }
      default:
        break;
    }
    gst_message_unref (m);
  }
  gst_object_unref (bus);
  gst_object_unref (src);
}

static GstElement *
pipeline_new (void)
{
  GError *error = NULL;
  char *desc = g_strdup_printf (
      "appsrc name=src format=time "
      "caps=video/x-raw,format=RGB,width=%d,height=%d,framerate=30/1 ! "
      "instructblip model-path=\"%s\" num-frames=%d interval=0 "
      "max-new-tokens=%d "
      "processing-mode=blocking post-messages=1 instruction=\"%s\" ! "
      "fakesink",
      size, size, model_dir, N_FRAMES, max_new_tokens, question);
  GstElement *p = gst_parse_launch (desc, &error);

  g_assert_no_error (error);
  g_free (desc);
  return p;
}

/* The device operations of @kinds that one start and answer make. */
static guint
count_operations (GstElement *pipeline, guint kinds)
{
  Outcome o;
  guint n;

  ib_cl_fault_arm (kinds, G_MAXINT);
  play (pipeline, &o);
  n = ib_cl_fault_count ();
  ib_cl_fault_arm (0, 0);
  g_assert_true (gst_element_set_state (pipeline, GST_STATE_NULL) ==
      GST_STATE_CHANGE_SUCCESS);
  g_assert_cmpstr (o.what, ==, NULL);
  g_assert_true (o.eos);
  g_assert_cmpuint (o.answers, ==, 1);
  return n;
}

static void
walk_kind (GstElement *pipeline, guint kind, const char *name)
{
  guint count = count_operations (pipeline, kind), n, step, n_fired = 0;
  guint n_errors = 0, n_warnings = 0;

  step = count > N_FIRST ? MAX (1, (count - N_FIRST) / N_SPREAD) : 1;
  for (n = 1; n <= count; n = n < N_FIRST ? n + 1 : MIN (n + step, count)) {
    Outcome o, again;
    gboolean fired;

    ib_cl_fault_arm (kind, n);
    play (pipeline, &o);
    fired = ib_cl_fault_fired ();
    ib_cl_fault_arm (0, 0);
    if (o.what)
      g_error ("%s %u/%u: %s", name, n, count, o.what);
    if (fired && !o.error && o.warnings == 0)
      g_error ("%s %u/%u: the device operation failed and nothing said so",
          name, n, count);
    if (!fired && (o.error || o.warnings))
      g_error ("%s %u/%u: an error without a failed device operation", name, n,
          count);
    if (!o.error && o.answers + o.warnings != 1)
      g_error ("%s %u/%u: %u answers and %u failed ones for one question", name,
          n, count, o.answers, o.warnings);
    n_fired += fired;
    n_errors += o.error;
    n_warnings += o.warnings;

    /* the same pipeline starts again and answers right */
    g_assert_true (gst_element_set_state (pipeline, GST_STATE_NULL) ==
        GST_STATE_CHANGE_SUCCESS);
    play (pipeline, &again);
    if (again.what || !again.eos || again.answers != 1)
      g_error ("%s %u/%u, restarted: %s", name, n, count,
          again.what ? again.what : "no answer");
    g_assert_true (gst_element_set_state (pipeline, GST_STATE_NULL) ==
        GST_STATE_CHANGE_SUCCESS);
    g_free (o.what);
    if (n == count)
      break;
  }
  g_test_message ("%s: %u operations; %u failures injected: %u failed "
                  "starts, %u failed answers",
      name, count, n_fired, n_errors, n_warnings);
}

static GstElement *
pipeline_or_skip (void)
{
  GstElement *p = pipeline_new ();
  Outcome o;

  /* skips without a device: the start fails for want of one */
  play (p, &o);
  gst_element_set_state (p, GST_STATE_NULL);
  if (o.error && !o.eos) {
    g_test_skip ("the element does not start (no OpenCL device?)");
    gst_object_unref (p);
    g_free (o.what);
    return NULL;
  }
  g_assert_cmpstr (o.what, ==, NULL);
  g_assert_cmpuint (o.answers, ==, 1);
  return p;
}

static void
test_walk (gconstpointer data)
{
  guint kind = GPOINTER_TO_UINT (data);
  GstElement *p = pipeline_or_skip ();
  const char *name = kind == IB_CL_FAULT_ALLOC ? "alloc" :
      kind == IB_CL_FAULT_ENQUEUE              ? "enqueue" :
      kind == IB_CL_FAULT_TRANSFER             ? "transfer" :
                                                 "build";

  if (p == NULL)
    return;
  walk_kind (p, kind, name);
  gst_object_unref (p);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  /* the element is built into this program (with the fault switch): the
   * built plugin must not be found too, or a registry scanned in this
   * process (GST_REGISTRY_FORK=no, as under the sanitizers) registers the
   * same GType twice */
  g_unsetenv ("GST_PLUGIN_PATH_1_0");
  g_unsetenv ("GST_PLUGIN_PATH");
  gst_init (NULL, NULL);
  g_assert_true (GST_ELEMENT_REGISTER (instructblip, NULL));
  question_load ();
  g_test_add_data_func ("/element-faults/alloc",
      GUINT_TO_POINTER (IB_CL_FAULT_ALLOC), test_walk);
  g_test_add_data_func ("/element-faults/enqueue",
      GUINT_TO_POINTER (IB_CL_FAULT_ENQUEUE), test_walk);
  g_test_add_data_func ("/element-faults/transfer",
      GUINT_TO_POINTER (IB_CL_FAULT_TRANSFER), test_walk);
  g_test_add_data_func ("/element-faults/build",
      GUINT_TO_POINTER (IB_CL_FAULT_BUILD), test_walk);
  ret = g_test_run ();
  g_free (model_dir);
  g_free (question);
  g_free (torch_text);
  g_free (frames);
  return ret;
}
