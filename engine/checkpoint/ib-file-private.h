/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal: bounded whole-file reads and existence checks that tell a missing file from an unreadable one. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* 1 if @path exists, 0 if it does not (ENOENT), -1 with IB_ERROR_IO
 * "<path>: cannot read: <reason>" if it cannot be checked (permission
 * denied on a directory, a symlink loop, ...). */
int ib_file_probe (const char *path, GError **error);

/* Reads the whole file @path if it has at most @max_bytes bytes. A missing
 * file is IB_ERROR_IO "<path>: missing (...)", with *@missing TRUE when
 * @missing is not NULL; any other failure (permission denied, a directory)
 * is IB_ERROR_IO "<path>: cannot read: <reason>"; a larger file is
 * IB_ERROR_FORMAT naming its size and @max_bytes. The contents are
 * NUL-terminated; free with g_free(). */
gboolean ib_file_read (const char *path, gsize max_bytes, gchar **contents,
    gsize *length, gboolean *missing, GError **error);

G_END_DECLS
