/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the gst suite: frames, a harnessed element, answer
 * collection on all four channels, and engine references. */
#pragma once

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "instructblip.h"

G_BEGIN_DECLS

#define IBT_FPS 30
#define IBT_FRAME_DUR (GST_SECOND / IBT_FPS)

/* tests/data/parity/@name. (transfer full) */
char *ibt_model_dir (const char *name);

/* Frame @i of the test video: packed RGB [h, w * 3], different per i.
 * (transfer full) */
guint8 *ibt_rgb_pixels (int w, int h, int i);

/* Frame @i in @format with PTS i / 30 s, duration 1 / 30 s. */
GstBuffer *ibt_frame (GstVideoFormat format, int w, int h, int i);

/* The caps of ibt_frame(). (transfer full) */
GstCaps *ibt_caps (GstVideoFormat format, int w, int h);

/* What the element hands the engine for ibt_frame (): packed RGB, through
 * GstVideoConverter for other formats. (transfer full) */
guint8 *ibt_engine_rgb (GstVideoFormat format, int w, int h, int i,
    int *stride);

/* Answers collected from the element. */
typedef struct
{
  GMutex lock;
  GstBus *bus;
  GPtrArray *messages; /* GstStructure *: instructblip-answer */
  GPtrArray *signals; /* GstStructure *: the signal's info */
  GPtrArray *texts; /* GstBuffer *: from text_src */
  GPtrArray *text_events; /* GstEvent *: from text_src */
  GPtrArray *bus_log; /* GstMessage *: everything else */
  GstPad *text_sink;
} IbtCollector;

/* An element from "instructblip @props" (model-path defaults to the
 * vicuna-tiny fixture) whose bus, signal and text pad feed @c. */
GstElement *ibt_element (const char *props, IbtCollector *c);

/* A harness around ibt_element () started with caps for @format. Not live
 * unless @live. */
GstHarness *ibt_harness (const char *props, IbtCollector *c,
    GstVideoFormat format, int w, int h, gboolean live);

void ibt_collector_init (IbtCollector *c);
void ibt_collector_clear (IbtCollector *c);
guint ibt_n_messages (IbtCollector *c);
/* The @i-th answer message (a copy). (transfer full) */
GstStructure *ibt_message (IbtCollector *c, guint i);
/* The first bus message of @type, or NULL. (transfer full) */
GstMessage *ibt_find_message (IbtCollector *c, GstMessageType type);

/* Every worker the element creates after this call sleeps @ms before each
 * question (the plugin's private test hook, gst/ibworker-private.h). */
void ibt_set_worker_delay (guint ms);

/* Models the plugin's registry holds for elements without a
 * model-instance-id. */
guint ibt_n_shared_models (void);
/* The most questions the plugin's shared models answered in one batched
 * step. */
int ibt_max_batched (void);

/* The element's stats structure field. */
guint64 ibt_stat (GstElement *e, const char *field);
/* Polls until stats @field reaches @value (fails after 20 s). */
void ibt_wait_stat (GstElement *e, const char *field, guint64 value);

/* The engine's answer for frames @first .. @first + @n - 1 of the test
 * video in @format, asked with the element's default settings for @dir
 * (generation_config.json) plus @max_new_tokens when > 0. */
char *ibt_reference (const char *dir, GstVideoFormat format, int w, int h,
    const int *frame_ids, int n, const char *instruction, int max_new_tokens,
    guint *n_tokens);

/* The answer metas on @buf, in order. (transfer full, of copies) */
GPtrArray *ibt_metas (GstBuffer *buf);

G_END_DECLS
