/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the libFuzzer targets: a private scratch directory, file writes, quiet logging. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Once per process: GLib criticals and errors abort (a finding); warnings,
 * messages and debug output are dropped (hostile input may warn, and
 * printing would dominate the run time). */
void fuzz_init_logging (void);

/* A directory of this process's own, created on first use (on /dev/shm
 * when it exists, else in the temporary directory) and removed with its
 * files at exit. */
const char *fuzz_scratch_dir (void);

/* Writes @size bytes to @name inside fuzz_scratch_dir() and returns the
 * path (owned by the helper, valid until the next call with @name). */
const char *fuzz_write_file (const char *name, const guint8 *data, gsize size);

/* Removes @name from the scratch directory, if present. */
void fuzz_remove_file (const char *name);

/* Copies @src (a path, or relative to the source tree) into the scratch
 * directory as @name; aborts if it cannot be read. */
void fuzz_copy_file (const char *src, const char *name);

/* @rel inside the source tree (FUZZ_SOURCE_ROOT); free with g_free(). */
gchar *fuzz_source_path (const char *rel);

G_END_DECLS
