/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Checks a checkpoint's tensors against its config: presence, dtype, shape. */
#include "ib-validate.h"
#include "ib-error.h"

#include <string.h>

const IbTensor *
ib_expected_resolve (const IbExpectedTensor *e, const IbSafetensors *st)
{
  const IbTensor *t;

  g_return_val_if_fail (e != NULL, NULL);
  g_return_val_if_fail (st != NULL, NULL);

  t = ib_safetensors_get (st, e->name);
  if (t == NULL && e->alias != NULL)
    t = ib_safetensors_get (st, e->alias);
  return t;
}

static gboolean
check_dtype (const IbTensor *t, GError **error)
{
  switch (t->dtype) {
    case IB_DTYPE_F32:
    case IB_DTYPE_F16:
    case IB_DTYPE_BF16:
      return TRUE;
    case IB_DTYPE_F64:
    case IB_DTYPE_F8_E4M3:
    case IB_DTYPE_F8_E5M2:
      g_set_error (error, IB_ERROR, IB_ERROR_UNSUPPORTED,
          "%s: tensor %s has unsupported dtype %s (supported: F32, F16, "
          "BF16)",
          t->file, t->name, ib_dtype_name (t->dtype));
      return FALSE;
    default:
      g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
          "%s: tensor %s has dtype %s, but a weight must be F32, F16 or BF16",
          t->file, t->name, ib_dtype_name (t->dtype));
      return FALSE;
  }
}

static gboolean
check_shape (const IbExpectedTensor *e, const IbTensor *t, GError **error)
{
  GString *why;
  gchar *have, *need;
  gboolean same_rank = t->n_dims == e->n_dims;
  gboolean named[IB_TENSOR_MAX_DIMS] = { FALSE };
  guint i, j, n_why = 0;

  if (same_rank &&
      memcmp (t->shape, e->shape, e->n_dims * sizeof (gint64)) == 0)
    return TRUE;

  /* name the config fields behind the dimensions that differ */
  why = g_string_new (NULL);
  for (i = 0; i < e->n_dims; i++) {
    if (e->dim_source[i] == NULL || (same_rank && t->shape[i] == e->shape[i]))
      continue;
    for (j = 0; j < i; j++)
      if (named[j] && strcmp (e->dim_source[j], e->dim_source[i]) == 0)
        break;
    if (j < i)
      continue;
    named[i] = TRUE;
    g_string_append_printf (why, "%s%s=%" G_GINT64_FORMAT, n_why++ ? ", " : "",
        e->dim_source[i], e->shape[i]);
  }
  have = ib_shape_to_string (t->n_dims, t->shape);
  need = ib_shape_to_string (e->n_dims, e->shape);
  g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
      "%s: %s has shape %s but config.json%s%s%s needs %s", t->file, t->name,
      have, n_why ? " (" : "", why->str, n_why ? ")" : "", need);
  g_free (have);
  g_free (need);
  g_string_free (why, TRUE);
  return FALSE;
}

static gboolean
check_one (const IbExpectedTensor *e, const IbSafetensors *st,
    const IbModelConfig *config, GError **error)
{
  const IbTensor *t = ib_safetensors_get (st, e->name);

  if (t == NULL && e->optional)
    return TRUE;
  if (t == NULL && e->alias != NULL) {
    t = ib_safetensors_get (st, e->alias);
    if (t != NULL) {
      g_debug ("%s: %s absent, using the tied %s",
          ib_safetensors_get_source (st), e->name, e->alias);
      /* the alias has its own entry in the list; its shape equals ours */
      return TRUE;
    }
  }
  if (t == NULL) {
    if (config->text.arch == IB_TEXT_ARCH_LLAMA &&
        g_str_has_suffix (e->name, "lm_head.weight"))
      g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
          "%s: tensor %s is missing (text_config.tie_word_embeddings is "
          "false, so the embedding cannot stand in for it)",
          ib_safetensors_get_source (st), e->name);
    else
      g_set_error (error, IB_ERROR, IB_ERROR_FORMAT, "%s: tensor %s is missing",
          ib_safetensors_get_source (st), e->name);
    return FALSE;
  }
  return check_dtype (t, error) && check_shape (e, t, error);
}

