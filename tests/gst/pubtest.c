/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers of the instructblippublish tests. */
#include "pubtest.h"

#define META_NAME "InstructBlipAnswerMeta"

GstStructure *
pubt_answer (guint id, const char *instruction, const char *answer,
    GstClockTime first_pts, GstClockTime last_pts, GstClockTime latency)
{
  return gst_structure_new ("instructblip-answer", "instruction", G_TYPE_STRING,
      instruction, "answer", G_TYPE_STRING, answer, "first-pts", G_TYPE_UINT64,
      first_pts, "last-pts", G_TYPE_UINT64, last_pts, "latency", G_TYPE_UINT64,
      latency, "n-tokens", G_TYPE_UINT, id % 7 + 1, "n-frames", G_TYPE_UINT,
      id % 4 + 1, "request-id", G_TYPE_UINT, id, "asked", G_TYPE_BOOLEAN,
      id % 2 == 0, NULL);
}

static gboolean
copy_field (GQuark field, const GValue *value, gpointer user_data)
{
  gst_structure_id_set_value (user_data, field, value);
  return TRUE;
}

GstBuffer *
pubt_buffer (GstClockTime pts, const GstStructure *answer, ...)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, 16, NULL);
  GstCustomMeta *meta;
  va_list args;

  gst_buffer_memset (buf, 0, 0x5a, 16);
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  va_start (args, answer);
  for (; answer; answer = va_arg (args, const GstStructure *)) {
    meta = gst_buffer_add_custom_meta (buf, META_NAME);
    fail_unless (meta != NULL, "the plugin registers " META_NAME);
    gst_structure_foreach (answer, copy_field,
        gst_custom_meta_get_structure (meta));
  }
  va_end (args);
  return buf;
}

GstHarness *
pubt_harness (const char *props)
{
  char *desc = g_strdup_printf ("instructblippublish %s", props);
  GstElement *e = gst_parse_launch (desc, NULL);
  GstHarness *h;

  fail_unless (e != NULL, "%s", desc);
  h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  g_free (desc);
  gst_harness_set_src_caps_str (h, "video/x-raw");
  return h;
}

void
pubt_push_answers (GstHarness *h, guint first_id, guint n)
{
  GstStructure *s;
  guint i;

  for (i = 0; i < n; i++) {
    s = pubt_answer (first_id + i, "What is there?", "a cat",
        (first_id + i) * GST_SECOND, (first_id + i) * GST_SECOND + 1,
        GST_MSECOND);
    fail_unless_equals_int (gst_harness_push (h,
                                pubt_buffer ((first_id + i) * GST_SECOND, s,
                                    NULL)),
        GST_FLOW_OK);
    gst_structure_free (s);
    gst_buffer_unref (gst_harness_pull (h));
  }
}

guint64
pubt_stat (GstElement *e, const char *field)
{
  GstStructure *s = NULL;
  const GValue *v;
  guint64 r = 0;

  g_object_get (e, "stats", &s, NULL);
  v = gst_structure_get_value (s, field);
  fail_unless (v != NULL, "stats has no %s", field);
  if (G_VALUE_HOLDS_UINT64 (v))
    r = g_value_get_uint64 (v);
  else if (G_VALUE_HOLDS_UINT (v))
    r = g_value_get_uint (v);
  else if (G_VALUE_HOLDS_BOOLEAN (v))
    r = g_value_get_boolean (v);
  else
    fail ("stats field %s has type %s", field, G_VALUE_TYPE_NAME (v));
  gst_structure_free (s);
  return r;
}

void
pubt_wait_stat (GstElement *e, const char *field, guint64 value,
    guint timeout_s)
{
  gint64 end = g_get_monotonic_time () + timeout_s * G_TIME_SPAN_SECOND;

  while (pubt_stat (e, field) != value) {
    fail_unless (g_get_monotonic_time () < end,
        "stats %s is %" G_GUINT64_FORMAT ", not %" G_GUINT64_FORMAT
        " after %u s",
        field, pubt_stat (e, field), value, timeout_s);
    g_usleep (10 * 1000);
  }
}

