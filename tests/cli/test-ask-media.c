/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* instructblip-ask's media decoding: PNG and JPEG pixels as Pillow gives them, uniform video sampling, and its errors. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/gst.h>

#include "ask-media.h"
#include "ask-test-util.h"

#define W 40 /* the parity frames: 40x32 RGB */
#define H 32

static char *tmp_dir;
static guint8 *parity_rgb[4]; /* tests/data/parity/images/frame*.rgb */

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static char *
frame_png (int i)
{
  char *name = g_strdup_printf ("frame%d.png", i);
  char *path = ask_test_path ("data", "parity", "images", name, NULL);

  g_free (name);
  return path;
}

static void
assert_frame (const IbImage *img, IbPixelFormat format, int w, int h,
    const guint8 *want)
{
  int bpp = format == IB_PIXEL_FORMAT_RGBA ? 4 : 3, y;

  g_assert_cmpint (img->format, ==, format);
  g_assert_cmpint (img->width, ==, w);
  g_assert_cmpint (img->height, ==, h);
  g_assert_cmpint (img->stride, >=, w * bpp);
  for (y = 0; y < h; y++)
    g_assert_cmpmem (img->data + (gsize) y * img->stride, w * bpp,
        want + (gsize) y * w * bpp, w * bpp);
}

/* decodes @files expecting success */
static AskFrames *
load (const char *const *files, int n, int video_frames)
{
  GError *error = NULL;
  AskFrames *f = ask_frames_load (files, n, video_frames, &error);

  g_assert_no_error (error);
  g_assert_nonnull (f);
  return f;
}

/* decodes @files expecting @code; prints the message */
static void
load_fails (const char *const *files, int n, AskMediaError code)
{
  GError *error = NULL;
  AskFrames *f = ask_frames_load (files, n, 4, &error);

  g_assert_null (f);
  g_assert_error (error, ASK_MEDIA_ERROR, (int) code);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
}

static void
test_png (void)
{
  char *files[4];
  AskFrames *f;
  int i;

  for (i = 0; i < 4; i++)
    files[i] = frame_png (i);
  /* one image */
  f = load ((const char *const *) files, 1, 4);
  g_assert_cmpint (f->n_frames, ==, 1);
  g_assert_false (f->is_video);
  assert_frame (&f->frames[0], IB_PIXEL_FORMAT_RGB, W, H, parity_rgb[0]);
  ask_frames_free (f);
  /* several: one frame each, in order */
  f = load ((const char *const *) files, 4, 4);
  g_assert_cmpint (f->n_frames, ==, 4);
  for (i = 0; i < 4; i++)
    assert_frame (&f->frames[i], IB_PIXEL_FORMAT_RGB, W, H, parity_rgb[i]);
  ask_frames_free (f);
  for (i = 0; i < 4; i++)
    g_free (files[i]);
}

/* alpha stays: the engine composites it over white like the reference */
static void
test_png_alpha (void)
{
  guint8 *rgba = g_malloc (W * H * 4);
  char *path = tmp_path ("alpha.png");
  const guint8 *frames[1] = { rgba };
  GError *error = NULL;
  AskFrames *f;
  int i;

  for (i = 0; i < W * H; i++) {
    memcpy (rgba + 4 * i, parity_rgb[1] + 3 * i, 3);
    rgba[4 * i + 3] = (guint8) (i * 7);
  }
  g_assert_true (
      ask_test_encode (path, "RGBA", W, H, frames, 1, "pngenc", &error));
  g_assert_no_error (error);
  f = load ((const char *const *) &path, 1, 4);
  g_assert_cmpint (f->n_frames, ==, 1);
  assert_frame (&f->frames[0], IB_PIXEL_FORMAT_RGBA, W, H, rgba);
  ask_frames_free (f);
  g_remove (path);
  g_free (path);
  g_free (rgba);
}

