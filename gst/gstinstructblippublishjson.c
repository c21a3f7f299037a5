/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Answers to JSON (json-glib): the answer's fields, its frames' running
 * times and UTC times, and where it was seen. */
#include "gstinstructblippublishjson.h"

#include <json-glib/json-glib.h>

char *
gst_instructblip_publish_json_utc (gint64 unix_us)
{
  gint64 s = unix_us / G_USEC_PER_SEC, us = unix_us % G_USEC_PER_SEC;
  GDateTime *dt;
  char *date, *text;

  if (us < 0) {
    s--;
    us += G_USEC_PER_SEC;
  }
  dt = g_date_time_new_from_unix_utc (s);
  if (dt == NULL)
    return NULL;
  date = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S");
  text = g_strdup_printf ("%s.%06" G_GINT64_FORMAT "Z", date, us);
  g_free (date);
  g_date_time_unref (dt);
  return text;
}

static void
add_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_time (JsonBuilder *b, const char *name, GstClockTime t)
{
  json_builder_set_member_name (b, name);
  if (GST_CLOCK_TIME_IS_VALID (t))
    json_builder_add_int_value (b, (gint64) t);
  else
    json_builder_add_null_value (b);
}

static guint64
get_u64 (const GstStructure *s, const char *name, guint64 fallback)
{
  guint64 v;

  return gst_structure_get_uint64 (s, name, &v) ? v : fallback;
}

static guint
get_uint (const GstStructure *s, const char *name)
{
  guint v;

  return gst_structure_get_uint (s, name, &v) ? v : 0;
}

static GstClockTime
running_time (const GstInstructBlipPublishJsonContext *ctx, GstClockTime pts)
{
  if (ctx->segment == NULL || ctx->segment->format != GST_FORMAT_TIME ||
      !GST_CLOCK_TIME_IS_VALID (pts))
    return GST_CLOCK_TIME_NONE;
  return gst_segment_to_running_time (ctx->segment, GST_FORMAT_TIME, pts);
}

static void
add_utc (JsonBuilder *b, const char *name,
    const GstInstructBlipPublishJsonContext *ctx, GstClockTime rt)
{
  char *text = NULL;

  if (ctx->utc_valid && GST_CLOCK_TIME_IS_VALID (rt))
    text = gst_instructblip_publish_json_utc (
        (ctx->utc_at_rt0 + (gint64) rt) / 1000);
  add_string (b, name, text);
  g_free (text);
}

GBytes *
gst_instructblip_publish_json_answer (const GstStructure *answer,
    const GstInstructBlipPublishJsonContext *ctx)
{
  JsonBuilder *b = json_builder_new ();
  JsonGenerator *gen;
  JsonNode *root;
  GstClockTime first_pts, last_pts, first_rt, last_rt;
  gboolean asked = FALSE;
  char *text;
  gsize len;

  first_pts = get_u64 (answer, "first-pts", GST_CLOCK_TIME_NONE);
  last_pts = get_u64 (answer, "last-pts", GST_CLOCK_TIME_NONE);
  first_rt = running_time (ctx, first_pts);
  last_rt = running_time (ctx, last_pts);
  gst_structure_get_boolean (answer, "asked", &asked);

  json_builder_begin_object (b);
  add_string (b, "source-id", ctx->source_id);
  add_string (b, "pipeline", ctx->pipeline);
  add_string (b, "element", ctx->element);
  add_string (b, "publisher", ctx->publisher);
  add_string (b, "channel", ctx->channel);
  json_builder_set_member_name (b, "seq");
  json_builder_add_int_value (b, (gint64) ctx->seq);
  json_builder_set_member_name (b, "request-id");
  json_builder_add_int_value (b, get_uint (answer, "request-id"));
  json_builder_set_member_name (b, "asked");
  json_builder_add_boolean_value (b, asked);
  add_string (b, "instruction",
      gst_structure_get_string (answer, "instruction"));
  add_string (b, "answer", gst_structure_get_string (answer, "answer"));
  add_time (b, "first-pts", first_pts);
  add_time (b, "last-pts", last_pts);
  add_time (b, "first-running-time", first_rt);
  add_time (b, "last-running-time", last_rt);
  add_utc (b, "first-utc", ctx, first_rt);
  add_utc (b, "last-utc", ctx, last_rt);
  add_time (b, "latency", get_u64 (answer, "latency", GST_CLOCK_TIME_NONE));
  json_builder_set_member_name (b, "n-tokens");
  json_builder_add_int_value (b, get_uint (answer, "n-tokens"));
  json_builder_set_member_name (b, "n-frames");
  json_builder_add_int_value (b, get_uint (answer, "n-frames"));
  text = gst_instructblip_publish_json_utc (ctx->now_us);
  add_string (b, "published-utc", text);
  g_free (text);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  gen = json_generator_new ();
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, &len);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (b);
  return g_bytes_new_take (text, len);
}
