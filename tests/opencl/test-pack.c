/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host conversions and weight packing: every vector path (AVX-512, AVX2 +
 * F16C) gives the bytes of the plain C path, on random bit patterns with
 * NaN, infinities, denormals and rounding ties. No device needed. */
#include <math.h>
#include <string.h>

#include "gemm-priv.h"
#include "half.h"
#include "half-private.h"
#include "pack.h"

static const char *const isa_names[] = { "scalar", "avx2", "avx512" };

static guint32
next (guint64 *s)
{
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (guint32) (*s >> 32);
}

/* f32 bit patterns that hit every branch of the converters: random bits
 * (NaNs with payloads, infinities, f32 denormals), values around the f16
 * range and its subnormals, and exact ties of f16 rounding. */
static guint32
interesting_f32 (guint64 *s)
{
  guint32 r = next (s), kind = next (s) % 8;
  guint32 sign = r & 0x80000000u;

  switch (kind) {
    case 0:
      return r; /* anything */
    case 1: /* f16 normal range: exponents 2^-15 .. 2^16 */
      return sign | ((112 + r % 33) << 23) | (next (s) & 0x7fffff);
    case 2: /* ties: the 13 dropped bits are exactly 1000...0 */
      return sign | ((103 + r % 40) << 23) | (next (s) & 0x7fe000) | 0x1000;
    case 3: /* f16 subnormal range, ties included */
      return sign | ((101 + r % 12) << 23) |
          ((next (s) & 1) ? (next (s) & 0x7fffff) : (next (s) & 0x7ff000));
    case 4: /* NaN with a random payload, quiet or signalling */
      return sign | 0x7f800000 | (1 + next (s) % 0x7fffff);
    case 5: /* f32 denormals and zeros */
      return sign | (r % 2 ? next (s) & 0x7fffff : 0);
    case 6: /* infinities and overflow boundaries around 65504..65536 */
      return sign | (r % 2 ? 0x7f800000 : 0x477fe000 + next (s) % 0x4000);
    default:
      return sign | (next (s) & 0x3fffffff);
  }
}

static guint16
interesting_f16 (guint64 *s)
{
  guint32 r = next (s);

  /* a third of them NaN or infinity, else anything */
  return (r % 3 == 0) ? (guint16) ((r & 0x8000) | 0x7c00 | (next (s) & 0x3ff)) :
                        (guint16) (r >> 8);
}

static void
test_converters (void)
{
  const gsize n = 100003; /* not a multiple of any vector width */
  guint32 *src32 = g_new (guint32, n);
  guint16 *src16 = g_new (guint16, n), *h = g_new (guint16, n);
  float *f = g_new (float, n);
  guint64 seed = 1;
  gsize i;
  int isa;

  for (i = 0; i < n; i++) {
    src32[i] = interesting_f32 (&seed);
    /* every 16-bit pattern, then random ones */
    src16[i] = i < 0x10000 ? (guint16) i : interesting_f16 (&seed);
  }
  for (isa = 0; isa <= (int) ib_cl_isa_best (); isa++) {
    ib_cl_isa_force ((IbClIsa) isa);
    g_test_message ("path %s", isa_names[isa]);

    ib_cl_f32_to_f16_n (h, (const float *) src32, n);
    for (i = 0; i < n; i++) {
      float v;

      memcpy (&v, &src32[i], 4);
      if (h[i] != ib_cl_f32_to_f16 (v))
        g_error ("%s f32->f16 of 0x%08x: 0x%04x, plain C gives 0x%04x",
            isa_names[isa], src32[i], h[i], ib_cl_f32_to_f16 (v));
    }
    ib_cl_f16_to_f32_n (f, src16, n);
    for (i = 0; i < n; i++) {
      float want = ib_cl_f16_to_f32 (src16[i]);

      if (memcmp (&f[i], &want, 4) != 0)
        g_error ("%s f16->f32 of 0x%04x differs", isa_names[isa], src16[i]);
    }
    ib_cl_bf16_to_f32_n (f, src16, n);
    for (i = 0; i < n; i++) {
      float want = ib_cl_bf16_to_f32 (src16[i]);

      if (memcmp (&f[i], &want, 4) != 0)
        g_error ("%s bf16->f32 of 0x%04x differs", isa_names[isa], src16[i]);
    }
  }
  ib_cl_isa_force (ib_cl_isa_best ());
  g_free (src32);
  g_free (src16);
  g_free (h);
  g_free (f);
}

