/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stress: four elements sharing one model instance go NULL <-> PLAYING 500 times, from four threads at once, answering on the way. */
#include "ibtest.h"

#define W 28
#define H 28
#define N_ELEMENTS 4
#define N_CYCLES 500
/* every ASK_EVERY-th cycle each element answers one frame */
#define ASK_EVERY 25
/* every ALL_DOWN_EVERY-th cycle all four are in NULL at once, so that the
 * shared model is released and loaded again; otherwise element k skips the
 * cycles where (cycle + k) % N_ELEMENTS == 0, and the others keep the
 * instance alive while it restarts */
#define ALL_DOWN_EVERY 50

typedef struct
{
  GstHarness *h;
  IbtCollector c;
  int cycle;
  int k;
  int n_asked;
  gchar *failure; /* the first failure seen by this element's thread */
} Job;

static void
job_fail (Job *j, const char *what)
{
  if (j->failure == NULL)
    j->failure =
        g_strdup_printf ("element %d, cycle %d: %s", j->k, j->cycle, what);
}

static gboolean
push_event (Job *j, GstEvent *ev)
{
  if (!gst_harness_push_event (j->h, ev)) {
    job_fail (j, "an event was refused");
    return FALSE;
  }
  return TRUE;
}

/* NULL, then PLAYING with a fresh stream, then maybe a frame. */
static gpointer
cycle_thread (gpointer data)
{
  Job *j = data;
  GstCaps *caps;
  GstSegment seg;
  gboolean all_down = j->cycle % ALL_DOWN_EVERY == 0;

  if (!all_down && (j->cycle + j->k) % N_ELEMENTS == 0)
    return NULL;
  if (gst_element_set_state (j->h->element, GST_STATE_NULL) !=
      GST_STATE_CHANGE_SUCCESS) {
    job_fail (j, "NULL failed");
    return NULL;
  }
  if (all_down)
    return NULL; /* the main thread starts all four again */
  if (gst_element_set_state (j->h->element, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_SUCCESS) {
    job_fail (j, "PLAYING failed");
    return NULL;
  }
  caps = ibt_caps (GST_VIDEO_FORMAT_RGB, W, H);
  gst_segment_init (&seg, GST_FORMAT_TIME);
  if (!push_event (j, gst_event_new_stream_start ("stress")) ||
      !push_event (j, gst_event_new_caps (caps)) ||
      !push_event (j, gst_event_new_segment (&seg))) {
    gst_caps_unref (caps);
    return NULL;
  }
  gst_caps_unref (caps);
  if (j->cycle % ASK_EVERY == 0) {
    if (gst_harness_push (j->h, ibt_frame (GST_VIDEO_FORMAT_RGB, W, H, 0)) !=
        GST_FLOW_OK)
      job_fail (j, "a frame was refused");
    else
      j->n_asked++;
  }
  return NULL;
}

static void
restart_all (Job *jobs)
{
  GstCaps *caps = ibt_caps (GST_VIDEO_FORMAT_RGB, W, H);
  GstSegment seg;
  int k;

  gst_segment_init (&seg, GST_FORMAT_TIME);
  for (k = 0; k < N_ELEMENTS; k++) {
    GstHarness *h = jobs[k].h;

    fail_unless_equals_int (gst_element_set_state (h->element,
                                GST_STATE_PLAYING),
        GST_STATE_CHANGE_SUCCESS);
    fail_unless (
        gst_harness_push_event (h, gst_event_new_stream_start ("stress")));
    fail_unless (gst_harness_push_event (h, gst_event_new_caps (caps)));
    fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  }
  gst_caps_unref (caps);
}

GST_START_TEST (test_shared_state_cycles)
{
  char *dir = ibt_model_dir ("vicuna-tiny");
  int ids[] = { 0 };
  char *ref;
  Job jobs[N_ELEMENTS];
  GThread *threads[N_ELEMENTS];
  int cycle, k;
  guint i;

  ref =
      ibt_reference (dir, GST_VIDEO_FORMAT_RGB, W, H, ids, 1, "What?", 2, NULL);
  for (k = 0; k < N_ELEMENTS; k++) {
    memset (&jobs[k], 0, sizeof (Job));
    jobs[k].k = k;
    ibt_collector_init (&jobs[k].c);
    jobs[k].h = ibt_harness ("model-instance-id=stress "
                             "processing-mode=blocking num-frames=1 "
                             "interval=0 max-new-tokens=2 "
                             "instruction=\"What?\"",
        &jobs[k].c, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  }

  for (cycle = 1; cycle <= N_CYCLES; cycle++) {
    for (k = 0; k < N_ELEMENTS; k++) {
      jobs[k].cycle = cycle;
      threads[k] = g_thread_new ("stress", cycle_thread, &jobs[k]);
    }
    for (k = 0; k < N_ELEMENTS; k++) {
      g_thread_join (threads[k]);
      if (jobs[k].failure)
        fail ("%s", jobs[k].failure);
    }
    if (cycle % ALL_DOWN_EVERY == 0)
      restart_all (jobs);
  }

  for (k = 0; k < N_ELEMENTS; k++) {
    /* every question answered, and answered right */
    fail_unless (jobs[k].n_asked > 0);
    fail_unless_equals_int (ibt_n_messages (&jobs[k].c), jobs[k].n_asked);
    for (i = 0; i < (guint) jobs[k].n_asked; i++) {
      GstStructure *m = ibt_message (&jobs[k].c, i);
      fail_unless_equals_string (gst_structure_get_string (m, "answer"), ref);
      gst_structure_free (m);
    }
    gst_harness_teardown (jobs[k].h);
    ibt_collector_clear (&jobs[k].c);
  }
  g_free (ref);
  g_free (dir);
}

GST_END_TEST;

static Suite *
stress_suite (void)
{
  Suite *s = suite_create ("stress");
  TCase *tc = tcase_create ("shared");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 600);
  tcase_add_test (tc, test_shared_state_cycles);
  return s;
}

GST_CHECK_MAIN (stress);
