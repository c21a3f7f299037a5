/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IEEE half and bfloat16 conversions on the host. */
#include "half.h"
#include "half-private.h"

#include <string.h>
#ifdef IB_X86
#include <cpuid.h>
#endif


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

/* --- instruction set, chosen once ------------------------------------- */

static gint forced_isa = -1;

#ifdef IB_X86
/* CPUID.1:ECX bit 29 (not every compiler's __builtin_cpu_supports knows
 * "f16c"); only asked once AVX2 is known usable. */
static gboolean
has_f16c (void)
{
  unsigned a, b, c, d;

  return __get_cpuid (1, &a, &b, &c, &d) && (c & (1u << 29));
}
#endif

IbClIsa
ib_cl_isa_best (void)
{
  static gsize once = 0;
  static IbClIsa best = IB_CL_ISA_SCALAR;

  if (g_once_init_enter (&once)) {
#ifdef IB_X86
    __builtin_cpu_init ();
    if (__builtin_cpu_supports ("avx512f") &&
        __builtin_cpu_supports ("avx512bw") &&
        __builtin_cpu_supports ("avx512vl"))
      best = IB_CL_ISA_AVX512;
    else if (__builtin_cpu_supports ("avx2") && has_f16c () &&
        __builtin_cpu_supports ("fma"))
      best = IB_CL_ISA_AVX2;
#endif
    g_once_init_leave (&once, 1);
  }
  return best;
}

IbClIsa
ib_cl_isa_get (void)
{
  gint f = g_atomic_int_get (&forced_isa);

  return f >= 0 ? (IbClIsa) f : ib_cl_isa_best ();
}

void
ib_cl_isa_force (IbClIsa isa)
{
  g_atomic_int_set (&forced_isa, (gint) MIN (isa, ib_cl_isa_best ()));
}

guint
ib_cl_isa_enter (void)
{
#ifdef IB_X86
  guint csr = _mm_getcsr ();

  /* DAZ (bit 6) and FTZ (bit 15) would turn denormals into zeros */
  if (csr & 0x8040)
    _mm_setcsr (csr & ~0x8040u);
  return csr;
#else
  return 0;
#endif
}

void
ib_cl_isa_leave (guint saved)
{
#ifdef IB_X86
  if (saved & 0x8040)
    _mm_setcsr (saved);
#else
  (void) saved;
#endif
}

/* --- bulk conversions --------------------------------------------------- */

#ifdef IB_X86
/* f32 -> f16 with F16C: round to nearest even; a NaN becomes quiet with its
 * top payload bits kept, as ib_cl_f32_to_f16 does. */
TARGET_AVX512 static void
f32_to_f16_avx512 (guint16 *dst, const float *src, gsize n)
{
  gsize i = 0;

  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256 ((__m256i *) (dst + i),
        _mm512_cvtps_ph (_mm512_loadu_ps (src + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; i++)
    dst[i] = ib_cl_f32_to_f16 (src[i]);
}

TARGET_AVX2 static void
f32_to_f16_avx2 (guint16 *dst, const float *src, gsize n)
{
  gsize i = 0;

  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128 ((__m128i *) (dst + i),
        _mm256_cvtps_ph (_mm256_loadu_ps (src + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; i++)
    dst[i] = ib_cl_f32_to_f16 (src[i]);
}

TARGET_AVX512 static void
f16_to_f32_avx512 (float *dst, const guint16 *src, gsize n)
{
  gsize i = 0;

  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps (dst + i,
        f16_to_f32_v16 (_mm512_cvtepu16_epi32 (
            _mm256_loadu_si256 ((const __m256i *) (src + i)))));
  for (; i < n; i++)
    dst[i] = ib_cl_f16_to_f32 (src[i]);
}

TARGET_AVX2 static void
f16_to_f32_avx2 (float *dst, const guint16 *src, gsize n)
{
  gsize i = 0;

  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps (dst + i,
        f16_to_f32_v8 (_mm256_cvtepu16_epi32 (
            _mm_loadu_si128 ((const __m128i *) (src + i)))));
  for (; i < n; i++)
    dst[i] = ib_cl_f16_to_f32 (src[i]);
}

TARGET_AVX512 static void
bf16_to_f32_avx512 (float *dst, const guint16 *src, gsize n)
{
  gsize i = 0;

  for (; i + 16 <= n; i += 16)
    _mm512_storeu_si512 (dst + i,
        _mm512_slli_epi32 (_mm512_cvtepu16_epi32 (_mm256_loadu_si256 (
                               (const __m256i *) (src + i))),
            16));
  for (; i < n; i++)
    dst[i] = ib_cl_bf16_to_f32 (src[i]);
}

TARGET_AVX2 static void
bf16_to_f32_avx2 (float *dst, const guint16 *src, gsize n)
{
  gsize i = 0;

  for (; i + 8 <= n; i += 8)
    _mm256_storeu_si256 ((__m256i *) (dst + i),
        _mm256_slli_epi32 (_mm256_cvtepu16_epi32 (
                               _mm_loadu_si128 ((const __m128i *) (src + i))),
            16));
  for (; i < n; i++)
    dst[i] = ib_cl_bf16_to_f32 (src[i]);
}
#endif

void
ib_cl_f32_to_f16_n (guint16 *dst, const float *src, gsize n)
{
  guint csr = ib_cl_isa_enter ();
  gsize i;

  switch (ib_cl_isa_get ()) {
#ifdef IB_X86
    case IB_CL_ISA_AVX512:
      f32_to_f16_avx512 (dst, src, n);
      break;
    case IB_CL_ISA_AVX2:
      f32_to_f16_avx2 (dst, src, n);
      break;
#endif
    default:
      for (i = 0; i < n; i++)
        dst[i] = ib_cl_f32_to_f16 (src[i]);
  }
  ib_cl_isa_leave (csr);
}

void
ib_cl_f16_to_f32_n (float *dst, const guint16 *src, gsize n)
{
  guint csr = ib_cl_isa_enter ();
  gsize i;

  switch (ib_cl_isa_get ()) {
#ifdef IB_X86
    case IB_CL_ISA_AVX512:
      f16_to_f32_avx512 (dst, src, n);
      break;
    case IB_CL_ISA_AVX2:
      f16_to_f32_avx2 (dst, src, n);
      break;
#endif
    default:
      for (i = 0; i < n; i++)
        dst[i] = ib_cl_f16_to_f32 (src[i]);
  }
  ib_cl_isa_leave (csr);
}

void
ib_cl_bf16_to_f32_n (float *dst, const guint16 *src, gsize n)
{
  gsize i;

  switch (ib_cl_isa_get ()) {
#ifdef IB_X86
    case IB_CL_ISA_AVX512:
      bf16_to_f32_avx512 (dst, src, n);
      break;
    case IB_CL_ISA_AVX2:
      bf16_to_f32_avx2 (dst, src, n);
      break;
#endif
    default:
      for (i = 0; i < n; i++)
        dst[i] = ib_cl_bf16_to_f32 (src[i]);
  }
}
