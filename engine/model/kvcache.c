/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* KV-cache reordering for beam search, and token id checks. */
#include "kvcache.h"

#include "ib-error.h"
#include "ops.h"

void
ib_kv_cache_reorder (IbClQueue *q, const IbKvCache *kv, const int *src,
    int n_beams, int len)
{
  gboolean identity = TRUE;
  int i, b, c;

  for (b = 0; b < n_beams; b++) {
    if (src[b] < 0 || src[b] >= kv->n_beams || n_beams > kv->n_beams) {
      ib_cl_queue_take_error (q,
          g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
              "beam reorder: beam %d of %d does not exist", src[b],
              kv->n_beams));
      return;
    }
    identity = identity && src[b] == b;
  }
  if (identity || len <= 0)
    return;
  /* new[b] = old[src[b]]: each cache goes through the spare once */
  for (i = 0; i < kv->n_layers; i++) {
    IbClBuffer *caches[2] = { kv->k[i], kv->v[i] };
    for (c = 0; c < 2; c++) {
      ib_cl_queue_copy (q, caches[c], 0, kv->spare, 0,
          ((n_beams - 1) * kv->beam_stride + (gsize) len * kv->width) * 4);
      for (b = 0; b < n_beams; b++)
        if (src[b] != b)
          ib_cl_copy_rows (q, kv->spare, src[b] * kv->beam_stride, kv->width,
              caches[c], b * kv->beam_stride, kv->width, len, kv->width);
    }
  }
}

gboolean
ib_check_ids (IbClQueue *q, const gint32 *ids, int n, int vocab)
{
  int i;

  for (i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= vocab)
      return ib_cl_queue_take_error (q,
          g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
              "token id %d is outside the vocabulary "
              "(%d)",
              ids[i], vocab));
  return TRUE;
}
