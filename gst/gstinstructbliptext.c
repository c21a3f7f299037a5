/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The text src pad: answers as timed text, gaps where there is none. */
#include "gstinstructbliptext.h"

#include <string.h>

GST_DEBUG_CATEGORY_EXTERN (gst_instruct_blip_debug);
#define GST_CAT_DEFAULT gst_instruct_blip_debug

void
gst_instructblip_text_out_init (GstInstructBlipTextOut *t, GstPad *pad)
{
  t->pad = pad;
  gst_instructblip_text_out_reset (t);
}

void
gst_instructblip_text_out_reset (GstInstructBlipTextOut *t)
{
  t->started = FALSE;
  t->have_segment = FALSE;
  t->pos = GST_CLOCK_TIME_NONE;
}

void
gst_instructblip_text_out_start (GstInstructBlipTextOut *t, GstElement *parent,
    GstEvent *video_stream_start)
{
  GstEvent *event;
  GstCaps *caps;
  char *id;
  guint group;

  if (t->started)
    return;
  id = gst_pad_create_stream_id (t->pad, parent, "text");
  event = gst_event_new_stream_start (id);
  g_free (id);
  if (video_stream_start &&
      gst_event_parse_group_id (video_stream_start, &group))
    gst_event_set_group_id (event, group);
  else
    gst_event_set_group_id (event, gst_util_group_id_next ());
  gst_pad_push_event (t->pad, event);
  caps =
      gst_caps_new_simple ("text/x-raw", "format", G_TYPE_STRING, "utf8", NULL);
  gst_pad_push_event (t->pad, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  t->started = TRUE;
}

void
gst_instructblip_text_out_segment (GstInstructBlipTextOut *t,
    GstElement *parent, const GstSegment *segment)
{
  GstSegment seg;

  gst_instructblip_text_out_start (t, parent, NULL);
  if (segment->format == GST_FORMAT_TIME)
    gst_segment_copy_into (segment, &seg);
  else
    gst_segment_init (&seg, GST_FORMAT_TIME);
  gst_pad_push_event (t->pad, gst_event_new_segment (&seg));
  t->have_segment = TRUE;
  t->pos = GST_CLOCK_TIME_NONE;
}

void
gst_instructblip_text_out_push (GstInstructBlipTextOut *t, const char *text,
    GstClockTime pts, GstClockTime end)
{
  GstBuffer *buf;
  GstFlowReturn ret;

  if (!GST_CLOCK_TIME_IS_VALID (pts))
    return;
  if (GST_CLOCK_TIME_IS_VALID (t->pos) && pts < t->pos)
    pts = t->pos;
  if (!GST_CLOCK_TIME_IS_VALID (end) || end <= pts)
    end = pts + GST_MSECOND;
  /* an empty answer is an empty buffer: no text for that time */
  buf = *text ? gst_buffer_new_memdup (text, strlen (text)) : gst_buffer_new ();
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = end - pts;
  t->pos = end;
  GST_LOG_OBJECT (t->pad,
      "text %" GST_TIME_FORMAT " - %" GST_TIME_FORMAT ": %s",
      GST_TIME_ARGS (pts), GST_TIME_ARGS (end), text);
  ret = gst_pad_push (t->pad, buf);
  /* an unlinked or flushing text pad never stops the video */
  if (ret != GST_FLOW_OK)
    GST_DEBUG_OBJECT (t->pad, "text push: %s", gst_flow_get_name (ret));
}

void
gst_instructblip_text_out_fill (GstInstructBlipTextOut *t, GstClockTime pts,
    GstClockTime end)
{
  GstClockTime start = GST_CLOCK_TIME_IS_VALID (t->pos) ? t->pos : pts;

  if (!GST_CLOCK_TIME_IS_VALID (start) || !GST_CLOCK_TIME_IS_VALID (end) ||
      end <= start)
    return;
  gst_pad_push_event (t->pad, gst_event_new_gap (start, end - start));
  t->pos = end;
}

void
gst_instructblip_text_out_flush (GstInstructBlipTextOut *t, GstEvent *event)
{
  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP)
    t->pos = GST_CLOCK_TIME_NONE;
  gst_pad_push_event (t->pad, event);
}

void
gst_instructblip_text_out_eos (GstInstructBlipTextOut *t, GstElement *parent)
{
  GstSegment seg;

  if (!t->have_segment) {
    gst_segment_init (&seg, GST_FORMAT_TIME);
    gst_instructblip_text_out_segment (t, parent, &seg);
  }
  gst_pad_push_event (t->pad, gst_event_new_eos ());
}
