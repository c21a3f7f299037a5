/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* instructblippublish method=mqtt against a real mosquitto broker that the
 * test starts on a free loopback port: messages checked through a
 * libmosquitto subscriber, a broker restart mid-stream (reconnection,
 * nothing lost, counters), and a broker that accepts TCP but never answers
 * (the outbox fills, drops are counted, pushes never wait, stop is
 * bounded). Skipped (77) only when the mosquitto binary is missing. */
#include "pubtest.h"

#include <glib/gstdio.h>
#include <mosquitto.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#define TOPIC "site/answers"

typedef struct
{
  GPid pid;
  guint16 port;
  guint16 tls_port; /* with a TLS listener (client certificates required) */
  gboolean tls;
  char *dir;
} Broker;

static char *broker_bin;

static guint16
free_port (void)
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
  g_object_unref (s);
  return port;
}

static gboolean
port_open (guint16 port)
{
  GSocketClient *c = g_socket_client_new ();
  GSocketConnection *conn =
      g_socket_client_connect_to_host (c, "127.0.0.1", port, NULL, NULL);
  gboolean ok = conn != NULL;

  if (conn)
    g_object_unref (conn);
  g_object_unref (c);
  return ok;
}

/* (Re)starts the broker on b->port; persistence keeps the subscriber's
 * session and its queued messages across a restart. */
/* (Re)starts the broker on b->port (and b->tls_port); persistence keeps
 * the subscriber's session and its queued messages across a restart. */
static void
broker_start (Broker *b)
{
  char *conf, *text, *tls = NULL, *argv[4];
  gint64 end;
  GError *err = NULL;

  if (b->dir == NULL) {
    b->dir = g_dir_make_tmp ("ibmqtt-XXXXXX", NULL);
    b->port = free_port ();
    /* two calls may return the same just-freed port: a broker with two
     * listeners on one port does not start */
    while (b->tls && (b->tls_port == 0 || b->tls_port == b->port))
      b->tls_port = free_port ();
  }
  if (b->tls)
    tls = g_strdup_printf ("listener %u 127.0.0.1\n"
                           "cafile %s/ca.pem\n"
                           "certfile %s/server.pem\n"
                           "keyfile %s/server.key\n"
                           "require_certificate true\n",
        b->tls_port, IBT_TLS_DIR, IBT_TLS_DIR, IBT_TLS_DIR);
  conf = g_build_filename (b->dir, "mosquitto.conf", NULL);
  /* user: a broker started as root would switch to the user mosquitto,
   * who cannot write our temporary directory */
  text = g_strdup_printf ("listener %u 127.0.0.1\n"
                          "allow_anonymous true\n"
                          "persistence true\n"
                          "persistence_location %s/\n"
                          "log_dest none\n"
                          "user %s\n%s",
      b->port, b->dir, g_get_user_name (), tls ? tls : "");
  fail_unless (g_file_set_contents (conf, text, -1, NULL));
  argv[0] = broker_bin;
  argv[1] = (char *) "-c";
  argv[2] = conf;
  argv[3] = NULL;
  fail_unless (g_spawn_async (NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                   NULL, &b->pid, &err),
      "%s", err ? err->message : "");
  end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  while (!port_open (b->port) || (b->tls && !port_open (b->tls_port))) {
    fail_unless (g_get_monotonic_time () < end, "broker did not start");
    g_usleep (20 * 1000);
  }
  g_free (tls);
  g_free (text);
  g_free (conf);
}

static void
broker_stop (Broker *b)
{
  int status;

  kill (b->pid, SIGTERM);
  waitpid (b->pid, &status, 0);
  g_spawn_close_pid (b->pid);
  b->pid = 0;
}

static void
broker_clear (Broker *b)
{
  if (b->pid)
    broker_stop (b);
  /* the persistence file and config */
  if (b->dir) {
    GDir *d = g_dir_open (b->dir, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name (d))) {
      char *p = g_build_filename (b->dir, n, NULL);
      g_unlink (p);
      g_free (p);
    }
    if (d)
      g_dir_close (d);
    g_rmdir (b->dir);
  }
  g_free (b->dir);
}

/* A subscriber on TOPIC (QoS 1, persistent session). */
typedef struct
{
  struct mosquitto *mosq;
  GAsyncQueue *messages; /* JsonObject * */
} Sub;

static void
sub_on_connect (struct mosquitto *mosq, G_GNUC_UNUSED void *data, int rc)
{
  if (rc == 0)
    mosquitto_subscribe (mosq, NULL, TOPIC, 1);
}

