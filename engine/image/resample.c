/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pillow's two-pass separable bicubic resampling (libImaging/Resample.c),
 * reproduced step for step so that every output byte matches. */
#include "resample.h"

#include <math.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Pillow keeps 8 bits for the pixel and 2 for overshoot in an int:
 * coefficients carry 32 - 8 - 2 = 22 fractional bits. torch's uint8 path
 * stores them as int16 and picks the most bits (at most 22) that keep the
 * largest weight below 2^15, per axis. */
#define PRECISION_BITS (32 - 8 - 2)

/* Support of the Keys cubic (a = -0.5) before scaling. */
#define BICUBIC_SUPPORT 2.0

/* One axis of the resize: for each output position the first input index
 * and the number of taps, and the taps as fixed-point coefficients. */
typedef struct
{
  int n_out;
  int ksize; /* taps reserved per output; count <= ksize */
  int *bounds; /* [n_out, 2]: first input index, tap count */
  gint32 *k; /* [n_out, ksize] coefficients, prec fractional bits */
  int prec; /* fractional bits of k: 22 (Pillow) or per axis (torch) */
  /* the same coefficients split as k = hi * 65536 + lo (lo signed 16 bits)
   * and packed two taps per int32 for SSE2's pmaddwd: */
  int pair_stride; /* (ksize + 1) / 2 */
  guint32 *pairs; /* [n_out, pair_stride, 2]: lo (tap 2j, 2j + 1),
                   * hi (tap 2j, 2j + 1); an odd last tap pairs with 0 */
} IbResampleAxis;

/* Both passes work on 4-byte pixels: 4-byte formats are filtered in place
 * (the order of channels does not matter to a filter, the padding byte is
 * filtered and dropped), 3-byte ones and composited alpha go through a
 * converted RGBx row first. The final rows are swizzled to packed RGB. */
struct _IbImageResizer
{
  int in_w, in_h, out_w, out_h;
  gboolean need_h, need_v; /* Pillow skips a pass whose size is unchanged */
  gboolean h_first; /* pass order (horizontal_first in Pillow >= 13) */
  gboolean simd; /* use the SSE2 passes (same results) */
  IbResampleAxis horiz, vert;
  int row_first; /* first source row that the vertical pass reads */
  int n_rows; /* source rows the vertical pass reads */
  /* horizontal first: tmp is [n_rows, tmp_stride] (out_w * 4 rounded up
   * to 8 bytes), the horizontal pass output; vertical first: src holds the
   * source as RGBx rows [in_h, tmp_stride] (in_w * 4 rounded up) and tmp
   * [out_h, tmp_stride] the vertical pass output */
  gsize tmp_stride;
  guint8 *row; /* [in_w * 4] one source row converted to RGBx */
  guint8 *src; /* vertical first only, see above */
  guint8 *tmp;
  guint8 *vrow; /* [max (in_w, out_w) * 4 + 8] one output row of a pass */
  gint32 *acc; /* [tmp_stride] vertical pass accumulators (scalar) */
};

/* Pillow's bicubic_filter, the same operations in the same order (the
 * build disables FMA contraction, which could change the last bits). */
static inline double
bicubic_filter (double x)
{
#define A -0.5
  if (x < 0.0)
    x = -x;
  if (x < 1.0)
    return ((A + 2.0) * x - (A + 3.0)) * x * x + 1;
  if (x < 2.0)
    return (((x - 5) * x + 8) * x - 4) * A;
  return 0.0;
#undef A
}

/* torch's antialiasing bicubic filter (aten UpSample.h, a = -0.5): the
 * same cubic as Pillow's, its outer piece evaluated in another order. */
static inline double
bicubic_filter_torch (double x)
{
#define A -0.5
  if (x < 0.0)
    x = -x;
  if (x < 1.0)
    return ((A + 2.0) * x - (A + 3.0)) * x * x + 1;
  if (x < 2.0)
    return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return 0.0;
#undef A
}

static void
axis_clear (IbResampleAxis *ax)
{
  g_free (ax->bounds);
  g_free (ax->k);
  g_free (ax->pairs);
  memset (ax, 0, sizeof (*ax));
}

