/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The publisher's transports (file, MQTT, Kafka) behind one interface,
 * driven by the element's sender thread; and their settings. */
#pragma once

#include "gstinstructblippublish.h"
#include "gstinstructblippublishoutbox.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (gst_instruct_blip_publish_debug);

#define GST_INSTRUCTBLIP_PUBLISH_MQTT_PORT 1883
#define GST_INSTRUCTBLIP_PUBLISH_MQTTS_PORT 8883
#define GST_INSTRUCTBLIP_PUBLISH_KAFKA_PORT 9092

/* A copy of the element's properties, taken at start. */
typedef struct
{
  GstInstructBlipPublishMethod method;
  char *address; /* host:port (MQTT), brokers list (Kafka) */
  char *topic;
  char *file_path;
  guint64 max_file_size; /* bytes, 0 = no rotation */
  guint max_files; /* rotated files kept */
  GstClockTime fsync_interval;
  guint qos;
  char *client_id;
  guint keepalive; /* s */
  char *tls_ca_file, *tls_cert_file, *tls_key_file;
  char *username, *password;
  GstClockTime max_reconnect_delay;
  char *source_id;
  guint max_queue;
} GstInstructBlipPublishSettings;

void gst_instructblip_publish_settings_clear (
    GstInstructBlipPublishSettings *s);

typedef enum
{
  GST_INSTRUCTBLIP_PUBLISH_SEND_OK, /* handed over */
  GST_INSTRUCTBLIP_PUBLISH_SEND_RETRY, /* not now (not connected, transport queue full) */
  GST_INSTRUCTBLIP_PUBLISH_SEND_FAILED, /* refused for good */
} GstInstructBlipPublishResult;

typedef struct _GstInstructBlipPublishTransport GstInstructBlipPublishTransport;

/* Every call comes from the sender thread. */
struct _GstInstructBlipPublishTransport
{
  /* Whether send () may take a message now (connected, room in flight);
   * while not, messages stay in the outbox where the counters see them. */
  gboolean (*ready) (GstInstructBlipPublishTransport *t);
  GstInstructBlipPublishResult (
      *send) (GstInstructBlipPublishTransport *t, GBytes *msg);
  /* Does the network's work, waiting up to @timeout_ms for it or for the
   * outbox's wake-up fd. */
  void (*wait) (GstInstructBlipPublishTransport *t, int timeout_ms);
  /* Messages handed over and not confirmed yet. */
  guint (*in_flight) (GstInstructBlipPublishTransport *t);
  /* Flushes until @deadline_us (monotonic), counts what is left as failed,
   * and frees. */
  void (*close) (GstInstructBlipPublishTransport *t, gint64 deadline_us);
};

/* Each checks the settings and returns NULL with a GST_RESOURCE_ERROR
 * (SETTINGS for bad settings, OPEN_WRITE for a file that cannot be opened)
 * that names the property. No network I/O but name resolution. */
GstInstructBlipPublishTransport *
gst_instructblip_publish_file_open (const GstInstructBlipPublishSettings *s,
    GstInstructBlipPublishOutbox *ob, GError **err);
GstInstructBlipPublishTransport *
gst_instructblip_publish_mqtt_open (const GstInstructBlipPublishSettings *s,
    GstInstructBlipPublishOutbox *ob, GError **err);
GstInstructBlipPublishTransport *
gst_instructblip_publish_kafka_open (const GstInstructBlipPublishSettings *s,
    GstInstructBlipPublishOutbox *ob, GError **err);

/* Sender thread helper: waits up to @timeout_ms for the outbox's wake-up
 * fd (and @fd for @events when @fd >= 0); returns @fd's revents. */
short gst_instructblip_publish_poll (GstInstructBlipPublishOutbox *ob, int fd,
    short events, int timeout_ms);

/* "host:port", "[v6]:port", or "host" (then @default_port); errors name
 * the address property. */
gboolean gst_instructblip_publish_parse_host_port (const char *address,
    guint default_port, char **host, guint *port, GError **err);
/* Checks that @host resolves (getaddrinfo). */
gboolean gst_instructblip_publish_resolve (const char *host, guint port,
    GError **err);

G_END_DECLS
