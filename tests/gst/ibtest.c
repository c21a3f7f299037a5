/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the gst suite. */
#include "ibtest.h"

#include <string.h>

#include <gmodule.h>

#include "ibworker-private.h"

char *
ibt_model_dir (const char *name)
{
  return g_build_filename (IBT_PARITY_DIR, name, NULL);
}

guint8 *
ibt_rgb_pixels (int w, int h, int i)
{
  guint8 *p = g_malloc ((gsize) w * h * 3);
  int x, y;

  /* a moving gradient with a bright square: frames differ */
  for (y = 0; y < h; y++)
    for (x = 0; x < w; x++) {
      guint8 *px = p + ((gsize) y * w + x) * 3;
      gboolean sq = ABS (x - (i * 3) % w) < w / 4 && ABS (y - h / 2) < h / 4;
      px[0] = sq ? 250 : (guint8) (x * 255 / MAX (w - 1, 1));
      px[1] = sq ? 240 : (guint8) (y * 255 / MAX (h - 1, 1));
      px[2] = (guint8) ((i * 37 + x + y) & 0xff);
    }
  return p;
}

/* RGB pixels into a frame of @format (packed RGB orders byte-exact). */
static void
fill_frame (GstVideoFrame *dst, const guint8 *rgb, int w, int h)
{
  GstVideoInfo rgb_info;
  GstVideoFrame src;
  GstVideoConverter *conv;
  GstBuffer *wrap;

  gst_video_info_set_format (&rgb_info, GST_VIDEO_FORMAT_RGB, w, h);
  wrap = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&rgb_info), NULL);
  fail_unless (gst_video_frame_map (&src, &rgb_info, wrap, GST_MAP_WRITE));
  for (int y = 0; y < h; y++)
    memcpy ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&src, 0) +
            y * GST_VIDEO_FRAME_PLANE_STRIDE (&src, 0),
        rgb + y * w * 3, w * 3);
  conv = gst_video_converter_new (&rgb_info, &dst->info,
      gst_structure_new ("GstVideoConverter",
          GST_VIDEO_CONVERTER_OPT_DITHER_METHOD, GST_TYPE_VIDEO_DITHER_METHOD,
          GST_VIDEO_DITHER_NONE, NULL));
  gst_video_converter_frame (conv, &src, dst);
  gst_video_converter_free (conv);
  gst_video_frame_unmap (&src);
  gst_buffer_unref (wrap);
}

GstBuffer *
ibt_frame (GstVideoFormat format, int w, int h, int i)
{
  GstVideoInfo info;
  GstVideoFrame frame;
  GstBuffer *buf;
  guint8 *rgb = ibt_rgb_pixels (w, h, i);

  gst_video_info_set_format (&info, format, w, h);
  buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  fail_unless (gst_video_frame_map (&frame, &info, buf, GST_MAP_WRITE));
  fill_frame (&frame, rgb, w, h);
  gst_video_frame_unmap (&frame);
  g_free (rgb);
  GST_BUFFER_PTS (buf) = i * IBT_FRAME_DUR;
  GST_BUFFER_DURATION (buf) = IBT_FRAME_DUR;
  return buf;
}

GstCaps *
ibt_caps (GstVideoFormat format, int w, int h)
{
  GstVideoInfo info;

  gst_video_info_set_format (&info, format, w, h);
  GST_VIDEO_INFO_FPS_N (&info) = IBT_FPS;
  GST_VIDEO_INFO_FPS_D (&info) = 1;
  return gst_video_info_to_caps (&info);
}

