/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The instructblip element in blocking mode: passthrough, answers equal to
 * the engine's, the four output channels, properties, ask, candidates,
 * errors on the bus, the LATENCY query, state cycles. */
#include "ibtest.h"

#define W 28
#define H 28

/* blocking, a question about every 4 consecutive frames (an interval of 4
 * frame durations): answers ride on frames 3, 7, 11, ... */
#define BLOCKING4                          \
  "processing-mode=blocking num-frames=4 " \
  "interval=133333332 max-new-tokens=8"

static void
push_frames (GstHarness *h, GstVideoFormat format, int w, int hh, int from,
    int to)
{
  int i;

  for (i = from; i < to; i++)
    fail_unless_equals_int (gst_harness_push (h, ibt_frame (format, w, hh, i)),
        GST_FLOW_OK);
}

GST_START_TEST (test_passthrough)
{
  IbtCollector c;
  GstHarness *h;
  GstBuffer *in, *out;
  GstMapInfo a, b;
  GstCaps *caps, *expected;
  int i;

  ibt_collector_init (&c);
  h = ibt_harness (BLOCKING4, &c, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  for (i = 0; i < 16; i++) {
    in = ibt_frame (GST_VIDEO_FORMAT_RGB, W, H, i);
    GST_BUFFER_DTS (in) = i * IBT_FRAME_DUR + 7;
    GST_BUFFER_OFFSET (in) = 100 + i;
    GST_BUFFER_OFFSET_END (in) = 101 + i;
    GST_BUFFER_FLAG_SET (in,
        i == 0 ? GST_BUFFER_FLAG_DISCONT : GST_BUFFER_FLAG_DELTA_UNIT);
    gst_buffer_ref (in);
    fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
    out = gst_harness_pull (h);
    /* in place: the same memory, not a copy */
    fail_unless (
        gst_buffer_peek_memory (out, 0) == gst_buffer_peek_memory (in, 0));
    fail_unless_equals_uint64 (GST_BUFFER_PTS (out), GST_BUFFER_PTS (in));
    fail_unless_equals_uint64 (GST_BUFFER_DTS (out), GST_BUFFER_DTS (in));
    fail_unless_equals_uint64 (GST_BUFFER_DURATION (out),
        GST_BUFFER_DURATION (in));
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET (out), 100 + i);
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET_END (out), 101 + i);
    fail_unless_equals_int (GST_BUFFER_FLAGS (out) &
            ~GST_BUFFER_FLAG_TAG_MEMORY,
        GST_BUFFER_FLAGS (in) & ~GST_BUFFER_FLAG_TAG_MEMORY);
    fail_unless (gst_buffer_map (in, &a, GST_MAP_READ));
    fail_unless (gst_buffer_map (out, &b, GST_MAP_READ));
    fail_unless_equals_int (a.size, b.size);
    fail_unless (memcmp (a.data, b.data, a.size) == 0);
    gst_buffer_unmap (in, &a);
    gst_buffer_unmap (out, &b);
    gst_buffer_unref (in);
    gst_buffer_unref (out);
  }
  /* caps pass through as they are */
  caps = gst_pad_get_current_caps (h->sinkpad);
  expected = ibt_caps (GST_VIDEO_FORMAT_RGB, W, H);
  fail_unless (gst_caps_is_equal (caps, expected));
  gst_caps_unref (caps);
  gst_caps_unref (expected);
  /* 16 frames, 4 questions */
  fail_unless_equals_int (ibt_n_messages (&c), 4);
  gst_harness_teardown (h);
  ibt_collector_clear (&c);
}

GST_END_TEST;

/* The answers of blocking mode equal the engine's for the same frames; the
 * answer rides on the last frame it is about. Questions about @n
 * consecutive frames of @model. */
