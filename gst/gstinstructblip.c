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
 * frames asked about), latency (guint64 ns), n-tokens, n-frames, request-id
 * (guint), asked (gboolean).
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

#include "gstinstructblip.h"

#include <string.h>
#include <gst/video/video.h>

#include "gstinstructblipenums.h"
#include "gstinstructblipmeta.h"
#include "gstinstructbliptext.h"
#include "ibframe.h"
#include "ibwindow.h"
#include "ibworker.h"

GST_DEBUG_CATEGORY (gst_instruct_blip_debug);
#define GST_CAT_DEFAULT gst_instruct_blip_debug

#define DEFAULT_INSTRUCTION "What is happening in the video?"
#define DEFAULT_NUM_FRAMES 4
#define DEFAULT_INTERVAL (2 * GST_SECOND)
#define DEFAULT_MODE GST_INSTRUCT_BLIP_MODE_AUTO
#define DEFAULT_MAX_PENDING 1
#define DEFAULT_DROP_POLICY GST_INSTRUCT_BLIP_DROP_OLDEST
#define DEFAULT_DEVICE "auto"
#define DEFAULT_PRECISION GST_INSTRUCT_BLIP_PRECISION_FP32
#define DEFAULT_POST_MESSAGES TRUE
#define DEFAULT_DRAIN_TIMEOUT (30 * GST_SECOND)
#define DEFAULT_SEED 0
/* frame duration when neither the buffer nor the caps say */
#define FALLBACK_FRAME_DURATION (40 * GST_MSECOND)

enum
{
  PROP_0,
  PROP_MODEL_PATH,
  PROP_INSTRUCTION,
  PROP_NUM_FRAMES,
  PROP_INTERVAL,
  PROP_PROCESSING_MODE,
  PROP_MAX_PENDING,
  PROP_DROP_POLICY,
  /* generation: unset ones come from the checkpoint */
  PROP_MAX_NEW_TOKENS,
  PROP_MIN_LENGTH,
  PROP_NUM_BEAMS,
  PROP_TEMPERATURE,
  PROP_TOP_K,
  PROP_TOP_P,
  PROP_REPETITION_PENALTY,
  PROP_LENGTH_PENALTY,
  PROP_SEED,
  PROP_CANDIDATES,
  PROP_DEVICE,
  PROP_DEVICE_NAME,
  PROP_PRECISION,
  PROP_MODEL_INSTANCE_ID,
  PROP_POST_MESSAGES,
  PROP_DRAIN_TIMEOUT,
  PROP_STATS,
};

#define GEN_BIT(prop) (1u << ((prop) -PROP_MAX_NEW_TOKENS))

enum
{
  SIGNAL_ANSWER,
  SIGNAL_ASK,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

typedef struct
{
  guint64 frames, sampled, questions, answers, dropped, cancelled, failed;
  GstClockTime latency_last, latency_max, latency_sum;
} Stats;

struct _GstInstructBlip
{
  GstBaseTransform parent;

  GstPad *text_pad;
  IbTextOut text; /* streaming thread */

  /* properties, under the object lock */
  char *model_path, *instruction, *candidates, *device, *instance_id;
  char *device_name;
  guint num_frames, max_pending;
  GstClockTime interval, drain_timeout;
  GstInstructBlipProcessingMode mode;
  GstInstructBlipDropPolicy drop_policy;
  GstInstructBlipPrecision precision;
  gboolean post_messages;
  IbGenerateParams gen_base; /* transformers' defaults, then the model's */
  IbGenerateParams gen_user; /* what the user set, see gen_set */
  guint gen_set; /* GEN_BIT of each property the user set */
  guint64 seed;

  /* streaming thread only */
  GstVideoInfo info;
  GstVideoConverter *converter;
  IbWindow *window; /* the scheduled questions */
  GPtrArray *asks; /* IbWindow *: questions from "ask" */
  gboolean mode_decided, async;
  gboolean live; /* upstream is live (latency query) */
  GstClockTime counted_rt; /* running time made up for frames without
                                 * timestamps */
  GstClockTime last_end_pts, last_end_rt;
  GstClockTime latency_posted; /* blocking on a live source */

