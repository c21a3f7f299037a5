/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Flushing seeks in a loop on videotestsrc ! instructblip ! fakesink, in
 * blocking and async mode, PAUSED and PLAYING (issue 12, item 12: such a
 * loop hung once in a while). Every seek must return and the pipeline must
 * settle within a bound; a watchdog turns a hang into a failure with the
 * iteration it happened in.
 *
 * Usage: test-gst-seek-stress [-m blocking|async|blocking-text|async-text|
 * identity] [-n SEEKS]
 * [-r 1] (identity: the same pipeline without the element, for comparison;
 * -r 1: wait for the state after every tenth seek only). Run as a GLib test
 * it does a short round of each mode. */
#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>

#define STALL_S 20

static gint progress; /* bumped after every seek */
static gboolean rapid; /* most seeks without waiting for the state */

static gpointer
watchdog (gpointer data)
{
  const char *what = data;
  int last = -1, same = 0;

  for (;;) {
    int now = g_atomic_int_get (&progress);
    if (now < 0)
      return NULL;
    same = now == last ? same + 1 : 0;
    last = now;
    if (same >= STALL_S) {
      g_printerr ("%s: no progress for %d s after seek %d: hung\n", what,
          STALL_S, now);
      abort (); /* a core / gdb shows the threads */
    }
    g_usleep (G_USEC_PER_SEC);
  }
}

static GstElement *
make_pipeline (const char *mode)
{
  GError *error = NULL;
  char *desc;
  GstElement *p;

  if (g_str_equal (mode, "identity"))
    desc = g_strdup ("videotestsrc name=src pattern=ball ! "
                     "video/x-raw,format=RGB,width=64,height=64,"
                     "framerate=30/1 ! identity ! fakesink sync=true");
  else if (g_str_has_suffix (mode, "-text"))
    /* the text pad linked too, a queue on each branch (docs/element.md) */
    desc = g_strdup_printf ("videotestsrc name=src pattern=ball ! "
                            "video/x-raw,format=RGB,width=64,height=64,"
                            "framerate=30/1 ! instructblip name=ib "
                            "num-frames=2 interval=0 max-new-tokens=2 "
                            "processing-mode=%.*s ! queue ! fakesink sync=true "
                            "ib.text_src ! queue ! fakesink sync=true",
        (int) (strlen (mode) - 5), mode);
  else
    desc = g_strdup_printf ("videotestsrc name=src pattern=ball ! "
                            "video/x-raw,format=RGB,width=64,height=64,"
                            "framerate=30/1 ! instructblip num-frames=2 "
                            "interval=0 max-new-tokens=2 processing-mode=%s "
                            "! fakesink sync=true",
        mode);
  p = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  g_free (desc);
  return p;
}

/* Fails on an error message; returns when the bus is empty. */
static void
check_bus (GstElement *p)
{
  GstBus *bus = gst_element_get_bus (p);
  GstMessage *m;

  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR)) != NULL) {
    GError *error = NULL;
    gst_message_parse_error (m, &error, NULL);
    g_error ("error during seeks: %s", error->message);
  }
  gst_object_unref (bus);
}

