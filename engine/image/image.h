/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Packed 8-bit frames as the element hands them over, and their conversion
 * to packed RGB the way the reference processor's convert_to_rgb does it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define IB_IMAGE_ERROR (ib_image_error_quark ())

typedef enum
{
  IB_IMAGE_ERROR_INVALID_ARG, /* a size, stride, format or parameter that
                               * cannot work */
  IB_IMAGE_ERROR_NO_MEMORY, /* a table or scratch buffer allocation failed */
} IbImageError;

/* The quark of the "ib-image-error-quark" domain. */
GQuark ib_image_error_quark (void);

/* Largest width or height accepted anywhere in engine/image. */
#define IB_IMAGE_MAX_DIM 32768

/* Packed 8-bit formats, named by byte order in memory as GStreamer does
 * (GST_VIDEO_FORMAT_RGBx is R, G, B, padding). Alpha is straight (not
 * premultiplied); X bytes are ignored. */
typedef enum
{
  IB_PIXEL_FORMAT_RGB, /* 3 bytes: R G B */
  IB_PIXEL_FORMAT_BGR, /* 3 bytes: B G R */
  IB_PIXEL_FORMAT_RGBA, /* 4 bytes: R G B A */
  IB_PIXEL_FORMAT_BGRA, /* 4 bytes: B G R A */
  IB_PIXEL_FORMAT_ARGB, /* 4 bytes: A R G B */
  IB_PIXEL_FORMAT_ABGR, /* 4 bytes: A B G R */
  IB_PIXEL_FORMAT_RGBX, /* 4 bytes: R G B x */
  IB_PIXEL_FORMAT_BGRX, /* 4 bytes: B G R x */
  IB_PIXEL_FORMAT_XRGB, /* 4 bytes: x R G B */
  IB_PIXEL_FORMAT_XBGR, /* 4 bytes: x B G R */
} IbPixelFormat;

/* A borrowed view of one frame; nothing here owns the pixels. */
typedef struct
{
  int width, height; /* pixels, 1 .. IB_IMAGE_MAX_DIM */
  int stride; /* bytes from one row to the next, >= width * bytes/pixel */
  IbPixelFormat format;
  const guint8 *data; /* [height, stride] bytes, top row first */
} IbImage;

/* Bytes per pixel of @format (3 or 4), or 0 for a value outside the enum. */
int ib_pixel_format_get_bpp (IbPixelFormat format);

/* Whether @format carries an alpha byte (RGBA, BGRA, ARGB, ABGR). */
gboolean ib_pixel_format_has_alpha (IbPixelFormat format);

/* Byte offsets of R, G, B and alpha (-1: none) within one pixel of @format;
 * NULL pointers are skipped. */
void ib_pixel_format_get_offsets (IbPixelFormat format, int *r, int *g, int *b,
    int *a);

/* Checks @img: non-NULL data, known format, sizes within
 * 1 .. IB_IMAGE_MAX_DIM, stride >= width * bpp. Returns FALSE and sets
 * @error (IB_IMAGE_ERROR_INVALID_ARG) otherwise. */
gboolean ib_image_check (const IbImage *img, GError **error);

/* Writes row @y of @img (which must have passed ib_image_check) as @img->width
 * packed R, G, B triplets into @rgb_row. With @composite_alpha, formats with
 * alpha are composited over opaque white with Pillow's integer
 * ImagingAlphaComposite, which is what transformers' convert_to_rgb does
 * (Image.alpha_composite (white, im).convert ("RGB")); without it the alpha
 * byte is dropped. Formats without alpha ignore @composite_alpha. */
void ib_image_row_to_rgb (const IbImage *img, int y, gboolean composite_alpha,
    guint8 *rgb_row);

/* Like ib_image_row_to_rgb, into @img->width R, G, B, 0 quadruplets. */
void ib_image_row_to_rgbx (const IbImage *img, int y, gboolean composite_alpha,
    guint8 *rgbx_row);

/* Converts all of @img to packed RGB in @rgb: [height, rgb_stride] bytes,
 * rgb_stride >= width * 3. Fails with IB_IMAGE_ERROR_INVALID_ARG on a bad
 * image or stride. */
gboolean ib_image_to_rgb (const IbImage *img, gboolean composite_alpha,
    guint8 *rgb, int rgb_stride, GError **error);

G_END_DECLS