/* grey PNG: R = G = B = the grey level, as Pillow's convert ("RGB") */
static void
test_png_gray (void)
{
  guint8 *gray = g_malloc (W * H), *rgb = g_malloc (W * H * 3);
  char *path = tmp_path ("gray.png");
  const guint8 *frames[1] = { gray };
  GError *error = NULL;
  AskFrames *f;
  int i;

  for (i = 0; i < W * H; i++) {
    gray[i] = parity_rgb[2][3 * i + 1];
    memset (rgb + 3 * i, gray[i], 3);
  }
  g_assert_true (
      ask_test_encode (path, "GRAY8", W, H, frames, 1, "pngenc", &error));
  g_assert_no_error (error);
  f = load ((const char *const *) &path, 1, 4);
  assert_frame (&f->frames[0], IB_PIXEL_FORMAT_RGB, W, H, rgb);
  ask_frames_free (f);
  g_remove (path);
  g_free (path);
  g_free (gray);
  g_free (rgb);
}

static void
test_jpeg (void)
{
  const char *names[] = { "jpeg420", "jpeg444-progressive", "jpeg-gray" };
  guint i;

  if (!ask_media_has_exact_jpeg ()) {
    g_test_skip ("built without libjpeg: JPEG goes through jpegdec, which "
                 "is not Pillow-exact");
    return;
  }
  for (i = 0; i < G_N_ELEMENTS (names); i++) {
    char *jpg = g_strconcat (names[i], ".jpg", NULL);
    char *raw = g_strconcat (names[i], ".rgb", NULL);
    char *jpg_path = ask_test_path ("cli", "data", jpg, NULL);
    char *raw_path = ask_test_path ("cli", "data", raw, NULL);
    guint8 *want = ask_test_read_exact (raw_path, 37 * 29 * 3);
    AskFrames *f = load ((const char *const *) &jpg_path, 1, 4);

    g_test_message ("%s", names[i]);
    assert_frame (&f->frames[0], IB_PIXEL_FORMAT_RGB, 37, 29, want);
    ask_frames_free (f);
    g_free (want);
    g_free (jpg_path);
    g_free (raw_path);
    g_free (jpg);
    g_free (raw);
  }
}

/* [f0, x, f1, x, f2, x, f3, x] with x a negative of f0: sampling 4 frames
 * must give exactly the parity frames */
static char *
write_video_as (const char *name, const char *encoder)
{
  char *path = tmp_path (name);
  guint8 *junk = g_malloc (W * H * 3);
  const guint8 *frames[8];
  GError *error = NULL;
  int i;

  for (i = 0; i < W * H * 3; i++)
    junk[i] = 255 - parity_rgb[0][i];
  for (i = 0; i < 8; i++)
    frames[i] = i % 2 ? junk : parity_rgb[i / 2];
  g_assert_true (
      ask_test_encode (path, "RGB", W, H, frames, 8, encoder, &error));
  g_assert_no_error (error);
  g_free (junk);
  return path;
}

static char *
write_video (void)
{
  return write_video_as ("clip.mkv", "matroskamux");
}

static void
assert_indices (const AskFrames *f, const int *want, int n)
{
  int i;

  g_assert_true (f->is_video);
  g_assert_cmpuint (f->n_source_frames, ==, 8);
  g_assert_cmpint (f->n_frames, ==, n);
  for (i = 0; i < n; i++)
    g_assert_cmpint (f->source_index[i], ==, want[i]);
}

static void
test_video (void)
{
  static const int four[] = { 0, 2, 4, 6 }, three[] = { 0, 2, 5 },
                   one[] = { 0 };
  static const int twelve[] = { 0, 0, 1, 2, 2, 3, 4, 4, 5, 6, 6, 7 };
  char *path = write_video ();
  const char *const files[1] = { path };
  AskFrames *f;
  int i;

  f = load (files, 1, 4);
  assert_indices (f, four, 4);
  for (i = 0; i < 4; i++)
    assert_frame (&f->frames[i], IB_PIXEL_FORMAT_RGB, W, H, parity_rgb[i]);
  ask_frames_free (f);

  f = load (files, 1, 3);
  assert_indices (f, three, 3);
  ask_frames_free (f);
  f = load (files, 1, 1);
  assert_indices (f, one, 1);
  assert_frame (&f->frames[0], IB_PIXEL_FORMAT_RGB, W, H, parity_rgb[0]);
  ask_frames_free (f);
  /* more frames than the clip has: repeats, as np.arange gives them */
  f = load (files, 1, 12);
  assert_indices (f, twelve, 12);
  assert_frame (&f->frames[1], IB_PIXEL_FORMAT_RGB, W, H, parity_rgb[0]);
  ask_frames_free (f);
  g_remove (path);
  g_free (path);
}

