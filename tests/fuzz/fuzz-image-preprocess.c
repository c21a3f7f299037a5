/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the engine's image processor (engine/image) on frames of any size, stride, format and processor settings. */
#include "fuzz-util.h"
#include "preprocess.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  fuzz_init_logging ();
  return 0;
}

/*
 * Header (8 bytes): width - 1, height - 1 (bytes 0, 1: 1 .. 256), extra
 * stride bytes - 8 (2: may make the stride too short), format (3, any
 * value), output width - 1 and height - 1 (4, 5: 1 .. 64, or 224 when bit 4
 * of byte 6 is set), flags (6: convert_rgb, rescale, normalize; bit 3: a
 * zero std), rescale factor numerator (7). The pixels follow, repeated to
 * fill [height, stride] bytes; the buffer is exactly that long, so reading
 * past it is caught.
 */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  IbPreprocessParams p;
  IbImage img;
  guint8 *pixels;
  float *out;
  GError *error = NULL;
  gsize n, i;
  int bpp;

  if (size < 9)
    return 0;
  img.width = data[0] + 1;
  img.height = data[1] + 1;
  img.format = (IbPixelFormat) (gint8) data[3];
  bpp = ib_pixel_format_get_bpp (img.format);
  img.stride = img.width * (bpp ? bpp : 3) + data[2] - 8;
  n = (gsize) MAX (img.stride, 1) * img.height;
  pixels = g_malloc (n);
  for (i = 0; i < n; i++)
    pixels[i] = data[8 + i % (size - 8)];
  img.data = pixels;

  ib_preprocess_params_init (&p);
  p.width = (data[6] & 0x10) ? 224 : data[4] % 64 + 1;
  p.height = (data[6] & 0x10) ? 224 : data[5] % 64 + 1;
  p.do_convert_rgb = data[6] & 1;
  p.do_rescale = (data[6] >> 1) & 1;
  p.do_normalize = (data[6] >> 2) & 1;
  if (data[6] & 8)
    p.image_std[data[7] % 3] = 0.0;
  p.rescale_factor = data[7] / 255.0;

  out = g_new (float, 3 * (gsize) p.width * p.height);
  if (!ib_image_preprocess (&img, &p, out, &error))
    g_clear_error (&error);
  g_free (out);
  g_free (pixels);
  return 0;
}
