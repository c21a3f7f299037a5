/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* instructblippublish without a network broker: passthrough, JSON lines
 * checked field by field (synthetic answers, and the answers of a real
 * instructblip element), file rotation, clean errors for bad settings,
 * and Kafka against an unreachable broker and librdkafka's mock cluster. */
#include "ibtest.h"
#include "pubtest.h"

#include <glib/gstdio.h>
#include <string.h>
#if IBT_HAVE_RDKAFKA
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif

static char *tmpdir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

/* Unchecked fixtures: in the parent process, around all tests. */
static void
make_tmpdir (void)
{
  tmpdir = g_dir_make_tmp ("ibpublish-XXXXXX", NULL);
  fail_unless (tmpdir != NULL);
}

static void
remove_tmpdir (void)
{
  GDir *d = g_dir_open (tmpdir, 0, NULL);
  const char *n;

  while (d && (n = g_dir_read_name (d))) {
    char *p = g_build_filename (tmpdir, n, NULL);
    g_unlink (p);
    g_free (p);
  }
  if (d)
    g_dir_close (d);
  g_rmdir (tmpdir);
  g_clear_pointer (&tmpdir, g_free);
}

/* Video passes untouched (the same buffers, metas included); every
 * answer on them becomes one JSON line with its fields, its running times
 * (segment start 10 s, base 3 s) and its UTC times (pipeline clock at 100 s
 * when published). */
GST_START_TEST (test_file_fields)
{
  char *path = tmp_path ("fields.jsonl");
  char *props = g_strdup_printf ("name=pub method=file file-path=%s "
                                 "source-id=cam-7 fsync-interval=0",
      path);
  GstHarness *h = pubt_harness (props);
  GstStructure *a[4];
  GstBuffer *in, *out;
  GstSegment seg;
  GPtrArray *lines;
  const GstClockTime now = 100 * GST_SECOND;
  guint i;

  a[0] = pubt_answer (1, "What is here?", "a \"red\" car\nparked",
      12 * GST_SECOND, 13 * GST_SECOND, 250 * GST_MSECOND);
  a[1] = pubt_answer (2, "Où est le chat ?", "sur le toit ✓", 14 * GST_SECOND,
      14 * GST_SECOND, 3 * GST_SECOND);
  a[2] = pubt_answer (3, "Anyone?", "no", 15 * GST_SECOND, 16 * GST_SECOND,
      GST_MSECOND);
  a[3] = pubt_answer (4, "Anyone?", "", 17 * GST_SECOND, 17 * GST_SECOND, 0);

  gst_segment_init (&seg, GST_FORMAT_TIME);
  seg.start = seg.time = 10 * GST_SECOND;
  seg.base = 3 * GST_SECOND;
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  gst_harness_set_time (h, now);

  in = pubt_buffer (13 * GST_SECOND, a[0], NULL);
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (in)),
      GST_FLOW_OK);
  out = gst_harness_pull (h);
  fail_unless (out == in, "the buffer passes through untouched");
  gst_buffer_unref (out);
  gst_buffer_unref (in);
  fail_unless_equals_int (gst_harness_push (h,
                              pubt_buffer (14 * GST_SECOND, NULL)),
      GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (h));
  in = pubt_buffer (17 * GST_SECOND, a[1], a[2], a[3], NULL);
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (in)),
      GST_FLOW_OK);
  out = gst_harness_pull (h);
  fail_unless (out == in);
  fail_unless_equals_int (gst_buffer_get_n_meta (out,
                              gst_meta_get_info ("InstructBlipAnswerMeta")
                                  ->api),
      3);
  gst_buffer_unref (out);
  gst_buffer_unref (in);

  pubt_wait_stat (h->element, "delivered", 4, 20);
  gst_harness_teardown (h);

  lines = pubt_read_lines (path);
  fail_unless_equals_int (lines->len, 4);
  for (i = 0; i < 4; i++) {
    JsonObject *o = g_ptr_array_index (lines, i);
    guint64 fpts, lpts;
    gint64 published;

    pubt_check_fields (o, a[i]);
    fail_unless_equals_string (json_object_get_string_member (o, "source-id"),
        "cam-7");
    fail_unless_equals_string (json_object_get_string_member (o, "publisher"),
        "pub");
    fail_unless_equals_string (json_object_get_string_member (o, "channel"),
        "meta");
    /* no pipeline, no instructblip upstream */
    fail_unless (json_object_get_null_member (o, "pipeline"));
    fail_unless (json_object_get_null_member (o, "element"));
    fail_unless_equals_int64 (pubt_int (o, "seq"), i + 1);
    gst_structure_get_uint64 (a[i], "first-pts", &fpts);
    gst_structure_get_uint64 (a[i], "last-pts", &lpts);
    /* running time = pts - start + base */
    fail_unless_equals_int64 (pubt_int (o, "first-running-time"),
        (gint64) (fpts - 10 * GST_SECOND + 3 * GST_SECOND));
    fail_unless_equals_int64 (pubt_int (o, "last-running-time"),
        (gint64) (lpts - 7 * GST_SECOND));
    /* clock time = base time (0) + running time; the clock read 100 s
     * when the answer was published */
    published = pubt_utc_us (o, "published-utc");
    fail_unless (
        ABS (pubt_utc_us (o, "first-utc") -
            (published - (gint64) (now - (fpts - 7 * GST_SECOND)) / 1000)) <
        100 * 1000);
    fail_unless (
        ABS (pubt_utc_us (o, "last-utc") -
            (published - (gint64) (now - (lpts - 7 * GST_SECOND)) / 1000)) <
        100 * 1000);
  }
  g_ptr_array_unref (lines);
  for (i = 0; i < 4; i++)
    gst_structure_free (a[i]);
  g_free (props);
  g_free (path);
}

