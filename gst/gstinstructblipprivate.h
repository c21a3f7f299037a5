/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The instructblip element's instance and the functions its source files
 * share: properties (gstinstructblipprops.c), questions and answers
 * (gstinstructblipqa.c), streaming and lifecycle (gstinstructblip.c). */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include "gstinstructblip.h"
#include "gstinstructblipenums.h"
#include "gstinstructbliptext.h"
#include "ibframe.h"
#include "ibwindow.h"
#include "ibworker.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (gst_instruct_blip_debug);

/* frame duration when neither the buffer nor the caps say */
#define GST_INSTRUCTBLIP_FALLBACK_FRAME_DURATION (40 * GST_MSECOND)

enum
{
  SIGNAL_ANSWER,
  SIGNAL_ASK,
  N_SIGNALS,
};

extern guint gst_instruct_blip_signals[N_SIGNALS];

typedef struct
{
  guint64 frames, sampled, questions, answers, dropped, cancelled, failed;
  guint64 n_timed; /* answers in latency_sum (answered, maybe not out) */
  GstClockTime latency_last, latency_max, latency_sum;
} Stats;

struct _GstInstructBlip
{
  GstBaseTransform parent;

  GstPad *text_pad;
  GstInstructBlipTextOut text; /* streaming thread */
  /* seqnum of the last seek sent upstream (atomic): a pipeline seek
   * reaches both src pads, and goes upstream once */
  guint seek_seqnum;

  /* properties, under the object lock */
  char *model_path, *instruction, *candidates, *device, *instance_id;
  char *device_name;
  char *weight_cache_dir; /* NULL: no packed-weights cache */
  gboolean weight_cache_map; /* IbModelParams.weight_cache_map */
  guint num_frames, max_pending;
  GstClockTime interval, drain_timeout;
  GstInstructBlipProcessingMode mode;
  GstInstructBlipDropPolicy drop_policy;
  GstInstructBlipPrecision precision;
  GstInstructBlipImageResize image_resize;
  gboolean post_messages;
  IbGenerateParams gen_base; /* transformers' defaults, then the model's */
  IbGenerateParams gen_user; /* what the user set, see gen_set */
  guint gen_set; /* GEN_BIT of each property the user set */
  guint64 seed;

  /* streaming thread only */
  GstVideoInfo info;
  GstVideoConverter *converter;
  GstInstructBlipWindow *window; /* the scheduled questions */
  GPtrArray *asks; /* GstInstructBlipWindow *: questions from "ask" */
  gboolean mode_decided, async;
  gboolean live; /* upstream is live (latency query) */
  GstClockTime counted_rt; /* running time made up for frames without
                                 * timestamps */
  GstClockTime last_end_pts, last_end_rt;
  GstClockTime latency_posted; /* blocking on a live source */

  /* shared with the worker and the application, under lock */
  GMutex lock;
  GCond cond;
  GstInstructBlipWorker *worker; /* set in start, cleared in stop */
  GQueue outbox; /* GstInstructBlipRequest *, answered, not delivered */
  GQueue new_asks; /* GstInstructBlipWindow *, from the ask signal */
  guint next_id, epoch, in_flight;
  gboolean flushing;
  Stats stats;
};

/* ---- gstinstructblipprops.c ---- */

void gst_instruct_blip_install_properties (GObjectClass *oc);
void gst_instruct_blip_init_properties (GstInstructBlip *self);
void gst_instruct_blip_free_properties (GstInstructBlip *self);
void gst_instruct_blip_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec);
void gst_instruct_blip_get_property (GObject *object, guint prop_id,
    GValue *value, GParamSpec *pspec);
/* Under the object lock: the generation settings of the next question. */
void gst_instruct_blip_effective_params (GstInstructBlip *self,
    IbGenerateParams *gp);
/* "yes | no|maybe" -> { "yes", "no", "maybe" }; NULL when there is none.
 * (transfer full) */
char **gst_instruct_blip_parse_candidates (const char *s);
/* Non-empty valid UTF-8. */
gboolean gst_instruct_blip_valid_text (const char *s);

/* ---- gstinstructblipqa.c ---- */

/* Streaming thread: takes the frame at running time @rt for every window
 * that wants it, and asks about each window it completes. */
void gst_instruct_blip_sample (GstInstructBlip *self, GstBuffer *buf,
    GstClockTime rt);
/* Waits until every question of ours is answered (@deadline: monotonic
 * time, or -1). FALSE when a flush or a state change interrupted it. */
gboolean gst_instruct_blip_wait_answers (GstInstructBlip *self,
    gint64 deadline);
/* Streaming thread: hands every answered question out: meta on @buf (if
 * any), message, signal, text from @pts. */
void gst_instruct_blip_deliver (GstInstructBlip *self, GstBuffer *buf,
    GstClockTime pts, GstClockTime rt);
/* EOS: asks about partial windows, waits up to drain-timeout, delivers. */
void gst_instruct_blip_drain (GstInstructBlip *self);
/* The "ask" action signal's handler. */
guint gst_instruct_blip_ask (GstInstructBlip *self, const gchar *instruction);
/* Under lock: drops answers not delivered yet. */
void gst_instruct_blip_clear_outbox (GstInstructBlip *self);

G_END_DECLS