/* Packs the coefficients of taps @a and @b for pmaddwd: the low 16 bits of
 * each int32 lane multiply tap 2j, the high 16 bits tap 2j + 1. */
static inline guint32
pack_pair (gint32 a, gint32 b)
{
  return (guint32) (guint16) a | (guint32) (guint16) b << 16;
}

/* k = hi * 65536 + lo with lo in -32768..32767, so that pixel * lo pairs
 * fit pmaddwd. The lane sums add modulo 2^32 (long filters may wrap the lo
 * sum), and since Pillow's int sum fits in 32 bits, (sum_hi << 16) + sum_lo
 * modulo 2^32 is exactly that sum. */
static inline gint32
split_lo (gint32 k)
{
  return (gint16) (guint16) (k & 0xffff);
}

static inline gint32
split_hi (gint32 k)
{
  return (k - split_lo (k)) / 65536;
}

/* Pillow's precompute_coeffs followed by normalize_coeffs_8bpc for an
 * axis of @in_size pixels (box 0 .. in_size) resampled to @out_size; or,
 * for @torch, torch's _compute_indices_min_size_weights_aa and
 * compute_indices_int16_weights_aa (the same bounds and normalised
 * weights, then int16 with a per-axis precision). */
static gboolean
axis_init (IbResampleAxis *ax, int in_size, int out_size, gboolean torch,
    GError **error)
{
  double *w = NULL; /* [n_out, ksize] the normalised float weights */
  double w_max = 0.0;
  double support, scale, filterscale, inv_filterscale;
  gboolean ok = FALSE;
  int xx, x;

  memset (ax, 0, sizeof (*ax));

  /* box is float in Pillow; (float) in_size - 0.0f is exact here */
  filterscale = scale = (double) in_size / out_size;
  if (filterscale < 1.0)
    filterscale = 1.0;
  /* widen the filter when downscaling: this is the antialiasing */
  support = BICUBIC_SUPPORT * filterscale;
  ax->ksize = (int) ceil (support) * 2 + 1;
  ax->pair_stride = (ax->ksize + 1) / 2;
  ax->n_out = out_size;

  w = g_try_new0 (double, (gsize) out_size *(gsize) ax->ksize);
  ax->bounds = g_try_new (int, (gsize) out_size * 2);
  ax->k = g_try_new0 (gint32, (gsize) out_size * (gsize) ax->ksize);
  ax->pairs =
      g_try_new0 (guint32, (gsize) out_size * (gsize) ax->pair_stride * 2);
  if (w == NULL || ax->bounds == NULL || ax->k == NULL || ax->pairs == NULL) {
    g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_NO_MEMORY,
        "out of memory for %d x %d resampling coefficients", out_size,
        ax->ksize);
    goto out;
  }

  inv_filterscale = 1.0 / filterscale;
  for (xx = 0; xx < out_size; xx++) {
    double center = 0.0 + (xx + 0.5) * scale;
    double ww = 0.0, *wx = &w[(gsize) xx * ax->ksize];
    int xmin, xmax;

    /* (int) truncates toward zero, as in Pillow's "round the value" */
    xmin = (int) (center - support + 0.5);
    if (xmin < 0)
      xmin = 0;
    xmax = (int) (center + support + 0.5);
    if (xmax > in_size)
      xmax = in_size;
    xmax -= xmin;

    for (x = 0; x < xmax; x++) {
      const double t = (x + xmin - center + 0.5) * inv_filterscale;
      wx[x] = torch ? bicubic_filter_torch (t) : bicubic_filter (t);
      ww += wx[x];
    }
    for (x = 0; x < xmax; x++) {
      if (ww != 0.0)
        wx[x] /= ww;
      else if (torch)
        continue; /* torch keeps them, and leaves them out of the max */
      if (torch && wx[x] > w_max)
        w_max = wx[x];
    }
    ax->bounds[xx * 2 + 0] = xmin;
    ax->bounds[xx * 2 + 1] = xmax;
  }

  ax->prec = PRECISION_BITS;
  if (torch) {
    /* the most fractional bits that keep 2 * w_max below 2^15 */
    for (ax->prec = 0; ax->prec < PRECISION_BITS; ax->prec++)
      if ((int) (0.5 + w_max * (1 << (ax->prec + 1))) >= (1 << 15))
        break;
  }

  for (xx = 0; xx < out_size; xx++) {
    const double *wx = &w[(gsize) xx * ax->ksize];
    gint32 *k = &ax->k[(gsize) xx * ax->ksize];
    guint32 *pairs = &ax->pairs[(gsize) xx * ax->pair_stride * 2];
    const int xmax = ax->bounds[xx * 2 + 1];

    for (x = 0; x < xmax; x++) {
      /* round half away from zero via (int), as both do */
      const double v = wx[x] * (1 << ax->prec);
      k[x] = (gint32) (v < 0 ? v - 0.5 : v + 0.5);
    }
    for (x = 0; x < xmax; x += 2) {
      gint32 k1 = x + 1 < xmax ? k[x + 1] : 0;

      pairs[x + 0] = pack_pair (split_lo (k[x]), split_lo (k1));
      pairs[x + 1] = pack_pair (split_hi (k[x]), split_hi (k1));
    }
  }
  ok = TRUE;