/* MJPEG (JPEG frames in AVI): decodebin stops at the JPEG frames and the
 * kept ones are decoded as JPEG images are (libjpeg, as Pillow): each
 * sampled frame is exactly what the same frame, encoded alone as a .jpg,
 * decodes to (test_jpeg holds that path to Pillow's pixels). */
static void
test_mjpeg (void)
{
  static const int four[] = { 0, 2, 4, 6 };
  char *path;
  const char *files[1];
  AskFrames *f;
  int i;

  if (!ask_media_has_exact_jpeg ()) {
    g_test_skip ("built without libjpeg: MJPEG goes through jpegdec");
    return;
  }
  path = write_video_as ("clip-mjpeg.avi", "videoconvert ! jpegenc ! avimux");
  files[0] = path;
  f = load (files, 1, 4);
  assert_indices (f, four, 4);
  for (i = 0; i < 4; i++) {
    char *name = g_strdup_printf ("alone%d.jpg", i);
    char *jpg = tmp_path (name);
    const char *one[1] = { jpg };
    const guint8 *frame[1] = { parity_rgb[i] };
    GError *error = NULL;
    AskFrames *alone;

    g_assert_true (ask_test_encode (jpg, "RGB", W, H, frame, 1,
        "videoconvert ! jpegenc", &error));
    g_assert_no_error (error);
    alone = load (one, 1, 4);
    g_assert_false (alone->is_video);
    assert_frame (&f->frames[i], IB_PIXEL_FORMAT_RGB, W, H,
        alone->frames[0].data);
    ask_frames_free (alone);
    g_remove (jpg);
    g_free (jpg);
    g_free (name);
  }
  ask_frames_free (f);
  g_remove (path);
  g_free (path);
}

static void
test_errors (void)
{
  char *text = tmp_path ("notes.txt");
  char *empty = tmp_path ("empty.png");
  char *cut = tmp_path ("cut.jpg");
  char *video = write_video ();
  char *png = frame_png (0);
  char *jpg = ask_test_path ("cli", "data", "jpeg420.jpg", NULL);
  const char *missing[] = { "/nonexistent/frame.png" };
  const char *mixed[] = { png, video };
  guint8 *data;
  gsize len;

  g_assert_true (g_file_set_contents (text, "not a picture\n", -1, NULL));
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  g_assert_true (g_file_get_contents (jpg, (char **) &data, &len, NULL));
  g_assert_true (g_file_set_contents (cut, (char *) data, len / 2, NULL));

  load_fails (missing, 1, ASK_MEDIA_ERROR_NOT_FOUND);
  load_fails ((const char *const *) &tmp_dir, 1, ASK_MEDIA_ERROR_NOT_FOUND);
  load_fails ((const char *const *) &text, 1, ASK_MEDIA_ERROR_NOT_MEDIA);
  load_fails ((const char *const *) &empty, 1, ASK_MEDIA_ERROR_NOT_MEDIA);
  load_fails (mixed, 2, ASK_MEDIA_ERROR_USAGE);
  if (ask_media_has_exact_jpeg ())
    load_fails ((const char *const *) &cut, 1, ASK_MEDIA_ERROR_DECODE);

  g_remove (text);
  g_remove (empty);
  g_remove (cut);
  g_remove (video);
  g_free (data);
  g_free (text);
  g_free (empty);
  g_free (cut);
  g_free (video);
  g_free (png);
  g_free (jpg);
}

/* a PNG whose header claims 100000x100000 pixels printed
 * GStreamer-CRITICALs (fatal here) */
