/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The packed-weights cache (IbModelParams.weight_cache_dir): a second load
 * reads the packed weights from the entry the first wrote, and answers with
 * the same ids as a load without the cache, in every precision; a stale
 * key is a miss; a corrupted, truncated or foreign entry, an unwritable
 * directory and a full disk each cost exactly one warning and leave the
 * answer unchanged and no partial file behind.
 *
 * Linked with the engine's sources (not libinstructblip.so) to see whether
 * the weights came from the cache (IbModel.weights_from_cache). */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ib-model-private.h"

#define SIZE 24 /* frame side before the model's resize */
#define TOKENS 8

static const char *const fixtures[] = { "vicuna-tiny", "t5-tiny" };

typedef struct
{
  const char *fixture;
  IbPrecision precision;
} Case;

/* A copy of the fixture in a fresh directory (the tests modify files). */
static char *
copy_fixture (const char *fixture, char **tmp)
{
  char *src =
      g_test_build_filename (G_TEST_DIST, "data", "parity", fixture, NULL);
  char *dst, *cmd;
  GError *error = NULL;
  int status = 0;

  *tmp = g_dir_make_tmp ("ib-weight-cache-XXXXXX", &error);
  g_assert_no_error (error);
  dst = g_build_filename (*tmp, "model", NULL);
  cmd = g_strdup_printf ("cp -a '%s' '%s'", src, dst);
  g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  g_free (cmd);
  g_free (src);
  return dst;
}

static void
remove_tree (const char *dir)
{
  char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_true (g_spawn_command_line_sync (cmd, NULL, NULL, NULL, NULL));
  g_free (cmd);
}

/* IbModelParams.weight_cache_map for load() */
static gboolean map_entries = TRUE;

/* The model in @dir at @p with the cache in @cache (NULL: off); NULL and
 * the test skipped where the device has no such precision. */
static IbModel *
load (const char *dir, IbPrecision p, const char *cache)
{
  IbModelParams mp;
  GError *error = NULL;
  IbModel *m;

  ib_model_params_init (&mp);
  mp.precision = p;
  mp.device = "cpu";
  mp.weight_cache_dir = cache;
  mp.weight_cache_map = map_entries;
  m = ib_model_load (dir, &mp, &error);
  if (m == NULL &&
      (g_error_matches (error, IB_ERROR, IB_ERROR_NO_DEVICE) ||
          g_error_matches (error, IB_ERROR, IB_ERROR_UNSUPPORTED))) {
    g_test_skip (error->message);
    g_error_free (error);
    return NULL;
  }
  g_assert_no_error (error);
  return m;
}

/* Greedy ids for a made-up frame and question. */
static GArray *
answer (IbModel *m)
{
  guint8 *rgb = g_malloc (SIZE * SIZE * 3);
  IbImage img = { SIZE, SIZE, SIZE * 3, IB_PIXEL_FORMAT_RGB, rgb };
  IbContextParams cp;
  IbGenerateParams gp;
  GError *error = NULL;
  IbContext *ctx;
  IbAnswer *a;
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  int i;

  for (i = 0; i < SIZE * SIZE * 3; i++)
    rgb[i] = (guint8) (i * 37 + (i / 97) * 11);
  ib_context_params_init (&cp);
  cp.max_frames = 1;
  cp.max_prompt_tokens = 64;
  cp.max_new_tokens = TOKENS;
  cp.max_beams = 1;
  ctx = ib_context_new (m, &cp, &error);
  g_assert_no_error (error);
  g_assert_true (ib_context_set_frames (ctx, &img, 1, &error));
  g_assert_no_error (error);
  ib_generate_params_init (&gp);
  gp.max_new_tokens = TOKENS;
  a = ib_context_answer (ctx, "what is in the picture?", &gp, &error);
  g_assert_no_error (error);
  g_array_append_vals (ids, a->token_ids, a->n_tokens);
  ib_answer_free (a);
  ib_context_free (ctx);
  g_free (rgb);
  return ids;
}

static void
assert_same_ids (const GArray *a, const GArray *b)
{
  guint i;

  g_assert_cmpuint (a->len, ==, b->len);
  for (i = 0; i < a->len; i++)
    g_assert_cmpint (g_array_index (a, gint32, i), ==,
        g_array_index (b, gint32, i));
}

/* The files in @dir; *@entries counts the complete entries (*.ibw). */
static guint
count_files (const char *dir, guint *entries)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  *entries = 0;
  while (d && (name = g_dir_read_name (d)) != NULL) {
    n++;
    if (g_str_has_suffix (name, ".ibw") && name[0] != '.')
      (*entries)++;
  }
  if (d)
    g_dir_close (d);
  return n;
}

