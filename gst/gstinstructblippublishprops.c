/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The instructblippublish element's properties, enums and stats. */
#include "gstinstructblippublishprivate.h"

#define DEFAULT_METHOD GST_INSTRUCT_BLIP_PUBLISH_FILE
#define DEFAULT_TOPIC "instructblip-answers"
#define DEFAULT_MAX_FILES 5
#define DEFAULT_FSYNC_INTERVAL GST_SECOND
#define DEFAULT_QOS 1
#define DEFAULT_KEEPALIVE 60
#define DEFAULT_MAX_RECONNECT_DELAY (30 * GST_SECOND)
#define DEFAULT_MAX_QUEUE 1000
#define DEFAULT_DROP_POLICY GST_INSTRUCT_BLIP_PUBLISH_DROP_OLDEST
#define DEFAULT_FLUSH_TIMEOUT (2 * GST_SECOND)

enum
{
  PROP_0,
  PROP_METHOD,
  PROP_ADDRESS,
  PROP_TOPIC,
  PROP_FILE_PATH,
  PROP_MAX_FILE_SIZE,
  PROP_MAX_FILES,
  PROP_FSYNC_INTERVAL,
  PROP_QOS,
  PROP_CLIENT_ID,
  PROP_KEEPALIVE,
  PROP_TLS_CA_FILE,
  PROP_TLS_CERT_FILE,
  PROP_TLS_KEY_FILE,
  PROP_USERNAME,
  PROP_PASSWORD,
  PROP_MAX_RECONNECT_DELAY,
  PROP_SOURCE_ID,
  PROP_FROM_BUS,
  PROP_MAX_QUEUE,
  PROP_DROP_POLICY,
  PROP_FLUSH_TIMEOUT,
  PROP_STATS,
};