static void
test_png_huge (void)
{
  static const guint8 head[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0,
    0, 0, 13, 'I', 'H', 'D', 'R', 0x00, 0x01, 0x86, 0xa0, /* 100000 */
    0x00, 0x01, 0x86, 0xa0, 8, 2, 0, 0, 0, 0, 0, 0, 0 };
  char *path = tmp_path ("huge.png");
  const char *files[1] = { path };
  GError *error = NULL;

  g_assert_true (
      g_file_set_contents (path, (const char *) head, sizeof (head), NULL));
  g_assert_null (ask_frames_load (files, 1, 4, &error));
  g_assert_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE);
  g_assert_nonnull (strstr (error->message,
      "a PNG of 100000x100000 pixels; "
      "images may have 1 to 32768"));
  g_clear_error (&error);
  g_remove (path);
  g_free (path);
}

/* A 220-byte JPEG (found by fuzz-image-jpeg) whose header claims
 * 16384x16384 pixels: 805 MB and minutes of work, or 3 GB and an abort in
 * g_malloc for 32768x32768. Refused from the header, as Pillow refuses
 * more than 2 * MAX_IMAGE_PIXELS. */
static void
test_jpeg_huge (void)
{
  static const guint8 jpeg[] = { 0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46,
    0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
    0xff, 0xdb, 0x00, 0x43, 0x00, 0x06, 0x04, 0x05, 0x06, 0x05, 0x04, 0x06,
    0x06, 0x05, 0x06, 0x07, 0x07, 0x06, 0x08, 0x0a, 0x10, 0x0a, 0x0a, 0x09,
    0x09, 0x0a, 0x14, 0x0e, 0x0f, 0x0c, 0x10, 0x17, 0x14, 0x18, 0x18, 0x17,
    0x14, 0x16, 0x16, 0x1a, 0x1d, 0x25, 0x1f, 0x1a, 0x1b, 0x23, 0x1c, 0x16,
    0x16, 0x20, 0x2c, 0x20, 0x23, 0x26, 0x27, 0x29, 0x2a, 0x29, 0x19, 0x1f,
    0x2d, 0x31, 0x2d, 0x28, 0x30, 0x25, 0x28, 0x29, 0x28, 0x4e, 0x55, 0x4c,
    0x4c, 0xff, 0xc0, 0x00, 0x0b, 0x08, 0x40, 0x00, 0x40, 0x00, 0x01, 0x01,
    0x11, 0x00, 0xff, 0xc4, 0x00, 0x1f, 0x00, 0x00, 0x01, 0x05, 0x01, 0x01,
    0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x00,
    0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0xa9, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0x15, 0xb1, 0x08, 0x23, 0xc1, 0xa1,
    0x42, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16,
    0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0xf8, 0xf9, 0xfa, 0xff,
    0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x9c, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0xfd, 0xfe, 0xfc, 0xfc, 0xfd, 0x04, 0x03, 0x05, 0x05,
    0x04, 0x82, 0x00, 0xc6, 0x3d, 0x2b, 0xff, 0xd9 };
  char *path;
  const char *files[1];
  GError *error = NULL;

  if (!ask_media_has_exact_jpeg ()) {
    g_test_skip ("built without libjpeg: JPEG goes through jpegdec");
    return;
  }
  path = tmp_path ("huge.jpg");
  files[0] = path;

  g_assert_true (
      g_file_set_contents (path, (const char *) jpeg, sizeof (jpeg), NULL));
  g_assert_null (ask_frames_load (files, 1, 4, &error));
  g_assert_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE);
  g_assert_nonnull (strstr (error->message,
      "a JPEG of 16384x16384 pixels; images may have 1 to 32768 pixels a "
      "side and at most 178956970 in all"));
  g_clear_error (&error);
  g_remove (path);
  g_free (path);
}

/* The writer of a FIFO that never ends: read_magic gets the PNG
 * signature, then the decoder gets it again and waits for more. */
typedef struct
{
  char *path;
  guint hold_ms; /* how long the second writer keeps the pipe open */
} Fifo;

