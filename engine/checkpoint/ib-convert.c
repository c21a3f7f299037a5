/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tensor data to f32 or IEEE half in caller buffers, from F32, F16 or BF16. */
#include "ib-convert.h"
#include "ib-error.h"

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

float
ib_f16_to_f32 (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  guint32 exp = (h >> 10) & 0x1f;
  guint32 mant = h & 0x3ff;

  if (exp == 0x1f) /* inf, NaN (payload kept) */
    return f32_from_bits (sign | 0x7f800000 | (mant << 13));
  if (exp == 0) {
    if (mant == 0)
      return f32_from_bits (sign);
    /* subnormal: mant * 2^-24, exact in f32 */
    exp = 127 - 15 + 1;
    while ((mant & 0x400) == 0) {
      mant <<= 1;
      exp--;
    }
    mant &= 0x3ff;
    return f32_from_bits (sign | (exp << 23) | (mant << 13));
  }
  return f32_from_bits (sign | ((exp + 127 - 15) << 23) | (mant << 13));
}

guint16
ib_f32_to_f16 (float f)
{
  guint32 x = f32_bits (f);
  guint16 sign = (guint16) ((x >> 16) & 0x8000);
  guint32 ax = x & 0x7fffffff;
  guint32 e, m, h, rem, shift, q, half;

  if (ax > 0x7f800000) /* NaN: quiet, top payload bits kept (as F16C) */
    return sign | 0x7e00 | (guint16) ((ax & 0x7fffff) >> 13);
  if (ax >= 0x477ff000) /* >= 65520 rounds to inf (ties to even) */
    return sign | 0x7c00;
  if (ax < 0x38800000) { /* below 2^-14: a half subnormal or zero */
    if (ax <= 0x33000000) /* <= 2^-25: to zero (2^-25 ties to even 0) */
      return sign;
    e = ax >> 23;
    m = (ax & 0x7fffff) | 0x800000;
    /* value = m * 2^(e - 150); in units of 2^-24: m >> (126 - e) */
    shift = 126 - e;
    q = m >> shift;
    rem = m & ((1u << shift) - 1);
    half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1)))
      q++;
    return sign | (guint16) q;
  }
  e = (ax >> 23) - 127 + 15;
  m = ax & 0x7fffff;
  h = (e << 10) | (m >> 13);
  rem = m & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
    h++; /* a carry into the exponent is the right result */
  return sign | (guint16) h;
}

float
ib_bf16_to_f32 (guint16 b)
{
  return f32_from_bits ((guint32) b << 16);
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

/* Little-endian loads from possibly unaligned memory. */
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

gboolean
ib_tensor_read_f32 (const IbTensor *t, guint64 first, gsize count, float *dst,
    GError **error)
{
  const guint8 *src;
  gsize i;

  g_return_val_if_fail (t != NULL, FALSE);
  g_return_val_if_fail (dst != NULL || count == 0, FALSE);

  if (!check_range (t, first, count, error))
    return FALSE;
  src = (const guint8 *) t->data + first * ib_dtype_size (t->dtype);
  switch (t->dtype) {
    case IB_DTYPE_F32:
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
      memcpy (dst, src, count * 4);
#else
      for (i = 0; i < count; i++)
        dst[i] = f32_from_bits (load32 (src + 4 * i));
#endif
      break;
    case IB_DTYPE_F16:
      for (i = 0; i < count; i++)
        dst[i] = ib_f16_to_f32 (load16 (src + 2 * i));
      break;
    case IB_DTYPE_BF16:
      for (i = 0; i < count; i++)
        dst[i] = ib_bf16_to_f32 (load16 (src + 2 * i));
      break;
    default:
      g_return_val_if_reached (FALSE);
  }
  return TRUE;
}

gboolean
ib_tensor_read_f16 (const IbTensor *t, guint64 first, gsize count, guint16 *dst,
    GError **error)
{
  const guint8 *src;
  gsize i;

  g_return_val_if_fail (t != NULL, FALSE);
  g_return_val_if_fail (dst != NULL || count == 0, FALSE);

  if (!check_range (t, first, count, error))
    return FALSE;
  src = (const guint8 *) t->data + first * ib_dtype_size (t->dtype);
  switch (t->dtype) {
    case IB_DTYPE_F32:
      for (i = 0; i < count; i++)
        dst[i] = ib_f32_to_f16 (f32_from_bits (load32 (src + 4 * i)));
      break;
    case IB_DTYPE_F16:
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
      memcpy (dst, src, count * 2);
#else
      for (i = 0; i < count; i++)
        dst[i] = load16 (src + 2 * i);
#endif
      break;
    case IB_DTYPE_BF16:
      for (i = 0; i < count; i++)
        dst[i] = ib_f32_to_f16 (ib_bf16_to_f32 (load16 (src + 2 * i)));
      break;
    default:
      g_return_val_if_reached (FALSE);
  }
  return TRUE;
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
