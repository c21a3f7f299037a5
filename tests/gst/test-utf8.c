/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Non-Latin instructions (French with accents, Chinese, emoji) through the
 * element, on tiny checkpoints with the real LLaMA and Flan-T5 tokenizers
 * (tests/data/cases/utf8, make_cases.py): the answer message carries the
 * instruction as given and the text of transformers' ids for the case's
 * RGB frame (greedy settings: the element's defaults plus max-new-tokens). */
#include <json-glib/json-glib.h>

#include "ibtest.h"

static void
check_case (const char *name)
{
  char *dir = g_build_filename (IBT_CASES_DIR, "utf8", name, NULL);
  char *json = g_build_filename (dir, "case.json", NULL);
  char *rgb_path = g_build_filename (dir, "frame.rgb", NULL);
  JsonParser *parser = json_parser_new ();
  JsonObject *root;
  JsonArray *settings;
  GError *error = NULL;
  guint8 *rgb;
  gsize len;
  int S, stride, y;
  guint i, n_checked = 0;

  fail_unless (json_parser_load_from_file (parser, json, &error));
  root = json_node_get_object (json_parser_get_root (parser));
  S = (int) json_object_get_int_member (
      json_object_get_object_member (json_object_get_object_member (root,
                                         "draw"),
          "vision"),
      "image_size");
  fail_unless (g_file_get_contents (rgb_path, (char **) &rgb, &len, &error));
  fail_unless_equals_int (len, S * S * 3);
  stride = GST_ROUND_UP_4 (S * 3);
  settings = json_object_get_array_member (root, "settings");
  for (i = 0; i < json_array_get_length (settings); i++) {
    JsonObject *s = json_array_get_object_element (settings, i);
    const char *instruction = json_object_get_string_member (s, "prompt");
    const char *want =
        json_object_get_string_member (json_object_get_object_member (s,
                                           "text"),
            "fp32");
    JsonArray *ids =
        json_object_get_array_member (json_object_get_object_member (s, "ids"),
            "fp32");
    char *props;
    IbtCollector c;
    GstHarness *h;
    GstBuffer *buf;
    GstMapInfo map;
    GstStructure *m;

    if (json_object_get_int_member (s, "num_beams") != 1)
      continue;
    props = g_strdup_printf ("model-path=%s processing-mode=blocking "
                             "num-frames=1 interval=%" G_GUINT64_FORMAT
                             " max-new-tokens=%d",
        dir, (guint64) IBT_FRAME_DUR,
        (int) json_object_get_int_member (s, "max_new_tokens"));
    ibt_collector_init (&c);
    h = ibt_harness (props, &c, GST_VIDEO_FORMAT_RGB, S, S, FALSE);
    g_object_set (h->element, "instruction", instruction, NULL);
    /* the frame in GStreamer's RGB layout: rows padded to 4 bytes */
    buf = gst_buffer_new_allocate (NULL, (gsize) stride * S, NULL);
    fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
    for (y = 0; y < S; y++)
      memcpy (map.data + (gsize) y * stride, rgb + (gsize) y * S * 3, S * 3);
    gst_buffer_unmap (buf, &map);
    GST_BUFFER_PTS (buf) = 0;
    GST_BUFFER_DURATION (buf) = IBT_FRAME_DUR;
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
    fail_unless_equals_int (ibt_n_messages (&c), 1);
    m = ibt_message (&c, 0);
    GST_INFO ("%s %s: %s", name, instruction,
        gst_structure_get_string (m, "answer"));
    fail_unless_equals_string (gst_structure_get_string (m, "instruction"),
        instruction);
    fail_unless_equals_string (gst_structure_get_string (m, "answer"), want);
    fail_unless_equals_uint64 (g_value_get_uint (
                                   gst_structure_get_value (m, "n-tokens")),
        json_array_get_length (ids));
    gst_structure_free (m);
    gst_harness_teardown (h);
    ibt_collector_clear (&c);
    g_free (props);
    n_checked++;
  }
  fail_unless (n_checked >= 4);
  g_free (rgb);
  g_object_unref (parser);
  g_free (rgb_path);
  g_free (json);
  g_free (dir);
}

GST_START_TEST (test_vicuna_real_tokenizer)
{
  check_case ("vicuna-real-tokenizer");
}

GST_END_TEST;

GST_START_TEST (test_t5_real_tokenizer)
{
  check_case ("t5-real-tokenizer");
}

GST_END_TEST;

static Suite *
utf8_suite (void)
{
  Suite *s = suite_create ("instructblip-utf8");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_vicuna_real_tokenizer);
  tcase_add_test (tc, test_t5_real_tokenizer);
  return s;
}

GST_CHECK_MAIN (utf8);
