/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Image and video decoding for instructblip-ask: GStreamer's decodebin to packed RGB(A), libjpeg for JPEG. */
#include "ask-media.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#ifdef HAVE_LIBJPEG
#include <jpeglib.h>
#include <jerror.h>
#endif

GQuark
ask_media_error_quark (void)
{
  return g_quark_from_static_string ("ask-media-error-quark");
}

gboolean
ask_media_has_exact_jpeg (void)
{
#ifdef HAVE_LIBJPEG
  return TRUE;
#else
  return FALSE;
#endif
}

/* one decoded frame, owned: [height, stride] bytes, rows packed */
typedef struct
{
  int width, height, stride;
  IbPixelFormat format;
  guint8 *data;
} Frame;

static void
frame_free (gpointer p)
{
  Frame *f = p;

  if (f == NULL)
    return;
  g_free (f->data);
  g_free (f);
}

/* At most this many pixels in all: Pillow refuses larger images
 * (DecompressionBombError above 2 * Image.MAX_IMAGE_PIXELS), so the
 * reference processor never sees them. A 200-byte JPEG may claim
 * 32768x32768 pixels (3 GB). */
#define ASK_MEDIA_MAX_PIXELS (2 * 89478485)

static gboolean
size_ok (guint64 width, guint64 height)
{
  return width >= 1 && height >= 1 && width <= IB_IMAGE_MAX_DIM &&
      height <= IB_IMAGE_MAX_DIM && width * height <= ASK_MEDIA_MAX_PIXELS;
}

/* a frame of @width x @height, @bpp bytes per pixel, or NULL if too big
 * (size_ok) or out of memory */
static Frame *
frame_new (int width, int height, int bpp, IbPixelFormat format)
{
  Frame *f;

  if (!size_ok (width, height))
    return NULL;
  f = g_new0 (Frame, 1);
  f->width = width;
  f->height = height;
  f->stride = width * bpp;
  f->format = format;
  f->data = g_try_malloc ((gsize) f->stride * height);
  if (f->data == NULL)
    g_clear_pointer (&f, g_free);
  return f;
}

/* Every decoding is bounded: a JPEG decoding that takes this long, or a
 * GStreamer pass where no frame arrives for this long (a demuxer that
 * never finishes, as some GIF demuxers do), fails. */
static gint64 stall_us = ASK_MEDIA_STALL_US;

/* ---- JPEG ------------------------------------------------------------- */

#ifdef HAVE_LIBJPEG
typedef struct
{
  struct jpeg_error_mgr mgr; /* first: libjpeg casts cinfo->err to this */
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  struct jpeg_progress_mgr progress;
  gint64 deadline; /* monotonic time the decoding must end by */
} JpegError;

static void
jpeg_error_exit (j_common_ptr cinfo)
{
  JpegError *e = (JpegError *) (void *) cinfo->err;

  e->mgr.format_message (cinfo, e->message);
  longjmp (e->jump, 1);
}

/* A file that ends early is an error, as in Pillow ("image file is
 * truncated"); other warnings (corrupt data that decodes anyway) are not
 * printed. */
static void
jpeg_emit_message (j_common_ptr cinfo, int level)
{
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
    cinfo->err->error_exit (cinfo);
}

/* Called by libjpeg between rows and scans: a decoding that takes longer
 * than the stall limit is an error, whatever the file claims (a damaged
 * progressive file of 144 bytes claiming 52 megapixels is decoded in full,
 * from nothing). */
static void
jpeg_progress (j_common_ptr cinfo)
{
  JpegError *e = (JpegError *) (void *) cinfo->err;

  if (g_get_monotonic_time () > e->deadline) {
    g_snprintf (e->message, sizeof e->message,
        "decoding takes more than %.1f s (a damaged file, or one too large "
        "for its data)",
        stall_us / (double) G_USEC_PER_SEC);
    longjmp (e->jump, 1);
  }
}

/* Reads the scanlines of a started decompression into @f. */
static void
jpeg_read_rows (struct jpeg_decompress_struct *cinfo, Frame *f)
{
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = f->data + (gsize) cinfo->output_scanline * f->stride;
    jpeg_read_scanlines (cinfo, &row, 1);
  }
}

/* libjpeg with its defaults (islow IDCT, fancy upsampling) and RGB output
 * is what Pillow does, bit for bit; GStreamer's jpegdec turns fancy
 * upsampling off and converts through I420, which is not. */
static Frame *
decode_jpeg (const char *path, const guint8 *bytes, gsize len, GError **error)
{
  struct jpeg_decompress_struct cinfo;
  JpegError jerr;
  Frame *volatile frame = NULL;

  cinfo.err = jpeg_std_error (&jerr.mgr);
  jerr.mgr.error_exit = jpeg_error_exit;
  jerr.mgr.emit_message = jpeg_emit_message;
  if (setjmp (jerr.jump)) {
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE, "%s: JPEG: %s",
        path, jerr.message);
    frame_free (frame);
    frame = NULL;
    goto out;
  }
  jpeg_create_decompress (&cinfo);
  jerr.deadline = g_get_monotonic_time () + stall_us;
  jerr.progress.progress_monitor = jpeg_progress;
  cinfo.progress = &jerr.progress;
  jpeg_mem_src (&cinfo, bytes, len);
  jpeg_read_header (&cinfo, TRUE);
  if (cinfo.jpeg_color_space == JCS_CMYK ||
      cinfo.jpeg_color_space == JCS_YCCK) {
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE,
        "%s: CMYK JPEG images are not supported; convert it to RGB", path);
    goto out;
  }
  /* before libjpeg sizes its buffers (whole-image ones for progressive
   * files) from the header */
  if (!size_ok (cinfo.image_width, cinfo.image_height)) {
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE,
        "%s: a JPEG of %ux%u pixels; images may have 1 to %d pixels a side "
        "and at most %d in all",
        path, cinfo.image_width, cinfo.image_height, IB_IMAGE_MAX_DIM,
        ASK_MEDIA_MAX_PIXELS);
    goto out;
  }
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress (&cinfo);
  frame = frame_new (cinfo.output_width, cinfo.output_height, 3,
      IB_PIXEL_FORMAT_RGB);
  if (frame == NULL) {
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE,
        "%s: out of memory for a JPEG of %ux%u pixels", path,
        cinfo.output_width, cinfo.output_height);
    goto out;
  }
  jpeg_read_rows (&cinfo, frame);
  jpeg_finish_decompress (&cinfo);

