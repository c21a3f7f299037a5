/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The instructblippublish element: passthrough; every answer it sees (on
 * buffers, optionally on the bus) goes as JSON through a bounded outbox to
 * a sender thread that writes a file or publishes to MQTT or Kafka. */

/**
 * SECTION:element-instructblippublish
 * @title: instructblippublish
 *
 * Publishes the answers of instructblip elements. Video passes through
 * untouched and is never delayed: each answer found on a buffer (the
 * "InstructBlipAnswerMeta") and, with #GstInstructBlipPublish:from-bus,
 * each "instructblip-answer" element message on the pipeline's bus becomes
 * one JSON object, queued in a bounded outbox (#GstInstructBlipPublish:max-queue,
 * #GstInstructBlipPublish:drop-policy) and sent by a thread of its own to
 * #GstInstructBlipPublish:method: a file of JSON lines (rotated by size), an
 * MQTT broker (libmosquitto) or Kafka (librdkafka). Counters are in
 * #GstInstructBlipPublish:stats.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! instructblip ! \
 *     instructblippublish method=mqtt address=broker:1883 \
 *     topic=site1/answers source-id=cam1 ! fakesink
 * gst-launch-1.0 videotestsrc ! instructblip ! instructblippublish \
 *     method=file file-path=answers.jsonl max-file-size=10000000 ! fakesink
 * ]|
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstinstructblippublishprivate.h"

#include "gstinstructblipmeta.h"
#include "gstinstructblippublishjson.h"

GST_DEBUG_CATEGORY (gst_instruct_blip_publish_debug);
#define GST_CAT_DEFAULT gst_instruct_blip_publish_debug

/* answers remembered to publish each once when both the meta and the bus
 * message are seen */
#define SEEN_MAX 256
/* elements walked upstream looking for the answering element */
#define UPSTREAM_MAX_HOPS 32

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