GType
gst_instruct_blip_publish_method_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    { GST_INSTRUCT_BLIP_PUBLISH_FILE, "JSON lines in file-path", "file" },
    { GST_INSTRUCT_BLIP_PUBLISH_MQTT, "MQTT broker (libmosquitto)", "mqtt" },
    { GST_INSTRUCT_BLIP_PUBLISH_KAFKA, "Kafka brokers (librdkafka)", "kafka" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstInstructBlipPublishMethod", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_instruct_blip_publish_drop_policy_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    { GST_INSTRUCT_BLIP_PUBLISH_DROP_OLDEST, "Drop the oldest waiting message",
        "drop-oldest" },
    { GST_INSTRUCT_BLIP_PUBLISH_DROP_NEWEST, "Drop the new message",
        "drop-newest" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType t =
        g_enum_register_static ("GstInstructBlipPublishDropPolicy", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static GstStructure *
stats_structure (GstInstructBlipPublish *self)
{
  GstInstructBlipPublishStats st;

  g_mutex_lock (&self->lock);
  if (self->outbox)
    gst_instructblip_publish_outbox_get_stats (self->outbox, &st);
  else
    st = self->last_stats;
  g_mutex_unlock (&self->lock);
  return gst_structure_new ("instructblippublish-stats", "answers",
      G_TYPE_UINT64, st.answers, "published", G_TYPE_UINT64, st.published,
      "delivered", G_TYPE_UINT64, st.delivered, "failed", G_TYPE_UINT64,
      st.failed, "dropped", G_TYPE_UINT64, st.dropped, "reconnects",
      G_TYPE_UINT64, st.reconnects, "queued", G_TYPE_UINT, st.queued,
      "in-flight", G_TYPE_UINT, st.in_flight, "connected", G_TYPE_BOOLEAN,
      st.connected, NULL);
}

static void
set_string (char **field, const GValue *value)
{
  const char *v = g_value_get_string (value);

  g_free (*field);
  *field = v && *v ? g_strdup (v) : NULL;
}

void
gst_instruct_blip_publish_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstInstructBlipPublish *self = GST_INSTRUCT_BLIP_PUBLISH (object);
  GstInstructBlipPublishSettings *p = &self->props;
  guint max_queue;
  gboolean drop_oldest;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_METHOD:
      p->method = g_value_get_enum (value);
      break;
    case PROP_ADDRESS:
      set_string (&p->address, value);
      break;
    case PROP_TOPIC:
      set_string (&p->topic, value);
      break;
    case PROP_FILE_PATH:
      set_string (&p->file_path, value);
      break;
    case PROP_MAX_FILE_SIZE:
      p->max_file_size = g_value_get_uint64 (value);
      break;
    case PROP_MAX_FILES:
      p->max_files = g_value_get_uint (value);
      break;
    case PROP_FSYNC_INTERVAL:
      p->fsync_interval = g_value_get_uint64 (value);
      break;
    case PROP_QOS:
      p->qos = g_value_get_uint (value);
      break;
    case PROP_CLIENT_ID:
      set_string (&p->client_id, value);
      break;
    case PROP_KEEPALIVE:
      p->keepalive = g_value_get_uint (value);
      break;
    case PROP_TLS_CA_FILE:
      set_string (&p->tls_ca_file, value);
      break;
    case PROP_TLS_CERT_FILE:
      set_string (&p->tls_cert_file, value);
      break;
    case PROP_TLS_KEY_FILE:
      set_string (&p->tls_key_file, value);
      break;
    case PROP_USERNAME:
      set_string (&p->username, value);
      break;
    case PROP_PASSWORD:
      set_string (&p->password, value);
      break;
    case PROP_MAX_RECONNECT_DELAY:
      p->max_reconnect_delay = g_value_get_uint64 (value);
      break;
    case PROP_SOURCE_ID:
      g_free (p->source_id);
      p->source_id = g_value_dup_string (value);
      break;
    case PROP_FROM_BUS:
      self->from_bus = g_value_get_boolean (value);
      break;
    case PROP_MAX_QUEUE:
      p->max_queue = g_value_get_uint (value);
      break;
    case PROP_DROP_POLICY:
      self->drop_policy = g_value_get_enum (value);
      break;
    case PROP_FLUSH_TIMEOUT:
      self->flush_timeout = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  max_queue = p->max_queue;
  drop_oldest = self->drop_policy == GST_INSTRUCT_BLIP_PUBLISH_DROP_OLDEST;
  GST_OBJECT_UNLOCK (self);

  /* the outbox bound and policy apply at once */
  if (prop_id == PROP_MAX_QUEUE || prop_id == PROP_DROP_POLICY) {
    g_mutex_lock (&self->lock);
    if (self->outbox)
      gst_instructblip_publish_outbox_set_policy (self->outbox, max_queue,
          drop_oldest);
    g_mutex_unlock (&self->lock);
  }
}

void
gst_instruct_blip_publish_get_property (GObject *object, guint prop_id,
    GValue *value, GParamSpec *pspec)
{
  GstInstructBlipPublish *self = GST_INSTRUCT_BLIP_PUBLISH (object);
  GstInstructBlipPublishSettings *p = &self->props;

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, stats_structure (self));
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_METHOD:
      g_value_set_enum (value, p->method);
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, p->address);
      break;
    case PROP_TOPIC:
      g_value_set_string (value, p->topic);
      break;
    case PROP_FILE_PATH:
      g_value_set_string (value, p->file_path);
      break;
    case PROP_MAX_FILE_SIZE:
      g_value_set_uint64 (value, p->max_file_size);
      break;
    case PROP_MAX_FILES:
      g_value_set_uint (value, p->max_files);
      break;
    case PROP_FSYNC_INTERVAL:
      g_value_set_uint64 (value, p->fsync_interval);
      break;
    case PROP_QOS:
      g_value_set_uint (value, p->qos);
      break;
    case PROP_CLIENT_ID:
      g_value_set_string (value, p->client_id);
      break;
    case PROP_KEEPALIVE:
      g_value_set_uint (value, p->keepalive);
      break;
    case PROP_TLS_CA_FILE:
      g_value_set_string (value, p->tls_ca_file);
      break;
    case PROP_TLS_CERT_FILE:
      g_value_set_string (value, p->tls_cert_file);
      break;
    case PROP_TLS_KEY_FILE:
      g_value_set_string (value, p->tls_key_file);
      break;
    case PROP_USERNAME:
      g_value_set_string (value, p->username);
      break;
    case PROP_PASSWORD:
      g_value_set_string (value, p->password);
      break;
    case PROP_MAX_RECONNECT_DELAY:
      g_value_set_uint64 (value, p->max_reconnect_delay);
      break;
    case PROP_SOURCE_ID:
      g_value_set_string (value, p->source_id);
      break;
    case PROP_FROM_BUS:
      g_value_set_boolean (value, self->from_bus);
      break;
    case PROP_MAX_QUEUE:
      g_value_set_uint (value, p->max_queue);
      break;
    case PROP_DROP_POLICY:
      g_value_set_enum (value, self->drop_policy);
      break;
    case PROP_FLUSH_TIMEOUT:
      g_value_set_uint64 (value, self->flush_timeout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

#define PARAM_READY \
  (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)
#define PARAM_PLAYING \
  (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)

static void
install_string (GObjectClass *oc, guint id, const char *name, const char *blurb,
    const char *def, GParamFlags flags)
{
  g_object_class_install_property (oc, id,
      g_param_spec_string (name, name, blurb, def, flags));
}

void
gst_instruct_blip_publish_install_properties (GObjectClass *oc)
{
  g_object_class_install_property (oc, PROP_METHOD,
      g_param_spec_enum ("method", "Method", "Where answers go",
          GST_TYPE_INSTRUCT_BLIP_PUBLISH_METHOD, DEFAULT_METHOD, PARAM_READY));
  install_string (oc, PROP_ADDRESS, "address",
      "Broker: host:port for MQTT (port 1883, 8883 with TLS, when left "
      "out); brokers host:port[,host:port...] for Kafka (port 9092)",
      NULL, PARAM_READY);
  install_string (oc, PROP_TOPIC, "topic", "MQTT or Kafka topic", DEFAULT_TOPIC,
      PARAM_READY);
  install_string (oc, PROP_FILE_PATH, "file-path",
      "method=file: the JSON lines file (appended to)", NULL, PARAM_READY);
  g_object_class_install_property (oc, PROP_MAX_FILE_SIZE,
      g_param_spec_uint64 ("max-file-size", "Max file size",
          "method=file: rotate before the file would grow past this many "
          "bytes (file-path.1, .2, ...); 0 = never rotate",
          0, G_MAXUINT64, 0, PARAM_READY));
  g_object_class_install_property (oc, PROP_MAX_FILES,
      g_param_spec_uint ("max-files", "Max files",
          "method=file: rotated files kept besides file-path", 0, 1000,
          DEFAULT_MAX_FILES, PARAM_READY));
  g_object_class_install_property (oc, PROP_FSYNC_INTERVAL,
      g_param_spec_uint64 ("fsync-interval", "fsync interval",
          "method=file: flush written lines to disk (fdatasync) at most this "
          "often, in ns; 0 = after every line; also at rotation and stop",
          0, G_MAXUINT64, DEFAULT_FSYNC_INTERVAL, PARAM_READY));
  g_object_class_install_property (oc, PROP_QOS,
      g_param_spec_uint ("qos", "QoS",
          "method=mqtt: 0 (at most once) or 1 (at least once, delivered = "
          "acknowledged by the broker)",
          0, 1, DEFAULT_QOS, PARAM_READY));
  install_string (oc, PROP_CLIENT_ID, "client-id",
      "MQTT client id / Kafka client.id (unset: generated)", NULL, PARAM_READY);
  g_object_class_install_property (oc, PROP_KEEPALIVE,
      g_param_spec_uint ("keepalive", "Keepalive",
          "method=mqtt: keepalive in seconds", 5, 65535, DEFAULT_KEEPALIVE,
          PARAM_READY));
  install_string (oc, PROP_TLS_CA_FILE, "tls-ca-file",
      "CA certificate file (PEM); setting it turns TLS on", NULL, PARAM_READY);
  install_string (oc, PROP_TLS_CERT_FILE, "tls-cert-file",
      "Client certificate file (PEM), with tls-key-file", NULL, PARAM_READY);
  install_string (oc, PROP_TLS_KEY_FILE, "tls-key-file",
      "Client private key file (PEM), with tls-cert-file", NULL, PARAM_READY);
  install_string (oc, PROP_USERNAME, "username",
      "MQTT username / Kafka SASL PLAIN username", NULL, PARAM_READY);
  install_string (oc, PROP_PASSWORD, "password",
      "MQTT password / Kafka SASL PLAIN password", NULL, PARAM_READY);
  g_object_class_install_property (oc, PROP_MAX_RECONNECT_DELAY,
      g_param_spec_uint64 ("max-reconnect-delay", "Max reconnect delay",
          "Longest wait between reconnection attempts, in ns (the wait "
          "starts at 250 ms and doubles)",
          0, G_MAXUINT64, DEFAULT_MAX_RECONNECT_DELAY, PARAM_READY));
  install_string (oc, PROP_SOURCE_ID, "source-id",
      "Identifies this stream in every message (and is the Kafka key); "
      "default: the host name",
      NULL, PARAM_PLAYING);
  g_object_class_install_property (oc, PROP_FROM_BUS,
      g_param_spec_boolean ("from-bus", "From bus",
          "Also publish the instructblip-answer messages of every element "
          "in the pipeline (each answer once)",
          FALSE, PARAM_READY));
  g_object_class_install_property (oc, PROP_MAX_QUEUE,
      g_param_spec_uint ("max-queue", "Max queue",
          "Messages waiting to be sent at most; more are dropped by "
          "drop-policy",
          1, 1000000, DEFAULT_MAX_QUEUE, PARAM_PLAYING));
  g_object_class_install_property (oc, PROP_DROP_POLICY,
      g_param_spec_enum ("drop-policy", "Drop policy",
          "Which message goes when the outbox is full",
          GST_TYPE_INSTRUCT_BLIP_PUBLISH_DROP_POLICY, DEFAULT_DROP_POLICY,
          PARAM_PLAYING));
  g_object_class_install_property (oc, PROP_FLUSH_TIMEOUT,
      g_param_spec_uint64 ("flush-timeout", "Flush timeout",
          "On stop, how long (ns) queued and unacknowledged messages may "
          "still take to go out",
          0, G_MAXUINT64, DEFAULT_FLUSH_TIMEOUT, PARAM_PLAYING));
  g_object_class_install_property (oc, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Counters since the last start: answers, published, delivered, "
          "failed, dropped, reconnects (guint64); queued, in-flight (guint); "
          "connected (gboolean)",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
}


void
gst_instruct_blip_publish_init_properties (GstInstructBlipPublish *self)
{
  self->props.method = DEFAULT_METHOD;
  self->props.topic = g_strdup (DEFAULT_TOPIC);
  self->props.max_files = DEFAULT_MAX_FILES;
  self->props.fsync_interval = DEFAULT_FSYNC_INTERVAL;
  self->props.qos = DEFAULT_QOS;
  self->props.keepalive = DEFAULT_KEEPALIVE;
  self->props.max_reconnect_delay = DEFAULT_MAX_RECONNECT_DELAY;
  self->props.source_id = g_strdup (g_get_host_name ());
  self->props.max_queue = DEFAULT_MAX_QUEUE;
  self->drop_policy = DEFAULT_DROP_POLICY;
  self->flush_timeout = DEFAULT_FLUSH_TIMEOUT;
}
