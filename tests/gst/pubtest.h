/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers of the instructblippublish tests: buffers carrying answers, the
 * element's stats, and the JSON it wrote. */
#pragma once

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* An "instructblip-answer" structure, as the instructblip element makes
 * them. (transfer full) */
GstStructure *pubt_answer (guint id, const char *instruction,
    const char *answer, GstClockTime first_pts, GstClockTime last_pts,
    GstClockTime latency);

/* A buffer with PTS @pts carrying @answers (NULL-terminated) as
 * InstructBlipAnswerMeta. (transfer full) */
GstBuffer *pubt_buffer (GstClockTime pts, const GstStructure *answer, ...);

/* A harness around "instructblippublish @props", started with caps
 * video/x-raw. */
GstHarness *pubt_harness (const char *props);

/* Pushes @n buffers with one answer each (request ids @first_id, ...). */
void pubt_push_answers (GstHarness *h, guint first_id, guint n);

/* A stats field (guint64, guint or gboolean, as guint64). */
guint64 pubt_stat (GstElement *e, const char *field);
/* Polls until stats @field reaches @value; fails after @timeout_s. */
void pubt_wait_stat (GstElement *e, const char *field, guint64 value,
    guint timeout_s);
/* answers == delivered + failed + dropped, and nothing queued or in flight
 * (after stop). */
void pubt_check_accounted (GstElement *e);

/* The JSON objects of a JSON-lines file, in order. (transfer full) */
GPtrArray *pubt_read_lines (const char *path);
/* @text parsed. (transfer full) */
JsonObject *pubt_parse (const char *text, gsize len);
/* Fails unless @o carries every field of @answer. */
void pubt_check_fields (JsonObject *o, const GstStructure *answer);
/* @o's member @name as an integer; -1 for null. */
gint64 pubt_int (JsonObject *o, const char *name);
/* An ISO 8601 UTC member as Unix µs; fails if absent or malformed. */
gint64 pubt_utc_us (JsonObject *o, const char *name);

G_END_DECLS