  /* shared with the worker and the application, under lock */
  GMutex lock;
  GCond cond;
  IbWorker *worker; /* set in start, cleared in stop */
  GQueue outbox; /* IbRequest *, answered, not delivered */
  GQueue new_asks; /* IbWindow *, from the ask signal */
  guint next_id, epoch, in_flight;
  gboolean flushing;
  Stats stats;
};

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

/* ---- properties ---- */

static gboolean
model_props_locked (GstInstructBlip *self, const GParamSpec *pspec)
{
  /* under the object lock: model-defining properties change in NULL and
   * READY only */
  if (GST_STATE (self) <= GST_STATE_READY)
    return FALSE;
  GST_WARNING_OBJECT (self, "%s can only change in the NULL or READY state",
      pspec->name);
  return TRUE;
}

static gboolean
valid_text (const char *s)
{
  return s != NULL && *s != '\0' && g_utf8_validate (s, -1, NULL);
}

static void
set_gen (GstInstructBlip *self, guint prop, const GValue *value)
{
  IbGenerateParams *u = &self->gen_user;

  switch (prop) {
    case PROP_MAX_NEW_TOKENS:
      u->max_new_tokens = g_value_get_uint (value);
      break;
    case PROP_MIN_LENGTH:
      u->min_new_tokens = g_value_get_uint (value);
      break;
    case PROP_NUM_BEAMS:
      u->num_beams = g_value_get_uint (value);
      break;
    case PROP_TEMPERATURE:
      u->temperature = g_value_get_double (value);
      u->do_sample = u->temperature > 0;
      break;
    case PROP_TOP_K:
      u->top_k = g_value_get_uint (value);
      break;
    case PROP_TOP_P:
      u->top_p = g_value_get_double (value);
      break;
    case PROP_REPETITION_PENALTY:
      u->repetition_penalty = g_value_get_double (value);
      break;
    case PROP_LENGTH_PENALTY:
      u->length_penalty = g_value_get_double (value);
      break;
    default:
      return;
  }
  self->gen_set |= GEN_BIT (prop);
}

static void
get_gen (GstInstructBlip *self, guint prop, GValue *value)
{
  const IbGenerateParams *p =
      self->gen_set & GEN_BIT (prop) ? &self->gen_user : &self->gen_base;

  switch (prop) {
    case PROP_MAX_NEW_TOKENS:
      g_value_set_uint (value, p->max_new_tokens);
      break;
    case PROP_MIN_LENGTH:
      g_value_set_uint (value, p->min_new_tokens);
      break;
    case PROP_NUM_BEAMS:
      g_value_set_uint (value, p->num_beams);
      break;
    case PROP_TEMPERATURE:
      g_value_set_double (value, p->do_sample ? p->temperature : 0.0);
      break;
    case PROP_TOP_K:
      g_value_set_uint (value, p->top_k);
      break;
    case PROP_TOP_P:
      g_value_set_double (value, p->top_p);
      break;
    case PROP_REPETITION_PENALTY:
      g_value_set_double (value, p->repetition_penalty);
      break;
    case PROP_LENGTH_PENALTY:
      g_value_set_double (value, p->length_penalty);
      break;
    default:
      break;
  }
}

/* Under the object lock: the settings of the next question. */
static void
effective_params (GstInstructBlip *self, IbGenerateParams *gp)
{
  const IbGenerateParams *u = &self->gen_user;
  const guint set = self->gen_set;

  *gp = self->gen_base;
  if (set & GEN_BIT (PROP_MAX_NEW_TOKENS))
    gp->max_new_tokens = u->max_new_tokens;
  if (set & GEN_BIT (PROP_MIN_LENGTH))
    gp->min_new_tokens = u->min_new_tokens;
  if (set & GEN_BIT (PROP_NUM_BEAMS))
    gp->num_beams = u->num_beams;
  if (set & GEN_BIT (PROP_TEMPERATURE)) {
    gp->do_sample = u->do_sample;
    if (u->do_sample)
      gp->temperature = u->temperature;
  }
  if (set & GEN_BIT (PROP_TOP_K))
    gp->top_k = u->top_k;
  if (set & GEN_BIT (PROP_TOP_P))
    gp->top_p = u->top_p;
  if (set & GEN_BIT (PROP_REPETITION_PENALTY))
    gp->repetition_penalty = u->repetition_penalty;
  if (set & GEN_BIT (PROP_LENGTH_PENALTY))
    gp->length_penalty = u->length_penalty;
  gp->seed = self->seed;
}

/* "yes | no|maybe" -> { "yes", "no", "maybe" }; NULL when there is none. */
static char **
parse_candidates (const char *s)
{
  GPtrArray *out;
  char **parts;
  guint i;

  if (s == NULL)
    return NULL;
  out = g_ptr_array_new ();
  parts = g_strsplit (s, "|", -1);
  for (i = 0; parts[i]; i++) {
    g_strstrip (parts[i]);
    if (*parts[i])
      g_ptr_array_add (out, g_strdup (parts[i]));
  }
  g_strfreev (parts);
  if (out->len == 0) {
    g_ptr_array_unref (out);
    return NULL;
  }
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

static GstStructure *
stats_structure (GstInstructBlip *self)
{
  GstStructure *s;
  guint waiting = 0;
  gboolean busy = FALSE;
  Stats st;
  guint in_flight;
  gboolean async;

  g_mutex_lock (&self->lock);
  st = self->stats;
  in_flight = self->in_flight;
  if (self->worker)
    ib_worker_get_load (self->worker, self, &waiting, &busy);
  async = self->async;
  g_mutex_unlock (&self->lock);

  s = gst_structure_new ("instructblip-stats", "frames", G_TYPE_UINT64,
      st.frames, "frames-sampled", G_TYPE_UINT64, st.sampled, "questions",
      G_TYPE_UINT64, st.questions, "answers", G_TYPE_UINT64, st.answers,
      "dropped", G_TYPE_UINT64, st.dropped, "cancelled", G_TYPE_UINT64,
      st.cancelled, "failed", G_TYPE_UINT64, st.failed, "pending", G_TYPE_UINT,
      in_flight, "waiting", G_TYPE_UINT, waiting, "busy", G_TYPE_BOOLEAN, busy,
      "async", G_TYPE_BOOLEAN, async, "latency-last", G_TYPE_UINT64,
      st.latency_last, "latency-max", G_TYPE_UINT64, st.latency_max,
      "latency-mean", G_TYPE_UINT64,
      st.answers ? st.latency_sum / st.answers : (guint64) 0, NULL);
  return s;
}

static void
gst_instruct_blip_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstInstructBlip *self = GST_INSTRUCT_BLIP (object);
  const char *s;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL_PATH:
      if (!model_props_locked (self, pspec)) {
        g_free (self->model_path);
        self->model_path = g_value_dup_string (value);
      }
      break;
    case PROP_INSTRUCTION:
      s = g_value_get_string (value);
      if (valid_text (s)) {
        g_free (self->instruction);
        self->instruction = g_strdup (s);
      } else {
        GST_WARNING_OBJECT (self,
            "ignoring an empty or non-UTF-8 "
            "instruction; keeping \"%s\"",
            self->instruction);
      }
      break;
    case PROP_NUM_FRAMES:
      self->num_frames = g_value_get_uint (value);
      break;
    case PROP_INTERVAL:
      self->interval = g_value_get_uint64 (value);
      break;
    case PROP_PROCESSING_MODE:
      if (!model_props_locked (self, pspec))
        self->mode = g_value_get_enum (value);
      break;
    case PROP_MAX_PENDING:
      self->max_pending = g_value_get_uint (value);
      break;
    case PROP_DROP_POLICY:
      self->drop_policy = g_value_get_enum (value);
      break;
    case PROP_MAX_NEW_TOKENS:
    case PROP_MIN_LENGTH:
    case PROP_NUM_BEAMS:
    case PROP_TEMPERATURE:
    case PROP_TOP_K:
    case PROP_TOP_P:
    case PROP_REPETITION_PENALTY:
    case PROP_LENGTH_PENALTY:
      set_gen (self, prop_id, value);
      break;
    case PROP_SEED:
      self->seed = g_value_get_uint64 (value);
      break;
    case PROP_CANDIDATES:
      s = g_value_get_string (value);
      if (s == NULL || g_utf8_validate (s, -1, NULL)) {
        g_free (self->candidates);
        self->candidates = g_strdup (s);
      } else {
        GST_WARNING_OBJECT (self, "ignoring non-UTF-8 candidates");
      }
      break;
    case PROP_DEVICE:
      if (!model_props_locked (self, pspec)) {
        s = g_value_get_string (value);
        g_free (self->device);
        self->device = g_strdup (s && *s ? s : DEFAULT_DEVICE);
      }
      break;
    case PROP_PRECISION:
      if (!model_props_locked (self, pspec))
        self->precision = g_value_get_enum (value);
      break;
    case PROP_MODEL_INSTANCE_ID:
      if (!model_props_locked (self, pspec)) {
        s = g_value_get_string (value);
        g_free (self->instance_id);
        self->instance_id = s && *s ? g_strdup (s) : NULL;
      }
      break;
    case PROP_POST_MESSAGES:
      self->post_messages = g_value_get_boolean (value);
      break;
    case PROP_DRAIN_TIMEOUT:
      self->drain_timeout = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_instruct_blip_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstInstructBlip *self = GST_INSTRUCT_BLIP (object);

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, stats_structure (self));
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL_PATH:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_INSTRUCTION:
      g_value_set_string (value, self->instruction);
      break;
    case PROP_NUM_FRAMES:
      g_value_set_uint (value, self->num_frames);
      break;
    case PROP_INTERVAL:
      g_value_set_uint64 (value, self->interval);
      break;
    case PROP_PROCESSING_MODE:
      g_value_set_enum (value, self->mode);
      break;
    case PROP_MAX_PENDING:
      g_value_set_uint (value, self->max_pending);
      break;
    case PROP_DROP_POLICY:
      g_value_set_enum (value, self->drop_policy);
      break;
    case PROP_MAX_NEW_TOKENS:
    case PROP_MIN_LENGTH:
    case PROP_NUM_BEAMS:
    case PROP_TEMPERATURE:
    case PROP_TOP_K:
    case PROP_TOP_P:
    case PROP_REPETITION_PENALTY:
    case PROP_LENGTH_PENALTY:
      get_gen (self, prop_id, value);
      break;
    case PROP_SEED:
      g_value_set_uint64 (value, self->seed);
      break;
    case PROP_CANDIDATES:
      g_value_set_string (value, self->candidates);
      break;
    case PROP_DEVICE:
      g_value_set_string (value, self->device);
      break;
    case PROP_DEVICE_NAME:
      g_value_set_string (value, self->device_name);
      break;
    case PROP_PRECISION:
      g_value_set_enum (value, self->precision);
      break;
    case PROP_MODEL_INSTANCE_ID:
      g_value_set_string (value, self->instance_id);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, self->post_messages);
      break;
    case PROP_DRAIN_TIMEOUT:
      g_value_set_uint64 (value, self->drain_timeout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* ---- answers out ---- */

static GstStructure *
answer_structure (const IbRequest *req)
{
  return gst_structure_new (GST_INSTRUCT_BLIP_ANSWER_NAME, "instruction",
      G_TYPE_STRING, req->instruction, "answer", G_TYPE_STRING, req->answer,
      "first-pts", G_TYPE_UINT64, req->first_pts, "last-pts", G_TYPE_UINT64,
      req->last_pts, "latency", G_TYPE_UINT64,
      (guint64) (req->answered_us - req->submitted_us) * GST_USECOND,
      "n-tokens", G_TYPE_UINT, req->n_tokens, "n-frames", G_TYPE_UINT,
      req->frames->len, "request-id", G_TYPE_UINT, req->id, "asked",
      G_TYPE_BOOLEAN, req->asked, NULL);
}

/* Where the answer's text ends (stream time): when the next answer is due,
 * plus the lag this one had (async); without a schedule (EOS), one
 * interval on. */
static GstClockTime
text_end (GstInstructBlip *self, const IbRequest *req, GstClockTime pts,
    GstClockTime rt)
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

/* Hands every answered request out: meta on @buf (if any), message,
 * signal, text from @pts. Streaming thread. */
static void
deliver (GstInstructBlip *self, GstBuffer *buf, GstClockTime pts,
    GstClockTime rt)
{
  GQueue ready;
  IbRequest *req;
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
    g_signal_emit (self, signals[SIGNAL_ANSWER], 0, req->instruction,
        req->answer, s);
    ib_text_out_push (&self->text, req->answer, pts,
        text_end (self, req, pts, rt));
    gst_structure_free (s);
    ib_request_free (req);
  }
}

