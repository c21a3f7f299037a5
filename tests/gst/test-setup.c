/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The instructblip element's properties (types, defaults, ranges, when
 * they may change) and its error paths: every setup failure reaches the
 * bus as an ERROR that says what to fix, a failed answer is a WARNING. */
#include "ibtest.h"

#include <glib/gstdio.h>
#include <unistd.h>

#define W 28
#define H 28

typedef struct
{
  const char *name;
  GType type;
  const char *def; /* serialized default, NULL: none */
  guint flags; /* GST_PARAM_MUTABLE_* or 0: read-only */
} Prop;

GST_START_TEST (test_properties)
{
  const Prop props[] = {
    { "model-path", G_TYPE_STRING, NULL, GST_PARAM_MUTABLE_READY },
    { "instruction", G_TYPE_STRING,
        "\"What\\ is\\ happening\\ in\\ the\\ "
        "video\\?\"",
        GST_PARAM_MUTABLE_PLAYING },
    { "num-frames", G_TYPE_UINT, "4", GST_PARAM_MUTABLE_PLAYING },
    { "interval", G_TYPE_UINT64, "2000000000", GST_PARAM_MUTABLE_PLAYING },
    { "processing-mode", G_TYPE_NONE, "auto", GST_PARAM_MUTABLE_READY },
    { "max-pending", G_TYPE_UINT, "1", GST_PARAM_MUTABLE_PLAYING },
    { "drop-policy", G_TYPE_NONE, "drop-oldest", GST_PARAM_MUTABLE_PLAYING },
    { "max-new-tokens", G_TYPE_UINT, "30", GST_PARAM_MUTABLE_PLAYING },
    { "min-length", G_TYPE_UINT, "0", GST_PARAM_MUTABLE_PLAYING },
    { "num-beams", G_TYPE_UINT, "1", GST_PARAM_MUTABLE_PLAYING },
    { "temperature", G_TYPE_DOUBLE, "0", GST_PARAM_MUTABLE_PLAYING },
    { "top-k", G_TYPE_UINT, "50", GST_PARAM_MUTABLE_PLAYING },
    { "top-p", G_TYPE_DOUBLE, "1", GST_PARAM_MUTABLE_PLAYING },
    { "repetition-penalty", G_TYPE_DOUBLE, "1", GST_PARAM_MUTABLE_PLAYING },
    { "length-penalty", G_TYPE_DOUBLE, "1", GST_PARAM_MUTABLE_PLAYING },
    { "seed", G_TYPE_UINT64, "0", GST_PARAM_MUTABLE_PLAYING },
    { "candidates", G_TYPE_STRING, NULL, GST_PARAM_MUTABLE_PLAYING },
    { "device", G_TYPE_STRING, "auto", GST_PARAM_MUTABLE_READY },
    { "device-name", G_TYPE_STRING, NULL, 0 },
    { "precision", G_TYPE_NONE, "auto", GST_PARAM_MUTABLE_READY },
    { "model-instance-id", G_TYPE_STRING, NULL, GST_PARAM_MUTABLE_READY },
    { "weight-cache-dir", G_TYPE_STRING, NULL, GST_PARAM_MUTABLE_READY },
    { "weight-cache-map", G_TYPE_BOOLEAN, "true", GST_PARAM_MUTABLE_READY },
    { "post-messages", G_TYPE_BOOLEAN, "true", GST_PARAM_MUTABLE_PLAYING },
    { "drain-timeout", G_TYPE_UINT64, "30000000000",
        GST_PARAM_MUTABLE_PLAYING },
    { "stats", GST_TYPE_STRUCTURE, NULL, 0 },
  };
  GstElement *e = gst_element_factory_make ("instructblip", NULL);
  GObjectClass *oc = G_OBJECT_GET_CLASS (e);
  GParamSpec *ps;
  GValue v = G_VALUE_INIT;
  double temp;
  char *str;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (props); i++) {
    ps = g_object_class_find_property (oc, props[i].name);
    fail_unless (ps != NULL, "no property %s", props[i].name);
    if (props[i].type == G_TYPE_NONE) {
      fail_unless (G_TYPE_IS_ENUM (ps->value_type));
    } else {
      fail_unless_equals_int (ps->value_type, props[i].type);
    }
    /* documented: a blurb a user can act on */
    fail_unless (strlen (g_param_spec_get_blurb (ps)) > 30, "%s",
        props[i].name);
    if (props[i].flags == 0) {
      fail_if (ps->flags & G_PARAM_WRITABLE, "%s writable", props[i].name);
    } else {
      fail_unless (ps->flags & props[i].flags, "%s mutability", props[i].name);
    }
    if (props[i].type == GST_TYPE_STRUCTURE)
      continue;
    g_value_init (&v, ps->value_type);
    g_object_get_property (G_OBJECT (e), props[i].name, &v);
    str = gst_value_serialize (&v);
    if (props[i].def) {
      fail_unless_equals_string (str, props[i].def);
    } else {
      fail_unless (str == NULL || g_str_equal (str, "NULL"), "%s: %s",
          props[i].name, str);
    }
    g_free (str);
    g_value_unset (&v);
  }

  /* ranges */
  ps = g_object_class_find_property (oc, "num-frames");
  fail_unless_equals_int (G_PARAM_SPEC_UINT (ps)->minimum, 1);
  ps = g_object_class_find_property (oc, "max-pending");
  fail_unless_equals_int (G_PARAM_SPEC_UINT (ps)->minimum, 1);
  ps = g_object_class_find_property (oc, "top-p");
  fail_unless (G_PARAM_SPEC_DOUBLE (ps)->maximum == 1.0);
  ps = g_object_class_find_property (oc, "repetition-penalty");
  fail_unless (G_PARAM_SPEC_DOUBLE (ps)->minimum > 0.0);

  /* enums by nick, as gst-launch sets them */
  gst_util_set_object_arg (G_OBJECT (e), "processing-mode", "async");
  gst_util_set_object_arg (G_OBJECT (e), "drop-policy", "drop-newest");
  gst_util_set_object_arg (G_OBJECT (e), "precision", "q8");
  g_object_get (e, "precision", &i, NULL);
  fail_unless_equals_int (i, 3);
  gst_util_set_object_arg (G_OBJECT (e), "precision", "fp16");
  g_object_get (e, "processing-mode", &i, NULL);
  fail_unless_equals_int (i, 2);

  /* an empty instruction is refused, the old one stays */
  g_object_set (e, "instruction", "Is it raining?", NULL);
  g_object_set (e, "instruction", "", NULL);
  g_object_get (e, "instruction", &str, NULL);
  fail_unless_equals_string (str, "Is it raining?");
  g_free (str);
  /* an empty device is auto */
  g_object_set (e, "device", "", NULL);
  g_object_get (e, "device", &str, NULL);
  fail_unless_equals_string (str, "auto");
  g_free (str);
  /* sampling by temperature; reading back gives what is used */
  g_object_set (e, "temperature", 0.7, NULL);
  g_object_get (e, "temperature", &temp, NULL);
  fail_unless (temp == 0.7);
  gst_object_unref (e);
}

