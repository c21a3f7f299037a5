/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IbWindow: which frames one question is about. By running time, not by
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
  GPtrArray *frames; /* IbFrame *, in order */
  char *instruction; /* ask windows: their question; NULL for the
                                 * scheduled window */
  guint request_id; /* ask windows: the id "ask" returned */
} IbWindow;

/* A window that starts at the next frame. (transfer full) */
IbWindow *ib_window_new (const char *instruction, guint request_id);
void ib_window_free (IbWindow *w);

/* Forgets the frames taken so far and starts again at the next frame
 * (after a flush or a caps change). */
void ib_window_reset (IbWindow *w);

/* Whether the frame at running time @rt is the window's next sample: the
 * k-th of @n_frames samples is the first frame at or after
 * start + k * @interval / @n_frames. With @interval 0 every frame is one. */
gboolean ib_window_wants (IbWindow *w, GstClockTime rt, guint n_frames,
    GstClockTime interval);

/* Adds @frame (transfer full); TRUE when the window then holds @n_frames. */
gboolean ib_window_add (IbWindow *w, IbFrame *frame, guint n_frames);

/* Repeats the last frame until the window holds @n_frames (a partial
 * window at EOS). FALSE if the window holds no frame. */
gboolean ib_window_pad (IbWindow *w, guint n_frames);

/* Takes the frames out (transfer full) and moves the window one @interval
 * on, so that the next question's frames follow on the same grid. */
GPtrArray *ib_window_take (IbWindow *w, GstClockTime interval);

/* The running time at which the window's last sample is due, or NONE. */
GstClockTime ib_window_last_target (const IbWindow *w, guint n_frames,
    GstClockTime interval);

G_END_DECLS
