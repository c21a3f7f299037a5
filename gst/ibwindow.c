/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Frame sampling by running time: n frames spread over an interval. */
#include "ibwindow.h"

GstInstructBlipWindow *
gst_instructblip_window_new (const char *instruction, guint request_id)
{
  GstInstructBlipWindow *w = g_new0 (GstInstructBlipWindow, 1);

  w->start = GST_CLOCK_TIME_NONE;
  w->frames = g_ptr_array_new_with_free_func (
      (GDestroyNotify) gst_instructblip_frame_unref);
  w->instruction = g_strdup (instruction);
  w->request_id = request_id;
  return w;
}

void
gst_instructblip_window_free (GstInstructBlipWindow *w)
{
  if (w == NULL)
    return;
  g_ptr_array_unref (w->frames);
  g_free (w->instruction);
  g_free (w);
}

void
gst_instructblip_window_reset (GstInstructBlipWindow *w)
{
  g_ptr_array_set_size (w->frames, 0);
  w->start = GST_CLOCK_TIME_NONE;
}

static GstClockTime
target (const GstInstructBlipWindow *w, guint k, guint n_frames,
    GstClockTime interval)
{
  return w->start + gst_util_uint64_scale (interval, k, n_frames);
}

gboolean
gst_instructblip_window_wants (GstInstructBlipWindow *w, GstClockTime rt,
    guint n_frames, GstClockTime interval)
{
  if (!GST_CLOCK_TIME_IS_VALID (rt))
    return FALSE;
  if (!GST_CLOCK_TIME_IS_VALID (w->start))
    w->start = rt;
  /* a gap swallowed whole windows: stay on the grid, at the window the
   * frame falls into */
  if (w->frames->len == 0 && interval > 0 && rt >= w->start + interval)
    w->start += (rt - w->start) / interval * interval;
  return rt >= target (w, w->frames->len, n_frames, interval);
}

gboolean
gst_instructblip_window_add (GstInstructBlipWindow *w,
    GstInstructBlipFrame *frame, guint n_frames)
{
  g_ptr_array_add (w->frames, frame);
  return w->frames->len >= n_frames;
}

gboolean
gst_instructblip_window_pad (GstInstructBlipWindow *w, guint n_frames)
{
  if (w->frames->len == 0)
    return FALSE;
  while (w->frames->len < n_frames)
    g_ptr_array_add (w->frames,
        gst_instructblip_frame_ref (
            g_ptr_array_index (w->frames, w->frames->len - 1)));
  return TRUE;
}

GPtrArray *
gst_instructblip_window_take (GstInstructBlipWindow *w, GstClockTime interval)
{
  GPtrArray *frames = w->frames;

  w->frames = g_ptr_array_new_with_free_func (
      (GDestroyNotify) gst_instructblip_frame_unref);
  if (GST_CLOCK_TIME_IS_VALID (w->start))
    w->start += interval;
  return frames;
}

GstClockTime
gst_instructblip_window_last_target (const GstInstructBlipWindow *w,
    guint n_frames, GstClockTime interval)
{
  if (!GST_CLOCK_TIME_IS_VALID (w->start) || n_frames == 0)
    return GST_CLOCK_TIME_NONE;
  return target (w, n_frames - 1, n_frames, interval);
}
