/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel program cache: binaries keyed by device, driver and source. */
#include "program-cache.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

/* Larger files are not ours: the whole kernel set compiles to a few MB. */
#define MAX_BINARY_BYTES (256u << 20)

/* A cache file: MAGIC, the binary's length (8 bytes, little-endian), the
 * SHA-256 of the binary, the binary. Drivers do not check what they are
 * given (PoCL crashes on a truncated binary), so only a binary that arrives
 * whole reaches the driver. */
#define MAGIC "IBCLBIN1"
#define MAGIC_LEN 8
#define SHA256_LEN 32
#define HEADER_LEN (MAGIC_LEN + 8 + SHA256_LEN)

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

/* Length of the device part of a file name. */
#define DEVICE_KEY_LEN 16

/* @dir/<device>-<program>.bin: <device> from the platform, device and
 * driver (DEVICE_KEY_LEN hex digits), <program> the SHA-256 of all that and
 * the options and sources. (transfer full) */
static char *
cache_path (IbClDevice *dev, const char *dir, const char *const *sources,
    guint n_sources, const char *options)
{
  const IbClDeviceInfo *info = ib_cl_device_get_info (dev);
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256), *device_sum;
  char driver[256] = "";
  char *device_key, *name, *path;
  guint i;

  clGetDeviceInfo (ib_cl_device_get_id (dev), CL_DRIVER_VERSION,
      sizeof (driver) - 1, driver, NULL);
  add_field (sum, info->platform);
  add_field (sum, info->name);
  add_field (sum, info->version);
  add_field (sum, driver);
  device_sum = g_checksum_copy (sum); /* reading a checksum closes it */
  device_key = g_strndup (g_checksum_get_string (device_sum), DEVICE_KEY_LEN);
  g_checksum_free (device_sum);
  add_field (sum, options ? options : "");
  for (i = 0; i < n_sources; i++)
    add_field (sum, sources[i]);
  name = g_strdup_printf ("%s-%s.bin", device_key, g_checksum_get_string (sum));
  path = g_build_filename (dir, name, NULL);
  g_checksum_free (sum);
  g_free (device_key);
  g_free (name);
  return path;
}

static void
sha256 (const guint8 *data, gsize len, guint8 out[SHA256_LEN])
{
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize n = SHA256_LEN;

  g_checksum_update (sum, data, len);
  g_checksum_get_digest (sum, out, &n);
  g_checksum_free (sum);
}

/* The binary inside a cache file of @len bytes, or NULL when the file is
 * not one whole (magic, length and checksum). */
static const guint8 *
check_file (const guint8 *data, gsize len, gsize *binary_len)
{
  guint8 digest[SHA256_LEN];
  guint64 n;

  if (len <= HEADER_LEN || memcmp (data, MAGIC, MAGIC_LEN) != 0)
    return NULL;
  memcpy (&n, data + MAGIC_LEN, 8);
  n = GUINT64_FROM_LE (n);
  if (n != len - HEADER_LEN)
    return NULL;
  sha256 (data + HEADER_LEN, n, digest);
  if (memcmp (digest, data + MAGIC_LEN + 8, SHA256_LEN) != 0)
    return NULL;
  *binary_len = n;
  return data + HEADER_LEN;
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
      (guint64) sb.st_size > MAX_BINARY_BYTES + HEADER_LEN ||
      !g_file_get_contents (path, &data, &len, NULL))
    goto out;
  bytes = check_file ((const guint8 *) data, len, &len);
  if (bytes == NULL)
    goto out;
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

/* Removes the files of @path's device other than @path: binaries of
 * kernel sources that an older version of the library built. */
static void
remove_stale (const char *dir, const char *path)
{
  char *base = g_path_get_basename (path);
  const char *name;
  GDir *d = g_dir_open (dir, 0, NULL);

  while (d && (name = g_dir_read_name (d)) != NULL) {
    char *other;

    if (strncmp (name, base, DEVICE_KEY_LEN + 1) != 0 ||
        !g_str_has_suffix (name, ".bin") || strcmp (name, base) == 0)
      continue;
    other = g_build_filename (dir, name, NULL);
    g_remove (other);
    g_free (other);
  }
  if (d)
    g_dir_close (d);
  g_free (base);
}

/* Writes the binary of @prog to @path (atomically: a reader sees the old
 * file or the new one). */
static gboolean
store_binary (IbClDevice *dev, cl_program prog, const char *dir,
    const char *path, GError **error)
{
  unsigned char *file = NULL, *binary;
  size_t size = 0;
  guint64 size_le;
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
  file = g_malloc (HEADER_LEN + size);
  binary = file + HEADER_LEN;
  IB_CL_CHECK (clGetProgramInfo (prog, CL_PROGRAM_BINARIES, sizeof (binary),
                   &binary, NULL),
      error);
  memcpy (file, MAGIC, MAGIC_LEN);
  size_le = GUINT64_TO_LE ((guint64) size);
  memcpy (file + MAGIC_LEN, &size_le, 8);
  sha256 (binary, size, file + MAGIC_LEN + 8);
  if (g_mkdir_with_parents (dir, 0755) != 0) {
    int e = errno;
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e),
        "cannot create %s: %s", dir, g_strerror (e));
    goto out;
  }
  ok =
      g_file_set_contents (path, (const char *) file, HEADER_LEN + size, error);
  if (ok)
    remove_stale (dir, path);
out:
  g_free (file);
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
