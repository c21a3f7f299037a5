/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The instructblip element: video question answering with InstructBLIP,
 * in place on raw video, answers out as meta, messages, a signal and
 * text. */
#pragma once

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_INSTRUCT_BLIP (gst_instruct_blip_get_type ())
G_DECLARE_FINAL_TYPE (GstInstructBlip, gst_instruct_blip, GST, INSTRUCT_BLIP,
    GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE (instructblip);

G_END_DECLS
