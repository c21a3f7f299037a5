/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The instructblippublish element's instance and the functions its files
 * share. */
#pragma once

#include "gstinstructblippublish.h"
#include "gstinstructblippublishtransport.h"

G_BEGIN_DECLS

struct _GstInstructBlipPublish
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  GstInstructBlipPublishSettings props;
  gboolean from_bus;
  GstInstructBlipPublishDropPolicy drop_policy;
  GstClockTime flush_timeout;

  /* between start and stop; lock guards what the bus handler touches */
  GMutex lock;
  GstInstructBlipPublishOutbox *outbox;
  GThread *sender;
  guint64 seq;
  GHashTable *seen; /* answer keys, when from-bus */
  GQueue seen_order;
  GstBus *bus;
  gulong bus_handler;
  char *pipeline_name;
  GstInstructBlipPublishStats last_stats; /* of the last run, once stopped */

  /* streaming thread */
  char *upstream_name;
  gboolean looked_upstream;
};

/* gstinstructblippublishprops.c */
void gst_instruct_blip_publish_install_properties (GObjectClass *oc);
void gst_instruct_blip_publish_init_properties (GstInstructBlipPublish *self);
void gst_instruct_blip_publish_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec);
void gst_instruct_blip_publish_get_property (GObject *object, guint prop_id,
    GValue *value, GParamSpec *pspec);

G_END_DECLS
