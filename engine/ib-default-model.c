/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where the default model is: the source tree's copy for a library run from its build directory, else the installed copy found from the library's own location. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "instructblip.h"

/* engine/meson.build defines IB_BUILD_DIR (where the uninstalled library
 * is built), IB_SOURCE_MODEL_DIR (models/ of the source tree),
 * IB_LIBDIR_TO_MODEL_DIR (the installed model relative to the installed
 * library's folder) and IB_INSTALLED_MODEL_DIR (the configured path). */

/* the folder the library was loaded from, symlinks resolved, or NULL */
static char *
library_dir (void)
{
  Dl_info info;
  char *real, *dir;

  if (dladdr ((void *) ib_get_default_model_dir, &info) == 0 ||
      info.dli_fname == NULL)
    return NULL;
  real = realpath (info.dli_fname, NULL);
  if (real == NULL)
    return NULL;
  dir = g_path_get_dirname (real);
  free (real);
  return dir;
}

static char *
find_default_model_dir (void)
{
  char *lib = library_dir ();
  char *built = realpath (IB_BUILD_DIR, NULL);
  char *dir = NULL, *rel;

  if (lib != NULL && built != NULL && strcmp (lib, built) == 0) {
    dir = g_strdup (IB_SOURCE_MODEL_DIR);
    goto out;
  }
  if (lib != NULL) {
    rel = g_build_filename (lib, IB_LIBDIR_TO_MODEL_DIR, NULL);
    dir = g_canonicalize_filename (rel, NULL);
    g_free (rel);
  }
  /* moved without the model, or not found: the configured place */
  if (dir == NULL ||
      (!g_file_test (dir, G_FILE_TEST_IS_DIR) &&
          g_file_test (IB_INSTALLED_MODEL_DIR, G_FILE_TEST_IS_DIR))) {
    g_free (dir);
    dir = g_strdup (IB_INSTALLED_MODEL_DIR);
  }

out:
  free (built);
  g_free (lib);
  return dir;
}

const char *
ib_get_default_model_dir (void)
{
  static char *dir;

  if (g_once_init_enter (&dir)) {
    char *found = find_default_model_dir ();
    g_once_init_leave (&dir, found);
  }
  return dir;
}