out:
  g_free (w);
  if (!ok)
    axis_clear (ax);
  return ok;
}

/* Pillow's clip8: drop the fraction (arithmetic shift), clamp to 0..255.
 * Pillow uses a table for -640..639, which sane coefficients never leave. */
static inline guint8
clip8 (gint32 ss, int prec)
{
  gint32 v = ss >> prec;

  return (guint8) (v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Horizontal pass over one row of 4-byte pixels: [in_w * 4] ->
 * [out_w * 4]. Pillow's loop: per channel, a rounding half plus the taps,
 * then clip8. */
static void
hpass_scalar (const IbResampleAxis *ax, const guint8 *restrict in,
    guint8 *restrict out)
{
  int xx, x;

  for (xx = 0; xx < ax->n_out; xx++) {
    const int xmin = ax->bounds[xx * 2 + 0];
    const int n = ax->bounds[xx * 2 + 1];
    const gint32 *restrict k = &ax->k[(gsize) xx * ax->ksize];
    const guint8 *restrict p = in + (gsize) xmin * 4;
    gint32 ss0, ss1, ss2, ss3;

    ss0 = ss1 = ss2 = ss3 = 1 << (ax->prec - 1);
    for (x = 0; x < n; x++, p += 4) {
      ss0 += p[0] * k[x];
      ss1 += p[1] * k[x];
      ss2 += p[2] * k[x];
      ss3 += p[3] * k[x];
    }
    out[xx * 4 + 0] = clip8 (ss0, ax->prec);
    out[xx * 4 + 1] = clip8 (ss1, ax->prec);
    out[xx * 4 + 2] = clip8 (ss2, ax->prec);
    out[xx * 4 + 3] = clip8 (ss3, ax->prec);
  }
}

/* Vertical pass for output row @yy: @n_bytes of 4-byte pixels from the
 * rows of @in (@in_stride apart) -> @out. */
static void
vpass_scalar (const IbResampleAxis *ax, int yy, const guint8 *in,
    gsize in_stride, int n_bytes, gint32 *restrict acc, guint8 *restrict out)
{
  const int ymin = ax->bounds[yy * 2 + 0];
  const int n = ax->bounds[yy * 2 + 1];
  const gint32 *k = &ax->k[(gsize) yy * ax->ksize];
  int y, i;

  for (i = 0; i < n_bytes; i++)
    acc[i] = 1 << (ax->prec - 1);
  for (y = 0; y < n; y++) {
    const guint8 *restrict p = in + (gsize) (ymin + y) * in_stride;
    const gint32 ky = k[y];

    for (i = 0; i < n_bytes; i++)
      acc[i] += p[i] * ky;
  }
  for (i = 0; i < n_bytes; i++)
    out[i] = clip8 (acc[i], ax->prec);
}

#ifdef __SSE2__
/* (hi << 16) + lo, shifted down and clamped to 0..255 like clip8: packs
 * saturate to int16 and then to uint8, which is the clamp. */
static inline __m128i
finish_sse2 (__m128i lo, __m128i hi, int prec)
{
  __m128i ss = _mm_add_epi32 (_mm_slli_epi32 (hi, 16), lo);

  return _mm_sra_epi32 (ss, _mm_cvtsi32_si128 (prec));
}

/* hpass_scalar with pmaddwd: two taps of the four channels at a time, as
 * int16 [a0 b0 a1 b1 a2 b2 a3 b3] against the packed coefficient pairs. */
static void
hpass_sse2 (const IbResampleAxis *ax, const guint8 *restrict in,
    guint8 *restrict out)
{
  const __m128i zero = _mm_setzero_si128 ();
  const __m128i half = _mm_set1_epi32 (1 << (ax->prec - 1));
  int xx, x;

  for (xx = 0; xx < ax->n_out; xx++) {
    const int xmin = ax->bounds[xx * 2 + 0];
    const int n = ax->bounds[xx * 2 + 1];
    const guint32 *pk = &ax->pairs[(gsize) xx * ax->pair_stride * 2];
    const guint8 *p = in + (gsize) xmin * 4;
    __m128i lo = half, hi = zero, px, ss;
    guint32 v;

    for (x = 0; x + 1 < n; x += 2, p += 8, pk += 2) {
      /* 2 pixels -> int16 [a0 a1 a2 a3 b0 b1 b2 b3] -> [a0 b0 a1 b1 ...] */
      px = _mm_unpacklo_epi8 (_mm_loadl_epi64 ((const __m128i *) p), zero);
      px = _mm_unpacklo_epi16 (px, _mm_srli_si128 (px, 8));
      lo = _mm_add_epi32 (lo, _mm_madd_epi16 (px, _mm_set1_epi32 (pk[0])));
      hi = _mm_add_epi32 (hi, _mm_madd_epi16 (px, _mm_set1_epi32 (pk[1])));
    }
    if (x < n) {
      /* odd last tap, paired with a zero pixel and a zero coefficient */
      memcpy (&v, p, 4);
      px = _mm_unpacklo_epi8 (_mm_cvtsi32_si128 ((int) v), zero);
      px = _mm_unpacklo_epi16 (px, zero);
      lo = _mm_add_epi32 (lo, _mm_madd_epi16 (px, _mm_set1_epi32 (pk[0])));
      hi = _mm_add_epi32 (hi, _mm_madd_epi16 (px, _mm_set1_epi32 (pk[1])));
    }
    ss = finish_sse2 (lo, hi, ax->prec);
    ss = _mm_packus_epi16 (_mm_packs_epi32 (ss, ss), zero);
    v = (guint32) _mm_cvtsi128_si32 (ss);
    memcpy (out + (gsize) xx * 4, &v, 4);
  }
}

/* vpass_scalar with pmaddwd: 8 bytes of two rows at a time, interleaved
 * as int16 [a0 b0 a1 b1 ...]. @n_bytes is a multiple of 8. */
static void
vpass_sse2 (const IbResampleAxis *ax, int yy, const guint8 *in, gsize in_stride,
    int n_bytes, guint8 *restrict out)
{
  const __m128i zero = _mm_setzero_si128 ();
  const __m128i half = _mm_set1_epi32 (1 << (ax->prec - 1));
  const int ymin = ax->bounds[yy * 2 + 0];
  const int n = ax->bounds[yy * 2 + 1];
  const guint32 *pairs = &ax->pairs[(gsize) yy * ax->pair_stride * 2];
  const guint8 *rows = in + (gsize) ymin * in_stride;
  int i, y;

  for (i = 0; i < n_bytes; i += 8) {
    const guint8 *p = rows + i;
    const guint32 *pk = pairs;
    __m128i lo0 = half, lo1 = half, hi0 = zero, hi1 = zero;
    __m128i ab, w0, w1, kl, kh;

    for (y = 0; y < n; y += 2, p += 2 * in_stride, pk += 2) {
      __m128i a = _mm_loadl_epi64 ((const __m128i *) p);
      __m128i b = y + 1 < n ?
          _mm_loadl_epi64 ((const __m128i *) (p + in_stride)) :
          zero;

      ab = _mm_unpacklo_epi8 (a, b);
      w0 = _mm_unpacklo_epi8 (ab, zero);
      w1 = _mm_unpackhi_epi8 (ab, zero);
      kl = _mm_set1_epi32 ((int) pk[0]);
      kh = _mm_set1_epi32 ((int) pk[1]);
      lo0 = _mm_add_epi32 (lo0, _mm_madd_epi16 (w0, kl));
      lo1 = _mm_add_epi32 (lo1, _mm_madd_epi16 (w1, kl));
      hi0 = _mm_add_epi32 (hi0, _mm_madd_epi16 (w0, kh));
      hi1 = _mm_add_epi32 (hi1, _mm_madd_epi16 (w1, kh));
    }
    ab = _mm_packs_epi32 (finish_sse2 (lo0, hi0, ax->prec),
        finish_sse2 (lo1, hi1, ax->prec));
    _mm_storel_epi64 ((__m128i *) (out + i), _mm_packus_epi16 (ab, zero));
  }
}
#endif

static gboolean
check_size (const char *what, int w, int h, GError **error)
{
  if (w < 1 || h < 1 || w > IB_IMAGE_MAX_DIM || h > IB_IMAGE_MAX_DIM) {
    g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_INVALID_ARG,
        "%s size %dx%d outside 1..%d", what, w, h, IB_IMAGE_MAX_DIM);
    return FALSE;
  }
  return TRUE;
}

IbImageResizer *
ib_image_resizer_new (int in_width, int in_height, int out_width,
    int out_height, GError **error)
{
  return ib_image_resizer_new_full (in_width, in_height, out_width, out_height,
      IB_RESIZE_PILLOW, error);
}

IbImageResizer *
ib_image_resizer_new_full (int in_width, int in_height, int out_width,
    int out_height, IbResizeMethod method, GError **error)
{
  const gboolean torch = method == IB_RESIZE_TORCHVISION;
  IbImageResizer *rs = NULL;
  int yy;

  if (!check_size ("input", in_width, in_height, error) ||
      !check_size ("output", out_width, out_height, error))
    goto out;

  rs = g_new0 (IbImageResizer, 1);
  rs->in_w = in_width;
  rs->in_h = in_height;
  rs->out_w = out_width;
  rs->out_h = out_height;
  rs->need_h = out_width != in_width;
  rs->need_v = out_height != in_height;
  rs->h_first = ib_image_resize_horizontal_first (in_width, in_height,
      out_width, out_height, method);
#ifdef __SSE2__
  rs->simd = TRUE;
#endif

  if (!rs->h_first) {
    /* vertical first: the vertical pass reads every source row and
     * column, the horizontal pass then runs on its out_h rows */
    if (!axis_init (&rs->vert, in_height, out_height, torch, error) ||
        (rs->need_h &&
            !axis_init (&rs->horiz, in_width, out_width, torch, error)))
      goto fail;
    rs->n_rows = in_height;
    rs->tmp_stride = ((gsize) in_width * 4 + 7) & ~(gsize) 7;
    rs->row = g_try_malloc0 ((gsize) in_width * 4);
    rs->src = g_try_malloc0 ((gsize) in_height * rs->tmp_stride);
    rs->tmp = g_try_malloc0 ((gsize) out_height * rs->tmp_stride);
    rs->vrow = g_try_malloc0 ((gsize) out_width * 4 + 8);
    rs->acc = g_try_new0 (gint32, rs->tmp_stride);
    if (rs->row == NULL || rs->src == NULL || rs->tmp == NULL ||
        rs->vrow == NULL || rs->acc == NULL)
      goto oom;
    goto out;
  }

  /* ImagingResampleInner computes the vertical bounds first: the
   * horizontal pass then only covers the source rows they read */
  if (rs->need_v) {
    if (!axis_init (&rs->vert, in_height, out_height, torch, error))
      goto fail;
    rs->row_first = rs->vert.bounds[0];
    rs->n_rows = rs->vert.bounds[out_height * 2 - 2] +
        rs->vert.bounds[out_height * 2 - 1] - rs->row_first;
    for (yy = 0; yy < out_height; yy++)
      rs->vert.bounds[yy * 2] -= rs->row_first;
  } else {
    rs->row_first = 0;
    rs->n_rows = in_height;
  }
  if (rs->need_h && !axis_init (&rs->horiz, in_width, out_width, torch, error))
    goto fail;

  /* zeroed: the vertical pass reads the padding of each tmp row */
  rs->tmp_stride = ((gsize) out_width * 4 + 7) & ~(gsize) 7;
  rs->row = g_try_malloc0 ((gsize) in_width * 4);
  rs->tmp = g_try_malloc0 ((gsize) rs->n_rows * rs->tmp_stride);
  rs->vrow = g_try_malloc0 (rs->tmp_stride);
  rs->acc = g_try_new0 (gint32, rs->tmp_stride);
  if (rs->row == NULL || rs->tmp == NULL || rs->vrow == NULL || rs->acc == NULL)
    goto oom;
  goto out;

oom:
  g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_NO_MEMORY,
      "out of memory for %dx%d -> %dx%d resize buffers", in_width, in_height,
      out_width, out_height);
fail:
  ib_image_resizer_free (rs);
  rs = NULL;
out:
  return rs;
}