static void
check_reference (const char *model, int n, GstVideoFormat format, int w, int hh)
{
  const char *instruction = "What colour is the ball?";
  char *dir = ibt_model_dir (model);
  char *props = g_strdup_printf ("processing-mode=blocking num-frames=%d "
                                 "interval=%" G_GUINT64_FORMAT
                                 " max-new-tokens=8 model-path=%s "
                                 "instruction=\"%s\"",
      n, (guint64) n * IBT_FRAME_DUR, dir, instruction);
  IbtCollector c;
  GstHarness *h;
  GstBuffer *out;
  GPtrArray *metas;
  GstStructure *m;
  char *ref;
  guint n_tokens, q = 0;
  int i, k, ids[8];

  ibt_collector_init (&c);
  h = ibt_harness (props, &c, format, w, hh, FALSE);
  for (i = 0; i < 4 * n; i++) {
    fail_unless_equals_int (gst_harness_push (h, ibt_frame (format, w, hh, i)),
        GST_FLOW_OK);
    out = gst_harness_pull (h);
    metas = ibt_metas (out);
    if (i % n != n - 1) {
      fail_unless_equals_int (metas->len, 0);
    } else {
      fail_unless_equals_int (metas->len, 1);
      m = g_ptr_array_index (metas, 0);
      for (k = 0; k < n; k++)
        ids[k] = i - n + 1 + k;
      ref =
          ibt_reference (dir, format, w, hh, ids, n, instruction, 8, &n_tokens);
      GST_INFO ("%s frames %d..%d: %s", model, ids[0], i, ref);
      fail_unless_equals_string (gst_structure_get_string (m, "answer"), ref);
      fail_unless_equals_string (gst_structure_get_string (m, "instruction"),
          instruction);
      fail_unless_equals_uint64 (g_value_get_uint (
                                     gst_structure_get_value (m, "n-tokens")),
          n_tokens);
      fail_unless_equals_uint64 (g_value_get_uint64 (
                                     gst_structure_get_value (m, "first-pts")),
          ids[0] * IBT_FRAME_DUR);
      fail_unless_equals_uint64 (g_value_get_uint64 (
                                     gst_structure_get_value (m, "last-pts")),
          GST_BUFFER_PTS (out));
      g_free (ref);
      q++;
    }
    g_ptr_array_unref (metas);
    gst_buffer_unref (out);
  }
  fail_unless_equals_int (q, 4);
  fail_unless_equals_uint64 (ibt_stat (h->element, "answers"), 4);
  fail_unless_equals_uint64 (ibt_stat (h->element, "frames"), 4 * n);
  fail_unless_equals_uint64 (ibt_stat (h->element, "frames-sampled"), 4 * n);
  gst_harness_teardown (h);
  ibt_collector_clear (&c);
  g_free (dir);
  g_free (props);
}

GST_START_TEST (test_reference_rgb)
{
  check_reference ("vicuna-tiny", 4, GST_VIDEO_FORMAT_RGB, W, H);
}

GST_END_TEST;

GST_START_TEST (test_reference_formats)
{
  /* 4-byte orders go to the engine as they are, YUV through
   * GstVideoConverter; other sizes are resized by the engine */
  check_reference ("vicuna-tiny", 4, GST_VIDEO_FORMAT_BGRx, 40, 30);
  check_reference ("vicuna-tiny", 4, GST_VIDEO_FORMAT_RGBA, W, H);
  check_reference ("vicuna-tiny", 4, GST_VIDEO_FORMAT_I420, 32, 24);
  check_reference ("vicuna-tiny", 4, GST_VIDEO_FORMAT_NV12, 32, 24);
}

GST_END_TEST;

GST_START_TEST (test_reference_models)
{
  /* Flan-T5 on single images, the video checkpoint on 4 frames */
  check_reference ("t5-tiny", 1, GST_VIDEO_FORMAT_RGB, W, H);
  check_reference ("vicuna-tiny-video", 4, GST_VIDEO_FORMAT_RGB, W, H);
}

GST_END_TEST;

/* Sampling follows timestamps, not the caps framerate: frames at 10 fps
 * with 30 fps caps take every frame for a 0.4 s window of 4 samples. */
