/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GType registration of the instructblip element's enum properties. */
#include "gstinstructblipenums.h"

GType
gst_instruct_blip_processing_mode_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    { GST_INSTRUCT_BLIP_MODE_AUTO, "Async for live sources, blocking otherwise",
        "auto" },
    { GST_INSTRUCT_BLIP_MODE_BLOCKING,
        "Answer in the streaming thread, attached to the frame asked about",
        "blocking" },
    { GST_INSTRUCT_BLIP_MODE_ASYNC,
        "Answer on a worker thread; video never waits", "async" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstInstructBlipProcessingMode", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_instruct_blip_drop_policy_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    { GST_INSTRUCT_BLIP_DROP_OLDEST, "Drop the oldest waiting question",
        "drop-oldest" },
    { GST_INSTRUCT_BLIP_DROP_NEWEST, "Drop the new question", "drop-newest" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstInstructBlipDropPolicy", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_instruct_blip_precision_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    { GST_INSTRUCT_BLIP_PRECISION_FP32, "32-bit float weights", "fp32" },
    { GST_INSTRUCT_BLIP_PRECISION_FP16,
        "16-bit float weights (half the memory)", "fp16" },
    { GST_INSTRUCT_BLIP_PRECISION_BF16,
        "bfloat16 weights (CPU: oneDNN bf16 products; GPU: fp32 sums)",
        "bf16" },
    { GST_INSTRUCT_BLIP_PRECISION_Q8,
        "8-bit weights (CPU: oneDNN, 8-bit activations too; GPU: fp32 sums)",
        "q8" },
    { GST_INSTRUCT_BLIP_PRECISION_AUTO,
        "The most exact precision that fits the device's memory", "auto" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstInstructBlipPrecision", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_instruct_blip_image_resize_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    { GST_INSTRUCT_BLIP_IMAGE_RESIZE_AUTO,
        "As transformers picks for the checkpoint", "auto" },
    { GST_INSTRUCT_BLIP_IMAGE_RESIZE_TORCHVISION,
        "transformers' torchvision image and video processors", "torchvision" },
    { GST_INSTRUCT_BLIP_IMAGE_RESIZE_PILLOW,
        "transformers' PIL image processor, Pillow >= 13", "pillow" },
    { GST_INSTRUCT_BLIP_IMAGE_RESIZE_PILLOW12,
        "transformers' PIL image processor, Pillow <= 12", "pillow12" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstInstructBlipImageResize", values);
    g_once_init_leave (&type, t);
  }
  return type;
}