/* The one entry in @dir. */
static char *
entry_path (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  char *path = NULL;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".ibw")) {
      g_assert_null (path);
      path = g_build_filename (dir, name, NULL);
    }
  g_dir_close (d);
  g_assert_nonnull (path);
  return path;
}

/* Loads with @cache and checks the answer against @want; returns whether
 * the weights came from the cache. */
static gboolean
load_and_check (const char *dir, IbPrecision p, const char *cache,
    const GArray *want)
{
  IbModel *m = load (dir, p, cache);
  GArray *ids;
  gboolean hit;

  g_assert_nonnull (m);
  ids = answer (m);
  assert_same_ids (ids, want);
  hit = m->weights_from_cache;
  g_array_unref (ids);
  ib_model_unref (m);
  return hit;
}

/* whether this process maps @path (/proc/self/maps names mapped files) */
static gboolean
is_mapped (const char *path)
{
  char *maps = NULL;
  gboolean found;

  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  found = strstr (maps, path) != NULL;
  g_free (maps);
  return found;
}

static void
expect_one_warning (void)
{
  g_test_expect_message (NULL, G_LOG_LEVEL_WARNING, "packed-weights cache *");
}

/* Miss, then hit, same ids as without the cache; the hit reads nothing of
 * the checkpoint's tensors: they are overwritten in place (size and
 * modification time kept, so the key is unchanged) before the second
 * load. */
static void
test_hit (gconstpointer data)
{
  const Case *c = data;
  char *tmp, *dir = copy_fixture (c->fixture, &tmp);
  char *cache = g_build_filename (tmp, "cache", NULL);
  char *st = g_build_filename (dir, "model.safetensors", NULL);
  IbModel *m = load (dir, c->precision, NULL);
  GArray *want, *ids;
  guint entries;
  GStatBuf sb;
  char *entry;

  if (m == NULL)
    goto out;
  want = answer (m);
  ib_model_unref (m);

  g_assert_false (load_and_check (dir, c->precision, cache, want));
  g_assert_cmpuint (count_files (cache, &entries), ==, 1);
  g_assert_cmpuint (entries, ==, 1);

  {
    /* zeros over every tensor byte after the header */
    FILE *f = fopen (st, "r+b");
    guint64 hlen = 0;
    long end;
    guint8 *zeros;
    struct timespec times[2];

    g_assert_cmpint (g_stat (st, &sb), ==, 0);
    g_assert_nonnull (f);
    g_assert_cmpuint (fread (&hlen, 8, 1, f), ==, 1);
    hlen = GUINT64_FROM_LE (hlen);
    fseek (f, 0, SEEK_END);
    end = ftell (f);
    zeros = g_malloc0 (end - 8 - hlen);
    fseek (f, 8 + hlen, SEEK_SET);
    g_assert_cmpuint (fwrite (zeros, 1, end - 8 - hlen, f), ==, end - 8 - hlen);
    fclose (f);
    g_free (zeros);
    times[0] = sb.st_atim;
    times[1] = sb.st_mtim;
    g_assert_cmpint (utimensat (AT_FDCWD, st, times, 0), ==, 0);
  }
  g_assert_true (load_and_check (dir, c->precision, cache, want));
  g_assert_cmpuint (count_files (cache, &entries), ==, 1);

  /* read into memory instead of mapped: the same ids, nothing mapped */
  map_entries = FALSE;
  m = load (dir, c->precision, cache);
  g_assert_true (m->weights_from_cache);
  entry = entry_path (cache);
  g_assert_false (is_mapped (entry));
  ids = answer (m);
  assert_same_ids (ids, want);
  g_array_unref (ids);
  ib_model_unref (m);
  map_entries = TRUE;

  /* mapped (the default, CPU devices): the entry stays mapped while the
   * model lives, also after it is removed, and answers the same */
  m = load (dir, c->precision, cache);
  g_assert_true (m->weights_from_cache);
  g_assert_true (is_mapped (entry));
  g_assert_cmpint (g_unlink (entry), ==, 0);
  ids = answer (m);
  assert_same_ids (ids, want);
  g_array_unref (ids);
  ib_model_unref (m);
  g_assert_false (is_mapped (entry));
  g_free (entry);
  g_array_unref (want);
out:
  remove_tree (tmp);
  g_free (st);
  g_free (cache);
  g_free (dir);
  g_free (tmp);
}

