/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The constants shared by host and kernels reach the kernels only as build
 * options from kernel-defs.h: every one is in the options with the host's
 * value, and the kernels refuse to build without them. */
#include <string.h>

#include "cl_sources.h"
#include "device.h"
#include "kernel-defs.h"

static IbClDevice *
open_default (void)
{
  IbClDeviceParams p;
  GError *error = NULL;
  IbClDevice *dev;

  ib_cl_device_params_init (&p);
  dev = ib_cl_device_new (&p, &error);
  if (dev == NULL) {
    g_test_skip (error->message);
    g_error_free (error);
  }
  return dev;
}

static void
test_options (void)
{
  const char *opts = ib_cl_kernel_build_options ();

  g_assert_true (g_str_has_prefix (opts, "-cl-std=CL1.2 "));
#define CHECK_DEF(name, value, what)                                 \
  {                                                                  \
    char *want = g_strdup_printf (" -D%s=%d", #name, (int) (value)); \
    g_assert_nonnull (strstr (opts, want));                          \
    g_free (want);                                                   \
  }
  IB_CL_KERNEL_DEFS (CHECK_DEF)
#undef CHECK_DEF
  /* the values the host code relies on */
  g_assert_cmpint (IB_CL_GEMM_MR, ==, 6);
  g_assert_cmpint (IB_CL_GEMM_NR, ==, 32);
  g_assert_cmpint (IB_HAS_BIAS & IB_HAS_RESIDUAL, ==, 0);
  g_assert_cmpint ((IB_HAS_BIAS | IB_HAS_RESIDUAL) & IB_HAS_MASK, ==, 0);
}

/* Without the options (or with a tile the kernels are not written for)
 * the build fails and says why, instead of running with other numbers. */
static void
test_required (void)
{
  g_autoptr (IbClDevice) dev = open_default ();
  const char *srcs[IB_CL_N_SOURCES];
  GError *error = NULL;
  char *wrong;
  cl_program prog;
  int i;

  if (dev == NULL)
    return;
  for (i = 0; i < IB_CL_N_SOURCES; i++)
    srcs[i] = ib_cl_sources[i].source;
  prog =
      ib_cl_program_build (dev, srcs, IB_CL_N_SOURCES, "-cl-std=CL1.2", &error);
  g_assert_null (prog);
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_BUILD);
  g_assert_nonnull (strstr (error->message, "kernel-defs.h"));
  g_clear_error (&error);

  /* a later -D overrides the table's: a tile gemm.cl is not unrolled for */
  wrong =
      g_strconcat (ib_cl_kernel_build_options (), " -DIB_CL_GEMM_MR=4", NULL);
  prog = ib_cl_program_build (dev, srcs, IB_CL_N_SOURCES, wrong, &error);
  g_assert_null (prog);
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_BUILD);
  g_assert_nonnull (strstr (error->message, "6 x 32"));
  g_clear_error (&error);
  g_free (wrong);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/kernel-defs/options", test_options);
  g_test_add_func ("/kernel-defs/required", test_required);
  return g_test_run ();
}
