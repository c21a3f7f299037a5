/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Questions in and answers out: sampled frames become requests for the
 * shared worker; answers leave as meta, message, signal and text. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstinstructblipprivate.h"

#include "gstinstructblipmeta.h"

#define GST_CAT_DEFAULT gst_instruct_blip_debug

/* ---- answers out ---- */

static GstStructure *
answer_structure (const GstInstructBlipRequest *req)
{
  return gst_structure_new (GST_INSTRUCT_BLIP_ANSWER_NAME, "instruction",
      G_TYPE_STRING, req->instruction, "answer", G_TYPE_STRING, req->answer,
      "first-pts", G_TYPE_UINT64, req->first_pts, "last-pts", G_TYPE_UINT64,
      req->last_pts, "latency", G_TYPE_UINT64,
      (guint64) (req->answered_us - req->submitted_us) * GST_USECOND,
      "n-tokens", G_TYPE_UINT, req->n_tokens, "n-frames", G_TYPE_UINT,
      req->frames->len, "n-frames-reused", G_TYPE_UINT, req->n_frames_reused,
      "request-id", G_TYPE_UINT, req->id, "asked", G_TYPE_BOOLEAN, req->asked,
      NULL);
}

/* Where the answer's text ends (stream time): when the next answer is due,
 * plus the lag this one had (async); without a schedule (EOS), one
 * interval on. */
static GstClockTime
text_end (GstInstructBlip *self, const GstInstructBlipRequest *req,
    GstClockTime pts, GstClockTime rt)
{
  const GstSegment *seg = &GST_BASE_TRANSFORM (self)->segment;
  GstClockTime end_rt = req->next_rt, interval;

  if (!GST_CLOCK_TIME_IS_VALID (pts))
    return GST_CLOCK_TIME_NONE;
  if (!GST_CLOCK_TIME_IS_VALID (end_rt) || !GST_CLOCK_TIME_IS_VALID (rt) ||
      seg->format != GST_FORMAT_TIME) {
    GST_OBJECT_LOCK (self);
    interval = self->interval;
    GST_OBJECT_UNLOCK (self);
    return pts + (interval > 0 ? interval : GST_SECOND);
  }
  if (GST_CLOCK_TIME_IS_VALID (req->last_rt) && rt > req->last_rt)
    end_rt += rt - req->last_rt;
  return gst_segment_position_from_running_time (seg, GST_FORMAT_TIME, end_rt);
}

void
gst_instruct_blip_deliver (GstInstructBlip *self, GstBuffer *buf,
    GstClockTime pts, GstClockTime rt)
{
  GQueue ready;
  GstInstructBlipRequest *req;
  GstStructure *s;
  gboolean post;

  g_mutex_lock (&self->lock);
  ready = self->outbox;
  g_queue_init (&self->outbox);
  g_mutex_unlock (&self->lock);
  if (g_queue_is_empty (&ready))
    return;

  GST_OBJECT_LOCK (self);
  post = self->post_messages;
  GST_OBJECT_UNLOCK (self);
  g_mutex_lock (&self->lock);
  self->stats.answers += ready.length;
  g_mutex_unlock (&self->lock);

  while ((req = g_queue_pop_head (&ready))) {
    s = answer_structure (req);
    GST_INFO_OBJECT (self,
        "answer %u about %" GST_TIME_FORMAT " - %" GST_TIME_FORMAT
        ": \"%s\" -> \"%s\"",
        req->id, GST_TIME_ARGS (req->first_pts), GST_TIME_ARGS (req->last_pts),
        req->instruction, req->answer);
    if (buf)
      gst_buffer_add_instruct_blip_meta (buf, s);
    if (post)
      gst_element_post_message (GST_ELEMENT (self),
          gst_message_new_element (GST_OBJECT (self), gst_structure_copy (s)));
    g_signal_emit (self, gst_instruct_blip_signals[SIGNAL_ANSWER], 0,
        req->instruction, req->answer, s);
    gst_instructblip_text_out_push (&self->text, req->answer, pts,
        text_end (self, req, pts, rt));
    gst_structure_free (s);
    gst_instructblip_request_free (req);
  }
}

/* Worker thread: an answer (or a failure) for one of our requests. */
static void
on_answered (GstInstructBlipRequest *req, gpointer user_data)
{
  GstInstructBlip *self = user_data;
  GstClockTime latency;
  gboolean stale;

  /* the warning goes out before anyone waiting on this request wakes up;
   * never under our lock: bus sync handlers may call back into us */
  g_mutex_lock (&self->lock);
  stale = req->epoch != self->epoch;
  g_mutex_unlock (&self->lock);
  if (!stale && req->error)
    GST_ELEMENT_WARNING (self, STREAM, FAILED,
        ("Could not answer \"%s\": %s", req->instruction, req->error->message),
        (NULL));

  g_mutex_lock (&self->lock);
  self->in_flight--;
  if (req->epoch != self->epoch) {
    self->stats.cancelled++;
  } else if (req->error) {
    self->stats.failed++;
  } else {
    latency = (req->answered_us - req->submitted_us) * GST_USECOND;
    self->stats.n_timed++;
    self->stats.latency_last = latency;
    self->stats.latency_max = MAX (self->stats.latency_max, latency);
    self->stats.latency_sum += latency;
    g_queue_push_tail (&self->outbox, g_steal_pointer (&req));
  }
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  gst_instructblip_request_free (req);
}

