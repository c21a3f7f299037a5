/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A Hugging Face InstructBLIP model directory, opened and checked in one call. */
#include "ib-checkpoint.h"

struct _IbCheckpoint
{
  IbModelConfig *config;
  IbSafetensors *st;
  GHashTable *aliases; /* expected name -> alias, for absent tied weights */
};

IbCheckpoint *
ib_checkpoint_open (const char *model_dir, GError **error)
{
  IbCheckpoint *ckpt;
  GPtrArray *expected = NULL;
  gboolean ok = FALSE;
  guint i;

  g_return_val_if_fail (model_dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  ckpt = g_new0 (IbCheckpoint, 1);
  ckpt->aliases = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  ckpt->config = ib_model_config_load (model_dir, error);
  if (ckpt->config == NULL)
    goto out;
  ckpt->st = ib_safetensors_open_dir (model_dir, error);
  if (ckpt->st == NULL)
    goto out;
  if (!ib_checkpoint_validate (ckpt->config, ckpt->st, error))
    goto out;

  /* remember which absent tied weights stand for which present ones */
  expected = ib_expected_tensors (ckpt->config);
  for (i = 0; i < expected->len; i++) {
    const IbExpectedTensor *e = g_ptr_array_index (expected, i);

    if (e->alias != NULL && ib_safetensors_get (ckpt->st, e->name) == NULL)
      g_hash_table_insert (ckpt->aliases, g_strdup (e->name),
          (gpointer) e->alias);
  }
  ok = TRUE;

out:
  if (expected)
    g_ptr_array_unref (expected);
  if (!ok)
    g_clear_pointer (&ckpt, ib_checkpoint_free);
  return ckpt;
}

void
ib_checkpoint_free (IbCheckpoint *ckpt)
{
  if (ckpt == NULL)
    return;
  g_hash_table_unref (ckpt->aliases);
  ib_safetensors_free (ckpt->st);
  ib_model_config_free (ckpt->config);
  g_free (ckpt);
}

const IbModelConfig *
ib_checkpoint_get_config (const IbCheckpoint *ckpt)
{
  g_return_val_if_fail (ckpt != NULL, NULL);

  return ckpt->config;
}

const IbSafetensors *
ib_checkpoint_get_safetensors (const IbCheckpoint *ckpt)
{
  g_return_val_if_fail (ckpt != NULL, NULL);

  return ckpt->st;
}

const IbTensor *
ib_checkpoint_get_tensor (const IbCheckpoint *ckpt, const char *name)
{
  const IbTensor *t;
  const char *alias;

  g_return_val_if_fail (ckpt != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  t = ib_safetensors_get (ckpt->st, name);
  if (t == NULL && (alias = g_hash_table_lookup (ckpt->aliases, name)))
    t = ib_safetensors_get (ckpt->st, alias);
  return t;
}
