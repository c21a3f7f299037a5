/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Public: frames as the caller hands them over (IbImage, IbPixelFormat) and
 * the IB_IMAGE_ERROR domain. Installed with instructblip.h. */
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

G_END_DECLS
