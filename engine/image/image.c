/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Packed 8-bit frame checks and conversion to packed RGB. */
#include "image.h"

#include <string.h>

GQuark
ib_image_error_quark (void)
{
  /* once, thread-safe: a plain static filled on first use races when two
   * threads fail for the first time at once */
  static gsize quark;

  if (g_once_init_enter (&quark))
    g_once_init_leave (&quark,
        g_quark_from_static_string ("ib-image-error-quark"));
  return (GQuark) quark;
}

/* Byte offsets of R, G, B and A (-1: none) within one pixel. */
typedef struct
{
  int bpp;
  int r, g, b, a;
} IbPixelLayout;

/* clang-format off */
static const IbPixelLayout layouts[] = {
  [IB_PIXEL_FORMAT_RGB]  = { 3, 0, 1, 2, -1 },
  [IB_PIXEL_FORMAT_BGR]  = { 3, 2, 1, 0, -1 },
  [IB_PIXEL_FORMAT_RGBA] = { 4, 0, 1, 2,  3 },
  [IB_PIXEL_FORMAT_BGRA] = { 4, 2, 1, 0,  3 },
  [IB_PIXEL_FORMAT_ARGB] = { 4, 1, 2, 3,  0 },
  [IB_PIXEL_FORMAT_ABGR] = { 4, 3, 2, 1,  0 },
  [IB_PIXEL_FORMAT_RGBX] = { 4, 0, 1, 2, -1 },
  [IB_PIXEL_FORMAT_BGRX] = { 4, 2, 1, 0, -1 },
  [IB_PIXEL_FORMAT_XRGB] = { 4, 1, 2, 3, -1 },
  [IB_PIXEL_FORMAT_XBGR] = { 4, 3, 2, 1, -1 },
};
/* clang-format on */

static const IbPixelLayout *
get_layout (IbPixelFormat format)
{
  if ((guint) format >= G_N_ELEMENTS (layouts))
    return NULL;
  return &layouts[format];
}

int
ib_pixel_format_get_bpp (IbPixelFormat format)
{
  const IbPixelLayout *l = get_layout (format);

  return l ? l->bpp : 0;
}

gboolean
ib_pixel_format_has_alpha (IbPixelFormat format)
{
  const IbPixelLayout *l = get_layout (format);

  return l && l->a >= 0;
}

gboolean
ib_image_check (const IbImage *img, GError **error)
{
  const IbPixelLayout *l;

  if (img == NULL || img->data == NULL) {
    g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_INVALID_ARG,
        "image has no pixel data");
    return FALSE;
  }
  l = get_layout (img->format);
  if (l == NULL) {
    g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_INVALID_ARG,
        "unknown pixel format %d", (int) img->format);
    return FALSE;
  }
  if (img->width < 1 || img->height < 1 || img->width > IB_IMAGE_MAX_DIM ||
      img->height > IB_IMAGE_MAX_DIM) {
    g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_INVALID_ARG,
        "image size %dx%d outside 1..%d", img->width, img->height,
        IB_IMAGE_MAX_DIM);
    return FALSE;
  }
  if (img->stride < img->width * l->bpp) {
    g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_INVALID_ARG,
        "row stride %d is less than %d pixels x %d bytes", img->stride,
        img->width, l->bpp);
    return FALSE;
  }
  return TRUE;
}

/* Pillow's ImagingAlphaComposite (src over dst) for one colour channel,
 * with 7 extra bits of precision and rounded divisions, specialised to the
 * opaque white destination (dst colour 255, dst alpha 255) that
 * transformers' convert_to_rgb composites onto. */
static inline guint8
composite_over_white (guint32 c, guint32 a)
{
  guint32 blend, outa255, coef1, coef2, tmp;

  if (a == 0)
    return 255;
  blend = 255 * (255 - a);
  outa255 = a * 255 + blend;
  coef1 = a * 255 * 255 * (1 << 7) / outa255;
  coef2 = 255 * (1 << 7) - coef1;
  tmp = c * coef1 + 255 * coef2 + (0x80 << 7);
  /* SHIFTFORDIV255: (x + x / 256) / 256 ~ x / 255, then drop the 7 bits */
  return (guint8) (((((tmp >> 8) + tmp) >> 8)) >> 7);
}

void
ib_pixel_format_get_offsets (IbPixelFormat format, int *r, int *g, int *b,
    int *a)
{
  const IbPixelLayout *l = get_layout (format);

  g_return_if_fail (l != NULL);
  if (r)
    *r = l->r;
  if (g)
    *g = l->g;
  if (b)
    *b = l->b;
  if (a)
    *a = l->a;
}

/* Row @y of @img as R, G, B (and a zero byte when @out_bpp is 4). */
static void
row_convert (const IbImage *img, int y, gboolean composite_alpha,
    guint8 *restrict out, int out_bpp)
{
  const IbPixelLayout *l = get_layout (img->format);
  const guint8 *restrict src = img->data + (gsize) y * (gsize) img->stride;
  const int w = img->width, bpp = l->bpp;
  const int r = l->r, g = l->g, b = l->b;
  int x;

  if (img->format == IB_PIXEL_FORMAT_RGB && out_bpp == 3) {
    memcpy (out, src, (gsize) w * 3);
  } else if (composite_alpha && l->a >= 0) {
    const int a = l->a;

    for (x = 0; x < w; x++, src += bpp, out += out_bpp) {
      out[0] = composite_over_white (src[r], src[a]);
      out[1] = composite_over_white (src[g], src[a]);
      out[2] = composite_over_white (src[b], src[a]);
      if (out_bpp == 4)
        out[3] = 0;
    }
  } else {
    for (x = 0; x < w; x++, src += bpp, out += out_bpp) {
      out[0] = src[r];
      out[1] = src[g];
      out[2] = src[b];
      if (out_bpp == 4)
        out[3] = 0;
    }
  }
}

void
ib_image_row_to_rgb (const IbImage *img, int y, gboolean composite_alpha,
    guint8 *rgb_row)
{
  row_convert (img, y, composite_alpha, rgb_row, 3);
}

void
ib_image_row_to_rgbx (const IbImage *img, int y, gboolean composite_alpha,
    guint8 *rgbx_row)
{
  row_convert (img, y, composite_alpha, rgbx_row, 4);
}

gboolean
ib_image_to_rgb (const IbImage *img, gboolean composite_alpha, guint8 *rgb,
    int rgb_stride, GError **error)
{
  gboolean ok = FALSE;
  int y;

  if (!ib_image_check (img, error))
    goto out;
  if (rgb == NULL) {
    g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_INVALID_ARG,
        "no RGB output buffer");
    goto out;
  }
  if (rgb_stride < img->width * 3) {
    g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_INVALID_ARG,
        "RGB output stride %d is less than %d pixels x 3 bytes", rgb_stride,
        img->width);
    goto out;
  }
  for (y = 0; y < img->height; y++)
    ib_image_row_to_rgb (img, y, composite_alpha,
        rgb + (gsize) y * (gsize) rgb_stride);
  ok = TRUE;

out:
  return ok;
}