out:
  jpeg_destroy_decompress (&cinfo);
  return frame;
}
#endif

/* ---- GStreamer -------------------------------------------------------- */

/*
 * GStreamer's decoders allocate a frame of whatever size a file's header
 * claims, even after its caps are refused (a damaged 277-byte JPEG
 * claiming 58917 x 60131 pixels: jpegdec allocated 3.5 GB). This program's
 * GStreamer memory comes from an allocator that refuses any single block
 * larger than the largest frame accepted (ASK_MEDIA_MAX_PIXELS at 8 bytes a
 * pixel); the decoder then fails with an error. It is the process's
 * default allocator, set once: instructblip-ask owns its process (the
 * element and the library never do this).
 */
#define ASK_MEDIA_MAX_BLOCK ((gsize) ASK_MEDIA_MAX_PIXELS * 8)

typedef struct
{
  GstAllocator parent;
  GstAllocator *sysmem;
} AskBoundedAllocator;

typedef struct
{
  GstAllocatorClass parent_class;
} AskBoundedAllocatorClass;

static GType ask_bounded_allocator_get_type (void);
G_DEFINE_TYPE (AskBoundedAllocator, ask_bounded_allocator, GST_TYPE_ALLOCATOR)

static GstMemory *
bounded_alloc (GstAllocator *allocator, gsize size, GstAllocationParams *params)
{
  AskBoundedAllocator *self = (AskBoundedAllocator *) allocator;
  gsize extra = params ? params->prefix + params->padding : 0;

  if (size > ASK_MEDIA_MAX_BLOCK || extra > ASK_MEDIA_MAX_BLOCK - size)
    return NULL;
  return gst_allocator_alloc (self->sysmem, size, params);
}

static void
bounded_free (GstAllocator *allocator, GstMemory *memory)
{
  /* every block is the system allocator's, freed by it */
  (void) allocator;
  (void) memory;
  g_assert_not_reached ();
}

static void
ask_bounded_allocator_class_init (AskBoundedAllocatorClass *klass)
{
  GstAllocatorClass *aclass = GST_ALLOCATOR_CLASS (klass);

  aclass->alloc = bounded_alloc;
  aclass->free = bounded_free;
}

static void
ask_bounded_allocator_init (AskBoundedAllocator *self)
{
  self->sysmem = gst_allocator_find (GST_ALLOCATOR_SYSMEM);
  GST_ALLOCATOR (self)->mem_type = GST_ALLOCATOR_SYSMEM;
}

static void
install_bounded_allocator (void)
{
  static gsize once;

  if (g_once_init_enter (&once)) {
    GstAllocator *a = g_object_new (ask_bounded_allocator_get_type (), NULL);

    gst_object_ref_sink (a);
    gst_allocator_register ("AskBoundedMemory", gst_object_ref (a));
    gst_allocator_set_default (a);
    g_once_init_leave (&once, 1);
  }
}


/* One decoding pass: filesrc ! decodebin ! videoconvert ! appsink, RGB or
 * RGBA. A probe in front of videoconvert counts every decoded frame and
 * drops those not in @keep, so unwanted frames are never converted. */
typedef struct
{
  const guint64 *keep; /* frame indices to keep, ascending, unique */
  guint n_keep;
  gboolean stop_early; /* stop after the last kept frame */
  /* written by the streaming threads, read after the pipeline stopped */
  guint next_keep;
  guint64 n_seen; /* frames of the stream taken (on_pad_added) */
  gboolean linked; /* a video stream was found */
  gint too_wide, too_high; /* a stream refused for its size (size_ok) */
  GPtrArray *frames; /* Frame *, the kept frames in order */
  GstElement *convert;
  gint progress; /* atomic: frames and samples so far, for the stall check */
  /* the streaming threads' copy (run_pass): a reference for each callback
   * GStreamer holds, released when it drops the callback; once closed
   * (results taken, under lock) the callbacks do nothing, as decodebin
   * can still add a pad from a streaming thread after its pipeline went
   * to NULL (fuzz-image: a use after free, and typefind left in PAUSED) */
  gint ref;
  GMutex lock;
  gboolean closed;
} Pass;

static Pass *
pass_ref (Pass *p)
{
  g_atomic_int_inc (&p->ref);
  return p;
}

static void
pass_unref (gpointer data)
{
  Pass *p = data;

  if (!g_atomic_int_dec_and_test (&p->ref))
    return;
  g_ptr_array_unref (p->frames);
  g_free ((gpointer) p->keep);
  gst_clear_object (&p->convert);
  g_mutex_clear (&p->lock);
  g_free (p);
}

static void
pass_unref_closure (gpointer data, GClosure *closure)
{
  (void) closure;
  pass_unref (data);
}

/* A pipeline that does not stop within ASK_MEDIA_STOP_US is left behind
 * (the program exits after the error). */
#define ASK_MEDIA_STOP_US (5 * G_USEC_PER_SEC)

void
ask_media_set_stall_timeout (gint64 us)
{
  stall_us = us > 0 ? us : ASK_MEDIA_STALL_US;
}

/* the appsink of raw frames, after videoconvert */
#define ASK_RAW_SINK "ask-raw"

static GstPadProbeReturn count_probe (GstPad *pad, GstPadProbeInfo *info,
    gpointer user);
#ifdef HAVE_LIBJPEG
static GstPadProbeReturn jpeg_size_probe (GstPad *pad, GstPadProbeInfo *info,
    gpointer user);
static GstFlowReturn on_new_jpeg_sample (GstAppSink *sink, gpointer user);

/* TRUE if @caps are JPEG frames */
static gboolean
caps_are_jpeg (GstCaps *caps)
{
  return caps != NULL && !gst_caps_is_empty (caps) &&
      gst_structure_has_name (gst_caps_get_structure (caps, 0), "image/jpeg");
}

/* decodebin stops at JPEG frames (MJPEG in AVI, Matroska, QuickTime,
 * multipart): they are decoded here, by libjpeg as Pillow decodes them,
 * within the stall limit (decode_jpeg), and only the frames kept. GStreamer
 * 1.22's jpegdec spins for ever on some damaged frames (an 805x36 gray frame
 * in a 1.8 KB AVI, fuzz-image): its streaming thread could then never be
 * stopped. */
