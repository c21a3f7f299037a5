/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Vocabulary ranking: order candidate answers by their language-model loss,
 * as LAVIS InstructBLIP's _predict_class does. */
#include "rank.h"

#include "generate.h"

#include <stdlib.h>

double
ib_rank_loss (IbRankLoss loss, const float *logprobs, int n_ids,
    int n_positions)
{
  double sum = 0.0;
  int i;

  g_return_val_if_fail (n_ids == 0 || logprobs != NULL, 0.0);

  for (i = 0; i < n_ids; i++)
    sum -= logprobs[i];
  if (loss == IB_RANK_LOSS_MEAN_PADDED) {
    g_return_val_if_fail (n_positions > 0, 0.0);
    sum /= n_positions;
  }
  return sum;
}

typedef struct
{
  double loss;
  int index;
} Scored;

static int
scored_cmp (const void *pa, const void *pb)
{
  const Scored *a = pa, *b = pb;

  if (a->loss < b->loss)
    return -1;
  if (a->loss > b->loss)
    return 1;
  return (a->index > b->index) - (a->index < b->index);
}

gboolean
ib_rank_candidates (const gint32 *const *cand_ids, const int *cand_lens,
    int n_cands, IbRankLoss loss, int n_context, int n_segments,
    IbRankScoreFunc score, gpointer user, int *order, double *losses,
    GError **error)
{
  Scored *s = NULL;
  float *lp = NULL;
  int max_len = 0, c, seg;
  gboolean ok = FALSE;

  g_return_val_if_fail (n_cands >= 1 && cand_ids && cand_lens, FALSE);
  g_return_val_if_fail (score != NULL && order != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (n_segments < 1 || n_segments > n_cands) {
    g_set_error (error, IB_GEN_ERROR, IB_GEN_ERROR_INVALID_ARG,
        "n_segments must lie in [1, %d]", n_cands);
    return FALSE;
  }
  for (c = 0; c < n_cands; c++) {
    if (cand_lens[c] < 1 || cand_ids[c] == NULL) {
      g_set_error (error, IB_GEN_ERROR, IB_GEN_ERROR_INVALID_ARG,
          "candidate %d has no ids", c);
      return FALSE;
    }
    max_len = MAX (max_len, cand_lens[c]);
  }

  s = g_new (Scored, n_cands);
  lp = g_new (float, max_len);
  for (seg = 0; seg < n_segments; seg++) {
    /* LAVIS: seg_len = n // n_segments, the last segment takes the rest */
    int start = seg * (n_cands / n_segments);
    int end = seg == n_segments - 1 ? n_cands : start + n_cands / n_segments;
    int pad_len = 0;

    for (c = start; c < end; c++)
      pad_len = MAX (pad_len, cand_lens[c]);
    for (c = start; c < end; c++) {
      GError *local = NULL;

      if (!score (user, c, cand_ids[c], cand_lens[c], lp, &local)) {
        if (local)
          g_propagate_error (error, local);
        else
          g_set_error (error, IB_GEN_ERROR, IB_GEN_ERROR_MODEL,
              "the scoring callback failed for candidate %d", c);
        goto out;
      }
      s[c].loss =
          ib_rank_loss (loss, lp, cand_lens[c], n_context + pad_len - 1);
      s[c].index = c;
      if (losses)
        losses[c] = s[c].loss;
    }
  }
  qsort (s, (gsize) n_cands, sizeof (Scored), scored_cmp);
  for (c = 0; c < n_cands; c++)
    order[c] = s[c].index;
  ok = TRUE;
out:
  g_free (lp);
  g_free (s);
  return ok;
}