GST_START_TEST (test_sampling_by_time)
{
  IbtCollector c;
  GstHarness *h;
  GstBuffer *buf;
  GstStructure *m;
  int i;

  ibt_collector_init (&c);
  h = ibt_harness ("processing-mode=blocking num-frames=4 interval=400000000 "
                   "max-new-tokens=2",
      &c, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  for (i = 0; i < 8; i++) {
    buf = ibt_frame (GST_VIDEO_FORMAT_RGB, W, H, i);
    GST_BUFFER_PTS (buf) = i * 100 * GST_MSECOND;
    GST_BUFFER_DURATION (buf) = 100 * GST_MSECOND;
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  }
  fail_unless_equals_int (ibt_n_messages (&c), 2);
  m = ibt_message (&c, 1);
  fail_unless_equals_uint64 (g_value_get_uint64 (
                                 gst_structure_get_value (m, "first-pts")),
      400 * GST_MSECOND);
  fail_unless_equals_uint64 (g_value_get_uint64 (
                                 gst_structure_get_value (m, "last-pts")),
      700 * GST_MSECOND);
  gst_structure_free (m);
  gst_harness_teardown (h);
  ibt_collector_clear (&c);
}

GST_END_TEST;

/* Meta, message, signal and text buffer carry the same answer; the text
 * stream covers the video timeline with buffers and gaps. */
GST_START_TEST (test_four_channels)
{
  IbtCollector c;
  GstHarness *h;
  GstBuffer *out;
  GPtrArray *metas;
  GstStructure *meta, *msg, *sig;
  GstBuffer *text;
  GstMapInfo map;
  GstClockTime pos = 0, ts, dur;
  guint i, n_text = 0;
  gboolean seen_caps = FALSE, seen_segment = FALSE;

  ibt_collector_init (&c);
  h = ibt_harness (BLOCKING4, &c, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  push_frames (h, GST_VIDEO_FORMAT_RGB, W, H, 0, 8);
  fail_unless_equals_int (ibt_n_messages (&c), 2);
  fail_unless_equals_int (c.signals->len, 2);
  fail_unless_equals_int (c.texts->len, 2);
  for (i = 0; i < 8; i++) {
    out = gst_harness_pull (h);
    metas = ibt_metas (out);
    if (metas->len) {
      meta = g_ptr_array_index (metas, 0);
      msg = g_ptr_array_index (c.messages, n_text);
      sig = g_ptr_array_index (c.signals, n_text);
      text = g_ptr_array_index (c.texts, n_text);
      fail_unless (gst_structure_is_equal (msg, sig));
      /* the meta holds the same fields under the meta's name */
      gst_structure_set_name (meta, "instructblip-answer");
      fail_unless (gst_structure_is_equal (meta, msg));
      fail_unless (gst_buffer_map (text, &map, GST_MAP_READ));
      fail_unless_equals_int (map.size,
          strlen (gst_structure_get_string (msg, "answer")));
      fail_unless (memcmp (map.data, gst_structure_get_string (msg, "answer"),
                       map.size) == 0);
      gst_buffer_unmap (text, &map);
      /* the text starts with the frame the answer rides on */
      fail_unless_equals_uint64 (GST_BUFFER_PTS (text), GST_BUFFER_PTS (out));
      n_text++;
    }
    g_ptr_array_unref (metas);
    gst_buffer_unref (out);
  }
  fail_unless_equals_int (n_text, 2);

  /* stream-start, caps, segment, then text and gaps without holes up to
   * the end of the last frame */
  g_mutex_lock (&c.lock);
  for (i = 0; i < c.text_events->len; i++) {
    GstEvent *e = g_ptr_array_index (c.text_events, i);
    if (GST_EVENT_TYPE (e) == GST_EVENT_CAPS)
      seen_caps = TRUE;
    if (GST_EVENT_TYPE (e) == GST_EVENT_SEGMENT)
      seen_segment = TRUE;
  }
  g_mutex_unlock (&c.lock);
  fail_unless (seen_caps && seen_segment);
  /* walk buffers and gaps in arrival order: rebuild from both lists by
   * time, they must tile [0, 8 frames) */
  {
    GArray *spans = g_array_new (FALSE, FALSE, sizeof (GstClockTime) * 2);
    GstClockTime sp[2];
    for (i = 0; i < c.text_events->len; i++) {
      GstEvent *e = g_ptr_array_index (c.text_events, i);
      if (GST_EVENT_TYPE (e) != GST_EVENT_GAP)
        continue;
      gst_event_parse_gap (e, &ts, &dur);
      sp[0] = ts, sp[1] = ts + dur;
      g_array_append_vals (spans, sp, 1);
    }
    for (i = 0; i < c.texts->len; i++) {
      text = g_ptr_array_index (c.texts, i);
      sp[0] = GST_BUFFER_PTS (text);
      sp[1] = sp[0] + GST_BUFFER_DURATION (text);
      g_array_append_vals (spans, sp, 1);
    }
    while (pos < 8 * IBT_FRAME_DUR) {
      gboolean found = FALSE;
      for (i = 0; i < spans->len && !found; i++) {
        GstClockTime *s = &g_array_index (spans, GstClockTime, i * 2);
        if (s[0] == pos) {
          pos = s[1];
          found = TRUE;
        }
      }
      fail_unless (found, "text stream has a hole at %" GST_TIME_FORMAT,
          GST_TIME_ARGS (pos));
    }
    g_array_unref (spans);
  }
  gst_harness_teardown (h);
  ibt_collector_clear (&c);
}

GST_END_TEST;

/* The instruction changes while PLAYING: the next question uses it. */
GST_START_TEST (test_instruction_change)
{
  char *dir = ibt_model_dir ("vicuna-tiny");
  IbtCollector c;
  GstHarness *h;
  GstStructure *m;
  int ids1[] = { 0, 1, 2, 3 }, ids2[] = { 4, 5, 6, 7 };
  char *ref;

  ibt_collector_init (&c);
  h = ibt_harness ("processing-mode=blocking num-frames=4 "
                   "interval=133333332 max-new-tokens=6 instruction=\"Where is "
                   "it?\"",
      &c, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  push_frames (h, GST_VIDEO_FORMAT_RGB, W, H, 0, 4);
  g_object_set (h->element, "instruction", "Is it moving?", NULL);
  push_frames (h, GST_VIDEO_FORMAT_RGB, W, H, 4, 8);
  fail_unless_equals_int (ibt_n_messages (&c), 2);

  m = ibt_message (&c, 0);
  fail_unless_equals_string (gst_structure_get_string (m, "instruction"),
      "Where is it?");
  ref = ibt_reference (dir, GST_VIDEO_FORMAT_RGB, W, H, ids1, 4, "Where is it?",
      6, NULL);
  fail_unless_equals_string (gst_structure_get_string (m, "answer"), ref);
  g_free (ref);
  gst_structure_free (m);

  m = ibt_message (&c, 1);
  fail_unless_equals_string (gst_structure_get_string (m, "instruction"),
      "Is it moving?");
  ref = ibt_reference (dir, GST_VIDEO_FORMAT_RGB, W, H, ids2, 4,
      "Is it moving?", 6, NULL);
  fail_unless_equals_string (gst_structure_get_string (m, "answer"), ref);
  g_free (ref);
  gst_structure_free (m);

  gst_harness_teardown (h);
  ibt_collector_clear (&c);
  g_free (dir);
}

GST_END_TEST;

/* ask: a one-off question about the next frames, with its own id. */
GST_START_TEST (test_ask)
{
  char *dir = ibt_model_dir ("vicuna-tiny");
  IbtCollector c;
  GstHarness *h;
  GstStructure *m;
  guint id = 0, bad = 1;
  gboolean asked;
  int ids[] = { 5 };
  char *ref;

  ibt_collector_init (&c);
  /* the schedule asks about frames 0, 60, ...; ask about frame 5 */
  h = ibt_harness ("processing-mode=blocking num-frames=1 "
                   "interval=2000000000 max-new-tokens=5",
      &c, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  push_frames (h, GST_VIDEO_FORMAT_RGB, W, H, 0, 5);
  g_signal_emit_by_name (h->element, "ask", "What is this?", &id);
  g_signal_emit_by_name (h->element, "ask", "", &bad);
  fail_unless (id > 0);
  fail_unless_equals_int (bad, 0);
  push_frames (h, GST_VIDEO_FORMAT_RGB, W, H, 5, 10);
  fail_unless_equals_int (ibt_n_messages (&c), 2);
  m = ibt_message (&c, 1);
  fail_unless_equals_string (gst_structure_get_string (m, "instruction"),
      "What is this?");
  fail_unless (gst_structure_get_boolean (m, "asked", &asked) && asked);
  fail_unless_equals_int (g_value_get_uint (
                              gst_structure_get_value (m, "request-id")),
      id);
  fail_unless_equals_uint64 (g_value_get_uint64 (
                                 gst_structure_get_value (m, "first-pts")),
      5 * IBT_FRAME_DUR);
  ref = ibt_reference (dir, GST_VIDEO_FORMAT_RGB, W, H, ids, 1, "What is this?",
      5, NULL);
  fail_unless_equals_string (gst_structure_get_string (m, "answer"), ref);
  g_free (ref);
  gst_structure_free (m);
  gst_harness_teardown (h);
  ibt_collector_clear (&c);
  g_free (dir);
}

GST_END_TEST;

/* Frame reuse: an ask about the frames of a scheduled question encodes
 * none of them again, nor does the last frame repeated at EOS; the answers
 * are the engine's on fresh frames. */
GST_START_TEST (test_frame_reuse)
{
  char *dir = ibt_model_dir ("vicuna-tiny");
  IbtCollector c;
  GstHarness *h;
  GstStructure *m;
  gboolean asked;
  guint id = 0, i;
  int ids[] = { 0, 1, 2, 3 };
  /* scheduled 0-3 (all new), asked 0-3 (all reused), EOS 4 5 5 5 */
  const guint want_reused[] = { 0, 4, 2 };
  const gboolean want_asked[] = { FALSE, TRUE, FALSE };
  char *ref;

  ibt_collector_init (&c);
  h = ibt_harness ("processing-mode=blocking num-frames=4 interval=0 "
                   "max-new-tokens=5 instruction=\"What is this?\"",
      &c, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  g_signal_emit_by_name (h->element, "ask", "What is this?", &id);
  fail_unless (id > 0);
  push_frames (h, GST_VIDEO_FORMAT_RGB, W, H, 0, 6);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless_equals_int (ibt_n_messages (&c), 3);
  ref = ibt_reference (dir, GST_VIDEO_FORMAT_RGB, W, H, ids, 4, "What is this?",
      5, NULL);
  for (i = 0; i < 3; i++) {
    m = ibt_message (&c, i);
    fail_unless (gst_structure_get_boolean (m, "asked", &asked));
    fail_unless_equals_int (asked, want_asked[i]);
    fail_unless_equals_int (g_value_get_uint (
                                gst_structure_get_value (m, "n-frames-reused")),
        want_reused[i]);
    if (i < 2)
      fail_unless_equals_string (gst_structure_get_string (m, "answer"), ref);
    gst_structure_free (m);
  }
  g_free (ref);
  gst_harness_teardown (h);
  ibt_collector_clear (&c);
  g_free (dir);
}

GST_END_TEST;

/* candidates: the answer is one of them, n-tokens 0. */
GST_START_TEST (test_candidates)
{
  IbtCollector c;
  GstHarness *h;
  GstStructure *m;
  const char *a;

  ibt_collector_init (&c);
  h = ibt_harness ("processing-mode=blocking num-frames=1 interval=0 "
                   "candidates=\" yes | no |maybe\"",
      &c, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  push_frames (h, GST_VIDEO_FORMAT_RGB, W, H, 0, 3);
  fail_unless_equals_int (ibt_n_messages (&c), 3);
  m = ibt_message (&c, 0);
  a = gst_structure_get_string (m, "answer");
  fail_unless (g_str_equal (a, "yes") || g_str_equal (a, "no") ||
          g_str_equal (a, "maybe"),
      "answer %s", a);
  fail_unless_equals_int (g_value_get_uint (
                              gst_structure_get_value (m, "n-tokens")),
      0);
  gst_structure_free (m);
  gst_harness_teardown (h);
  ibt_collector_clear (&c);
}

GST_END_TEST;

/* EOS: a partial window is asked about (last frame repeated), and its
 * answer still goes out before EOS on messages, signal and text. */
GST_START_TEST (test_eos_partial_window)
{
  IbtCollector c;
  GstHarness *h;
  GstStructure *m;
  GstEvent *e;
  guint i;
  gboolean text_eos = FALSE;

  ibt_collector_init (&c);
  h = ibt_harness (BLOCKING4, &c, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  push_frames (h, GST_VIDEO_FORMAT_RGB, W, H, 0, 6);
  fail_unless_equals_int (ibt_n_messages (&c), 1);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless_equals_int (ibt_n_messages (&c), 2);
  m = ibt_message (&c, 1);
  fail_unless_equals_int (g_value_get_uint (
                              gst_structure_get_value (m, "n-frames")),
      4);
  fail_unless_equals_uint64 (g_value_get_uint64 (
                                 gst_structure_get_value (m, "first-pts")),
      4 * IBT_FRAME_DUR);
  gst_structure_free (m);
  fail_unless_equals_int (c.texts->len, 2);
  g_mutex_lock (&c.lock);
  for (i = 0; i < c.text_events->len; i++) {
    e = g_ptr_array_index (c.text_events, i);
    text_eos |= GST_EVENT_TYPE (e) == GST_EVENT_EOS;
  }
  g_mutex_unlock (&c.lock);
  fail_unless (text_eos);
  /* the video EOS follows */
  while ((e = gst_harness_try_pull_event (h))) {
    text_eos = GST_EVENT_TYPE (e) == GST_EVENT_EOS;
    gst_event_unref (e);
  }
  fail_unless (text_eos);
  gst_harness_teardown (h);
  ibt_collector_clear (&c);
}

GST_END_TEST;

/* Blocking mode on a live source: the LATENCY answer includes the slowest
 * answer seen, and a LATENCY message asks the pipeline to query again. */
GST_START_TEST (test_latency_query)
{
  IbtCollector c;
  GstHarness *h;
  GstQuery *q;
  GstPad *src;
  GstMessage *msg;
  GstClockTime min, max, worst;
  gboolean live;

  ibt_collector_init (&c);
  h = ibt_harness ("processing-mode=blocking num-frames=1 interval=0 "
                   "max-new-tokens=4",
      &c, GST_VIDEO_FORMAT_RGB, W, H, TRUE);
  gst_harness_set_upstream_latency (h, 10 * GST_MSECOND);
  push_frames (h, GST_VIDEO_FORMAT_RGB, W, H, 0, 2);
  worst = ibt_stat (h->element, "latency-max");
  fail_unless (worst > 0);
  msg = ibt_find_message (&c, GST_MESSAGE_LATENCY);
  fail_unless (msg != NULL);
  gst_message_unref (msg);

  src = gst_element_get_static_pad (h->element, "src");
  q = gst_query_new_latency ();
  fail_unless (gst_pad_query (src, q));
  gst_query_parse_latency (q, &live, &min, &max);
  fail_unless (live);
  fail_unless_equals_uint64 (min, 10 * GST_MSECOND + worst);
  gst_query_unref (q);
  gst_object_unref (src);
  gst_harness_teardown (h);
  ibt_collector_clear (&c);
}

GST_END_TEST;

/* auto is blocking for a non-live source and async for a live one. */
GST_START_TEST (test_auto_mode)
{
  GstHarness *h;
  gboolean live;

  for (live = FALSE; live <= TRUE; live++) {
    h = ibt_harness ("num-frames=1", NULL, GST_VIDEO_FORMAT_RGB, W, H, live);
    push_frames (h, GST_VIDEO_FORMAT_RGB, W, H, 0, 1);
    fail_unless_equals_int (ibt_stat (h->element, "async"), live);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

static void
restart_stream (GstHarness *h)
{
  GstCaps *caps = ibt_caps (GST_VIDEO_FORMAT_RGB, W, H);
  GstSegment seg;

  gst_segment_init (&seg, GST_FORMAT_TIME);
  fail_unless (
      gst_harness_push_event (h, gst_event_new_stream_start ("cycle")));
  fail_unless (gst_harness_push_event (h, gst_event_new_caps (caps)));
  gst_caps_unref (caps);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
}

/* NULL <-> PLAYING many times: nothing leaks (GST_TRACERS=leaks checks
 * GStreamer objects at exit, valgrind the rest), answers keep coming. */
GST_START_TEST (test_state_cycles)
{
  IbtCollector c;
  GstHarness *h;
  int i;

  ibt_collector_init (&c);
  h = ibt_harness ("processing-mode=blocking num-frames=1 interval=0 "
                   "max-new-tokens=2",
      &c, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  for (i = 0; i < 10; i++) {
    push_frames (h, GST_VIDEO_FORMAT_RGB, W, H, 0, 2);
    fail_unless_equals_int (gst_element_set_state (h->element, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
    fail_unless_equals_int (gst_element_set_state (h->element,
                                GST_STATE_PLAYING),
        GST_STATE_CHANGE_SUCCESS);
    restart_stream (h);
  }
  fail_unless_equals_int (ibt_n_messages (&c), 20);
  gst_harness_teardown (h);
  ibt_collector_clear (&c);
}

GST_END_TEST;

static Suite *
instructblip_suite (void)
{
  Suite *s = suite_create ("instructblip");
  TCase *tc = tcase_create ("blocking");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_passthrough);
  tcase_add_test (tc, test_reference_rgb);
  tcase_add_test (tc, test_reference_formats);
  tcase_add_test (tc, test_reference_models);
  tcase_add_test (tc, test_sampling_by_time);
  tcase_add_test (tc, test_four_channels);
  tcase_add_test (tc, test_instruction_change);
  tcase_add_test (tc, test_ask);
  tcase_add_test (tc, test_frame_reuse);
  tcase_add_test (tc, test_candidates);
  tcase_add_test (tc, test_eos_partial_window);
  tcase_add_test (tc, test_latency_query);
  tcase_add_test (tc, test_auto_mode);
  tcase_add_test (tc, test_state_cycles);
  return s;
}

GST_CHECK_MAIN (instructblip);
