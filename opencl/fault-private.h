/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fault injection for tests (private: not installed, not for applications):
 * makes the Nth device operation of the process fail as if the OpenCL call
 * had returned an error, so that a test can walk every failure point of an
 * engine call. Off, it costs one integer compare per operation. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  IB_CL_FAULT_ALLOC = 1 << 0, /* buffers, sub-buffers, host memory, queues */
  IB_CL_FAULT_ENQUEUE = 1 << 1, /* kernel launches and waits (clFinish) */
  IB_CL_FAULT_TRANSFER = 1 << 2, /* uploads, downloads, copies */
  IB_CL_FAULT_BUILD = 1 << 3, /* context, program and kernel creation */
  IB_CL_FAULT_ALL = 0xf,
} IbClFault;

/* From now on, counts the operations of the kinds in @kinds (IbClFault
 * bits) and makes the @n-th (1-based) fail, once. @n = 0 turns it off. Not
 * thread-safe against itself: arm from one thread while nothing runs. */
void ib_cl_fault_arm (guint kinds, guint n);
/* Operations of the armed kinds counted since ib_cl_fault_arm(). */
guint ib_cl_fault_count (void);
/* Whether the armed fault happened. */
gboolean ib_cl_fault_fired (void);

/* For opencl/ itself: TRUE when this operation of kind @kind is to fail. */
extern gint ib_cl_fault_armed_;
gboolean ib_cl_fault_hit_ (IbClFault kind);
#define IB_CL_FAULT(kind)                                 \
  (G_UNLIKELY (g_atomic_int_get (&ib_cl_fault_armed_)) && \
      ib_cl_fault_hit_ (kind))

G_END_DECLS
