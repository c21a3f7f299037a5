/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The instructblip plugin: registers the element and the answer meta. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gstinstructblip.h"
#include "gstinstructblipmeta.h"
#include "gstinstructblippublish.h"

static gboolean
plugin_init (GstPlugin *plugin)
{
  gst_instruct_blip_meta_get_info ();
  return GST_ELEMENT_REGISTER (instructblip, plugin) &&
      GST_ELEMENT_REGISTER (instructblippublish, plugin);
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, instructblip,
    "Video question answering with InstructBLIP on OpenCL", plugin_init,
    VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
