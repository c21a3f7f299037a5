/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IEEE half and bfloat16 conversions on the host. */
#include "half.h"

#include <string.h>

static guint32
f32_bits (float f)
{
  guint32 u;
  memcpy (&u, &f, 4);
  return u;
}

static float
bits_f32 (guint32 u)
{
  float f;
  memcpy (&f, &u, 4);
  return f;
}

guint16
ib_cl_f32_to_f16 (float f)
{
  guint32 u = f32_bits (f);
  guint32 sign = (u >> 16) & 0x8000;
  gint32 exp = (gint32) ((u >> 23) & 0xff) - 127 + 15;
  guint32 mant = u & 0x7fffff;

  if (((u >> 23) & 0xff) == 0xff) /* inf or NaN (keep it a NaN) */
    return sign | 0x7c00 | (mant ? 0x200 | (mant >> 13) : 0);
  if (exp >= 31)
    return sign | 0x7c00; /* overflow to inf */
  if (exp <= 0) {
    /* subnormal half (or zero): shift the implicit-1 mantissa down */
    guint32 m, shift, half_bit, rest;
    if (exp < -10)
      return sign;
    m = mant | 0x800000;
    shift = (guint32) (14 - exp);
    half_bit = 1u << (shift - 1);
    rest = m & ((1u << shift) - 1);
    m >>= shift;
    if (rest > half_bit || (rest == half_bit && (m & 1)))
      m++;
    return sign | m;
  }
  {
    guint32 h = sign | ((guint32) exp << 10) | (mant >> 13);
    guint32 rest = mant & 0x1fff;
    /* round to nearest even; a carry into the exponent is correct */
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
      h++;
    return h;
  }
}

float
ib_cl_f16_to_f32 (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  guint32 exp = (h >> 10) & 0x1f;
  guint32 mant = h & 0x3ff;

  if (exp == 0) {
    if (mant == 0)
      return bits_f32 (sign);
    /* subnormal: normalise */
    exp = 127 - 15 + 1;
    while ((mant & 0x400) == 0) {
      mant <<= 1;
      exp--;
    }
    mant &= 0x3ff;
    return bits_f32 (sign | (exp << 23) | (mant << 13));
  }
  if (exp == 31)
    return bits_f32 (sign | 0x7f800000 | (mant << 13));
  return bits_f32 (sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

float
ib_cl_bf16_to_f32 (guint16 b)
{
  return bits_f32 ((guint32) b << 16);
}