GST_END_TEST;

/* Rotation keeps max-files old files besides file-path, none over
 * max-file-size, and the newest lines in order without gaps. */
GST_START_TEST (test_file_rotation)
{
  char *path = tmp_path ("rot.jsonl");
  char *props = g_strdup_printf ("method=file file-path=%s "
                                 "max-file-size=1500 max-files=2",
      path);
  GstHarness *h = pubt_harness (props);
  const char *order[] = { ".2", ".1", "" };
  gint64 seq = 0, first_seq = -1;
  guint i, j;

  pubt_push_answers (h, 1, 40);
  pubt_wait_stat (h->element, "delivered", 40, 20);
  gst_harness_teardown (h);

  for (i = 0; i < G_N_ELEMENTS (order); i++) {
    char *p = g_strconcat (path, order[i], NULL);
    GStatBuf st;
    GPtrArray *lines;

    fail_unless (g_stat (p, &st) == 0, "%s exists", p);
    fail_unless (st.st_size <= 1500 && st.st_size > 0, "%s: %d bytes", p,
        (int) st.st_size);
    lines = pubt_read_lines (p);
    /* rotated files are full: another line would not fit */
    fail_unless (lines->len >= (*order[i] ? 2u : 1u));
    for (j = 0; j < lines->len; j++) {
      gint64 s = pubt_int (g_ptr_array_index (lines, j), "seq");
      if (first_seq < 0)
        first_seq = s;
      else
        fail_unless_equals_int64 (s, seq + 1);
      seq = s;
    }
    g_ptr_array_unref (lines);
    g_free (p);
  }
  fail_unless_equals_int64 (seq, 40);
  fail_unless (first_seq > 1, "old lines were rotated away");
  {
    char *p = g_strconcat (path, ".3", NULL);
    fail_if (g_file_test (p, G_FILE_TEST_EXISTS), "max-files=2 keeps two");
    g_free (p);
  }
  g_free (props);
  g_free (path);
}

GST_END_TEST;

static void
on_answer (G_GNUC_UNUSED GstElement *e, G_GNUC_UNUSED const char *instruction,
    G_GNUC_UNUSED const char *answer, const GstStructure *info, GPtrArray *a)
{
  g_ptr_array_add (a, gst_structure_copy (info));
}