/* Fills the cache for @dir and returns the ids without the cache. */
static GArray *
prepare (const char *dir, IbPrecision p, const char *cache)
{
  IbModel *m = load (dir, p, NULL);
  GArray *want;

  g_assert_nonnull (m);
  want = answer (m);
  ib_model_unref (m);
  g_assert_false (load_and_check (dir, p, cache, want));
  return want;
}

/* The checkpoint changes (a new modification time): a new key, a miss
 * without a warning, and the new entry replaces the old one (and a
 * crashed writer's temporary file older than a day). */
static void
test_stale (void)
{
  char *tmp, *dir = copy_fixture ("vicuna-tiny", &tmp);
  char *cache = g_build_filename (tmp, "cache", NULL);
  char *st = g_build_filename (dir, "model.safetensors", NULL);
  GArray *want = prepare (dir, IB_PRECISION_F16, cache);
  char *old = entry_path (cache), *new;
  guint entries;

  {
    /* a crashed writer's temporary files: one old, one maybe in use */
    char *base = g_path_get_basename (old);
    char *source = g_strndup (base, strchr (base, '-') - base);
    char *old_tmp = g_strdup_printf ("%s/.%s-x.ibw.AAAAAA", cache, source);
    char *new_tmp = g_strdup_printf ("%s/.%s-x.ibw.BBBBBB", cache, source);
    struct timespec two_days[2] = { { time (NULL) - 2 * 86400, 0 },
      { time (NULL) - 2 * 86400, 0 } };
    GError *error = NULL;

    g_assert_true (g_file_set_contents (old_tmp, "x", 1, &error));
    g_assert_true (g_file_set_contents (new_tmp, "x", 1, &error));
    g_assert_cmpint (utimensat (AT_FDCWD, old_tmp, two_days, 0), ==, 0);
    g_assert_cmpint (utimensat (AT_FDCWD, st, NULL, 0), ==, 0);
    g_usleep (10000);
    g_assert_false (load_and_check (dir, IB_PRECISION_F16, cache, want));
    g_assert_false (g_file_test (old_tmp, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (new_tmp, G_FILE_TEST_EXISTS));
    g_unlink (new_tmp);
    g_free (base);
    g_free (source);
    g_free (old_tmp);
    g_free (new_tmp);
  }
  new = entry_path (cache);
  g_assert_cmpstr (old, !=, new);
  g_assert_cmpuint (count_files (cache, &entries), ==, 1);
  g_assert_true (load_and_check (dir, IB_PRECISION_F16, cache, want));
  g_array_unref (want);
  remove_tree (tmp);
  g_free (old);
  g_free (new);
  g_free (st);
  g_free (cache);
  g_free (dir);
  g_free (tmp);
}

typedef enum
{
  DAMAGE_FLIP, /* one byte of a block's data */
  DAMAGE_TRUNCATE, /* the second half cut off */
  DAMAGE_FOREIGN, /* another precision's entry under this entry's name */
} Damage;

/* A damaged entry: one warning, the normal load, the same ids, and a new
 * entry that the next load uses without a warning. */
static void
test_damaged (gconstpointer data)
{
  const Damage damage = GPOINTER_TO_INT (data);
  char *tmp, *dir = copy_fixture ("vicuna-tiny", &tmp);
  char *cache = g_build_filename (tmp, "cache", NULL);
  GArray *want = prepare (dir, IB_PRECISION_F32, cache);
  char *path = entry_path (cache);
  char *contents = NULL;
  gsize len = 0;
  GError *error = NULL;
  guint entries;

  g_assert_true (g_file_get_contents (path, &contents, &len, &error));
  if (damage == DAMAGE_FLIP) {
    /* inside the first record's data, which starts after the 4 KiB
     * header: found by its checksum while loading */
    g_assert_cmpuint (len, >, 4096 + 64);
    contents[4096 + 16] ^= 0x10;
  } else if (damage == DAMAGE_TRUNCATE) {
    len /= 2;
  } else {
    /* an fp16 entry of the same checkpoint, renamed */
    char *other = g_build_filename (tmp, "other", NULL);
    char *opath;
    GArray *ids = prepare (dir, IB_PRECISION_F16, other);
    g_array_unref (ids);
    opath = entry_path (other);
    g_free (contents);
    g_assert_true (g_file_get_contents (opath, &contents, &len, &error));
    g_free (opath);
    g_free (other);
  }
  g_assert_true (g_file_set_contents (path, contents, len, &error));
  g_free (contents);

  expect_one_warning ();
  g_assert_false (load_and_check (dir, IB_PRECISION_F32, cache, want));
  g_test_assert_expected_messages ();
  /* damage found while loading: the entry is removed and the next load
   * writes it; found on opening: written anew by this load */
  g_assert_cmpuint (count_files (cache, &entries), ==,
      damage == DAMAGE_FLIP ? 0 : 1);
  g_assert_cmpuint (entries, ==, damage == DAMAGE_FLIP ? 0 : 1);
  g_assert_true (load_and_check (dir, IB_PRECISION_F32, cache, want) ==
      (damage != DAMAGE_FLIP));
  g_assert_true (load_and_check (dir, IB_PRECISION_F32, cache, want));
  g_array_unref (want);
  remove_tree (tmp);
  g_free (path);
  g_free (cache);
  g_free (dir);
  g_free (tmp);
}

/* A directory that cannot be created (a regular file in its path): one
 * warning, the normal load. */
static void
test_unwritable (void)
{
  char *tmp, *dir = copy_fixture ("vicuna-tiny", &tmp);
  char *file = g_build_filename (tmp, "file", NULL);
  char *cache = g_build_filename (file, "cache", NULL);
  IbModel *m = load (dir, IB_PRECISION_F32, NULL);
  GArray *want = answer (m);
  GError *error = NULL;

  ib_model_unref (m);
  g_assert_true (g_file_set_contents (file, "x", 1, &error));
  expect_one_warning ();
  g_assert_false (load_and_check (dir, IB_PRECISION_F32, cache, want));
  g_test_assert_expected_messages ();
  g_array_unref (want);
  remove_tree (tmp);
  g_free (file);
  g_free (cache);
  g_free (dir);
  g_free (tmp);
}

/* A full disk while the entry is written (a file size limit: writes past
 * it fail with EFBIG, as with ENOSPC): one warning, the normal load, and
 * nothing left in the directory. In a subprocess, for the limit. */
static void
test_full_disk (void)
{
  char *tmp, *dir, *cache;
  GArray *want;
  IbModel *m;
  struct rlimit lim = { 256 << 10, 256 << 10 };
  guint entries;

  if (!g_test_subprocess ()) {
    g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed ();
    return;
  }
  dir = copy_fixture ("vicuna-tiny", &tmp);
  cache = g_build_filename (tmp, "cache", NULL);
  m = load (dir, IB_PRECISION_F32, NULL);
  want = answer (m);
  ib_model_unref (m);
  signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &lim), ==, 0);
  expect_one_warning ();
  g_assert_false (load_and_check (dir, IB_PRECISION_F32, cache, want));
  g_test_assert_expected_messages ();
  g_assert_cmpuint (count_files (cache, &entries), ==, 0);
  g_array_unref (want);
  remove_tree (tmp);
  g_free (cache);
  g_free (dir);
  g_free (tmp);
}

