/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Next-token score processing as transformers does it on the CPU: softmax,
 * log-softmax, repetition penalty, minimum length, temperature, top-k, top-p. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* log_softmax over x[0..n) into out (may alias x), float32 as torch's CPU
 * kernel: max, then sum of exp (x - max), then (x - max) - log (sum).  The
 * sum runs in 16 interleaved float partial sums reduced pairwise (the lane
 * order of torch's AVX-512 kernel; sequential for n < 16); each exp and the
 * log are correctly rounded double results rounded to float (torch uses
 * SLEEF's 1-ulp float functions).  On random rows this gives torch's bits
 * for about 95% of rows and differs by an ulp elsewhere. */
void ib_log_softmax (const float *x, int n, float *out);

/* softmax over x[0..n) into out (may alias x), as torch's CPU kernel:
 * e = exp (x - max), s = lane sum of e, out = e * (1 / s). */
void ib_softmax (const float *x, int n, float *out);

/* Index of the first maximum (torch.argmax); the first NaN if any. */
int ib_argmax (const float *x, int n);

/* RepetitionPenaltyLogitsProcessor: every distinct id of ids[0..n_ids) that
 * is in [0, vocab) gets score < 0 ? score * penalty : score / penalty, once,
 * in float32 (penalty rounded to float as torch does with a Python scalar).
 * seen: [vocab] scratch, all FALSE on entry and on return. */
void ib_logits_repetition_penalty (float *scores, int vocab, const gint32 *ids,
    int n_ids, double penalty, guint8 *seen);

/* Set the scores of the ids in eos[0..n_eos) that lie in [0, vocab) to
 * -inf (MinLength / MinNewTokensLength while the sequence is too short). */
void ib_logits_suppress (float *scores, int vocab, const gint32 *eos,
    int n_eos);

/* TemperatureLogitsWarper: scores / temperature in float32. */
void ib_logits_temperature (float *scores, int vocab, double temperature);

/* TopKLogitsWarper: k = min (max (top_k, min_keep), vocab); every score
 * below the k-th largest becomes -inf (ties with the k-th all stay). */
void ib_logits_top_k (float *scores, int vocab, int top_k, int min_keep);

/* TopPLogitsWarper: sort ascending (torch.sort's order among ties, see
 * ib_sort), softmax, cumulative sum (double accumulator rounded to float per
 * element, as torch.cumsum on the CPU); ids whose cumulative probability is
 * <= 1 - top_p (compared in float) become -inf, except the min_keep most
 * probable.  Allocates. */
void ib_logits_top_p (float *scores, int vocab, double top_p, int min_keep);

G_END_DECLS