/* The answer @o names, from the element's answers. */
static const GstStructure *
find_answer (GPtrArray *answers, JsonObject *o)
{
  guint j, id;

  for (j = 0; j < answers->len; j++) {
    gst_structure_get_uint (g_ptr_array_index (answers, j), "request-id", &id);
    if (id == pubt_int (o, "request-id"))
      return g_ptr_array_index (answers, j);
  }
  fail ("no answer %d", (int) pubt_int (o, "request-id"));
  return NULL;
}

/* Real instructblip elements upstream (ib1, through a queue; with
 * @two_streams also ib2 on a stream of its own that the publisher does not
 * see). The file holds exactly the answers the elements handed out (with
 * from-bus: those of both elements, those at EOS too, each once), named
 * after the element and the pipeline; without from-bus, ib1's answers that
 * rode on buffers. */
static void
run_real_pipeline (gboolean from_bus, gboolean two_streams)
{
  char *path = tmp_path (two_streams ? "real-two.jsonl" :
          from_bus                   ? "real-bus.jsonl" :
                                       "real-meta.jsonl");
  char *dir = ibt_model_dir ("vicuna-tiny");
  char *ib =
      g_strdup_printf ("video/x-raw,format=RGB,width=28,height=28,"
                       "framerate=30/1 ! instructblip model-path=%s "
                       "model-instance-id=m "
                       "num-frames=1 interval=300000000 max-new-tokens=3 "
                       "processing-mode=blocking",
          dir);
  char *desc = g_strdup_printf ("videotestsrc num-buffers=40 ! %s name=ib1 ! "
                                "queue ! instructblippublish name=pub "
                                "method=file file-path=%s "
                                "from-bus=%d ! fakesink %s%s%s",
      ib, path, from_bus,
      two_streams ? "videotestsrc num-buffers=30 "
                    "pattern=ball ! " :
                    "",
      two_streams ? ib : "", two_streams ? " name=ib2 ! fakesink" : "");
  GstElement *pipe = gst_parse_launch (desc, NULL), *ib1, *ib2 = NULL, *pub;
  GPtrArray *answers1 =
      g_ptr_array_new_with_free_func ((GDestroyNotify) gst_structure_free);
  GPtrArray *answers2 =
      g_ptr_array_new_with_free_func ((GDestroyNotify) gst_structure_free);
  GPtrArray *lines;
  GstMessage *msg;
  guint i, n_utc = 0, n1 = 0, n2 = 0;
  guint elem_utc[2] = { 0, 0 }; /* ib1, ib2: answers with UTC so far */

  fail_unless (pipe != NULL, "%s", desc);
  gst_element_set_name (pipe, "site");
  ib1 = gst_bin_get_by_name (GST_BIN (pipe), "ib1");
  pub = gst_bin_get_by_name (GST_BIN (pipe), "pub");
  g_signal_connect (ib1, "answer", G_CALLBACK (on_answer), answers1);
  if (two_streams) {
    ib2 = gst_bin_get_by_name (GST_BIN (pipe), "ib2");
    g_signal_connect (ib2, "answer", G_CALLBACK (on_answer), answers2);
  }
  fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipe), 120 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_element_set_state (pipe, GST_STATE_NULL);
  pubt_check_accounted (pub);

  lines = pubt_read_lines (path);
  fail_unless_equals_uint64 (pubt_stat (pub, "delivered"), lines->len);
  for (i = 0; i < lines->len; i++) {
    JsonObject *o = g_ptr_array_index (lines, i);
    const char *element = json_object_get_string_member (o, "element");
    const GstStructure *a;
    guint64 fpts;

    if (g_strcmp0 (element, "ib1") == 0) {
      a = find_answer (answers1, o);
      n1++;
    } else {
      fail_unless (two_streams && g_strcmp0 (element, "ib2") == 0, "%s",
          element);
      a = find_answer (answers2, o);
      n2++;
    }
    pubt_check_fields (o, a);
    fail_unless_equals_string (json_object_get_string_member (o, "pipeline"),
        "site");
    fail_unless_equals_string (json_object_get_string_member (o, "channel"),
        from_bus ? "bus" : "meta");
    /* videotestsrc's segment starts at 0: running time = pts */
    gst_structure_get_uint64 (a, "first-pts", &fpts);
    fail_unless_equals_int64 (pubt_int (o, "first-running-time"),
        (gint64) fpts);
    /* UTC once PLAYING (answers during preroll have none): each
     * element's answers without one come first (how many depends on the
     * machine's speed; the two elements' answers interleave in the file
     * as their questions finish, so the order holds per element) */
    if (!json_object_get_null_member (o, "first-utc")) {
      pubt_utc_us (o, "first-utc");
      n_utc++;
      elem_utc[element[2] == '2']++;
    } else {
      fail_unless (elem_utc[element[2] == '2'] == 0,
          "an answer of %s without UTC after one with it", element);
    }
  }
  fail_unless (answers1->len >= 4, "%u answers", answers1->len);
  if (from_bus) {
    /* request ids are distinct per element: each answer once */
    fail_unless_equals_int (n1, answers1->len);
    fail_unless_equals_int (n2, answers2->len);
  } else {
    fail_unless (n1 >= 3 && n1 <= answers1->len);
  }
  fail_unless (n_utc >= 1, "no answer carries UTC");
  g_ptr_array_unref (lines);
  g_ptr_array_unref (answers1);
  g_ptr_array_unref (answers2);
  gst_object_unref (ib1);
  if (ib2)
    gst_object_unref (ib2);
  gst_object_unref (pub);
  gst_object_unref (pipe);
  g_free (desc);
  g_free (ib);
  g_free (dir);
  g_free (path);
}

