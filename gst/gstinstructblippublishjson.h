/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One answer as one line of JSON, with running time and wall-clock UTC. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Where an answer was seen, and how to place its frames in time. */
typedef struct
{
  const char *source_id;
  const char *pipeline; /* top-level bin's name, or NULL */
  const char *element; /* the element that answered, or NULL */
  const char *publisher; /* this element's name */
  const char *channel; /* "meta" or "bus" */
  guint64 seq; /* per publisher, from 1 */
  const GstSegment *segment; /* of the answered stream, or NULL */
  /* Unix time in ns at running time 0 (pipeline clock mapped to the system
   * real-time clock), when utc_valid */
  gint64 utc_at_rt0;
  gboolean utc_valid;
  gint64 now_us; /* g_get_real_time () when the answer was taken */
} GstInstructBlipPublishJsonContext;

/* The JSON object for @answer (an "instructblip-answer" structure), no
 * newline. (transfer full) */
GBytes *gst_instructblip_publish_json_answer (const GstStructure *answer,
    const GstInstructBlipPublishJsonContext *ctx);

/* ISO 8601 UTC with microseconds, "2026-12-07T12:51:07.123456Z", of a Unix
 * time in µs. (transfer full) */
char *gst_instructblip_publish_json_utc (gint64 unix_us);

G_END_DECLS
