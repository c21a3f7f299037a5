/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The publisher's bounded outbox, its wake-up pipe and its counters. */
#include "gstinstructblippublishoutbox.h"

#include <errno.h>
#include <glib-unix.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_EXTERN (gst_instruct_blip_publish_debug);
#define GST_CAT_DEFAULT gst_instruct_blip_publish_debug

struct _GstInstructBlipPublishOutbox
{
  GstElement *owner;
  GMutex lock;
  GQueue queue; /* GBytes * */
  guint max_queue;
  gboolean drop_oldest;
  gboolean stopping;
  gint64 deadline_us;
  GstInstructBlipPublishStats stats;
  int wake[2];
};

GstInstructBlipPublishOutbox *
gst_instructblip_publish_outbox_new (GstElement *owner, guint max_queue,
    gboolean drop_oldest, GError **err)
{
  GstInstructBlipPublishOutbox *ob = g_new0 (GstInstructBlipPublishOutbox, 1);

  if (!g_unix_open_pipe (ob->wake, FD_CLOEXEC, err)) {
    g_free (ob);
    return NULL;
  }
  g_unix_set_fd_nonblocking (ob->wake[0], TRUE, NULL);
  g_unix_set_fd_nonblocking (ob->wake[1], TRUE, NULL);
  ob->owner = owner;
  g_mutex_init (&ob->lock);
  g_queue_init (&ob->queue);
  ob->max_queue = MAX (max_queue, 1);
  ob->drop_oldest = drop_oldest;
  return ob;
}

void
gst_instructblip_publish_outbox_free (GstInstructBlipPublishOutbox *ob)
{
  if (ob == NULL)
    return;
  g_queue_clear_full (&ob->queue, (GDestroyNotify) g_bytes_unref);
  g_mutex_clear (&ob->lock);
  close (ob->wake[0]);
  close (ob->wake[1]);
  g_free (ob);
}

void
gst_instructblip_publish_outbox_set_policy (GstInstructBlipPublishOutbox *ob,
    guint max_queue, gboolean drop_oldest)
{
  g_mutex_lock (&ob->lock);
  ob->max_queue = MAX (max_queue, 1);
  ob->drop_oldest = drop_oldest;
  g_mutex_unlock (&ob->lock);
}

void
gst_instructblip_publish_outbox_wake (GstInstructBlipPublishOutbox *ob)
{
  const char c = 1;
  ssize_t n;

  /* a full pipe already wakes the sender */
  do
    n = write (ob->wake[1], &c, 1);
  while (n < 0 && errno == EINTR);
}

void
gst_instructblip_publish_outbox_clear_wake (GstInstructBlipPublishOutbox *ob)
{
  char buf[64];

  while (read (ob->wake[0], buf, sizeof buf) > 0)
    ;
}

int
gst_instructblip_publish_outbox_wake_fd (GstInstructBlipPublishOutbox *ob)
{
  return ob->wake[0];
}

/* Locked: makes room for one message by the policy. Returns FALSE when the
 * new message is the one to drop. */
static gboolean
make_room (GstInstructBlipPublishOutbox *ob)
{
  if (ob->queue.length < ob->max_queue)
    return TRUE;
  ob->stats.dropped++;
  if (!ob->drop_oldest)
    return FALSE;
  while (ob->queue.length >= ob->max_queue) {
    g_bytes_unref (g_queue_pop_head (&ob->queue));
    if (ob->queue.length >= ob->max_queue)
      ob->stats.dropped++;
  }
  return TRUE;
}

void
gst_instructblip_publish_outbox_push (GstInstructBlipPublishOutbox *ob,
    GBytes *msg)
{
  gboolean queued;

  g_mutex_lock (&ob->lock);
  ob->stats.answers++;
  queued = make_room (ob);
  if (queued)
    g_queue_push_tail (&ob->queue, msg);
  g_mutex_unlock (&ob->lock);
  if (queued)
    gst_instructblip_publish_outbox_wake (ob);
  else
    g_bytes_unref (msg);
}

GBytes *
gst_instructblip_publish_outbox_pop (GstInstructBlipPublishOutbox *ob)
{
  GBytes *msg;

  g_mutex_lock (&ob->lock);
  msg = g_queue_pop_head (&ob->queue);
  g_mutex_unlock (&ob->lock);
  return msg;
}