static gboolean
on_autoplug_continue (GstElement *decodebin, GstPad *pad, GstCaps *caps,
    gpointer user)
{
  (void) decodebin;
  (void) pad;
  (void) user;
  return !caps_are_jpeg (caps);
}

/* takes @convert and its appsink (ASK_RAW_SINK) out of @pipeline */
static void
drop_raw_branch (GstElement *convert, GstElement *pipeline)
{
  GstElement *raw = gst_bin_get_by_name (GST_BIN (pipeline), ASK_RAW_SINK);
  GstElement *branch[2] = { convert, raw };
  int i;

  for (i = 0; i < 2; i++) {
    if (branch[i] == NULL)
      continue;
    gst_element_set_locked_state (branch[i], TRUE);
    gst_element_set_state (branch[i], GST_STATE_NULL);
    gst_bin_remove (GST_BIN (pipeline), branch[i]);
  }
  gst_clear_object (&raw);
}

/* A sink for the JPEG frames of @pad, added to @pipeline in place of the
 * raw branch (@convert on): every frame's size checked (jpeg_size_probe),
 * the kept ones decoded (on_new_jpeg_sample). */
static gboolean
link_jpeg_sink (Pass *p, GstElement *pipeline, GstElement *convert, GstPad *pad)
{
  GstElement *sink = gst_element_factory_make ("appsink", NULL);
  GstAppSinkCallbacks cb = { 0 };
  GstPad *sinkpad;
  gboolean ok;

  if (sink == NULL)
    return FALSE;
  /* the raw branch would never end (the pipeline's EOS waits for every
   * sink): it goes */
  drop_raw_branch (convert, pipeline);
  g_object_set (sink, "sync", FALSE, "qos", FALSE, NULL);
  cb.new_sample = on_new_jpeg_sample;
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &cb, pass_ref (p),
      pass_unref);
  sinkpad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (sinkpad, GST_PAD_PROBE_TYPE_BUFFER, jpeg_size_probe,
      pass_ref (p), pass_unref);
  gst_pad_add_probe (sinkpad, GST_PAD_PROBE_TYPE_BUFFER, count_probe,
      pass_ref (p), pass_unref);
  if (!gst_bin_add (GST_BIN (pipeline), sink)) {
    gst_object_unref (sinkpad);
    return FALSE;
  }
  ok = gst_element_sync_state_with_parent (sink) &&
      gst_pad_link (pad, sinkpad) == GST_PAD_LINK_OK;
  gst_object_unref (sinkpad);
  return ok;
}
#endif

/* the first video stream decodebin exposes goes to videoconvert (raw
 * video) or to a JPEG sink of its own (link_jpeg_sink) */
static void
on_pad_added (GstElement *decodebin, GstPad *pad, gpointer user)
{
  Pass *p = user;
  GstCaps *caps;
  GstElement *convert = NULL;
  GstPad *sinkpad;
  gboolean take;

  caps = gst_pad_get_current_caps (pad);
  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  take = !gst_caps_is_empty (caps) &&
      (g_str_has_prefix (gst_structure_get_name (
                             gst_caps_get_structure (caps, 0)),
           "video/")
#ifdef HAVE_LIBJPEG
          || caps_are_jpeg (caps)
#endif
      );
  g_mutex_lock (&p->lock);
  /* one stream: the first taken */
  take = take && !p->closed && !p->linked;
  if (take) {
    p->linked = TRUE;
    /* ours while the lock is not held: closing the pass drops p->convert
     * (and the lock cannot be held below: adding an element calls
     * on_element_added) */
    convert = gst_object_ref (p->convert);
  }
  g_mutex_unlock (&p->lock);
  if (!take) {
    gst_caps_unref (caps);
    return;
  }
#ifdef HAVE_LIBJPEG
  if (caps_are_jpeg (caps)) {
    GstObject *pipeline = gst_element_get_parent (decodebin);
    gboolean ok =
        pipeline && link_jpeg_sink (p, GST_ELEMENT (pipeline), convert, pad);

    if (pipeline)
      gst_object_unref (pipeline);
    gst_object_unref (convert);
    gst_caps_unref (caps);
    if (!ok)
      GST_ELEMENT_ERROR (decodebin, CORE, PAD, ("cannot take its JPEG frames"),
          (NULL));
    return;
  }
#endif
  gst_caps_unref (caps);
  sinkpad = gst_element_get_static_pad (convert, "sink");
  if (gst_pad_link (pad, sinkpad) != GST_PAD_LINK_OK)
    GST_ELEMENT_ERROR (decodebin, CORE, PAD, ("cannot convert its frames"),
        (NULL));
  gst_object_unref (sinkpad);
  gst_object_unref (convert);
}

static GstPadProbeReturn
count_probe (GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
  Pass *p = user;
  GstPadProbeReturn ret = GST_PAD_PROBE_DROP;
  guint64 i;

  (void) pad;
  (void) info;
  g_mutex_lock (&p->lock);
  if (!p->closed) {
    i = p->n_seen++;
    g_atomic_int_inc (&p->progress);
    if (p->next_keep < p->n_keep && p->keep[p->next_keep] == i) {
      p->next_keep++;
      ret = GST_PAD_PROBE_OK;
    }
  }
  g_mutex_unlock (&p->lock);
  return ret;
}

/* records in @p that a stream was refused for frames of @w x @h */
static void
refuse_size (Pass *p, gint w, gint h)
{
  g_mutex_lock (&p->lock);
  p->too_wide = w;
  p->too_high = h;
  g_mutex_unlock (&p->lock);
}

/* TRUE (and recorded in @p) if @caps give frames too large (size_ok) */
static gboolean
caps_size_refused (Pass *p, GstCaps *caps)
{
  GstStructure *s;
  gint w = 0, h = 0;

  if (caps == NULL || gst_caps_get_size (caps) == 0)
    return FALSE;
  s = gst_caps_get_structure (caps, 0);
  if (!gst_structure_get_int (s, "width", &w) ||
      !gst_structure_get_int (s, "height", &h) || size_ok (w, h))
    return FALSE;
  refuse_size (p, w, h);
  return TRUE;
}

