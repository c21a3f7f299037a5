/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Device choice, its errors, buffers, the arena and the queue's sticky
 * error. */
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "fault-private.h"
#include "ops.h"
#include "queue.h"

static IbClDevice *
open_default (void)
{
  GError *error = NULL;
  IbClDevice *dev = ib_cl_device_new (NULL, &error);

  if (dev == NULL) {
    g_test_skip (error->message);
    g_error_free (error);
  }
  return dev;
}

static void
test_open_auto (void)
{
  g_autoptr (IbClDevice) dev = open_default ();
  const IbClDeviceInfo *info;

  if (dev == NULL)
    return;
  info = ib_cl_device_get_info (dev);
  g_assert_cmpstr (info->name, !=, "");
  g_assert_cmpuint (info->global_mem, >, 0);
  g_assert_cmpuint (info->max_alloc, >, 0);
  g_assert_cmpuint (info->max_alloc, <=, info->global_mem);
  g_assert_cmpuint (info->compute_units, >, 0);
  g_assert_nonnull (ib_cl_device_get_program (dev));
  /* AUTO picks CLBlast for GPUs and the own kernels for CPUs. */
  g_assert_cmpint (ib_cl_device_get_gemm (dev), ==,
      info->is_cpu ? IB_CL_GEMM_OWN : IB_CL_GEMM_CLBLAST);
  g_test_message ("device: %s (%s), %" G_GUINT64_FORMAT " MiB, fp16 %d",
      info->name, info->platform, info->global_mem >> 20, info->has_fp16);
}

static void
test_parse (void)
{
  IbClDeviceParams p;
  GError *error = NULL;

  ib_cl_device_params_init (&p);
  g_assert_true (ib_cl_device_params_parse (&p, "cpu", &error));
  g_assert_cmpint (p.type, ==, IB_CL_DEVICE_TYPE_CPU);
  g_assert_true (ib_cl_device_params_parse (&p, "GPU", &error));
  g_assert_cmpint (p.type, ==, IB_CL_DEVICE_TYPE_GPU);

  ib_cl_device_params_init (&p);
  g_assert_true (ib_cl_device_params_parse (&p, "1:2", &error));
  g_assert_cmpint (p.platform_index, ==, 1);
  g_assert_cmpint (p.device_index, ==, 2);

  ib_cl_device_params_init (&p);
  g_assert_true (ib_cl_device_params_parse (&p, "3", &error));
  g_assert_cmpint (p.platform_index, ==, -1);
  g_assert_cmpint (p.device_index, ==, 3);

  ib_cl_device_params_init (&p);
  g_assert_true (ib_cl_device_params_parse (&p, "pthread", &error));
  g_assert_cmpstr (p.name, ==, "pthread");

  g_assert_false (ib_cl_device_params_parse (&p, "1:x", &error));
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG);
  g_clear_error (&error);
  g_assert_false (ib_cl_device_params_parse (&p, "1:2:3", &error));
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG);
  g_clear_error (&error);
}

static void
expect_no_device (const IbClDeviceParams *p, const char *needle)
{
  GError *error = NULL;
  IbClDevice *dev = ib_cl_device_new (p, &error);

  g_assert_null (dev);
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_DEVICE);
  g_assert_nonnull (strstr (error->message, needle));
  g_error_free (error);
}

static void
test_bad_device (void)
{
  g_autoptr (IbClDevice) dev = open_default ();
  IbClDeviceParams p;

  if (dev == NULL)
    return;
  ib_cl_device_params_init (&p);
  p.device_index = 99;
  expect_no_device (&p, "99 does not exist");

  ib_cl_device_params_init (&p);
  p.platform_index = 42;
  p.device_index = 0;
  expect_no_device (&p, "platform 42 does not exist");

  ib_cl_device_params_init (&p);
  p.name = "no-such-accelerator";
  expect_no_device (&p, "no-such-accelerator");

  if (ib_cl_device_get_info (dev)->is_cpu) {
    /* this machine's only devices are CPUs: asking for a GPU must fail */
    char *list = ib_cl_device_list (NULL);
    if (strstr (list, "(gpu)") == NULL) {
      ib_cl_device_params_init (&p);
      p.type = IB_CL_DEVICE_TYPE_GPU;
      expect_no_device (&p, "no OpenCL GPU device");
    }
    g_free (list);
  }
}