static void
sub_on_message (G_GNUC_UNUSED struct mosquitto *mosq, void *data,
    const struct mosquitto_message *m)
{
  Sub *s = data;

  g_async_queue_push (s->messages, pubt_parse (m->payload, m->payloadlen));
}

static gboolean subscribed;

static void
sub_on_subscribe (G_GNUC_UNUSED struct mosquitto *mosq,
    G_GNUC_UNUSED void *data, G_GNUC_UNUSED int mid,
    G_GNUC_UNUSED int qos_count, G_GNUC_UNUSED const int *granted)
{
  g_atomic_int_set (&subscribed, TRUE);
}

static void
sub_start (Sub *s, Broker *b)
{
  gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  s->messages = g_async_queue_new_full ((GDestroyNotify) json_object_unref);
  g_atomic_int_set (&subscribed, FALSE);
  s->mosq = mosquitto_new ("ibt-sub", FALSE, s);
  mosquitto_connect_callback_set (s->mosq, sub_on_connect);
  mosquitto_message_callback_set (s->mosq, sub_on_message);
  mosquitto_subscribe_callback_set (s->mosq, sub_on_subscribe);
  mosquitto_reconnect_delay_set (s->mosq, 1, 1, FALSE);
  fail_unless_equals_int (mosquitto_connect (s->mosq, "127.0.0.1", b->port, 10),
      MOSQ_ERR_SUCCESS);
  fail_unless_equals_int (mosquitto_loop_start (s->mosq), MOSQ_ERR_SUCCESS);
  while (!g_atomic_int_get (&subscribed)) {
    fail_unless (g_get_monotonic_time () < end, "no SUBACK");
    g_usleep (10 * 1000);
  }
}

static void
sub_stop (Sub *s)
{
  mosquitto_disconnect (s->mosq);
  mosquitto_loop_stop (s->mosq, FALSE);
  mosquitto_destroy (s->mosq);
  g_async_queue_unref (s->messages);
}

/* Waits for messages until request ids 1..@n have all arrived (duplicates,
 * allowed by QoS 1, are skipped); checks each one's fields. */
static void
sub_expect (Sub *s, guint n, const char *source_id)
{
  gboolean *seen = g_new0 (gboolean, n + 1);
  guint got = 0;
  JsonObject *o;
  gint64 id;
  GstStructure *a;

  while (got < n) {
    o = g_async_queue_timeout_pop (s->messages, 30 * G_TIME_SPAN_SECOND);
    fail_unless (o != NULL, "%u of %u messages arrived", got, n);
    id = pubt_int (o, "request-id");
    fail_unless (id >= 1 && id <= (gint64) n, "request-id %d", (int) id);
    a = pubt_answer ((guint) id, "What is there?", "a cat", id * GST_SECOND,
        id * GST_SECOND + 1, GST_MSECOND);
    pubt_check_fields (o, a);
    gst_structure_free (a);
    fail_unless_equals_string (json_object_get_string_member (o, "source-id"),
        source_id);
    if (!seen[id])
      got++;
    seen[id] = TRUE;
    json_object_unref (o);
  }
  g_free (seen);
}

static GstHarness *
mqtt_harness (Broker *b, const char *extra)
{
  char *props = g_strdup_printf ("method=mqtt address=127.0.0.1:%u "
                                 "topic=" TOPIC " client-id=ibt-pub %s",
      b->port, extra);
  GstHarness *h = pubt_harness (props);

  g_free (props);
  return h;
}

static void
check_messages (guint qos)
{
  Broker b = { 0 };
  Sub s;
  GstHarness *h;
  GstElement *e;
  char *props = g_strdup_printf ("qos=%u source-id=cam-1", qos);

  broker_start (&b);
  sub_start (&s, &b);
  h = mqtt_harness (&b, props);
  e = gst_object_ref (h->element);
  pubt_push_answers (h, 1, 10);
  sub_expect (&s, 10, "cam-1");
  pubt_wait_stat (e, "delivered", 10, 20);
  fail_unless_equals_uint64 (pubt_stat (e, "connected"), TRUE);
  gst_harness_teardown (h);
  pubt_check_accounted (e);
  fail_unless_equals_uint64 (pubt_stat (e, "published"), 10);
  fail_unless_equals_uint64 (pubt_stat (e, "reconnects"), 0);
  gst_object_unref (e);
  sub_stop (&s);
  broker_clear (&b);
  g_free (props);
}

/* Each answer arrives once, with its fields; delivered = acknowledged
 * (QoS 1) or written (QoS 0). */
GST_START_TEST (test_mqtt_messages)
{
  check_messages (1);
  check_messages (0);
}