/* Raw video whose frames are too large (size_ok) is refused where it
 * reaches videoconvert's sink pad, which accepts caps only after an
 * ACCEPT_CAPS query, answered here; the error then names the size. A
 * decoder inside decodebin allocates its first frame even when its caps
 * are refused: the bounded allocator (below) stops that. */
static GstPadProbeReturn
accept_caps_probe (GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
  GstQuery *query = GST_PAD_PROBE_INFO_QUERY (info);
  GstCaps *caps;

  (void) pad;
  if (GST_QUERY_TYPE (query) != GST_QUERY_ACCEPT_CAPS)
    return GST_PAD_PROBE_OK;
  gst_query_parse_accept_caps (query, &caps);
  if (!caps_size_refused (user, caps))
    return GST_PAD_PROBE_OK;
  gst_query_set_accept_caps_result (query, FALSE);
  return GST_PAD_PROBE_HANDLED;
}

/* The frame size a JPEG's frame header (SOFn) claims, walking its segments
 * by their lengths as decoders do (bytes between segments are skipped as
 * decoders skip them to resync): TRUE with *@w, *@h when a frame header
 * comes before the first scan. */
static gboolean
jpeg_frame_size (const guint8 *d, gsize n, guint *w, guint *h)
{
  gsize i = 2;

  if (n < 4 || d[0] != 0xff || d[1] != 0xd8)
    return FALSE;
  while (i + 4 <= n) {
    guint8 m;

    if (d[i] != 0xff || d[i + 1] == 0xff) { /* garbage or fill bytes */
      i++;
      continue;
    }
    m = d[i + 1];
    if (m == 0x00 || m == 0x01 || m == 0xd8 || (m >= 0xd0 && m <= 0xd7)) {
      i += 2; /* markers without a length */
      continue;
    }
    if (m == 0xd9 || m == 0xda)
      return FALSE; /* end of image, start of scan */
    if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
      if (i + 9 > n)
        return FALSE;
      *h = (guint) d[i + 5] << 8 | d[i + 6];
      *w = (guint) d[i + 7] << 8 | d[i + 8];
      return TRUE;
    }
    i += 2 + ((gsize) d[i + 2] << 8 | d[i + 3]);
  }
  return FALSE;
}

/* A JPEG frame whose header claims more pixels than size_ok allows is
 * never decoded: a damaged 1.8 KB MJPEG AVI claiming 58917x60131 pixels
 * cost jpegdec 1.3 s of CPU per frame before failing (fuzz-image), its
 * output refused anyway. On the JPEG sink (link_jpeg_sink), and on any JPEG
 * decoder decodebin plugs (on_element_added: builds without libjpeg). The
 * pass fails at once with the size. */
static GstPadProbeReturn
jpeg_size_probe (GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
  Pass *p = user;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstMapInfo map;
  guint w = 0, h = 0;
  gboolean refused;
  GstObject *parent;

  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return GST_PAD_PROBE_OK;
  refused = jpeg_frame_size (map.data, map.size, &w, &h) && !size_ok (w, h);
  gst_buffer_unmap (buf, &map);
  if (!refused)
    return GST_PAD_PROBE_OK;
  refuse_size (p, (gint) w, (gint) h);
  parent = gst_pad_get_parent (pad);
  if (parent) {
    GError *err = g_error_new (GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
        "a JPEG frame of %ux%u pixels", w, h);
    gst_element_post_message (GST_ELEMENT (parent),
        gst_message_new_error (parent, err, NULL));
    g_error_free (err);
    gst_object_unref (parent);
  }
  return GST_PAD_PROBE_DROP;
}

/* An element decodebin adds: a JPEG decoder's input is checked
 * (jpeg_size_probe). */
static void
on_element_added (GstBin *bin, GstBin *sub_bin, GstElement *element,
    gpointer user)
{
  Pass *p = user;
  GstElementFactory *f = gst_element_get_factory (element);
  GstPad *sink;
  GstCaps *caps, *jpeg;
  gboolean closed, takes_jpeg;

  (void) bin;
  (void) sub_bin;
  g_mutex_lock (&p->lock);
  closed = p->closed;
  g_mutex_unlock (&p->lock);
  if (closed || f == NULL ||
      !gst_element_factory_list_is_type (f, GST_ELEMENT_FACTORY_TYPE_DECODER))
    return;
  sink = gst_element_get_static_pad (element, "sink");
  if (sink == NULL)
    return;
  caps = gst_pad_get_pad_template_caps (sink);
  jpeg = gst_caps_from_string ("image/jpeg");
  takes_jpeg = gst_caps_can_intersect (caps, jpeg);
  gst_caps_unref (jpeg);
  gst_caps_unref (caps);
  if (takes_jpeg)
    gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_BUFFER, jpeg_size_probe,
        pass_ref (p), pass_unref);
  gst_object_unref (sink);
}

/* copies a sample's frame, rows packed */
static Frame *
frame_from_sample (GstSample *sample)
{
  GstVideoInfo info;
  GstVideoFrame vf;
  Frame *f = NULL;
  IbPixelFormat format;
  const guint8 *src;
  int bpp, stride, y;

  if (!gst_video_info_from_caps (&info, gst_sample_get_caps (sample)))
    return NULL;
  if (GST_VIDEO_INFO_FORMAT (&info) == GST_VIDEO_FORMAT_RGB) {
    format = IB_PIXEL_FORMAT_RGB;
    bpp = 3;
  } else if (GST_VIDEO_INFO_FORMAT (&info) == GST_VIDEO_FORMAT_RGBA) {
    format = IB_PIXEL_FORMAT_RGBA;
    bpp = 4;
  } else {
    return NULL;
  }
  if (!gst_video_frame_map (&vf, &info, gst_sample_get_buffer (sample),
          GST_MAP_READ))
    return NULL;
  f = frame_new (GST_VIDEO_FRAME_WIDTH (&vf), GST_VIDEO_FRAME_HEIGHT (&vf), bpp,
      format);
  if (f == NULL)
    goto out;
  src = GST_VIDEO_FRAME_PLANE_DATA (&vf, 0);
  stride = GST_VIDEO_FRAME_PLANE_STRIDE (&vf, 0);
  for (y = 0; y < f->height; y++)
    memcpy (f->data + (gsize) y * f->stride, src + (gsize) y * stride,
        f->stride);

out:
  gst_video_frame_unmap (&vf);
  return f;
}