/* ---- questions in ---- */

static void
submit (GstInstructBlip *self, GstInstructBlipRequest *req)
{
  GstInstructBlipRequest *dropped;
  guint max_pending;
  gboolean drop_oldest;

  GST_OBJECT_LOCK (self);
  max_pending = self->async ? self->max_pending : 0;
  drop_oldest = self->drop_policy == GST_INSTRUCT_BLIP_DROP_OLDEST;
  GST_OBJECT_UNLOCK (self);

  g_mutex_lock (&self->lock);
  req->epoch = self->epoch;
  self->in_flight++;
  self->stats.questions++;
  g_mutex_unlock (&self->lock);

  req->submitted_us = g_get_monotonic_time ();
  GST_DEBUG_OBJECT (self, "question %u: \"%s\" about %u frames", req->id,
      req->instruction, req->frames->len);
  /* req belongs to the worker from here on */
  dropped = gst_instructblip_worker_submit (self->worker, req, max_pending,
      drop_oldest);
  if (dropped) {
    GST_DEBUG_OBJECT (self, "queue full: dropped question %u", dropped->id);
    g_mutex_lock (&self->lock);
    self->in_flight--;
    self->stats.dropped++;
    g_mutex_unlock (&self->lock);
    gst_instructblip_request_free (dropped);
  }
}

/* A request for @frames (transfer full): @w's question, or the current
 * instruction for the scheduled window. */
static GstInstructBlipRequest *
make_request (GstInstructBlip *self, GstInstructBlipWindow *w,
    GPtrArray *frames, GstClockTime next_rt)
{
  GstInstructBlipRequest *req = gst_instructblip_request_new ();
  GstInstructBlipFrame *first = g_ptr_array_index (frames, 0);
  GstInstructBlipFrame *last = g_ptr_array_index (frames, frames->len - 1);

  req->owner = self;
  req->frames = frames;
  req->first_pts = first->pts;
  req->last_pts = last->pts;
  req->last_rt = last->running_time;
  req->next_rt = next_rt;
  req->done = on_answered;
  req->user_data = self;
  GST_OBJECT_LOCK (self);
  req->instruction =
      g_strdup (w->instruction ? w->instruction : self->instruction);
  req->candidates = gst_instruct_blip_parse_candidates (self->candidates);
  gst_instruct_blip_effective_params (self, &req->params);
  GST_OBJECT_UNLOCK (self);
  if (w->instruction) {
    req->asked = TRUE;
    req->id = w->request_id;
  } else {
    g_mutex_lock (&self->lock);
    req->id = ++self->next_id;
    g_mutex_unlock (&self->lock);
  }
  return req;
}

static GstInstructBlipFrame *
copy_frame (GstInstructBlip *self, GstBuffer *buf, GstClockTime rt)
{
  GstVideoFrame vframe;
  GstInstructBlipFrame *frame;

  if (!gst_video_frame_map (&vframe, &self->info, buf, GST_MAP_READ)) {
    GST_WARNING_OBJECT (self, "could not map a sampled frame; skipping it");
    return NULL;
  }
  frame = gst_instructblip_frame_new (&vframe, self->converter, rt);
  gst_video_frame_unmap (&vframe);
  return frame;
}

gboolean
gst_instruct_blip_wait_answers (GstInstructBlip *self, gint64 deadline)
{
  gboolean ok = TRUE;

  g_mutex_lock (&self->lock);
  while (self->in_flight > 0 && !self->flushing) {
    if (deadline < 0)
      g_cond_wait (&self->cond, &self->lock);
    else if (!g_cond_wait_until (&self->cond, &self->lock, deadline))
      break;
  }
  ok = !self->flushing;
  g_mutex_unlock (&self->lock);
  return ok;
}

