/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the libFuzzer targets: a private scratch directory, file writes, quiet logging. */
#include "fuzz-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib/gstdio.h>

static gchar *scratch;
static GHashTable *paths; /* name -> full path */

/* the sanitizers' runtime (every fuzz build has one) */
void __sanitizer_print_stack_trace (void);

/* Criticals and errors are findings: printed with the stack that logged
 * them, then an abort, on which libFuzzer saves the input (GLib's own fatal
 * path, G_BREAKPOINT, raises SIGTRAP, which leaves no input). */
static GLogWriterOutput
quiet_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields,
    gpointer user_data)
{
  if (!(level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)))
    return G_LOG_WRITER_HANDLED;
  g_log_writer_standard_streams (level, fields, n_fields, user_data);
  __sanitizer_print_stack_trace ();
  abort ();
}

void
fuzz_init_logging (void)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR);
  g_log_set_writer_func (quiet_writer, NULL, NULL);
}

static void
remove_scratch (void)
{
  GDir *dir;
  const char *name;

  if (scratch == NULL)
    return;
  dir = g_dir_open (scratch, 0, NULL);
  while (dir && (name = g_dir_read_name (dir)) != NULL) {
    gchar *p = g_build_filename (scratch, name, NULL);
    g_unlink (p);
    g_free (p);
  }
  if (dir)
    g_dir_close (dir);
  g_rmdir (scratch);
}

const char *
fuzz_scratch_dir (void)
{
  if (scratch == NULL) {
    const char *base = g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) ?
        "/dev/shm" :
        g_get_tmp_dir ();
    scratch = g_build_filename (base, "ib-fuzz-XXXXXX", NULL);
    if (g_mkdtemp (scratch) == NULL) {
      fprintf (stderr, "fuzz: cannot create %s: %s\n", scratch,
          g_strerror (errno));
      abort ();
    }
    paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    atexit (remove_scratch);
  }
  return scratch;
}

const char *
fuzz_write_file (const char *name, const guint8 *data, gsize size)
{
  const char *path;
  gsize done = 0;
  int fd;

  fuzz_scratch_dir ();
  path = g_hash_table_lookup (paths, name);
  if (path == NULL) {
    gchar *p = g_build_filename (scratch, name, NULL);
    g_hash_table_insert (paths, g_strdup (name), p);
    path = p;
  }
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    goto fail;
  while (done < size) {
    ssize_t n = write (fd, data + done, size - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      close (fd);
      goto fail;
    }
    done += (gsize) n;
  }
  if (close (fd) != 0)
    goto fail;
  return path;

fail:
  fprintf (stderr, "fuzz: cannot write %s: %s\n", path, g_strerror (errno));
  abort ();
}

void
fuzz_remove_file (const char *name)
{
  gchar *p = g_build_filename (fuzz_scratch_dir (), name, NULL);
  g_unlink (p);
  g_free (p);
}

gchar *
fuzz_source_path (const char *rel)
{
  return g_build_filename (FUZZ_SOURCE_ROOT, rel, NULL);
}

void
fuzz_copy_file (const char *src, const char *name)
{
  gchar *path =
      g_path_is_absolute (src) ? g_strdup (src) : fuzz_source_path (src);
  gchar *contents = NULL;
  gsize len = 0;
  GError *error = NULL;

  if (!g_file_get_contents (path, &contents, &len, &error)) {
    fprintf (stderr, "fuzz: %s\n", error->message);
    abort ();
  }
  fuzz_write_file (name, (const guint8 *) contents, len);
  g_free (contents);
  g_free (path);
}
