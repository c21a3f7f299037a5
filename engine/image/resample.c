/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pillow's two-pass separable bicubic resampling (libImaging/Resample.c),
 * reproduced step for step so that every output byte matches. */
#include "resample.h"

#include <math.h>
#include <string.h>

/* Pillow keeps 8 bits for the pixel and 2 for overshoot in an int:
 * coefficients carry 32 - 8 - 2 = 22 fractional bits. */
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
  gint32 *k; /* [n_out, ksize] coefficients, 22 fractional bits */
} IbResampleAxis;

struct _IbImageResizer
{
  int in_w, in_h, out_w, out_h;
  gboolean need_h, need_v; /* Pillow skips a pass whose size is unchanged */
  IbResampleAxis horiz, vert;
  int row_first; /* first source row that the vertical pass reads */
  int n_rows; /* source rows the vertical pass reads */
  guint8 *row; /* [in_w * 3] one source row as packed RGB */
  guint8 *tmp; /* [n_rows, out_w * 3] horizontal pass output */
  gint32 *acc; /* [out_w * 3] vertical pass accumulators */
};

/* Pillow's bicubic_filter, the same operations in the same order (the
 * build disables FMA contraction, which would change the last bits). */
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

static void
axis_clear (IbResampleAxis *ax)
{
  g_free (ax->bounds);
  g_free (ax->k);
  memset (ax, 0, sizeof (*ax));
}

/* Pillow's precompute_coeffs followed by normalize_coeffs_8bpc for an
 * axis of @in_size pixels (box 0 .. in_size) resampled to @out_size. */
