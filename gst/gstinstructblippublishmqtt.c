/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* method=mqtt: libmosquitto driven from the sender thread (non-blocking
 * connect, own poll), reconnecting with exponential backoff. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstinstructblippublishtransport.h"

#if HAVE_MOSQUITTO

#include <mosquitto.h>
#include <poll.h>

#define GST_CAT_DEFAULT gst_instruct_blip_publish_debug

/* the first retry after a loss; doubles up to max-reconnect-delay */
#define MQTT_BACKOFF_MIN_US (250 * G_TIME_SPAN_MILLISECOND)
/* a broker that accepts TCP but sends no CONNACK is given up after
 * min(keepalive, this) */
#define MQTT_CONNACK_TIMEOUT_US (10 * G_TIME_SPAN_SECOND)
/* QoS 1 messages awaiting PUBACK at most (libmosquitto's default) */
#define MQTT_MAX_IN_FLIGHT 20

typedef enum
{
  MQTT_DOWN,
  MQTT_CONNECTING,
  MQTT_UP,
} MqttState;

typedef struct
{
  GstInstructBlipPublishTransport base;
  GstInstructBlipPublishOutbox *ob;
  struct mosquitto *mosq;
  char *host, *topic, *address;
  guint port;
  int qos, keepalive;
  MqttState state;
  gboolean ever_connected, started, warned;
  gint64 attempt_us, next_attempt_us, connack_timeout_us;
  gint64 backoff_us, max_backoff_us;
  guint in_flight;
} GstInstructBlipPublishMqtt;

static void
go_down (GstInstructBlipPublishMqtt *m, const char *why)
{
  gint64 now = g_get_monotonic_time ();

  if (m->state == MQTT_DOWN)
    return;
  if (!m->warned)
    gst_instructblip_publish_outbox_warn (m->ob,
        "MQTT broker %s: %s; reconnecting", m->address, why);
  m->warned = TRUE;
  GST_INFO ("MQTT %s down (%s); next attempt in %" G_GINT64_FORMAT " ms",
      m->address, why, m->backoff_us / 1000);
  m->state = MQTT_DOWN;
  gst_instructblip_publish_outbox_set_connected (m->ob, FALSE);
  /* QoS 0 packets not yet written are gone; QoS 1 messages stay with
   * libmosquitto, which sends them again after the reconnect */
  if (m->qos == 0 && m->in_flight > 0) {
    gst_instructblip_publish_outbox_count (m->ob,
        GST_INSTRUCTBLIP_PUBLISH_FAILED, m->in_flight);
    m->in_flight = 0;
    gst_instructblip_publish_outbox_set_in_flight (m->ob, 0);
  }
  m->next_attempt_us = now + m->backoff_us;
  m->backoff_us = MIN (m->backoff_us * 2, m->max_backoff_us);
}

static void
on_connect (G_GNUC_UNUSED struct mosquitto *mosq, void *data, int rc)
{
  GstInstructBlipPublishMqtt *m = data;

  if (rc != 0) {
    go_down (m, mosquitto_connack_string (rc));
    return;
  }
  GST_INFO ("MQTT %s connected", m->address);
  if (m->ever_connected)
    gst_instructblip_publish_outbox_count (m->ob,
        GST_INSTRUCTBLIP_PUBLISH_RECONNECTS, 1);
  m->ever_connected = TRUE;
  m->state = MQTT_UP;
  m->warned = FALSE;
  m->backoff_us = MQTT_BACKOFF_MIN_US;
  gst_instructblip_publish_outbox_set_connected (m->ob, TRUE);
}

static void
on_disconnect (G_GNUC_UNUSED struct mosquitto *mosq, void *data, int rc)
{
  go_down (data, rc == 0 ? "disconnected" : mosquitto_strerror (rc));
}

static void
on_publish (G_GNUC_UNUSED struct mosquitto *mosq, void *data,
    G_GNUC_UNUSED int mid)
{
  GstInstructBlipPublishMqtt *m = data;

  if (m->in_flight > 0)
    m->in_flight--;
  gst_instructblip_publish_outbox_set_in_flight (m->ob, m->in_flight);
  gst_instructblip_publish_outbox_count (m->ob,
      GST_INSTRUCTBLIP_PUBLISH_DELIVERED, 1);
}

static void
try_connect (GstInstructBlipPublishMqtt *m)
{
  int rc;

  m->attempt_us = g_get_monotonic_time ();
  m->state = MQTT_CONNECTING;
  /* both connect without blocking; the reconnect closes the old socket */
  if (!m->started)
    rc = mosquitto_connect_async (m->mosq, m->host, m->port, m->keepalive);
  else
    rc = mosquitto_reconnect_async (m->mosq);
  m->started = TRUE;
  if (rc != MOSQ_ERR_SUCCESS)
    go_down (m,
        rc == MOSQ_ERR_ERRNO ? g_strerror (errno) : mosquitto_strerror (rc));
}

