/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A per-stream in-order command queue with its own kernel objects and a
 * sticky error: operations enqueue without waiting, the first failure is
 * kept and later operations are skipped, ib_cl_queue_finish() reports it. */
#pragma once

#include "buffer.h"

G_BEGIN_DECLS

typedef struct _IbClQueue IbClQueue;

/* One queue per stream and thread; queues on one device share its program
 * and weights. (transfer full) */
IbClQueue *ib_cl_queue_new (IbClDevice *dev, GError **error);
void ib_cl_queue_free (IbClQueue *q);

IbClDevice *ib_cl_queue_get_device (IbClQueue *q);
cl_command_queue ib_cl_queue_get_cl (IbClQueue *q);

/* Allocates the queue's scratch for matrix products (bf16/q8 products'
 * converted activations, the own kernel's transposed K, CLBlast's widened
 * fp16 weights) once, before any work: @size is the most any product run
 * on @q needs (ib_cl_linear_scratch, ib_cl_gemm_batched_scratch). A
 * product needing more fails with an error; the scratch never grows. Call
 * once per queue. */
gboolean ib_cl_queue_reserve_scratch (IbClQueue *q, gsize size, GError **error);

/* Waits for all enqueued work without reporting: a failure is recorded,
 * and the sticky error stays for the next ib_cl_queue_finish(). For host
 * memory that an upload reads and that is about to be reused. */
void ib_cl_queue_wait (IbClQueue *q);

/* Waits for all enqueued work. Returns FALSE and the first error recorded
 * since the last finish (which it clears) if anything failed. */
gboolean ib_cl_queue_finish (IbClQueue *q, GError **error);

/* TRUE once an operation has failed (until the next finish). */
gboolean ib_cl_queue_failed (IbClQueue *q);

/* Records @error (taking it) unless an earlier one is kept; returns FALSE. */
gboolean ib_cl_queue_take_error (IbClQueue *q, GError *error);
/* Records a failed OpenCL call; returns FALSE. */
gboolean ib_cl_queue_cl_error (IbClQueue *q, cl_int status, const char *call);

/* Host -> device (non-blocking: @data must stay valid until the next finish)
 * and device -> host (blocking). Offsets and sizes in bytes. */
void ib_cl_queue_upload (IbClQueue *q, IbClBuffer *buf, gsize offset,
    const void *data, gsize size);
void ib_cl_queue_download (IbClQueue *q, const IbClBuffer *buf, gsize offset,
    void *data, gsize size);
void ib_cl_queue_copy (IbClQueue *q, const IbClBuffer *src, gsize src_offset,
    IbClBuffer *dst, gsize dst_offset, gsize size);

/* Kernel launches: begin, set arguments in order, run. */
typedef struct
{
  IbClQueue *q;
  cl_kernel kernel;
  const char *name;
  cl_uint n_args;
} IbClLaunch;

/* FALSE (and nothing to do) when the queue already failed. */
gboolean ib_cl_launch_begin (IbClLaunch *l, IbClQueue *q, const char *kernel);
void ib_cl_launch_mem (IbClLaunch *l, const IbClBuffer *buf);
/* NULL is allowed for optional buffer arguments. */
void ib_cl_launch_mem_opt (IbClLaunch *l, const IbClBuffer *buf);
void ib_cl_launch_int (IbClLaunch *l, gint32 v);
void ib_cl_launch_float (IbClLaunch *l, float v);
/* A by-value argument of @size bytes (a struct, a private array). */
void ib_cl_launch_bytes (IbClLaunch *l, size_t size, const void *value);
void ib_cl_launch_run (IbClLaunch *l, guint dims, const size_t *global,
    const size_t *local);

G_END_DECLS
