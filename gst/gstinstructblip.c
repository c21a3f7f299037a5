/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The instructblip element: samples frames by running time, asks the
 * shared model's worker, and hands answers out on four channels. */

/**
 * SECTION:element-instructblip
 * @title: instructblip
 *
 * Answers a free-form instruction about the video with InstructBLIP
 * (EVA ViT, instruction-aware Q-Former, Vicuna/LLaMA or Flan-T5), computed
 * on an OpenCL device. Video passes through untouched (caps, timestamps,
 * flags, data). Every #GstInstructBlip:interval of running time the element
 * takes #GstInstructBlip:num-frames frames spread uniformly over the
 * interval, copies them (only those), and asks #GstInstructBlip:instruction
 * about them. Each answer leaves on four channels with the same content:
 *
 * - a #GstCustomMeta named "InstructBlipAnswerMeta" on a video buffer;
 * - an element message "instructblip-answer" (see `gst-launch-1.0 -m`);
 * - the #GstInstructBlip::answer signal;
 * - a text/x-raw buffer on the "text_src" pad (for textoverlay and
 *   subtitle muxers), with GAP events where there is no answer.
 *
 * Fields: instruction, answer (strings), first-pts, last-pts (guint64: the
 * frames asked about), latency (guint64 ns), n-tokens, n-frames,
 * n-frames-reused, request-id (guint), asked (gboolean).
 *
 * In blocking mode the answer rides on the last frame it is about and the
 * result is deterministic; in async mode inference runs on the model's
 * worker thread while video flows, and the answer rides on the first
 * buffer after it is ready. Elements with the same
 * #GstInstructBlip:model-instance-id share one loaded model and one worker.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -m filesrc location=clip.mp4 ! decodebin ! videoconvert ! \
 *     instructblip model-path=/models/instructblip-vicuna-7b \
 *     instruction="What is the person doing?" ! fakesink
 * gst-launch-1.0 v4l2src ! videoconvert ! instructblip name=q num-frames=1 \
 *     instruction="Is the door open?" ! queue ! textoverlay name=o ! \
 *     videoconvert ! autovideosink  q.text_src ! queue ! o.text_sink
 * ]|
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstinstructblipprivate.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

GST_DEBUG_CATEGORY (gst_instruct_blip_debug);
#define GST_CAT_DEFAULT gst_instruct_blip_debug

guint gst_instruct_blip_signals[N_SIGNALS];

#define VIDEO_CAPS                                                         \
  GST_VIDEO_CAPS_MAKE (                                                    \
      "{ RGB, BGR, RGBA, BGRA, ARGB, ABGR, "                               \
      "RGBx, BGRx, xRGB, xBGR, I420, YV12, NV12, NV21, Y42B, Y444, YUY2, " \
      "UYVY, GRAY8 }")

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (VIDEO_CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (VIDEO_CAPS));
static GstStaticPadTemplate text_template =
    GST_STATIC_PAD_TEMPLATE ("text_src", GST_PAD_SRC, GST_PAD_ALWAYS,
        GST_STATIC_CAPS ("text/x-raw, format = (string) utf8"));

#define gst_instruct_blip_parent_class parent_class
G_DEFINE_TYPE (GstInstructBlip, gst_instruct_blip, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (instructblip, "instructblip",
    GST_RANK_NONE, GST_TYPE_INSTRUCT_BLIP,
    GST_DEBUG_CATEGORY_INIT (gst_instruct_blip_debug, "instructblip", 0,
        "InstructBLIP video question answering"));

/* ---- streaming ---- */

static void
decide_mode (GstInstructBlip *self)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstInstructBlipProcessingMode mode;
  GstQuery *query;
  gboolean live = FALSE;

  query = gst_query_new_latency ();
  if (gst_pad_peer_query (trans->sinkpad, query))
    gst_query_parse_latency (query, &live, NULL, NULL);
  gst_query_unref (query);
  GST_OBJECT_LOCK (self);
  mode = self->mode;
  GST_OBJECT_UNLOCK (self);
  if (mode == GST_INSTRUCT_BLIP_MODE_AUTO)
    mode =
        live ? GST_INSTRUCT_BLIP_MODE_ASYNC : GST_INSTRUCT_BLIP_MODE_BLOCKING;
  g_mutex_lock (&self->lock);
  self->async = mode == GST_INSTRUCT_BLIP_MODE_ASYNC;
  g_mutex_unlock (&self->lock);
  self->live = live;
  self->mode_decided = TRUE;
  GST_INFO_OBJECT (self, "processing mode: %s (upstream %s)",
      self->async ? "async" : "blocking", live ? "live" : "not live");
}

