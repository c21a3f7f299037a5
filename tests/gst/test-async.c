/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The instructblip element in async mode and with shared models: buffers
 * never wait for inference, drop policies, flush and EOS during inference,
 * two elements on one model instance. The worker is slowed down with its
 * test hook (gst/ibworker-private.h), so that "while the model is busy" is a
 * state the tests can reach, not a race. */
#include "ibtest.h"

#define W 28
#define H 28
#define ASYNC1                                     \
  "processing-mode=async num-frames=1 interval=0 " \
  "max-new-tokens=3"

static void
slow_worker (guint ms)
{
  ibt_set_worker_delay (ms);
}

static GstHarness *
async_harness (const char *props, IbtCollector *c)
{
  return ibt_harness (props, c, GST_VIDEO_FORMAT_RGB, W, H, TRUE);
}

static void
push (GstHarness *h, int i)
{
  fail_unless_equals_int (gst_harness_push (h,
                              ibt_frame (GST_VIDEO_FORMAT_RGB, W, H, i)),
      GST_FLOW_OK);
}

static guint
request_id (GstStructure *s)
{
  guint id = g_value_get_uint (gst_structure_get_value (s, "request-id"));

  gst_structure_free (s);
  return id;
}

/* Every push returns while the worker is still busy with the first
 * question: no buffer waits on inference, and all frames come out in
 * order before any answer exists. */
GST_START_TEST (test_async_never_waits)
{
  IbtCollector c;
  GstHarness *h;
  GstBuffer *out;
  GPtrArray *metas;
  int i;

  slow_worker (300);
  ibt_collector_init (&c);
  h = async_harness (ASYNC1 " max-pending=100", &c);
  for (i = 0; i < 10; i++)
    push (h, i);
  /* ten questions asked, none answered: the pushes did not wait */
  fail_unless_equals_uint64 (ibt_stat (h->element, "questions"), 10);
  fail_unless_equals_uint64 (ibt_stat (h->element, "pending"), 10);
  fail_unless_equals_uint64 (ibt_stat (h->element, "answers"), 0);
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), 10);
  for (i = 0; i < 10; i++) {
    out = gst_harness_pull (h);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (out), i * IBT_FRAME_DUR);
    gst_buffer_unref (out);
  }
  /* the first answer rides on the first buffer after it is ready */
  ibt_wait_stat (h->element, "pending", 9);
  push (h, 10);
  out = gst_harness_pull (h);
  metas = ibt_metas (out);
  fail_unless_equals_int (metas->len, 1);
  fail_unless_equals_uint64 (g_value_get_uint64 (gst_structure_get_value (
                                 g_ptr_array_index (metas, 0), "last-pts")),
      0);
  g_ptr_array_unref (metas);
  gst_buffer_unref (out);
  fail_unless_equals_int (ibt_n_messages (&c), 1);
  gst_harness_teardown (h);
  ibt_collector_clear (&c);
}

GST_END_TEST;

/* max-pending 1: while question 1 is answered, questions 2..10 compete for
 * one place in the queue. */
static void
check_drops (const char *policy, guint expect_second)
{
  char *props =
      g_strdup_printf (ASYNC1 " max-pending=1 drop-policy=%s", policy);
  IbtCollector c;
  GstHarness *h;
  int i;

  slow_worker (200);
  ibt_collector_init (&c);
  h = async_harness (props, &c);
  push (h, 0);
  ibt_wait_stat (h->element, "busy", TRUE);
  for (i = 1; i < 10; i++)
    push (h, i);
  fail_unless_equals_uint64 (ibt_stat (h->element, "questions"), 10);
  fail_unless_equals_uint64 (ibt_stat (h->element, "dropped"), 8);
  fail_unless_equals_uint64 (ibt_stat (h->element, "waiting"), 1);
  ibt_wait_stat (h->element, "pending", 0);
  push (h, 10); /* carries the two answers */
  fail_unless_equals_int (ibt_n_messages (&c), 2);
  fail_unless_equals_int (request_id (ibt_message (&c, 0)), 1);
  fail_unless_equals_int (request_id (ibt_message (&c, 1)), expect_second);
  fail_unless_equals_uint64 (ibt_stat (h->element, "answers"), 2);
  gst_harness_teardown (h);
  ibt_collector_clear (&c);
  g_free (props);
}