guint8 *
ibt_engine_rgb (GstVideoFormat format, int w, int h, int i, int *stride)
{
  GstBuffer *buf = ibt_frame (format, w, h, i);
  GstVideoInfo info, out;
  GstVideoFrame src, dst;
  GstVideoConverter *conv;
  GstBuffer *rgb;
  guint8 *p;

  gst_video_info_set_format (&info, format, w, h);
  gst_video_info_set_format (&out, GST_VIDEO_FORMAT_RGB, w, h);
  rgb = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&out), NULL);
  fail_unless (gst_video_frame_map (&src, &info, buf, GST_MAP_READ));
  fail_unless (gst_video_frame_map (&dst, &out, rgb, GST_MAP_WRITE));
  conv = gst_video_converter_new (&info, &out,
      gst_structure_new ("GstVideoConverter",
          GST_VIDEO_CONVERTER_OPT_DITHER_METHOD, GST_TYPE_VIDEO_DITHER_METHOD,
          GST_VIDEO_DITHER_NONE, GST_VIDEO_CONVERTER_OPT_THREADS, G_TYPE_UINT,
          1, NULL));
  gst_video_converter_frame (conv, &src, &dst);
  gst_video_converter_free (conv);
  *stride = GST_VIDEO_FRAME_PLANE_STRIDE (&dst, 0);
  p = g_memdup2 (GST_VIDEO_FRAME_PLANE_DATA (&dst, 0), (gsize) *stride * h);
  gst_video_frame_unmap (&src);
  gst_video_frame_unmap (&dst);
  gst_buffer_unref (rgb);
  gst_buffer_unref (buf);
  return p;
}

/* ---- collection ---- */

static GstBusSyncReply
on_bus (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  IbtCollector *c = user_data;
  const GstStructure *s = gst_message_get_structure (msg);

  (void) bus;
  g_mutex_lock (&c->lock);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT && s &&
      gst_structure_has_name (s, "instructblip-answer"))
    g_ptr_array_add (c->messages, gst_structure_copy (s));
  else
    g_ptr_array_add (c->bus_log, gst_message_ref (msg));
  g_mutex_unlock (&c->lock);
  gst_message_unref (msg);
  return GST_BUS_DROP;
}

static void
on_answer (GstElement *e, const char *instruction, const char *answer,
    const GstStructure *info, IbtCollector *c)
{
  (void) e;
  fail_unless_equals_string (instruction,
      gst_structure_get_string (info, "instruction"));
  fail_unless_equals_string (answer, gst_structure_get_string (info, "answer"));
  g_mutex_lock (&c->lock);
  g_ptr_array_add (c->signals, gst_structure_copy (info));
  g_mutex_unlock (&c->lock);
}

static GstFlowReturn
text_chain (GstPad *pad, GstObject *parent, GstBuffer *buf)
{
  IbtCollector *c = gst_pad_get_element_private (pad);

  (void) parent;
  g_mutex_lock (&c->lock);
  g_ptr_array_add (c->texts, buf);
  g_mutex_unlock (&c->lock);
  return GST_FLOW_OK;
}

static gboolean
text_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  IbtCollector *c = gst_pad_get_element_private (pad);

  (void) parent;
  g_mutex_lock (&c->lock);
  g_ptr_array_add (c->text_events, event);
  g_mutex_unlock (&c->lock);
  return TRUE;
}

void
ibt_collector_init (IbtCollector *c)
{
  memset (c, 0, sizeof (*c));
  g_mutex_init (&c->lock);
  c->messages =
      g_ptr_array_new_with_free_func ((GDestroyNotify) gst_structure_free);
  c->signals =
      g_ptr_array_new_with_free_func ((GDestroyNotify) gst_structure_free);
  c->texts = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
  c->text_events =
      g_ptr_array_new_with_free_func ((GDestroyNotify) gst_event_unref);
  c->bus_log =
      g_ptr_array_new_with_free_func ((GDestroyNotify) gst_message_unref);
}

void
ibt_collector_clear (IbtCollector *c)
{
  if (c->bus) {
    gst_bus_set_flushing (c->bus, TRUE);
    gst_object_unref (c->bus);
  }
  if (c->text_sink) {
    gst_pad_set_active (c->text_sink, FALSE);
    gst_object_unref (c->text_sink);
  }
  g_ptr_array_unref (c->messages);
  g_ptr_array_unref (c->signals);
  g_ptr_array_unref (c->texts);
  g_ptr_array_unref (c->text_events);
  g_ptr_array_unref (c->bus_log);
  g_mutex_clear (&c->lock);
}