/* With no ICD registered the loader finds no platform: a clear error, not a
 * crash. Runs in a subprocess, since the loader reads its environment once. */
static void
test_no_platform (void)
{
  if (g_test_subprocess ()) {
    GError *error = NULL;
    char *empty = g_dir_make_tmp ("ibcl-noicd-XXXXXX", NULL);
    IbClDevice *dev;

    g_setenv ("OCL_ICD_VENDORS", empty, TRUE);
    g_unsetenv ("OCL_ICD_FILENAMES");
    dev = ib_cl_device_new (NULL, &error);
    g_assert_null (dev);
    g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_PLATFORM);
    g_assert_nonnull (strstr (error->message, "no OpenCL platform"));
    g_printerr ("%s\n", error->message);
    g_error_free (error);
    g_rmdir (empty);
    g_free (empty);
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*no OpenCL platform found*");
}

static void
test_build_failure (void)
{
  g_autoptr (IbClDevice) dev = open_default ();
  const char *src[] = {
    "__kernel void broken (__global float *x)\n{\n  x[0] = undeclared_y;\n}\n"
  };
  GError *error = NULL;
  cl_program prog;

  if (dev == NULL)
    return;
  prog = ib_cl_program_build (dev, src, 1, "-cl-std=CL1.2", &error);
  g_assert_null (prog);
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_BUILD);
  /* the head of the build log names the culprit */
  g_assert_nonnull (strstr (error->message, "undeclared_y"));
  g_error_free (error);
}

static void
test_buffers (void)
{
  g_autoptr (IbClDevice) dev = open_default ();
  GError *error = NULL;
  IbClQueue *q;
  IbClBuffer *a, *b;
  float src[1000], dst[1000];
  float *host;
  int i;

  if (dev == NULL)
    return;
  q = ib_cl_queue_new (dev, &error);
  g_assert_no_error (error);
  for (i = 0; i < 1000; i++)
    src[i] = (float) i * 0.5f - 7.0f;

  a = ib_cl_buffer_new (dev, sizeof (src), &error);
  g_assert_no_error (error);
  ib_cl_queue_upload (q, a, 0, src, sizeof (src));
  ib_cl_queue_download (q, a, 0, dst, sizeof (dst));
  g_assert_true (ib_cl_queue_finish (q, &error));
  g_assert_cmpmem (src, sizeof (src), dst, sizeof (dst));

  /* zero-copy (or copied) read-only buffer from host memory */
  host = ib_cl_host_alloc (sizeof (src));
  memcpy (host, src, sizeof (src));
  b = ib_cl_buffer_new_take_host (dev, host, sizeof (src), &error);
  g_assert_no_error (error);
  memset (dst, 0, sizeof (dst));
  ib_cl_queue_copy (q, b, 400, a, 0, 400);
  ib_cl_queue_download (q, a, 0, dst, 400);
  g_assert_true (ib_cl_queue_finish (q, &error));
  g_assert_cmpmem (src + 100, 400, dst, 400);

  /* an overrun is an error kept by the queue until finish; later work is
   * skipped, and the queue is usable again afterwards */
  ib_cl_queue_download (q, a, 3000, dst, 2000);
  g_assert_true (ib_cl_queue_failed (q));
  ib_cl_queue_upload (q, a, 0, src, 4);
  g_assert_false (ib_cl_queue_finish (q, &error));
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG);
  g_assert_nonnull (strstr (error->message, "overruns"));
  g_clear_error (&error);
  g_assert_false (ib_cl_queue_failed (q));
  ib_cl_queue_download (q, a, 0, dst, 4);
  g_assert_true (ib_cl_queue_finish (q, &error));

  /* a buffer larger than the device allows is refused up front */
  g_assert_null (ib_cl_buffer_new (dev,
      ib_cl_device_get_info (dev)->max_alloc + 1, &error));
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_MEMORY);
  g_clear_error (&error);

  ib_cl_buffer_free (a);
  ib_cl_buffer_free (b);
  ib_cl_buffer_free (NULL);
  ib_cl_queue_free (q);
}

