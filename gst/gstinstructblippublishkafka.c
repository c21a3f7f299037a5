/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* method=kafka: librdkafka producer; key = source-id, delivery reports
 * counted; librdkafka reconnects on its own (backoff capped by
 * max-reconnect-delay). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstinstructblippublishtransport.h"

#if HAVE_RDKAFKA

#include <librdkafka/rdkafka.h>
#include <string.h>

#define GST_CAT_DEFAULT gst_instruct_blip_publish_debug

/* the largest reconnect.backoff.max.ms librdkafka accepts */
#define KAFKA_BACKOFF_MAX_MS G_GUINT64_CONSTANT (3600000)

typedef struct
{
  GstInstructBlipPublishTransport base;
  GstInstructBlipPublishOutbox *ob;
  rd_kafka_t *rk;
  char *topic, *key, *address;
  guint in_flight;
  gboolean down; /* all brokers down since the last delivery */
  gboolean warned;
} GstInstructBlipPublishKafka;

/* Called from rd_kafka_poll () on the sender thread. */
static void
on_delivery (G_GNUC_UNUSED rd_kafka_t *rk, const rd_kafka_message_t *msg,
    void *opaque)
{
  GstInstructBlipPublishKafka *k = opaque;

  if (k->in_flight > 0)
    k->in_flight--;
  gst_instructblip_publish_outbox_set_in_flight (k->ob, k->in_flight);
  if (msg->err) {
    gst_instructblip_publish_outbox_count (k->ob,
        GST_INSTRUCTBLIP_PUBLISH_FAILED, 1);
    return;
  }
  gst_instructblip_publish_outbox_count (k->ob,
      GST_INSTRUCTBLIP_PUBLISH_DELIVERED, 1);
  if (k->down)
    gst_instructblip_publish_outbox_count (k->ob,
        GST_INSTRUCTBLIP_PUBLISH_RECONNECTS, 1);
  k->down = FALSE;
  k->warned = FALSE;
  gst_instructblip_publish_outbox_set_connected (k->ob, TRUE);
}

static void
on_error (G_GNUC_UNUSED rd_kafka_t *rk, int err, const char *reason,
    void *opaque)
{
  GstInstructBlipPublishKafka *k = opaque;

  if (err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN &&
      err != RD_KAFKA_RESP_ERR__TRANSPORT && err != RD_KAFKA_RESP_ERR__RESOLVE)
    return;
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    k->down = TRUE;
    gst_instructblip_publish_outbox_set_connected (k->ob, FALSE);
  }
  if (!k->warned)
    gst_instructblip_publish_outbox_warn (k->ob, "Kafka brokers %s: %s",
        k->address, reason);
  k->warned = TRUE;
}

/* librdkafka's log (any of its threads) goes to the debug log, not
 * stderr. */
static void
on_log (G_GNUC_UNUSED const rd_kafka_t *rk, int level, const char *fac,
    const char *buf)
{
  GstDebugLevel l = level <= 3 ? GST_LEVEL_WARNING :
      level <= 6               ? GST_LEVEL_INFO :
                                 GST_LEVEL_DEBUG;

  GST_CAT_LEVEL_LOG (GST_CAT_DEFAULT, l, NULL, "librdkafka %s: %s", fac, buf);
}

/* librdkafka queues while brokers are away; its queue full is a retry */
static gboolean
kafka_ready (G_GNUC_UNUSED GstInstructBlipPublishTransport *t)
{
  return TRUE;
}