#define gst_instruct_blip_publish_parent_class parent_class
G_DEFINE_TYPE (GstInstructBlipPublish, gst_instruct_blip_publish,
    GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (instructblippublish,
    "instructblippublish", GST_RANK_NONE, GST_TYPE_INSTRUCT_BLIP_PUBLISH,
    GST_DEBUG_CATEGORY_INIT (gst_instruct_blip_publish_debug,
        "instructblippublish", 0, "InstructBLIP answer publisher"));

/* ---- answers in ---- */

/* Identifies an answer across its two channels (meta and message carry
 * the same fields). */
static char *
answer_key (const GstStructure *s)
{
  guint id = 0;
  guint64 first = 0, last = 0, latency = 0;

  gst_structure_get_uint (s, "request-id", &id);
  gst_structure_get_uint64 (s, "first-pts", &first);
  gst_structure_get_uint64 (s, "last-pts", &last);
  gst_structure_get_uint64 (s, "latency", &latency);
  return g_strdup_printf ("%u/%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
                          "/%" G_GUINT64_FORMAT "/%s/%s",
      id, first, last, latency, gst_structure_get_string (s, "instruction"),
      gst_structure_get_string (s, "answer"));
}

/* Locked: TRUE if @s was published already; remembers it otherwise. */
static gboolean
seen_before (GstInstructBlipPublish *self, const GstStructure *s)
{
  char *key = answer_key (s);

  if (g_hash_table_contains (self->seen, key)) {
    g_free (key);
    return TRUE;
  }
  g_hash_table_add (self->seen, key);
  g_queue_push_tail (&self->seen_order, key);
  if (self->seen_order.length > SEEN_MAX)
    g_hash_table_remove (self->seen, g_queue_pop_head (&self->seen_order));
  return FALSE;
}

/* Unix time (ns) at running time 0: the pipeline clock mapped to the
 * real-time clock, while PLAYING. */
static gboolean
utc_at_rt0 (GstInstructBlipPublish *self, gint64 *out)
{
  GstClock *clock;
  GstClockTime base, now;
  gint64 real_ns;
  gboolean playing;

  GST_OBJECT_LOCK (self);
  playing = GST_STATE (self) == GST_STATE_PLAYING;
  GST_OBJECT_UNLOCK (self);
  clock = gst_element_get_clock (GST_ELEMENT (self));
  if (!playing || clock == NULL) {
    if (clock)
      gst_object_unref (clock);
    return FALSE;
  }
  base = gst_element_get_base_time (GST_ELEMENT (self));
  now = gst_clock_get_time (clock);
  real_ns = g_get_real_time () * 1000;
  gst_object_unref (clock);
  *out = real_ns - (gint64) (now - base);
  return TRUE;
}

static void
publish (GstInstructBlipPublish *self, const GstStructure *answer,
    const char *channel, const char *element, const GstSegment *segment)
{
  GstInstructBlipPublishJsonContext ctx = { 0 };
  char *source_id, *publisher;
  GBytes *msg;

  ctx.utc_valid = utc_at_rt0 (self, &ctx.utc_at_rt0);
  ctx.now_us = g_get_real_time ();
  GST_OBJECT_LOCK (self);
  source_id = g_strdup (self->props.source_id);
  GST_OBJECT_UNLOCK (self);
  publisher = gst_element_get_name (self);
  ctx.source_id = source_id;
  ctx.publisher = publisher;
  ctx.element = element;
  ctx.channel = channel;
  ctx.segment = segment;

  g_mutex_lock (&self->lock);
  if (self->outbox && !(self->seen && seen_before (self, answer))) {
    ctx.pipeline = self->pipeline_name;
    ctx.seq = ++self->seq;
    msg = gst_instructblip_publish_json_answer (answer, &ctx);
    GST_LOG_OBJECT (self, "%s answer: %.*s", channel,
        (int) g_bytes_get_size (msg),
        (const char *) g_bytes_get_data (msg, NULL));
    gst_instructblip_publish_outbox_push (self->outbox, msg);
  }
  g_mutex_unlock (&self->lock);
  g_free (source_id);
  g_free (publisher);
}

/* The nearest instructblip upstream, through elements with one sink pad
 * and through bins. (transfer full) */
static char *
find_answerer (GstInstructBlipPublish *self)
{
  GstPad *pad = gst_object_ref (GST_BASE_TRANSFORM_SINK_PAD (self)), *peer;
  GstElement *el;
  GstElementFactory *f;
  char *name = NULL;
  guint hops;

  for (hops = 0; pad && name == NULL && hops < UPSTREAM_MAX_HOPS; hops++) {
    peer = gst_pad_get_peer (pad);
    gst_clear_object (&pad);
    /* a ghost pad of an upstream bin: its target */
    while (peer && GST_IS_GHOST_PAD (peer)) {
      GstPad *target = gst_ghost_pad_get_target (GST_GHOST_PAD (peer));
      gst_object_unref (peer);
      peer = target;
    }
    if (peer == NULL)
      break;
    /* inside a bin: the proxy of the bin's sink ghost pad */
    if (GST_IS_PROXY_PAD (peer) && !GST_IS_GHOST_PAD (peer) &&
        GST_IS_GHOST_PAD (GST_OBJECT_PARENT (peer))) {
      pad = GST_PAD (gst_object_get_parent (GST_OBJECT (peer)));
      gst_object_unref (peer);
      continue;
    }
    el = gst_pad_get_parent_element (peer);
    gst_object_unref (peer);
    if (el == NULL)
      break;
    f = gst_element_get_factory (el);
    if (f && g_str_equal (GST_OBJECT_NAME (f), "instructblip")) {
      name = gst_element_get_name (el);
    } else {
      GST_OBJECT_LOCK (el);
      if (el->numsinkpads == 1)
        pad = gst_object_ref (el->sinkpads->data);
      GST_OBJECT_UNLOCK (el);
    }
    gst_object_unref (el);
  }
  gst_clear_object (&pad);
  return name;
}

static GstFlowReturn
gst_instruct_blip_publish_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstInstructBlipPublish *self = GST_INSTRUCT_BLIP_PUBLISH (trans);
  gpointer state = NULL;
  GstMeta *meta;

  while ((meta = gst_buffer_iterate_meta (buf, &state))) {
    if (!gst_meta_info_is_custom (meta->info) ||
        !gst_custom_meta_has_name ((GstCustomMeta *) meta,
            GST_INSTRUCT_BLIP_META_NAME))
      continue;
    if (!self->looked_upstream) {
      self->upstream_name = find_answerer (self);
      self->looked_upstream = TRUE;
    }
    publish (self, gst_custom_meta_get_structure ((GstCustomMeta *) meta),
        "meta", self->upstream_name, &trans->segment);
  }
  return GST_FLOW_OK;
}