static void
test_arena (void)
{
  g_autoptr (IbClDevice) dev = open_default ();
  GError *error = NULL;
  IbClArena *arena;
  IbClQueue *q;
  IbClBuffer *x, *y;
  float v[37], w[37];
  gsize cap;
  int i;

  if (dev == NULL)
    return;
  cap = ib_cl_arena_footprint (dev, sizeof (v)) * 2;
  arena = ib_cl_arena_new (dev, cap, &error);
  g_assert_no_error (error);
  q = ib_cl_queue_new (dev, &error);
  x = ib_cl_arena_alloc (arena, sizeof (v), &error);
  y = ib_cl_arena_alloc (arena, sizeof (v), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ib_cl_arena_used (arena), ==, cap);
  /* full: a clear error, nothing else changes */
  g_assert_null (ib_cl_arena_alloc (arena, 4, &error));
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_MEMORY);
  g_clear_error (&error);

  /* sub-buffers do not overlap */
  for (i = 0; i < 37; i++)
    v[i] = (float) i;
  ib_cl_queue_upload (q, x, 0, v, sizeof (v));
  memset (w, 0, sizeof (w));
  ib_cl_queue_upload (q, y, 0, w, sizeof (w));
  ib_cl_queue_download (q, x, 0, w, sizeof (w));
  g_assert_true (ib_cl_queue_finish (q, &error));
  g_assert_cmpmem (v, sizeof (v), w, sizeof (w));

  ib_cl_arena_reset (arena);
  g_assert_cmpuint (ib_cl_arena_used (arena), ==, 0);
  g_assert_nonnull (ib_cl_arena_alloc (arena, sizeof (v), &error));
  ib_cl_queue_free (q);
  ib_cl_arena_free (arena);
}

/* ib_cl_queue_wait keeps the sticky error for the next finish (a forward
 * pass that waits for an upload must not lose an earlier failure), and each
 * kind of injected fault gives its OpenCL error. */
