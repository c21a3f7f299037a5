/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The instructblippublish element: publishes the answers it sees as JSON
 * to a file, an MQTT broker or Kafka. */
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

/**
 * GstInstructBlipPublishMethod:
 * @GST_INSTRUCT_BLIP_PUBLISH_FILE: JSON lines appended to file-path
 * @GST_INSTRUCT_BLIP_PUBLISH_MQTT: MQTT messages (libmosquitto)
 * @GST_INSTRUCT_BLIP_PUBLISH_KAFKA: Kafka records (librdkafka)
 */
typedef enum
{
  GST_INSTRUCT_BLIP_PUBLISH_FILE,
  GST_INSTRUCT_BLIP_PUBLISH_MQTT,
  GST_INSTRUCT_BLIP_PUBLISH_KAFKA,
} GstInstructBlipPublishMethod;

/**
 * GstInstructBlipPublishDropPolicy:
 * @GST_INSTRUCT_BLIP_PUBLISH_DROP_OLDEST: a new message replaces the oldest
 *     waiting one
 * @GST_INSTRUCT_BLIP_PUBLISH_DROP_NEWEST: a new message is dropped
 */
typedef enum
{
  GST_INSTRUCT_BLIP_PUBLISH_DROP_OLDEST,
  GST_INSTRUCT_BLIP_PUBLISH_DROP_NEWEST,
} GstInstructBlipPublishDropPolicy;

#define GST_TYPE_INSTRUCT_BLIP_PUBLISH_METHOD \
  (gst_instruct_blip_publish_method_get_type ())
GType gst_instruct_blip_publish_method_get_type (void);

#define GST_TYPE_INSTRUCT_BLIP_PUBLISH_DROP_POLICY \
  (gst_instruct_blip_publish_drop_policy_get_type ())
GType gst_instruct_blip_publish_drop_policy_get_type (void);

#define GST_TYPE_INSTRUCT_BLIP_PUBLISH (gst_instruct_blip_publish_get_type ())
G_DECLARE_FINAL_TYPE (GstInstructBlipPublish, gst_instruct_blip_publish, GST,
    INSTRUCT_BLIP_PUBLISH, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE (instructblippublish);

G_END_DECLS
