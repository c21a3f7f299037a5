/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel build options from the constants table. */
#include "kernel-defs.h"

static gpointer
make_options (gpointer data)
{
  GString *s = g_string_new ("-cl-std=CL1.2");

  (void) data;
#define IB_CL_KERNEL_DEF_OPTION(name, value, what) \
  g_string_append_printf (s, " -D" #name "=%d", (int) (value));
  IB_CL_KERNEL_DEFS (IB_CL_KERNEL_DEF_OPTION)
#undef IB_CL_KERNEL_DEF_OPTION
  return g_string_free (s, FALSE);
}

const char *
ib_cl_kernel_build_options (void)
{
  static GOnce once = G_ONCE_INIT;

  return g_once (&once, make_options, NULL);
}