void
ib_image_resizer_free (IbImageResizer *rs)
{
  if (rs == NULL)
    return;
  axis_clear (&rs->horiz);
  axis_clear (&rs->vert);
  g_free (rs->row);
  g_free (rs->src);
  g_free (rs->tmp);
  g_free (rs->vrow);
  g_free (rs->acc);
  g_free (rs);
}

gboolean
ib_image_resizer_matches (const IbImageResizer *rs, int in_width, int in_height,
    int out_width, int out_height)
{
  return rs != NULL && rs->in_w == in_width && rs->in_h == in_height &&
      rs->out_w == out_width && rs->out_h == out_height;
}

gboolean
ib_image_resizer_set_simd (IbImageResizer *rs, gboolean simd)
{
  g_return_val_if_fail (rs != NULL, FALSE);
#ifdef __SSE2__
  rs->simd = simd;
#else
  rs->simd = FALSE;
#endif
  return rs->simd == simd;
}

/* Writes one row of 4-byte pixels as packed RGB, taking R, G and B from
 * byte offsets @r, @g, @b. */
static void
swizzle_row (const guint8 *restrict in, int w, int r, int g, int b,
    guint8 *restrict out)
{
  int x;

  for (x = 0; x < w; x++, in += 4, out += 3) {
    out[0] = in[r];
    out[1] = in[g];
    out[2] = in[b];
  }
}