/* hands a decoded frame to @p; FALSE if the pass is closed */
static gboolean
pass_add_frame (GstElement *sink, Pass *p, Frame *f)
{
  gboolean done;

  g_mutex_lock (&p->lock);
  if (p->closed) {
    g_mutex_unlock (&p->lock);
    frame_free (f);
    return FALSE;
  }
  g_ptr_array_add (p->frames, f);
  done = p->stop_early && p->frames->len == p->n_keep;
  g_mutex_unlock (&p->lock);
  if (done)
    gst_element_post_message (sink,
        gst_message_new_application (GST_OBJECT (sink),
            gst_structure_new_empty ("ask-media-done")));
  return TRUE;
}

static GstFlowReturn
on_new_sample (GstAppSink *sink, gpointer user)
{
  GstSample *sample = gst_app_sink_pull_sample (sink);
  Frame *f;

  if (sample == NULL)
    return GST_FLOW_EOS;
  f = frame_from_sample (sample);
  gst_sample_unref (sample);
  if (f == NULL) {
    GST_ELEMENT_ERROR (sink, STREAM, DECODE, ("cannot read a decoded frame"),
        (NULL));
    return GST_FLOW_ERROR;
  }
  return pass_add_frame (GST_ELEMENT (sink), user, f) ? GST_FLOW_OK :
                                                        GST_FLOW_FLUSHING;
}

#ifdef HAVE_LIBJPEG
/* a kept JPEG frame (link_jpeg_sink), decoded within the stall limit */
static GstFlowReturn
on_new_jpeg_sample (GstAppSink *sink, gpointer user)
{
  Pass *p = user;
  GstSample *sample = gst_app_sink_pull_sample (sink);
  GstBuffer *buf;
  GstMapInfo map;
  GError *err = NULL;
  Frame *f = NULL;

  if (sample == NULL)
    return GST_FLOW_EOS;
  buf = gst_sample_get_buffer (sample);
  if (buf != NULL && gst_buffer_map (buf, &map, GST_MAP_READ)) {
    f = decode_jpeg ("a video frame", map.data, map.size, &err);
    gst_buffer_unmap (buf, &map);
  }
  gst_sample_unref (sample);
  if (f == NULL) {
    GST_ELEMENT_ERROR (sink, STREAM, DECODE,
        ("%s", err ? err->message : "cannot read a JPEG frame"), (NULL));
    g_clear_error (&err);
    return GST_FLOW_ERROR;
  }
  return pass_add_frame (GST_ELEMENT (sink), p, f) ? GST_FLOW_OK :
                                                     GST_FLOW_FLUSHING;
}
#endif

/* TRUE if a stream of @p was refused for its frame size (accept_caps_probe) */
static gboolean
pass_refused_size (Pass *p)
{
  gboolean refused;

  g_mutex_lock (&p->lock);
  refused = p->too_wide > 0 || p->too_high > 0;
  g_mutex_unlock (&p->lock);
  return refused;
}

/* the bus error of a failed pass as an ASK_MEDIA_ERROR (the size error
 * first, whatever the bus says, if a stream was refused for its size) */
static void
set_gst_error (const char *path, Pass *p, GstMessage *msg, GError **error)
{
  GError *gerr = NULL;
  char *debug = NULL;
  int code = ASK_MEDIA_ERROR_DECODE;
  gint too_wide, too_high;
  gboolean linked;

  g_mutex_lock (&p->lock);
  too_wide = p->too_wide;
  too_high = p->too_high;
  linked = p->linked;
  g_mutex_unlock (&p->lock);
  if (too_wide > 0 || too_high > 0) {
    g_set_error (error, ASK_MEDIA_ERROR, code,
        "%s: frames of %dx%d pixels; images and videos may have 1 to %d "
        "pixels a side and at most %d in all",
        path, too_wide, too_high, IB_IMAGE_MAX_DIM, ASK_MEDIA_MAX_PIXELS);
    return;
  }
  if (msg == NULL) {
    g_set_error (error, ASK_MEDIA_ERROR, code,
        "%s: GStreamer could not start decoding", path);
    return;
  }
  gst_message_parse_error (msg, &gerr, &debug);
  if (g_error_matches (gerr, GST_STREAM_ERROR, GST_STREAM_ERROR_TYPE_NOT_FOUND))
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_NOT_MEDIA,
        "%s: not an image or video (%s)", path, gerr->message);
  else if (g_error_matches (gerr, GST_CORE_ERROR,
               GST_CORE_ERROR_MISSING_PLUGIN) ||
      g_error_matches (gerr, GST_STREAM_ERROR,
          GST_STREAM_ERROR_CODEC_NOT_FOUND))
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE,
        "%s: no GStreamer decoder for this format (%s)", path, gerr->message);
  else if (!linked)
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_NOT_MEDIA,
        "%s: no video stream: not an image or video (%s)", path, gerr->message);
  else if (gerr->domain == GST_RESOURCE_ERROR)
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_NOT_FOUND, "%s: %s",
        path, gerr->message);
  else
    g_set_error (error, ASK_MEDIA_ERROR, code, "%s: %s (%s)", path,
        gerr->message, debug ? debug : "no details");
  g_clear_error (&gerr);
  g_free (debug);
}

/* Sets @pipeline to NULL and drops it, in a thread of its own. */
typedef struct
{
  GstElement *pipeline;
  GMutex lock;
  GCond cond;
  gboolean done;
  gboolean left; /* an element would not go to NULL: the pipeline is kept */
} Stopper;

/* Sets every element in @bin, at any depth, to NULL, whatever the others do */
static void
set_each_null (GstBin *bin)
{
  GstIterator *it = gst_bin_iterate_recurse (bin);
  GValue v = G_VALUE_INIT;
  GstIteratorResult r;

  while ((r = gst_iterator_next (it, &v)) != GST_ITERATOR_DONE &&
      r != GST_ITERATOR_ERROR) {
    if (r == GST_ITERATOR_RESYNC) {
      gst_iterator_resync (it);
      continue;
    }
    gst_element_set_state (g_value_get_object (&v), GST_STATE_NULL);
    g_value_reset (&v);
  }
  g_value_unset (&v);
  gst_iterator_free (it);
}