static gboolean
axis_init (IbResampleAxis *ax, int in_size, int out_size, GError **error)
{
  double *w = NULL; /* [ksize] one output's float weights */
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
  ax->n_out = out_size;

  w = g_try_new (double, ax->ksize);
  ax->bounds = g_try_new (int, (gsize) out_size * 2);
  ax->k = g_try_new0 (gint32, (gsize) out_size * (gsize) ax->ksize);
  if (w == NULL || ax->bounds == NULL || ax->k == NULL) {
    g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_NO_MEMORY,
        "out of memory for %d x %d resampling coefficients", out_size,
        ax->ksize);
    goto out;
  }

  inv_filterscale = 1.0 / filterscale;
  for (xx = 0; xx < out_size; xx++) {
    double center = 0.0 + (xx + 0.5) * scale;
    double ww = 0.0;
    gint32 *k = &ax->k[(gsize) xx * ax->ksize];
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
      w[x] = bicubic_filter ((x + xmin - center + 0.5) * inv_filterscale);
      ww += w[x];
    }
    for (x = 0; x < xmax; x++) {
      double v = ww != 0.0 ? w[x] / ww : w[x];

      /* normalize_coeffs_8bpc: round half away from zero via (int) */
      if (v < 0)
        k[x] = (gint32) (-0.5 + v * (1 << PRECISION_BITS));
      else
        k[x] = (gint32) (0.5 + v * (1 << PRECISION_BITS));
    }
    ax->bounds[xx * 2 + 0] = xmin;
    ax->bounds[xx * 2 + 1] = xmax;
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
clip8 (gint32 ss)
{
  gint32 v = ss >> PRECISION_BITS;

  return (guint8) (v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Horizontal pass over one packed RGB row: [in_w * 3] -> [out_w * 3]. */
static void
resample_row (const IbResampleAxis *ax, const guint8 *restrict in,
    guint8 *restrict out)
{
  int xx, x;

  for (xx = 0; xx < ax->n_out; xx++) {
    const int xmin = ax->bounds[xx * 2 + 0];
    const int n = ax->bounds[xx * 2 + 1];
    const gint32 *restrict k = &ax->k[(gsize) xx * ax->ksize];
    const guint8 *restrict p = in + (gsize) xmin * 3;
    gint32 ss0, ss1, ss2;

    ss0 = ss1 = ss2 = 1 << (PRECISION_BITS - 1);
    for (x = 0; x < n; x++, p += 3) {
      ss0 += p[0] * k[x];
      ss1 += p[1] * k[x];
      ss2 += p[2] * k[x];
    }
    out[xx * 3 + 0] = clip8 (ss0);
    out[xx * 3 + 1] = clip8 (ss1);
    out[xx * 3 + 2] = clip8 (ss2);
  }
}

/* Vertical pass: rows of [n_bytes] packed RGB at @in (@in_stride apart,
 * already offset to the first row read) -> [out_h, out_stride]. */
static void
resample_columns (const IbResampleAxis *ax, const guint8 *in, gsize in_stride,
    int n_bytes, gint32 *restrict acc, guint8 *out, gsize out_stride)
{
  int yy, y, i;

  for (yy = 0; yy < ax->n_out; yy++) {
    const int ymin = ax->bounds[yy * 2 + 0];
    const int n = ax->bounds[yy * 2 + 1];
    const gint32 *k = &ax->k[(gsize) yy * ax->ksize];
    guint8 *restrict o = out + (gsize) yy * out_stride;

    for (i = 0; i < n_bytes; i++)
      acc[i] = 1 << (PRECISION_BITS - 1);
    for (y = 0; y < n; y++) {
      const guint8 *restrict p = in + (gsize) (ymin + y) * in_stride;
      const gint32 ky = k[y];

      for (i = 0; i < n_bytes; i++)
        acc[i] += p[i] * ky;
    }
    for (i = 0; i < n_bytes; i++)
      o[i] = clip8 (acc[i]);
  }
}

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

  /* ImagingResampleInner computes the vertical bounds first: the
   * horizontal pass then only covers the source rows they read */
  if (rs->need_v) {
    if (!axis_init (&rs->vert, in_height, out_height, error))
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
  if (rs->need_h && !axis_init (&rs->horiz, in_width, out_width, error))
    goto fail;

  rs->row = g_try_malloc ((gsize) in_width * 3);
  if (rs->need_v) {
    rs->tmp = g_try_malloc ((gsize) rs->n_rows * (gsize) out_width * 3);
    rs->acc = g_try_new (gint32, (gsize) out_width * 3);
  }
  if (rs->row == NULL || (rs->need_v && (rs->tmp == NULL || rs->acc == NULL))) {
    g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_NO_MEMORY,
        "out of memory for %dx%d -> %dx%d resize buffers", in_width, in_height,
        out_width, out_height);
    goto fail;
  }
  goto out;

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
  g_free (rs->tmp);
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
ib_image_resizer_run (IbImageResizer *rs, const IbImage *in,
    gboolean composite_alpha, guint8 *out, int out_stride, GError **error)
{
  gboolean ok = FALSE;
  guint8 *dst; /* horizontal pass output: tmp, or @out if no vertical pass */
  gsize dst_stride;
  int y;

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

  if (rs->need_v) {
    dst = rs->tmp;
    dst_stride = (gsize) rs->out_w * 3;
  } else {
    dst = out;
    dst_stride = (gsize) out_stride;
  }

  /* horizontal pass (or plain conversion) over the rows the vertical pass
   * reads, each rounded and clipped to 8 bits */
  for (y = 0; y < rs->n_rows; y++) {
    guint8 *d = dst + (gsize) y * dst_stride;
    const guint8 *src_row;

    if (in->format == IB_PIXEL_FORMAT_RGB) {
      src_row = in->data + (gsize) (rs->row_first + y) * (gsize) in->stride;
    } else {
      ib_image_row_to_rgb (in, rs->row_first + y, composite_alpha, rs->row);
      src_row = rs->row;
    }
    if (rs->need_h)
      resample_row (&rs->horiz, src_row, d);
    else
      memcpy (d, src_row, (gsize) rs->out_w * 3);
  }

  /* vertical pass, rounded and clipped again */
  if (rs->need_v)
    resample_columns (&rs->vert, rs->tmp, (gsize) rs->out_w * 3, rs->out_w * 3,
        rs->acc, out, (gsize) out_stride);
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
