/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image processor: a frame in -> normalised CHW float32 RGB pixels, as
 * transformers' BlipImageProcessor computes them: the torchvision backend
 * (transformers' default where torchvision is installed, and its video
 * processor) or the PIL one (BlipImageProcessorPil). */
#pragma once

#include "image.h"
#include "resample.h"

G_BEGIN_DECLS

/* The processor settings; field names follow preprocessor_config.json. */
typedef struct
{
  int width, height; /* output size, "size" {height, width} (224 x 224) */
  gboolean do_convert_rgb; /* composite alpha over white (TRUE); FALSE
                            * drops the alpha byte */
  gboolean do_rescale; /* multiply by rescale_factor (TRUE) */
  double rescale_factor; /* 1/255 */
  gboolean do_normalize; /* (x - mean) / std per channel (TRUE) */
  double image_mean[3]; /* RGB, CLIP mean */
  double image_std[3]; /* RGB, CLIP std; nonzero */
  /* IB_RESIZE_TORCHVISION: resize and normalise as the torchvision backend
   * (default); IB_RESIZE_PILLOW / _PILLOW12: as the PIL backend under
   * Pillow >= 13 / <= 12 */
  IbResizeMethod resize;
} IbPreprocessParams;

/* Fills @p with the InstructBLIP checkpoints' processor: 224 x 224, convert
 * to RGB, rescale 1/255, normalise with the OpenAI CLIP mean and std. */
void ib_preprocess_params_init (IbPreprocessParams *p);

/* Holds a copy of the params, per-channel lookup tables for rescale +
 * normalise, a resizer for the last input size and an RGB scratch image.
 * Use from one thread at a time. */
typedef struct _IbImagePreprocessor IbImagePreprocessor;

/* Checks @p and builds a preprocessor. Returns NULL and sets @error
 * (IB_IMAGE_ERROR_INVALID_ARG, _NO_MEMORY) on failure. */
IbImagePreprocessor *ib_image_preprocessor_new (const IbPreprocessParams *p,
    GError **error);

/* Frees @pp; NULL is a no-op. */
void ib_image_preprocessor_free (IbImagePreprocessor *pp);

/* Processes @img into @out_chw: [3, height, width] float32, channels R, G, B.
 * Resizes bicubic (only when the size differs), then rescales and
 * normalises in float32 as the chosen backend does: PIL, out =
 * (float32 (double (v) * rescale_factor) - float32 (mean)) / float32 (std)
 * as numpy computes it; torchvision, fused, out = (float32 (v) - m) / s
 * with m = float32 (mean) * float32 (1 / rescale_factor) and s likewise.
 * Bit-identical to transformers' pixel_values. The resize tables are rebuilt only when
 * the input size changes. Fails with IB_IMAGE_ERROR_INVALID_ARG on a bad
 * image, or _NO_MEMORY. */
gboolean ib_image_preprocessor_run (IbImagePreprocessor *pp, const IbImage *img,
    float *out_chw, GError **error);

/* The resized packed RGB image [height, width * 3] of the last successful
 * run (valid until the next run or free), for debugging and tests. */
const guint8 *ib_image_preprocessor_get_rgb (const IbImagePreprocessor *pp);

/* One-shot: ib_image_preprocessor_new + _run + _free. */
gboolean ib_image_preprocess (const IbImage *img, const IbPreprocessParams *p,
    float *out_chw, GError **error);

G_END_DECLS