static GstClockTime
frame_duration (GstInstructBlip *self, GstBuffer *buf)
{
  if (GST_BUFFER_DURATION_IS_VALID (buf))
    return GST_BUFFER_DURATION (buf);
  if (GST_VIDEO_INFO_FPS_N (&self->info) > 0)
    return gst_util_uint64_scale_int (GST_SECOND,
        GST_VIDEO_INFO_FPS_D (&self->info), GST_VIDEO_INFO_FPS_N (&self->info));
  return GST_INSTRUCTBLIP_FALLBACK_FRAME_DURATION;
}

/* The running time sampling uses: from the PTS, or made up by counting
 * frames where there are no timestamps. */
static GstClockTime
running_time (GstInstructBlip *self, GstBuffer *buf, GstClockTime dur)
{
  const GstSegment *seg = &GST_BASE_TRANSFORM (self)->segment;
  GstClockTime rt;

  if (seg->format == GST_FORMAT_TIME && GST_BUFFER_PTS_IS_VALID (buf))
    return gst_segment_to_running_time (seg, GST_FORMAT_TIME,
        GST_BUFFER_PTS (buf));
  rt = self->counted_rt;
  self->counted_rt += dur;
  return rt;
}

/* Blocking mode on a live source: inference delays frames, so the
 * pipeline's latency grows to the slowest answer seen. */
static void
update_latency (GstInstructBlip *self)
{
  GstClockTime max;

  g_mutex_lock (&self->lock);
  max = self->stats.latency_max;
  g_mutex_unlock (&self->lock);
  if (self->async || max <= self->latency_posted)
    return;
  self->latency_posted = max;
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_latency (GST_OBJECT (self)));
}

static GstFlowReturn
gst_instruct_blip_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstInstructBlip *self = GST_INSTRUCT_BLIP (trans);
  const GstClockTime pts = GST_BUFFER_PTS (buf);
  const GstClockTime dur = frame_duration (self, buf);
  GstClockTime rt;

  if (!self->mode_decided)
    decide_mode (self);
  g_mutex_lock (&self->lock);
  self->stats.frames++;
  g_mutex_unlock (&self->lock);

  rt = running_time (self, buf, dur);
  if (self->async) {
    gst_instruct_blip_deliver (self, buf, pts, rt);
    gst_instruct_blip_sample (self, buf, rt);
  } else {
    gst_instruct_blip_sample (self, buf, rt);
    if (!gst_instruct_blip_wait_answers (self, -1))
      return GST_FLOW_FLUSHING;
    gst_instruct_blip_deliver (self, buf, pts, rt);
    if (self->live)
      update_latency (self);
  }
  if (GST_CLOCK_TIME_IS_VALID (pts)) {
    self->last_end_pts = pts + dur;
    self->last_end_rt = GST_CLOCK_TIME_IS_VALID (rt) ? rt + dur : rt;
    gst_instructblip_text_out_fill (&self->text, pts, pts + dur);
  }
  return GST_FLOW_OK;
}

static gboolean
gst_instruct_blip_set_caps (GstBaseTransform *trans, GstCaps *incaps,
    G_GNUC_UNUSED GstCaps *outcaps)
{
  GstInstructBlip *self = GST_INSTRUCT_BLIP (trans);
  GstVideoInfo info;

  if (!gst_video_info_from_caps (&info, incaps))
    return FALSE;
  if (self->converter)
    gst_video_converter_free (self->converter);
  self->converter = gst_instructblip_frame_converter_new (&info);
  if (self->converter == NULL &&
      !gst_instructblip_frame_format_is_packed (GST_VIDEO_INFO_FORMAT (&info),
          NULL)) {
    GST_ERROR_OBJECT (self, "no converter from %s to RGB",
        gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (&info)));
    return FALSE;
  }
  self->info = info;
  return TRUE;
}

/* ---- events ---- */

static void
reset_windows (GstInstructBlip *self)
{
  guint i;

  gst_instructblip_window_reset (self->window);
  for (i = 0; i < self->asks->len; i++)
    gst_instructblip_window_reset (g_ptr_array_index (self->asks, i));
  self->counted_rt = 0;
}