void
pubt_check_accounted (GstElement *e)
{
  fail_unless_equals_uint64 (pubt_stat (e, "answers"),
      pubt_stat (e, "delivered") + pubt_stat (e, "failed") +
          pubt_stat (e, "dropped"));
  fail_unless_equals_uint64 (pubt_stat (e, "queued"), 0);
  fail_unless_equals_uint64 (pubt_stat (e, "in-flight"), 0);
}

JsonObject *
pubt_parse (const char *text, gsize len)
{
  JsonParser *p = json_parser_new ();
  GError *err = NULL;
  JsonObject *o;

  fail_unless (json_parser_load_from_data (p, text, (gssize) len, &err),
      "bad JSON %.*s: %s", (int) len, text, err ? err->message : "");
  fail_unless (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)));
  o = json_object_ref (json_node_get_object (json_parser_get_root (p)));
  g_object_unref (p);
  return o;
}

GPtrArray *
pubt_read_lines (const char *path)
{
  GPtrArray *a =
      g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  char *text = NULL, **lines;
  guint i;

  fail_unless (g_file_get_contents (path, &text, NULL, NULL), "%s", path);
  fail_unless (*text == '\0' || g_str_has_suffix (text, "\n"),
      "%s: last line unterminated", path);
  lines = g_strsplit (text, "\n", -1);
  for (i = 0; lines[i]; i++)
    if (*lines[i])
      g_ptr_array_add (a, pubt_parse (lines[i], strlen (lines[i])));
  g_strfreev (lines);
  g_free (text);
  return a;
}

gint64
pubt_int (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  fail_unless (n != NULL, "no member %s", name);
  if (JSON_NODE_HOLDS_NULL (n))
    return -1;
  fail_unless (json_node_get_value_type (n) == G_TYPE_INT64, "%s", name);
  return json_node_get_int (n);
}

gint64
pubt_utc_us (JsonObject *o, const char *name)
{
  const char *text = json_object_get_string_member (o, name);
  GDateTime *dt;
  gint64 us;

  fail_unless (text != NULL, "no %s", name);
  fail_unless (g_str_has_suffix (text, "Z") && strlen (text) == 27,
      "%s: %s is not YYYY-MM-DDTHH:MM:SS.uuuuuuZ", name, text);
  dt = g_date_time_new_from_iso8601 (text, NULL);
  fail_unless (dt != NULL, "%s: %s", name, text);
  us = g_date_time_to_unix (dt) * G_USEC_PER_SEC +
      g_date_time_get_microsecond (dt);
  g_date_time_unref (dt);
  return us;
}

void
pubt_check_fields (JsonObject *o, const GstStructure *answer)
{
  guint id, n_tokens, n_frames;
  guint64 fpts, lpts, latency;
  gboolean asked;

  fail_unless (gst_structure_get (answer, "request-id", G_TYPE_UINT, &id,
      "n-tokens", G_TYPE_UINT, &n_tokens, "n-frames", G_TYPE_UINT, &n_frames,
      "first-pts", G_TYPE_UINT64, &fpts, "last-pts", G_TYPE_UINT64, &lpts,
      "latency", G_TYPE_UINT64, &latency, "asked", G_TYPE_BOOLEAN, &asked,
      NULL));
  fail_unless_equals_string (json_object_get_string_member (o, "instruction"),
      gst_structure_get_string (answer, "instruction"));
  fail_unless_equals_string (json_object_get_string_member (o, "answer"),
      gst_structure_get_string (answer, "answer"));
  fail_unless_equals_int64 (pubt_int (o, "request-id"), id);
  fail_unless_equals_int64 (pubt_int (o, "n-tokens"), n_tokens);
  fail_unless_equals_int64 (pubt_int (o, "n-frames"), n_frames);
  fail_unless_equals_int64 (pubt_int (o, "first-pts"), (gint64) fpts);
  fail_unless_equals_int64 (pubt_int (o, "last-pts"), (gint64) lpts);
  fail_unless_equals_int64 (pubt_int (o, "latency"), (gint64) latency);
  fail_unless_equals_int (json_object_get_boolean_member (o, "asked"), asked);
}
