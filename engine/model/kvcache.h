/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Beam bookkeeping for per-layer KV caches shared by the decoders. */
#pragma once

#include "gemm.h"

G_BEGIN_DECLS

/* Caches of one decoder: per layer a K and a V buffer holding n_beams
 * sequences, sequence b at float offset b·beam_stride, rows of @width. */
typedef struct
{
  IbClBuffer **k, **v; /* [n_layers] */
  int n_layers;
  int n_beams; /* sequences the buffers hold */
  gsize beam_stride; /* floats between two sequences */
  int width; /* floats per row (heads·head_dim) */
  IbClBuffer *spare; /* one cache's size: reordering scratch */
} IbKvCache;

/* Sequence b takes over sequence src[b]'s first @len rows, in every layer
 * (beam search swapping beams). Enqueued; errors stick to @q. */
void ib_kv_cache_reorder (IbClQueue *q, const IbKvCache *kv, const int *src,
    int n_beams, int len);

/* FALSE (and an error in @q) unless every id is in [0, vocab). */
gboolean ib_check_ids (IbClQueue *q, const gint32 *ids, int n, int vocab);

G_END_DECLS
