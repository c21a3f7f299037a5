/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image processor: convert, resize, rescale and normalise a frame into
 * the vision encoder's float32 CHW input. */
#include "preprocess.h"

#include <math.h>
#include <string.h>

struct _IbImagePreprocessor
{
  IbPreprocessParams p;
  float lut[3][256]; /* per channel: 8-bit value -> output float */
  IbImageResizer *rs; /* for the last input size, or NULL */
  guint8 *rgb; /* [height, width * 3] resized packed RGB */
};

void
ib_preprocess_params_init (IbPreprocessParams *p)
{
  static const double clip_mean[3] = { 0.48145466, 0.4578275, 0.40821073 };
  static const double clip_std[3] = { 0.26862954, 0.26130258, 0.27577711 };

  g_return_if_fail (p != NULL);

  memset (p, 0, sizeof (*p));
  p->width = 224;
  p->height = 224;
  p->do_convert_rgb = TRUE;
  p->do_rescale = TRUE;
  p->rescale_factor = 1.0 / 255.0;
  p->do_normalize = TRUE;
  memcpy (p->image_mean, clip_mean, sizeof (clip_mean));
  memcpy (p->image_std, clip_std, sizeof (clip_std));
  p->resize = IB_RESIZE_TORCHVISION;
}

/* The output for 8-bit value @v in channel @c, computed exactly as the PIL
 * backend does: rescale() multiplies in float64 and casts to float32;
 * normalize() casts mean and std to the image's dtype (float32) and
 * computes (x - mean) / std in float32. Without rescale, normalize casts
 * the uint8 image to float32 first. */
static float
lut_value_pil (const IbPreprocessParams *p, int c, int v)
{
  volatile float x; /* force rounding to float32 at each step */

  if (p->do_rescale)
    x = (float) ((double) v * p->rescale_factor);
  else
    x = (float) v;
  if (p->do_normalize) {
    const float mean = (float) p->image_mean[c];
    const float std = (float) p->image_std[c];
    volatile float d = x - mean;

    x = d / std;
  }
  return x;
}

/* The same as the torchvision backend computes it (transformers'
 * rescale_and_normalize): with both steps the rescale is folded into the
 * mean and std, float32 (mean) * float32 (1 / rescale_factor), and the
 * uint8 image converted to float32 is normalised, (x - mean) / std; the
 * rescale alone multiplies the float32 image by float32 (rescale_factor). */
static float
lut_value_torch (const IbPreprocessParams *p, int c, int v)
{
  volatile float x = (float) v; /* force rounding to float32 at each step */

  if (p->do_normalize) {
    volatile float mean = (float) p->image_mean[c];
    volatile float std = (float) p->image_std[c];
    volatile float d;
    if (p->do_rescale) {
      const float inv = (float) (1.0 / p->rescale_factor);
      mean = mean * inv;
      std = std * inv;
    }
    d = x - mean;
    x = d / std;
  } else if (p->do_rescale) {
    x = x * (float) p->rescale_factor;
  }
  return x;
}

static float
lut_value (const IbPreprocessParams *p, int c, int v)
{
  return p->resize == IB_RESIZE_TORCHVISION ? lut_value_torch (p, c, v) :
                                              lut_value_pil (p, c, v);
}

IbImagePreprocessor *
ib_image_preprocessor_new (const IbPreprocessParams *p, GError **error)
{
  IbImagePreprocessor *pp = NULL;
  int c, v;

  g_return_val_if_fail (p != NULL, NULL);

  if (p->width < 1 || p->height < 1 || p->width > IB_IMAGE_MAX_DIM ||
      p->height > IB_IMAGE_MAX_DIM) {
    g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_INVALID_ARG,
        "output size %dx%d outside 1..%d", p->width, p->height,
        IB_IMAGE_MAX_DIM);
    goto out;
  }
  if (p->do_rescale && !isfinite (p->rescale_factor)) {
    g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_INVALID_ARG,
        "rescale_factor is not finite");
    goto out;
  }
  for (c = 0; p->do_normalize && c < 3; c++) {
    if (!isfinite (p->image_mean[c]) || !isfinite (p->image_std[c]) ||
        (float) p->image_std[c] == 0.0f) {
      g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_INVALID_ARG,
          "channel %d: image_mean %g / image_std %g cannot normalise", c,
          p->image_mean[c], p->image_std[c]);
      goto out;
    }
  }

  pp = g_new0 (IbImagePreprocessor, 1);
  pp->p = *p;
  for (c = 0; c < 3; c++)
    for (v = 0; v < 256; v++)
      pp->lut[c][v] = lut_value (p, c, v);
  pp->rgb = g_try_malloc ((gsize) p->width * (gsize) p->height * 3);
  if (pp->rgb == NULL) {
    g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_NO_MEMORY,
        "out of memory for a %dx%d RGB image", p->width, p->height);
    ib_image_preprocessor_free (pp);
    pp = NULL;
  }

out:
  return pp;
}

void
ib_image_preprocessor_free (IbImagePreprocessor *pp)
{
  if (pp == NULL)
    return;
  ib_image_resizer_free (pp->rs);
  g_free (pp->rgb);
  g_free (pp);
}

gboolean
ib_image_preprocessor_run (IbImagePreprocessor *pp, const IbImage *img,
    float *out_chw, GError **error)
{
  const int w = pp ? pp->p.width : 0, h = pp ? pp->p.height : 0;
  const gsize plane = (gsize) w * (gsize) h;
  gboolean ok = FALSE;
  float *restrict o0, *restrict o1, *restrict o2;
  const guint8 *restrict s;
  gsize i;

  g_return_val_if_fail (pp != NULL, FALSE);

  if (!ib_image_check (img, error))
    goto out;
  if (out_chw == NULL) {
    g_set_error (error, IB_IMAGE_ERROR, IB_IMAGE_ERROR_INVALID_ARG,
        "no output buffer");
    goto out;
  }
  if (!ib_image_resizer_matches (pp->rs, img->width, img->height, w, h)) {
    ib_image_resizer_free (pp->rs);
    pp->rs = ib_image_resizer_new_full (img->width, img->height, w, h,
        pp->p.resize, error);
    if (pp->rs == NULL)
      goto out;
  }
  if (!ib_image_resizer_run (pp->rs, img, pp->p.do_convert_rgb, pp->rgb, w * 3,
          error))
    goto out;

  /* packed RGB -> planar R, G, B through the per-channel tables */
  s = pp->rgb;
  o0 = out_chw;
  o1 = out_chw + plane;
  o2 = out_chw + 2 * plane;
  for (i = 0; i < plane; i++, s += 3) {
    o0[i] = pp->lut[0][s[0]];
    o1[i] = pp->lut[1][s[1]];
    o2[i] = pp->lut[2][s[2]];
  }
  ok = TRUE;

out:
  return ok;
}

const guint8 *
ib_image_preprocessor_get_rgb (const IbImagePreprocessor *pp)
{
  g_return_val_if_fail (pp != NULL, NULL);
  return pp->rgb;
}

gboolean
ib_image_preprocess (const IbImage *img, const IbPreprocessParams *p,
    float *out_chw, GError **error)
{
  IbImagePreprocessor *pp;
  gboolean ok = FALSE;

  pp = ib_image_preprocessor_new (p, error);
  if (pp == NULL)
    goto out;
  ok = ib_image_preprocessor_run (pp, img, out_chw, error);

out:
  ib_image_preprocessor_free (pp);
  return ok;
}