GST_START_TEST (test_drop_oldest)
{
  check_drops ("drop-oldest", 10);
}

GST_END_TEST;

GST_START_TEST (test_drop_newest)
{
  check_drops ("drop-newest", 2);
}

GST_END_TEST;

/* A flush during inference cancels the waiting question and discards the
 * one being answered; the stream goes on with fresh answers. */
GST_START_TEST (test_flush_async)
{
  IbtCollector c;
  GstHarness *h;
  GstSegment seg;
  GstStructure *m;

  slow_worker (200);
  ibt_collector_init (&c);
  h = async_harness (ASYNC1 " max-pending=4", &c);
  push (h, 0);
  ibt_wait_stat (h->element, "busy", TRUE);
  push (h, 1);
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&seg, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  ibt_wait_stat (h->element, "pending", 0);
  fail_unless_equals_uint64 (ibt_stat (h->element, "cancelled"), 2);
  fail_unless_equals_uint64 (ibt_stat (h->element, "answers"), 0);

  push (h, 30);
  ibt_wait_stat (h->element, "pending", 0);
  push (h, 31);
  fail_unless (ibt_n_messages (&c) >= 1);
  m = ibt_message (&c, 0);
  fail_unless_equals_uint64 (g_value_get_uint64 (
                                 gst_structure_get_value (m, "first-pts")),
      30 * IBT_FRAME_DUR);
  gst_structure_free (m);
  gst_harness_teardown (h);
  ibt_collector_clear (&c);
}

GST_END_TEST;

typedef struct
{
  GstHarness *h;
  GstFlowReturn ret;
} PushJob;

static gpointer
push_thread (gpointer data)
{
  PushJob *job = data;

  job->ret =
      gst_harness_push (job->h, ibt_frame (GST_VIDEO_FORMAT_RGB, W, H, 0));
  return NULL;
}

/* Blocking mode: a flush releases the streaming thread waiting for an
 * answer. */