GstElement *
ibt_element (const char *props, IbtCollector *c)
{
  char *dir = ibt_model_dir ("vicuna-tiny");
  char *desc = g_strdup_printf ("instructblip model-path=%s %s", dir,
      props ? props : "");
  GError *err = NULL;
  GstElement *e = gst_parse_launch (desc, &err);
  GstPad *text;

  fail_unless (e != NULL, "%s: %s", desc, err ? err->message : "?");
  g_clear_error (&err);
  g_free (desc);
  g_free (dir);
  if (c) {
    c->bus = gst_bus_new ();
    gst_bus_set_sync_handler (c->bus, on_bus, c, NULL);
    gst_element_set_bus (e, c->bus);
    g_signal_connect (e, "answer", G_CALLBACK (on_answer), c);
    c->text_sink = gst_pad_new ("textsink", GST_PAD_SINK);
    gst_pad_set_element_private (c->text_sink, c);
    gst_pad_set_chain_function (c->text_sink, text_chain);
    gst_pad_set_event_function (c->text_sink, text_event);
    gst_pad_set_active (c->text_sink, TRUE);
    text = gst_element_get_static_pad (e, "text_src");
    fail_unless_equals_int (gst_pad_link (text, c->text_sink), GST_PAD_LINK_OK);
    gst_object_unref (text);
  }
  return e;
}

GstHarness *
ibt_harness (const char *props, IbtCollector *c, GstVideoFormat format, int w,
    int h, gboolean live)
{
  GstElement *e = ibt_element (props, c);
  GstHarness *hn = gst_harness_new_with_element (e, "sink", "src");

  gst_object_unref (e);
  gst_harness_set_live (hn, live);
  gst_harness_set_src_caps (hn, ibt_caps (format, w, h));
  return hn;
}

guint
ibt_n_messages (IbtCollector *c)
{
  guint n;

  g_mutex_lock (&c->lock);
  n = c->messages->len;
  g_mutex_unlock (&c->lock);
  return n;
}

GstStructure *
ibt_message (IbtCollector *c, guint i)
{
  GstStructure *s;

  g_mutex_lock (&c->lock);
  fail_unless (i < c->messages->len);
  s = gst_structure_copy (g_ptr_array_index (c->messages, i));
  g_mutex_unlock (&c->lock);
  return s;
}

GstMessage *
ibt_find_message (IbtCollector *c, GstMessageType type)
{
  GstMessage *m = NULL;
  guint i;

  g_mutex_lock (&c->lock);
  for (i = 0; i < c->bus_log->len && !m; i++)
    if (GST_MESSAGE_TYPE (g_ptr_array_index (c->bus_log, i)) == type)
      m = gst_message_ref (g_ptr_array_index (c->bus_log, i));
  g_mutex_unlock (&c->lock);
  return m;
}

guint64
ibt_stat (GstElement *e, const char *field)
{
  GstStructure *s = NULL;
  const GValue *v;
  guint64 out;

  g_object_get (e, "stats", &s, NULL);
  fail_unless (s != NULL);
  v = gst_structure_get_value (s, field);
  fail_unless (v != NULL, "no stats field %s", field);
  if (G_VALUE_HOLDS_UINT64 (v))
    out = g_value_get_uint64 (v);
  else if (G_VALUE_HOLDS_UINT (v))
    out = g_value_get_uint (v);
  else
    out = g_value_get_boolean (v);
  gst_structure_free (s);
  return out;
}

void
ibt_wait_stat (GstElement *e, const char *field, guint64 value)
{
  gint64 end = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

  while (ibt_stat (e, field) != value) {
    fail_unless (g_get_monotonic_time () < end,
        "stats %s never became %" G_GUINT64_FORMAT " (is %" G_GUINT64_FORMAT
        ")",
        field, value, ibt_stat (e, field));
    g_usleep (2000);
  }
}

