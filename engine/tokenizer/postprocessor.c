/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Post-processors (TemplateProcessing, BertProcessing, RobertaProcessing, Sequence) reduced to a single-sequence id template. */
#include "tokenizer-private.h"

#include <string.h>

#define SEQ_MARK (-1)

/* the template for one sequence: ids, with SEQ_MARK where the sequence
 * goes (usually once) */
struct _IbPostProcessor
{
  GArray *tmpl; /* gint32 */
};

void
ib_post_processor_free (IbPostProcessor *p)
{
  if (p == NULL)
    return;
  g_array_free (p->tmpl, TRUE);
  g_free (p);
}

guint
ib_post_processor_added (const IbPostProcessor *p)
{
  guint i, n = 0;

  if (p == NULL)
    return 0;
  for (i = 0; i < p->tmpl->len; i++)
    if (g_array_index (p->tmpl, gint32, i) != SEQ_MARK)
      n++;
  return n;
}

void
ib_post_processor_apply (const IbPostProcessor *p, const GArray *seq,
    GArray *ids)
{
  guint i;

  if (p == NULL) {
    g_array_append_vals (ids, seq->data, seq->len);
    return;
  }
  for (i = 0; i < p->tmpl->len; i++) {
    gint32 v = g_array_index (p->tmpl, gint32, i);
    if (v == SEQ_MARK)
      g_array_append_vals (ids, seq->data, seq->len);
    else
      g_array_append_val (ids, v);
  }
}

static IbPostProcessor *
processor_new (void)
{
  IbPostProcessor *p = g_new0 (IbPostProcessor, 1);

  p->tmpl = g_array_new (FALSE, FALSE, sizeof (gint32));
  return p;
}

/* the id of a [token, id] pair (BertProcessing's cls / sep) */
static gboolean
pair_id (JsonObject *obj, const char *name, gint32 *id, GError **error)
{
  JsonNode *n = json_object_get_member (obj, name);
  JsonArray *a;

  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n) ||
      json_array_get_length (a = json_node_get_array (n)) != 2 ||
      !JSON_NODE_HOLDS_VALUE (json_array_get_element (a, 1))) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "post_processor: bad '%s'", name);
    return FALSE;
  }
  *id = (gint32) json_array_get_int_element (a, 1);
  return TRUE;
}

static gboolean
append_special (IbPostProcessor *p, JsonObject *specials, const char *name,
    GError **error)
{
  JsonNode *n = specials ? json_object_get_member (specials, name) : NULL;
  JsonNode *idsn;
  JsonArray *ids;
  guint i;

  if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n) ||
      (idsn = json_object_get_member (json_node_get_object (n), "ids")) ==
          NULL ||
      !JSON_NODE_HOLDS_ARRAY (idsn)) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "TemplateProcessing: missing SpecialToken '%s'", name);
    return FALSE;
  }
  ids = json_node_get_array (idsn);
  for (i = 0; i < json_array_get_length (ids); i++) {
    gint32 v = (gint32) json_array_get_int_element (ids, i);
    g_array_append_val (p->tmpl, v);
  }
  return TRUE;
}

