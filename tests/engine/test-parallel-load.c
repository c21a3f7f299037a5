/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Several threads loading the default model at once as the first thing a
 * process does (issue 12, item 1: PoCL crashed when two threads set up the
 * process's first device together). Each run is a fresh process
 * (g_test_trap_subprocess); every load must succeed
 * and give a context. */
#include "ibt-model.h"

#define N_THREADS 4
#define N_RUNS 8

static gint start;
static char *dir;

static gpointer
load (G_GNUC_UNUSED gpointer data)
{
  GError *error = NULL;
  IbContext *ctx;
  IbModel *m;

  while (!g_atomic_int_get (&start))
    ;
  m = ib_model_load (dir, NULL, &error);
  if (m == NULL)
    return error;
  ctx = ib_context_new (m, NULL, &error);
  ib_context_free (ctx);
  ib_model_unref (m);
  return error;
}

static void
child (void)
{
  GThread *threads[N_THREADS];
  int i;

  for (i = 0; i < N_THREADS; i++)
    threads[i] = g_thread_new ("load", load, NULL);
  g_atomic_int_set (&start, 1);
  for (i = 0; i < N_THREADS; i++) {
    GError *error = g_thread_join (threads[i]);
    g_assert_no_error (error);
  }
}

static void
test_parallel_first_load (void)
{
  IbModel *m;
  int run;

  if (g_test_subprocess ()) {
    child ();
    return;
  }
  /* skips without a device */
  m = ibt_load_model (dir, IB_PRECISION_F32);
  if (m == NULL)
    return;
  ib_model_unref (m);
  for (run = 0; run < N_RUNS; run++) {
    g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC,
        G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed ();
  }
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  dir = g_test_build_filename (G_TEST_DIST, "..", "models",
      "instructblip-synthvid-tiny", NULL);
  g_test_add_func ("/parallel-load/first", test_parallel_first_load);
  ret = g_test_run ();
  g_free (dir);
  return ret;
}
