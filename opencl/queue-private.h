/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test hooks of the command queue (private: for the device layer's tests,
 * not installed, not for applications). */
#pragma once

#include "queue.h"

G_BEGIN_DECLS

/* Forces the work-items per row of the row-wise kernels (ops.c,
 * kernels/rows.cl) on @q: a power of two (at most IB_ROW_GROUP_MAX of
 * rows.cl are used), so that the GPU-shaped path runs on a CPU device too;
 * 0 restores the device's choice. */
void ib_cl_queue_set_row_group (IbClQueue *q, guint group);
/* The forced row work-group, or 0. */
guint ib_cl_queue_get_row_group (const IbClQueue *q);

G_END_DECLS
