/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A Hugging Face InstructBLIP model directory, opened and checked in one call. */
#pragma once

#include "ib-error.h"
#include "ib-config.h"
#include "ib-safetensors.h"
#include "ib-convert.h"
#include "ib-expected.h"
#include "ib-validate.h"

G_BEGIN_DECLS

/*
 * Usage (a model loader):
 *
 *   IbCheckpoint *ckpt = ib_checkpoint_open ("instructblip-vicuna-7b", &error);
 *   const IbModelConfig *cfg = ib_checkpoint_get_config (ckpt);
 *   const IbTensor *w = ib_checkpoint_get_tensor (ckpt,
 *       "language_model.lm_head.weight");       (the embedding if tied)
 *   for each slice: ib_tensor_read_f16 (w, first, n, staging, &error),
 *                   upload the staging buffer
 *   ib_checkpoint_free (ckpt);
 */

typedef struct _IbCheckpoint IbCheckpoint;

/* ib_model_config_load(), ib_safetensors_open_dir() and
 * ib_checkpoint_validate() on @model_dir. Returns NULL with @error set as
 * those functions set it. Free with ib_checkpoint_free(). */
IbCheckpoint *ib_checkpoint_open (const char *model_dir, GError **error);

/* NULL is a no-op; tensors and the config become invalid. */
void ib_checkpoint_free (IbCheckpoint *ckpt);

/* Owned by @ckpt. */
const IbModelConfig *ib_checkpoint_get_config (const IbCheckpoint *ckpt);
const IbSafetensors *ib_checkpoint_get_safetensors (const IbCheckpoint *ckpt);

/* The tensor the model should use for Hugging Face name @name: the
 * tensor itself, or for an absent tied weight (lm_head) the embedding it is
 * tied to. NULL if the checkpoint has neither. Owned by @ckpt. */
const IbTensor *ib_checkpoint_get_tensor (const IbCheckpoint *ckpt,
    const char *name);

G_END_DECLS