static void
test_wait_and_faults (void)
{
  g_autoptr (IbClDevice) dev = open_default ();
  GError *error = NULL;
  IbClQueue *q;
  IbClBuffer *x;
  float v[4] = { 1, 2, 3, 4 }, w[4] = { 0 };

  if (dev == NULL)
    return;
  q = ib_cl_queue_new (dev, &error);
  x = ib_cl_buffer_new (dev, sizeof (v), &error);
  g_assert_no_error (error);

  /* a failed upload, then a wait: the error stays */
  ib_cl_fault_arm (IB_CL_FAULT_TRANSFER, 1);
  ib_cl_queue_upload (q, x, 0, v, sizeof (v));
  ib_cl_fault_arm (0, 0);
  ib_cl_queue_wait (q);
  g_assert_true (ib_cl_queue_failed (q));
  ib_cl_queue_download (q, x, 0, w, sizeof (w)); /* skipped */
  g_assert_false (ib_cl_queue_finish (q, &error));
  g_assert_nonnull (error);
  g_assert_true (error->domain == IB_CL_ERROR);
  g_assert_nonnull (strstr (error->message, "clEnqueueWriteBuffer"));
  g_clear_error (&error);
  /* the queue works again after finish reported it */
  ib_cl_queue_upload (q, x, 0, v, sizeof (v));
  ib_cl_queue_download (q, x, 0, w, sizeof (w));
  g_assert_true (ib_cl_queue_finish (q, &error));
  g_assert_cmpmem (v, sizeof (v), w, sizeof (w));

  /* only the armed kinds count; the Nth fails once */
  ib_cl_fault_arm (IB_CL_FAULT_ALLOC, 2);
  ib_cl_queue_upload (q, x, 0, v, sizeof (v));
  g_assert_cmpuint (ib_cl_fault_count (), ==, 0);
  ib_cl_buffer_free (ib_cl_buffer_new (dev, 16, &error));
  g_assert_no_error (error);
  g_assert_null (ib_cl_buffer_new (dev, 16, &error));
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_MEMORY);
  g_assert_nonnull (strstr (error->message, "clCreateBuffer"));
  g_clear_error (&error);
  g_assert_true (ib_cl_fault_fired ());
  ib_cl_buffer_free (ib_cl_buffer_new (dev, 16, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ib_cl_fault_count (), ==, 3);

  /* a kernel launch and a build */
  ib_cl_fault_arm (IB_CL_FAULT_ENQUEUE, 1);
  g_assert_false (ib_cl_queue_finish (q, &error));
  g_assert_nonnull (strstr (error->message, "clFinish"));
  g_clear_error (&error);
  ib_cl_fault_arm (IB_CL_FAULT_BUILD, 1);
  g_assert_null (ib_cl_device_new (NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  ib_cl_fault_arm (0, 0);
  g_assert_true (ib_cl_queue_finish (q, &error));

  ib_cl_buffer_free (x);
  ib_cl_queue_free (q);
}

/* PoCL's CPU drivers before 6.0 abort when one kernel is in flight on
 * several queues at once (device.c, serial_queues): on such a device a
 * queue's launch first waits for every command another queue has in
 * flight. Here a marker behind a long run of kernels on one queue must be
 * complete as soon as another queue has launched. */
static void
test_serial_queues (void)
{
  g_autoptr (IbClDevice) dev = open_default ();
  const gsize n = 1 << 22;
  GError *error = NULL;
  IbClQueue *qa, *qb;
  IbClBuffer *x, *y;
  cl_event marker = NULL;
  cl_int status = CL_QUEUED;
  int i;

  if (dev == NULL)
    return;
  if (!ib_cl_device_get_info (dev)->serial_queues) {
    /* the guard is off: then this must not be a PoCL CPU driver before
     * 6.0, read here from the platform's own version string */
    cl_platform_id platform = NULL;
    char version[256] = "";
    const char *pocl;
    int major = 0;

    g_assert_cmpint (clGetDeviceInfo (ib_cl_device_get_id (dev),
                         CL_DEVICE_PLATFORM, sizeof (platform), &platform,
                         NULL),
        ==, CL_SUCCESS);
    g_assert_cmpint (clGetPlatformInfo (platform, CL_PLATFORM_VERSION,
                         sizeof (version) - 1, version, NULL),
        ==, CL_SUCCESS);
    pocl = strstr (version, "PoCL ");
    g_test_message ("queues run at once on %s", version);
    g_assert_false (ib_cl_device_get_info (dev)->is_cpu && pocl != NULL &&
        sscanf (pocl + 5, "%d", &major) == 1 && major < 6);
    return;
  }
  qa = ib_cl_queue_new (dev, &error);
  g_assert_no_error (error);
  qb = ib_cl_queue_new (dev, &error);
  g_assert_no_error (error);
  x = ib_cl_buffer_new (dev, n * sizeof (float), &error);
  g_assert_no_error (error);
  y = ib_cl_buffer_new (dev, n * sizeof (float), &error);
  g_assert_no_error (error);
  for (i = 0; i < 16; i++)
    ib_cl_activate (qa, IB_CL_ACT_GELU, x, x, n);
  g_assert_cmpint (clEnqueueMarkerWithWaitList (ib_cl_queue_get_cl (qa), 0,
                       NULL, &marker),
      ==, CL_SUCCESS);
  ib_cl_add (qb, y, y, y, 1);
  g_assert_cmpint (clGetEventInfo (marker, CL_EVENT_COMMAND_EXECUTION_STATUS,
                       sizeof (status), &status, NULL),
      ==, CL_SUCCESS);
  g_assert_cmpint (status, ==, CL_COMPLETE);
  clReleaseEvent (marker);
  g_assert_true (ib_cl_queue_finish (qa, &error));
  g_assert_true (ib_cl_queue_finish (qb, &error));
  g_assert_no_error (error);
  ib_cl_buffer_free (x);
  ib_cl_buffer_free (y);
  ib_cl_queue_free (qa);
  ib_cl_queue_free (qb);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/device/open-auto", test_open_auto);
  g_test_add_func ("/device/parse", test_parse);
  g_test_add_func ("/device/bad-device", test_bad_device);
  g_test_add_func ("/device/no-platform", test_no_platform);
  g_test_add_func ("/device/build-failure", test_build_failure);
  g_test_add_func ("/device/buffers", test_buffers);
  g_test_add_func ("/device/serial-queues", test_serial_queues);
  g_test_add_func ("/device/arena", test_arena);
  g_test_add_func ("/device/wait-and-faults", test_wait_and_faults);
  return g_test_run ();
}
