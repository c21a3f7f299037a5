/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GstInstructBlipWorker: one loaded model and the engine batch (IbBatch) that answers
 * every question on it, the questions of different elements decoded
 * together, shared by the elements with the same model-instance-id
 * (refcounted, thread-safe registry); GstInstructBlipRequest: one question and its
 * answer. */
#pragma once

#include <gst/gst.h>

#include "instructblip.h"

G_BEGIN_DECLS

typedef struct _GstInstructBlipWorker GstInstructBlipWorker;
typedef struct _GstInstructBlipRequest GstInstructBlipRequest;

/* Called on a worker thread when @req is answered or failed; takes
 * @req (transfer full). */
typedef void (*GstInstructBlipRequestDone) (GstInstructBlipRequest *req,
    gpointer user_data);

struct _GstInstructBlipRequest
{
  /* the question, set by the element */
  gpointer owner; /* who may cancel it; not referenced */
  guint id;
  guint epoch; /* the owner's flush count at submission */
  gboolean asked; /* from the "ask" action signal */
  GPtrArray *frames; /* GstInstructBlipFrame *, owned */
  char *instruction;
  char **candidates; /* NULL: generate; else rank these */
  IbGenerateParams params;
  GstClockTime first_pts, last_pts;
  GstClockTime last_rt; /* running time of the last frame */
  GstClockTime next_rt; /* when the next answer is due (text) */
  gint64 submitted_us; /* g_get_monotonic_time () */
  GstInstructBlipRequestDone done;
  gpointer user_data;

  /* the answer, set by the worker */
  char *answer;
  guint n_tokens;
  guint n_frames_reused; /* frames the engine's frame cache had */
  GError *error;
  gint64 answered_us;
};

/* (transfer full) */
GstInstructBlipRequest *gst_instructblip_request_new (void);
void gst_instructblip_request_free (GstInstructBlipRequest *req);

/* The worker for @instance_id (NULL: a private one), loading @model_dir
 * with @params if this is its first user. A shared worker already loaded
 * with another directory, device or precision is an error
 * (GST_RESOURCE_ERROR_SETTINGS). Blocks while another user loads the same
 * instance.
 * (transfer full) */
GstInstructBlipWorker *gst_instructblip_worker_acquire (const char *instance_id,
    const char *model_dir, const IbModelParams *params, GError **error);
void gst_instructblip_worker_release (GstInstructBlipWorker *w);

/* The loaded model. (transfer none) */
IbModel *gst_instructblip_worker_get_model (GstInstructBlipWorker *w);

/* Makes sure the worker's batch slots answer @n_frames frames with up to
 * @max_new_tokens tokens and @num_beams beams (it grows, never shrinks),
 * so that sizing errors show at start, not on the first question. */
gboolean gst_instructblip_worker_reserve (GstInstructBlipWorker *w,
    int n_frames, int max_new_tokens, int num_beams, GError **error);

/* Queues @req (transfer full). With @max_pending > 0, at most that many of
 * @req->owner's requests wait (the one being answered is not counted);
 * when full, the oldest waiting one or @req itself is dropped and returned
 * (transfer full), else NULL. */
GstInstructBlipRequest *gst_instructblip_worker_submit (GstInstructBlipWorker
                                                            *w,
    GstInstructBlipRequest *req, guint max_pending, gboolean drop_oldest);

/* Removes @owner's waiting requests and returns how many; with @wait, then
 * waits until the worker is not answering one of @owner's. */
guint gst_instructblip_worker_cancel (GstInstructBlipWorker *w, gpointer owner,
    gboolean wait);

/* How many of @owner's requests wait, and whether one is being answered. */
void gst_instructblip_worker_get_load (GstInstructBlipWorker *w, gpointer owner,
    guint *waiting, gboolean *busy);

G_END_DECLS
