/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers of the instructblip-ask tests: fixture paths, raw frames, media files written with GStreamer. */
#include "ask-test-util.h"

#include <stdarg.h>
#include <string.h>

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

char *
ask_test_path (const char *first, ...)
{
  GPtrArray *parts = g_ptr_array_new ();
  const char *dir = g_getenv ("G_TEST_SRCDIR");
  const char *p;
  va_list ap;
  char *path;

  g_ptr_array_add (parts, (gpointer) (dir ? dir : "."));
  va_start (ap, first);
  for (p = first; p != NULL; p = va_arg (ap, const char *))
    g_ptr_array_add (parts, (gpointer) p);
  va_end (ap);
  g_ptr_array_add (parts, NULL);
  path = g_build_filenamev ((char **) parts->pdata);
  g_ptr_array_free (parts, TRUE);
  return path;
}

guint8 *
ask_test_read_exact (const char *path, gsize len)
{
  GError *error = NULL;
  char *data;
  gsize n;

  g_file_get_contents (path, &data, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, len);
  return (guint8 *) data;
}

/* one frame as a buffer with GstVideoInfo's strides */
static GstBuffer *
frame_buffer (const GstVideoInfo *info, const guint8 *rows, int i)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, info->size, NULL);
  GstVideoFrame vf;
  int bpp = GST_VIDEO_INFO_COMP_PSTRIDE (info, 0);
  int row = GST_VIDEO_INFO_WIDTH (info) * bpp, y;

  g_assert_true (gst_video_frame_map (&vf, info, buf, GST_MAP_WRITE));
  for (y = 0; y < GST_VIDEO_INFO_HEIGHT (info); y++)
    memcpy ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&vf, 0) +
            (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&vf, 0),
        rows + (gsize) y * row, row);
  gst_video_frame_unmap (&vf);
  GST_BUFFER_PTS (buf) = gst_util_uint64_scale_int (i, GST_SECOND, 4);
  GST_BUFFER_DURATION (buf) = GST_SECOND / 4;
  return buf;
}

gboolean
ask_test_encode (const char *path, const char *format, int width, int height,
    const guint8 *const *frames, int n_frames, const char *encoder,
    GError **error)
{
  char *desc = g_strdup_printf ("appsrc name=src format=time ! %s ! "
                                "filesink name=sink",
      encoder);
  GstElement *pipeline;
  GstElement *src = NULL, *sink = NULL;
  GstVideoInfo info;
  GstCaps *caps;
  GstBus *bus = NULL;
  GstMessage *msg = NULL;
  gboolean ok = FALSE;
  int i;

  gst_init (NULL, NULL);
  pipeline = gst_parse_launch (desc, error);
  if (pipeline == NULL)
    goto out;
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  gst_video_info_set_format (&info, gst_video_format_from_string (format),
      width, height);
  GST_VIDEO_INFO_FPS_N (&info) = 4;
  GST_VIDEO_INFO_FPS_D (&info) = 1;
  caps = gst_video_info_to_caps (&info);
  g_object_set (src, "caps", caps, NULL);
  gst_caps_unref (caps);
  g_object_set (sink, "location", path, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (i = 0; i < n_frames; i++)
    gst_app_src_push_buffer (GST_APP_SRC (src),
        frame_buffer (&info, frames[i], i));
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  bus = gst_element_get_bus (pipeline);
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (msg == NULL || GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *gerr = NULL;
    if (msg)
      gst_message_parse_error (msg, &gerr, NULL);
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", path,
        gerr ? gerr->message : "timed out");
    g_clear_error (&gerr);
    goto out;
  }
  ok = TRUE;

out:
  if (msg)
    gst_message_unref (msg);
  if (bus)
    gst_object_unref (bus);
  if (src)
    gst_object_unref (src);
  if (sink)
    gst_object_unref (sink);
  if (pipeline) {
    gst_element_set_state (pipeline, GST_STATE_NULL);
    gst_object_unref (pipeline);
  }
  g_free (desc);
  return ok;
}