char *
ibt_reference (const char *dir, GstVideoFormat format, int w, int h,
    const int *frame_ids, int n, const char *instruction, int max_new_tokens,
    guint *n_tokens)
{
  GError *err = NULL;
  IbModel *m = ib_model_load (dir, NULL, &err);
  IbContextParams cp;
  IbContext *ctx;
  IbGenerateParams gp;
  IbAnswer *a;
  IbImage *imgs = g_new0 (IbImage, n);
  guint8 **px = g_new0 (guint8 *, n);
  char *text;
  int i;

  fail_unless (m != NULL, "%s", err ? err->message : "?");
  ib_context_params_init (&cp);
  cp.max_frames = n;
  ctx = ib_context_new (m, &cp, &err);
  fail_unless (ctx != NULL, "%s", err ? err->message : "?");
  for (i = 0; i < n; i++) {
    px[i] = ibt_engine_rgb (format, w, h, frame_ids[i], &imgs[i].stride);
    imgs[i].width = w;
    imgs[i].height = h;
    imgs[i].format = IB_PIXEL_FORMAT_RGB;
    imgs[i].data = px[i];
  }
  fail_unless (ib_context_set_frames (ctx, imgs, n, &err), "%s",
      err ? err->message : "?");
  ib_generate_params_init_for_model (&gp, m);
  if (max_new_tokens > 0)
    gp.max_new_tokens = max_new_tokens;
  a = ib_context_answer (ctx, instruction, &gp, &err);
  fail_unless (a != NULL, "%s", err ? err->message : "?");
  text = g_utf8_make_valid (a->text, -1);
  if (n_tokens)
    *n_tokens = a->n_tokens;
  ib_answer_free (a);
  ib_context_free (ctx);
  ib_model_unref (m);
  for (i = 0; i < n; i++)
    g_free (px[i]);
  g_free (px);
  g_free (imgs);
  return text;
}

static gboolean
collect_meta (GstBuffer *buf, GstMeta **meta, gpointer user_data)
{
  GstCustomMeta *cm = (GstCustomMeta *) *meta;

  (void) buf;
  if (gst_meta_info_is_custom ((*meta)->info) &&
      gst_custom_meta_has_name (cm, "InstructBlipAnswerMeta"))
    g_ptr_array_add (user_data,
        gst_structure_copy (gst_custom_meta_get_structure (cm)));
  return TRUE;
}

GPtrArray *
ibt_metas (GstBuffer *buf)
{
  GPtrArray *out =
      g_ptr_array_new_with_free_func ((GDestroyNotify) gst_structure_free);

  gst_buffer_foreach_meta (buf, collect_meta, out);
  return out;
}

/* A symbol of the loaded plugin (a test hook of ibworker-private.h). */
static gpointer
plugin_symbol (const char *name)
{
  GstPlugin *plugin =
      gst_registry_find_plugin (gst_registry_get (), "instructblip");
  gpointer sym = NULL;
  GstPlugin *loaded;
  GModule *module;

  fail_unless (plugin != NULL);
  loaded = gst_plugin_load (plugin);
  fail_unless (loaded != NULL);
  module =
      g_module_open (gst_plugin_get_filename (loaded), G_MODULE_BIND_LOCAL);
  fail_unless (module != NULL, "%s", g_module_error ());
  fail_unless (g_module_symbol (module, name, &sym), "%s", name);
  /* the plugin stays loaded (the registry holds it): the symbol too */
  g_module_close (module);
  gst_object_unref (loaded);
  gst_object_unref (plugin);
  return sym;
}

guint
ibt_n_shared_models (void)
{
  GstInstructBlipWorkerGetNSharedModels get =
      (GstInstructBlipWorkerGetNSharedModels) plugin_symbol (
          GST_INSTRUCTBLIP_WORKER_N_SHARED_MODELS_SYMBOL);

  return get ();
}

int
ibt_max_batched (void)
{
  GstInstructBlipWorkerGetMaxBatched get =
      (GstInstructBlipWorkerGetMaxBatched) plugin_symbol (
          GST_INSTRUCTBLIP_WORKER_MAX_BATCHED_SYMBOL);

  return get ();
}

void
ibt_set_worker_delay (guint ms)
{
  GstInstructBlipWorkerSetTestDelay set_delay =
      (GstInstructBlipWorkerSetTestDelay) plugin_symbol (
          GST_INSTRUCTBLIP_WORKER_TEST_DELAY_SYMBOL);

  set_delay (ms);
}