/* Any thread: stale work is cancelled, waits in the streaming thread end. */
static void
flush_start (GstInstructBlip *self)
{
  guint n = 0;

  g_mutex_lock (&self->lock);
  self->flushing = TRUE;
  self->epoch++;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  if (self->worker)
    n = gst_instructblip_worker_cancel (self->worker, self, FALSE);
  g_mutex_lock (&self->lock);
  self->in_flight -= n;
  self->stats.cancelled += n;
  g_mutex_unlock (&self->lock);
  GST_DEBUG_OBJECT (self, "flush: cancelled %u waiting questions", n);
}

static void
flush_stop (GstInstructBlip *self)
{
  g_mutex_lock (&self->lock);
  self->flushing = FALSE;
  gst_instruct_blip_clear_outbox (self);
  g_mutex_unlock (&self->lock);
  reset_windows (self);
}

static gboolean
gst_instruct_blip_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstInstructBlip *self = GST_INSTRUCT_BLIP (trans);
  const GstSegment *segment;
  GstClockTime ts, dur;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_STREAM_START:
      self->text.started = FALSE;
      gst_instructblip_text_out_start (&self->text, GST_ELEMENT (self), event);
      break;
    case GST_EVENT_SEGMENT:
      gst_event_parse_segment (event, &segment);
      gst_instructblip_text_out_segment (&self->text, GST_ELEMENT (self),
          segment);
      break;
    case GST_EVENT_GAP:
      gst_event_parse_gap (event, &ts, &dur);
      if (GST_CLOCK_TIME_IS_VALID (dur))
        gst_instructblip_text_out_fill (&self->text, ts, ts + dur);
      break;
    case GST_EVENT_FLUSH_START:
      flush_start (self);
      gst_instructblip_text_out_flush (&self->text,
          gst_event_new_flush_start ());
      break;
    case GST_EVENT_FLUSH_STOP:
      flush_stop (self);
      gst_instructblip_text_out_flush (&self->text,
          gst_event_new_flush_stop (TRUE));
      break;
    case GST_EVENT_EOS:
      gst_instruct_blip_drain (self);
      gst_instructblip_text_out_eos (&self->text, GST_ELEMENT (self));
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

/* Any thread: TRUE when @event is a seek already sent upstream through the
 * other src pad (the bin sends a pipeline seek to every sink, so it
 * arrives on src and on text_src with one seqnum). Sent twice, the source
 * would flush and restart twice per seek. */
static gboolean
seek_already_sent (GstInstructBlip *self, GstEvent *event)
{
  guint seqnum;

  if (GST_EVENT_TYPE (event) != GST_EVENT_SEEK)
    return FALSE;
  seqnum = gst_event_get_seqnum (event);
  return (guint) g_atomic_int_exchange ((gint *) &self->seek_seqnum,
             (gint) seqnum) == seqnum;
}

static gboolean
gst_instruct_blip_src_event (GstBaseTransform *trans, GstEvent *event)
{
  GstInstructBlip *self = GST_INSTRUCT_BLIP (trans);

  if (seek_already_sent (self, event)) {
    GST_DEBUG_OBJECT (self, "seek %u already sent upstream",
        gst_event_get_seqnum (event));
    gst_event_unref (event);
    return TRUE;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->src_event (trans, event);
}

static gboolean
text_src_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstInstructBlip *self = GST_INSTRUCT_BLIP (parent);

  if (seek_already_sent (self, event)) {
    GST_DEBUG_OBJECT (self, "seek %u already sent upstream",
        gst_event_get_seqnum (event));
    gst_event_unref (event);
    return TRUE;
  }
  return gst_pad_event_default (pad, parent, event);
}

static gboolean
gst_instruct_blip_query (GstBaseTransform *trans, GstPadDirection direction,
    GstQuery *query)
{
  GstInstructBlip *self = GST_INSTRUCT_BLIP (trans);
  GstClockTime min, max, extra;
  gboolean live, ok, blocking;

  ok = GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans, direction, query);
  if (!ok || direction != GST_PAD_SRC ||
      GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return ok;
  gst_query_parse_latency (query, &live, &min, &max);
  GST_OBJECT_LOCK (self);
  blocking = self->mode == GST_INSTRUCT_BLIP_MODE_BLOCKING;
  GST_OBJECT_UNLOCK (self);
  self->live = live;
  if (!live || !blocking)
    return ok;
  /* blocking on a live source: frames wait for the slowest answer seen */
  g_mutex_lock (&self->lock);
  extra = self->stats.latency_max;
  g_mutex_unlock (&self->lock);
  min += extra;
  if (GST_CLOCK_TIME_IS_VALID (max))
    max += extra;
  GST_DEBUG_OBJECT (self, "latency: adding %" GST_TIME_FORMAT,
      GST_TIME_ARGS (extra));
  gst_query_set_latency (query, live, min, max);
  return ok;
}

