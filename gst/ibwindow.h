/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GstInstructBlipWindow: which frames one question is about. By running time, not by
 * caps framerate: a question takes n frames spread uniformly over an
 * interval, and windows follow each other on a grid of that interval. */
#pragma once

#include <gst/gst.h>

#include "ibframe.h"

G_BEGIN_DECLS

typedef struct
{
  GstClockTime start; /* running time of the window's first
                                 * target; NONE: at the next frame */
  GPtrArray *frames; /* GstInstructBlipFrame *, in order */
  char *instruction; /* ask windows: their question; NULL for the
                                 * scheduled window */
  guint request_id; /* ask windows: the id "ask" returned */
} GstInstructBlipWindow;

/* A window that starts at the next frame. (transfer full) */
GstInstructBlipWindow *gst_instructblip_window_new (const char *instruction,
    guint request_id);
void gst_instructblip_window_free (GstInstructBlipWindow *w);

/* Forgets the frames taken so far and starts again at the next frame
 * (after a flush or a caps change). */
void gst_instructblip_window_reset (GstInstructBlipWindow *w);

/* Whether the frame at running time @rt is the window's next sample: the
 * k-th of @n_frames samples is the first frame at or after
 * start + k * @interval / @n_frames. With @interval 0 every frame is one. */
gboolean gst_instructblip_window_wants (GstInstructBlipWindow *w,
    GstClockTime rt, guint n_frames, GstClockTime interval);

/* Adds @frame (transfer full); TRUE when the window then holds @n_frames. */
gboolean gst_instructblip_window_add (GstInstructBlipWindow *w,
    GstInstructBlipFrame *frame, guint n_frames);

/* Repeats the last frame until the window holds @n_frames (a partial
 * window at EOS). FALSE if the window holds no frame. */
gboolean gst_instructblip_window_pad (GstInstructBlipWindow *w, guint n_frames);

/* Takes the frames out (transfer full) and moves the window one @interval
 * on, so that the next question's frames follow on the same grid. */
GPtrArray *gst_instructblip_window_take (GstInstructBlipWindow *w,
    GstClockTime interval);

/* The running time at which the window's last sample is due, or NONE. */
GstClockTime gst_instructblip_window_last_target (const GstInstructBlipWindow
                                                      *w,
    guint n_frames, GstClockTime interval);

G_END_DECLS