/* TRUE if every element in @bin, at any depth, is in NULL */
static gboolean
all_null (GstBin *bin)
{
  GstIterator *it = gst_bin_iterate_recurse (bin);
  GValue v = G_VALUE_INIT;
  GstIteratorResult r;
  gboolean ok = TRUE;

  while (ok && (r = gst_iterator_next (it, &v)) != GST_ITERATOR_DONE &&
      r != GST_ITERATOR_ERROR) {
    GstState cur = GST_STATE_VOID_PENDING;
    if (r == GST_ITERATOR_RESYNC) {
      gst_iterator_resync (it);
      continue;
    }
    gst_element_get_state (g_value_get_object (&v), &cur, NULL, 0);
    ok = cur == GST_STATE_NULL;
    g_value_reset (&v);
  }
  g_value_unset (&v);
  gst_iterator_free (it);
  return ok;
}

static gpointer
stop_thread (gpointer data)
{
  Stopper *st = data;
  gboolean left = FALSE;

  /* A bin stops at the first child that fails to go down (a decoder
   * failing in its PAUSED to READY), leaving the others in PAUSED: then
   * every element is set to NULL on its own. An element that still is not
   * in NULL (decodebin's typefind, about once in 10 000 damaged files:
   * GStreamer's CRITICAL "Trying to dispose element typefind, but it is in
   * PAUSED" when the pipeline was dropped, fuzz-image) may still have a
   * streaming thread: the pipeline is then kept, never disposed under it,
   * and the pass reported as not stopped. */
  if (gst_element_set_state (st->pipeline, GST_STATE_NULL) ==
      GST_STATE_CHANGE_FAILURE) {
    set_each_null (GST_BIN (st->pipeline));
    gst_element_set_state (st->pipeline, GST_STATE_NULL);
  }
  if (all_null (GST_BIN (st->pipeline)))
    gst_object_unref (st->pipeline);
  else
    left = TRUE; /* its reference is kept: the pipeline is left behind */
  g_mutex_lock (&st->lock);
  st->left = left;
  st->done = TRUE;
  g_cond_signal (&st->cond);
  g_mutex_unlock (&st->lock);
  return NULL;
}

/* Stops @pipeline within ASK_MEDIA_STOP_US. TRUE if it stopped (its
 * streaming threads are joined); FALSE if a thread is stuck in an element
 * or an element would not go to NULL: the pipeline, and the pass it writes
 * to, are then left to it. */
static gboolean
stop_pipeline (GstElement *pipeline)
{
  Stopper *st = g_new0 (Stopper, 1);
  gint64 end = g_get_monotonic_time () + ASK_MEDIA_STOP_US;
  gboolean done, stopped;

  st->pipeline = pipeline;
  g_mutex_init (&st->lock);
  g_cond_init (&st->cond);
  g_thread_unref (g_thread_new ("ask-media-stop", stop_thread, st));
  g_mutex_lock (&st->lock);
  while (!st->done && g_cond_wait_until (&st->cond, &st->lock, end))
    ;
  done = st->done;
  stopped = done && !st->left;
  g_mutex_unlock (&st->lock);
  if (!done)
    return FALSE; /* st stays with the thread */
  g_mutex_clear (&st->lock);
  g_cond_clear (&st->cond);
  g_free (st);
  return stopped;
}

/* Waits for the end of a pass: EOS, an error or the last kept frame;
 * NULL when no frame arrived for stall_us. */
static GstMessage *
wait_pass (GstBus *bus, Pass *p)
{
  gint64 last = g_get_monotonic_time ();
  gint seen = g_atomic_int_get (&p->progress);
  GstMessage *msg;

  for (;;) {
    /* polled at a fifth of the stall limit, at most every 100 ms */
    msg = gst_bus_timed_pop_filtered (bus,
        MIN (100 * GST_MSECOND, stall_us * GST_USECOND / 5),
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_APPLICATION);
    if (msg != NULL)
      return msg;
    if (g_atomic_int_get (&p->progress) != seen) {
      seen = g_atomic_int_get (&p->progress);
      last = g_get_monotonic_time ();
    } else if (g_get_monotonic_time () - last > stall_us) {
      return NULL;
    }
  }
}

/* Runs one pass over @path, keeping the frames @p asks for. The streaming
 * threads work on a reference-counted copy of @p, closed when its results
 * are taken, so that a pipeline that cannot be stopped (or a decodebin
 * that adds a pad after going to NULL) never writes to freed memory or to
 * the caller's. */
static gboolean run_pass_on (const char *path, Pass *p, gboolean *stopped,
    GError **error);

static gboolean
run_pass (const char *path, Pass *p, GError **error)
{
  Pass *own = g_new0 (Pass, 1);
  GstElement *convert;
  gboolean ok, stopped = TRUE;

  own->ref = 1;
  g_mutex_init (&own->lock);
  own->keep = g_memdup2 (p->keep, p->n_keep * sizeof (guint64));
  own->n_keep = p->n_keep;
  own->stop_early = p->stop_early;
  own->frames = g_ptr_array_new_with_free_func (frame_free);
  ok = run_pass_on (path, own, &stopped, error);
  g_mutex_lock (&own->lock);
  own->closed = TRUE;
  if (stopped) {
    p->n_seen = own->n_seen;
    p->linked = own->linked;
    p->next_keep = own->next_keep;
    while (own->frames->len > 0)
      g_ptr_array_add (p->frames, g_ptr_array_steal_index (own->frames, 0));
  }
  /* no callback uses it once closed; its pad's probe holds a reference to
   * the pass: dropped here, the cycle is broken */
  convert = own->convert;
  own->convert = NULL;
  g_mutex_unlock (&own->lock);
  gst_clear_object (&convert);
  /* the streaming threads' references keep it while they may call */
  pass_unref (own);
  return stopped && ok;
}

