/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* method=file: JSON lines appended to file-path, rotated by size, synced
 * to disk at most every fsync-interval. */
#include "gstinstructblippublishtransport.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct
{
  GstInstructBlipPublishTransport base;
  GstInstructBlipPublishOutbox *ob;
  char *path;
  int fd;
  guint64 size;
  guint64 max_size;
  guint max_files;
  gint64 fsync_interval_us;
  gint64 synced_us;
  gboolean dirty;
  gboolean failing; /* warned about the current failure */
} GstInstructBlipPublishFile;

static int
open_file (const char *path, guint64 *size, GError **err)
{
  struct stat st;
  int fd = g_open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

  if (fd < 0) {
    int e = errno;
    g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE,
        "Cannot open \"%s\" for writing (property file-path): %s", path,
        g_strerror (e));
    return -1;
  }
  *size = fstat (fd, &st) == 0 ? (guint64) st.st_size : 0;
  return fd;
}

static void
sync_now (GstInstructBlipPublishFile *f)
{
  if (f->fd >= 0 && f->dirty)
    fdatasync (f->fd);
  f->dirty = FALSE;
  f->synced_us = g_get_monotonic_time ();
}

/* path.(n-1) -> path.n ... path -> path.1, then a fresh path; keeps
 * max_files rotated files (0: the full file is removed). */
static gboolean
rotate (GstInstructBlipPublishFile *f, GError **err)
{
  char *from, *to;
  guint i;

  sync_now (f);
  close (f->fd);
  f->fd = -1;
  for (i = f->max_files; i > 1; i--) {
    from = g_strdup_printf ("%s.%u", f->path, i - 1);
    to = g_strdup_printf ("%s.%u", f->path, i);
    g_rename (from, to);
    g_free (from);
    g_free (to);
  }
  if (f->max_files > 0) {
    to = g_strdup_printf ("%s.1", f->path);
    g_rename (f->path, to);
    g_free (to);
  } else {
    g_unlink (f->path);
  }
  f->fd = open_file (f->path, &f->size, err);
  return f->fd >= 0;
}

static gboolean
write_all (int fd, const guint8 *data, gsize len, GError **err)
{
  while (len > 0) {
    ssize_t n = write (fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_WRITE, "%s",
          g_strerror (e));
      return FALSE;
    }
    data += n;
    len -= n;
  }
  return TRUE;
}

static GstInstructBlipPublishResult
file_send (GstInstructBlipPublishTransport *t, GBytes *msg)
{
  GstInstructBlipPublishFile *f = (GstInstructBlipPublishFile *) t;
  GError *err = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (msg, &len);
  guint8 *line = g_malloc (len + 1);
  GstInstructBlipPublishResult res = GST_INSTRUCTBLIP_PUBLISH_SEND_FAILED;

  memcpy (line, data, len);
  line[len] = '\n';
  if (f->fd < 0)
    f->fd = open_file (f->path, &f->size, &err);
  else if (f->max_size > 0 && f->size > 0 && f->size + len + 1 > f->max_size)
    rotate (f, &err);
  if (f->fd >= 0 && err == NULL && write_all (f->fd, line, len + 1, &err)) {
    f->size += len + 1;
    f->dirty = TRUE;
    if (f->fsync_interval_us == 0)
      sync_now (f);
    gst_instructblip_publish_outbox_count (f->ob,
        GST_INSTRUCTBLIP_PUBLISH_DELIVERED, 1);
    f->failing = FALSE;
    res = GST_INSTRUCTBLIP_PUBLISH_SEND_OK;
  } else {
    /* one warning per run of failures (disk full, removed directory) */
    if (!f->failing)
      gst_instructblip_publish_outbox_warn (f->ob,
          "Cannot write to \"%s\" (property file-path): "
          "%s",
          f->path, err ? err->message : "not open");
    f->failing = TRUE;
  }
  g_clear_error (&err);
  g_free (line);
  return res;
}

static void
file_wait (GstInstructBlipPublishTransport *t, int timeout_ms)
{
  GstInstructBlipPublishFile *f = (GstInstructBlipPublishFile *) t;
  gint64 now = g_get_monotonic_time (), due;

  if (f->dirty) {
    due = f->synced_us + f->fsync_interval_us;
    if (now >= due) {
      sync_now (f);
    } else {
      timeout_ms = MIN (timeout_ms, (int) ((due - now + 999) / 1000));
    }
  }
  gst_instructblip_publish_poll (f->ob, -1, 0, timeout_ms);
}

static gboolean
file_ready (G_GNUC_UNUSED GstInstructBlipPublishTransport *t)
{
  return TRUE;
}

static guint
file_in_flight (G_GNUC_UNUSED GstInstructBlipPublishTransport *t)
{
  return 0;
}

static void
file_close (GstInstructBlipPublishTransport *t,
    G_GNUC_UNUSED gint64 deadline_us)
{
  GstInstructBlipPublishFile *f = (GstInstructBlipPublishFile *) t;

  sync_now (f);
  if (f->fd >= 0)
    close (f->fd);
  gst_instructblip_publish_outbox_set_connected (f->ob, FALSE);
  g_free (f->path);
  g_free (f);
}

GstInstructBlipPublishTransport *
gst_instructblip_publish_file_open (const GstInstructBlipPublishSettings *s,
    GstInstructBlipPublishOutbox *ob, GError **err)
{
  GstInstructBlipPublishFile *f;

  if (s->file_path == NULL || *s->file_path == '\0') {
    g_set_error (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "method=file needs a file-path");
    return NULL;
  }
  f = g_new0 (GstInstructBlipPublishFile, 1);
  f->base.ready = file_ready;
  f->base.send = file_send;
  f->base.wait = file_wait;
  f->base.in_flight = file_in_flight;
  f->base.close = file_close;
  f->ob = ob;
  f->path = g_strdup (s->file_path);
  f->max_size = s->max_file_size;
  f->max_files = s->max_files;
  f->fsync_interval_us = s->fsync_interval / GST_USECOND;
  f->synced_us = g_get_monotonic_time ();
  f->fd = open_file (f->path, &f->size, err);
  if (f->fd < 0) {
    g_free (f->path);
    g_free (f);
    return NULL;
  }
  gst_instructblip_publish_outbox_set_connected (ob, TRUE);
  return &f->base;
}
