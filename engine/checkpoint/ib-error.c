/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The IB_ERROR domain. */
#include "ib-error.h"

GQuark
ib_error_quark (void)
{
  /* once, thread-safe: a plain static filled on first use races when two
   * threads fail for the first time at once */
  static gsize quark;

  if (g_once_init_enter (&quark))
    g_once_init_leave (&quark, g_quark_from_static_string ("ib-error-quark"));
  return (GQuark) quark;
}
