/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Per-stream command queue, kernel objects and sticky error. */
#include "queue.h"
#include "queue-private.h"
#include "gemm-priv.h"
#include "fault-private.h"

struct _IbClQueue
{
  IbClDevice *dev;
  cl_command_queue queue;
  GHashTable *kernels; /* name -> cl_kernel, created on first use */
  GError *error; /* first failure since the last finish */
  IbClBuffer *scratch; /* sized once: ib_cl_queue_reserve_scratch */
  guint row_group; /* test hook: forced row work-group, or 0 */
  gboolean serial; /* the device's serial_queues */
};

/* Devices that must not run kernels of several queues at once
 * (IbClDeviceInfo.serial_queues, PoCL's CPU drivers before 6.0): the one
 * queue that may have kernels in flight. A queue that launches while
 * another one owns it first waits for that queue's commands (clFinish is
 * thread-safe), so no thread ever waits for another thread to do
 * something, only for the device; a single stream never waits at all. */
static GMutex launch_lock;
static IbClQueue *launch_owner;

void
ib_cl_queue_launch_lock (IbClQueue *q)
{
  if (!q->serial)
    return;
  g_mutex_lock (&launch_lock);
  if (launch_owner != NULL && launch_owner != q)
    clFinish (launch_owner->queue); /* its own finish reports its errors */
  launch_owner = q;
}

void
ib_cl_queue_launch_unlock (IbClQueue *q)
{
  if (q->serial)
    g_mutex_unlock (&launch_lock);
}

static void
kernel_release (gpointer k)
{
  clReleaseKernel (k);
}

IbClQueue *
ib_cl_queue_new (IbClDevice *dev, GError **error)
{
  IbClQueue *q;
  cl_int st = CL_SUCCESS;
  cl_command_queue cq = NULL;

  if (IB_CL_FAULT (IB_CL_FAULT_ALLOC))
    st = CL_OUT_OF_HOST_MEMORY;
  else
    cq = clCreateCommandQueue (ib_cl_device_get_context (dev),
        ib_cl_device_get_id (dev), 0, &st);
  if (st != CL_SUCCESS) {
    ib_cl_set_error (error, st, "clCreateCommandQueue");
    return NULL;
  }
  q = g_new0 (IbClQueue, 1);
  q->dev = ib_cl_device_ref (dev);
  q->queue = cq;
  q->serial = ib_cl_device_get_info (dev)->serial_queues;
  q->kernels =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, kernel_release);
  return q;
}

void
ib_cl_queue_free (IbClQueue *q)
{
  if (q == NULL)
    return;
  if (q->serial) {
    g_mutex_lock (&launch_lock);
    if (launch_owner == q)
      launch_owner = NULL;
    g_mutex_unlock (&launch_lock);
  }
  clFinish (q->queue);
  g_hash_table_unref (q->kernels);
  ib_cl_buffer_free (q->scratch);
  clReleaseCommandQueue (q->queue);
  g_clear_error (&q->error);
  ib_cl_device_unref (q->dev);
  g_free (q);
}

IbClDevice *
ib_cl_queue_get_device (IbClQueue *q)
{
  return q->dev;
}

cl_command_queue
ib_cl_queue_get_cl (IbClQueue *q)
{
  return q->queue;
}

void
ib_cl_queue_set_row_group (IbClQueue *q, guint group)
{
  g_return_if_fail ((group & (group - 1)) == 0);
  q->row_group = group;
}

guint
ib_cl_queue_get_row_group (const IbClQueue *q)
{
  return q->row_group;
}

gboolean
ib_cl_queue_take_error (IbClQueue *q, GError *error)
{
  if (q->error == NULL)
    q->error = error;
  else
    g_error_free (error);
  return FALSE;
}

gboolean
ib_cl_queue_cl_error (IbClQueue *q, cl_int status, const char *call)
{
  GError *e = NULL;

  ib_cl_set_error (&e, status, call);
  return ib_cl_queue_take_error (q, e);
}

gboolean
ib_cl_queue_failed (IbClQueue *q)
{
  return q->error != NULL;
}

