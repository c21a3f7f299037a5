/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pipelines started from several threads at once as the first thing a
 * process does (issue 12, item 1): each element loads its own model, so the
 * process's first OpenCL device set-up happens in several threads together,
 * which crashed inside PoCL. Each run is a fresh process
 * (g_test_trap_subprocess); every pipeline must reach EOS with its answers.
 */
#include <gst/gst.h>

#define N_PIPELINES 4
#define N_RUNS 6
/* 8 frames, a question every 4: two answers per pipeline */
#define LAUNCH                                                             \
  "videotestsrc num-buffers=8 pattern=ball ! "                             \
  "video/x-raw,format=RGB,width=64,height=64,framerate=30/1 ! "            \
  "instructblip num-frames=4 interval=0 max-new-tokens=4 post-messages=1 " \
  "processing-mode=blocking ! fakesink"

static gint start;

/* Runs one pipeline to EOS; returns NULL or what went wrong. */
static gpointer
run_pipeline (G_GNUC_UNUSED gpointer data)
{
  GError *error = NULL;
  GstElement *p;
  GstBus *bus;
  char *what = NULL;
  guint answers = 0;
  gboolean done = FALSE;

  while (!g_atomic_int_get (&start))
    ;
  p = gst_parse_launch (LAUNCH, &error);
  if (p == NULL) {
    what = g_strdup (error->message);
    g_error_free (error);
    return what;
  }
  bus = gst_element_get_bus (p);
  if (gst_element_set_state (p, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    what = g_strdup ("the pipeline did not start");
  while (what == NULL && !done) {
    GstMessage *m = gst_bus_timed_pop (bus, 60 * GST_SECOND);

    if (m == NULL) {
      what = g_strdup ("no EOS within 60 s");
      break;
    }
    switch (GST_MESSAGE_TYPE (m)) {
      case GST_MESSAGE_EOS:
        done = TRUE;
        break;
      case GST_MESSAGE_ERROR:
        gst_message_parse_error (m, &error, NULL);
        what = g_strdup (error->message);
        g_error_free (error);
        break;
      case GST_MESSAGE_ELEMENT:
        answers += gst_message_has_name (m, "instructblip-answer");
        break;
      default:
        break;
    }
    gst_message_unref (m);
  }
  if (what == NULL && answers != 2)
    what = g_strdup_printf ("%u answers, expected 2", answers);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (p);
  return what;
}

static void
child (void)
{
  GThread *threads[N_PIPELINES];
  int i;

  for (i = 0; i < N_PIPELINES; i++)
    threads[i] = g_thread_new ("pipeline", run_pipeline, NULL);
  g_atomic_int_set (&start, 1);
  for (i = 0; i < N_PIPELINES; i++) {
    char *what = g_thread_join (threads[i]);
    if (what)
      g_error ("pipeline %d: %s", i, what);
  }
}

static void
test_parallel_start (void)
{
  int run;

  if (g_test_subprocess ()) {
    child ();
    return;
  }
  for (run = 0; run < N_RUNS; run++) {
    g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC,
        G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed ();
  }
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/parallel/first-start", test_parallel_start);
  return g_test_run ();
}
