/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Packed 8-bit frames as the element hands them over, and their conversion
 * to packed RGB the way the reference processor's convert_to_rgb does it. */
#pragma once

#include <glib.h>

#include "ib-image.h"

G_BEGIN_DECLS

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