/* ---- lifecycle ---- */

static void
post_progress (GstInstructBlip *self, GstProgressType type, const char *text)
{
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_progress (GST_OBJECT (self), type, "load-model", text));
}

static void
post_load_error (GstInstructBlip *self, const char *dir, const char *device,
    const GError *err)
{
  const char *msg = err->message;

  if (err->domain == GST_RESOURCE_ERROR)
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", msg), (NULL));
  else if ((err->domain == IB_ERROR && err->code == IB_ERROR_NO_DEVICE) ||
      err->domain == IB_CL_ERROR)
    GST_ELEMENT_ERROR (self, LIBRARY, INIT,
        ("Could not use the OpenCL device \"%s\" (property device): %s", device,
            msg),
        ("model-path: %s", dir));
  else if (err->domain == IB_ERROR && err->code == IB_ERROR_IO)
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("Could not load the model in %s (property model-path): %s", dir, msg),
        (NULL));
  else if (err->domain == IB_ERROR && err->code == IB_ERROR_NO_MEMORY)
    GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
        ("Not enough memory for the model in %s: %s", dir, msg), (NULL));
  else
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not load the model in %s (property model-path): %s", dir, msg),
        (NULL));
}

/* bf16 and q8 run through oneDNN on OpenMP, whose idle threads spin after
 * every product unless OMP_WAIT_POLICY is passive, which libgomp reads
 * once when it is loaded (so neither the element nor the library can set
 * it): the application has to. Checked once per start, not per frame. */
static void
warn_openmp_wait_policy (GstInstructBlip *self, const IbModel *model)
{
  const IbPrecision p = ib_model_get_precision (model);

  if ((p == IB_PRECISION_BF16 || p == IB_PRECISION_Q8) &&
      g_getenv ("OMP_WAIT_POLICY") == NULL &&
      g_getenv ("GOMP_SPINCOUNT") == NULL)
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("The model runs in %s through oneDNN: set OMP_WAIT_POLICY=passive "
         "in the environment before the application starts, or OpenMP's "
         "idle threads slow every answer down",
            ib_precision_to_string (p)),
        (NULL));
}