static void
run (const char *mode, int n_seeks, guint32 seed)
{
  GstElement *p = make_pipeline (mode);
  GRand *rng = g_rand_new_with_seed (seed);
  GThread *dog;
  GstState state;
  int i;

  g_atomic_int_set (&progress, 0);
  dog = g_thread_new ("watchdog", watchdog, (gpointer) mode);
  g_assert_cmpint (gst_element_set_state (p, GST_STATE_PAUSED), !=,
      GST_STATE_CHANGE_FAILURE);
  g_assert_cmpint (gst_element_get_state (p, &state, NULL,
                       STALL_S * GST_SECOND),
      ==, GST_STATE_CHANGE_SUCCESS);
  for (i = 0; i < n_seeks; i++) {
    /* a quarter of the seeks in PAUSED, the rest PLAYING */
    GstState want = g_rand_int_range (rng, 0, 4) == 0 ? GST_STATE_PAUSED :
                                                        GST_STATE_PLAYING;
    gint64 pos = g_rand_int_range (rng, 0, 300) * (GST_SECOND / 30);
    GstSeekFlags flags = GST_SEEK_FLAG_FLUSH |
        (g_rand_boolean (rng) ? GST_SEEK_FLAG_ACCURATE : 0);

    gst_element_set_state (p, want);
    if (g_rand_boolean (rng))
      g_usleep (g_rand_int_range (rng, 0, 30000));
    g_assert_true (gst_element_seek_simple (p, GST_FORMAT_TIME, flags, pos));
    if (!rapid || i % 10 == 9)
      g_assert_cmpint (gst_element_get_state (p, &state, NULL,
                           STALL_S * GST_SECOND),
          !=, GST_STATE_CHANGE_FAILURE);
    check_bus (p);
    g_atomic_int_inc (&progress);
  }
  g_atomic_int_set (&progress, -1);
  g_thread_join (dog);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);
  g_rand_free (rng);
}

static GstPadProbeReturn
count_seek (G_GNUC_UNUSED GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_SEEK)
    g_atomic_int_inc ((gint *) data);
  return GST_PAD_PROBE_OK;
}

/* With the text pad linked, a pipeline seek arrives on both src pads of
 * the element; the source must see it once, not flush and restart twice. */
static void
test_seek_once (void)
{
  GstElement *p = make_pipeline ("blocking-text");
  GstElement *src = gst_bin_get_by_name (GST_BIN (p), "src");
  GstPad *pad = gst_element_get_static_pad (src, "src");
  gint seeks = 0;
  int i;

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, count_seek, &seeks,
      NULL);
  gst_element_set_state (p, GST_STATE_PAUSED);
  g_assert_cmpint (gst_element_get_state (p, NULL, NULL, STALL_S * GST_SECOND),
      ==, GST_STATE_CHANGE_SUCCESS);
  for (i = 0; i < 5; i++) {
    g_assert_true (gst_element_seek_simple (p, GST_FORMAT_TIME,
        GST_SEEK_FLAG_FLUSH, i * GST_SECOND / 10));
    g_assert_cmpint (gst_element_get_state (p, NULL, NULL,
                         STALL_S * GST_SECOND),
        ==, GST_STATE_CHANGE_SUCCESS);
  }
  g_assert_cmpint (g_atomic_int_get (&seeks), ==, 5);
  check_bus (p);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (pad);
  gst_object_unref (src);
  gst_object_unref (p);
}

static void
test_mode (gconstpointer data)
{
  run (data, 60, g_test_rand_int ());
}

int
main (int argc, char **argv)
{
  const char *mode = NULL;
  int n = 0, opt;

  gst_init (&argc, &argv);
  while (argc > 2 && argv[1][0] == '-' && strchr ("mnr", argv[1][1]) &&
      argv[1][1] != '\0' && argv[1][2] == '\0') {
    opt = argv[1][1];
    if (opt == 'm')
      mode = argv[2];
    else if (opt == 'n')
      n = atoi (argv[2]);
    else if (opt == 'r')
      rapid = atoi (argv[2]);
    argv += 2;
    argc -= 2;
  }
  if (mode) {
    run (mode, n > 0 ? n : 1000, (guint32) g_get_monotonic_time ());
    g_print ("%s: %d seeks, no hang\n", mode, n > 0 ? n : 1000);
    return 0;
  }
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/seek-stress/blocking", "blocking", test_mode);
  g_test_add_data_func ("/seek-stress/async", "async", test_mode);
  g_test_add_data_func ("/seek-stress/blocking-text", "blocking-text",
      test_mode);
  g_test_add_data_func ("/seek-stress/async-text", "async-text", test_mode);
  g_test_add_func ("/seek-stress/seek-once", test_seek_once);
  return g_test_run ();
}
