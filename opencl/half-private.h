/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal: the host vector instruction set used by half.c and pack.c. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  IB_CL_ISA_SCALAR, /* plain C */
  IB_CL_ISA_AVX2, /* AVX2 + F16C */
  IB_CL_ISA_AVX512, /* AVX-512 F/BW/VL */
} IbClIsa;

/* The widest set this CPU supports. */
IbClIsa ib_cl_isa_best (void);

/* The set the conversions use now: ib_cl_isa_best() unless forced. */
IbClIsa ib_cl_isa_get (void);

/* Test hook: use @isa (clamped to ib_cl_isa_best()) from now on. Not
 * thread-safe against conversions running at the same time. */
void ib_cl_isa_force (IbClIsa isa);

/* x86 SSE control register: conversions must see denormals as they are.
 * Clears DAZ and FTZ and returns the previous value for
 * ib_cl_isa_leave(); does nothing off x86. */
guint ib_cl_isa_enter (void);
void ib_cl_isa_leave (guint saved);

#if defined(__x86_64__) || defined(__i386__)
#define IB_X86 1
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
/* GCC 12's avx512fintrin.h builds vectors from _mm512_undefined_*() and then
 * warns about them (GCC bug 105593) */
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define TARGET_AVX512 __attribute__ ((target ("avx512f,avx512bw,avx512vl")))
#define TARGET_AVX2 __attribute__ ((target ("avx2,f16c,fma")))

/* f16 -> f32 in integer arithmetic (exact; a signalling NaN stays
 * signalling, which vcvtph2ps would not guarantee). @h: 16 halves
 * zero-extended to 32 bits. */
TARGET_AVX512 static inline __m512
f16_to_f32_v16 (__m512i h)
{
  const __m512i exp_mask = _mm512_set1_epi32 (0x7c00);
  __m512i e = _mm512_and_si512 (h, exp_mask);
  __m512i em = _mm512_and_si512 (h, _mm512_set1_epi32 (0x7fff));
  __m512i sign =
      _mm512_slli_epi32 (_mm512_and_si512 (h, _mm512_set1_epi32 (0x8000)), 16);
  __m512i bits = _mm512_slli_epi32 (em, 13);
  __m512i normal = _mm512_add_epi32 (bits, _mm512_set1_epi32 (112 << 23));
  __m512i special = _mm512_add_epi32 (bits, _mm512_set1_epi32 (224 << 23));
  /* zero or subnormal: em * 2^-24, exact */
  __m512i sub = _mm512_castps_si512 (_mm512_mul_ps (_mm512_cvtepi32_ps (em),
      _mm512_set1_ps (1.0f / 16777216.0f)));
  __m512i r = normal;

  r = _mm512_mask_mov_epi32 (r, _mm512_cmpeq_epi32_mask (e, exp_mask), special);
  r = _mm512_mask_mov_epi32 (r,
      _mm512_cmpeq_epi32_mask (e, _mm512_setzero_si512 ()), sub);
  return _mm512_castsi512_ps (_mm512_or_si512 (r, sign));
}

TARGET_AVX2 static inline __m256
f16_to_f32_v8 (__m256i h)
{
  const __m256i exp_mask = _mm256_set1_epi32 (0x7c00);
  __m256i e = _mm256_and_si256 (h, exp_mask);
  __m256i em = _mm256_and_si256 (h, _mm256_set1_epi32 (0x7fff));
  __m256i sign =
      _mm256_slli_epi32 (_mm256_and_si256 (h, _mm256_set1_epi32 (0x8000)), 16);
  __m256i bits = _mm256_slli_epi32 (em, 13);
  __m256i normal = _mm256_add_epi32 (bits, _mm256_set1_epi32 (112 << 23));
  __m256i special = _mm256_add_epi32 (bits, _mm256_set1_epi32 (224 << 23));
  __m256i sub = _mm256_castps_si256 (_mm256_mul_ps (_mm256_cvtepi32_ps (em),
      _mm256_set1_ps (1.0f / 16777216.0f)));
  __m256i r = normal;

  r = _mm256_blendv_epi8 (r, special, _mm256_cmpeq_epi32 (e, exp_mask));
  r = _mm256_blendv_epi8 (r, sub,
      _mm256_cmpeq_epi32 (e, _mm256_setzero_si256 ()));
  return _mm256_castsi256_ps (_mm256_or_si256 (r, sign));
}
#endif

G_END_DECLS