static gboolean
gst_instruct_blip_publish_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstInstructBlipPublish *self = GST_INSTRUCT_BLIP_PUBLISH (trans);

  /* the stream may have been relinked */
  if (GST_EVENT_TYPE (event) == GST_EVENT_STREAM_START) {
    g_clear_pointer (&self->upstream_name, g_free);
    self->looked_upstream = FALSE;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

/* Any thread (sync-message): answers of instructblip elements anywhere in
 * the pipeline. */
static void
on_bus_message (G_GNUC_UNUSED GstBus *bus, GstMessage *msg, gpointer data)
{
  GstInstructBlipPublish *self = data;
  const GstStructure *s = gst_message_get_structure (msg);
  GstElement *src;
  GstPad *pad = NULL;
  GstEvent *ev = NULL;
  const GstSegment *segment = NULL;

  if (s == NULL || !gst_structure_has_name (s, GST_INSTRUCT_BLIP_ANSWER_NAME))
    return;
  /* the answering element's segment turns its PTS into running time */
  if (GST_IS_ELEMENT (GST_MESSAGE_SRC (msg))) {
    src = GST_ELEMENT (GST_MESSAGE_SRC (msg));
    pad = gst_element_get_static_pad (src, "sink");
    if (pad)
      ev = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
    if (ev)
      gst_event_parse_segment (ev, &segment);
  }
  publish (self, s, "bus", GST_MESSAGE_SRC_NAME (msg), segment);
  if (ev)
    gst_event_unref (ev);
  if (pad)
    gst_object_unref (pad);
}

/* ---- the sender thread ---- */

/* What the sender thread owns: the transport; the outbox outlives it. */
typedef struct
{
  GstInstructBlipPublishOutbox *ob;
  GstInstructBlipPublishTransport *t;
} Sender;

static gpointer
sender_main (gpointer data)
{
  Sender *sender = data;
  GstInstructBlipPublishOutbox *ob = sender->ob;
  GstInstructBlipPublishTransport *t = sender->t;
  GstInstructBlipPublishStats stats;
  GBytes *msg;
  GstInstructBlipPublishResult res;
  gint64 deadline = 0, now;
  gboolean stopping;

  g_free (sender);
  for (;;) {
    stopping = gst_instructblip_publish_outbox_stopping (ob, &deadline);
    while (t->ready (t) && (msg = gst_instructblip_publish_outbox_pop (ob))) {
      res = t->send (t, msg);
      if (res == GST_INSTRUCTBLIP_PUBLISH_SEND_RETRY) {
        gst_instructblip_publish_outbox_unpop (ob, msg);
        break;
      }
      gst_instructblip_publish_outbox_count (ob,
          res == GST_INSTRUCTBLIP_PUBLISH_SEND_OK ?
              GST_INSTRUCTBLIP_PUBLISH_PUBLISHED :
              GST_INSTRUCTBLIP_PUBLISH_FAILED,
          1);
      g_bytes_unref (msg);
    }
    now = g_get_monotonic_time ();
    if (stopping) {
      gst_instructblip_publish_outbox_get_stats (ob, &stats);
      if ((stats.queued == 0 && t->in_flight (t) == 0) || now >= deadline)
        break;
    }
    t->wait (t,
        stopping ? (int) CLAMP ((deadline - now) / 1000, 1, 1000) : 1000);
  }
  t->close (t, deadline);
  /* what never left is dropped */
  gst_instructblip_publish_outbox_drop_all (ob);
  return NULL;
}

/* ---- lifecycle ---- */

static void
copy_settings (GstInstructBlipPublishSettings *dst,
    const GstInstructBlipPublishSettings *src)
{
  *dst = *src;
  dst->address = g_strdup (src->address);
  dst->topic = g_strdup (src->topic);
  dst->file_path = g_strdup (src->file_path);
  dst->client_id = g_strdup (src->client_id);
  dst->tls_ca_file = g_strdup (src->tls_ca_file);
  dst->tls_cert_file = g_strdup (src->tls_cert_file);
  dst->tls_key_file = g_strdup (src->tls_key_file);
  dst->username = g_strdup (src->username);
  dst->password = g_strdup (src->password);
  dst->source_id = g_strdup (src->source_id);
}

/* The top-level bin holding the element, or the element. (transfer full) */
static GstObject *
top_level (GstInstructBlipPublish *self)
{
  GstObject *top = gst_object_ref (GST_OBJECT (self)), *parent;

  while ((parent = gst_object_get_parent (top))) {
    gst_object_unref (top);
    top = parent;
  }
  return top;
}

static void
watch_bus (GstInstructBlipPublish *self, GstObject *top)
{
  self->bus = gst_element_get_bus (GST_ELEMENT (top));
  if (self->bus == NULL) {
    GST_WARNING_OBJECT (self, "from-bus: no bus to watch");
    return;
  }
  gst_bus_enable_sync_message_emission (self->bus);
  self->bus_handler = g_signal_connect (self->bus, "sync-message::element",
      G_CALLBACK (on_bus_message), self);
}

static void
unwatch_bus (GstInstructBlipPublish *self)
{
  if (self->bus == NULL)
    return;
  g_signal_handler_disconnect (self->bus, self->bus_handler);
  gst_bus_disable_sync_message_emission (self->bus);
  gst_clear_object (&self->bus);
  self->bus_handler = 0;
}

static gboolean
gst_instruct_blip_publish_start (GstBaseTransform *trans)
{
  GstInstructBlipPublish *self = GST_INSTRUCT_BLIP_PUBLISH (trans);
  GstInstructBlipPublishSettings s;
  GstInstructBlipPublishOutbox *ob;
  GstInstructBlipPublishTransport *t = NULL;
  Sender *sender;
  GstObject *top;
  GError *err = NULL;
  gboolean from_bus, drop_oldest;

  GST_OBJECT_LOCK (self);
  copy_settings (&s, &self->props);
  from_bus = self->from_bus;
  drop_oldest = self->drop_policy == GST_INSTRUCT_BLIP_PUBLISH_DROP_OLDEST;
  GST_OBJECT_UNLOCK (self);

  ob = gst_instructblip_publish_outbox_new (GST_ELEMENT (self), s.max_queue,
      drop_oldest, &err);
  if (ob) {
    switch (s.method) {
      case GST_INSTRUCT_BLIP_PUBLISH_FILE:
        t = gst_instructblip_publish_file_open (&s, ob, &err);
        break;
      case GST_INSTRUCT_BLIP_PUBLISH_MQTT:
        t = gst_instructblip_publish_mqtt_open (&s, ob, &err);
        break;
      case GST_INSTRUCT_BLIP_PUBLISH_KAFKA:
        t = gst_instructblip_publish_kafka_open (&s, ob, &err);
        break;
      default:
        g_set_error (&err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
            "Unknown method %d (property method)", s.method);
        break;
    }
  }
  gst_instructblip_publish_settings_clear (&s);
  if (t == NULL) {
    gst_element_message_full (GST_ELEMENT (self), GST_MESSAGE_ERROR,
        err->domain, err->code, g_strdup (err->message), NULL, __FILE__,
        GST_FUNCTION, __LINE__);
    g_clear_error (&err);
    gst_instructblip_publish_outbox_free (ob);
    return FALSE;
  }

  top = top_level (self);
  g_mutex_lock (&self->lock);
  self->outbox = ob;
  self->seq = 0;
  g_free (self->pipeline_name);
  self->pipeline_name =
      top != GST_OBJECT (self) ? gst_object_get_name (top) : NULL;
  if (from_bus) {
    self->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    g_queue_init (&self->seen_order);
  }
  g_mutex_unlock (&self->lock);
  if (from_bus)
    watch_bus (self, top);
  gst_object_unref (top);
  self->looked_upstream = FALSE;
  sender = g_new (Sender, 1);
  sender->ob = ob;
  sender->t = t;
  self->sender = g_thread_new ("ibpublish", sender_main, sender);
  return TRUE;
}

static gboolean
gst_instruct_blip_publish_stop (GstBaseTransform *trans)
{
  GstInstructBlipPublish *self = GST_INSTRUCT_BLIP_PUBLISH (trans);
  GstInstructBlipPublishOutbox *ob;
  GstClockTime flush;

  unwatch_bus (self);
  GST_OBJECT_LOCK (self);
  flush = self->flush_timeout;
  GST_OBJECT_UNLOCK (self);

  /* no new messages; the sender flushes for at most flush-timeout */
  g_mutex_lock (&self->lock);
  ob = self->outbox;
  self->outbox = NULL;
  g_mutex_unlock (&self->lock);
  if (ob) {
    gst_instructblip_publish_outbox_stop (ob,
        g_get_monotonic_time () + flush / GST_USECOND);
    g_thread_join (self->sender);
    self->sender = NULL;
    g_mutex_lock (&self->lock);
    gst_instructblip_publish_outbox_get_stats (ob, &self->last_stats);
    g_mutex_unlock (&self->lock);
    gst_instructblip_publish_outbox_free (ob);
  }
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->seen, g_hash_table_unref);
  g_queue_clear (&self->seen_order);
  g_clear_pointer (&self->pipeline_name, g_free);
  g_mutex_unlock (&self->lock);
  g_clear_pointer (&self->upstream_name, g_free);
  return TRUE;
}

