/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bicubic resize of packed 8-bit images, bit-identical to Pillow's
 * Image.resize (size, Image.BICUBIC) with box and reducing_gap None.
 *
 * Pillow resizes in two separable passes, each rounded to 8 bits, so their
 * order changes the bytes. Up to Pillow 12 the horizontal pass always ran
 * first; Pillow 13 runs the vertical pass first when the height shrinks by
 * more than twice as many pixels as the width (portrait video to a square,
 * for one). The default follows Pillow 13. */
#pragma once

#include "image.h"

G_BEGIN_DECLS

/* Holds the fixed-point filter tables and scratch rows for one
 * in_width x in_height -> out_width x out_height resize, so repeated frames
 * of one size cost no allocation. Use from one thread at a time. */
typedef struct _IbImageResizer IbImageResizer;

typedef enum
{
  IB_RESIZE_PILLOW, /* Pillow >= 13: the order by shape (default) */
  IB_RESIZE_PILLOW12, /* Pillow <= 12: horizontal pass first */
  IB_RESIZE_TORCHVISION, /* torchvision resize (antialias) of a uint8
                          * tensor, torch's int16-weight kernel: what
                          * transformers' torchvision-backed processors
                          * compute; horizontal pass first */
} IbResizeMethod;

/* Whether the horizontal pass runs first for this resize. */
gboolean ib_image_resize_horizontal_first (int in_width, int in_height,
    int out_width, int out_height, IbResizeMethod method);

/* Precomputes the tables for a resize between the given sizes (each
 * 1 .. IB_IMAGE_MAX_DIM). Returns NULL and sets @error
 * (IB_IMAGE_ERROR_INVALID_ARG, _NO_MEMORY) on failure. Free with
 * ib_image_resizer_free. */
IbImageResizer *ib_image_resizer_new (int in_width, int in_height,
    int out_width, int out_height, GError **error);
/* The same with another method (ib_image_resizer_new: IB_RESIZE_PILLOW). */
IbImageResizer *ib_image_resizer_new_full (int in_width, int in_height,
    int out_width, int out_height, IbResizeMethod method, GError **error);

/* Frees @rs; NULL is a no-op. */
void ib_image_resizer_free (IbImageResizer *rs);

/* TRUE when @rs was made for exactly these sizes. */
gboolean ib_image_resizer_matches (const IbImageResizer *rs, int in_width,
    int in_height, int out_width, int out_height);

/* Chooses between the SSE2 passes (the default where the compiler targets
 * SSE2) and the portable ones; both give the same bytes. Returns whether
 * the choice is available. For tests and benchmarks. */
gboolean ib_image_resizer_set_simd (IbImageResizer *rs, gboolean simd);

/* Resizes @in (any IbPixelFormat; its size must be the resizer's input size)
 * to packed RGB in @out: [out_height, out_stride] bytes, out_stride >=
 * out_width * 3. Alpha is composited over white first when
 * @composite_alpha, else dropped (see ib_image_row_to_rgb). Equal sizes
 * copy, as Pillow does. Fails with IB_IMAGE_ERROR_INVALID_ARG. */
gboolean ib_image_resizer_run (IbImageResizer *rs, const IbImage *in,
    gboolean composite_alpha, guint8 *out, int out_stride, GError **error);

/* One-shot resize of packed RGB (@rgb: [h, stride] bytes) to packed RGB
 * @out ([out_h, out_w * 3] bytes) exactly like PIL's
 * Image.resize ((out_w, out_h), Image.BICUBIC). Allocates the tables on
 * every call; keep an IbImageResizer for video. */
gboolean ib_image_resize_bicubic (const guint8 *rgb, int w, int h, int stride,
    guint8 *out, int out_w, int out_h, GError **error);

G_END_DECLS