int
main (int argc, char **argv)
{
  static const IbPrecision precisions[] = { IB_PRECISION_F32, IB_PRECISION_F16,
    IB_PRECISION_BF16, IB_PRECISION_Q8 };
  static Case cases[G_N_ELEMENTS (fixtures) * G_N_ELEMENTS (precisions)];
  guint f, p, n = 0;

  g_test_init (&argc, &argv, NULL);
  for (f = 0; f < G_N_ELEMENTS (fixtures); f++)
    for (p = 0; p < G_N_ELEMENTS (precisions); p++) {
      char *name = g_strdup_printf ("/weight-cache/hit/%s/%s", fixtures[f],
          ib_precision_to_string (precisions[p]));
      cases[n] = (Case){ fixtures[f], precisions[p] };
      g_test_add_data_func (name, &cases[n++], test_hit);
      g_free (name);
    }
  g_test_add_func ("/weight-cache/stale-key", test_stale);
  g_test_add_data_func ("/weight-cache/corrupted",
      GINT_TO_POINTER (DAMAGE_FLIP), test_damaged);
  g_test_add_data_func ("/weight-cache/truncated",
      GINT_TO_POINTER (DAMAGE_TRUNCATE), test_damaged);
  g_test_add_data_func ("/weight-cache/foreign-key",
      GINT_TO_POINTER (DAMAGE_FOREIGN), test_damaged);
  g_test_add_func ("/weight-cache/unwritable", test_unwritable);
  g_test_add_func ("/weight-cache/full-disk", test_full_disk);
  return g_test_run ();
}
