/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checkpoint tensors to device buffers and packed weights. */
#include "loader.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ib-convert.h"
#include "ib-error.h"

/* Drops the mapped pages of @t from this process once it is on the device:
 * they are clean file pages, so this costs nothing but keeps the resident
 * size at the packed weights instead of packed weights + the whole file
 * (a 32 GB fp32 checkpoint loaded as fp16 on a 24 GB machine). */
static void
drop_pages (const IbTensor *t)
{
  const guintptr page = (guintptr) sysconf (_SC_PAGESIZE);
  guintptr start = ((guintptr) t->data + page - 1) & ~(page - 1);
  guintptr end = ((guintptr) t->data + t->n_bytes) & ~(page - 1);

  /* whole pages inside the tensor only: neighbours may still be needed */
  if (end > start)
    madvise ((void *) start, end - start, MADV_DONTNEED);
}

/* The device layer's name for @t's dtype, if it can read @t in place (its
 * data aligned for its element size). */
static gboolean
cl_dtype (const IbTensor *t, IbClDtype *out)
{
  if ((guintptr) t->data % ib_dtype_size (t->dtype) != 0)
    return FALSE;
  switch (t->dtype) {
    case IB_DTYPE_F32:
      *out = IB_CL_DTYPE_F32;
      return TRUE;
    case IB_DTYPE_F16:
      *out = IB_CL_DTYPE_F16;
      return TRUE;
    case IB_DTYPE_BF16:
      *out = IB_CL_DTYPE_BF16;
      return TRUE;
    default:
      return FALSE;
  }
}

const IbTensor *
ib_load_tensor (IbLoader *l, const char *name, guint64 n, GError **error)
{
  const IbTensor *t = ib_safetensors_get (l->st, name);

  if (t == NULL) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT, "%s: tensor %s is missing",
        ib_safetensors_get_source (l->st), name);
    return NULL;
  }
  if (!ib_dtype_is_supported_weight (t->dtype)) {
    g_set_error (error, IB_ERROR, IB_ERROR_UNSUPPORTED,
        "%s: tensor %s has dtype %s; weights must be F32, F16 or BF16", t->file,
        name, ib_dtype_name (t->dtype));
    return NULL;
  }
  if (n && t->n_elements != n) {
    char *shape = ib_shape_to_string (t->n_dims, t->shape);
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: tensor %s has shape %s (%" G_GUINT64_FORMAT " elements), the "
        "configuration needs %" G_GUINT64_FORMAT,
        t->file, name, shape, t->n_elements, n);
    g_free (shape);
    return NULL;
  }
  return t;
}

IbClWeight *
ib_load_linear (IbLoader *l, const char *const *weights,
    const char *const *biases, GError **error)
{
  const IbTensor *t;
  IbClWeight *w = NULL;
  float *wbuf = NULL, *bbuf = NULL;
  gint64 n = 0, k = -1, row = 0;
  guint i, count = g_strv_length ((char **) weights);

  for (i = 0; i < count; i++) {
    t = ib_load_tensor (l, weights[i], 0, error);
    if (t == NULL)
      return NULL;
    if (t->n_dims < 2 ||
        (k >= 0 && t->n_elements / t->shape[0] != (guint64) k)) {
      g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
          "%s: tensor %s is not a [n, %" G_GINT64_FORMAT "] matrix", t->file,
          weights[i], k);
      return NULL;
    }
    k = (gint64) (t->n_elements / t->shape[0]);
    n += t->shape[0];
  }

  /* One tensor (and a bias of its dtype): packed straight from the
   * mapping, converting on the fly. */
  if (count == 1) {
    const IbTensor *b = NULL;
    IbClDtype dt;
    t = ib_safetensors_get (l->st, weights[0]);
    if (biases && biases[0] &&
        !(b = ib_load_tensor (l, biases[0], t->shape[0], error)))
      return NULL;
    if (cl_dtype (t, &dt) && (b == NULL || b->dtype == t->dtype) &&
        (biases == NULL || biases[0] != NULL)) {
      w = ib_cl_weight_new (l->dev, t->data, dt, (int) n, (int) k,
          b ? b->data : NULL, l->storage, error);
      if (w)
        l->bytes += ib_cl_weight_get_bytes (w);
      drop_pages (t);
      return w;
    }
  }

  /* Otherwise conversion to f32 (and stacking) one layer at a time: at most
   * one layer's weights live on the host beside the mapping. */
  wbuf = g_try_malloc ((gsize) n * k * sizeof (float));
  if (biases)
    bbuf = g_try_malloc0 ((gsize) n * sizeof (float));
  if (wbuf == NULL || (biases && bbuf == NULL)) {
    g_set_error (error, IB_ERROR, IB_ERROR_NO_MEMORY,
        "out of memory converting %s", weights[0]);
    goto out;
  }
  for (i = 0; i < count; i++) {
    t = ib_safetensors_get (l->st, weights[i]);
    if (!ib_tensor_read_f32 (t, 0, t->n_elements, wbuf + row * k, error))
      goto out;
    drop_pages (t);
    if (biases && biases[i]) {
      const IbTensor *b = ib_load_tensor (l, biases[i], t->shape[0], error);
      if (b == NULL ||
          !ib_tensor_read_f32 (b, 0, b->n_elements, bbuf + row, error))
        goto out;
    }
    row += t->shape[0];
  }
  w = ib_cl_weight_new (l->dev, wbuf, IB_CL_DTYPE_F32, (int) n, (int) k, bbuf,
      l->storage, error);
  if (w)
    l->bytes += ib_cl_weight_get_bytes (w);
