/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* preprocessor_config.json and video_preprocessor_config.json, with BlipImageProcessor's defaults. */
#include "ib-config-private.h"
#include "ib-error.h"

#include <string.h>

/* OPENAI_CLIP_MEAN / OPENAI_CLIP_STD */
static const gdouble clip_mean[3] = { 0.48145466, 0.4578275, 0.40821073 };
static const gdouble clip_std[3] = { 0.26862954, 0.26130258, 0.27577711 };

/* BlipImageProcessor's size default is 384; without any file, the size the
 * vision tower was built for. */
#define BLIP_DEFAULT_SIZE 384

static const char *resample_names[] = { "nearest", "lanczos", "bilinear",
  "bicubic", "box", "hamming" };

static void
read_size (IbJsonReader *r, IbImageProcessorConfig *p, gint def)
{
  JsonNode *node = ib_json_reader_node (r, "size");
  JsonObject *obj;
  IbJsonReader sr;
  gchar *section;

  p->size_mode = IB_RESIZE_EXACT;
  p->height = p->width = def;
  p->shortest_edge = p->longest_edge = -1;
  if (r->failed || node == NULL)
    return;
  if (JSON_NODE_HOLDS_VALUE (node)) {
    /* an int means a square (default_to_square) */
    p->height = p->width = ib_json_reader_int (r, "size", def, 1);
    return;
  }
  obj = ib_json_reader_object (r, "size");
  if (obj == NULL)
    return;
  section = g_strconcat (r->section, "size.", NULL);
  ib_json_reader_init (&sr, r->file, section, obj, r->error);
  if (ib_json_reader_has (&sr, "height") || ib_json_reader_has (&sr, "width")) {
    p->height = ib_json_reader_int (&sr, "height", def, 1);
    p->width = ib_json_reader_int (&sr, "width", def, 1);
  } else if (ib_json_reader_has (&sr, "shortest_edge")) {
    p->size_mode = IB_RESIZE_SHORTEST_EDGE;
    p->shortest_edge = ib_json_reader_int (&sr, "shortest_edge", def, 1);
    p->longest_edge = ib_json_reader_int (&sr, "longest_edge", -1, 1);
  } else {
    ib_json_reader_fail (r, IB_ERROR_UNSUPPORTED, "size",
        "must have height and width, or shortest_edge");
  }
  if (sr.failed)
    r->failed = TRUE;
  g_free (section);
}

static void
read_crop (IbJsonReader *r, IbImageProcessorConfig *p)
{
  JsonNode *node = ib_json_reader_node (r, "crop_size");
  JsonObject *obj;
  IbJsonReader cr;

  p->crop_height = p->crop_width = -1;
  if (r->failed || node == NULL)
    return;
  if (JSON_NODE_HOLDS_VALUE (node)) {
    p->crop_height = p->crop_width = ib_json_reader_int (r, "crop_size", -1, 1);
    return;
  }
  obj = ib_json_reader_object (r, "crop_size");
  if (obj == NULL)
    return;
  ib_json_reader_init (&cr, r->file, "crop_size.", obj, r->error);
  p->crop_height = ib_json_reader_int (&cr, "height", -1, 1);
  p->crop_width = ib_json_reader_int (&cr, "width", -1, 1);
  if (!cr.failed && (p->crop_height < 0 || p->crop_width < 0))
    ib_json_reader_fail (&cr, IB_ERROR_FORMAT, NULL,
        "crop_size must have height and width");
  if (cr.failed)
    r->failed = TRUE;
}

static void
read_resample (IbJsonReader *r, IbImageProcessorConfig *p)
{
  JsonNode *node = ib_json_reader_node (r, "resample");
  guint i;

  p->resample = IB_RESAMPLE_BICUBIC;
  if (r->failed || node == NULL)
    return;
  if (JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_STRING) {
    const char *name = json_node_get_string (node);

    for (i = 0; i < G_N_ELEMENTS (resample_names); i++) {
      if (g_ascii_strcasecmp (name, resample_names[i]) == 0) {
        p->resample = (IbResample) i;
        return;
      }
    }
    ib_json_reader_fail (r, IB_ERROR_UNSUPPORTED, "resample",
        "\"%s\" is not a known filter", name);
    return;
  }
  i = (guint) ib_json_reader_int (r, "resample", IB_RESAMPLE_BICUBIC, 0);
  if (!r->failed && i > IB_RESAMPLE_HAMMING)
    ib_json_reader_fail (r, IB_ERROR_UNSUPPORTED, "resample",
        "(%u) is not a known PIL filter (0..5)", i);
  else
    p->resample = (IbResample) i;
}

