/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Image preprocessing vs Pillow's resize and transformers' BLIP processor
 * (fixtures from tests/data/image/make_fixtures.py). */
#include "preprocess.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  char *name; /* fixture group, e.g. "edges" */
  char *file; /* raw pixels, e.g. "edges.rgb" */
  int width, height;
  IbPixelFormat format; /* RGB or RGBA */
  int out_w, out_h; /* resize case */
  int hf_size; /* processor case */
  IbResizeMethod method; /* resize and processor cases */
} Case;

static void
case_free (gpointer data)
{
  Case *c = data;

  g_free (c->name);
  g_free (c->file);
  g_free (c);
}

static guint8 *
load_fixture (const char *file, gsize expect_len)
{
  GError *error = NULL;
  char *path, *contents = NULL;
  gsize len = 0;

  path = g_test_build_filename (G_TEST_DIST, "data", "image", file, NULL);
  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, expect_len);
  g_free (path);
  return (guint8 *) contents;
}

static guint8 *
load_source (const Case *c)
{
  int bpp = ib_pixel_format_get_bpp (c->format);

  return load_fixture (c->file, (gsize) c->width * c->height * bpp);
}

/* Number of bytes that differ; the largest difference goes to *max_diff. */
static gsize
count_diff (const guint8 *a, const guint8 *b, gsize n, int *max_diff)
{
  gsize i, bad = 0;

  *max_diff = 0;
  for (i = 0; i < n; i++) {
    int d = ABS ((int) a[i] - (int) b[i]);

    if (d) {
      bad++;
      *max_diff = MAX (*max_diff, d);
    }
  }
  return bad;
}

/* Copies packed RGB @rgb ([h, w * 3]) into @format with row padding; X and
 * padding bytes get junk, alpha gets @alpha (or junk when @alpha < 0). */
static guint8 *
make_format (const guint8 *rgb, int w, int h, IbPixelFormat format, int alpha,
    int *stride_out)
{
  static const char *orders[] = { "RGB", "BGR", "RGBA", "BGRA", "ARGB", "ABGR",
    "RGBX", "BGRX", "XRGB", "XBGR" };
  const char *order = orders[format];
  int bpp = ib_pixel_format_get_bpp (format);
  int stride = w * bpp + 7;
  guint8 *buf = g_malloc ((gsize) stride * h);
  GRand *rand = g_rand_new_with_seed (7);
  int x, y, i;

  for (i = 0; i < stride * h; i++)
    buf[i] = (guint8) g_rand_int (rand);
  for (y = 0; y < h; y++) {
    for (x = 0; x < w; x++) {
      guint8 *p = buf + (gsize) y * stride + (gsize) x * bpp;
      const guint8 *s = rgb + ((gsize) y * w + x) * 3;

      for (i = 0; i < bpp; i++) {
        switch (order[i]) {
          case 'R':
            p[i] = s[0];
            break;
          case 'G':
            p[i] = s[1];
            break;
          case 'B':
            p[i] = s[2];
            break;
          case 'A':
            if (alpha >= 0)
              p[i] = (guint8) alpha;
            break;
          default:
            break;
        }
      }
    }
  }
  g_rand_free (rand);
  *stride_out = stride;
  return buf;
}

/* Pillow's Image.resize (BICUBIC): every byte identical. */
static void
test_resize (gconstpointer data)
{
  const Case *c = data;
  GError *error = NULL;
  guint8 *src = load_source (c);
  gsize n = (gsize) c->out_w * c->out_h * 3;
  guint8 *out = g_malloc (n);
  IbImage img = { c->width, c->height, c->width * 3, IB_PIXEL_FORMAT_RGB, src };
  IbImageResizer *rs;
  guint8 *expect;
  char *file;
  gsize bad;
  int max_diff;

  file = g_strdup_printf ("%s-%dx%d.rgb", c->name, c->out_w, c->out_h);
  expect = load_fixture (file, n);
  g_assert_true (ib_image_resize_bicubic (src, c->width, c->height,
      c->width * 3, out, c->out_w, c->out_h, &error));
  g_assert_no_error (error);
  bad = count_diff (out, expect, n, &max_diff);
  g_test_message ("%s %dx%d -> %dx%d: %" G_GSIZE_FORMAT "/%" G_GSIZE_FORMAT
                  " bytes identical to Pillow, max diff %d",
      c->name, c->width, c->height, c->out_w, c->out_h, n - bad, n, max_diff);
  g_assert_cmpuint (bad, ==, 0);

  /* the portable passes, where SIMD ones are the default */
  rs = ib_image_resizer_new (c->width, c->height, c->out_w, c->out_h, &error);
  g_assert_no_error (error);
  if (ib_image_resizer_set_simd (rs, FALSE)) {
    memset (out, 0, n);
    g_assert_true (
        ib_image_resizer_run (rs, &img, FALSE, out, c->out_w * 3, &error));
    g_assert_no_error (error);
    bad = count_diff (out, expect, n, &max_diff);
    g_test_message ("  portable passes: %" G_GSIZE_FORMAT "/%" G_GSIZE_FORMAT
                    " identical",
        n - bad, n);
    g_assert_cmpuint (bad, ==, 0);
  }
  ib_image_resizer_free (rs);

  g_free (file);
  g_free (expect);
  g_free (out);
  g_free (src);
}

