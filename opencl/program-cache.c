/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel program cache: binaries keyed by device, driver and source. */
#include "program-cache.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

/* Larger files are not ours: the whole kernel set compiles to a few MB. */
#define MAX_BINARY_BYTES (256u << 20)

char *
ib_cl_program_cache_default_dir (void)
{
  return g_build_filename (g_get_user_cache_dir (), "gst-instructblip",
      "kernels", NULL);
}

static void
add_field (GChecksum *sum, const char *s)
{
  /* with its NUL, so that fields cannot run into each other */
  g_checksum_update (sum, (const guchar *) s, strlen (s) + 1);
}

/* @dir/<sha256 of everything the binary depends on>.bin (transfer full) */
static char *
cache_path (IbClDevice *dev, const char *dir, const char *const *sources,
    guint n_sources, const char *options)
{
  const IbClDeviceInfo *info = ib_cl_device_get_info (dev);
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
  char driver[256] = "";
  char *name, *path;
  guint i;

  clGetDeviceInfo (ib_cl_device_get_id (dev), CL_DRIVER_VERSION,
      sizeof (driver) - 1, driver, NULL);
  add_field (sum, info->platform);
  add_field (sum, info->name);
  add_field (sum, info->version);
  add_field (sum, driver);
  add_field (sum, options ? options : "");
  for (i = 0; i < n_sources; i++)
    add_field (sum, sources[i]);
  name = g_strconcat (g_checksum_get_string (sum), ".bin", NULL);
  path = g_build_filename (dir, name, NULL);
  g_checksum_free (sum);
  g_free (name);
  return path;
}

/* The cached program at @path, built; NULL when there is none or it is
 * not usable (another driver, a damaged file): then the caller builds. */
static cl_program
load_binary (IbClDevice *dev, const char *path, const char *options)
{
  cl_device_id id = ib_cl_device_get_id (dev);
  cl_int st = CL_SUCCESS, binary_st = CL_SUCCESS;
  cl_program prog = NULL;
  const unsigned char *bytes;
  char *data = NULL;
  gsize len = 0;
  GStatBuf sb;

  if (g_stat (path, &sb) != 0 || sb.st_size <= 0 ||
      (guint64) sb.st_size > MAX_BINARY_BYTES ||
      !g_file_get_contents (path, &data, &len, NULL) || len == 0)
    goto out;
  bytes = (const unsigned char *) data;
  prog = clCreateProgramWithBinary (ib_cl_device_get_context (dev), 1, &id,
      &len, &bytes, &binary_st, &st);
  if (st == CL_SUCCESS && binary_st == CL_SUCCESS)
    st = clBuildProgram (prog, 1, &id, options, NULL, NULL);
  if ((st != CL_SUCCESS || binary_st != CL_SUCCESS) && prog) {
    clReleaseProgram (prog);
    prog = NULL;
  }
out:
  g_free (data);
  return prog;
}

/* Writes the binary of @prog to @path (atomically: a reader sees the old
 * file or the new one). */
static gboolean
store_binary (IbClDevice *dev, cl_program prog, const char *dir,
    const char *path, GError **error)
{
  unsigned char *binary = NULL;
  size_t size = 0;
  gboolean ok = FALSE;

  IB_CL_CHECK (clGetProgramInfo (prog, CL_PROGRAM_BINARY_SIZES, sizeof (size),
                   &size, NULL),
      error);
  if (size == 0 || size > MAX_BINARY_BYTES) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_UNSUPPORTED,
        "%s gives a program binary of %" G_GSIZE_FORMAT " bytes",
        ib_cl_device_get_info (dev)->name, size);
    goto out;
  }
  binary = g_malloc (size);
  IB_CL_CHECK (clGetProgramInfo (prog, CL_PROGRAM_BINARIES, sizeof (binary),
                   &binary, NULL),
      error);
  if (g_mkdir_with_parents (dir, 0755) != 0) {
    int e = errno;
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e),
        "cannot create %s: %s", dir, g_strerror (e));
    goto out;
  }
  ok = g_file_set_contents (path, (const char *) binary, size, error);
out:
  g_free (binary);
  return ok;
}

cl_program
ib_cl_program_cache_build (IbClDevice *dev, const char *dir,
    const char *const *sources, guint n_sources, const char *options,
    GError **error)
{
  static gint told;
  GError *store_error = NULL;
  cl_program prog = NULL;
  char *path = NULL;

  if (dir) {
    path = cache_path (dev, dir, sources, n_sources, options);
    prog = load_binary (dev, path, options);
    if (prog)
      goto out;
  }
  prog = ib_cl_program_build (dev, sources, n_sources, options, error);
  if (prog == NULL || dir == NULL)
    goto out;
  if (!store_binary (dev, prog, dir, path, &store_error)) {
    /* not an error: the next start compiles again; said once per process */
    if (g_atomic_int_compare_and_exchange (&told, 0, 1))
      g_message ("OpenCL kernel cache not written (%s); kernels are compiled "
                 "at every start",
          store_error->message);
    g_error_free (store_error);
  }
out:
  g_free (path);
  return prog;
}