/* image_mean / image_std: one number for all channels, or three. */
static void
read_rgb (IbJsonReader *r, const char *key, const gdouble *def, gdouble *out,
    gboolean positive)
{
  JsonNode *node = ib_json_reader_node (r, key);
  JsonArray *a;
  JsonNode *e;
  guint i, n;

  for (i = 0; i < 3; i++)
    out[i] = def[i];
  if (r->failed || node == NULL)
    return;
  if (JSON_NODE_HOLDS_VALUE (node)) {
    out[0] = out[1] = out[2] =
        ib_json_reader_double (r, key, def[0], positive ? 0.0 : -G_MAXDOUBLE);
    return;
  }
  n = JSON_NODE_HOLDS_ARRAY (node) ?
      json_array_get_length (json_node_get_array (node)) :
      0;
  if (n != 1 && n != 3) {
    ib_json_reader_fail (r, IB_ERROR_FORMAT, key,
        "must be a number or a list of 3 numbers");
    return;
  }
  a = json_node_get_array (node);
  for (i = 0; i < 3; i++) {
    e = json_array_get_element (a, n == 1 ? 0 : i);
    if (!JSON_NODE_HOLDS_VALUE (e) ||
        (json_node_get_value_type (e) != G_TYPE_DOUBLE &&
            json_node_get_value_type (e) != G_TYPE_INT64) ||
        (positive && !(json_node_get_double (e) > 0.0))) {
      ib_json_reader_fail (r, IB_ERROR_FORMAT, key,
          positive ? "must hold positive numbers" : "must hold numbers");
      return;
    }
    out[i] = json_node_get_double (e);
  }
}

gboolean
ib_config_load_image_processor (IbImageProcessorConfig *proc, const char *path,
    const IbImageProcessorConfig *fallback, gint image_size, GError **error)
{
  JsonNode *root;
  IbJsonReader r;
  GError *local = NULL;
  gboolean ok;

  root = ib_json_load_object_file (path, TRUE, &local);
  if (local != NULL) {
    g_propagate_error (error, local);
    return FALSE;
  }
  if (root == NULL && fallback != NULL) {
    *proc = *fallback;
    proc->present = FALSE;
    return TRUE;
  }

  proc->present = root != NULL;
  ib_json_reader_init (&r, path, "", root ? json_node_get_object (root) : NULL,
      error);
  proc->do_resize = ib_json_reader_bool (&r, "do_resize", TRUE);
  read_size (&r, proc, root ? BLIP_DEFAULT_SIZE : image_size);
  read_resample (&r, proc);
  proc->do_center_crop = ib_json_reader_bool (&r, "do_center_crop", FALSE);
  read_crop (&r, proc);
  proc->do_rescale = ib_json_reader_bool (&r, "do_rescale", TRUE);
  proc->rescale_factor =
      ib_json_reader_double (&r, "rescale_factor", 1.0 / 255.0, 0.0);
  proc->do_normalize = ib_json_reader_bool (&r, "do_normalize", TRUE);
  read_rgb (&r, "image_mean", clip_mean, proc->image_mean, FALSE);
  read_rgb (&r, "image_std", clip_std, proc->image_std, TRUE);
  proc->do_convert_rgb = ib_json_reader_bool (&r, "do_convert_rgb", TRUE);
  {
    const char *type = ib_json_reader_string (&r, "image_processor_type", "");
    proc->pil_backend = type != NULL && g_str_has_suffix (type, "Pil");
  }
  if (!r.failed && proc->do_center_crop && proc->crop_height < 0)
    ib_json_reader_fail (&r, IB_ERROR_FORMAT, "do_center_crop",
        "is true but crop_size is not given");
  ok = !r.failed;
  if (root)
    json_node_unref (root);
  return ok;
}
