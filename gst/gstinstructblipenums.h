/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The enum property types of the instructblip element. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/**
 * GstInstructBlipProcessingMode:
 * @GST_INSTRUCT_BLIP_MODE_AUTO: async when upstream is live, else blocking
 * @GST_INSTRUCT_BLIP_MODE_BLOCKING: answer in the streaming thread; the
 *     answer rides on the last frame it is about
 * @GST_INSTRUCT_BLIP_MODE_ASYNC: answer on the model's worker thread while
 *     video flows; the answer rides on the first buffer after it is ready
 */
typedef enum
{
  GST_INSTRUCT_BLIP_MODE_AUTO,
  GST_INSTRUCT_BLIP_MODE_BLOCKING,
  GST_INSTRUCT_BLIP_MODE_ASYNC,
} GstInstructBlipProcessingMode;

/**
 * GstInstructBlipDropPolicy:
 * @GST_INSTRUCT_BLIP_DROP_OLDEST: a new question replaces the oldest waiting
 *     one (answers stay fresh)
 * @GST_INSTRUCT_BLIP_DROP_NEWEST: a new question is dropped (answers follow
 *     the order of questions without gaps until the queue drains)
 */
typedef enum
{
  GST_INSTRUCT_BLIP_DROP_OLDEST,
  GST_INSTRUCT_BLIP_DROP_NEWEST,
} GstInstructBlipDropPolicy;

/**
 * GstInstructBlipPrecision:
 * @GST_INSTRUCT_BLIP_PRECISION_FP32: weights stored as fp32 on the device
 * @GST_INSTRUCT_BLIP_PRECISION_FP16: weights stored as fp16 (half the
 *     memory)
 * @GST_INSTRUCT_BLIP_PRECISION_BF16: bf16 weights and products (CPU
 *     devices, oneDNN; half the memory)
 * @GST_INSTRUCT_BLIP_PRECISION_Q8: int8 weights, activations quantised per
 *     token (CPU devices, oneDNN; a quarter of the memory)
 * @GST_INSTRUCT_BLIP_PRECISION_AUTO: the most exact precision that fits the
 *     device's memory
 */
typedef enum
{
  GST_INSTRUCT_BLIP_PRECISION_FP32,
  GST_INSTRUCT_BLIP_PRECISION_FP16,
  GST_INSTRUCT_BLIP_PRECISION_BF16,
  GST_INSTRUCT_BLIP_PRECISION_Q8,
  GST_INSTRUCT_BLIP_PRECISION_AUTO,
} GstInstructBlipPrecision;

/**
 * GstInstructBlipImageResize:
 * @GST_INSTRUCT_BLIP_IMAGE_RESIZE_AUTO: as transformers picks for the
 *     checkpoint (torchvision, unless preprocessor_config.json names the
 *     PIL class)
 * @GST_INSTRUCT_BLIP_IMAGE_RESIZE_TORCHVISION: transformers' torchvision
 *     image and video processors
 * @GST_INSTRUCT_BLIP_IMAGE_RESIZE_PILLOW: transformers' PIL image processor
 *     under Pillow >= 13
 * @GST_INSTRUCT_BLIP_IMAGE_RESIZE_PILLOW12: the same under Pillow <= 12
 */
typedef enum
{
  GST_INSTRUCT_BLIP_IMAGE_RESIZE_AUTO,
  GST_INSTRUCT_BLIP_IMAGE_RESIZE_TORCHVISION,
  GST_INSTRUCT_BLIP_IMAGE_RESIZE_PILLOW,
  GST_INSTRUCT_BLIP_IMAGE_RESIZE_PILLOW12,
} GstInstructBlipImageResize;

#define GST_TYPE_INSTRUCT_BLIP_IMAGE_RESIZE \
  (gst_instruct_blip_image_resize_get_type ())
GType gst_instruct_blip_image_resize_get_type (void);

#define GST_TYPE_INSTRUCT_BLIP_PROCESSING_MODE \
  (gst_instruct_blip_processing_mode_get_type ())
GType gst_instruct_blip_processing_mode_get_type (void);

#define GST_TYPE_INSTRUCT_BLIP_DROP_POLICY \
  (gst_instruct_blip_drop_policy_get_type ())
GType gst_instruct_blip_drop_policy_get_type (void);

#define GST_TYPE_INSTRUCT_BLIP_PRECISION \
  (gst_instruct_blip_precision_get_type ())
GType gst_instruct_blip_precision_get_type (void);

G_END_DECLS