GST_END_TEST;

/* No broker at start is not an error: the element starts, warns once,
 * keeps the answers and delivers them when the broker appears. */
GST_START_TEST (test_mqtt_broker_late)
{
  Broker b = { 0 };
  GstHarness *h;
  GstElement *e;
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *err = NULL;

  char *desc;

  b.dir = g_dir_make_tmp ("ibmqtt-XXXXXX", NULL);
  b.port = free_port ();
  /* the bus is there before the start: the first attempt's warning */
  desc = g_strdup_printf ("instructblippublish method=mqtt "
                          "address=127.0.0.1:%u topic=" TOPIC
                          " max-reconnect-delay=500000000",
      b.port);
  e = gst_parse_launch (desc, NULL);
  fail_unless (e != NULL);
  gst_element_set_bus (e, bus);
  h = gst_harness_new_with_element (e, "sink", "src");
  gst_harness_set_src_caps_str (h, "video/x-raw");
  g_free (desc);
  pubt_push_answers (h, 1, 3);
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_WARNING | GST_MESSAGE_ERROR);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING);
  gst_message_parse_warning (msg, &err, NULL);
  fail_unless (
      g_error_matches (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_WRITE));
  fail_unless (strstr (err->message, "reconnecting") != NULL, "%s",
      err->message);
  g_error_free (err);
  gst_message_unref (msg);
  fail_unless_equals_uint64 (pubt_stat (e, "queued"), 3);

  broker_start (&b);
  pubt_wait_stat (e, "delivered", 3, 30);
  /* one outage, one warning */
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (msg == NULL);
  gst_harness_teardown (h);
  pubt_check_accounted (e);
  fail_unless_equals_uint64 (pubt_stat (e, "reconnects"), 0);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  broker_clear (&b);
}

GST_END_TEST;

/* The broker stops mid-stream and restarts on the same port: the element
 * notices, keeps the answers in its outbox, reconnects with backoff and
 * delivers every one of them; nothing is dropped or failed. */
GST_START_TEST (test_mqtt_broker_restart)
{
  Broker b = { 0 };
  Sub s;
  GstHarness *h;
  GstElement *e;

  broker_start (&b);
  sub_start (&s, &b);
  h = mqtt_harness (&b, "qos=1 source-id=cam-2 max-reconnect-delay=1000000000");
  e = gst_object_ref (h->element);
  pubt_push_answers (h, 1, 5);
  pubt_wait_stat (e, "delivered", 5, 20);

  broker_stop (&b);
  pubt_wait_stat (e, "connected", FALSE, 20);
  pubt_push_answers (h, 6, 10);
  fail_unless_equals_uint64 (pubt_stat (e, "answers"), 15);
  fail_unless_equals_uint64 (pubt_stat (e, "delivered"), 5);
  fail_unless_equals_uint64 (pubt_stat (e, "queued"), 10);
  g_usleep (700 * 1000); /* a few reconnection attempts fail */
  broker_start (&b);

  pubt_wait_stat (e, "delivered", 15, 30);
  fail_unless_equals_uint64 (pubt_stat (e, "connected"), TRUE);
  fail_unless_equals_uint64 (pubt_stat (e, "reconnects"), 1);
  sub_expect (&s, 15, "cam-2");
  gst_harness_teardown (h);
  pubt_check_accounted (e);
  fail_unless_equals_uint64 (pubt_stat (e, "dropped"), 0);
  fail_unless_equals_uint64 (pubt_stat (e, "failed"), 0);
  gst_object_unref (e);
  sub_stop (&s);
  broker_clear (&b);
}

GST_END_TEST;

/* Waits until nothing is queued or in flight. */
static void
wait_idle (GstElement *e, guint timeout_s)
{
  gint64 end = g_get_monotonic_time () + timeout_s * G_TIME_SPAN_SECOND;

  while (pubt_stat (e, "queued") + pubt_stat (e, "in-flight") > 0) {
    fail_unless (g_get_monotonic_time () < end, "%u queued, %u in flight",
        (guint) pubt_stat (e, "queued"), (guint) pubt_stat (e, "in-flight"));
    g_usleep (10 * 1000);
  }
}

/* The broker dies while QoS 1 messages are flowing (some in flight,
 * unacknowledged) and comes back: every answer is delivered after the
 * reconnect (libmosquitto sends the unacknowledged ones again) or counted;
 * the subscriber gets each delivered one. */
