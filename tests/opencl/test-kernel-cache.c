/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel program cache (program-cache.h): a binary is written on the
 * first open and used on the next, a damaged one is rebuilt, and a
 * directory that cannot be written only costs the cache, with one message
 * (issue 12, item 6: an unwritable cache used to hide every device). The
 * process environment is never changed. */
#include <string.h>
#include <utime.h>

#include <glib/gstdio.h>

#include "ops.h"

/* Opens the default device with kernel cache @dir and checks that its
 * program runs: y = a + b on the device. NULL (the test skipped) when there
 * is no device, unless @required. */
static IbClDevice *
open_and_run (const char *dir, gboolean required)
{
  IbClDeviceParams p;
  GError *error = NULL;
  IbClDevice *dev;
  IbClQueue *q;
  IbClBuffer *a, *y;
  float v[5] = { 1, -2, 3.5f, 4, 0.25f }, w[5];
  int i;

  ib_cl_device_params_init (&p);
  p.cache_dir = dir;
  dev = ib_cl_device_new (&p, &error);
  if (required)
    g_assert_no_error (error);
  if (dev == NULL) {
    g_assert_true (
        g_error_matches (error, IB_CL_ERROR, IB_CL_ERROR_NO_DEVICE) ||
        g_error_matches (error, IB_CL_ERROR, IB_CL_ERROR_NO_PLATFORM));
    g_test_skip (error->message);
    g_error_free (error);
    return NULL;
  }
  q = ib_cl_queue_new (dev, &error);
  g_assert_no_error (error);
  a = ib_cl_buffer_new (dev, sizeof (v), &error);
  y = ib_cl_buffer_new (dev, sizeof (v), &error);
  g_assert_no_error (error);
  ib_cl_queue_upload (q, a, 0, v, sizeof (v));
  ib_cl_add (q, a, a, y, 5);
  ib_cl_queue_download (q, y, 0, w, sizeof (w));
  g_assert_true (ib_cl_queue_finish (q, &error));
  g_assert_no_error (error);
  for (i = 0; i < 5; i++)
    g_assert_cmpfloat (w[i], ==, 2 * v[i]);
  ib_cl_buffer_free (a);
  ib_cl_buffer_free (y);
  ib_cl_queue_free (q);
  return dev;
}

/* The one .bin file in @dir (transfer full), or NULL when there is none. */
static char *
only_binary (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  char *path = NULL;

  if (d == NULL)
    return NULL;
  while ((name = g_dir_read_name (d)) != NULL) {
    g_assert_null (path);
    g_assert_true (g_str_has_suffix (name, ".bin"));
    path = g_build_filename (dir, name, NULL);
  }
  g_dir_close (d);
  return path;
}

static gint64
mtime (const char *path)
{
  GStatBuf sb;

  g_assert_cmpint (g_stat (path, &sb), ==, 0);
  return sb.st_mtime;
}

/* Opening with @damaged (@damaged_len bytes) as @bin in @dir works and
 * writes the file again, whole: the cache's header and more than what was
 * there. */
static void
expect_rebuilt (const char *dir, const char *bin, const char *damaged,
    gsize damaged_len)
{
  char *contents;
  gsize len;

  g_assert_true (g_file_set_contents (bin, damaged, damaged_len, NULL));
  ib_cl_device_unref (open_and_run (dir, TRUE));
  g_assert_true (g_file_get_contents (bin, &contents, &len, NULL));
  g_assert_cmpuint (len, >, 100);
  g_assert_true (g_str_has_prefix (contents, "IBCLBIN1"));
  g_assert_false (len == damaged_len && memcmp (contents, damaged, len) == 0);
  g_free (contents);
}