static gboolean
run_pass_on (const char *path, Pass *p, gboolean *stopped, GError **error)
{
  GstElement *pipeline = gst_pipeline_new ("ask-media");
  GstElement *src = gst_element_factory_make ("filesrc", NULL);
  GstElement *dec = gst_element_factory_make ("decodebin", NULL);
  GstElement *sink = gst_element_factory_make ("appsink", ASK_RAW_SINK);
  GstAppSinkCallbacks cb = { 0 };
  GstCaps *caps = NULL;
  GstBus *bus = NULL;
  GstMessage *msg = NULL;
  GstPad *pad;
  gboolean ok = FALSE;

  /* the pass's own reference: on_pad_added may still use it after the
   * pipeline is gone */
  p->convert = gst_element_factory_make ("videoconvert", NULL);
  if (p->convert)
    gst_object_ref_sink (p->convert);
  if (!src || !dec || !p->convert || !sink) {
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE,
        "GStreamer elements filesrc, decodebin, videoconvert or appsink are "
        "missing (gstreamer1.0-plugins-base)");
    gst_clear_object (&src);
    gst_clear_object (&dec);
    gst_clear_object (&p->convert);
    gst_clear_object (&sink);
    goto out;
  }
  gst_bin_add_many (GST_BIN (pipeline), src, dec, p->convert, sink, NULL);
  g_object_set (src, "location", path, NULL);
  /* RGBA only where the source has alpha: the engine composites it over
   * white as the reference processor's convert_to_rgb does */
  caps = gst_caps_from_string ("video/x-raw, format = (string) { RGB, RGBA }");
  g_object_set (sink, "caps", caps, "sync", FALSE, "qos", FALSE, NULL);
  cb.new_sample = on_new_sample;
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &cb, pass_ref (p),
      pass_unref);
  if (!gst_element_link (src, dec) || !gst_element_link (p->convert, sink)) {
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE,
        "%s: cannot link the decoding pipeline", path);
    goto out;
  }
  g_signal_connect_data (dec, "pad-added", G_CALLBACK (on_pad_added),
      pass_ref (p), pass_unref_closure, 0);
#ifdef HAVE_LIBJPEG
  g_signal_connect (dec, "autoplug-continue", G_CALLBACK (on_autoplug_continue),
      NULL);
#endif
  pad = gst_element_get_static_pad (p->convert, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_probe, pass_ref (p),
      pass_unref);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_QUERY_BOTH, accept_caps_probe,
      pass_ref (p), pass_unref);
  g_signal_connect_data (pipeline, "deep-element-added",
      G_CALLBACK (on_element_added), pass_ref (p), pass_unref_closure, 0);
  gst_object_unref (pad);

  bus = gst_element_get_bus (pipeline);
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    set_gst_error (path, p, msg, error);
    goto out;
  }
  msg = wait_pass (bus, p);
  /* a refused size is the error, however the pass ended */
  if (pass_refused_size (p) ||
      (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)) {
    set_gst_error (path, p, msg, error);
    goto out;
  }
  if (msg == NULL) {
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE,
        "%s: decoding stalled: no frame for %.1f s after %" G_GUINT64_FORMAT
        " frames (a damaged file, or a format GStreamer's decoder does not "
        "finish)",
        path, stall_us / (double) G_USEC_PER_SEC,
        (guint64) g_atomic_int_get (&p->progress));
    goto out;
  }
  if (!p->linked || p->n_seen == 0) {
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_NOT_MEDIA, "%s: %s",
        path,
        p->linked ? "the video stream decodes to no frames" :
                    "no video stream: not an image or video");
    goto out;
  }
  ok = TRUE;

out:
  if (msg)
    gst_message_unref (msg);
  if (bus)
    gst_object_unref (bus);
  if (caps)
    gst_caps_unref (caps);
  /* joins the streaming threads: @p is ours again after this */
  *stopped = stop_pipeline (pipeline);
  if (!*stopped && ok) {
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE,
        "%s: GStreamer did not stop decoding (within %d s, or one of its "
        "elements would not stop)",
        path, (int) (ASK_MEDIA_STOP_US / G_USEC_PER_SEC));
    ok = FALSE;
  }
  return ok;
}

/* ---- files ------------------------------------------------------------ */

/* Reads the first bytes of @path into @magic (zero-filled if shorter),
 * which also tells whether the file can be read at all. */
static gboolean
read_magic (const char *path, guint8 *magic, gsize len, GError **error)
{
  int fd = g_open (path, O_RDONLY, 0);
  ssize_t n;
  int saved;

  memset (magic, 0, len);
  if (fd < 0) {
    saved = errno;
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_NOT_FOUND, "%s: %s",
        path, g_strerror (saved));
    return FALSE;
  }
  n = read (fd, magic, len);
  saved = errno;
  close (fd);
  if (n < 0) {
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_NOT_FOUND, "%s: %s",
        path, g_strerror (saved));
    return FALSE;
  }
  if (n == 0) {
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_NOT_MEDIA,
        "%s: empty file: not an image or video", path);
    return FALSE;
  }
  return TRUE;
}

#ifdef HAVE_LIBJPEG
static Frame *
load_jpeg (const char *path, GError **error)
{
  GMappedFile *map = g_mapped_file_new (path, FALSE, error);
  Frame *f;

  if (map == NULL)
    return NULL;
  f = decode_jpeg (path, (const guint8 *) g_mapped_file_get_contents (map),
      g_mapped_file_get_length (map), error);
  g_mapped_file_unref (map);
  return f;
}
#endif

/* frame indices floor (k * n / want), k = 0 .. want - 1, as LAVIS and the
 * transformers examples sample a clip */
static guint64 *
sample_indices (guint64 n, int want)
{
  guint64 *idx = g_new (guint64, want);
  int k;

  for (k = 0; k < want; k++)
    idx[k] = (guint64) k * n / (guint64) want;
  return idx;
}