/* Worker thread: an answer (or a failure) for one of our requests. */
static void
on_answered (IbRequest *req, gpointer user_data)
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
    self->stats.answers++;
    self->stats.latency_last = latency;
    self->stats.latency_max = MAX (self->stats.latency_max, latency);
    self->stats.latency_sum += latency;
    g_queue_push_tail (&self->outbox, g_steal_pointer (&req));
  }
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  ib_request_free (req);
}

/* ---- questions in ---- */

static void
submit (GstInstructBlip *self, IbRequest *req)
{
  IbRequest *dropped;
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
  dropped = ib_worker_submit (self->worker, req, max_pending, drop_oldest);
  if (dropped) {
    GST_DEBUG_OBJECT (self, "queue full: dropped question %u", dropped->id);
    g_mutex_lock (&self->lock);
    self->in_flight--;
    self->stats.dropped++;
    g_mutex_unlock (&self->lock);
    ib_request_free (dropped);
  }
}

/* A request for @frames (transfer full): @w's question, or the current
 * instruction for the scheduled window. */
static IbRequest *
make_request (GstInstructBlip *self, IbWindow *w, GPtrArray *frames,
    GstClockTime next_rt)
{
  IbRequest *req = ib_request_new ();
  IbFrame *first = g_ptr_array_index (frames, 0);
  IbFrame *last = g_ptr_array_index (frames, frames->len - 1);

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
  req->candidates = parse_candidates (self->candidates);
  effective_params (self, &req->params);
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

static IbFrame *
copy_frame (GstInstructBlip *self, GstBuffer *buf, GstClockTime rt)
{
  GstVideoFrame vframe;
  IbFrame *frame;

  if (!gst_video_frame_map (&vframe, &self->info, buf, GST_MAP_READ)) {
    GST_WARNING_OBJECT (self, "could not map a sampled frame; skipping it");
    return NULL;
  }
  frame = ib_frame_new (&vframe, self->converter, rt);
  gst_video_frame_unmap (&vframe);
  return frame;
}

/* Blocking mode: waits until every question of ours is answered. FALSE
 * when a flush or a state change interrupted the wait. */
static gboolean
wait_answers (GstInstructBlip *self, gint64 deadline)
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

/* Takes the frame at running time @rt for every window that wants it, and
 * asks about each window it completes. */
static void
sample (GstInstructBlip *self, GstBuffer *buf, GstClockTime rt)
{
  IbFrame *frame = NULL;
  GstClockTime interval;
  guint n_frames, i;
  IbWindow *w;
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

  sched = ib_window_wants (self->window, rt, n_frames, interval);
  for (i = 0; i < self->asks->len; i++)
    if (ib_window_wants (g_ptr_array_index (self->asks, i), rt, n_frames,
            interval))
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

  if (sched && ib_window_add (self->window, ib_frame_ref (frame), n_frames)) {
    frames = ib_window_take (self->window, interval);
    submit (self,
        make_request (self, self->window, frames,
            ib_window_last_target (self->window, n_frames, interval)));
  }
  for (i = 0; i < self->asks->len;) {
    w = g_ptr_array_index (self->asks, i);
    /* wants() again: true only where the frame is this window's sample */
    if (ib_window_wants (w, rt, n_frames, interval) &&
        ib_window_add (w, ib_frame_ref (frame), n_frames)) {
      frames = ib_window_take (w, interval);
      submit (self,
          make_request (self, w, frames,
              rt + MAX (interval, FALLBACK_FRAME_DURATION)));
      g_ptr_array_remove_index (self->asks, i);
    } else {
      i++;
    }
  }
  ib_frame_unref (frame);
}

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
  return FALLBACK_FRAME_DURATION;
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
    deliver (self, buf, pts, rt);
    sample (self, buf, rt);
  } else {
    sample (self, buf, rt);
    if (!wait_answers (self, -1))
      return GST_FLOW_FLUSHING;
    deliver (self, buf, pts, rt);
    if (self->live)
      update_latency (self);
  }
  if (GST_CLOCK_TIME_IS_VALID (pts)) {
    self->last_end_pts = pts + dur;
    self->last_end_rt = GST_CLOCK_TIME_IS_VALID (rt) ? rt + dur : rt;
    ib_text_out_fill (&self->text, pts, pts + dur);
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
  self->converter = ib_frame_converter_new (&info);
  if (self->converter == NULL &&
      !ib_frame_format_is_packed (GST_VIDEO_INFO_FORMAT (&info), NULL)) {
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

  ib_window_reset (self->window);
  for (i = 0; i < self->asks->len; i++)
    ib_window_reset (g_ptr_array_index (self->asks, i));
  self->counted_rt = 0;
}

static void
clear_outbox (GstInstructBlip *self)
{
  /* under lock */
  g_queue_clear_full (&self->outbox, (GDestroyNotify) ib_request_free);
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
    n = ib_worker_cancel (self->worker, self, FALSE);
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
  clear_outbox (self);
  g_mutex_unlock (&self->lock);
  reset_windows (self);
}

/* EOS: ask about partial windows (their last frame repeated), wait up to
 * drain-timeout for every answer, and hand them out (no buffer is left to
 * carry a meta). */
static void
drain (GstInstructBlip *self)
{
  GstClockTime interval, timeout;
  guint n_frames, i, n = 0;
  IbWindow *w;
  gint64 deadline;
  gboolean done;

  if (self->worker == NULL)
    return;
  GST_OBJECT_LOCK (self);
  interval = self->interval;
  n_frames = self->num_frames;
  timeout = self->drain_timeout;
  GST_OBJECT_UNLOCK (self);

  if (self->window->frames->len > 0) {
    ib_window_pad (self->window, n_frames);
    submit (self,
        make_request (self, self->window,
            ib_window_take (self->window, interval), GST_CLOCK_TIME_NONE));
  }
  for (i = 0; i < self->asks->len; i++) {
    w = g_ptr_array_index (self->asks, i);
    if (ib_window_pad (w, n_frames))
      submit (self,
          make_request (self, w, ib_window_take (w, interval),
              GST_CLOCK_TIME_NONE));
  }
  g_ptr_array_set_size (self->asks, 0);

  deadline = g_get_monotonic_time () + (gint64) (timeout / GST_USECOND);
  wait_answers (self, deadline);
  g_mutex_lock (&self->lock);
  done = self->in_flight == 0 || self->flushing;
  g_mutex_unlock (&self->lock);
  if (!done) {
    n = ib_worker_cancel (self->worker, self, FALSE);
    g_mutex_lock (&self->lock);
    self->in_flight -= n;
    self->stats.cancelled += n;
    g_mutex_unlock (&self->lock);
    GST_ELEMENT_WARNING (self, STREAM, FAILED,
        ("Questions were still "
         "unanswered %" GST_TIME_FORMAT " after EOS (drain-timeout); "
         "%u were dropped",
            GST_TIME_ARGS (timeout), n),
        (NULL));
  }
  deliver (self, NULL, self->last_end_pts, self->last_end_rt);
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
      ib_text_out_start (&self->text, GST_ELEMENT (self), event);
      break;
    case GST_EVENT_SEGMENT:
      gst_event_parse_segment (event, &segment);
      ib_text_out_segment (&self->text, GST_ELEMENT (self), segment);
      break;
    case GST_EVENT_GAP:
      gst_event_parse_gap (event, &ts, &dur);
      if (GST_CLOCK_TIME_IS_VALID (dur))
        ib_text_out_fill (&self->text, ts, ts + dur);
      break;
    case GST_EVENT_FLUSH_START:
      flush_start (self);
      ib_text_out_flush (&self->text, gst_event_new_flush_start ());
      break;
    case GST_EVENT_FLUSH_STOP:
      flush_stop (self);
      ib_text_out_flush (&self->text, gst_event_new_flush_stop (TRUE));
      break;
    case GST_EVENT_EOS:
      drain (self);
      ib_text_out_eos (&self->text, GST_ELEMENT (self));
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
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

/* ---- the "ask" action signal ---- */

static guint
gst_instruct_blip_ask (GstInstructBlip *self, const gchar *instruction)
{
  guint id;

  if (!valid_text (instruction)) {
    GST_WARNING_OBJECT (self, "ask: the instruction is empty or not UTF-8");
    return 0;
  }
  g_mutex_lock (&self->lock);
  id = ++self->next_id;
  g_queue_push_tail (&self->new_asks, ib_window_new (instruction, id));
  g_mutex_unlock (&self->lock);
  GST_DEBUG_OBJECT (self, "ask %u: \"%s\"", id, instruction);
  return id;
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
  const char *domain = g_quark_to_string (err->domain);

  if (err->domain == GST_RESOURCE_ERROR)
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", err->message), (NULL));
  else if ((err->domain == IB_ERROR && err->code == IB_ERROR_NO_DEVICE) ||
      g_str_equal (domain, "ib-cl-error-quark"))
    GST_ELEMENT_ERROR (self, LIBRARY, INIT,
        ("Could not use the OpenCL "
         "device \"%s\" (property device): %s",
            device, err->message),
        ("model-path: %s", dir));
  else if (err->domain == IB_ERROR && err->code == IB_ERROR_IO)
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("Could not load the model "
         "in %s (property model-path): %s",
            dir, err->message),
        (NULL));
  else if (err->domain == IB_ERROR && err->code == IB_ERROR_NO_MEMORY)
    GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
        ("Not enough memory for "
         "the model in %s: %s",
            dir, err->message),
        (NULL));
  else
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not load the model "
         "in %s (property model-path): %s",
            dir, err->message),
        (NULL));
}