/* A stack of numbered layers: tensors "<prefix><index>.…". */
typedef struct
{
  const char *prefix;
  const char *key; /* the config field giving the count */
  gint n_config;
  guint64 n_present; /* highest index + 1 in the weights */
} Stack;

/* The config's layer counts must not exceed the layers the weights hold;
 * checked before the expected-tensor list is built, whose length follows
 * the counts. */
static gboolean
check_layer_counts (const IbModelConfig *config, const IbSafetensors *st,
    GError **error)
{
  const IbTextConfig *t = &config->text;
  gboolean t5 = t->arch == IB_TEXT_ARCH_T5;
  Stack stacks[] = {
    { "vision_model.encoder.layers.", "vision_config.num_hidden_layers",
        config->vision.n_layers, 0 },
    { "qformer.encoder.layer.", "qformer_config.num_hidden_layers",
        config->qformer.n_layers, 0 },
    { t5 ? "language_model.encoder.block." : "language_model.model.layers.",
        t5 ? "text_config.num_layers" : "text_config.num_hidden_layers",
        t->n_layers, 0 },
    { "language_model.decoder.block.", "text_config.num_decoder_layers",
        t5 ? t->n_decoder_layers : 0, 0 },
  };
  guint i, k;

  for (i = 0; i < ib_safetensors_get_n_tensors (st); i++) {
    const char *name = ib_safetensors_get_nth (st, i)->name;

    for (k = 0; k < G_N_ELEMENTS (stacks); k++) {
      const char *rest;
      gchar *end = NULL;
      guint64 index;

      if (!g_str_has_prefix (name, stacks[k].prefix))
        continue;
      rest = name + strlen (stacks[k].prefix);
      if (!g_ascii_isdigit (*rest))
        continue;
      index = g_ascii_strtoull (rest, &end, 10);
      if (*end == '.' && index < G_MAXUINT32)
        stacks[k].n_present = MAX (stacks[k].n_present, index + 1);
    }
  }
  for (k = 0; k < G_N_ELEMENTS (stacks); k++) {
    if ((guint64) stacks[k].n_config <= stacks[k].n_present)
      continue;
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "config.json: %s is %d, but %s holds %" G_GUINT64_FORMAT
        " such layers (%sN.*)",
        stacks[k].key, stacks[k].n_config, ib_safetensors_get_source (st),
        stacks[k].n_present, stacks[k].prefix);
    return FALSE;
  }
  return TRUE;
}

gboolean
ib_checkpoint_validate (const IbModelConfig *config, const IbSafetensors *st,
    GError **error)
{
  GPtrArray *expected;
  GHashTable *known;
  gboolean ok = TRUE;
  guint i;

  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (st != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_layer_counts (config, st, error))
    return FALSE;
  expected = ib_expected_tensors (config);
  known = g_hash_table_new (g_str_hash, g_str_equal);
  for (i = 0; ok && i < expected->len; i++) {
    const IbExpectedTensor *e = g_ptr_array_index (expected, i);

    g_hash_table_add (known, e->name);
    ok = check_one (e, st, config, error);
  }
  for (i = 0; ok && i < ib_safetensors_get_n_tensors (st); i++) {
    const IbTensor *t = ib_safetensors_get_nth (st, i);

    if (!g_hash_table_contains (known, t->name) &&
        !ib_expected_is_ignored (t->name))
      g_debug ("%s: tensor %s is not used by the model; ignored", t->file,
          t->name);
  }
  g_hash_table_unref (known);
  g_ptr_array_unref (expected);
  return ok;
}