/* The frames of one video, @want of them sampled uniformly. */
static gboolean
load_video (const char *path, guint64 n_total, int want, GPtrArray *frames,
    int *source_index, GError **error)
{
  guint64 *idx = sample_indices (n_total, want);
  guint64 *unique = g_new (guint64, want);
  Pass p = { 0 };
  guint n_unique = 0, j;
  int k;
  gboolean ok = FALSE;

  for (k = 0; k < want; k++)
    if (n_unique == 0 || unique[n_unique - 1] != idx[k])
      unique[n_unique++] = idx[k];
  p.keep = unique;
  p.n_keep = n_unique;
  p.stop_early = TRUE;
  p.frames = g_ptr_array_new_with_free_func (frame_free);
  if (!run_pass (path, &p, error))
    goto out;
  if (p.frames->len != n_unique) {
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE,
        "%s: the second decoding gave %u of the %u frames wanted "
        "(%" G_GUINT64_FORMAT " frames, then %" G_GUINT64_FORMAT ")",
        path, p.frames->len, n_unique, n_total, p.n_seen);
    goto out;
  }
  /* repeated indices (fewer frames than asked for) share a decoded frame:
   * copy it */
  for (k = 0, j = 0; k < want; k++) {
    Frame *src, *f;
    while (unique[j] != idx[k])
      j++;
    src = g_ptr_array_index (p.frames, j);
    f = g_memdup2 (src, sizeof (Frame));
    f->data = g_memdup2 (src->data, (gsize) src->stride * src->height);
    g_ptr_array_add (frames, f);
    source_index[k] = (int) MIN (idx[k], (guint64) G_MAXINT);
  }
  ok = TRUE;

out:
  if (p.frames)
    g_ptr_array_unref (p.frames);
  g_free (unique);
  g_free (idx);
  return ok;
}

/* A PNG whose header claims more than IB_IMAGE_MAX_DIM pixels a side (or
 * more than ASK_MEDIA_MAX_PIXELS) is refused before GStreamer sees it
 * (pngdec fails on it with criticals). */
static gboolean
check_png_size (const char *path, const guint8 *head, GError **error)
{
  static const guint8 sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  guint32 w, h;

  if (memcmp (head, sig, 8) != 0 || memcmp (head + 12, "IHDR", 4) != 0)
    return TRUE;
  w = GUINT32_FROM_BE (*(const guint32 *) (const void *) (head + 16));
  h = GUINT32_FROM_BE (*(const guint32 *) (const void *) (head + 20));
  if (size_ok (w, h))
    return TRUE;
  g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE,
      "%s: a PNG of %ux%u pixels; images may have 1 to %d pixels a side and "
      "at most %d in all",
      path, w, h, IB_IMAGE_MAX_DIM, ASK_MEDIA_MAX_PIXELS);
  return FALSE;
}

/* Decodes one file: an image (one frame), or a video if @alone. */
static gboolean
load_file (const char *path, gboolean alone, int video_frames,
    GPtrArray *frames, AskFrames *res, GError **error)
{
  static const guint64 first[1] = { 0 };
  guint8 magic[24];
  Pass p = { 0 };
  gboolean ok = FALSE;

  if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_NOT_FOUND,
        "%s: a directory, not an image or video", path);
    return FALSE;
  }
  if (!read_magic (path, magic, sizeof (magic), error) ||
      !check_png_size (path, magic, error))
    return FALSE;
#ifdef HAVE_LIBJPEG
  /* Every file that starts with a JPEG start-of-image marker, not only
   * those Pillow takes for JPEG (FF D8 FF): GStreamer's typefinder takes
   * the others for JPEG too, and jpegdec loops forever on some of them
   * (fuzz-image: 31 streaming threads spinning in its handle_frame) or
   * allocates what a damaged header claims; libjpeg decodes them, or
   * fails, within the checks above. */
  if (magic[0] == 0xff && magic[1] == 0xd8) {
    Frame *f = load_jpeg (path, error);
    if (f == NULL)
      return FALSE;
    g_ptr_array_add (frames, f);
    return TRUE;
  }
#endif

  /* first pass: count the frames, keep frame 0 */
  p.keep = first;
  p.n_keep = 1;
  p.frames = g_ptr_array_new_with_free_func (frame_free);
  if (!run_pass (path, &p, error))
    goto out;
  if (p.frames->len != 1) {
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE,
        "%s: the first frame did not arrive", path);
    goto out;
  }
  if (p.n_seen == 1) {
    g_ptr_array_add (frames, g_ptr_array_steal_index (p.frames, 0));
    ok = TRUE;
    goto out;
  }
  if (!alone) {
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_USAGE,
        "%s: a video (%" G_GUINT64_FORMAT " frames): give one video file "
        "alone, or several images",
        path, p.n_seen);
    goto out;
  }
  res->is_video = TRUE;
  res->n_source_frames = p.n_seen;
  res->source_index = g_new0 (int, video_frames);
  ok = load_video (path, p.n_seen, video_frames, frames, res->source_index,
      error);

out:
  g_ptr_array_unref (p.frames);
  return ok;
}

AskFrames *
ask_frames_load (const char *const *files, int n_files, int video_frames,
    GError **error)
{
  GPtrArray *frames;
  AskFrames *res, *ret = NULL;
  GError *init_error = NULL;
  int i;

  g_return_val_if_fail (files != NULL && n_files >= 1, NULL);
  g_return_val_if_fail (video_frames >= 1, NULL);
  frames = g_ptr_array_new_with_free_func (frame_free);
  res = g_new0 (AskFrames, 1);
  if (!gst_init_check (NULL, NULL, &init_error)) {
    g_set_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE,
        "GStreamer: %s", init_error->message);
    g_clear_error (&init_error);
    goto out;
  }
  install_bounded_allocator ();
  res->n_source_frames = 1;
  for (i = 0; i < n_files; i++)
    if (!load_file (files[i], n_files == 1, video_frames, frames, res, error))
      goto out;
  if (!res->is_video)
    res->source_index = g_new0 (int, frames->len);

  res->n_frames = frames->len;
  res->frames = g_new0 (IbImage, res->n_frames);
  res->data = g_new0 (guint8 *, res->n_frames);
  for (i = 0; i < res->n_frames; i++) {
    Frame *f = g_ptr_array_index (frames, i);
    res->frames[i].width = f->width;
    res->frames[i].height = f->height;
    res->frames[i].stride = f->stride;
    res->frames[i].format = f->format;
    res->frames[i].data = f->data;
    res->data[i] = g_steal_pointer (&f->data);
  }
  ret = g_steal_pointer (&res);

out:
  g_ptr_array_unref (frames);
  ask_frames_free (res);
  return ret;
}

void
ask_frames_free (AskFrames *frames)
{
  int i;

  if (frames == NULL)
    return;
  for (i = 0; i < frames->n_frames; i++)
    g_free (frames->data[i]);
  g_free (frames->data);
  g_free (frames->frames);
  g_free (frames->source_index);
  g_free (frames);
}