static void
mqtt_wait (GstInstructBlipPublishTransport *t, int timeout_ms)
{
  GstInstructBlipPublishMqtt *m = (GstInstructBlipPublishMqtt *) t;
  gint64 now = g_get_monotonic_time ();
  short events;
  int sock, rc;

  if (m->state == MQTT_DOWN && now >= m->next_attempt_us)
    try_connect (m);
  if (m->state == MQTT_CONNECTING &&
      now - m->attempt_us > m->connack_timeout_us)
    go_down (m, "no answer to CONNECT");
  /* keepalive and retries need a turn at least every second */
  timeout_ms = MIN (timeout_ms, 1000);
  if (m->state == MQTT_DOWN)
    timeout_ms = (int) CLAMP ((m->next_attempt_us - now) / 1000, 0, timeout_ms);

  sock = mosquitto_socket (m->mosq);
  events = POLLIN;
  if (sock >= 0 && mosquitto_want_write (m->mosq))
    events |= POLLOUT;
  /* whatever woke us, mosquitto_loop () below looks again without
   * waiting */
  gst_instructblip_publish_poll (m->ob, sock, events, timeout_ms);
  if (sock < 0)
    return;
  rc = mosquitto_loop (m->mosq, 0, 1);
  if (rc != MOSQ_ERR_SUCCESS && m->state != MQTT_DOWN)
    go_down (m,
        rc == MOSQ_ERR_ERRNO ? g_strerror (errno) : mosquitto_strerror (rc));
}

static gboolean
mqtt_ready (GstInstructBlipPublishTransport *t)
{
  GstInstructBlipPublishMqtt *m = (GstInstructBlipPublishMqtt *) t;

  return m->state == MQTT_UP && m->in_flight < MQTT_MAX_IN_FLIGHT;
}

static GstInstructBlipPublishResult
mqtt_send (GstInstructBlipPublishTransport *t, GBytes *msg)
{
  GstInstructBlipPublishMqtt *m = (GstInstructBlipPublishMqtt *) t;
  gsize len;
  const void *data = g_bytes_get_data (msg, &len);
  int rc;

  if (!mqtt_ready (t))
    return GST_INSTRUCTBLIP_PUBLISH_SEND_RETRY;
  /* counted before publishing: a QoS 0 message may be written and
   * confirmed inside the call */
  m->in_flight++;
  rc = mosquitto_publish (m->mosq, NULL, m->topic, (int) len, data, m->qos,
      FALSE);
  switch (rc) {
    case MOSQ_ERR_SUCCESS:
      gst_instructblip_publish_outbox_set_in_flight (m->ob, m->in_flight);
      return GST_INSTRUCTBLIP_PUBLISH_SEND_OK;
    case MOSQ_ERR_NO_CONN:
    case MOSQ_ERR_CONN_LOST:
    case MOSQ_ERR_ERRNO:
      m->in_flight--;
      go_down (m, mosquitto_strerror (rc));
      return GST_INSTRUCTBLIP_PUBLISH_SEND_RETRY;
    default:
      m->in_flight--;
      gst_instructblip_publish_outbox_warn (m->ob,
          "MQTT broker %s refused a message: %s", m->address,
          mosquitto_strerror (rc));
      return GST_INSTRUCTBLIP_PUBLISH_SEND_FAILED;
  }
}

static guint
mqtt_in_flight (GstInstructBlipPublishTransport *t)
{
  return ((GstInstructBlipPublishMqtt *) t)->in_flight;
}

static void
mqtt_free (GstInstructBlipPublishMqtt *m)
{
  if (m->mosq)
    mosquitto_destroy (m->mosq);
  g_free (m->host);
  g_free (m->topic);
  g_free (m->address);
  g_free (m);
}

static void
mqtt_close (GstInstructBlipPublishTransport *t, gint64 deadline_us)
{
  GstInstructBlipPublishMqtt *m = (GstInstructBlipPublishMqtt *) t;
  gint64 now;

  /* what is in flight gets until the deadline for its acknowledgement */
  while (m->in_flight > 0 && m->state == MQTT_UP &&
      (now = g_get_monotonic_time ()) < deadline_us)
    mqtt_wait (t, (int) CLAMP ((deadline_us - now) / 1000, 1, 1000));
  if (m->state == MQTT_UP) {
    mosquitto_disconnect (m->mosq);
    mosquitto_loop (m->mosq, 0, 1);
  }
  if (m->in_flight > 0)
    gst_instructblip_publish_outbox_count (m->ob,
        GST_INSTRUCTBLIP_PUBLISH_FAILED, m->in_flight);
  gst_instructblip_publish_outbox_set_in_flight (m->ob, 0);
  gst_instructblip_publish_outbox_set_connected (m->ob, FALSE);
  mqtt_free (m);
}

