/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Next-token score processing as transformers does it on the CPU: softmax,
 * log-softmax, repetition penalty, minimum length, temperature, top-k, top-p. */
#include "logits.h"

#include "topk.h"

#include <math.h>
#include <string.h>

/* torch's AVX-512 float vector width: reductions keep 16 partial sums */
#define LANES 16

/* Sum of e[0..n) in the order of torch's vec::reduce_all: 16 interleaved
 * float accumulators (a partial last vector only touches its first lanes),
 * then pairwise across lanes (l + (l ^ 8), ^ 4, ^ 2, ^ 1); below 16
 * elements a plain left-to-right sum. */
static float
lane_sum (const float *e, int n)
{
  float acc[LANES], t[LANES];
  int d, l, sh;

  if (n < LANES) {
    float s = e[0];

    for (d = 1; d < n; d++)
      s += e[d];
    return s;
  }
  for (l = 0; l < LANES; l++)
    acc[l] = e[l];
  for (d = LANES; d + LANES <= n; d += LANES)
    for (l = 0; l < LANES; l++)
      acc[l] += e[d + l];
  for (l = 0; d + l < n; l++)
    acc[l] += e[d + l];
  for (sh = LANES / 2; sh >= 1; sh /= 2) {
    for (l = 0; l < LANES; l++)
      t[l] = acc[l] + acc[l ^ sh];
    memcpy (acc, t, sizeof acc);
  }
  return acc[0];
}

/* max of x[0..n), NaN if any element is NaN (vec::maximum propagates it) */
static float
row_max (const float *x, int n)
{
  float m = x[0];
  int i;

  for (i = 0; i < n; i++) {
    if (isnan (x[i]))
      return x[i];
    if (x[i] > m)
      m = x[i];
  }
  return m;
}

void
ib_log_softmax (const float *x, int n, float *out)
{
  float *d;
  float m, lse;
  int i;

  g_return_if_fail (x != NULL && out != NULL && n > 0);

  d = g_new (float, 2 * (gsize) n); /* [2, n]: x - max, then exp of it */
  m = row_max (x, n);
  for (i = 0; i < n; i++) {
    d[i] = x[i] - m;
    d[n + i] = (float) exp ((double) d[i]);
  }
  lse = (float) log ((double) lane_sum (d + n, n));
  /* (x - max) - lse in this order, as torch (not x - (max + lse)) */
  for (i = 0; i < n; i++)
    out[i] = d[i] - lse;
  g_free (d);
}

void
ib_softmax (const float *x, int n, float *out)
{
  float m, inv;
  int i;

  g_return_if_fail (x != NULL && out != NULL && n > 0);

  m = row_max (x, n);
  for (i = 0; i < n; i++)
    out[i] = (float) exp ((double) (x[i] - m));
  inv = 1.0f / lane_sum (out, n);
  for (i = 0; i < n; i++)
    out[i] *= inv;
}

int
ib_argmax (const float *x, int n)
{
  int i, best = 0;

  g_return_val_if_fail (x != NULL && n > 0, 0);

  for (i = 0; i < n; i++) {
    if (isnan (x[i]))
      return i;
    if (x[i] > x[best])
      best = i;
  }
  return best;
}

void
ib_logits_repetition_penalty (float *scores, int vocab, const gint32 *ids,
    int n_ids, double penalty, guint8 *seen)
{
  const float p = (float) penalty;
  int i;

  g_return_if_fail (scores != NULL && seen != NULL);
  g_return_if_fail (n_ids == 0 || ids != NULL);

  for (i = 0; i < n_ids; i++) {
    gint32 v = ids[i];
    float s;

    if (v < 0 || v >= vocab || seen[v])
      continue;
    seen[v] = 1;
    s = scores[v];
    scores[v] = s < 0.0f ? s * p : s / p;
  }
  for (i = 0; i < n_ids; i++)
    if (ids[i] >= 0 && ids[i] < vocab)
      seen[ids[i]] = 0;
}

void
ib_logits_suppress (float *scores, int vocab, const gint32 *eos, int n_eos)
{
  int i;

  g_return_if_fail (scores != NULL);
  g_return_if_fail (n_eos == 0 || eos != NULL);

  for (i = 0; i < n_eos; i++)
    if (eos[i] >= 0 && eos[i] < vocab)
      scores[eos[i]] = -INFINITY;
}

void
ib_logits_temperature (float *scores, int vocab, double temperature)
{
  const float t = (float) temperature;
  int i;

  g_return_if_fail (scores != NULL);

  for (i = 0; i < vocab; i++)
    scores[i] /= t;
}

void
ib_logits_top_k (float *scores, int vocab, int top_k, int min_keep)
{
  int k = MIN (MAX (top_k, min_keep), vocab), i;
  int *idx;
  float *val, kth;

  g_return_if_fail (scores != NULL && vocab > 0);
  if (k < 1)
    return;

  idx = g_new (int, k);
  val = g_new (float, k);
  ib_topk (scores, vocab, k, idx, val);
  kth = val[k - 1];
  for (i = 0; i < vocab; i++)
    if (scores[i] < kth)
      scores[i] = -INFINITY;
  g_free (idx);
  g_free (val);
}

void
ib_logits_top_p (float *scores, int vocab, double top_p, int min_keep)
{
  const float threshold = (float) (1.0 - top_p);
  int *order;
  float *sorted;
  double acc = 0.0;
  int j;

  g_return_if_fail (scores != NULL && vocab > 0);

  order = g_new (int, vocab);
  sorted = g_new (float, vocab);
  ib_sort (scores, vocab, FALSE, order, sorted); /* ascending, torch's ties */
  ib_softmax (sorted, vocab, sorted);

  /* cumsum: double accumulator, each partial sum rounded to float */
  for (j = 0; j < vocab - MAX (min_keep, 0); j++) {
    acc += sorted[j];
    if ((float) acc <= threshold)
      scores[order[j]] = -INFINITY;
  }
  g_free (sorted);
  g_free (order);
}