GST_START_TEST (test_mqtt_restart_under_load)
{
  Broker b = { 0 };
  Sub s;
  GstHarness *h;
  GstElement *e;
  guint i;

  broker_start (&b);
  sub_start (&s, &b);
  h = mqtt_harness (&b,
      "qos=1 source-id=cam-4 "
      "max-reconnect-delay=1000000000");
  e = gst_object_ref (h->element);
  for (i = 1; i <= 120; i++) {
    pubt_push_answers (h, i, 1);
    if (i == 40)
      broker_stop (&b);
    if (i == 80)
      broker_start (&b);
    g_usleep (2 * 1000);
  }
  wait_idle (e, 30);
  fail_unless (pubt_stat (e, "reconnects") >= 1);
  fail_unless_equals_uint64 (pubt_stat (e, "delivered"), 120);
  sub_expect (&s, 120, "cam-4");
  gst_harness_teardown (h);
  pubt_check_accounted (e);
  fail_unless_equals_uint64 (pubt_stat (e, "dropped"), 0);
  fail_unless_equals_uint64 (pubt_stat (e, "failed"), 0);
  gst_object_unref (e);
  sub_stop (&s);
  broker_clear (&b);
}

GST_END_TEST;

/* A frozen broker (SIGSTOP) leaves QoS 1 messages unacknowledged, in
 * flight (20 at most, the rest waits in the outbox); the broker is then
 * killed and a new one starts: the unacknowledged messages are sent again
 * after the reconnect and all are delivered. */
GST_START_TEST (test_mqtt_unacked_resent)
{
  Broker b = { 0 };
  GstHarness *h;
  GstElement *e;
  int status;

  broker_start (&b);
  h = mqtt_harness (&b, "qos=1 max-reconnect-delay=500000000");
  e = gst_object_ref (h->element);
  pubt_push_answers (h, 1, 5);
  pubt_wait_stat (e, "delivered", 5, 20);

  kill (b.pid, SIGSTOP);
  pubt_push_answers (h, 6, 30);
  pubt_wait_stat (e, "in-flight", 20, 20);
  fail_unless_equals_uint64 (pubt_stat (e, "queued"), 10);
  fail_unless_equals_uint64 (pubt_stat (e, "delivered"), 5);
  kill (b.pid, SIGKILL);
  waitpid (b.pid, &status, 0);
  g_spawn_close_pid (b.pid);
  b.pid = 0;
  broker_start (&b);

  wait_idle (e, 30);
  fail_unless_equals_uint64 (pubt_stat (e, "delivered"), 35);
  fail_unless (pubt_stat (e, "reconnects") >= 1);
  gst_harness_teardown (h);
  pubt_check_accounted (e);
  fail_unless_equals_uint64 (pubt_stat (e, "failed"), 0);
  fail_unless_equals_uint64 (pubt_stat (e, "dropped"), 0);
  gst_object_unref (e);
  broker_clear (&b);
}

GST_END_TEST;

/* TLS with client certificates (tls-ca-file, tls-cert-file,
 * tls-key-file) to the broker's TLS listener; the subscriber reads on the
 * plain one. */
GST_START_TEST (test_mqtt_tls)
{
  Broker b = { 0 };
  Sub s;
  GstHarness *h;
  GstElement *e;
  char *props;

  b.tls = TRUE;
  broker_start (&b);
  sub_start (&s, &b);
  props = g_strdup_printf ("method=mqtt address=127.0.0.1:%u topic=" TOPIC
                           " source-id=cam-tls tls-ca-file=%s/ca.pem "
                           "tls-cert-file=%s/client.pem "
                           "tls-key-file=%s/client.key",
      b.tls_port, IBT_TLS_DIR, IBT_TLS_DIR, IBT_TLS_DIR);
  h = pubt_harness (props);
  e = gst_object_ref (h->element);
  pubt_push_answers (h, 1, 5);
  sub_expect (&s, 5, "cam-tls");
  pubt_wait_stat (e, "delivered", 5, 20);
  gst_harness_teardown (h);
  pubt_check_accounted (e);
  gst_object_unref (e);
  sub_stop (&s);
  broker_clear (&b);
  g_free (props);
}

GST_END_TEST;

/* Without the client certificate the broker refuses the TLS handshake:
 * nothing counts as delivered, the answers wait, stop drops them. */