static gboolean
check_file (const char *path, const char *property, GError **err)
{
  if (path == NULL || g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return TRUE;
  g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
      "%s \"%s\" is not a readable file", property, path);
  return FALSE;
}

static gpointer
lib_init (G_GNUC_UNUSED gpointer data)
{
  mosquitto_lib_init ();
  return NULL;
}

GstInstructBlipPublishTransport *
gst_instructblip_publish_mqtt_open (const GstInstructBlipPublishSettings *s,
    GstInstructBlipPublishOutbox *ob, GError **err)
{
  static GOnce once = G_ONCE_INIT;
  GstInstructBlipPublishMqtt *m;
  gboolean tls = s->tls_ca_file != NULL;
  int rc;

  if (s->topic == NULL || *s->topic == '\0' ||
      mosquitto_pub_topic_check (s->topic) != MOSQ_ERR_SUCCESS) {
    g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "Bad MQTT topic \"%s\" (property topic): it must be set, and contain "
        "no + or # wildcards",
        s->topic ? s->topic : "");
    return NULL;
  }
  if (!tls && (s->tls_cert_file || s->tls_key_file)) {
    g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "tls-cert-file and tls-key-file need tls-ca-file");
    return NULL;
  }
  if ((s->tls_cert_file == NULL) != (s->tls_key_file == NULL)) {
    g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "tls-cert-file and tls-key-file go together");
    return NULL;
  }
  if (!check_file (s->tls_ca_file, "tls-ca-file", err) ||
      !check_file (s->tls_cert_file, "tls-cert-file", err) ||
      !check_file (s->tls_key_file, "tls-key-file", err))
    return NULL;

  m = g_new0 (GstInstructBlipPublishMqtt, 1);
  if (!gst_instructblip_publish_parse_host_port (s->address,
          tls ? GST_INSTRUCTBLIP_PUBLISH_MQTTS_PORT :
                GST_INSTRUCTBLIP_PUBLISH_MQTT_PORT,
          &m->host, &m->port, err) ||
      !gst_instructblip_publish_resolve (m->host, m->port, err))
    goto fail;
  g_once (&once, lib_init, NULL);
  m->mosq = mosquitto_new (s->client_id, TRUE, m);
  if (m->mosq == NULL) {
    g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "Cannot create the MQTT client (property client-id \"%s\"): %s",
        s->client_id ? s->client_id : "", g_strerror (errno));
    goto fail;
  }
  if (s->username &&
      (rc = mosquitto_username_pw_set (m->mosq, s->username, s->password))) {
    g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "Bad MQTT username or password (properties username, password): %s",
        mosquitto_strerror (rc));
    goto fail;
  }
  if (tls &&
      (rc = mosquitto_tls_set (m->mosq, s->tls_ca_file, NULL, s->tls_cert_file,
           s->tls_key_file, NULL))) {
    g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "Bad MQTT TLS settings (tls-ca-file, tls-cert-file, tls-key-file): "
        "%s",
        mosquitto_strerror (rc));
    goto fail;
  }
  mosquitto_connect_callback_set (m->mosq, on_connect);
  mosquitto_disconnect_callback_set (m->mosq, on_disconnect);
  mosquitto_publish_callback_set (m->mosq, on_publish);

  m->base.ready = mqtt_ready;
  m->base.send = mqtt_send;
  m->base.wait = mqtt_wait;
  m->base.in_flight = mqtt_in_flight;
  m->base.close = mqtt_close;
  m->ob = ob;
  m->topic = g_strdup (s->topic);
  m->address = g_strdup_printf ("%s:%u", m->host, m->port);
  m->qos = (int) s->qos;
  m->keepalive = (int) MAX (s->keepalive, 5);
  m->connack_timeout_us =
      MIN ((gint64) m->keepalive * G_TIME_SPAN_SECOND, MQTT_CONNACK_TIMEOUT_US);
  m->max_backoff_us =
      MAX (s->max_reconnect_delay / GST_USECOND, MQTT_BACKOFF_MIN_US);
  m->backoff_us = MQTT_BACKOFF_MIN_US;
  m->state = MQTT_DOWN;
  m->next_attempt_us = 0;
  return &m->base;
fail:
  mqtt_free (m);
  return NULL;
}

#else

GstInstructBlipPublishTransport *
gst_instructblip_publish_mqtt_open (G_GNUC_UNUSED const
                                        GstInstructBlipPublishSettings *s,
    G_GNUC_UNUSED GstInstructBlipPublishOutbox *ob, GError **err)
{
  g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
      "method=mqtt is not available: this build of the plugin has no "
      "libmosquitto (install libmosquitto-dev and rebuild, meson option "
      "-Dmqtt=enabled)");
  return NULL;
}

#endif