static void
test_written_and_used (void)
{
  char *tmp = g_dir_make_tmp ("ibcl-kcache-XXXXXX", NULL);
  char *dir = g_build_filename (tmp, "kernels", NULL);
  IbClDevice *dev;
  char *bin, *good, *base, *stale, *other;
  gsize good_len;
  struct utimbuf old = { 1000000000, 1000000000 };

  /* first open: built from source, binary written */
  dev = open_and_run (dir, FALSE);
  if (dev == NULL)
    goto out;
  ib_cl_device_unref (dev);
  bin = only_binary (dir);
  g_assert_nonnull (bin);

  /* second open: the binary is used, not rewritten */
  g_assert_cmpint (g_utime (bin, &old), ==, 0);
  ib_cl_device_unref (open_and_run (dir, TRUE));
  g_assert_cmpint (mtime (bin), ==, old.modtime);

  /* damaged files (PoCL crashes on a truncated binary): rejected before
   * the driver sees them, built from source again and replaced */
  g_assert_true (g_file_get_contents (bin, &good, &good_len, NULL));
  g_assert_cmpuint (good_len, >, 100);
  expect_rebuilt (dir, bin, "not a program", 13);
  expect_rebuilt (dir, bin, good, good_len / 2);
  good[good_len - 100] ^= 0x5a; /* in the binary, not the header */
  expect_rebuilt (dir, bin, good, good_len);
  g_free (good);

  /* a new binary replaces the device's older ones (<device>-<program>.bin),
   * not other devices' */
  base = g_path_get_basename (bin);
  base[17] = '\0'; /* "<16 hex digits>-" */
  stale = g_strdup_printf ("%s/%sold.bin", dir, base);
  other = g_strdup_printf ("%s/0123456789abcdef-old.bin", dir);
  g_assert_true (g_file_set_contents (stale, "x", 1, NULL));
  g_assert_true (g_file_set_contents (other, "x", 1, NULL));
  expect_rebuilt (dir, bin, "x", 1);
  g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (other, G_FILE_TEST_EXISTS));
  g_assert_cmpint (g_remove (other), ==, 0);
  g_free (base);
  g_free (stale);
  g_free (other);
  g_free (bin);

  /* "" turns the cache off: nothing new is written */
  g_assert_cmpint (g_remove (bin = only_binary (dir)), ==, 0);
  g_free (bin);
  ib_cl_device_unref (open_and_run ("", TRUE));
  g_assert_null (only_binary (dir));
  g_assert_cmpint (g_rmdir (dir), ==, 0);
out:
  g_rmdir (tmp);
  g_free (dir);
  g_free (tmp);
}

/* A cache directory under a regular file cannot be created, whoever runs
 * the test (root too): the device opens and runs, and one message per
 * process says the cache is not written. In a fresh process, so that the
 * message is this process's first. */
static void
test_unwritable (void)
{
  char *tmp, *file, *dir;
  IbClDevice *dev;

  if (!g_test_subprocess ()) {
    /* without any device, skip; the child requires one */
    dev = open_and_run ("", FALSE);
    if (dev == NULL)
      return;
    ib_cl_device_unref (dev);
    g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC,
        G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed ();
    return;
  }

  tmp = g_dir_make_tmp ("ibcl-kcache-XXXXXX", NULL);
  file = g_build_filename (tmp, "file", NULL);
  dir = g_build_filename (file, "kernels", NULL);
  g_assert_true (g_file_set_contents (file, "", 0, NULL));
  /* the parent found a device */
  g_test_expect_message (NULL, G_LOG_LEVEL_MESSAGE,
      "OpenCL kernel cache not written (cannot create *" G_DIR_SEPARATOR_S
      "file" G_DIR_SEPARATOR_S "kernels: *); kernels are compiled at every "
      "start");
  dev = open_and_run (dir, TRUE);
  g_test_assert_expected_messages ();
  ib_cl_device_unref (dev);
  /* once per process: the second open says nothing (an unexpected message
   * would fail the test) */
  ib_cl_device_unref (open_and_run (dir, TRUE));
  g_remove (file);
  g_rmdir (tmp);
  g_free (dir);
  g_free (file);
  g_free (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/kernel-cache/written-and-used", test_written_and_used);
  g_test_add_func ("/kernel-cache/unwritable", test_unwritable);
  return g_test_run ();
}
