/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Vocabulary ranking: order candidate answers by their language-model loss,
 * as LAVIS InstructBLIP's _predict_class does. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How a candidate's per-token log-probabilities become its loss. */
typedef enum
{
  /* LAVIS Vicuna: the causal-LM loss with reduction "none" averaged over
   * every position of the padded sequence [soft tokens ; prompt ; answer ;
   * padding] shifted by one: sum of the answer tokens' -log p divided by
   * (n_context + longest answer of the segment - 1).  Ignored positions
   * (soft tokens, prompt, padding) count in the divisor with loss 0, so the
   * divisor changes with the longest candidate of each segment. */
  IB_RANK_LOSS_MEAN_PADDED,
  /* LAVIS Flan-T5: sum over the answer tokens (the tokenizer's </s>
   * included) of -log p. */
  IB_RANK_LOSS_SUM,
} IbRankLoss;

/* The loss of one candidate: -sum (logprobs[0..n_ids)), and for
 * MEAN_PADDED divided by n_positions (= n_context + padded answer length -
 * 1).  Accumulated in double. */
double ib_rank_loss (IbRankLoss loss, const float *logprobs, int n_ids,
    int n_positions);

/* Writes logprobs[0..n_ids): log p (ids[t] | context, ids[0..t)) for
 * candidate number `candidate` (teacher forcing after the shared context). */
typedef gboolean (*IbRankScoreFunc) (gpointer user, int candidate,
    const gint32 *ids, int n_ids, float *logprobs, GError **error);

/* Score n_cands candidates (cand_ids[c]: (array length=cand_lens[c]) the
 * answer's ids as the model sees them: Vicuna without the tokenizer's bos,
 * T5 with its </s>) and rank them by ascending loss.
 *
 * n_context: MEAN_PADDED only, the number of positions before the answer
 *   (query tokens of every frame + prompt ids incl. bos).
 * n_segments: LAVIS's n_segments (>= 1): candidates are padded in
 *   n_segments groups (n_cands / n_segments each, the last one takes the
 *   rest), which sets the MEAN_PADDED divisor.
 * order: [n_cands] out, candidate indices best first; equal losses keep
 *   index order (torch.argsort is not stable; ties are rare).
 * losses: [n_cands] out (nullable), per candidate index. */
gboolean ib_rank_candidates (const gint32 *const *cand_ids,
    const int *cand_lens, int n_cands, IbRankLoss loss, int n_context,
    int n_segments, IbRankScoreFunc score, gpointer user, int *order,
    double *losses, GError **error);

G_END_DECLS