/* Pillow >= 13 when it scales the height down by more than twice as many
 * pixels as the width: the vertical pass over every source row and column
 * (rounded and clipped to 8 bits), then the horizontal pass on its rows. */
static void
run_vertical_first (IbImageResizer *rs, const IbImage *in, gboolean convert,
    gboolean composite_alpha, int r, int g, int b, guint8 *out, int out_stride)
{
  int y;

  for (y = 0; y < rs->in_h; y++) {
    guint8 *d = rs->src + (gsize) y * rs->tmp_stride;
    if (convert)
      ib_image_row_to_rgbx (in, y, composite_alpha, d);
    else
      memcpy (d, in->data + (gsize) y * (gsize) in->stride,
          (gsize) rs->in_w * 4);
  }
  for (y = 0; y < rs->out_h; y++) {
    guint8 *v = rs->tmp + (gsize) y * rs->tmp_stride;
    const guint8 *o = v;
#ifdef __SSE2__
    if (rs->simd)
      vpass_sse2 (&rs->vert, y, rs->src, rs->tmp_stride, (int) rs->tmp_stride,
          v);
    else
#endif
      vpass_scalar (&rs->vert, y, rs->src, rs->tmp_stride, (int) rs->tmp_stride,
          rs->acc, v);
    if (rs->need_h) {
#ifdef __SSE2__
      if (rs->simd)
        hpass_sse2 (&rs->horiz, v, rs->vrow);
      else
#endif
        hpass_scalar (&rs->horiz, v, rs->vrow);
      o = rs->vrow;
    }
    swizzle_row (o, rs->out_w, r, g, b, out + (gsize) y * (gsize) out_stride);
  }
}

