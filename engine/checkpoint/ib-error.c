/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The IB_ERROR domain. */
#include "ib-error.h"

GQuark
ib_error_quark (void)
{
  /* spelled out rather than G_DEFINE_QUARK: clang-format splits the
   * hyphenated macro argument, which would change the quark's name */
  static GQuark quark;

  if (G_UNLIKELY (quark == 0))
    quark = g_quark_from_static_string ("ib-error-quark");
  return quark;
}