GST_END_TEST;

/* Once started: model-defining properties are fixed, device-name and the
 * stats are filled in, playing-mutable ones still change. */
GST_START_TEST (test_properties_playing)
{
  GstHarness *h;
  GstStructure *st = NULL;
  char *s = NULL;
  guint n;

  h = ibt_harness ("processing-mode=blocking num-frames=1 interval=0 "
                   "max-new-tokens=3 device=cpu",
      NULL, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  g_object_set (h->element, "model-path", "/nonexistent", "device", "gpu",
      NULL);
  g_object_get (h->element, "model-path", &s, NULL);
  fail_if (g_str_equal (s, "/nonexistent"));
  g_free (s);
  g_object_get (h->element, "device", &s, NULL);
  fail_unless_equals_string (s, "cpu");
  g_free (s);
  g_object_get (h->element, "device-name", &s, NULL);
  fail_unless (s != NULL && *s != '\0');
  g_free (s);
  g_object_set (h->element, "max-new-tokens", 2, NULL);
  g_object_get (h->element, "max-new-tokens", &n, NULL);
  fail_unless_equals_int (n, 2);
  fail_unless_equals_int (gst_harness_push (h,
                              ibt_frame (GST_VIDEO_FORMAT_RGB, W, H, 0)),
      GST_FLOW_OK);
  g_object_get (h->element, "stats", &st, NULL);
  fail_unless (gst_structure_has_name (st, "instructblip-stats"));
  fail_unless (gst_structure_has_field_typed (st, "frames", G_TYPE_UINT64));
  fail_unless (
      gst_structure_has_field_typed (st, "latency-mean", G_TYPE_UINT64));
  fail_unless (gst_structure_has_field_typed (st, "pending", G_TYPE_UINT));
  gst_structure_free (st);
  fail_unless_equals_uint64 (ibt_stat (h->element, "answers"), 1);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Starting @props fails with an ERROR of @domain/@code whose text holds
 * @needle. */
static void
check_start_error (const char *props, GQuark domain, gint code,
    const char *needle)
{
  IbtCollector c;
  GstElement *e;
  GstMessage *m;
  GError *err = NULL;
  char *debug = NULL;

  ibt_collector_init (&c);
  e = ibt_element (props, &c);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  m = ibt_find_message (&c, GST_MESSAGE_ERROR);
  fail_unless (m != NULL, "no error for %s", props);
  gst_message_parse_error (m, &err, &debug);
  GST_INFO ("%s -> %s (%s)", props, err->message, debug);
  fail_unless (err->domain == domain && err->code == code, "%s: %s %d: %s",
      props, g_quark_to_string (err->domain), err->code, err->message);
  fail_unless (strstr (err->message, needle) != NULL, "'%s' not in '%s'",
      needle, err->message);
  g_error_free (err);
  g_free (debug);
  gst_message_unref (m);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (e);
  ibt_collector_clear (&c);
}

GST_START_TEST (test_error_missing_model)
{
  check_start_error ("model-path=/nonexistent/model", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_NOT_FOUND, "/nonexistent/model");
}

GST_END_TEST;

/* A copy of vicuna-tiny in a temporary directory, every file linked except
 * @broken (which gets @content, or is left out when NULL). */
static char *
broken_model (const char *broken, const char *content)
{
  char *src = ibt_model_dir ("vicuna-tiny");
  char *dir = g_dir_make_tmp ("ibt-model-XXXXXX", NULL);
  GDir *d = g_dir_open (src, 0, NULL);
  const char *name;
  char *from, *to;

  while ((name = g_dir_read_name (d))) {
    from = g_build_filename (src, name, NULL);
    to = g_build_filename (dir, name, NULL);
    if (!g_str_equal (name, broken)) {
      fail_unless (symlink (from, to) == 0);
    } else if (content) {
      fail_unless (g_file_set_contents (to, content, -1, NULL));
    }
    g_free (from);
    g_free (to);
  }
  g_dir_close (d);
  g_free (src);
  return dir;
}

static void
remove_model (char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  char *p;

  while ((name = g_dir_read_name (d))) {
    p = g_build_filename (dir, name, NULL);
    g_unlink (p);
    g_free (p);
  }
  g_dir_close (d);
  g_rmdir (dir);
  g_free (dir);
}

GST_START_TEST (test_error_broken_config)
{
  char *dir = broken_model ("config.json", "{ \"model_type\": ");
  char *props = g_strdup_printf ("model-path=%s", dir);

  check_start_error (props, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
      "config.json");
  g_free (props);
  remove_model (dir);
}

GST_END_TEST;

GST_START_TEST (test_error_missing_tokenizer)
{
  char *dir = broken_model ("tokenizer.json", NULL);
  char *props = g_strdup_printf ("model-path=%s", dir);

  check_start_error (props, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
      "tokenizer.json");
  g_free (props);
  remove_model (dir);
}

GST_END_TEST;

GST_START_TEST (test_error_bad_device)
{
  check_start_error ("device=no-such-device-anywhere", GST_LIBRARY_ERROR,
      GST_LIBRARY_ERROR_INIT, "no-such-device-anywhere");
  check_start_error ("device=7:99", GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_INIT,
      "7:99");
  check_start_error ("device=1:2:3", GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_INIT,
      "1:2:3");
}

GST_END_TEST;

/* Elements sharing a model instance must agree on the model. */
GST_START_TEST (test_error_instance_mismatch)
{
  char *t5 = ibt_model_dir ("t5-tiny");
  char *props = g_strdup_printf ("model-instance-id=x model-path=%s", t5);
  GstHarness *h;

  h = ibt_harness ("model-instance-id=x", NULL, GST_VIDEO_FORMAT_RGB, W, H,
      FALSE);
  check_start_error (props, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
      "model-instance-id");
  gst_harness_teardown (h);
  /* once the first is gone, the id is free for another model */
  h = ibt_harness (props, NULL, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  gst_harness_teardown (h);
  g_free (props);
  g_free (t5);
}

GST_END_TEST;

/* A failed answer is a WARNING; video and later questions go on. */
GST_START_TEST (test_failed_answer_warns)
{
  IbtCollector c;
  GstHarness *h;
  GString *lng = g_string_new (NULL);
  GstMessage *w;
  GstBuffer *out;
  int i;

  for (i = 0; i < 400; i++)
    g_string_append (lng, "why ");
  ibt_collector_init (&c);
  h = ibt_harness ("processing-mode=blocking num-frames=1 interval=0 "
                   "max-new-tokens=3",
      &c, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  g_object_set (h->element, "instruction", lng->str, NULL);
  fail_unless_equals_int (gst_harness_push (h,
                              ibt_frame (GST_VIDEO_FORMAT_RGB, W, H, 0)),
      GST_FLOW_OK);
  w = ibt_find_message (&c, GST_MESSAGE_WARNING);
  fail_unless (w != NULL);
  gst_message_unref (w);
  fail_unless_equals_uint64 (ibt_stat (h->element, "failed"), 1);
  g_object_set (h->element, "instruction", "What is it?", NULL);
  fail_unless_equals_int (gst_harness_push (h,
                              ibt_frame (GST_VIDEO_FORMAT_RGB, W, H, 1)),
      GST_FLOW_OK);
  fail_unless_equals_int (ibt_n_messages (&c), 1);
  for (i = 0; i < 2; i++) {
    out = gst_harness_pull (h);
    gst_buffer_unref (out);
  }
  gst_harness_teardown (h);
  ibt_collector_clear (&c);
  g_string_free (lng, TRUE);
}

GST_END_TEST;

/* The model loads in start with progress messages. */
GST_START_TEST (test_progress)
{
  IbtCollector c;
  GstHarness *h;
  GstProgressType type;
  guint i, n_start = 0, n_done = 0;

  ibt_collector_init (&c);
  h = ibt_harness (NULL, &c, GST_VIDEO_FORMAT_RGB, W, H, FALSE);
  g_mutex_lock (&c.lock);
  for (i = 0; i < c.bus_log->len; i++) {
    GstMessage *m = g_ptr_array_index (c.bus_log, i);
    if (GST_MESSAGE_TYPE (m) != GST_MESSAGE_PROGRESS)
      continue;
    gst_message_parse_progress (m, &type, NULL, NULL);
    n_start += type == GST_PROGRESS_TYPE_START;
    n_done += type == GST_PROGRESS_TYPE_COMPLETE;
  }
  g_mutex_unlock (&c.lock);
  fail_unless_equals_int (n_start, 1);
  fail_unless_equals_int (n_done, 1);
  gst_harness_teardown (h);
  ibt_collector_clear (&c);
}

GST_END_TEST;

static Suite *
setup_suite (void)
{
  Suite *s = suite_create ("instructblip-setup");
  TCase *tc = tcase_create ("setup");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_properties);
  tcase_add_test (tc, test_properties_playing);
  tcase_add_test (tc, test_error_missing_model);
  tcase_add_test (tc, test_error_broken_config);
  tcase_add_test (tc, test_error_missing_tokenizer);
  tcase_add_test (tc, test_error_bad_device);
  tcase_add_test (tc, test_error_instance_mismatch);
  tcase_add_test (tc, test_failed_answer_warns);
  tcase_add_test (tc, test_progress);
  return s;
}

GST_CHECK_MAIN (setup);