/* torchvision's resize of the uint8 tensor (what transformers' default
 * image and video processors run): every byte identical, SIMD and portable
 * passes. */
static void
test_resize_tv (gconstpointer data)
{
  const Case *c = data;
  GError *error = NULL;
  guint8 *src = load_source (c);
  gsize n = (gsize) c->out_w * c->out_h * 3, bad;
  guint8 *out = g_malloc (n);
  IbImage img = { c->width, c->height, c->width * 3, IB_PIXEL_FORMAT_RGB, src };
  char *file = g_strdup_printf ("%s-%dx%d-tv.rgb", c->name, c->out_w, c->out_h);
  guint8 *expect = load_fixture (file, n);
  int max_diff, simd;

  for (simd = 1; simd >= 0; simd--) {
    IbImageResizer *rs = ib_image_resizer_new_full (c->width, c->height,
        c->out_w, c->out_h, IB_RESIZE_TORCHVISION, &error);
    g_assert_no_error (error);
    if (!ib_image_resizer_set_simd (rs, simd)) {
      ib_image_resizer_free (rs);
      continue;
    }
    memset (out, 0, n);
    g_assert_true (
        ib_image_resizer_run (rs, &img, FALSE, out, c->out_w * 3, &error));
    g_assert_no_error (error);
    bad = count_diff (out, expect, n, &max_diff);
    g_test_message ("%s %dx%d -> %dx%d (%s): %" G_GSIZE_FORMAT
                    "/%" G_GSIZE_FORMAT " bytes identical to torchvision",
        c->name, c->width, c->height, c->out_w, c->out_h,
        simd ? "SIMD" : "portable", n - bad, n);
    g_assert_cmpuint (bad, ==, 0);
    ib_image_resizer_free (rs);
  }
  g_free (file);
  g_free (expect);
  g_free (out);
  g_free (src);
}

/* Pillow <= 12's pass order (horizontal first) where Pillow 13 runs the
 * vertical pass first: the fixture is Pillow's own two one-axis resizes. The
 * order must matter on these shapes, or the test shows nothing. */
static void
test_resize_hfirst (gconstpointer data)
{
  const Case *c = data;
  GError *error = NULL;
  guint8 *src = load_source (c);
  gsize n = (gsize) c->out_w * c->out_h * 3, bad;
  guint8 *out = g_malloc (n);
  IbImage img = { c->width, c->height, c->width * 3, IB_PIXEL_FORMAT_RGB, src };
  char *file = g_strdup_printf ("%s-%dx%d-h.rgb", c->name, c->out_w, c->out_h);
  char *file13 = g_strdup_printf ("%s-%dx%d.rgb", c->name, c->out_w, c->out_h);
  guint8 *expect = load_fixture (file, n), *expect13 = load_fixture (file13, n);
  int max_diff, simd;

  g_assert_false (ib_image_resize_horizontal_first (c->width, c->height,
      c->out_w, c->out_h, IB_RESIZE_PILLOW));
  g_assert_true (ib_image_resize_horizontal_first (c->width, c->height,
      c->out_w, c->out_h, IB_RESIZE_PILLOW12));
  bad = count_diff (expect, expect13, n, &max_diff);
  g_test_message ("%s %dx%d -> %dx%d: the two orders differ in %" G_GSIZE_FORMAT
                  "/%" G_GSIZE_FORMAT " bytes (max %d)",
      c->name, c->width, c->height, c->out_w, c->out_h, bad, n, max_diff);
  for (simd = 0; simd < 2; simd++) {
    IbImageResizer *rs = ib_image_resizer_new_full (c->width, c->height,
        c->out_w, c->out_h, IB_RESIZE_PILLOW12, &error);
    g_assert_no_error (error);
    if (!ib_image_resizer_set_simd (rs, simd)) {
      ib_image_resizer_free (rs);
      continue;
    }
    memset (out, 0, n);
    g_assert_true (
        ib_image_resizer_run (rs, &img, FALSE, out, c->out_w * 3, &error));
    g_assert_no_error (error);
    bad = count_diff (out, expect, n, &max_diff);
    g_assert_cmpuint (bad, ==, 0);
    ib_image_resizer_free (rs);
  }
  g_free (file);
  g_free (file13);
  g_free (expect);
  g_free (expect13);
  g_free (out);
  g_free (src);
}