static gboolean
parse_template (IbPostProcessor *p, JsonObject *obj, GError **error)
{
  JsonNode *single = json_object_get_member (obj, "single");
  JsonNode *sp = json_object_get_member (obj, "special_tokens");
  JsonObject *specials =
      (sp && JSON_NODE_HOLDS_OBJECT (sp)) ? json_node_get_object (sp) : NULL;
  JsonArray *items;
  guint i;

  if (single == NULL || !JSON_NODE_HOLDS_ARRAY (single)) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "TemplateProcessing without a 'single' template");
    return FALSE;
  }
  items = json_node_get_array (single);
  for (i = 0; i < json_array_get_length (items); i++) {
    JsonNode *it = json_array_get_element (items, i);
    if (JSON_NODE_HOLDS_OBJECT (it)) {
      JsonObject *o = json_node_get_object (it);
      JsonNode *inner;
      if ((inner = json_object_get_member (o, "Sequence")) != NULL) {
        const char *id = JSON_NODE_HOLDS_OBJECT (inner) ?
            ib_json_get_string (json_node_get_object (inner), "id", "A") :
            "A";
        if (strcmp (id, "A") == 0) {
          gint32 v = SEQ_MARK;
          g_array_append_val (p->tmpl, v);
        }
      } else if ((inner = json_object_get_member (o, "SpecialToken")) != NULL &&
          JSON_NODE_HOLDS_OBJECT (inner)) {
        const char *id =
            ib_json_get_string (json_node_get_object (inner), "id", "");
        if (!append_special (p, specials, id, error))
          return FALSE;
      } else {
        g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
            "TemplateProcessing: unknown template piece");
        return FALSE;
      }
    } else if (JSON_NODE_HOLDS_VALUE (it) &&
        json_node_get_value_type (it) == G_TYPE_STRING) {
      /* "$A", "$B:1", "[CLS]", "[SEP]:0" */
      char **parts = g_strsplit (json_node_get_string (it), ":", 2);
      gboolean ok = TRUE;
      if (parts[0][0] == '$') {
        const char *r = parts[0] + 1;
        if (*r == '\0' || g_ascii_strcasecmp (r, "A") == 0 ||
            g_ascii_isdigit (*r)) {
          gint32 v = SEQ_MARK;
          g_array_append_val (p->tmpl, v);
        }
      } else {
        ok = append_special (p, specials, parts[0], error);
      }
      g_strfreev (parts);
      if (!ok)
        return FALSE;
    }
  }
  return TRUE;
}

/* @outer applied after @inner: outer's sequence slot gets inner's ids */
static void
compose (IbPostProcessor *inner, const IbPostProcessor *outer)
{
  GArray *t = g_array_new (FALSE, FALSE, sizeof (gint32));
  guint i;

  for (i = 0; i < outer->tmpl->len; i++) {
    gint32 v = g_array_index (outer->tmpl, gint32, i);
    if (v == SEQ_MARK)
      g_array_append_vals (t, inner->tmpl->data, inner->tmpl->len);
    else
      g_array_append_val (t, v);
  }
  g_array_free (inner->tmpl, TRUE);
  inner->tmpl = t;
}

IbPostProcessor *
ib_post_processor_new (JsonNode *node, GError **error)
{
  IbPostProcessor *p;
  JsonObject *obj;
  const char *type;
  gboolean ok = FALSE;
  gint32 mark = SEQ_MARK;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  p = processor_new ();
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "post_processor is not an object");
    goto out;
  }
  obj = json_node_get_object (node);
  type = ib_json_type (obj);
  if (type == NULL) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "post_processor without a type");
    goto out;
  } else if (strcmp (type, "TemplateProcessing") == 0) {
    if (!parse_template (p, obj, error))
      goto out;
  } else if (strcmp (type, "BertProcessing") == 0 ||
      strcmp (type, "RobertaProcessing") == 0) {
    gint32 cls, sep;
    if (!pair_id (obj, "cls", &cls, error) ||
        !pair_id (obj, "sep", &sep, error))
      goto out;
    g_array_append_val (p->tmpl, cls);
    g_array_append_val (p->tmpl, mark);
    g_array_append_val (p->tmpl, sep);
  } else if (strcmp (type, "ByteLevel") == 0) {
    g_array_append_val (p->tmpl, mark);
  } else if (strcmp (type, "Sequence") == 0) {
    JsonNode *arr = json_object_get_member (obj, "processors");
    guint i;
    g_array_append_val (p->tmpl, mark);
    if (arr == NULL || !JSON_NODE_HOLDS_ARRAY (arr)) {
      g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
          "Sequence post_processor without processors");
      goto out;
    }
    for (i = 0; i < json_array_get_length (json_node_get_array (arr)); i++) {
      GError *err = NULL;
      IbPostProcessor *c =
          ib_post_processor_new (json_array_get_element (json_node_get_array (
                                                             arr),
                                     i),
              &err);
      if (err != NULL) {
        g_propagate_error (error, err);
        goto out;
      }
      if (c != NULL) {
        compose (p, c);
        ib_post_processor_free (c);
      }
    }
  } else {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_UNSUPPORTED,
        "unsupported post_processor type '%s'", type);
    goto out;
  }
  ok = TRUE;

out:
  if (!ok)
    g_clear_pointer (&p, ib_post_processor_free);
  return p;
}