static gboolean
gst_instruct_blip_start (GstBaseTransform *trans)
{
  GstInstructBlip *self = GST_INSTRUCT_BLIP (trans);
  IbGenerateParams gp;
  IbModelParams mp;
  IbWorker *worker = NULL;
  GError *err = NULL;
  char *dir, *device, *id, *text;
  guint n_frames;
  gboolean ok = FALSE;

  GST_OBJECT_LOCK (self);
  dir = g_strdup (self->model_path ? self->model_path : IB_DEFAULT_MODEL_DIR);
  device = g_strdup (self->device);
  id = g_strdup (self->instance_id);
  n_frames = self->num_frames;
  ib_model_params_init (&mp);
  mp.precision = self->precision == GST_INSTRUCT_BLIP_PRECISION_FP16 ?
      IB_PRECISION_F16 :
      IB_PRECISION_F32;
  GST_OBJECT_UNLOCK (self);
  mp.device = device;

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    if (self->model_path)
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("The model directory %s "
           "does not exist (property model-path)",
              dir),
          (NULL));
    else
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("No model-path is set "
           "and the default model is not at %s; set model-path to a "
           "checkpoint directory",
              dir),
          (NULL));
    goto out;
  }

  text = g_strdup_printf ("Loading the model in %s", dir);
  post_progress (self, GST_PROGRESS_TYPE_START, text);
  g_free (text);
  worker = ib_worker_acquire (id, dir, &mp, &err);
  if (worker == NULL) {
    post_progress (self, GST_PROGRESS_TYPE_ERROR, err->message);
    post_load_error (self, dir, device, err);
    goto out;
  }
  ib_generate_params_init_for_model (&gp, ib_worker_get_model (worker));
  GST_OBJECT_LOCK (self);
  self->gen_base = gp;
  effective_params (self, &gp);
  g_free (self->device_name);
  self->device_name =
      g_strdup (ib_model_get_device_name (ib_worker_get_model (worker)));
  GST_OBJECT_UNLOCK (self);
  if (!ib_worker_reserve (worker, n_frames, gp.max_new_tokens, gp.num_beams,
          &err)) {
    post_progress (self, GST_PROGRESS_TYPE_ERROR, err->message);
    post_load_error (self, dir, device, err);
    goto out;
  }
  post_progress (self, GST_PROGRESS_TYPE_COMPLETE, "Model loaded");
  GST_INFO_OBJECT (self, "model %s on %s", dir, self->device_name);

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
  ib_worker_release (worker);
  g_clear_error (&err);
  g_free (dir);
  g_free (device);
  g_free (id);
  return ok;
}

