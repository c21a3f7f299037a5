/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Registration and accessors of the answer GstCustomMeta. */
#include "gstinstructblipmeta.h"

const GstMetaInfo *
gst_instruct_blip_meta_get_info (void)
{
  static gsize info = 0;

  if (g_once_init_enter (&info)) {
    /* No tags: video filters (videoconvert, videoscale) keep metas without
     * tags, so answers survive conversion. No transform function: the
     * default copies the structure on copy transforms. */
    static const gchar *tags[] = { NULL };
    const GstMetaInfo *i =
        gst_meta_register_custom (GST_INSTRUCT_BLIP_META_NAME, tags, NULL, NULL,
            NULL);
    g_once_init_leave (&info, (gsize) i);
  }
  return (const GstMetaInfo *) info;
}

static gboolean
copy_field (GQuark field, const GValue *value, gpointer user_data)
{
  gst_structure_id_set_value (user_data, field, value);
  return TRUE;
}

GstCustomMeta *
gst_buffer_add_instruct_blip_meta (GstBuffer *buffer,
    const GstStructure *answer)
{
  GstCustomMeta *meta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (answer != NULL, NULL);

  gst_instruct_blip_meta_get_info ();
  meta = gst_buffer_add_custom_meta (buffer, GST_INSTRUCT_BLIP_META_NAME);
  if (meta == NULL)
    return NULL;
  gst_structure_foreach (answer, copy_field,
      gst_custom_meta_get_structure (meta));
  return meta;
}

const GstStructure *
gst_buffer_get_instruct_blip_answer (GstBuffer *buffer)
{
  GstCustomMeta *meta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);

  meta = gst_buffer_get_custom_meta (buffer, GST_INSTRUCT_BLIP_META_NAME);
  return meta ? gst_custom_meta_get_structure (meta) : NULL;
}