static gpointer
fifo_writer (gpointer data)
{
  static const char sig[8] = { '\x89', 'P', 'N', 'G', '\r', '\n', '\x1a',
    '\n' };
  Fifo *f = data;
  int i, fd;

  for (i = 0; i < 2; i++) {
    ssize_t n;

    /* a reader that closes between our open and write (the program's
     * magic check closing late, GStreamer probing the file) leaves no
     * reader: EPIPE (SIGPIPE is ignored in main), open again */
    do {
      fd = g_open (f->path, O_WRONLY, 0);
      g_assert_cmpint (fd, >=, 0);
      n = write (fd, sig, sizeof (sig));
      if (n < 0) {
        g_assert_cmpint (errno, ==, EPIPE);
        close (fd);
      }
    } while (n < 0);
    g_assert_cmpint (n, ==, sizeof (sig));
    if (i == 1)
      g_usleep (f->hold_ms * 1000);
    close (fd);
  }
  return NULL;
}

/* 144 damaged bytes of a progressive JPEG claiming 12679x4100 pixels: the
 * fuzzer's decoding of them under ASan on a loaded machine took 127 s
 * (0.4 s in a normal build, as in Pillow). Every JPEG decoding is bounded
 * by the stall limit: with a limit of 1 us this one cannot finish. */
/* A damaged 277-byte file (FF D8 E6 ...) that GStreamer takes for a JPEG of
 * 58917x60131 pixels (fuzz-image): jpegdec allocated 3.5 GB for the frame
 * before anything could refuse its caps. Files starting FF D8 now go to
 * libjpeg, whose header check refuses the size, and the CLI's GStreamer
 * memory is bounded for the decoders that remain: the decoding fails at
 * once, and this process never grows by gigabytes. */
static void
test_decoder_huge (void)
{
  char *path = ask_test_path ("fuzz", "regressions", "fuzz-image",
      "jpegdec-huge-frame.bin", NULL);
  const char *files[1] = { path };
  struct rusage before, after;
  GError *error = NULL;
  GstMemory *mem;

  g_assert_cmpint (getrusage (RUSAGE_SELF, &before), ==, 0);
  g_assert_null (ask_frames_load (files, 1, 4, &error));
  g_assert_cmpint (getrusage (RUSAGE_SELF, &after), ==, 0);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE);
  g_clear_error (&error);
  /* ru_maxrss in KiB: the peak grew by less than 256 MiB */
  g_assert_cmpint (after.ru_maxrss - before.ru_maxrss, <, 256 * 1024);
  /* the allocator behind it: frame-sized blocks, never 2 GiB (an untouched
   * block would not show in the resident size above) */
  mem = gst_allocator_alloc (NULL, 1 << 20, NULL);
  g_assert_nonnull (mem);
  gst_memory_unref (mem);
  g_assert_null (gst_allocator_alloc (NULL, (gsize) 2 << 30, NULL));
  g_free (path);
}

