/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fault injection for tests: the counters behind fault-private.h. */
#include "fault-private.h"

gint ib_cl_fault_armed_;
static gint kinds_;
static gint target_;
static gint count_;
static gint fired_;

void
ib_cl_fault_arm (guint kinds, guint n)
{
  g_atomic_int_set (&ib_cl_fault_armed_, 0);
  g_atomic_int_set (&kinds_, (gint) kinds);
  g_atomic_int_set (&target_, (gint) n);
  g_atomic_int_set (&count_, 0);
  g_atomic_int_set (&fired_, 0);
  g_atomic_int_set (&ib_cl_fault_armed_, n > 0 && kinds != 0);
}

guint
ib_cl_fault_count (void)
{
  return (guint) g_atomic_int_get (&count_);
}

gboolean
ib_cl_fault_fired (void)
{
  return g_atomic_int_get (&fired_);
}

gboolean
ib_cl_fault_hit_ (IbClFault kind)
{
  if ((g_atomic_int_get (&kinds_) & kind) == 0)
    return FALSE;
  if (g_atomic_int_add (&count_, 1) + 1 != g_atomic_int_get (&target_))
    return FALSE;
  g_atomic_int_set (&fired_, 1);
  return TRUE;
}