static GstInstructBlipPublishResult
kafka_send (GstInstructBlipPublishTransport *t, GBytes *msg)
{
  GstInstructBlipPublishKafka *k = (GstInstructBlipPublishKafka *) t;
  gsize len;
  void *data = (void *) g_bytes_get_data (msg, &len);
  rd_kafka_resp_err_t err;

  err = rd_kafka_producev (k->rk, RD_KAFKA_V_TOPIC (k->topic),
      RD_KAFKA_V_KEY (k->key, strlen (k->key)), RD_KAFKA_V_VALUE (data, len),
      RD_KAFKA_V_MSGFLAGS (RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
    return GST_INSTRUCTBLIP_PUBLISH_SEND_RETRY;
  if (err) {
    gst_instructblip_publish_outbox_warn (k->ob,
        "Kafka refused a message for topic %s: %s", k->topic,
        rd_kafka_err2str (err));
    return GST_INSTRUCTBLIP_PUBLISH_SEND_FAILED;
  }
  k->in_flight++;
  gst_instructblip_publish_outbox_set_in_flight (k->ob, k->in_flight);
  return GST_INSTRUCTBLIP_PUBLISH_SEND_OK;
}

static void
kafka_wait (GstInstructBlipPublishTransport *t, int timeout_ms)
{
  GstInstructBlipPublishKafka *k = (GstInstructBlipPublishKafka *) t;

  /* delivery reports come through rd_kafka_poll (): look often */
  gst_instructblip_publish_poll (k->ob, -1, 0, MIN (timeout_ms, 100));
  rd_kafka_poll (k->rk, 0);
}

static guint
kafka_in_flight (GstInstructBlipPublishTransport *t)
{
  return ((GstInstructBlipPublishKafka *) t)->in_flight;
}

static void
kafka_free (GstInstructBlipPublishKafka *k)
{
  if (k->rk)
    rd_kafka_destroy (k->rk);
  g_free (k->topic);
  g_free (k->key);
  g_free (k->address);
  g_free (k);
}

static void
kafka_close (GstInstructBlipPublishTransport *t, gint64 deadline_us)
{
  GstInstructBlipPublishKafka *k = (GstInstructBlipPublishKafka *) t;
  gint64 left_ms = (deadline_us - g_get_monotonic_time ()) / 1000;

  if (k->in_flight > 0 && left_ms > 0)
    rd_kafka_flush (k->rk, (int) MIN (left_ms, G_MAXINT));
  /* what is left gets a delivery report with a purge error: failed */
  rd_kafka_purge (k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll (k->rk, 0);
  if (k->in_flight > 0)
    gst_instructblip_publish_outbox_count (k->ob,
        GST_INSTRUCTBLIP_PUBLISH_FAILED, k->in_flight);
  k->in_flight = 0;
  gst_instructblip_publish_outbox_set_in_flight (k->ob, 0);
  gst_instructblip_publish_outbox_set_connected (k->ob, FALSE);
  kafka_free (k);
}

static gboolean
conf_set (rd_kafka_conf_t *conf, const char *name, const char *value,
    const char *property, GError **err)
{
  char errstr[512];

  if (rd_kafka_conf_set (conf, name, value, errstr, sizeof errstr) ==
      RD_KAFKA_CONF_OK)
    return TRUE;
  g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
      "Bad Kafka setting %s=%s (property %s): %s", name, value, property,
      errstr);
  return FALSE;
}

/* Every broker of the list must parse and resolve. */
static gboolean
check_brokers (const char *address, GError **err)
{
  char **items, *host = NULL;
  const char *item, *scheme;
  guint i, port;
  gboolean ok = TRUE;

  if (address == NULL || *address == '\0') {
    g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "No Kafka brokers (property address: host:port[,host:port...])");
    return FALSE;
  }
  items = g_strsplit (address, ",", -1);
  for (i = 0; ok && items[i]; i++) {
    item = g_strstrip (items[i]);
    scheme = strstr (item, "://");
    if (scheme)
      item = scheme + 3;
    ok = gst_instructblip_publish_parse_host_port (item,
             GST_INSTRUCTBLIP_PUBLISH_KAFKA_PORT, &host, &port, err) &&
        gst_instructblip_publish_resolve (host, port, err);
    g_clear_pointer (&host, g_free);
  }
  g_strfreev (items);
  return ok;
}

GstInstructBlipPublishTransport *
gst_instructblip_publish_kafka_open (const GstInstructBlipPublishSettings *s,
    GstInstructBlipPublishOutbox *ob, GError **err)
{
  GstInstructBlipPublishKafka *k;
  rd_kafka_conf_t *conf;
  char errstr[512], *v;
  gboolean ok;
  const char *c;

  if (s->topic == NULL || *s->topic == '\0' || strlen (s->topic) > 249) {
    g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "Bad Kafka topic \"%s\" (property topic): 1 to 249 characters of "
        "a-z A-Z 0-9 . _ -",
        s->topic ? s->topic : "");
    return NULL;
  }
  for (c = s->topic; *c; c++) {
    if (!g_ascii_isalnum (*c) && *c != '.' && *c != '_' && *c != '-') {
      g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
          "Bad Kafka topic \"%s\" (property topic): 1 to 249 characters of "
          "a-z A-Z 0-9 . _ -",
          s->topic);
      return NULL;
    }
  }
  if (!check_brokers (s->address, err))
    return NULL;

  k = g_new0 (GstInstructBlipPublishKafka, 1);
  conf = rd_kafka_conf_new ();
  v = g_strdup_printf ("%u", MAX (s->max_queue, 1));
  ok = conf_set (conf, "bootstrap.servers", s->address, "address", err) &&
      conf_set (conf, "queue.buffering.max.messages", v, "max-queue", err);
  g_free (v);
  v = g_strdup_printf ("%" G_GUINT64_FORMAT,
      CLAMP (s->max_reconnect_delay / GST_MSECOND, 10, KAFKA_BACKOFF_MAX_MS));
  ok = ok &&
      conf_set (conf, "reconnect.backoff.max.ms", v, "max-reconnect-delay",
          err);
  g_free (v);
  if (ok && s->client_id)
    ok = conf_set (conf, "client.id", s->client_id, "client-id", err);
  if (ok && s->tls_ca_file)
    ok = conf_set (conf, "ssl.ca.location", s->tls_ca_file, "tls-ca-file", err);
  if (ok && s->tls_cert_file)
    ok = conf_set (conf, "ssl.certificate.location", s->tls_cert_file,
        "tls-cert-file", err);
  if (ok && s->tls_key_file)
    ok = conf_set (conf, "ssl.key.location", s->tls_key_file, "tls-key-file",
        err);
  if (ok && s->username) {
    ok = conf_set (conf, "sasl.mechanisms", "PLAIN", "username", err) &&
        conf_set (conf, "sasl.username", s->username, "username", err) &&
        conf_set (conf, "sasl.password", s->password ? s->password : "",
            "password", err);
  }
  if (ok)
    ok = conf_set (conf, "security.protocol",
        s->username ? (s->tls_ca_file ? "sasl_ssl" : "sasl_plaintext") :
                      (s->tls_ca_file ? "ssl" : "plaintext"),
        "tls-ca-file", err);
  if (!ok) {
    rd_kafka_conf_destroy (conf);
    g_free (k);
    return NULL;
  }
  rd_kafka_conf_set_dr_msg_cb (conf, on_delivery);
  rd_kafka_conf_set_error_cb (conf, on_error);
  rd_kafka_conf_set_log_cb (conf, on_log);
  rd_kafka_conf_set_opaque (conf, k);
  k->rk = rd_kafka_new (RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (k->rk == NULL) {
    /* conf is still ours on failure */
    rd_kafka_conf_destroy (conf);
    g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "Cannot create the Kafka producer for %s (property address): %s",
        s->address, errstr);
    g_free (k);
    return NULL;
  }
  k->base.ready = kafka_ready;
  k->base.send = kafka_send;
  k->base.wait = kafka_wait;
  k->base.in_flight = kafka_in_flight;
  k->base.close = kafka_close;
  k->ob = ob;
  k->topic = g_strdup (s->topic);
  k->key = g_strdup (s->source_id ? s->source_id : "");
  k->address = g_strdup (s->address);
  return &k->base;
}

#else

GstInstructBlipPublishTransport *
gst_instructblip_publish_kafka_open (G_GNUC_UNUSED const
                                         GstInstructBlipPublishSettings *s,
    G_GNUC_UNUSED GstInstructBlipPublishOutbox *ob, GError **err)
{
  g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
      "method=kafka is not available: this build of the plugin has no "
      "librdkafka (install librdkafka-dev and rebuild, meson option "
      "-Dkafka=enabled)");
  return NULL;
}

#endif