/* The same conversions with the x86 DAZ/FTZ flags set by the host
 * application (as -ffast-math start-up code does): denormals still
 * convert exactly. */
static void
test_converters_daz (void)
{
#ifdef IB_X86
  guint csr = _mm_getcsr ();
  guint16 h[64], h16[64];
  float f[64], src[64];
  int i;

  for (i = 0; i < 64; i++)
    src[i] = ldexpf ((float) (i + 1), -140 + i); /* f32 denormals .. f16 */
  _mm_setcsr (csr | 0x8040);
  ib_cl_f32_to_f16_n (h16, src, 64);
  for (i = 0; i < 64; i++)
    h[i] = (guint16) i; /* f16 subnormals */
  ib_cl_f16_to_f32_n (f, h, 64);
  _mm_setcsr (csr);
  for (i = 0; i < 64; i++)
    g_assert_cmphex (h16[i], ==, ib_cl_f32_to_f16 (src[i]));
  for (i = 1; i < 64; i++)
    g_assert_cmpfloat (f[i], ==, ldexpf ((float) i, -24));
#else
  g_test_skip ("x86 only");
#endif
}

/* The naive layout: what pack.h promises, one element at a time. */
static void
pack_reference (guint8 *dst, IbClDtype storage, const guint8 *w, IbClDtype src,
    int n, int k, int n_padded, gboolean panels)
{
  const int nr = IB_CL_GEMM_NR;
  int col, kk;

  for (col = 0; col < n_padded; col++) {
    for (kk = 0; kk < k; kk++) {
      gsize at = panels ? ((gsize) (col / nr) * k + kk) * nr + col % nr :
                          (gsize) kk * n + col;
      gsize from = (gsize) col * k + kk;
      float v = 0.0f;

      if (col < n) {
        if (src == IB_CL_DTYPE_F32)
          memcpy (&v, w + 4 * from, 4);
        else if (src == IB_CL_DTYPE_F16)
          v = ib_cl_f16_to_f32 (((const guint16 *) w)[from]);
        else
          v = ib_cl_bf16_to_f32 (((const guint16 *) w)[from]);
      }
      if (storage == IB_CL_DTYPE_F16)
        ((guint16 *) dst)[at] = ib_cl_f32_to_f16 (v);
      else
        memcpy (dst + 4 * at, &v, 4);
    }
  }
}

typedef struct
{
  int n, k;
} Shape;