GST_START_TEST (test_mqtt_tls_refused)
{
  Broker b = { 0 };
  GstHarness *h;
  GstElement *e;
  char *props;

  b.tls = TRUE;
  broker_start (&b);
  props = g_strdup_printf ("method=mqtt address=127.0.0.1:%u topic=" TOPIC
                           " tls-ca-file=%s/ca.pem flush-timeout=200000000",
      b.tls_port, IBT_TLS_DIR);
  h = pubt_harness (props);
  e = gst_object_ref (h->element);
  pubt_push_answers (h, 1, 5);
  g_usleep (1500 * 1000);
  fail_unless_equals_uint64 (pubt_stat (e, "connected"), FALSE);
  fail_unless_equals_uint64 (pubt_stat (e, "delivered"), 0);
  fail_unless_equals_uint64 (pubt_stat (e, "queued"), 5);
  gst_harness_teardown (h);
  pubt_check_accounted (e);
  fail_unless_equals_uint64 (pubt_stat (e, "dropped"), 5);
  gst_object_unref (e);
  broker_clear (&b);
  g_free (props);
}

GST_END_TEST;

/* A listening socket that never accepts or reads: TCP connects (the
 * kernel's backlog), CONNACK never comes. Pushes return at once, the
 * outbox keeps the newest max-queue messages, the others are counted as
 * dropped, and the stop after flush-timeout drops the rest. */
GST_START_TEST (test_mqtt_silent_broker)
{
  GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, NULL);
  GInetAddress *lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocketAddress *a = g_inet_socket_address_new (lo, 0), *bound;
  Broker b = { 0 };
  GstHarness *h;
  GstElement *e;

  fail_unless (g_socket_bind (s, a, TRUE, NULL));
  g_socket_set_listen_backlog (s, 16);
  fail_unless (g_socket_listen (s, NULL));
  bound = g_socket_get_local_address (s, NULL);
  b.port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  h = mqtt_harness (&b,
      "max-queue=5 drop-policy=drop-oldest keepalive=5 "
      "flush-timeout=300000000");
  e = gst_object_ref (h->element);
  pubt_push_answers (h, 1, 100);
  fail_unless_equals_uint64 (pubt_stat (e, "answers"), 100);
  fail_unless_equals_uint64 (pubt_stat (e, "queued"), 5);
  fail_unless_equals_uint64 (pubt_stat (e, "dropped"), 95);
  fail_unless_equals_uint64 (pubt_stat (e, "connected"), FALSE);
  gst_harness_teardown (h);
  pubt_check_accounted (e);
  fail_unless_equals_uint64 (pubt_stat (e, "dropped"), 100);
  fail_unless_equals_uint64 (pubt_stat (e, "published"), 0);
  gst_object_unref (e);
  g_object_unref (bound);
  g_object_unref (a);
  g_object_unref (lo);
  g_object_unref (s);
}

GST_END_TEST;

static Suite *
publish_mqtt_suite (void)
{
  Suite *s = suite_create ("instructblippublish-mqtt");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_mqtt_messages);
  tcase_add_test (tc, test_mqtt_broker_late);
  tcase_add_test (tc, test_mqtt_broker_restart);
  tcase_add_test (tc, test_mqtt_restart_under_load);
  tcase_add_test (tc, test_mqtt_unacked_resent);
  tcase_add_test (tc, test_mqtt_tls);
  tcase_add_test (tc, test_mqtt_tls_refused);
  tcase_add_test (tc, test_mqtt_silent_broker);
  return s;
}

static char *
find_broker (void)
{
  const char *env = g_getenv ("IBT_MOSQUITTO");
  const char *dirs[] = { "/usr/sbin", "/usr/local/sbin", "/sbin" };
  char *p;
  guint i;

  if (env && *env && g_file_test (env, G_FILE_TEST_IS_EXECUTABLE))
    return g_strdup (env);
  if ((p = g_find_program_in_path ("mosquitto")))
    return p;
  for (i = 0; i < G_N_ELEMENTS (dirs); i++) {
    p = g_build_filename (dirs[i], "mosquitto", NULL);
    if (g_file_test (p, G_FILE_TEST_IS_EXECUTABLE))
      return p;
    g_free (p);
  }
  return NULL;
}

int
main (int argc, char **argv)
{
  Suite *s;
  int failed;

  broker_bin = find_broker ();
  if (broker_bin == NULL) {
    g_printerr ("the mosquitto broker binary is not installed (Debian "
                "package: mosquitto): MQTT tests skipped\n");
    return 77;
  }
  gst_check_init (&argc, &argv);
  /* the element's errors are posted to a bus the harness does not have:
   * log them, so that a failed start says why */
  gst_debug_set_threshold_for_name ("GST_ERROR_SYSTEM", GST_LEVEL_WARNING);
  mosquitto_lib_init ();
  s = publish_mqtt_suite ();
  failed = gst_check_run_suite (s, "publish-mqtt", __FILE__);
  mosquitto_lib_cleanup ();
  g_free (broker_bin);
  return failed;
}
