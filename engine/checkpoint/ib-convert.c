/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tensor data to f32 or IEEE half in caller buffers, from F32, F16 or BF16. */
#include "ib-convert.h"
#include "ib-error.h"

#include "half.h" /* the device layer's host conversions */

#include <string.h>

static guint32
f32_bits (float f)
{
  guint32 u;

  memcpy (&u, &f, 4);
  return u;
}

static float
f32_from_bits (guint32 u)
{
  float f;

  memcpy (&f, &u, 4);
  return f;
}

static gboolean
check_range (const IbTensor *t, guint64 first, gsize count, GError **error)
{
  if (!ib_dtype_is_supported_weight (t->dtype)) {
    g_set_error (error, IB_ERROR, IB_ERROR_UNSUPPORTED,
        "%s: tensor %s has unsupported dtype %s (supported: F32, F16, BF16)",
        t->file, t->name, ib_dtype_name (t->dtype));
    return FALSE;
  }
  if (first > t->n_elements || count > t->n_elements - first) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "tensor %s: elements [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
        ") are outside its %" G_GUINT64_FORMAT " elements",
        t->name, first, first + (guint64) count, t->n_elements);
    return FALSE;
  }
  return TRUE;
}

/* Little-endian loads. */
static guint16
load16 (const guint8 *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

static guint32
load32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) |
      ((guint32) p[3] << 24);
}

/* Elements per pread when converting: a bounded staging buffer. */
#define CHUNK 16384

/* Elements [first, first + count) of @t into @dst (@f32: floats, else
 * halves), CHUNK at a time. */
static gboolean
read_converted (const IbTensor *t, guint64 first, gsize count, void *dst,
    gboolean f32, GError **error)
{
  const gsize es = ib_dtype_size (t->dtype);
  const gsize ds = f32 ? 4 : 2;
  guint8 *buf = NULL;
  gsize done, n, i;
  gboolean ok = TRUE;

  /* as stored: straight into @dst */
  if (G_BYTE_ORDER == G_LITTLE_ENDIAN &&
      t->dtype == (f32 ? IB_DTYPE_F32 : IB_DTYPE_F16))
    return ib_tensor_read_bytes (t, first * es, count * es, dst, error);

  buf = g_malloc (MIN (count, CHUNK) * es + 1);
  for (done = 0; ok && done < count; done += n) {
    n = MIN (count - done, CHUNK);
    ok = ib_tensor_read_bytes (t, (first + done) * es, n * es, buf, error);
    for (i = 0; ok && i < n; i++) {
      const guint8 *p = buf + i * es;
      guint8 *out = (guint8 *) dst + (done + i) * ds;
      float v;
      guint16 h;

      switch (t->dtype) {
        case IB_DTYPE_F32:
          v = f32_from_bits (load32 (p));
          break;
        case IB_DTYPE_F16:
          if (!f32) {
            h = load16 (p);
            memcpy (out, &h, 2);
            continue;
          }
          v = ib_cl_f16_to_f32 (load16 (p));
          break;
        default: /* BF16; check_range refused the rest */
          v = ib_cl_bf16_to_f32 (load16 (p));
          break;
      }
      if (f32) {
        memcpy (out, &v, 4);
      } else {
        h = ib_cl_f32_to_f16 (v);
        memcpy (out, &h, 2);
      }
    }
  }
  g_free (buf);
  return ok;
}

gboolean
ib_tensor_read_f32 (const IbTensor *t, guint64 first, gsize count, float *dst,
    GError **error)
{
  g_return_val_if_fail (t != NULL, FALSE);
  g_return_val_if_fail (dst != NULL || count == 0, FALSE);

  return check_range (t, first, count, error) &&
      read_converted (t, first, count, dst, TRUE, error);
}

gboolean
ib_tensor_read_f16 (const IbTensor *t, guint64 first, gsize count, guint16 *dst,
    GError **error)
{
  g_return_val_if_fail (t != NULL, FALSE);
  g_return_val_if_fail (dst != NULL || count == 0, FALSE);

  return check_range (t, first, count, error) &&
      read_converted (t, first, count, dst, FALSE, error);
}

static gboolean
not_finite (const IbTensor *t, guint64 index, const char *as, GError **error)
{
  g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
      "%s: tensor %s holds a NaN or infinite value%s at element "
      "%" G_GUINT64_FORMAT ": the weights are damaged",
      t->file, t->name, as, index);
  return FALSE;
}

gboolean
ib_tensor_check_finite_f32 (const IbTensor *t, guint64 first,
    const float *values, gsize count, GError **error)
{
  guint32 any = 0;
  gsize i;

  g_return_val_if_fail (t != NULL, FALSE);
  g_return_val_if_fail (values != NULL || count == 0, FALSE);
  /* exponent all ones: NaN or infinity; one pass without branches first */
  for (i = 0; i < count; i++)
    any |= (~f32_bits (values[i]) & 0x7f800000) == 0;
  if (!any)
    return TRUE;
  for (i = 0; (~f32_bits (values[i]) & 0x7f800000) != 0; i++)
    ;
  return not_finite (t, first + i, "", error);
}

gboolean
ib_tensor_check_finite_f16 (const IbTensor *t, guint64 first,
    const guint16 *values, gsize count, GError **error)
{
  guint32 any = 0;
  gsize i;

  g_return_val_if_fail (t != NULL, FALSE);
  g_return_val_if_fail (values != NULL || count == 0, FALSE);
  for (i = 0; i < count; i++)
    any |= (~values[i] & 0x7c00) == 0;
  if (!any)
    return TRUE;
  for (i = 0; (~values[i] & 0x7c00) != 0; i++)
    ;
  return not_finite (t, first + i, " (as fp16: beyond +-65504 included)",
      error);
}
