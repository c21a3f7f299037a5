/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The loaded model behind the public IbModel handle. */
#pragma once

#include "instructblip.h"
#include "ib-checkpoint.h"
#include "llama.h"
#include "precision.h"
#include "qformer.h"
#include "t5.h"
#include "tokenizer.h"
#include "vit.h"

G_BEGIN_DECLS

struct _IbModel
{
  gint refcount;
  char *dir;
  IbModelConfig *cfg; /* owned copy of the checkpoint's config */
  IbClDevice *dev;
  IbTokenizer *tok; /* LLM: tokenizer.json */
  IbTokenizer *qtok; /* Q-Former: qformer_tokenizer/ */
  IbVit *vit;
  IbQFormer *qformer;
  IbLlama *llama; /* one of llama / t5 */
  IbT5 *t5;
  gsize weight_bytes;
  IbImageResize image_resize; /* resolved: never IB_IMAGE_RESIZE_AUTO */
  IbPrecision precision; /* the weights' storage (never AUTO) */
  gboolean weights_from_cache; /* every weight came from the packed-weights
                                * cache (tests) */
};

G_END_DECLS