/* CPU seconds this process has used */
static double
cpu_seconds (void)
{
  struct rusage ru;

  g_assert_cmpint (getrusage (RUSAGE_SELF, &ru), ==, 0);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
      (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* A damaged 1.8 KB MJPEG AVI (fuzz-image) whose frame header claims
 * 58917x60131 pixels: jpegdec spent 1.3 s of CPU decoding it before failing
 * (a CPU bomb: as many seconds as the file has such frames). The frame is
 * refused before the decoder sees it: the size error, and a small fraction
 * of that CPU. */
static void
test_mjpeg_huge (void)
{
  char *path = ask_test_path ("fuzz", "regressions", "fuzz-image",
      "mjpeg-huge-frame.avi", NULL);
  const char *files[1] = { path };
  GError *error = NULL;
  double cpu = cpu_seconds ();

  g_assert_null (ask_frames_load (files, 1, 4, &error));
  cpu = cpu_seconds () - cpu;
  g_assert_nonnull (error);
  g_test_message ("%s (%.3f CPU-s)", error->message, cpu);
  g_assert_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE);
  /* (jpegdec read another height from this damaged header: 60131) */
  g_assert_nonnull (strstr (error->message, "frames of 58917x"));
  g_clear_error (&error);
  /* not a timing test but a bound on the work: 0.5-1.3 CPU-s without the
   * check (jpegdec decoding), 0.004-0.015 with it (0.2: room for
   * sanitizer builds and loaded machines) */
  g_assert_cmpfloat (cpu, <, 0.2);
  g_free (path);
}

/* A damaged 1.8 KB MJPEG AVI (fuzz-image) with an 805x36 gray frame on
 * which GStreamer 1.22's jpegdec spins for ever: its streaming thread could
 * not be stopped, and each such file left a thread at 100 % CPU behind the
 * CLI's error. Its frames are decoded by libjpeg within the stall limit
 * now: a decoding error, and a small fraction of a second of CPU (the
 * spinning thread took the whole 5 s wait, and went on after it). */
static void
test_mjpeg_spin (void)
{
  char *path = ask_test_path ("fuzz", "regressions", "fuzz-image",
      "jpegdec-spin-frame.avi", NULL);
  const char *files[1] = { path };
  GError *error = NULL;
  double cpu;

  if (!ask_media_has_exact_jpeg ()) {
    g_test_skip ("built without libjpeg: MJPEG goes through jpegdec");
    g_free (path);
    return;
  }
  cpu = cpu_seconds ();
  g_assert_null (ask_frames_load (files, 1, 4, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE);
  g_assert_null (strstr (error->message, "did not stop"));
  g_assert_nonnull (strstr (error->message, "JPEG"));
  g_clear_error (&error);
  /* and nothing left running: the CPU a second later is that of the call */
  g_usleep (G_USEC_PER_SEC / 2);
  cpu = cpu_seconds () - cpu;
  g_test_message ("%.3f CPU-s", cpu);
  g_assert_cmpfloat (cpu, <, 0.3);
  g_free (path);
}

static void
test_jpeg_slow (void)
{
  static const guint8 jpeg[] = { 0xff, 0xd8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xdb, 0x00, 0x43, 0x00, 0x03, 0x02, 0x02, 0x2e, 0x03, 0x02, 0x02, 0xfd,
    0xfc, 0x95, 0x93, 0xeb, 0x14, 0x14, 0x14, 0x6c, 0x69, 0x62, 0x67, 0x73,
    0x74, 0x67, 0x64, 0x6b, 0x70, 0x69, 0x14, 0x14, 0x69, 0x6d, 0x61, 0x67,
    0x00, 0x00, 0x00, 0x01, 0x11, 0x21, 0x00, 0x30, 0xf0, 0xf1, 0xaf, 0xda,
    0x00, 0x08, 0x01, 0x01, 0x00, 0x3f, 0x79, 0x6d, 0x46, 0x14, 0x14, 0x14,
    0x14, 0x01, 0x00, 0x00, 0xb9, 0x14, 0x14, 0x60, 0xff, 0xc2, 0x00, 0x11,
    0x08, 0x10, 0x04, 0x31, 0x87, 0x03, 0x01, 0x11, 0x00, 0x02, 0x11, 0x01,
    0x03, 0x11, 0x01, 0xff, 0xc4, 0x00, 0x21, 0x10, 0x01, 0x01, 0x01, 0x00,
    0x03, 0x00, 0x02, 0x02, 0x03, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x11, 0x21, 0x00, 0x61, 0x71, 0xb1, 0x91, 0xa1, 0xf0, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0x3f, 0x10,
    0x24, 0x09, 0xff, 0xd9 };
  char *path;
  const char *files[1];
  GError *error = NULL;

  if (!ask_media_has_exact_jpeg ()) {
    g_test_skip ("built without libjpeg: JPEG goes through jpegdec");
    return;
  }
  path = tmp_path ("slow.jpg");
  files[0] = path;
  g_assert_true (
      g_file_set_contents (path, (const char *) jpeg, sizeof (jpeg), NULL));
  ask_media_set_stall_timeout (1);
  g_assert_null (ask_frames_load (files, 1, 4, &error));
  ask_media_set_stall_timeout (0);
  g_assert_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "decoding takes more than 0.0 s"));
  g_clear_error (&error);
  g_remove (path);
  g_free (path);
}

/* A decoder that never finishes (a GIF demuxer did that) hung the program
 * on the bus for ever: every wait is bounded now. */