void
gst_instructblip_publish_outbox_unpop (GstInstructBlipPublishOutbox *ob,
    GBytes *msg)
{
  g_mutex_lock (&ob->lock);
  if (ob->queue.length < ob->max_queue) {
    g_queue_push_head (&ob->queue, msg);
  } else if (ob->drop_oldest) {
    /* msg is the oldest */
    ob->stats.dropped++;
    g_bytes_unref (msg);
  } else {
    ob->stats.dropped++;
    g_bytes_unref (g_queue_pop_tail (&ob->queue));
    g_queue_push_head (&ob->queue, msg);
  }
  g_mutex_unlock (&ob->lock);
}

void
gst_instructblip_publish_outbox_drop_all (GstInstructBlipPublishOutbox *ob)
{
  g_mutex_lock (&ob->lock);
  ob->stats.dropped += ob->queue.length;
  g_queue_clear_full (&ob->queue, (GDestroyNotify) g_bytes_unref);
  g_mutex_unlock (&ob->lock);
}

void
gst_instructblip_publish_outbox_stop (GstInstructBlipPublishOutbox *ob,
    gint64 deadline_us)
{
  g_mutex_lock (&ob->lock);
  ob->stopping = TRUE;
  ob->deadline_us = deadline_us;
  g_mutex_unlock (&ob->lock);
  gst_instructblip_publish_outbox_wake (ob);
}

gboolean
gst_instructblip_publish_outbox_stopping (GstInstructBlipPublishOutbox *ob,
    gint64 *deadline_us)
{
  gboolean stopping;

  g_mutex_lock (&ob->lock);
  stopping = ob->stopping;
  if (deadline_us)
    *deadline_us = ob->deadline_us;
  g_mutex_unlock (&ob->lock);
  return stopping;
}

void
gst_instructblip_publish_outbox_count (GstInstructBlipPublishOutbox *ob,
    GstInstructBlipPublishCounter which, guint64 n)
{
  g_mutex_lock (&ob->lock);
  switch (which) {
    case GST_INSTRUCTBLIP_PUBLISH_PUBLISHED:
      ob->stats.published += n;
      break;
    case GST_INSTRUCTBLIP_PUBLISH_DELIVERED:
      ob->stats.delivered += n;
      break;
    case GST_INSTRUCTBLIP_PUBLISH_FAILED:
      ob->stats.failed += n;
      break;
    case GST_INSTRUCTBLIP_PUBLISH_DROPPED:
      ob->stats.dropped += n;
      break;
    case GST_INSTRUCTBLIP_PUBLISH_RECONNECTS:
      ob->stats.reconnects += n;
      break;
  }
  g_mutex_unlock (&ob->lock);
}

void
gst_instructblip_publish_outbox_set_in_flight (GstInstructBlipPublishOutbox *ob,
    guint n)
{
  g_mutex_lock (&ob->lock);
  ob->stats.in_flight = n;
  g_mutex_unlock (&ob->lock);
}

gboolean
gst_instructblip_publish_outbox_set_connected (GstInstructBlipPublishOutbox *ob,
    gboolean connected)
{
  gboolean was;

  g_mutex_lock (&ob->lock);
  was = ob->stats.connected;
  ob->stats.connected = connected;
  g_mutex_unlock (&ob->lock);
  return was;
}

void
gst_instructblip_publish_outbox_get_stats (GstInstructBlipPublishOutbox *ob,
    GstInstructBlipPublishStats *stats)
{
  g_mutex_lock (&ob->lock);
  *stats = ob->stats;
  stats->queued = ob->queue.length;
  g_mutex_unlock (&ob->lock);
}

void
gst_instructblip_publish_outbox_warn (GstInstructBlipPublishOutbox *ob,
    const char *format, ...)
{
  va_list args;
  char *text;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  GST_WARNING_OBJECT (ob->owner, "%s", text);
  gst_element_message_full (ob->owner, GST_MESSAGE_WARNING, GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_WRITE, text, NULL, __FILE__, GST_FUNCTION, __LINE__);
}