gboolean
ib_image_resize_horizontal_first (int in_width, int in_height, int out_width,
    int out_height, IbResizeMethod method)
{
  const gint64 dy = (gint64) in_height - out_height;
  const gint64 dx = (gint64) in_width - out_width;

  if (method != IB_RESIZE_PILLOW)
    return TRUE;
  /* Pillow 13 ImagingResampleInner: "If height is being scaled down more
   * than twice the amount the width is, run the vertical pass first" */
  return !(dy > 0 && dy > dx * 2);
}

gboolean
ib_image_resizer_run (IbImageResizer *rs, const IbImage *in,
    gboolean composite_alpha, guint8 *out, int out_stride, GError **error)
{
  gboolean ok = FALSE, convert;
  int y, r, g, b;

  g_return_val_if_fail (rs != NULL, FALSE);

  if (!ib_image_check (in, error))
    goto out;
  if (in->width != rs->in_w || in->height != rs->in_h) {
    g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_INVALID_ARG,
        "image is %dx%d but the resizer was made for %dx%d", in->width,
        in->height, rs->in_w, rs->in_h);
    goto out;
  }
  if (out == NULL) {
    g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_INVALID_ARG,
        "no resize output buffer");
    goto out;
  }
  if (out_stride < rs->out_w * 3) {
    g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_INVALID_ARG,
        "resize output stride %d is less than %d pixels x 3 bytes", out_stride,
        rs->out_w);
    goto out;
  }

  /* 4-byte formats are filtered as they are; the rest become RGBx rows */
  convert = ib_pixel_format_get_bpp (in->format) != 4 ||
      (composite_alpha && ib_pixel_format_has_alpha (in->format));
  if (convert) {
    r = 0, g = 1, b = 2;
  } else {
    ib_pixel_format_get_offsets (in->format, &r, &g, &b, NULL);
  }

  if (!rs->h_first) {
    run_vertical_first (rs, in, convert, composite_alpha, r, g, b, out,
        out_stride);
    ok = TRUE;
    goto out;
  }

  /* horizontal pass (or plain copy) over the rows the vertical pass reads,
   * each rounded and clipped to 8 bits */
  for (y = 0; y < rs->n_rows; y++) {
    const int sy = rs->row_first + y;
    guint8 *d = rs->tmp + (gsize) y * rs->tmp_stride;
    const guint8 *src;

    if (convert) {
      ib_image_row_to_rgbx (in, sy, composite_alpha, rs->row);
      src = rs->row;
    } else {
      src = in->data + (gsize) sy * (gsize) in->stride;
    }
    if (!rs->need_h)
      memcpy (d, src, (gsize) rs->out_w * 4);
#ifdef __SSE2__
    else if (rs->simd)
      hpass_sse2 (&rs->horiz, src, d);
#endif
    else
      hpass_scalar (&rs->horiz, src, d);
  }

  /* vertical pass, rounded and clipped again, then packed RGB */
  for (y = 0; y < rs->out_h; y++) {
    const guint8 *v = rs->tmp + (gsize) y * rs->tmp_stride;

    if (rs->need_v) {
#ifdef __SSE2__
      if (rs->simd)
        vpass_sse2 (&rs->vert, y, rs->tmp, rs->tmp_stride, (int) rs->tmp_stride,
            rs->vrow);
      else
#endif
        vpass_scalar (&rs->vert, y, rs->tmp, rs->tmp_stride,
            (int) rs->tmp_stride, rs->acc, rs->vrow);
      v = rs->vrow;
    }
    swizzle_row (v, rs->out_w, r, g, b, out + (gsize) y * (gsize) out_stride);
  }
  ok = TRUE;

out:
  return ok;
}

gboolean
ib_image_resize_bicubic (const guint8 *rgb, int w, int h, int stride,
    guint8 *out, int out_w, int out_h, GError **error)
{
  IbImage img = { w, h, stride, IB_PIXEL_FORMAT_RGB, rgb };
  IbImageResizer *rs = NULL;
  gboolean ok = FALSE;

  if (!ib_image_check (&img, error))
    goto out;
  rs = ib_image_resizer_new (w, h, out_w, out_h, error);
  if (rs == NULL)
    goto out;
  ok = ib_image_resizer_run (rs, &img, FALSE, out, out_w * 3, error);

out:
  ib_image_resizer_free (rs);
  return ok;
}