static gboolean
gst_instruct_blip_start (GstBaseTransform *trans)
{
  GstInstructBlip *self = GST_INSTRUCT_BLIP (trans);
  IbGenerateParams gp;
  IbModelParams mp;
  GstInstructBlipWorker *worker = NULL;
  GError *err = NULL;
  char *dir, *device, *id, *text, *cache_dir = NULL;
  guint n_frames;
  gboolean has_path, ok = FALSE;
  GStatBuf sb;
  int saved_errno;

  GST_OBJECT_LOCK (self);
  has_path = self->model_path != NULL;
  dir = g_strdup (has_path ? self->model_path : ib_get_default_model_dir ());
  device = g_strdup (self->device);
  id = g_strdup (self->instance_id);
  n_frames = self->num_frames;
  ib_model_params_init (&mp);
  switch (self->precision) {
    case GST_INSTRUCT_BLIP_PRECISION_FP32:
      mp.precision = IB_PRECISION_F32;
      break;
    case GST_INSTRUCT_BLIP_PRECISION_FP16:
      mp.precision = IB_PRECISION_F16;
      break;
    case GST_INSTRUCT_BLIP_PRECISION_BF16:
      mp.precision = IB_PRECISION_BF16;
      break;
    case GST_INSTRUCT_BLIP_PRECISION_Q8:
      mp.precision = IB_PRECISION_Q8;
      break;
    default:
      mp.precision = IB_PRECISION_AUTO;
      break;
  }
  /* the element's enum lists the engine's values in the engine's order */
  mp.image_resize = (IbImageResize) self->image_resize;
  cache_dir = g_strdup (self->weight_cache_dir);
  mp.weight_cache_map = self->weight_cache_map;
  GST_OBJECT_UNLOCK (self);
  mp.device = device;
  mp.weight_cache_dir = cache_dir;

  if (g_stat (dir, &sb) != 0 && (saved_errno = errno) != ENOENT) {
    /* unreadable is not missing */
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not read the model directory %s (property model-path): %s", dir,
            g_strerror (saved_errno)),
        (NULL));
    goto out;
  }
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    if (has_path)
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("The model directory %s does not exist (property model-path)", dir),
          (NULL));
    else
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("No model-path is set and the default model is not at %s; set "
           "model-path to a checkpoint directory",
              dir),
          (NULL));
    goto out;
  }

  text = g_strdup_printf ("Loading the model in %s", dir);
  post_progress (self, GST_PROGRESS_TYPE_START, text);
  g_free (text);
  worker = gst_instructblip_worker_acquire (id, dir, &mp, &err);
  if (worker == NULL) {
    post_progress (self, GST_PROGRESS_TYPE_ERROR, err->message);
    post_load_error (self, dir, device, err);
    goto out;
  }
  ib_generate_params_init_for_model (&gp,
      gst_instructblip_worker_get_model (worker));
  GST_OBJECT_LOCK (self);
  self->gen_base = gp;
  gst_instruct_blip_effective_params (self, &gp);
  g_free (self->device_name);
  self->device_name = g_strdup (
      ib_model_get_device_name (gst_instructblip_worker_get_model (worker)));
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "model %s on %s", dir,
      ib_model_get_device_name (gst_instructblip_worker_get_model (worker)));
  warn_openmp_wait_policy (self, gst_instructblip_worker_get_model (worker));
  if (!gst_instructblip_worker_reserve (worker, n_frames, gp.max_new_tokens,
          gp.num_beams, &err)) {
    post_progress (self, GST_PROGRESS_TYPE_ERROR, err->message);
    post_load_error (self, dir, device, err);
    goto out;
  }
  post_progress (self, GST_PROGRESS_TYPE_COMPLETE, "Model loaded");

  g_mutex_lock (&self->lock);
  self->worker = g_steal_pointer (&worker);
  self->flushing = FALSE;
  self->epoch++;
  self->in_flight = 0;
  memset (&self->stats, 0, sizeof (self->stats));
  g_mutex_unlock (&self->lock);
  reset_windows (self);
  self->mode_decided = FALSE;
  self->latency_posted = 0;
  self->last_end_pts = self->last_end_rt = GST_CLOCK_TIME_NONE;
  ok = TRUE;
out:
  gst_instructblip_worker_release (worker);
  g_clear_error (&err);
  g_free (dir);
  g_free (device);
  g_free (cache_dir);
  g_free (id);
  return ok;
}

static gboolean
gst_instruct_blip_stop (GstBaseTransform *trans)
{
  GstInstructBlip *self = GST_INSTRUCT_BLIP (trans);
  GstInstructBlipWorker *worker;

  g_mutex_lock (&self->lock);
  self->flushing = TRUE;
  g_cond_broadcast (&self->cond);
  worker = self->worker;
  g_mutex_unlock (&self->lock);

  /* our waiting questions go, the one being answered finishes first: it
   * uses our request and calls back into us */
  if (worker)
    gst_instructblip_worker_cancel (worker, self, TRUE);

  g_mutex_lock (&self->lock);
  self->worker = NULL;
  self->in_flight = 0;
  gst_instruct_blip_clear_outbox (self);
  g_queue_clear_full (&self->new_asks,
      (GDestroyNotify) gst_instructblip_window_free);
  g_mutex_unlock (&self->lock);
  gst_instructblip_worker_release (worker);

  reset_windows (self);
  g_ptr_array_set_size (self->asks, 0);
  if (self->converter)
    gst_video_converter_free (self->converter);
  self->converter = NULL;
  gst_instructblip_text_out_reset (&self->text);
  self->mode_decided = FALSE;
  return TRUE;
}

static GstStateChangeReturn
gst_instruct_blip_change_state (GstElement *element, GstStateChange transition)
{
  GstInstructBlip *self = GST_INSTRUCT_BLIP (element);

  /* before the pads deactivate: a streaming thread waiting for an answer
   * must let go of the stream lock */
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    g_mutex_lock (&self->lock);
    self->flushing = TRUE;
    g_cond_broadcast (&self->cond);
    g_mutex_unlock (&self->lock);
  }
  return GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
}

/* ---- GObject ---- */

