/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GstInstructBlipTextOut: the element's text src pad, answers as text/x-raw utf8
 * buffers on the video's timeline, with GAP events in between so that
 * textoverlay and muxers never wait for text that will not come. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct
{
  GstPad *pad; /* not owned */
  gboolean started; /* stream-start and caps sent */
  gboolean have_segment;
  GstClockTime pos; /* stream time up to which text or gaps
                                 * were sent; NONE: nothing since the last
                                 * segment */
} GstInstructBlipTextOut;

void gst_instructblip_text_out_init (GstInstructBlipTextOut *t, GstPad *pad);

/* Sends stream-start (in @video_stream_start's group, if any) and caps,
 * once per stream. */
void gst_instructblip_text_out_start (GstInstructBlipTextOut *t,
    GstElement *parent, GstEvent *video_stream_start);

/* Forwards @segment (the video's) and restarts the timeline. */
void gst_instructblip_text_out_segment (GstInstructBlipTextOut *t,
    GstElement *parent, const GstSegment *segment);

/* Pushes @text for [@pts, @end) (stream time); a start before what was
 * already sent is moved up to it, so the text stream stays monotonic. */
void gst_instructblip_text_out_push (GstInstructBlipTextOut *t,
    const char *text, GstClockTime pts, GstClockTime end);

/* Sends a GAP event from where the text stream is (or @pts where nothing
 * was sent yet) up to @end, if it is behind. */
void gst_instructblip_text_out_fill (GstInstructBlipTextOut *t,
    GstClockTime pts, GstClockTime end);

/* Forwards FLUSH_START or FLUSH_STOP (transfer full); FLUSH_STOP restarts
 * the timeline. */
void gst_instructblip_text_out_flush (GstInstructBlipTextOut *t,
    GstEvent *event);

/* Ends the text stream (after stream-start and a segment, if none were
 * sent yet). */
void gst_instructblip_text_out_eos (GstInstructBlipTextOut *t,
    GstElement *parent);

/* Forgets the stream (on stop): the next one starts afresh. */
void gst_instructblip_text_out_reset (GstInstructBlipTextOut *t);

G_END_DECLS
