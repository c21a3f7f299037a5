/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The first device set-up of a process from several threads at once (issue
 * 12, item 1): without one-time initialisation PoCL crashed (SIGSEGV in
 * clGetDeviceInfo) or listed no device in most runs. Each run is a fresh
 * process (g_test_trap_subprocess), where the ICD loader and the driver
 * have not been initialised yet. */
#include "queue.h"

#define N_THREADS 6
#define N_RUNS 25

static gint start;

static gpointer
open_device (G_GNUC_UNUSED gpointer data)
{
  GError *error = NULL;
  IbClDevice *dev;

  while (!g_atomic_int_get (&start))
    ;
  dev = ib_cl_device_new (NULL, &error);
  if (dev == NULL)
    return error;
  ib_cl_device_unref (dev);
  return NULL;
}

/* In the child: N_THREADS threads open the default device at the same
 * moment; each must get it. */
static void
child (void)
{
  GThread *threads[N_THREADS];
  int i;

  for (i = 0; i < N_THREADS; i++)
    threads[i] = g_thread_new ("open", open_device, NULL);
  g_atomic_int_set (&start, 1);
  for (i = 0; i < N_THREADS; i++) {
    GError *error = g_thread_join (threads[i]);
    g_assert_no_error (error);
  }
}

static void
test_parallel_first_open (void)
{
  GError *error = NULL;
  IbClDevice *dev;
  int run;

  if (g_test_subprocess ()) {
    child ();
    return;
  }
  /* Without a device the children would fail: skip. This process's own
   * open does not matter to the children, which start afresh. */
  dev = ib_cl_device_new (NULL, &error);
  if (dev == NULL) {
    g_test_skip (error->message);
    g_error_free (error);
    return;
  }
  ib_cl_device_unref (dev);
  for (run = 0; run < N_RUNS; run++) {
    g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC,
        G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed ();
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/first-open/parallel", test_parallel_first_open);
  return g_test_run ();
}