/* ---- GObject ---- */

static void
gst_instruct_blip_publish_finalize (GObject *object)
{
  GstInstructBlipPublish *self = GST_INSTRUCT_BLIP_PUBLISH (object);

  gst_instructblip_publish_settings_clear (&self->props);
  g_free (self->upstream_name);
  g_free (self->pipeline_name);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_instruct_blip_publish_init (GstInstructBlipPublish *self)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);

  gst_base_transform_set_in_place (trans, TRUE);
  gst_base_transform_set_passthrough (trans, TRUE);
  g_mutex_init (&self->lock);
  gst_instruct_blip_publish_init_properties (self);
}

static void
gst_instruct_blip_publish_class_init (GstInstructBlipPublishClass *klass)
{
  GObjectClass *oc = G_OBJECT_CLASS (klass);
  GstElementClass *ec = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *tc = GST_BASE_TRANSFORM_CLASS (klass);

  oc->set_property = gst_instruct_blip_publish_set_property;
  oc->get_property = gst_instruct_blip_publish_get_property;
  oc->finalize = gst_instruct_blip_publish_finalize;
  gst_instruct_blip_publish_install_properties (oc);

  gst_element_class_add_static_pad_template (ec, &sink_template);
  gst_element_class_add_static_pad_template (ec, &src_template);
  gst_element_class_set_static_metadata (ec, "InstructBLIP answer publisher",
      "Filter/Analyzer/Video",
      "Publishes the answers of instructblip elements as JSON to a file, an "
      "MQTT broker or Kafka; video passes through untouched",
      "gst-instructblip developers");

  tc->start = GST_DEBUG_FUNCPTR (gst_instruct_blip_publish_start);
  tc->stop = GST_DEBUG_FUNCPTR (gst_instruct_blip_publish_stop);
  tc->transform_ip = GST_DEBUG_FUNCPTR (gst_instruct_blip_publish_transform_ip);
  tc->sink_event = GST_DEBUG_FUNCPTR (gst_instruct_blip_publish_sink_event);

  gst_type_mark_as_plugin_api (GST_TYPE_INSTRUCT_BLIP_PUBLISH_METHOD, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_INSTRUCT_BLIP_PUBLISH_DROP_POLICY, 0);
}
