/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The publisher's outbox: a bounded queue of JSON messages between the
 * streaming thread and the sender thread, with a drop policy, a wake-up
 * pipe and the counters of the stats property. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct _GstInstructBlipPublishOutbox GstInstructBlipPublishOutbox;

typedef enum
{
  GST_INSTRUCTBLIP_PUBLISH_PUBLISHED, /* handed to the transport */
  GST_INSTRUCTBLIP_PUBLISH_DELIVERED, /* confirmed by the transport */
  GST_INSTRUCTBLIP_PUBLISH_FAILED, /* refused or lost by the transport */
  GST_INSTRUCTBLIP_PUBLISH_DROPPED, /* dropped by the policy, or left unsent at stop */
  GST_INSTRUCTBLIP_PUBLISH_RECONNECTS, /* connections re-established after a loss */
} GstInstructBlipPublishCounter;

typedef struct
{
  guint64 answers; /* messages taken in */
  guint64 published, delivered, failed, dropped, reconnects;
  guint queued; /* waiting in the outbox */
  guint in_flight; /* handed over, not yet confirmed */
  gboolean connected;
} GstInstructBlipPublishStats;

/* @owner receives the warnings (not referenced; it outlives the outbox).
 * NULL when the wake-up pipe cannot be made (@err set). */
GstInstructBlipPublishOutbox *gst_instructblip_publish_outbox_new (GstElement
                                                                       *owner,
    guint max_queue, gboolean drop_oldest, GError **err);
void gst_instructblip_publish_outbox_free (GstInstructBlipPublishOutbox *ob);
void gst_instructblip_publish_outbox_set_policy (GstInstructBlipPublishOutbox
                                                     *ob,
    guint max_queue, gboolean drop_oldest);

/* Any thread, never blocks: queues @msg (transfer full) or drops a message
 * by the policy, and wakes the sender. */
void gst_instructblip_publish_outbox_push (GstInstructBlipPublishOutbox *ob,
    GBytes *msg);

/* Sender thread: the oldest message (transfer full), or NULL. */
GBytes *gst_instructblip_publish_outbox_pop (GstInstructBlipPublishOutbox *ob);
/* Sender thread: puts back a message the transport could not take yet, at
 * the head (the policy applies if the outbox filled meanwhile). */
void gst_instructblip_publish_outbox_unpop (GstInstructBlipPublishOutbox *ob,
    GBytes *msg);
/* Sender thread: counts what is still queued as dropped. */
void gst_instructblip_publish_outbox_drop_all (
    GstInstructBlipPublishOutbox *ob);

/* The read end of the wake-up pipe: readable when the sender has work
 * (a new message, or stop). gst_instructblip_publish_outbox_clear_wake () drains it. */
int gst_instructblip_publish_outbox_wake_fd (GstInstructBlipPublishOutbox *ob);
void gst_instructblip_publish_outbox_clear_wake (
    GstInstructBlipPublishOutbox *ob);
void gst_instructblip_publish_outbox_wake (GstInstructBlipPublishOutbox *ob);

/* Stop: the sender flushes until @deadline_us (g_get_monotonic_time ()). */
void gst_instructblip_publish_outbox_stop (GstInstructBlipPublishOutbox *ob,
    gint64 deadline_us);
/* Sender thread: TRUE once stopping; @deadline_us gets the deadline. */
gboolean gst_instructblip_publish_outbox_stopping (GstInstructBlipPublishOutbox
                                                       *ob,
    gint64 *deadline_us);

void gst_instructblip_publish_outbox_count (GstInstructBlipPublishOutbox *ob,
    GstInstructBlipPublishCounter which, guint64 n);
void gst_instructblip_publish_outbox_set_in_flight (GstInstructBlipPublishOutbox
                                                        *ob,
    guint n);
/* Returns the previous value. */
gboolean
gst_instructblip_publish_outbox_set_connected (GstInstructBlipPublishOutbox *ob,
    gboolean connected);
void gst_instructblip_publish_outbox_get_stats (GstInstructBlipPublishOutbox
                                                    *ob,
    GstInstructBlipPublishStats *stats);

/* A GST_ELEMENT_WARNING (RESOURCE, WRITE) from the owner; no lock held. */
void gst_instructblip_publish_outbox_warn (GstInstructBlipPublishOutbox *ob,
    const char *format, ...) G_GNUC_PRINTF (2, 3);

G_END_DECLS