GST_START_TEST (test_flush_blocking)
{
  IbtCollector c;
  GstHarness *h;
  PushJob job;
  GThread *t;

  slow_worker (500);
  ibt_collector_init (&c);
  h = ibt_harness ("processing-mode=blocking num-frames=1 interval=0 "
                   "max-new-tokens=3",
      &c, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  job.h = h;
  t = g_thread_new ("push", push_thread, &job);
  ibt_wait_stat (h->element, "busy", TRUE);
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  g_thread_join (t);
  fail_unless_equals_int (job.ret, GST_FLOW_FLUSHING);
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  ibt_wait_stat (h->element, "pending", 0);
  fail_unless_equals_int (ibt_n_messages (&c), 0);
  gst_harness_teardown (h);
  ibt_collector_clear (&c);
}

GST_END_TEST;

/* EOS during inference waits for the pending answers and still posts them
 * (message, signal, text) before EOS goes on. */
GST_START_TEST (test_eos_async)
{
  IbtCollector c;
  GstHarness *h;
  GstEvent *e;
  gboolean eos = FALSE;

  slow_worker (200);
  ibt_collector_init (&c);
  h = async_harness (ASYNC1 " max-pending=4", &c);
  push (h, 0);
  push (h, 1);
  fail_unless_equals_uint64 (ibt_stat (h->element, "answers"), 0);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless_equals_int (ibt_n_messages (&c), 2);
  fail_unless_equals_int (c.signals->len, 2);
  fail_unless_equals_int (c.texts->len, 2);
  while ((e = gst_harness_try_pull_event (h))) {
    eos |= GST_EVENT_TYPE (e) == GST_EVENT_EOS;
    gst_event_unref (e);
  }
  fail_unless (eos);
  gst_harness_teardown (h);
  ibt_collector_clear (&c);
}

GST_END_TEST;

/* EOS gives up after drain-timeout, with a warning. */
GST_START_TEST (test_eos_timeout)
{
  IbtCollector c;
  GstHarness *h;
  GstMessage *w;

  slow_worker (400);
  ibt_collector_init (&c);
  h = async_harness (ASYNC1 " max-pending=4 drain-timeout=50000000", &c);
  push (h, 0);
  push (h, 1);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless_equals_int (ibt_n_messages (&c), 0);
  w = ibt_find_message (&c, GST_MESSAGE_WARNING);
  fail_unless (w != NULL);
  gst_message_unref (w);
  gst_harness_teardown (h);
  ibt_collector_clear (&c);
}

GST_END_TEST;

/* Two elements share one model instance with different instructions; each
 * gets the engine's answer for its own instruction. */
GST_START_TEST (test_shared_instance)
{
  char *dir = ibt_model_dir ("vicuna-tiny");
  IbtCollector c1, c2;
  GstHarness *h1, *h2;
  GstStructure *m;
  char *ref, *n1 = NULL, *n2 = NULL;
  int ids[] = { 0 };

  ibt_collector_init (&c1);
  ibt_collector_init (&c2);
  h1 = ibt_harness ("model-instance-id=shared processing-mode=blocking "
                    "num-frames=1 interval=0 max-new-tokens=5 "
                    "instruction=\"Who?\"",
      &c1, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  h2 = ibt_harness ("model-instance-id=shared processing-mode=blocking "
                    "num-frames=1 interval=0 max-new-tokens=5 "
                    "instruction=\"Where?\"",
      &c2, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  fail_unless_equals_int (gst_harness_push (h1,
                              ibt_frame (GST_VIDEO_FORMAT_RGB, W, H, 0)),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push (h2,
                              ibt_frame (GST_VIDEO_FORMAT_RGB, W, H, 0)),
      GST_FLOW_OK);

  m = ibt_message (&c1, 0);
  ref =
      ibt_reference (dir, GST_VIDEO_FORMAT_RGB, W, H, ids, 1, "Who?", 5, NULL);
  fail_unless_equals_string (gst_structure_get_string (m, "answer"), ref);
  g_free (ref);
  gst_structure_free (m);
  m = ibt_message (&c2, 0);
  ref = ibt_reference (dir, GST_VIDEO_FORMAT_RGB, W, H, ids, 1, "Where?", 5,
      NULL);
  fail_unless_equals_string (gst_structure_get_string (m, "answer"), ref);
  g_free (ref);
  gst_structure_free (m);
  g_object_get (h1->element, "device-name", &n1, NULL);
  g_object_get (h2->element, "device-name", &n2, NULL);
  fail_unless (n1 && n2);
  fail_unless_equals_string (n1, n2);
  g_free (n1);
  g_free (n2);

  gst_harness_teardown (h1);
  gst_harness_teardown (h2);
  ibt_collector_clear (&c1);
  ibt_collector_clear (&c2);
  g_free (dir);
}

GST_END_TEST;

/* Elements without a model-instance-id on the same model directory,
 * device, precision and preprocessing share one loaded model (and its
 * worker), freed with its last user; another precision or an explicit id
 * is another model. */
GST_START_TEST (test_automatic_sharing)
{
  char *dir = ibt_model_dir ("vicuna-tiny");
  IbtCollector c1, c2, c3, c4;
  GstHarness *h1, *h2, *h3, *h4;
  GstStructure *m;
  char *ref;
  int ids[] = { 0 };
  const char *props = "processing-mode=blocking num-frames=1 interval=0 "
                      "max-new-tokens=5 instruction=\"Who?\"";
  char *fp16 = g_strconcat (props, " precision=fp16", NULL);
  char *own = g_strconcat (props, " model-instance-id=own", NULL);

  ibt_collector_init (&c1);
  ibt_collector_init (&c2);
  ibt_collector_init (&c3);
  ibt_collector_init (&c4);
  fail_unless_equals_int (ibt_n_shared_models (), 0);
  h1 = ibt_harness (props, &c1, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  fail_unless_equals_int (ibt_n_shared_models (), 1);
  h2 = ibt_harness (props, &c2, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  fail_unless_equals_int (ibt_n_shared_models (), 1);
  h3 = ibt_harness (fp16, &c3, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  fail_unless_equals_int (ibt_n_shared_models (), 2);
  h4 = ibt_harness (own, &c4, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  fail_unless_equals_int (ibt_n_shared_models (), 2);

  /* both sharers answer, each its own instruction's answer */
  fail_unless_equals_int (gst_harness_push (h1,
                              ibt_frame (GST_VIDEO_FORMAT_RGB, W, H, 0)),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push (h2,
                              ibt_frame (GST_VIDEO_FORMAT_RGB, W, H, 0)),
      GST_FLOW_OK);
  ref =
      ibt_reference (dir, GST_VIDEO_FORMAT_RGB, W, H, ids, 1, "Who?", 5, NULL);
  m = ibt_message (&c1, 0);
  fail_unless_equals_string (gst_structure_get_string (m, "answer"), ref);
  gst_structure_free (m);
  m = ibt_message (&c2, 0);
  fail_unless_equals_string (gst_structure_get_string (m, "answer"), ref);
  gst_structure_free (m);
  g_free (ref);

  gst_harness_teardown (h1);
  fail_unless_equals_int (ibt_n_shared_models (), 2);
  gst_harness_teardown (h2);
  fail_unless_equals_int (ibt_n_shared_models (), 1);
  gst_harness_teardown (h3);
  fail_unless_equals_int (ibt_n_shared_models (), 0);
  gst_harness_teardown (h4);
  ibt_collector_clear (&c1);
  ibt_collector_clear (&c2);
  ibt_collector_clear (&c3);
  ibt_collector_clear (&c4);
  g_free (fp16);
  g_free (own);
  g_free (dir);
}

GST_END_TEST;

/* weight-cache-dir: the first start writes one packed-weights entry in
 * the directory, the second starts from it; both answer as the
 * reference. */
GST_START_TEST (test_weight_cache_dir)
{
  char *dir = ibt_model_dir ("vicuna-tiny");
  char *cache = g_dir_make_tmp ("ib-gst-weight-cache-XXXXXX", NULL);
  char *props = g_strdup_printf ("processing-mode=blocking num-frames=1 "
                                 "interval=0 max-new-tokens=5 "
                                 "instruction=\"Who?\" weight-cache-dir=%s",
      cache);
  int ids[] = { 0 };
  char *ref =
      ibt_reference (dir, GST_VIDEO_FORMAT_RGB, W, H, ids, 1, "Who?", 5, NULL);
  int round;

  for (round = 0; round < 2; round++) {
    IbtCollector c;
    GstHarness *h;
    GstStructure *m;
    GDir *d;
    const char *name;
    guint entries = 0, files = 0;

    ibt_collector_init (&c);
    h = ibt_harness (props, &c, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
    fail_unless_equals_int (gst_harness_push (h,
                                ibt_frame (GST_VIDEO_FORMAT_RGB, W, H, 0)),
        GST_FLOW_OK);
    m = ibt_message (&c, 0);
    fail_unless_equals_string (gst_structure_get_string (m, "answer"), ref);
    gst_structure_free (m);
    gst_harness_teardown (h);
    ibt_collector_clear (&c);
    d = g_dir_open (cache, 0, NULL);
    fail_unless (d != NULL);
    while ((name = g_dir_read_name (d)) != NULL) {
      files++;
      entries += g_str_has_suffix (name, ".ibw") && name[0] != '.';
    }
    g_dir_close (d);
    fail_unless_equals_int (files, 1);
    fail_unless_equals_int (entries, 1);
  }
  {
    char *cmd = g_strdup_printf ("rm -rf '%s'", cache);
    fail_unless (g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL));
    g_free (cmd);
  }
  g_free (ref);
  g_free (props);
  g_free (cache);
  g_free (dir);
}

GST_END_TEST;

/* Async elements on one instance: one worker serves both, in order. */
GST_START_TEST (test_shared_async)
{
  IbtCollector c1, c2;
  GstHarness *h1, *h2;
  int i;

  slow_worker (20);
  ibt_collector_init (&c1);
  ibt_collector_init (&c2);
  h1 = async_harness ("model-instance-id=pair " ASYNC1 " max-pending=10 "
                      "instruction=\"Who?\"",
      &c1);
  h2 = async_harness ("model-instance-id=pair " ASYNC1 " max-pending=10 "
                      "instruction=\"Where?\"",
      &c2);
  for (i = 0; i < 4; i++) {
    push (h1, i);
    push (h2, i);
  }
  /* the second element waits behind the first on the shared worker */
  ibt_wait_stat (h1->element, "pending", 0);
  ibt_wait_stat (h2->element, "pending", 0);
  push (h1, 4);
  push (h2, 4);
  fail_unless_equals_int (ibt_n_messages (&c1), 4);
  fail_unless_equals_int (ibt_n_messages (&c2), 4);
  gst_harness_teardown (h1);
  gst_harness_teardown (h2);
  ibt_collector_clear (&c1);
  ibt_collector_clear (&c2);
}

GST_END_TEST;

/* Four streams on one shared model: their questions are decoded together
 * in batched steps, and each answer is the engine's answer alone. */
GST_START_TEST (test_batched_streams)
{
  static const char *const instructions[] = { "Who?", "Where is the ball?",
    "What moves, and how fast?", "Colour?" };
  const int n = G_N_ELEMENTS (instructions);
  char *dir = ibt_model_dir ("vicuna-tiny");
  IbtCollector c[G_N_ELEMENTS (instructions)];
  GstHarness *h[G_N_ELEMENTS (instructions)];
  int ids[] = { 0 };
  int i;

  /* the worker's threads sleep before each question: all four questions
   * reach the batch together */
  slow_worker (200);
  for (i = 0; i < n; i++) {
    char *props = g_strdup_printf ("processing-mode=async num-frames=1 "
                                   "interval=0 max-new-tokens=6 "
                                   "instruction=\"%s\"",
        instructions[i]);
    ibt_collector_init (&c[i]);
    h[i] = async_harness (props, &c[i]);
    g_free (props);
  }
  for (i = 0; i < n; i++)
    push (h[i], 0);
  /* answered; the next frame carries the answer out */
  for (i = 0; i < n; i++)
    ibt_wait_stat (h[i]->element, "pending", 0);
  for (i = 0; i < n; i++)
    push (h[i], 1);
  fail_unless (ibt_max_batched () >= 2, "at most %d questions per step",
      ibt_max_batched ());
  for (i = 0; i < n; i++) {
    char *ref = ibt_reference (dir, GST_VIDEO_FORMAT_RGB, W, H, ids, 1,
        instructions[i], 6, NULL);
    GstStructure *m = ibt_message (&c[i], 0);
    fail_unless_equals_string (gst_structure_get_string (m, "answer"), ref);
    gst_structure_free (m);
    g_free (ref);
  }
  for (i = 0; i < n; i++) {
    gst_harness_teardown (h[i]);
    ibt_collector_clear (&c[i]);
  }
  g_free (dir);
}

GST_END_TEST;

static Suite *
async_suite (void)
{
  Suite *s = suite_create ("instructblip-async");
  TCase *tc = tcase_create ("async");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_async_never_waits);
  tcase_add_test (tc, test_drop_oldest);
  tcase_add_test (tc, test_drop_newest);
  tcase_add_test (tc, test_flush_async);
  tcase_add_test (tc, test_flush_blocking);
  tcase_add_test (tc, test_eos_async);
  tcase_add_test (tc, test_eos_timeout);
  tcase_add_test (tc, test_shared_instance);
  tcase_add_test (tc, test_shared_async);
  tcase_add_test (tc, test_automatic_sharing);
  tcase_add_test (tc, test_batched_streams);
  tcase_add_test (tc, test_weight_cache_dir);
  return s;
}

GST_CHECK_MAIN (async);