static gboolean
gst_instruct_blip_stop (GstBaseTransform *trans)
{
  GstInstructBlip *self = GST_INSTRUCT_BLIP (trans);
  IbWorker *worker;

  g_mutex_lock (&self->lock);
  self->flushing = TRUE;
  g_cond_broadcast (&self->cond);
  worker = self->worker;
  g_mutex_unlock (&self->lock);

  /* our waiting questions go, the one being answered finishes first: it
   * uses our request and calls back into us */
  if (worker)
    ib_worker_cancel (worker, self, TRUE);

  g_mutex_lock (&self->lock);
  self->worker = NULL;
  self->in_flight = 0;
  clear_outbox (self);
  g_queue_clear_full (&self->new_asks, (GDestroyNotify) ib_window_free);
  g_mutex_unlock (&self->lock);
  ib_worker_release (worker);

  reset_windows (self);
  g_ptr_array_set_size (self->asks, 0);
  if (self->converter)
    gst_video_converter_free (self->converter);
  self->converter = NULL;
  ib_text_out_reset (&self->text);
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

  g_free (self->model_path);
  g_free (self->instruction);
  g_free (self->candidates);
  g_free (self->device);
  g_free (self->instance_id);
  g_free (self->device_name);
  ib_window_free (self->window);
  g_ptr_array_unref (self->asks);
  g_queue_clear_full (&self->new_asks, (GDestroyNotify) ib_window_free);
  g_queue_clear_full (&self->outbox, (GDestroyNotify) ib_request_free);
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
  gst_element_add_pad (GST_ELEMENT (self), self->text_pad);
  ib_text_out_init (&self->text, self->text_pad);

  self->instruction = g_strdup (DEFAULT_INSTRUCTION);
  self->device = g_strdup (DEFAULT_DEVICE);
  self->num_frames = DEFAULT_NUM_FRAMES;
  self->interval = DEFAULT_INTERVAL;
  self->mode = DEFAULT_MODE;
  self->max_pending = DEFAULT_MAX_PENDING;
  self->drop_policy = DEFAULT_DROP_POLICY;
  self->precision = DEFAULT_PRECISION;
  self->post_messages = DEFAULT_POST_MESSAGES;
  self->drain_timeout = DEFAULT_DRAIN_TIMEOUT;
  self->seed = DEFAULT_SEED;
  ib_generate_params_init (&self->gen_base);
  self->gen_user = self->gen_base;

  gst_video_info_init (&self->info);
  self->window = ib_window_new (NULL, 0);
  self->asks = g_ptr_array_new_with_free_func ((GDestroyNotify) ib_window_free);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->outbox);
  g_queue_init (&self->new_asks);
  self->last_end_pts = self->last_end_rt = GST_CLOCK_TIME_NONE;
}