static void
test_stall (void)
{
  Fifo fifo = { tmp_path ("stall.png"), 3000 };
  const char *files[1] = { fifo.path };
  GError *error = NULL;
  GThread *writer;
  gint64 t0;

  g_assert_cmpint (mkfifo (fifo.path, 0600), ==, 0);
  writer = g_thread_new ("fifo-writer", fifo_writer, &fifo);
  ask_media_set_stall_timeout (G_USEC_PER_SEC / 2);
  t0 = g_get_monotonic_time ();
  g_assert_null (ask_frames_load (files, 1, 4, &error));
  g_assert_error (error, ASK_MEDIA_ERROR, ASK_MEDIA_ERROR_DECODE);
  g_test_message ("%s (after %.1f s)", error->message,
      (g_get_monotonic_time () - t0) / 1e6);
  g_assert_nonnull (strstr (error->message,
      "decoding stalled: no frame for 0.5 s after 0 frames"));
  g_clear_error (&error);
  ask_media_set_stall_timeout (0);
  g_thread_join (writer);
  g_remove (fifo.path);
  g_free (fifo.path);
}

/* A 1x1 GIF, written byte by byte: the program hung on GIFs where the
 * GIF demuxer never finishes. With or without a GIF decoder (gst-libav),
 * loading now ends: one frame, or an error. */
static void
test_gif (void)
{
  static const guint8 gif[] = { 'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80,
    0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x21, 0xf9, 4, 1, 0, 0, 0, 0, 0x2c, 0, 0,
    0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0, 0x3b };
  char *path = tmp_path ("one.gif");
  const char *files[1] = { path };
  GError *error = NULL;
  AskFrames *f;

  g_assert_true (
      g_file_set_contents (path, (const char *) gif, sizeof (gif), NULL));
  ask_media_set_stall_timeout (2 * G_USEC_PER_SEC);
  f = ask_frames_load (files, 1, 4, &error);
  ask_media_set_stall_timeout (0);
  if (f != NULL) {
    g_assert_no_error (error);
    g_assert_cmpint (f->frames[0].width, ==, 1);
    g_assert_cmpint (f->frames[0].height, ==, 1);
    ask_frames_free (f);
  } else {
    g_assert_true (error->domain == ASK_MEDIA_ERROR);
    g_test_message ("%s", error->message);
    g_clear_error (&error);
  }
  g_remove (path);
  g_free (path);
}

int
main (int argc, char **argv)
{
  int ret, i;

  g_test_init (&argc, &argv, NULL);
  /* the FIFO writer of /cli/media/stall sees EPIPE, not a signal */
  signal (SIGPIPE, SIG_IGN);
  tmp_dir = g_dir_make_tmp ("ib-ask-media-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  for (i = 0; i < 4; i++) {
    char *name = g_strdup_printf ("frame%d.rgb", i);
    char *path = ask_test_path ("data", "parity", "images", name, NULL);
    parity_rgb[i] = ask_test_read_exact (path, W * H * 3);
    g_free (path);
    g_free (name);
  }

  g_test_add_func ("/cli/media/png", test_png);
  g_test_add_func ("/cli/media/png-alpha", test_png_alpha);
  g_test_add_func ("/cli/media/png-gray", test_png_gray);
  g_test_add_func ("/cli/media/jpeg", test_jpeg);
  g_test_add_func ("/cli/media/video", test_video);
  g_test_add_func ("/cli/media/mjpeg", test_mjpeg);
  g_test_add_func ("/cli/media/errors", test_errors);
  g_test_add_func ("/cli/media/png-huge", test_png_huge);
  g_test_add_func ("/cli/media/jpeg-huge", test_jpeg_huge);
  g_test_add_func ("/cli/media/jpeg-slow", test_jpeg_slow);
  g_test_add_func ("/cli/media/decoder-huge", test_decoder_huge);
  g_test_add_func ("/cli/media/mjpeg-huge", test_mjpeg_huge);
  g_test_add_func ("/cli/media/mjpeg-spin", test_mjpeg_spin);
  g_test_add_func ("/cli/media/stall", test_stall);
  g_test_add_func ("/cli/media/gif", test_gif);
  ret = g_test_run ();

  for (i = 0; i < 4; i++)
    g_free (parity_rgb[i]);
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return ret;
}
