/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The publisher's outbox: a bounded queue of JSON messages between the
 * streaming thread and the sender thread, with a drop policy, a wake-up
 * pipe and the counters of the stats property. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct _IbPubOutbox IbPubOutbox;

typedef enum
{
  IB_PUB_PUBLISHED, /* handed to the transport */
  IB_PUB_DELIVERED, /* confirmed by the transport */
  IB_PUB_FAILED, /* refused or lost by the transport */
  IB_PUB_DROPPED, /* dropped by the policy, or left unsent at stop */
  IB_PUB_RECONNECTS, /* connections re-established after a loss */
} IbPubCounter;

typedef struct
{
  guint64 answers; /* messages taken in */
  guint64 published, delivered, failed, dropped, reconnects;
  guint queued; /* waiting in the outbox */
  guint in_flight; /* handed over, not yet confirmed */
  gboolean connected;
} IbPubStats;

/* @owner receives the warnings (not referenced; it outlives the outbox).
 * NULL when the wake-up pipe cannot be made (@err set). */
IbPubOutbox *ib_pub_outbox_new (GstElement *owner, guint max_queue,
    gboolean drop_oldest, GError **err);
void ib_pub_outbox_free (IbPubOutbox *ob);
void ib_pub_outbox_set_policy (IbPubOutbox *ob, guint max_queue,
    gboolean drop_oldest);

/* Any thread, never blocks: queues @msg (transfer full) or drops a message
 * by the policy, and wakes the sender. */
void ib_pub_outbox_push (IbPubOutbox *ob, GBytes *msg);

/* Sender thread: the oldest message (transfer full), or NULL. */
GBytes *ib_pub_outbox_pop (IbPubOutbox *ob);
/* Sender thread: puts back a message the transport could not take yet, at
 * the head (the policy applies if the outbox filled meanwhile). */
void ib_pub_outbox_unpop (IbPubOutbox *ob, GBytes *msg);
/* Sender thread: counts what is still queued as dropped. */
void ib_pub_outbox_drop_all (IbPubOutbox *ob);

/* The read end of the wake-up pipe: readable when the sender has work
 * (a new message, or stop). ib_pub_outbox_clear_wake () drains it. */
int ib_pub_outbox_wake_fd (IbPubOutbox *ob);
void ib_pub_outbox_clear_wake (IbPubOutbox *ob);
void ib_pub_outbox_wake (IbPubOutbox *ob);

/* Stop: the sender flushes until @deadline_us (g_get_monotonic_time ()). */
void ib_pub_outbox_stop (IbPubOutbox *ob, gint64 deadline_us);
/* Sender thread: TRUE once stopping; @deadline_us gets the deadline. */
gboolean ib_pub_outbox_stopping (IbPubOutbox *ob, gint64 *deadline_us);

void ib_pub_outbox_count (IbPubOutbox *ob, IbPubCounter which, guint64 n);
void ib_pub_outbox_set_in_flight (IbPubOutbox *ob, guint n);
/* Returns the previous value. */
gboolean ib_pub_outbox_set_connected (IbPubOutbox *ob, gboolean connected);
void ib_pub_outbox_get_stats (IbPubOutbox *ob, IbPubStats *stats);

/* A GST_ELEMENT_WARNING (RESOURCE, WRITE) from the owner; no lock held. */
void ib_pub_outbox_warn (IbPubOutbox *ob, const char *format, ...)
    G_GNUC_PRINTF (2, 3);

G_END_DECLS