#define RW (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)
#define RW_READY (RW | GST_PARAM_MUTABLE_READY)
#define RW_PLAYING (RW | GST_PARAM_MUTABLE_PLAYING)

static void
install_properties (GObjectClass *oc)
{
  /**
   * GstInstructBlip:model-path:
   *
   * A Hugging Face InstructBLIP checkpoint directory as downloaded. Unset:
   * the project's default model (see docs/element.md).
   */
  g_object_class_install_property (oc, PROP_MODEL_PATH,
      g_param_spec_string ("model-path", "Model path",
          "InstructBLIP checkpoint directory as downloaded from Hugging Face "
          "(config.json, *.safetensors, tokenizer.json, qformer_tokenizer/, "
          "preprocessor_config.json). NULL: the default model "
          "at " IB_DEFAULT_MODEL_DIR " (a tiny test model whose answers are "
          "noise). Read when the element starts",
          NULL, RW_READY));
  g_object_class_install_property (oc, PROP_INSTRUCTION,
      g_param_spec_string ("instruction", "Instruction",
          "The question or instruction about the video. May change while "
          "PLAYING: the next question uses it; every answer carries the "
          "instruction it answers. Empty values are ignored",
          DEFAULT_INSTRUCTION, RW_PLAYING));
  g_object_class_install_property (oc, PROP_NUM_FRAMES,
      g_param_spec_uint ("num-frames", "Frames per question",
          "Frames each question is about, spread uniformly over interval "
          "(4 for video question answering, 1 for a single image). Changes "
          "apply from the next frame taken",
          1, 32, DEFAULT_NUM_FRAMES, RW_PLAYING));
  g_object_class_install_property (oc, PROP_INTERVAL,
      g_param_spec_uint64 ("interval", "Interval",
          "Running time between questions, in nanoseconds; the frames of a "
          "question are the first at or after start + k * interval / "
          "num-frames. Based on timestamps, not on the caps framerate. 0: "
          "consecutive frames, a question every num-frames frames",
          0, G_MAXUINT64, DEFAULT_INTERVAL, RW_PLAYING));
  g_object_class_install_property (oc, PROP_PROCESSING_MODE,
      g_param_spec_enum ("processing-mode", "Processing mode",
          "blocking: the streaming thread waits for each answer, which rides "
          "on the last frame it is about (deterministic; files, tests). "
          "async: answers are computed on the model's worker thread while "
          "video flows and ride on the first buffer after they are ready. "
          "auto: async for live sources, blocking otherwise",
          GST_TYPE_INSTRUCT_BLIP_PROCESSING_MODE, DEFAULT_MODE, RW_READY));
  g_object_class_install_property (oc, PROP_MAX_PENDING,
      g_param_spec_uint ("max-pending", "Max pending",
          "Async mode: questions of this element that may wait for the "
          "worker (the one being answered not counted); beyond that, "
          "drop-policy decides which question is dropped",
          1, 1000, DEFAULT_MAX_PENDING, RW_PLAYING));
  g_object_class_install_property (oc, PROP_DROP_POLICY,
      g_param_spec_enum ("drop-policy", "Drop policy",
          "Async mode, queue full: drop the oldest waiting question (fresh "
          "answers) or the new one",
          GST_TYPE_INSTRUCT_BLIP_DROP_POLICY, DEFAULT_DROP_POLICY, RW_PLAYING));

  g_object_class_install_property (oc, PROP_MAX_NEW_TOKENS,
      g_param_spec_uint ("max-new-tokens", "Max new tokens",
          "Longest answer in tokens. Unset: generation_config.json of the "
          "model, else 30",
          1, 1024, 30, RW_PLAYING));
  g_object_class_install_property (oc, PROP_MIN_LENGTH,
      g_param_spec_uint ("min-length", "Min length",
          "Shortest answer in generated tokens (end of sequence is "
          "suppressed before)",
          0, 1024, 0, RW_PLAYING));
  g_object_class_install_property (oc, PROP_NUM_BEAMS,
      g_param_spec_uint ("num-beams", "Beams",
          "Beam search width; 1: greedy decoding or sampling. Unset: "
          "generation_config.json, else 1",
          1, 16, 1, RW_PLAYING));
  g_object_class_install_property (oc, PROP_TEMPERATURE,
      g_param_spec_double ("temperature", "Temperature",
          "0: no sampling (greedy or beam search); > 0: sample with this "
          "temperature (with top-k, top-p, seed). Unset: "
          "generation_config.json (do_sample, temperature), else 0",
          0.0, 100.0, 0.0, RW_PLAYING));
  g_object_class_install_property (oc, PROP_TOP_K,
      g_param_spec_uint ("top-k", "Top k",
          "Sampling: keep the k most likely tokens; 0: off. Unset: "
          "generation_config.json, else 50",
          0, G_MAXINT, 50, RW_PLAYING));
  g_object_class_install_property (oc, PROP_TOP_P,
      g_param_spec_double ("top-p", "Top p",
          "Sampling: keep the most likely tokens up to this probability "
          "mass; 1: off. Unset: generation_config.json, else 1",
          0.0, 1.0, 1.0, RW_PLAYING));
  g_object_class_install_property (oc, PROP_REPETITION_PENALTY,
      g_param_spec_double ("repetition-penalty", "Repetition penalty",
          "Divides the scores of tokens already in the sequence (CTRL "
          "penalty); 1: none. Unset: generation_config.json, else 1",
          0.01, 100.0, 1.0, RW_PLAYING));
  g_object_class_install_property (oc, PROP_LENGTH_PENALTY,
      g_param_spec_double ("length-penalty", "Length penalty",
          "Beam search: scores are divided by length^p; > 0 favours longer "
          "answers, < 0 shorter. Unset: generation_config.json, else 1",
          -100.0, 100.0, 1.0, RW_PLAYING));
  g_object_class_install_property (oc, PROP_SEED,
      g_param_spec_uint64 ("seed", "Seed",
          "Sampling random seed: the same seed, frames and settings give "
          "the same answer",
          0, G_MAXUINT64, DEFAULT_SEED, RW_PLAYING));
  g_object_class_install_property (oc, PROP_CANDIDATES,
      g_param_spec_string ("candidates", "Candidates",
          "Answer list separated by '|' (e.g. \"yes|no\"): the answer is the "
          "candidate the model finds most likely (ranking, n-tokens 0) "
          "instead of free text. NULL or empty: free generation",
          NULL, RW_PLAYING));

  g_object_class_install_property (oc, PROP_DEVICE,
      g_param_spec_string ("device", "Device",
          "OpenCL device: auto (first GPU, else CPU), gpu, cpu, "
          "PLATFORM:DEVICE or DEVICE index (as clinfo -l lists them), or part "
          "of a device name",
          DEFAULT_DEVICE, RW_READY));
  g_object_class_install_property (oc, PROP_DEVICE_NAME,
      g_param_spec_string ("device-name", "Device name",
          "The OpenCL device the model runs on (known once started)", NULL,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (oc, PROP_PRECISION,
      g_param_spec_enum ("precision", "Precision",
          "How weights are stored on the device",
          GST_TYPE_INSTRUCT_BLIP_PRECISION, DEFAULT_PRECISION, RW_READY));
  g_object_class_install_property (oc, PROP_MODEL_INSTANCE_ID,
      g_param_spec_string ("model-instance-id", "Model instance id",
          "Elements with the same id in one process share one loaded model "
          "and one worker thread (their model-path, device and precision "
          "must agree). NULL: a model of this element's own",
          NULL, RW_READY));
  g_object_class_install_property (oc, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post an \"instructblip-answer\" element message per answer",
          DEFAULT_POST_MESSAGES, RW_PLAYING));
  g_object_class_install_property (oc, PROP_DRAIN_TIMEOUT,
      g_param_spec_uint64 ("drain-timeout", "Drain timeout",
          "At EOS, how long to wait for pending answers (ns) before "
          "dropping them with a warning; answers still go out as messages, "
          "signals and text",
          0, G_MAXUINT64, DEFAULT_DRAIN_TIMEOUT, RW_PLAYING));
  g_object_class_install_property (oc, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "instructblip-stats: frames, frames-sampled, questions, answers, "
          "dropped, cancelled (flushes), failed (guint64); pending, waiting "
          "(guint); busy, async (gboolean); latency-last, latency-max, "
          "latency-mean (guint64 ns)",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
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
  install_properties (oc);

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
  signals[SIGNAL_ANSWER] = g_signal_new ("answer", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING,
      G_TYPE_STRING, GST_TYPE_STRUCTURE | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * GstInstructBlip::ask:
   * @element: the element
   * @instruction: a one-off question
   *
   * Asks @instruction about the next num-frames frames (spread over
   * interval from the next frame on), outside the schedule. Returns the
   * request-id its answer will carry, or 0 if @instruction is empty.
   */
  signals[SIGNAL_ASK] = g_signal_new_class_handler ("ask",
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
  tc->query = GST_DEBUG_FUNCPTR (gst_instruct_blip_query);

  gst_type_mark_as_plugin_api (GST_TYPE_INSTRUCT_BLIP_PROCESSING_MODE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_INSTRUCT_BLIP_DROP_POLICY, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_INSTRUCT_BLIP_PRECISION, 0);
}
