/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Compiled kernel programs on disk, so that later processes skip the
 * compiler: one file per platform, device, driver version, build options
 * and source text. */
#pragma once

#include "device.h"

G_BEGIN_DECLS

/* $XDG_CACHE_HOME/gst-instructblip/kernels. (transfer full) */
char *ib_cl_program_cache_default_dir (void);

/* The program of @n_sources sources for @dev built with @options: from a
 * binary cached in @dir (NULL: no cache) when there is a valid one, else
 * built from source (ib_cl_program_build), its binary then stored in @dir.
 * A cache that cannot be read, created or written only costs the time of
 * a build (one message per process says so); errors are those of the
 * source build. (transfer full) */
cl_program ib_cl_program_cache_build (IbClDevice *dev, const char *dir,
    const char *const *sources, guint n_sources, const char *options,
    GError **error);

G_END_DECLS