static void
test_pack (void)
{
  /* odd sizes: partial panels, k not a multiple of 8, 16 or 64, and one
   * large enough (n·k >= 2^20) to run on several threads */
  static const Shape shapes[] = { { 1, 1 }, { 37, 13 }, { 33, 100 },
    { 64, 128 }, { 100, 37 }, { 16, 200 }, { 1061, 1000 } };
  static const IbClDtype srcs[] = { IB_CL_DTYPE_F32, IB_CL_DTYPE_F16,
    IB_CL_DTYPE_BF16 };
  static const IbClDtype stores[] = { IB_CL_DTYPE_F32, IB_CL_DTYPE_F16 };
  guint64 seed = 7;
  guint s, a, b, p;
  int isa;

  for (s = 0; s < G_N_ELEMENTS (shapes); s++) {
    const int n = shapes[s].n, k = shapes[s].k;
    const int nr = IB_CL_GEMM_NR;
    gsize elems = (gsize) n * k, i;
    guint8 *w = g_malloc (elems * 4);

    for (a = 0; a < G_N_ELEMENTS (srcs); a++) {
      for (i = 0; i < elems; i++) {
        if (srcs[a] == IB_CL_DTYPE_F32)
          ((guint32 *) w)[i] = interesting_f32 (&seed);
        else
          ((guint16 *) w)[i] = interesting_f16 (&seed);
      }
      for (b = 0; b < G_N_ELEMENTS (stores); b++) {
        for (p = 0; p < 2; p++) {
          int n_padded = p ? (n + nr - 1) / nr * nr : n;
          gsize bytes = (gsize) n_padded * k * ib_cl_dtype_size (stores[b]);
          guint8 *want = g_malloc (bytes), *got = g_malloc (bytes);

          pack_reference (want, stores[b], w, srcs[a], n, k, n_padded, p);
          for (isa = 0; isa <= (int) ib_cl_isa_best (); isa++) {
            ib_cl_isa_force ((IbClIsa) isa);
            memset (got, 0xa5, bytes);
            ib_cl_pack_weight (got, stores[b], w, srcs[a], n, k, n_padded, p);
            if (memcmp (got, want, bytes) != 0)
              g_error ("%s: [%d, %d] %s -> %s %s differs from the reference",
                  isa_names[isa], n, k, ib_cl_dtype_name (srcs[a]),
                  ib_cl_dtype_name (stores[b]), p ? "panels" : "transposed");
          }
          g_free (want);
          g_free (got);
        }
      }
    }
    g_free (w);
  }
  ib_cl_isa_force (ib_cl_isa_best ());
}

static void
test_convert (void)
{
  static const IbClDtype from[] = { IB_CL_DTYPE_F32, IB_CL_DTYPE_F16,
    IB_CL_DTYPE_BF16 };
  static const IbClDtype to[] = { IB_CL_DTYPE_F32, IB_CL_DTYPE_F16 };
  const gsize n = (1u << 20) + 77; /* several threads, a ragged end */
  guint8 *src = g_malloc (n * 4), *got = g_malloc (n * 4),
         *want = g_malloc (n * 4);
  guint64 seed = 3;
  guint a, b;
  gsize i;
  int isa;

  for (a = 0; a < G_N_ELEMENTS (from); a++) {
    for (i = 0; i < n; i++) {
      if (from[a] == IB_CL_DTYPE_F32)
        ((guint32 *) src)[i] = interesting_f32 (&seed);
      else
        ((guint16 *) src)[i] = interesting_f16 (&seed);
    }
    for (b = 0; b < G_N_ELEMENTS (to); b++) {
      /* the reference: a [n, 1] matrix packed transposed is a copy; the
       * same dtype is copied bit for bit */
      if (from[a] == to[b])
        memcpy (want, src, n * ib_cl_dtype_size (to[b]));
      else
        pack_reference (want, to[b], src, from[a], (int) n, 1, (int) n, FALSE);
      for (isa = 0; isa <= (int) ib_cl_isa_best (); isa++) {
        ib_cl_isa_force ((IbClIsa) isa);
        ib_cl_convert (got, to[b], src, from[a], n);
        if (memcmp (got, want, n * ib_cl_dtype_size (to[b])) != 0)
          g_error ("%s: convert %s -> %s differs", isa_names[isa],
              ib_cl_dtype_name (from[a]), ib_cl_dtype_name (to[b]));
      }
    }
  }
  ib_cl_isa_force (ib_cl_isa_best ());
  g_free (src);
  g_free (got);
  g_free (want);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_message ("widest vector path on this CPU: %s",
      isa_names[ib_cl_isa_best ()]);
  g_test_add_func ("/pack/converters", test_converters);
  g_test_add_func ("/pack/converters-daz", test_converters_daz);
  g_test_add_func ("/pack/weight", test_pack);
  g_test_add_func ("/pack/convert", test_convert);
  return g_test_run ();
}
