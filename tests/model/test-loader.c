/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The loader on a checkpoint whose file changes after it was opened: a
 * clean error naming the file, with and without the read-ahead thread. */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "ib-checkpoint.h"
#include "llama.h"
#include "vit.h"

/* A temp copy of parity fixture @name (its top-level files). */
static gchar *
copy_fixture (const char *name)
{
  gchar *src =
      g_test_build_filename (G_TEST_DIST, "data", "parity", name, NULL);
  GError *error = NULL;
  gchar *dst = g_dir_make_tmp ("ib-loader-XXXXXX", &error);
  const char *entry;
  GDir *dir;

  g_assert_no_error (error);
  dir = g_dir_open (src, 0, &error);
  g_assert_no_error (error);
  while ((entry = g_dir_read_name (dir)) != NULL) {
    gchar *from = g_build_filename (src, entry, NULL);
    gchar *to = g_build_filename (dst, entry, NULL);
    gchar *contents;
    gsize len;

    if (g_file_test (from, G_FILE_TEST_IS_REGULAR)) {
      g_assert_true (g_file_get_contents (from, &contents, &len, &error));
      g_assert_true (g_file_set_contents (to, contents, (gssize) len, &error));
      g_free (contents);
    }
    g_free (from);
    g_free (to);
  }
  g_dir_close (dir);
  g_free (src);
  return dst;
}

static void
remove_dir (gchar *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *entry;

  while (dir && (entry = g_dir_read_name (dir)) != NULL) {
    gchar *p = g_build_filename (path, entry, NULL);
    g_remove (p);
    g_free (p);
  }
  if (dir)
    g_dir_close (dir);
  g_rmdir (path);
  g_free (path);
}

/* Opens the checkpoint, truncates its weights to the header and one byte,
 * then loads the vision model: IB_ERROR_IO naming the file. */
static void
test_truncated (gconstpointer data)
{
  const gboolean read_ahead = GPOINTER_TO_INT (data);
  gchar *dir = copy_fixture ("vicuna-tiny");
  gchar *weights = g_build_filename (dir, "model.safetensors", NULL);
  IbClDeviceParams dp;
  IbLoader loader = { 0 };
  GError *error = NULL;
  IbCheckpoint *ckpt;
  const IbSafetensors *st;
  IbClDevice *dev;
  guint64 first = G_MAXUINT64;
  guint i;

  ib_cl_device_params_init (&dp);
  dev = ib_cl_device_new (&dp, &error);
  if (dev == NULL) {
    g_test_skip (error->message);
    g_error_free (error);
    goto out;
  }
  ckpt = ib_checkpoint_open (dir, &error);
  g_assert_no_error (error);
  st = ib_checkpoint_get_safetensors (ckpt);
  for (i = 0; i < ib_safetensors_get_n_tensors (st); i++)
    first = MIN (first, ib_safetensors_get_nth (st, i)->offset);
  g_assert_cmpint (truncate (weights, (off_t) first + 1), ==, 0);

  loader.dev = dev;
  loader.st = st;
  loader.storage = IB_CL_DTYPE_F16;
  if (read_ahead)
    ib_loader_read_ahead (&loader, ib_checkpoint_get_config (ckpt));
  g_assert_null (
      ib_vit_new (&loader, &ib_checkpoint_get_config (ckpt)->vision, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_IO);
  g_assert_nonnull (strstr (error->message, weights));
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  ib_loader_clear (&loader);
  ib_loader_clear (&loader); /* idempotent */
  ib_checkpoint_free (ckpt);
  ib_cl_device_unref (dev);
out:
  g_free (weights);
  remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/loader/truncated", GINT_TO_POINTER (FALSE),
      test_truncated);
  g_test_add_data_func ("/loader/truncated-read-ahead", GINT_TO_POINTER (TRUE),
      test_truncated);
  return g_test_run ();
}
