/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers of the instructblip-ask tests: fixture paths, raw frames, media files written with GStreamer. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* tests/<parts...> (G_TEST_SRCDIR is the tests directory); g_free it. */
char *ask_test_path (const char *first, ...) G_GNUC_NULL_TERMINATED;

/* The bytes of @path, which must hold exactly @len of them. */
guint8 *ask_test_read_exact (const char *path, gsize len);

/* Encodes @n_frames packed frames (@format "RGB" or "RGBA", rows of
 * width * bpp bytes) at 4 frames/s through @encoder (a gst-launch
 * fragment such as "matroskamux" or "pngenc") into @path. */
gboolean ask_test_encode (const char *path, const char *format, int width,
    int height, const guint8 *const *frames, int n_frames, const char *encoder,
    GError **error);

G_END_DECLS