void
ib_cl_queue_wait (IbClQueue *q)
{
  /* an injected failure still waits: a failed clFinish reports commands
   * that ended, it does not leave them running on freed host memory */
  cl_int st = clFinish (q->queue);

  if (IB_CL_FAULT (IB_CL_FAULT_ENQUEUE))
    st = CL_OUT_OF_RESOURCES;

  if (st != CL_SUCCESS)
    ib_cl_queue_cl_error (q, st, "clFinish");
}

gboolean
ib_cl_queue_finish (IbClQueue *q, GError **error)
{
  ib_cl_queue_wait (q);
  if (q->error) {
    g_propagate_error (error, q->error);
    q->error = NULL;
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_range (IbClQueue *q, const IbClBuffer *buf, gsize offset, gsize size,
    const char *what)
{
  if (offset > buf->size || size > buf->size - offset) {
    GError *e = g_error_new (IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
        "%s of %" G_GSIZE_FORMAT " bytes at offset %" G_GSIZE_FORMAT
        " overruns a buffer of %" G_GSIZE_FORMAT " bytes",
        what, size, offset, buf->size);
    return ib_cl_queue_take_error (q, e);
  }
  return TRUE;
}

void
ib_cl_queue_upload (IbClQueue *q, IbClBuffer *buf, gsize offset,
    const void *data, gsize size)
{
  cl_int st;

  if (q->error || size == 0 || !check_range (q, buf, offset, size, "upload"))
    return;
  st = IB_CL_FAULT (IB_CL_FAULT_TRANSFER) ?
      CL_OUT_OF_RESOURCES :
      clEnqueueWriteBuffer (q->queue, buf->mem, CL_FALSE, offset, size, data, 0,
          NULL, NULL);
  if (st != CL_SUCCESS)
    ib_cl_queue_cl_error (q, st, "clEnqueueWriteBuffer");
}

void
ib_cl_queue_download (IbClQueue *q, const IbClBuffer *buf, gsize offset,
    void *data, gsize size)
{
  cl_int st;

  if (q->error || size == 0 || !check_range (q, buf, offset, size, "download"))
    return;
  st = IB_CL_FAULT (IB_CL_FAULT_TRANSFER) ?
      CL_OUT_OF_RESOURCES :
      clEnqueueReadBuffer (q->queue, buf->mem, CL_TRUE, offset, size, data, 0,
          NULL, NULL);
  if (st != CL_SUCCESS)
    ib_cl_queue_cl_error (q, st, "clEnqueueReadBuffer");
}

void
ib_cl_queue_copy (IbClQueue *q, const IbClBuffer *src, gsize src_offset,
    IbClBuffer *dst, gsize dst_offset, gsize size)
{
  cl_int st;

  if (q->error || size == 0 ||
      !check_range (q, src, src_offset, size, "copy") ||
      !check_range (q, dst, dst_offset, size, "copy"))
    return;
  st = IB_CL_FAULT (IB_CL_FAULT_TRANSFER) ?
      CL_OUT_OF_RESOURCES :
      clEnqueueCopyBuffer (q->queue, src->mem, dst->mem, src_offset, dst_offset,
          size, 0, NULL, NULL);
  if (st != CL_SUCCESS)
    ib_cl_queue_cl_error (q, st, "clEnqueueCopyBuffer");
}

gboolean
ib_cl_launch_begin (IbClLaunch *l, IbClQueue *q, const char *kernel)
{
  cl_kernel k = NULL;
  cl_int st = CL_SUCCESS;

  l->q = q;
  l->kernel = NULL;
  l->name = kernel;
  l->n_args = 0;
  if (q->error)
    return FALSE;
  k = g_hash_table_lookup (q->kernels, kernel);
  if (k == NULL) {
    if (IB_CL_FAULT (IB_CL_FAULT_BUILD))
      st = CL_OUT_OF_HOST_MEMORY;
    else
      k = clCreateKernel (ib_cl_device_get_program (q->dev), kernel, &st);
    if (st != CL_SUCCESS) {
      GError *e = g_error_new (IB_CL_ERROR, IB_CL_ERROR_CALL,
          "kernel %s: clCreateKernel returned %s", kernel,
          ib_cl_status_name (st));
      return ib_cl_queue_take_error (q, e);
    }
    g_hash_table_insert (q->kernels, g_strdup (kernel), k);
  }
  l->kernel = k;
  return TRUE;
}

void
ib_cl_launch_bytes (IbClLaunch *l, size_t size, const void *value)
{
  cl_int st;

  if (l->kernel == NULL)
    return;
  st = clSetKernelArg (l->kernel, l->n_args, size, value);
  if (st != CL_SUCCESS) {
    GError *e = g_error_new (IB_CL_ERROR, IB_CL_ERROR_CALL,
        "kernel %s: clSetKernelArg %u returned %s", l->name, l->n_args,
        ib_cl_status_name (st));
    ib_cl_queue_take_error (l->q, e);
    l->kernel = NULL;
  }
  l->n_args++;
}

void
ib_cl_launch_mem (IbClLaunch *l, const IbClBuffer *buf)
{
  ib_cl_launch_bytes (l, sizeof (cl_mem), &buf->mem);
}

void
ib_cl_launch_mem_opt (IbClLaunch *l, const IbClBuffer *buf)
{
  if (buf)
    ib_cl_launch_bytes (l, sizeof (cl_mem), &buf->mem);
  else
    ib_cl_launch_bytes (l, sizeof (cl_mem), NULL);
}

void
ib_cl_launch_int (IbClLaunch *l, gint32 v)
{
  cl_int x = v;
  ib_cl_launch_bytes (l, sizeof (x), &x);
}

void
ib_cl_launch_float (IbClLaunch *l, float v)
{
  cl_float x = v;
  ib_cl_launch_bytes (l, sizeof (x), &x);
}

void
ib_cl_launch_run (IbClLaunch *l, guint dims, const size_t *global,
    const size_t *local)
{
  cl_int st;
  guint i;

  if (l->kernel == NULL)
    return;
  for (i = 0; i < dims; i++)
    if (global[i] == 0)
      return; /* nothing to do */
  ib_cl_queue_launch_lock (l->q);
  st = IB_CL_FAULT (IB_CL_FAULT_ENQUEUE) ?
      CL_OUT_OF_RESOURCES :
      clEnqueueNDRangeKernel (l->q->queue, l->kernel, dims, NULL, global, local,
          0, NULL, NULL);
  ib_cl_queue_launch_unlock (l->q);
  if (st != CL_SUCCESS) {
    GError *e = g_error_new (IB_CL_ERROR, IB_CL_ERROR_CALL,
        "kernel %s: clEnqueueNDRangeKernel returned %s", l->name,
        ib_cl_status_name (st));
    ib_cl_queue_take_error (l->q, e);
  }
}

gboolean
ib_cl_queue_reserve_scratch (IbClQueue *q, gsize size, GError **error)
{
  g_return_val_if_fail (q->scratch == NULL, FALSE);
  if (size == 0)
    return TRUE;
  q->scratch = ib_cl_buffer_new (q->dev, size, error);
  if (q->scratch == NULL)
    g_prefix_error (error, "the queue's scratch for matrix products: ");
  return q->scratch != NULL;
}

IbClBuffer *
ib_cl_queue_scratch (IbClQueue *q, gsize size)
{
  gsize have = q->scratch ? q->scratch->size : 0;

  if (size <= have)
    return q->scratch;
  /* never grown during a call: the sizing missed this product */
  ib_cl_queue_take_error (q,
      g_error_new (IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
          "a matrix product needs %" G_GSIZE_FORMAT
          " bytes of the queue's scratch, which holds %" G_GSIZE_FORMAT
          " (sized with ib_cl_queue_reserve_scratch from "
          "ib_cl_linear_scratch and ib_cl_gemm_batched_scratch: this product "
          "was not counted)",
          size, have));
  return NULL;
}
