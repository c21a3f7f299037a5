/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IbFrame: a refcounted copy of one sampled video frame, as the engine's
 * IbImage, so that no upstream buffer is ever held. */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include "instructblip.h"

G_BEGIN_DECLS

typedef struct
{
  gint refcount;
  IbImage image; /* points into data */
  guint8 *data; /* [height, image.stride] bytes, owned */
  GstClockTime pts;
  GstClockTime running_time;
} IbFrame;

/* Whether @format is handed to the engine as is (packed 8-bit RGB in some
 * byte order), and as which IbPixelFormat. */
gboolean ib_frame_format_is_packed (GstVideoFormat format,
    IbPixelFormat *pixel_format);

/* A converter from @info to packed RGB of the same size, for formats that
 * are not packed RGB (YUV, gray), or NULL where none is needed. Only the
 * sampled frames go through it. (transfer full) */
GstVideoConverter *ib_frame_converter_new (const GstVideoInfo *info);

/* Copies @vframe (mapped for reading): packed RGB formats row by row,
 * others through @converter into packed RGB. NULL (with a warning) when a
 * conversion is needed and @converter is NULL or the copy cannot be
 * mapped. (transfer full) */
IbFrame *ib_frame_new (const GstVideoFrame *vframe,
    GstVideoConverter *converter, GstClockTime running_time);
/* Another reference to @frame. (transfer full) */
IbFrame *ib_frame_ref (IbFrame *frame);
void ib_frame_unref (IbFrame *frame);

G_END_DECLS
