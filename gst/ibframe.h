/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GstInstructBlipFrame: a refcounted copy of one sampled video frame, as the engine's
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
} GstInstructBlipFrame;

/* Whether @format is handed to the engine as is (packed 8-bit RGB in some
 * byte order), and as which IbPixelFormat. */
gboolean gst_instructblip_frame_format_is_packed (GstVideoFormat format,
    IbPixelFormat *pixel_format);

/* A converter from @info to packed RGB of the same size, for formats that
 * are not packed RGB (YUV, gray), or NULL where none is needed. Only the
 * sampled frames go through it. (transfer full) */
GstVideoConverter *gst_instructblip_frame_converter_new (
    const GstVideoInfo *info);

/* Copies @vframe (mapped for reading): packed RGB formats row by row,
 * others through @converter into packed RGB. NULL (with a warning) when a
 * conversion is needed and @converter is NULL or the copy cannot be
 * mapped. (transfer full) */
GstInstructBlipFrame *gst_instructblip_frame_new (const GstVideoFrame *vframe,
    GstVideoConverter *converter, GstClockTime running_time);
/* Another reference to @frame. (transfer full) */
GstInstructBlipFrame *gst_instructblip_frame_ref (GstInstructBlipFrame *frame);
void gst_instructblip_frame_unref (GstInstructBlipFrame *frame);

G_END_DECLS