/* Same size: Pillow returns a copy. */
static void
test_resize_same (gconstpointer data)
{
  const Case *c = data;
  GError *error = NULL;
  guint8 *src = load_source (c);
  gsize n = (gsize) c->width * c->height * 3;
  guint8 *out = g_malloc (n);

  g_assert_true (ib_image_resize_bicubic (src, c->width, c->height,
      c->width * 3, out, c->width, c->height, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (out, n, src, n);
  g_free (out);
  g_free (src);
}

/* The BLIP processor's pixel_values (PIL backend): same float32 bits. */
static void
test_processor (gconstpointer data)
{
  const Case *c = data;
  GError *error = NULL;
  IbPreprocessParams p;
  guint8 *src = load_source (c);
  gsize n = (gsize) 3 * c->hf_size * c->hf_size;
  float *out = g_new (float, n);
  float *expect;
  IbImage img;
  char *file;
  gsize i, exact = 0;
  double max_diff = 0.0;

  file = g_strdup_printf ("%s-%s%d.f32", c->name,
      c->method == IB_RESIZE_TORCHVISION ? "tv" : "hf", c->hf_size);
  expect = (float *) load_fixture (file, n * sizeof (float));
  ib_preprocess_params_init (&p);
  p.width = p.height = c->hf_size;
  p.resize = c->method;
  img.width = c->width;
  img.height = c->height;
  img.format = c->format;
  img.stride = c->width * ib_pixel_format_get_bpp (c->format);
  img.data = src;
  g_assert_true (ib_image_preprocess (&img, &p, out, &error));
  g_assert_no_error (error);
  for (i = 0; i < n; i++) {
    double d = fabs ((double) out[i] - (double) expect[i]);

    max_diff = MAX (max_diff, d);
    exact += memcmp (&out[i], &expect[i], sizeof (float)) == 0;
  }
  g_test_message ("%s %dx%d -> [3, %d, %d]: %" G_GSIZE_FORMAT
                  "/%" G_GSIZE_FORMAT
                  " floats bit-identical to transformers, max abs diff %g",
      c->name, c->width, c->height, c->hf_size, c->hf_size, exact, n, max_diff);
  g_assert_cmpfloat (max_diff, <=, 1e-6);
  g_assert_cmpuint (exact, ==, n);

  g_free (file);
  g_free (expect);
  g_free (out);
  g_free (src);
}

/* Every pixel format, with padded rows and junk in X bytes, resizes to the
 * same bytes as packed RGB; opaque alpha composites to itself. */
static void
test_formats (gconstpointer data)
{
  const Case *c = data;
  GError *error = NULL;
  guint8 *src = load_source (c);
  const int ow = 30, oh = 17;
  gsize n = (gsize) ow * oh * 3;
  guint8 *ref = g_malloc (n), *out = g_malloc (n + 5 * oh);
  IbImageResizer *rs;
  int f, y, stride, k;

  rs = ib_image_resizer_new (c->width, c->height, ow, oh, &error);
  g_assert_no_error (error);
  g_assert_true (ib_image_resize_bicubic (src, c->width, c->height,
      c->width * 3, ref, ow, oh, &error));
  g_assert_no_error (error);

  for (k = 0; k < 4; k++) {
    /* composite off/on x SIMD on/off */
    const int composite = k & 1;

    if (!ib_image_resizer_set_simd (rs, k < 2))
      continue;
    for (f = IB_PIXEL_FORMAT_RGB; f <= IB_PIXEL_FORMAT_XBGR; f++) {
      /* composited alpha must be opaque to leave the colours alone */
      int alpha = composite ? 255 : -1;
      guint8 *buf = make_format (src, c->width, c->height, f, alpha, &stride);
      IbImage img = { c->width, c->height, stride, f, buf };

      memset (out, 0x5a, n + 5 * oh);
      g_assert_true (
          ib_image_resizer_run (rs, &img, composite, out, ow * 3 + 5, &error));
      g_assert_no_error (error);
      for (y = 0; y < oh; y++)
        g_assert_cmpmem (out + (gsize) y * (ow * 3 + 5), ow * 3,
            ref + (gsize) y * ow * 3, ow * 3);
      g_free (buf);
    }
  }

  ib_image_resizer_free (rs);
  g_free (out);
  g_free (ref);
  g_free (src);
}

/* RGBA through every alpha byte order gives the processor's output. */
static void
test_alpha_orders (gconstpointer data)
{
  const Case *c = data;
  static const char *orders[] = { "BGRA", "ARGB", "ABGR" };
  static const IbPixelFormat formats[] = { IB_PIXEL_FORMAT_BGRA,
    IB_PIXEL_FORMAT_ARGB, IB_PIXEL_FORMAT_ABGR };
  GError *error = NULL;
  IbPreprocessParams p;
  guint8 *src = load_source (c);
  gsize npix = (gsize) c->width * c->height;
  gsize n = (gsize) 3 * 28 * 28;
  float *ref = g_new (float, n), *out = g_new (float, n);
  guint8 *buf = g_malloc (npix * 4);
  IbImage img = { c->width, c->height, c->width * 4, IB_PIXEL_FORMAT_RGBA,
    src };
  gsize i;
  int k, j;

  ib_preprocess_params_init (&p);
  p.width = p.height = 28;
  g_assert_true (ib_image_preprocess (&img, &p, ref, &error));
  g_assert_no_error (error);
  for (k = 0; k < 3; k++) {
    for (i = 0; i < npix; i++) {
      for (j = 0; j < 4; j++) {
        const char *pos = strchr ("RGBA", orders[k][j]);

        buf[i * 4 + j] = src[i * 4 + (pos - "RGBA")];
      }
    }
    img.format = formats[k];
    img.data = buf;
    g_assert_true (ib_image_preprocess (&img, &p, out, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (out, n * sizeof (float), ref, n * sizeof (float));
  }
  g_free (buf);
  g_free (out);
  g_free (ref);
  g_free (src);
}

/* Compositing over white: opaque pixels unchanged, transparent ones white,
 * half-transparent black mid-grey (Pillow gives 128 for alpha 127). */
static void
test_alpha_composite (void)
{
  guint8 px[4], rgb[3];
  IbImage img = { 1, 1, 4, IB_PIXEL_FORMAT_RGBA, px };
  int v;

  for (v = 0; v < 256; v++) {
    px[0] = (guint8) v;
    px[1] = (guint8) (255 - v);
    px[2] = (guint8) (v ^ 0x55);
    px[3] = 255;
    ib_image_row_to_rgb (&img, 0, TRUE, rgb);
    g_assert_cmpmem (rgb, 3, px, 3);
    px[3] = 0;
    ib_image_row_to_rgb (&img, 0, TRUE, rgb);
    g_assert_cmpint (rgb[0], ==, 255);
    g_assert_cmpint (rgb[1], ==, 255);
    g_assert_cmpint (rgb[2], ==, 255);
    ib_image_row_to_rgb (&img, 0, FALSE, rgb);
    g_assert_cmpmem (rgb, 3, px, 3);
  }
  px[0] = px[1] = px[2] = 0;
  px[3] = 127;
  ib_image_row_to_rgb (&img, 0, TRUE, rgb);
  g_assert_cmpint (rgb[0], ==, 128);
}

/* The SIMD passes give the portable passes' bytes on random sizes, formats
 * and contents, including extreme downscales (thousands of taps). */
static void
test_simd (void)
{
  GError *error = NULL;
  GRand *rand = g_rand_new_with_seed (11);
  const int cases[][4] = { { 2000, 3, 1, 1 }, { 3, 2500, 2, 1 },
    { 1, 1, 5, 300 }, { 4000, 2, 3, 2 } };
  int t;

  for (t = 0; t < 200 + (int) G_N_ELEMENTS (cases); t++) {
    int w, h, ow, oh, bpp, stride, composite;
    IbPixelFormat f = (IbPixelFormat) g_rand_int_range (rand, 0, 10);
    IbImageResizer *rs;
    guint8 *px, *a, *b;
    gsize i, size;

    if (t < (int) G_N_ELEMENTS (cases)) {
      w = cases[t][0], h = cases[t][1], ow = cases[t][2], oh = cases[t][3];
    } else {
      w = g_rand_int_range (rand, 1, 300);
      h = g_rand_int_range (rand, 1, 300);
      ow = g_rand_int_range (rand, 1, 300);
      oh = g_rand_int_range (rand, 1, 300);
    }
    composite = g_rand_boolean (rand);
    bpp = ib_pixel_format_get_bpp (f);
    stride = w * bpp + g_rand_int_range (rand, 0, 9);
    size = (gsize) stride * h;
    px = g_malloc (size);
    /* half the images are noise, half blocks of extremes (most overshoot) */
    for (i = 0; i < size; i++)
      px[i] = t % 2 ? (guint8) g_rand_int (rand) : ((i / 7) % 3 == 0 ? 255 : 0);
    a = g_malloc0 ((gsize) ow * oh * 3);
    b = g_malloc0 ((gsize) ow * oh * 3);
    {
      IbImage img = { w, h, stride, f, px };

      rs = ib_image_resizer_new (w, h, ow, oh, &error);
      g_assert_no_error (error);
      g_assert_true (
          ib_image_resizer_run (rs, &img, composite, a, ow * 3, &error));
      if (ib_image_resizer_set_simd (rs, FALSE)) {
        g_assert_true (
            ib_image_resizer_run (rs, &img, composite, b, ow * 3, &error));
        g_assert_no_error (error);
        if (memcmp (a, b, (gsize) ow * oh * 3) != 0)
          g_test_message ("SIMD differs: %dx%d %d -> %dx%d", w, h, (int) f, ow,
              oh);
        g_assert_cmpmem (a, (gsize) ow * oh * 3, b, (gsize) ow * oh * 3);
      }
      ib_image_resizer_free (rs);
    }
    g_free (b);
    g_free (a);
    g_free (px);
  }
  g_rand_free (rand);
}

/* One preprocessor through changing input sizes matches fresh ones. */
static void
test_reuse (void)
{
  GError *error = NULL;
  IbPreprocessParams p;
  IbImagePreprocessor *pp;
  const int sizes[][2] = { { 64, 48 }, { 37, 23 }, { 64, 48 }, { 1, 1 } };
  const gsize n = (gsize) 3 * 20 * 20;
  float *a = g_new (float, n), *b = g_new (float, n);
  guint8 *px = g_malloc (64 * 48 * 4);
  GRand *rand = g_rand_new_with_seed (3);
  guint i, k;

  for (i = 0; i < 64 * 48 * 4; i++)
    px[i] = (guint8) g_rand_int (rand);
  ib_preprocess_params_init (&p);
  p.width = p.height = 20;
  pp = ib_image_preprocessor_new (&p, &error);
  g_assert_no_error (error);
  for (k = 0; k < G_N_ELEMENTS (sizes); k++) {
    IbImage img = { sizes[k][0], sizes[k][1], 64 * 4, IB_PIXEL_FORMAT_BGRX,
      px };

    g_assert_true (ib_image_preprocessor_run (pp, &img, a, &error));
    g_assert_no_error (error);
    g_assert_true (ib_image_preprocess (&img, &p, b, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));
  }
  ib_image_preprocessor_free (pp);
  g_rand_free (rand);
  g_free (px);
  g_free (b);
  g_free (a);
}

/* Constant images stay constant, and the normalised value is the processor
 * formula; do_rescale/do_normalize off give the raw values. */
static void
test_params (void)
{
  GError *error = NULL;
  IbPreprocessParams p;
  guint8 px[5 * 4 * 3];
  IbImage img = { 5, 4, 15, IB_PIXEL_FORMAT_RGB, px };
  float out[3 * 9 * 9];
  int i, c;

  for (i = 0; i < 5 * 4; i++) {
    px[i * 3 + 0] = 0;
    px[i * 3 + 1] = 128;
    px[i * 3 + 2] = 255;
  }
  ib_preprocess_params_init (&p);
  p.width = p.height = 9;
  g_assert_true (ib_image_preprocess (&img, &p, out, &error));
  g_assert_no_error (error);
  for (c = 0; c < 3; c++) {
    int v = c == 0 ? 0 : c == 1 ? 128 : 255;
    float x = (float) (v / 255.0);
    float expect = (x - (float) p.image_mean[c]) / (float) p.image_std[c];

    for (i = 0; i < 81; i++)
      g_assert_cmpfloat (fabsf (out[c * 81 + i] - expect), <=, 1e-6f);
  }

  p.do_rescale = FALSE;
  p.do_normalize = FALSE;
  g_assert_true (ib_image_preprocess (&img, &p, out, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (out[0], ==, 0.0f);
  g_assert_cmpfloat (out[81], ==, 128.0f);
  g_assert_cmpfloat (out[162], ==, 255.0f);
}

static void
expect_error (gboolean ok, GError **error, int code)
{
  g_assert_false (ok);
  g_assert_error (*error, IB_IMAGE_ERROR, code);
  g_test_message ("expected error: %s", (*error)->message);
  g_clear_error (error);
}

/* Bad sizes, strides, formats and params fail with a GError. */
static void
test_errors (void)
{
  GError *error = NULL;
  guint8 px[8 * 8 * 4] = { 0 };
  guint8 out[16 * 16 * 3];
  float fout[3 * 4 * 4];
  IbPreprocessParams p;
  IbImageResizer *rs;
  IbImage img = { 8, 8, 32, IB_PIXEL_FORMAT_RGBX, px };
  const int inval = IB_IMAGE_ERROR_INVALID_ARG;

  expect_error (ib_image_resize_bicubic (px, 0, 8, 24, out, 4, 4, &error),
      &error, inval);
  expect_error (ib_image_resize_bicubic (px, 8, -1, 24, out, 4, 4, &error),
      &error, inval);
  expect_error (ib_image_resize_bicubic (px, 8, 8, 23, out, 4, 4, &error),
      &error, inval);
  expect_error (ib_image_resize_bicubic (NULL, 8, 8, 24, out, 4, 4, &error),
      &error, inval);
  expect_error (ib_image_resize_bicubic (px, 8, 8, 24, out, 0, 4, &error),
      &error, inval);
  expect_error (ib_image_resize_bicubic (px, 8, 8, 24, out, 4,
                    IB_IMAGE_MAX_DIM + 1, &error),
      &error, inval);
  expect_error (ib_image_resize_bicubic (px, 8, 8, 24, NULL, 4, 4, &error),
      &error, inval);
  g_assert_null (ib_image_resizer_new (8, 8, 4, 0, &error));
  g_assert_error (error, IB_IMAGE_ERROR, inval);
  g_clear_error (&error);

  rs = ib_image_resizer_new (8, 8, 4, 4, &error);
  g_assert_no_error (error);
  g_assert_true (ib_image_resizer_matches (rs, 8, 8, 4, 4));
  g_assert_false (ib_image_resizer_matches (rs, 8, 8, 4, 5));
  g_assert_true (ib_image_resizer_run (rs, &img, TRUE, out, 12, &error));
  g_assert_no_error (error);
  expect_error (ib_image_resizer_run (rs, &img, TRUE, out, 11, &error), &error,
      inval);
  img.stride = 31;
  expect_error (ib_image_resizer_run (rs, &img, TRUE, out, 12, &error), &error,
      inval);
  img.stride = 32;
  img.format = (IbPixelFormat) 99;
  expect_error (ib_image_resizer_run (rs, &img, TRUE, out, 12, &error), &error,
      inval);
  img.format = IB_PIXEL_FORMAT_RGBX;
  img.width = 7;
  expect_error (ib_image_resizer_run (rs, &img, TRUE, out, 12, &error), &error,
      inval);
  img.width = 8;
  ib_image_resizer_free (rs);
  ib_image_resizer_free (NULL);

  expect_error (ib_image_to_rgb (&img, TRUE, out, 23, &error), &error, inval);
  g_assert_true (ib_image_to_rgb (&img, TRUE, out, 24, &error));
  g_assert_no_error (error);

  ib_preprocess_params_init (&p);
  p.width = p.height = 4;
  p.image_std[1] = 0.0;
  g_assert_null (ib_image_preprocessor_new (&p, &error));
  g_assert_error (error, IB_IMAGE_ERROR, inval);
  g_clear_error (&error);
  ib_preprocess_params_init (&p);
  p.height = 0;
  expect_error (ib_image_preprocess (&img, &p, fout, &error), &error, inval);
  p.height = 4;
  expect_error (ib_image_preprocess (&img, &p, NULL, &error), &error, inval);
  img.data = NULL;
  expect_error (ib_image_preprocess (&img, &p, fout, &error), &error, inval);
  ib_image_preprocessor_free (NULL);
}

/* Milliseconds per call of @rs on @img (best of 3 rounds of @n). */
static double
time_resizer (IbImageResizer *rs, const IbImage *img, guint8 *out, int n)
{
  GError *error = NULL;
  double best = G_MAXDOUBLE;
  int round, k;

  for (round = 0; round < 3; round++) {
    gint64 t0 = g_get_monotonic_time ();

    for (k = 0; k < n; k++)
      g_assert_true (
          ib_image_resizer_run (rs, img, TRUE, out, 224 * 3, &error));
    best = MIN (best, (g_get_monotonic_time () - t0) / 1e3 / n);
  }
  g_assert_no_error (error);
  return best;
}

/* Throughput on 1080p frames (-m perf): the whole processor on RGBx, and
 * the resize alone on RGBx and RGB, SIMD and portable passes. */
static void
test_perf (void)
{
  GError *error = NULL;
  IbPreprocessParams p;
  IbImagePreprocessor *pp;
  IbImageResizer *rs;
  const int w = 1920, h = 1080, n_frames = 30;
  guint8 *px = g_malloc ((gsize) w * h * 4);
  guint8 *rgb = g_malloc (224 * 224 * 3);
  float *out = g_new (float, 3 * 224 * 224);
  GRand *rand = g_rand_new_with_seed (1);
  IbImage img = { w, h, w * 4, IB_PIXEL_FORMAT_RGBX, px };
  double best = G_MAXDOUBLE;
  gsize i;
  int k, round;

  if (!g_test_perf ()) {
    g_test_skip ("run with -m perf");
    goto out;
  }
  for (i = 0; i < (gsize) w * h * 4; i++)
    px[i] = (guint8) g_rand_int (rand);
  ib_preprocess_params_init (&p);
  pp = ib_image_preprocessor_new (&p, &error);
  g_assert_no_error (error);
  g_assert_true (ib_image_preprocessor_run (pp, &img, out, &error));
  for (round = 0; round < 3; round++) {
    gint64 t0 = g_get_monotonic_time ();

    for (k = 0; k < n_frames; k++)
      g_assert_true (ib_image_preprocessor_run (pp, &img, out, &error));
    best = MIN (best, (g_get_monotonic_time () - t0) / 1e3 / n_frames);
  }
  g_assert_no_error (error);
  g_test_minimized_result (best,
      "processor 1920x1080 RGBx -> [3, 224, 224]: %.2f ms/frame, %.1f "
      "frames/s",
      best, 1e3 / best);
  ib_image_preprocessor_free (pp);

  rs = ib_image_resizer_new (w, h, 224, 224, &error);
  g_assert_no_error (error);
  for (k = 0; k < 4; k++) {
    const gboolean simd = k % 2 == 0;
    double ms;

    img.format = k < 2 ? IB_PIXEL_FORMAT_RGBX : IB_PIXEL_FORMAT_RGB;
    img.stride = w * ib_pixel_format_get_bpp (img.format);
    if (!ib_image_resizer_set_simd (rs, simd))
      continue;
    ms = time_resizer (rs, &img, rgb, n_frames);
    g_test_message ("resize %s %s: %.2f ms/frame, %.1f frames/s",
        k < 2 ? "RGBx" : "RGB", simd ? "SIMD" : "portable", ms, 1e3 / ms);
  }
  ib_image_resizer_free (rs);

out:
  g_rand_free (rand);
  g_free (out);
  g_free (rgb);
  g_free (px);
}

static IbPixelFormat
parse_format (const char *s)
{
  if (g_strcmp0 (s, "RGBA") == 0)
    return IB_PIXEL_FORMAT_RGBA;
  g_assert_cmpstr (s, ==, "RGB");
  return IB_PIXEL_FORMAT_RGB;
}

static Case *
case_new (GKeyFile *kf, const char *group)
{
  GError *error = NULL;
  Case *c = g_new0 (Case, 1);
  char *fmt;

  c->name = g_strdup (group);
  c->file = g_key_file_get_string (kf, group, "file", &error);
  g_assert_no_error (error);
  c->width = g_key_file_get_integer (kf, group, "width", &error);
  g_assert_no_error (error);
  c->height = g_key_file_get_integer (kf, group, "height", &error);
  g_assert_no_error (error);
  fmt = g_key_file_get_string (kf, group, "format", &error);
  g_assert_no_error (error);
  c->format = parse_format (fmt);
  g_free (fmt);
  return c;
}

static void
add_case_test (const char *path, const Case *proto, int out_w, int out_h,
    int hf_size, GTestDataFunc func)
{
  Case *c = g_new0 (Case, 1);

  *c = *proto;
  c->name = g_strdup (proto->name);
  c->file = g_strdup (proto->file);
  c->out_w = out_w;
  c->out_h = out_h;
  c->hf_size = hf_size;
  c->method = IB_RESIZE_PILLOW;
  g_test_add_data_func_full (path, c, func, case_free);
}

static void
add_method_test (const char *path, const Case *proto, int out_w, int out_h,
    int hf_size, IbResizeMethod method, GTestDataFunc func)
{
  Case *c = g_new0 (Case, 1);

  *c = *proto;
  c->name = g_strdup (proto->name);
  c->file = g_strdup (proto->file);
  c->out_w = out_w;
  c->out_h = out_h;
  c->hf_size = hf_size;
  c->method = method;
  g_test_add_data_func_full (path, c, func, case_free);
}

/* Registers one test per fixture case listed in manifest.ini. */
static void
add_fixture_tests (void)
{
  GError *error = NULL;
  GKeyFile *kf = g_key_file_new ();
  char *manifest, **groups;
  int g;

  manifest = g_test_build_filename (G_TEST_DIST, "data", "image",
      "manifest.ini", NULL);
  g_key_file_load_from_file (kf, manifest, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  groups = g_key_file_get_groups (kf, NULL);
  for (g = 0; groups[g]; g++) {
    Case *proto = case_new (kf, groups[g]);
    char **resize, **hf, *path;
    int i, ow, oh;

    resize = g_key_file_get_string_list (kf, groups[g], "resize", NULL, NULL);
    for (i = 0; resize && resize[i]; i++) {
      if (!*resize[i])
        continue;
      g_assert_cmpint (sscanf (resize[i], "%dx%d", &ow, &oh), ==, 2);
      path = g_strdup_printf ("/image/resize/%s/%dx%d", proto->name, ow, oh);
      add_case_test (path, proto, ow, oh, 0, test_resize);
      g_free (path);
    }
    g_strfreev (resize);
    resize =
        g_key_file_get_string_list (kf, groups[g], "resize_hfirst", NULL, NULL);
    for (i = 0; resize && resize[i]; i++) {
      if (!*resize[i])
        continue;
      g_assert_cmpint (sscanf (resize[i], "%dx%d", &ow, &oh), ==, 2);
      path = g_strdup_printf ("/image/resize-pillow12/%s/%dx%d", proto->name,
          ow, oh);
      add_case_test (path, proto, ow, oh, 0, test_resize_hfirst);
      g_free (path);
    }
    g_strfreev (resize);
    resize =
        g_key_file_get_string_list (kf, groups[g], "resize_tv", NULL, NULL);
    for (i = 0; resize && resize[i]; i++) {
      if (!*resize[i])
        continue;
      g_assert_cmpint (sscanf (resize[i], "%dx%d", &ow, &oh), ==, 2);
      path = g_strdup_printf ("/image/resize-torchvision/%s/%dx%d", proto->name,
          ow, oh);
      add_method_test (path, proto, ow, oh, 0, IB_RESIZE_TORCHVISION,
          test_resize_tv);
      g_free (path);
    }
    hf = g_key_file_get_string_list (kf, groups[g], "hf", NULL, NULL);
    for (i = 0; hf && hf[i]; i++) {
      path = g_strdup_printf ("/image/processor/%s/%s", proto->name, hf[i]);
      add_case_test (path, proto, 0, 0, atoi (hf[i]), test_processor);
      g_free (path);
      path = g_strdup_printf ("/image/processor-torchvision/%s/%s", proto->name,
          hf[i]);
      add_method_test (path, proto, 0, 0, atoi (hf[i]), IB_RESIZE_TORCHVISION,
          test_processor);
      g_free (path);
    }
    if (proto->format == IB_PIXEL_FORMAT_RGB) {
      path = g_strdup_printf ("/image/resize/%s/same", proto->name);
      add_case_test (path, proto, 0, 0, 0, test_resize_same);
      g_free (path);
      path = g_strdup_printf ("/image/formats/%s", proto->name);
      add_case_test (path, proto, 0, 0, 0, test_formats);
      g_free (path);
    } else {
      path = g_strdup_printf ("/image/alpha-orders/%s", proto->name);
      add_case_test (path, proto, 0, 0, 0, test_alpha_orders);
      g_free (path);
    }
    g_strfreev (hf);
    g_strfreev (resize);
    case_free (proto);
  }
  g_strfreev (groups);
  g_free (manifest);
  g_key_file_free (kf);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  add_fixture_tests ();
  g_test_add_func ("/image/alpha-composite", test_alpha_composite);
  g_test_add_func ("/image/simd", test_simd);
  g_test_add_func ("/image/reuse", test_reuse);
  g_test_add_func ("/image/params", test_params);
  g_test_add_func ("/image/errors", test_errors);
  g_test_add_func ("/image/perf/1080p", test_perf);
  return g_test_run ();
}
