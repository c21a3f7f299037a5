/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copies of sampled video frames for the engine (packed RGB as is, other
 * formats converted to RGB). */
#include "ibframe.h"

#include <string.h>

gboolean
gst_instructblip_frame_format_is_packed (GstVideoFormat format,
    IbPixelFormat *pixel_format)
{
  IbPixelFormat pf;

  switch (format) {
    case GST_VIDEO_FORMAT_RGB:
      pf = IB_PIXEL_FORMAT_RGB;
      break;
    case GST_VIDEO_FORMAT_BGR:
      pf = IB_PIXEL_FORMAT_BGR;
      break;
    case GST_VIDEO_FORMAT_RGBA:
      pf = IB_PIXEL_FORMAT_RGBA;
      break;
    case GST_VIDEO_FORMAT_BGRA:
      pf = IB_PIXEL_FORMAT_BGRA;
      break;
    case GST_VIDEO_FORMAT_ARGB:
      pf = IB_PIXEL_FORMAT_ARGB;
      break;
    case GST_VIDEO_FORMAT_ABGR:
      pf = IB_PIXEL_FORMAT_ABGR;
      break;
    case GST_VIDEO_FORMAT_RGBx:
      pf = IB_PIXEL_FORMAT_RGBX;
      break;
    case GST_VIDEO_FORMAT_BGRx:
      pf = IB_PIXEL_FORMAT_BGRX;
      break;
    case GST_VIDEO_FORMAT_xRGB:
      pf = IB_PIXEL_FORMAT_XRGB;
      break;
    case GST_VIDEO_FORMAT_xBGR:
      pf = IB_PIXEL_FORMAT_XBGR;
      break;
    default:
      return FALSE;
  }
  if (pixel_format)
    *pixel_format = pf;
  return TRUE;
}

/* Packed RGB of @in's size; GstVideoConverter wants the rest equal. */
static void
rgb_info (const GstVideoInfo *in, GstVideoInfo *out)
{
  gst_video_info_set_interlaced_format (out, GST_VIDEO_FORMAT_RGB,
      GST_VIDEO_INFO_INTERLACE_MODE (in), GST_VIDEO_INFO_WIDTH (in),
      GST_VIDEO_INFO_HEIGHT (in));
  GST_VIDEO_INFO_FPS_N (out) = GST_VIDEO_INFO_FPS_N (in);
  GST_VIDEO_INFO_FPS_D (out) = GST_VIDEO_INFO_FPS_D (in);
  GST_VIDEO_INFO_PAR_N (out) = GST_VIDEO_INFO_PAR_N (in);
  GST_VIDEO_INFO_PAR_D (out) = GST_VIDEO_INFO_PAR_D (in);
}

GstVideoConverter *
gst_instructblip_frame_converter_new (const GstVideoInfo *info)
{
  GstVideoInfo out;

  if (gst_instructblip_frame_format_is_packed (GST_VIDEO_INFO_FORMAT (info),
          NULL))
    return NULL;
  rgb_info (info, &out);
  /* one frame now and then: no threads, no dithering */
  return gst_video_converter_new (info, &out,
      gst_structure_new ("GstVideoConverter",
          GST_VIDEO_CONVERTER_OPT_DITHER_METHOD, GST_TYPE_VIDEO_DITHER_METHOD,
          GST_VIDEO_DITHER_NONE, GST_VIDEO_CONVERTER_OPT_THREADS, G_TYPE_UINT,
          1, NULL));
}

/* Packed formats: the rows without the stride padding. */
static void
copy_packed (GstInstructBlipFrame *f, const GstVideoFrame *vframe,
    IbPixelFormat pf)
{
  const int w = GST_VIDEO_FRAME_WIDTH (vframe);
  const int h = GST_VIDEO_FRAME_HEIGHT (vframe);
  const int row = w * GST_VIDEO_FRAME_COMP_PSTRIDE (vframe, 0);
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE (vframe, 0);
  const guint8 *src = GST_VIDEO_FRAME_PLANE_DATA (vframe, 0);
  int y;

  f->data = g_malloc ((gsize) row * h);
  for (y = 0; y < h; y++)
    memcpy (f->data + (gsize) y * row, src + (gsize) y * stride, row);
  f->image.format = pf;
  f->image.stride = row;
}

/* Other formats: converted to packed RGB into our own memory. FALSE when
 * there is no converter or our block cannot be mapped as a frame: the
 * frame would hold garbage. */
static gboolean
copy_converted (GstInstructBlipFrame *f, const GstVideoFrame *vframe,
    GstVideoConverter *converter)
{
  GstVideoInfo out;
  GstVideoFrame dst;
  GstBuffer *wrap;
  gboolean mapped;

  if (converter == NULL)
    return FALSE;
  rgb_info (&vframe->info, &out);
  f->data = g_malloc (GST_VIDEO_INFO_SIZE (&out));
  /* a buffer around our block, only to map it as a frame; it frees nothing */
  wrap = gst_buffer_new_wrapped_full (0, f->data, GST_VIDEO_INFO_SIZE (&out), 0,
      GST_VIDEO_INFO_SIZE (&out), NULL, NULL);
  mapped = gst_video_frame_map (&dst, &out, wrap, GST_MAP_WRITE);
  if (mapped) {
    gst_video_converter_frame (converter, vframe, &dst);
    gst_video_frame_unmap (&dst);
  }
  gst_buffer_unref (wrap);
  f->image.format = IB_PIXEL_FORMAT_RGB;
  f->image.stride = GST_VIDEO_INFO_PLANE_STRIDE (&out, 0);
  return mapped;
}

GstInstructBlipFrame *
gst_instructblip_frame_new (const GstVideoFrame *vframe,
    GstVideoConverter *converter, GstClockTime running_time)
{
  GstInstructBlipFrame *f = g_new0 (GstInstructBlipFrame, 1);
  IbPixelFormat pf;

  f->refcount = 1;
  f->pts = GST_BUFFER_PTS (vframe->buffer);
  f->running_time = running_time;
  f->image.width = GST_VIDEO_FRAME_WIDTH (vframe);
  f->image.height = GST_VIDEO_FRAME_HEIGHT (vframe);
  if (gst_instructblip_frame_format_is_packed (GST_VIDEO_FRAME_FORMAT (vframe),
          &pf)) {
    copy_packed (f, vframe, pf);
  } else if (!copy_converted (f, vframe, converter)) {
    GST_WARNING ("could not convert a %s frame to RGB",
        gst_video_format_to_string (GST_VIDEO_FRAME_FORMAT (vframe)));
    gst_instructblip_frame_unref (f);
    return NULL;
  }
  f->image.data = f->data;
  return f;
}

GstInstructBlipFrame *
gst_instructblip_frame_ref (GstInstructBlipFrame *frame)
{
  g_atomic_int_inc (&frame->refcount);
  return frame;
}

void
gst_instructblip_frame_unref (GstInstructBlipFrame *frame)
{
  if (frame == NULL || !g_atomic_int_dec_and_test (&frame->refcount))
    return;
  g_free (frame->data);
  g_free (frame);
}