void
gst_instruct_blip_sample (GstInstructBlip *self, GstBuffer *buf,
    GstClockTime rt)
{
  GstInstructBlipFrame *frame = NULL;
  GstClockTime interval;
  guint n_frames, i;
  GstInstructBlipWindow *w;
  GPtrArray *frames;
  gboolean sched;

  g_mutex_lock (&self->lock);
  while ((w = g_queue_pop_head (&self->new_asks)))
    g_ptr_array_add (self->asks, w);
  g_mutex_unlock (&self->lock);

  GST_OBJECT_LOCK (self);
  interval = self->interval;
  n_frames = self->num_frames;
  GST_OBJECT_UNLOCK (self);

  sched = gst_instructblip_window_wants (self->window, rt, n_frames, interval);
  for (i = 0; i < self->asks->len; i++)
    if (gst_instructblip_window_wants (g_ptr_array_index (self->asks, i), rt,
            n_frames, interval))
      break;
  if (!sched && i == self->asks->len)
    return;
  if (!(frame = copy_frame (self, buf, rt)))
    return;
  g_mutex_lock (&self->lock);
  self->stats.sampled++;
  g_mutex_unlock (&self->lock);
  GST_LOG_OBJECT (self, "sampled %" GST_TIME_FORMAT,
      GST_TIME_ARGS (frame->pts));

  if (sched &&
      gst_instructblip_window_add (self->window,
          gst_instructblip_frame_ref (frame), n_frames)) {
    frames = gst_instructblip_window_take (self->window, interval);
    submit (self,
        make_request (self, self->window, frames,
            gst_instructblip_window_last_target (self->window, n_frames,
                interval)));
  }
  for (i = 0; i < self->asks->len;) {
    w = g_ptr_array_index (self->asks, i);
    /* wants() again: true only where the frame is this window's sample */
    if (gst_instructblip_window_wants (w, rt, n_frames, interval) &&
        gst_instructblip_window_add (w, gst_instructblip_frame_ref (frame),
            n_frames)) {
      frames = gst_instructblip_window_take (w, interval);
      submit (self,
          make_request (self, w, frames,
              rt + MAX (interval, GST_INSTRUCTBLIP_FALLBACK_FRAME_DURATION)));
      g_ptr_array_remove_index (self->asks, i);
    } else {
      i++;
    }
  }
  gst_instructblip_frame_unref (frame);
}

void
gst_instruct_blip_clear_outbox (GstInstructBlip *self)
{
  /* under lock; answered but never handed out */
  self->stats.cancelled += self->outbox.length;
  g_queue_clear_full (&self->outbox,
      (GDestroyNotify) gst_instructblip_request_free);
}

/* EOS: ask about partial windows (their last frame repeated), wait up to
 * drain-timeout for every answer, and hand them out (no buffer is left to
 * carry a meta). */
void
gst_instruct_blip_drain (GstInstructBlip *self)
{
  GstClockTime interval, timeout;
  guint n_frames, i, n = 0, left;
  GstInstructBlipWindow *w;
  gint64 deadline;

  if (self->worker == NULL)
    return;
  GST_OBJECT_LOCK (self);
  interval = self->interval;
  n_frames = self->num_frames;
  timeout = self->drain_timeout;
  GST_OBJECT_UNLOCK (self);

  if (self->window->frames->len > 0) {
    gst_instructblip_window_pad (self->window, n_frames);
    submit (self,
        make_request (self, self->window,
            gst_instructblip_window_take (self->window, interval),
            GST_CLOCK_TIME_NONE));
  }
  for (i = 0; i < self->asks->len; i++) {
    w = g_ptr_array_index (self->asks, i);
    if (gst_instructblip_window_pad (w, n_frames))
      submit (self,
          make_request (self, w, gst_instructblip_window_take (w, interval),
              GST_CLOCK_TIME_NONE));
  }
  g_ptr_array_set_size (self->asks, 0);

  deadline = g_get_monotonic_time () + (gint64) (timeout / GST_USECOND);
  gst_instruct_blip_wait_answers (self, deadline);
  g_mutex_lock (&self->lock);
  left = self->flushing ? 0 : self->in_flight;
  /* the question being answered cannot be stopped: its answer will be
   * stale */
  if (left)
    self->epoch++;
  g_mutex_unlock (&self->lock);
  if (left) {
    n = gst_instructblip_worker_cancel (self->worker, self, FALSE);
    g_mutex_lock (&self->lock);
    self->in_flight -= n;
    self->stats.cancelled += n;
    g_mutex_unlock (&self->lock);
    GST_ELEMENT_WARNING (self, STREAM, FAILED,
        ("%u questions were still unanswered when drain-timeout "
         "(%" GST_TIME_FORMAT ") ran out at EOS; they are dropped",
            left, GST_TIME_ARGS (timeout)),
        (NULL));
  }
  gst_instruct_blip_deliver (self, NULL, self->last_end_pts, self->last_end_rt);
}

guint
gst_instruct_blip_ask (GstInstructBlip *self, const gchar *instruction)
{
  guint id;

  if (!gst_instruct_blip_valid_text (instruction)) {
    GST_WARNING_OBJECT (self, "ask: the instruction is empty or not UTF-8");
    return 0;
  }
  g_mutex_lock (&self->lock);
  id = ++self->next_id;
  g_queue_push_tail (&self->new_asks,
      gst_instructblip_window_new (instruction, id));
  g_mutex_unlock (&self->lock);
  GST_DEBUG_OBJECT (self, "ask %u: \"%s\"", id, instruction);
  return id;
}