GST_START_TEST (test_real_answers_from_bus)
{
  run_real_pipeline (TRUE, FALSE);
}

GST_END_TEST;

GST_START_TEST (test_real_answers_from_meta)
{
  run_real_pipeline (FALSE, FALSE);
}

GST_END_TEST;

/* One publisher with from-bus serves two streams. */
GST_START_TEST (test_real_answers_two_streams)
{
  run_real_pipeline (TRUE, TRUE);
}

GST_END_TEST;

/* Start and stop back to back, many times: the sender thread never sees
 * a half-stopped element (it once read the outbox after stop cleared it). */
GST_START_TEST (test_start_stop_cycles)
{
  char *path = tmp_path ("cycles.jsonl");
  char *props = g_strdup_printf ("method=file file-path=%s", path);
  GstHarness *h;
  guint i;

  for (i = 0; i < 100; i++) {
    h = pubt_harness (props);
    if (i % 2)
      pubt_push_answers (h, 1, 1);
    gst_harness_teardown (h);
  }
  g_free (props);
  g_free (path);
}

GST_END_TEST;

/* Bad settings fail the start with a RESOURCE error naming what to fix;
 * nothing hangs. */
static void
expect_error (const char *props, GstResourceError code, const char *text)
{
  char *desc = g_strdup_printf ("fakesrc num-buffers=1 ! instructblippublish "
                                "%s ! fakesink",
      props);
  GstElement *pipe = gst_parse_launch (desc, NULL);
  GstMessage *msg;
  GError *err = NULL;

  fail_unless (pipe != NULL, "%s", desc);
  fail_unless_equals_int (gst_element_set_state (pipe, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (GST_ELEMENT_BUS (pipe), GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "%s: no error message", props);
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (err->domain == GST_RESOURCE_ERROR && err->code == (int) code,
      "%s: %s (code %d)", props, err->message, err->code);
  fail_unless (strstr (err->message, text) != NULL, "%s: \"%s\" lacks \"%s\"",
      props, err->message, text);
  g_error_free (err);
  gst_message_unref (msg);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (pipe);
  g_free (desc);
}

GST_START_TEST (test_bad_settings)
{
  const GstResourceError S = GST_RESOURCE_ERROR_SETTINGS;

  expect_error ("method=file", S, "file-path");
  expect_error ("method=file file-path=/nonexistent-dir/a.jsonl",
      GST_RESOURCE_ERROR_OPEN_WRITE, "file-path");
#if IBT_HAVE_MOSQUITTO
  expect_error ("method=mqtt", S, "address");
  expect_error ("method=mqtt address=127.0.0.1:0", S, "address");
  expect_error ("method=mqtt address=127.0.0.1:65536", S, "address");
  expect_error ("method=mqtt address=127.0.0.1:mqtt", S, "address");
  expect_error ("method=mqtt address=:1883", S, "address");
  expect_error ("method=mqtt address=::1:1883", S, "address");
  expect_error ("method=mqtt address=no-such-host.invalid:1883", S,
      "no-such-host.invalid");
  expect_error ("method=mqtt address=127.0.0.1:1883 topic=a/+/b", S, "topic");
  expect_error ("method=mqtt address=127.0.0.1:1883 "
                "tls-ca-file=/nonexistent/ca.pem",
      S, "tls-ca-file");
  expect_error ("method=mqtt address=127.0.0.1:1883 "
                "tls-cert-file=/etc/hostname",
      S, "tls-ca-file");
#else
  /* a build without libmosquitto refuses the method */
  expect_error ("method=mqtt address=127.0.0.1:1883", S, "libmosquitto");
#endif
#if IBT_HAVE_RDKAFKA
  expect_error ("method=kafka", S, "address");
  expect_error ("method=kafka address=127.0.0.1:9092,no-such-host.invalid:9092",
      S, "no-such-host.invalid");
  expect_error ("method=kafka address=127.0.0.1:9092,127.0.0.1:x", S,
      "address");
  expect_error ("method=kafka address=127.0.0.1:9092 topic=a/b", S, "topic");
#else
  expect_error ("method=kafka address=127.0.0.1:9092", S, "librdkafka");
#endif
}

GST_END_TEST;

#if IBT_HAVE_RDKAFKA

static guint16
closed_port (void)
{
  GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, NULL);
  GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocketAddress *a = g_inet_socket_address_new (lo, 0), *bound;
  guint16 port;

  fail_unless (g_socket_bind (s, a, TRUE, NULL));
  bound = g_socket_get_local_address (s, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_object_unref (bound);
  g_object_unref (a);
  g_object_unref (lo);
  g_object_unref (s); /* closed: nothing listens there */
  return port;
}

/* No broker: every push returns at once, the outbox holds max-queue
 * messages (librdkafka as many more), the rest is counted as dropped;
 * stop purges the undelivered ones as failed within flush-timeout. */
GST_START_TEST (test_kafka_unreachable)
{
  char *props =
      g_strdup_printf ("method=kafka address=127.0.0.1:%u "
                       "topic=answers max-queue=5 drop-policy=drop-newest "
                       "flush-timeout=300000000",
          closed_port ());
  GstHarness *h = pubt_harness (props);
  GstElement *e = gst_object_ref (h->element);

  pubt_push_answers (h, 1, 200);
  fail_unless_equals_uint64 (pubt_stat (e, "answers"), 200);
  fail_unless (pubt_stat (e, "queued") <= 5);
  fail_unless (pubt_stat (e, "in-flight") <= 5);
  fail_unless (pubt_stat (e, "dropped") >= 190);
  fail_unless_equals_uint64 (pubt_stat (e, "delivered"), 0);
  gst_harness_teardown (h);
  pubt_check_accounted (e);
  fail_unless_equals_uint64 (pubt_stat (e, "delivered"), 0);
  fail_unless (pubt_stat (e, "failed") >= 1);
  fail_unless_equals_uint64 (pubt_stat (e, "connected"), FALSE);
  gst_object_unref (e);
  g_free (props);
}

GST_END_TEST;

/* librdkafka's mock cluster (an in-process broker, not a real Kafka): the
 * records arrive with key = source-id and the JSON of each answer; a
 * broker down for a while loses nothing. */
GST_START_TEST (test_kafka_mock_cluster)
{
  char errstr[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new ();
  rd_kafka_t *owner, *consumer;
  rd_kafka_mock_cluster_t *mc;
  rd_kafka_topic_partition_list_t *topics;
  GstHarness *h;
  GstElement *e;
  char *props;
  guint got = 0;
  gint64 end;
  gboolean seen[16] = { FALSE };

  owner = rd_kafka_new (RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  fail_unless (owner != NULL, "%s", errstr);
  mc = rd_kafka_mock_cluster_new (owner, 1);
  fail_unless (mc != NULL);
  fail_unless_equals_int (rd_kafka_mock_topic_create (mc, "answers", 1, 1), 0);
  props = g_strdup_printf ("method=kafka address=%s topic=answers "
                           "source-id=cam-3 max-reconnect-delay=200000000",
      rd_kafka_mock_cluster_bootstraps (mc));
  h = pubt_harness (props);
  e = gst_object_ref (h->element);

  pubt_push_answers (h, 1, 10);
  pubt_wait_stat (e, "delivered", 10, 30);
  fail_unless_equals_uint64 (pubt_stat (e, "connected"), TRUE);
  /* the broker goes away and comes back: the records wait, then go */
  rd_kafka_mock_broker_set_down (mc, 1);
  pubt_push_answers (h, 11, 5);
  g_usleep (500 * 1000);
  rd_kafka_mock_broker_set_up (mc, 1);
  pubt_wait_stat (e, "delivered", 15, 60);
  gst_harness_teardown (h);
  pubt_check_accounted (e);
  fail_unless_equals_uint64 (pubt_stat (e, "dropped"), 0);
  fail_unless_equals_uint64 (pubt_stat (e, "failed"), 0);

  conf = rd_kafka_conf_new ();
  fail_unless (rd_kafka_conf_set (conf, "bootstrap.servers",
                   rd_kafka_mock_cluster_bootstraps (mc), errstr,
                   sizeof errstr) == RD_KAFKA_CONF_OK);
  rd_kafka_conf_set (conf, "group.id", "ibt", errstr, sizeof errstr);
  rd_kafka_conf_set (conf, "auto.offset.reset", "earliest", errstr,
      sizeof errstr);
  consumer = rd_kafka_new (RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  fail_unless (consumer != NULL, "%s", errstr);
  topics = rd_kafka_topic_partition_list_new (1);
  rd_kafka_topic_partition_list_add (topics, "answers", RD_KAFKA_PARTITION_UA);
  fail_unless_equals_int (rd_kafka_subscribe (consumer, topics), 0);
  rd_kafka_topic_partition_list_destroy (topics);
  end = g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND;
  while (got < 15 && g_get_monotonic_time () < end) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll (consumer, 200);
    JsonObject *o;
    gint64 id;

    if (m == NULL)
      continue;
    if (m->err == 0) {
      fail_unless_equals_int ((int) m->key_len, 5);
      fail_unless (memcmp (m->key, "cam-3", 5) == 0);
      o = pubt_parse (m->payload, m->len);
      fail_unless_equals_string (json_object_get_string_member (o, "source-id"),
          "cam-3");
      id = pubt_int (o, "request-id");
      fail_unless (id >= 1 && id <= 15);
      fail_unless_equals_string (json_object_get_string_member (o, "answer"),
          "a cat");
      if (!seen[id])
        got++;
      seen[id] = TRUE;
      json_object_unref (o);
    }
    rd_kafka_message_destroy (m);
  }
  fail_unless_equals_int (got, 15);
  rd_kafka_consumer_close (consumer);
  rd_kafka_destroy (consumer);
  rd_kafka_mock_cluster_destroy (mc);
  rd_kafka_destroy (owner);
  gst_object_unref (e);
  g_free (props);
}

GST_END_TEST;

#endif

static Suite *
publish_suite (void)
{
  Suite *s = suite_create ("instructblippublish");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_unchecked_fixture (tc, make_tmpdir, remove_tmpdir);
  tcase_add_test (tc, test_file_fields);
  tcase_add_test (tc, test_file_rotation);
  tcase_add_test (tc, test_real_answers_from_bus);
  tcase_add_test (tc, test_real_answers_from_meta);
  tcase_add_test (tc, test_real_answers_two_streams);
  tcase_add_test (tc, test_start_stop_cycles);
  tcase_add_test (tc, test_bad_settings);
#if IBT_HAVE_RDKAFKA
  tcase_add_test (tc, test_kafka_unreachable);
  tcase_add_test (tc, test_kafka_mock_cluster);
#endif
  return s;
}

GST_CHECK_MAIN (publish);