out:
  g_free (wbuf);
  g_free (bbuf);
  return w;
}

IbClWeight *
ib_load_linear1 (IbLoader *l, gboolean with_bias, GError **error,
    const char *prefix_fmt, ...)
{
  va_list ap;
  char *prefix, *wn, *bn;
  IbClWeight *w;

  va_start (ap, prefix_fmt);
  prefix = g_strdup_vprintf (prefix_fmt, ap);
  va_end (ap);
  wn = g_strconcat (prefix, ".weight", NULL);
  bn = g_strconcat (prefix, ".bias", NULL);
  {
    const char *ws[] = { wn, NULL }, *bs[] = { bn, NULL };
    w = ib_load_linear (l, ws, with_bias ? bs : NULL, error);
  }
  g_free (prefix);
  g_free (wn);
  g_free (bn);
  return w;
}

IbClBuffer *
ib_load_vector (IbLoader *l, gsize n, GError **error, const char *name_fmt, ...)
{
  va_list ap;
  char *name;
  const IbTensor *t;
  float *host = NULL;
  IbClBuffer *buf = NULL;

  va_start (ap, name_fmt);
  name = g_strdup_vprintf (name_fmt, ap);
  va_end (ap);
  t = ib_load_tensor (l, name, n, error);
  if (t == NULL)
    goto out;
  host = ib_cl_host_alloc (n * sizeof (float));
  if (host == NULL) {
    g_set_error (error, IB_ERROR, IB_ERROR_NO_MEMORY, "out of memory");
    goto out;
  }
  if (!ib_tensor_read_f32 (t, 0, n, host, error)) {
    ib_cl_host_free (host);
    goto out;
  }
  drop_pages (t);
  buf = ib_cl_buffer_new_take_host (l->dev, host, n * sizeof (float), error);
  if (buf)
    l->bytes += buf->size;
out:
  g_free (name);
  return buf;
}

IbClDtype
ib_load_table_dtype (const IbLoader *l)
{
  return l->storage == IB_CL_DTYPE_F32 ? IB_CL_DTYPE_F32 : IB_CL_DTYPE_F16;
}

IbClBuffer *
ib_load_table (IbLoader *l, const char *name, gint64 rows, gint64 cols,
    GError **error)
{
  const IbTensor *t = ib_load_tensor (l, name, (guint64) (rows * cols), error);
  gsize n = (gsize) (rows * cols);
  gboolean f16 = ib_load_table_dtype (l) == IB_CL_DTYPE_F16;
  gpointer host;

  if (t == NULL)
    return NULL;
  host = ib_cl_host_alloc (n * (f16 ? 2 : 4));
  if (host == NULL) {
    g_set_error (error, IB_ERROR, IB_ERROR_NO_MEMORY, "out of memory");
    return NULL;
  }
  if (!(f16 ? ib_tensor_read_f16 (t, 0, n, host, error) :
              ib_tensor_read_f32 (t, 0, n, host, error))) {
    ib_cl_host_free (host);
    return NULL;
  }
  drop_pages (t);
  l->bytes += n * (f16 ? 2 : 4);
  return ib_cl_buffer_new_take_host (l->dev, host, n * (f16 ? 2 : 4), error);
}
