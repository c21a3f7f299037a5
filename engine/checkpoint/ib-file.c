/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bounded whole-file reads and existence checks that tell a missing file from an unreadable one. */
#include "ib-file-private.h"
#include "ib-error.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

int
ib_file_probe (const char *path, GError **error)
{
  GStatBuf sb;
  int saved;

  if (g_stat (path, &sb) == 0)
    return 1;
  saved = errno;
  if (saved == ENOENT)
    return 0;
  g_set_error (error, IB_ERROR, IB_ERROR_IO, "%s: cannot read: %s", path,
      g_strerror (saved));
  return -1;
}

gboolean
ib_file_read (const char *path, gsize max_bytes, gchar **contents,
    gsize *length, gboolean *missing, GError **error)
{
  struct stat sb;
  gchar *buf = NULL;
  gsize done = 0;
  gboolean ok = FALSE;
  int fd, saved;

  if (missing)
    *missing = FALSE;
  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    saved = errno;
    if (missing)
      *missing = saved == ENOENT;
    if (saved == ENOENT)
      g_set_error (error, IB_ERROR, IB_ERROR_IO, "%s: missing (%s)", path,
          g_strerror (saved));
    else
      g_set_error (error, IB_ERROR, IB_ERROR_IO, "%s: cannot read: %s", path,
          g_strerror (saved));
    return FALSE;
  }
  if (fstat (fd, &sb) != 0 || !S_ISREG (sb.st_mode)) {
    g_set_error (error, IB_ERROR, IB_ERROR_IO,
        "%s: cannot read: not a regular file", path);
    goto out;
  }
  if ((guint64) sb.st_size > max_bytes) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: the file has %" G_GUINT64_FORMAT " bytes; a file of its kind "
        "may have at most %" G_GSIZE_FORMAT,
        path, (guint64) sb.st_size, max_bytes);
    goto out;
  }
  /* read at most max_bytes + 1: a file that grows is still bounded */
  buf = g_try_malloc ((gsize) sb.st_size + 2);
  if (buf == NULL) {
    g_set_error (error, IB_ERROR, IB_ERROR_NO_MEMORY,
        "%s: no memory to read %" G_GUINT64_FORMAT " bytes", path,
        (guint64) sb.st_size);
    goto out;
  }
  for (;;) {
    gssize n = read (fd, buf + done, (gsize) sb.st_size + 1 - done);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      g_set_error (error, IB_ERROR, IB_ERROR_IO, "%s: cannot read: %s", path,
          g_strerror (errno));
      goto out;
    }
    if (n == 0)
      break;
    done += (gsize) n;
    if (done > (gsize) sb.st_size) {
      g_set_error (error, IB_ERROR, IB_ERROR_IO,
          "%s: cannot read: the file grew while it was read", path);
      goto out;
    }
  }
  buf[done] = '\0';
  *contents = g_steal_pointer (&buf);
  *length = done;
  ok = TRUE;

out:
  g_free (buf);
  close (fd);
  return ok;
}