static void
gst_instruct_blip_finalize (GObject *object)
{
  GstInstructBlip *self = GST_INSTRUCT_BLIP (object);

  gst_instruct_blip_free_properties (self);
  gst_instructblip_window_free (self->window);
  g_ptr_array_unref (self->asks);
  g_queue_clear_full (&self->new_asks,
      (GDestroyNotify) gst_instructblip_window_free);
  g_queue_clear_full (&self->outbox,
      (GDestroyNotify) gst_instructblip_request_free);
  if (self->converter)
    gst_video_converter_free (self->converter);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_instruct_blip_init (GstInstructBlip *self)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);

  gst_base_transform_set_in_place (trans, TRUE);
  gst_base_transform_set_passthrough (trans, FALSE);

  self->text_pad =
      gst_pad_new_from_static_template (&text_template, "text_src");
  gst_pad_use_fixed_caps (self->text_pad);
  gst_pad_set_event_function (self->text_pad, text_src_event);
  gst_element_add_pad (GST_ELEMENT (self), self->text_pad);
  gst_instructblip_text_out_init (&self->text, self->text_pad);

  gst_instruct_blip_init_properties (self);

  gst_video_info_init (&self->info);
  self->window = gst_instructblip_window_new (NULL, 0);
  self->asks = g_ptr_array_new_with_free_func (
      (GDestroyNotify) gst_instructblip_window_free);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->outbox);
  g_queue_init (&self->new_asks);
  self->last_end_pts = self->last_end_rt = GST_CLOCK_TIME_NONE;
  self->seek_seqnum = GST_SEQNUM_INVALID;
}

static void
gst_instruct_blip_class_init (GstInstructBlipClass *klass)
{
  GObjectClass *oc = G_OBJECT_CLASS (klass);
  GstElementClass *ec = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *tc = GST_BASE_TRANSFORM_CLASS (klass);

  oc->set_property = gst_instruct_blip_set_property;
  oc->get_property = gst_instruct_blip_get_property;
  oc->finalize = gst_instruct_blip_finalize;
  gst_instruct_blip_install_properties (oc);

  /**
   * GstInstructBlip::answer:
   * @element: the element
   * @instruction: the instruction answered
   * @answer: the answer
   * @info: every field (as the meta and the message)
   *
   * Emitted from the streaming thread for each answer, when it is handed
   * out (with the buffer carrying its meta, or at EOS). Do not block.
   */
  gst_instruct_blip_signals[SIGNAL_ANSWER] =
      g_signal_new ("answer", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
          NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING,
          GST_TYPE_STRUCTURE | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * GstInstructBlip::ask:
   * @element: the element
   * @instruction: a one-off question
   *
   * Asks @instruction about the next num-frames frames (spread over
   * interval from the next frame on), outside the schedule. Returns the
   * request-id its answer will carry, or 0 if @instruction is empty.
   */
  gst_instruct_blip_signals[SIGNAL_ASK] = g_signal_new_class_handler ("ask",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_instruct_blip_ask), NULL, NULL, NULL, G_TYPE_UINT, 1,
      G_TYPE_STRING);

  gst_element_class_add_static_pad_template (ec, &sink_template);
  gst_element_class_add_static_pad_template (ec, &src_template);
  gst_element_class_add_static_pad_template (ec, &text_template);
  gst_element_class_set_static_metadata (ec,
      "InstructBLIP video question "
      "answering",
      "Filter/Analyzer/Video",
      "Answers an instruction about the video with InstructBLIP on OpenCL; "
      "answers leave as buffer meta, bus messages, a signal and text",
      "gst-instructblip developers");
  ec->change_state = GST_DEBUG_FUNCPTR (gst_instruct_blip_change_state);

  tc->start = GST_DEBUG_FUNCPTR (gst_instruct_blip_start);
  tc->stop = GST_DEBUG_FUNCPTR (gst_instruct_blip_stop);
  tc->set_caps = GST_DEBUG_FUNCPTR (gst_instruct_blip_set_caps);
  tc->transform_ip = GST_DEBUG_FUNCPTR (gst_instruct_blip_transform_ip);
  tc->sink_event = GST_DEBUG_FUNCPTR (gst_instruct_blip_sink_event);
  tc->src_event = GST_DEBUG_FUNCPTR (gst_instruct_blip_src_event);
  tc->query = GST_DEBUG_FUNCPTR (gst_instruct_blip_query);

  gst_type_mark_as_plugin_api (GST_TYPE_INSTRUCT_BLIP_PROCESSING_MODE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_INSTRUCT_BLIP_DROP_POLICY, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_INSTRUCT_BLIP_PRECISION, 0);
}
