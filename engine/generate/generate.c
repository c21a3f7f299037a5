/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The decoding loop on the host: greedy, sampling and beam search as
 * transformers 5.x generate() runs them for one sequence. */
#include "generate.h"

#include "logits.h"
#include "rng.h"
#include "topk.h"

#include <math.h>
#include <string.h>

/* transformers' "very large negative value" (exact in float32) */
#define NEG_BIG (-1.0e9f)
/* transformers' default max_length (20) counts generated ids when unset */
#define DEFAULT_NEW_TOKENS 20

GQuark
ib_gen_error_quark (void)
{
  /* once, thread-safe: a plain static filled on first use races when two
   * threads fail for the first time at once */
  static gsize quark;

  if (g_once_init_enter (&quark))
    g_once_init_leave (&quark,
        g_quark_from_static_string ("ib-gen-error-quark"));
  return (GQuark) quark;
}

void
ib_gen_params_init (IbGenParams *p)
{
  g_return_if_fail (p != NULL);

  memset (p, 0, sizeof (*p));
  p->max_new_tokens = -1;
  p->max_length = -1;
  p->min_new_tokens = -1;
  p->min_length = 0;
  p->num_beams = 1;
  p->length_penalty = 1.0;
  p->early_stopping = IB_EARLY_STOPPING_FALSE;
  p->repetition_penalty = 1.0;
  p->do_sample = FALSE;
  p->temperature = 1.0;
  p->top_k = 50;
  p->top_p = 1.0;
  p->seed = 0;
  p->eos_ids = NULL;
  p->n_eos = 0;
}

/* What one call works with: the settings resolved as transformers'
 * _prepare_generated_length does, plus scratch. */
typedef struct
{
  const IbGenModel *model;
  const IbGenParams *p;
  int vocab;
  int n_prompt;
  int max_length; /* whole sequence, prompt included */
  int min_length; /* eos banned while the sequence is shorter */
  int min_keep; /* warpers' min_tokens_to_keep */
  guint8 *seen; /* [vocab] scratch of the repetition penalty */
  IbRng rng;
} Ctx;

static gboolean
is_eos (const Ctx *c, gint32 id)
{
  int i;

  for (i = 0; i < c->p->n_eos; i++)
    if (c->p->eos_ids[i] == id)
      return TRUE;
  return FALSE;
}

/* The logits processors transformers builds for these settings, in its
 * order, on one row whose sequence so far is seq[0..len):
 * RepetitionPenalty, MinLength (MinNewTokensLength is the same test once
 * min_length = prompt + min_new_tokens), then with sampling the warpers
 * Temperature, TopK, TopP. */
static void
process_row (Ctx *c, float *scores, const gint32 *seq, int len)
{
  const IbGenParams *p = c->p;

  if (p->repetition_penalty != 1.0)
    ib_logits_repetition_penalty (scores, c->vocab, seq, len,
        p->repetition_penalty, c->seen);
  if (len < c->min_length)
    ib_logits_suppress (scores, c->vocab, p->eos_ids, p->n_eos);
  if (p->do_sample) {
    if (p->temperature != 1.0)
      ib_logits_temperature (scores, c->vocab, p->temperature);
    if (p->top_k != 0)
      ib_logits_top_k (scores, c->vocab, p->top_k, c->min_keep);
    if (p->top_p < 1.0)
      ib_logits_top_p (scores, c->vocab, p->top_p, c->min_keep);
  }
}

/* A NaN or infinite logit means non-finite weights (a damaged checkpoint)
 * or an overflow in a narrow precision: an error, never a silent (empty or
 * garbage) answer. Costs one pass over [n, vocab] floats per step. */
static gboolean
check_finite (const float *logits, gsize n, int vocab, const char *when,
    GError **error)
{
  gsize i;

  for (i = 0; i < n; i++) {
    if (!isfinite (logits[i])) {
      g_set_error (error, IB_GEN_ERROR, IB_GEN_ERROR_MODEL,
          "the model's logits are not finite (%g for token %d %s): its "
          "weights hold NaN or infinity, or a narrow precision overflowed",
          (double) logits[i], (int) (i % (gsize) vocab), when);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
model_step (Ctx *c, const gint32 *tokens, int n, float *logits, GError **error)
{
  GError *local = NULL;

  if (c->model->step (c->model->user, tokens, n, logits, &local))
    return check_finite (logits, (gsize) n * c->model->vocab, c->model->vocab,
        "while decoding", error);
  if (local)
    g_propagate_error (error, local);
  else
    g_set_error (error, IB_GEN_ERROR, IB_GEN_ERROR_MODEL,
        "the model's step callback failed");
  return FALSE;
}

static gboolean
model_reorder (Ctx *c, const int *src, int n, GError **error)
{
  GError *local = NULL;

  if (c->model->reorder (c->model->user, src, n, &local))
    return TRUE;
  if (local)
    g_propagate_error (error, local);
  else
    g_set_error (error, IB_GEN_ERROR, IB_GEN_ERROR_MODEL,
        "the model's reorder callback failed");
  return FALSE;
}

/* Greedy search and multinomial sampling (transformers' _sample): the
 * processors work on the raw logits; argmax takes the first maximum. */
static gboolean
run_single (Ctx *c, const gint32 *prompt, const float *first_logits,
    GArray *out_ids, IbGenStats *stats, GError **error)
{
  const int V = c->vocab;
  gint32 *seq = g_new (gint32, c->max_length); /* prompt + generated */
  float *logits = g_new (float, V); /* [vocab] */
  int len = c->n_prompt, n_steps = 0;
  gboolean ok = FALSE;

  if (c->n_prompt > 0)
    memcpy (seq, prompt, sizeof (gint32) * c->n_prompt);
  memcpy (logits, first_logits, sizeof (float) * V);

  for (;;) {
    gint32 tok;

    process_row (c, logits, seq, len);
    if (c->p->do_sample) {
      ib_softmax (logits, V, logits);
      tok = ib_rng_categorical (&c->rng, logits, V);
      if (tok < 0) {
        g_set_error (error, IB_GEN_ERROR, IB_GEN_ERROR_INVALID_ARG,
            "sampling: no id has a non-zero probability");
        goto out;
      }
    } else {
      tok = ib_argmax (logits, V);
    }
    seq[len++] = tok;
    /* stopping criteria: EosTokenCriteria, MaxLengthCriteria */
    if (is_eos (c, tok) || len >= c->max_length)
      break;
    if (!model_step (c, &tok, 1, logits, error))
      goto out;
    n_steps++;
  }

  g_array_append_vals (out_ids, seq + c->n_prompt, len - c->n_prompt);
  if (stats) {
    stats->n_steps = n_steps;
    stats->n_tokens = len - c->n_prompt;
  }
  ok = TRUE;
out:
  g_free (logits);
  g_free (seq);
  return ok;
}

/* Beam sampling's selection (_get_top_k_continuations, do_sample): k ids
 * drawn without replacement from softmax (acc), then sorted by acc,
 * descending (torch.sort).  acc is left unchanged; probs: [n] scratch. */
static gboolean
sample_k (Ctx *c, const float *acc, int n, int k, float *probs, int *idx,
    float *val, GError **error)
{
  int *drawn = g_new (int, k), *order = g_new (int, k);
  float *drawn_v = g_new (float, k);
  gboolean ok = FALSE;
  int j;

  ib_softmax (acc, n, probs);
  for (j = 0; j < k; j++) {
    int i = ib_rng_categorical (&c->rng, probs, n);

    if (i < 0) {
      g_set_error (error, IB_GEN_ERROR, IB_GEN_ERROR_INVALID_ARG,
          "beam sampling: fewer than %d ids with a non-zero probability", k);
      goto out;
    }
    probs[i] = 0.0f;
    drawn[j] = i;
    drawn_v[j] = acc[i];
  }
  ib_sort (drawn_v, k, TRUE, order, val);
  for (j = 0; j < k; j++)
    idx[j] = drawn[order[j]];
  ok = TRUE;
out:
  g_free (drawn_v);
  g_free (order);
  g_free (drawn);
  return ok;
}

/* (float) (n ** length_penalty): Python's int ** float is C pow () in double;
 * torch then divides a float32 tensor by it, rounded to float. */
static float
len_pow (int n, double length_penalty)
{
  return (float) pow ((double) n, length_penalty);
}

/* Beam search, transformers' vectorised _beam_search for batch size 1.
 *
 * State: num_beams running sequences with their summed log-probs, and
 * num_beams slots of finished hypotheses (score already length-normalised).
 * Each step: log_softmax of each running row, processors, + running score;
 * the best K = max (2, 1 + n_eos) * num_beams continuations over
 * [num_beams * vocab]; those hitting a stopping criterion (eos, or the
 * maximum length) leave the running set (score - 1e9 there), and become
 * finished hypotheses if they rank among the first num_beams of the K;
 * the best num_beams of (old finished slots + new ones) stay.  All sums in
 * float32 as torch; every selection is torch.topk (ties as torch). */
static gboolean
run_beams (Ctx *c, const gint32 *prompt, const float *first_logits,
    GArray *out_ids, IbGenStats *stats, GError **error)
{
  const IbGenParams *p = c->p;
  const int V = c->vocab, nb = p->num_beams, L = c->max_length;
  const int K = MAX (2, 1 + p->n_eos) * nb;
  const gsize NV = (gsize) nb * V;
  /* running beams: sequences [nb, L] (prompt included), scores, origins */
  gint32 *run_seq = g_new (gint32, (gsize) nb * L);
  float *run_score = g_new (float, nb);
  int *run_src = g_new (int, nb);
  gint32 *run_tok = g_new (gint32, nb);
  /* the K continuations: sequences [K, L], scores, origin beam, stop hit */
  gint32 *cand_seq = g_new (gint32, (gsize) K * L);
  float *cand_score = g_new (float, K);
  float *cand_running = g_new (float, K);
  int *cand_idx = g_new (int, K);
  int *cand_beam = g_new (int, K);
  gboolean *cand_hit = g_new (gboolean, K);
  /* finished slots [nb, L] and the merge buffers [nb + K] */
  gint32 *fin_seq = g_new (gint32, (gsize) nb * L);
  gint32 *fin_seq2 = g_new (gint32, (gsize) nb * L);
  int *fin_len = g_new0 (int, nb), *fin_len2 = g_new (int, nb);
  float *fin_score = g_new (float, nb);
  gboolean *fin_done = g_new0 (gboolean, nb), *fin_done2 = g_new (gboolean, nb);
  float *merged = g_new (float, nb + K);
  int *sel = g_new (int, nb + K);
  float *logits = g_new (float, NV); /* [nb, vocab] */
  float *acc = g_new (float, NV); /* [nb * vocab] accumulated log-probs */
  float *probs = p->do_sample ? g_new (float, NV) : NULL;
  gboolean heuristic_unsat = TRUE; /* improvement still possible */
  int cur_len = c->n_prompt, n_steps = 0, b, i;
  gboolean ok = FALSE;

  for (b = 0; b < nb; b++) {
    if (c->n_prompt > 0)
      memcpy (run_seq + (gsize) b * L, prompt, sizeof (gint32) * c->n_prompt);
    /* only beam 0 is live at first, so the first step expands one beam */
    run_score[b] = b == 0 ? 0.0f : NEG_BIG;
    fin_score[b] = NEG_BIG;
    memcpy (logits + (gsize) b * V, first_logits, sizeof (float) * V);
  }

  for (;;) {
    gboolean all_hit = TRUE, full, any_better = FALSE, all_done = TRUE;
    float denom, best, worst;

    /* a. logits of every running beam (the prefill's for the first step) */
    if (cur_len > c->n_prompt) {
      for (b = 0; b < nb; b++)
        run_tok[b] = run_seq[(gsize) b * L + cur_len - 1];
      if (!model_reorder (c, run_src, nb, error) ||
          !model_step (c, run_tok, nb, logits, error))
        goto out;
      n_steps++;
    }

    /* b. log_softmax, processors, + running score */
    for (b = 0; b < nb; b++) {
      float *row = acc + (gsize) b * V;

      ib_log_softmax (logits + (gsize) b * V, V, row);
      process_row (c, row, run_seq + (gsize) b * L, cur_len);
      for (i = 0; i < V; i++)
        row[i] += run_score[b];
    }

    /* c. the top K continuations over all beams */
    if (p->do_sample) {
      if (!sample_k (c, acc, (int) NV, K, probs, cand_idx, cand_score, error))
        goto out;
    } else {
      ib_topk (acc, (int) NV, K, cand_idx, cand_score);
    }
    for (i = 0; i < K; i++) {
      gint32 *s = cand_seq + (gsize) i * L;
      gint32 tok = cand_idx[i] % V;

      cand_beam[i] = cand_idx[i] / V;
      memcpy (s, run_seq + (gsize) cand_beam[i] * L, sizeof (gint32) * cur_len);
      s[cur_len] = tok;
      /* d. stopping criteria on the extended sequence */
      cand_hit[i] = is_eos (c, tok) || cur_len + 1 >= L;
      all_hit = all_hit && cand_hit[i];
    }

    /* e. next running beams: the best num_beams that did not stop */
    for (i = 0; i < K; i++)
      cand_running[i] = cand_score[i] + (float) cand_hit[i] * NEG_BIG;
    ib_topk (cand_running, K, nb, sel, NULL);
    for (b = 0; b < nb; b++) {
      memcpy (run_seq + (gsize) b * L, cand_seq + (gsize) sel[b] * L,
          sizeof (gint32) * (cur_len + 1));
      run_score[b] = cand_running[sel[b]];
      run_src[b] = cand_beam[sel[b]];
    }

    /* f. finished hypotheses: length-normalise the new ones (their length
     * counts the new id and not the prompt), -1e9 for anything that may not
     * finish, keep the best num_beams of old + new */
    denom = len_pow (cur_len + 1 - c->n_prompt, p->length_penalty);
    full = p->early_stopping == IB_EARLY_STOPPING_TRUE;
    for (b = 0; b < nb; b++)
      full = full && fin_done[b];
    for (b = 0; b < nb; b++)
      merged[b] = fin_score[b];
    for (i = 0; i < K; i++) {
      gboolean did_finish = cand_hit[i] && i < nb;
      float s = cand_score[i] / denom;

      s += (float) full * NEG_BIG;
      s += (float) !heuristic_unsat * NEG_BIG;
      s += (float) !did_finish * NEG_BIG;
      merged[nb + i] = s;
    }
    ib_topk (merged, nb + K, nb, sel, NULL);
    for (b = 0; b < nb; b++) {
      int m = sel[b];

      if (m < nb) {
        memcpy (fin_seq2 + (gsize) b * L, fin_seq + (gsize) m * L,
            sizeof (gint32) * fin_len[m]);
        fin_len2[b] = fin_len[m];
        fin_done2[b] = fin_done[m];
      } else {
        memcpy (fin_seq2 + (gsize) b * L, cand_seq + (gsize) (m - nb) * L,
            sizeof (gint32) * (cur_len + 1));
        fin_len2[b] = cur_len + 1;
        fin_done2[b] = cand_hit[m - nb] && m - nb < nb;
      }
      fin_score[b] = merged[m];
    }
    memcpy (fin_seq, fin_seq2, sizeof (gint32) * (gsize) nb * L);
    memcpy (fin_len, fin_len2, sizeof (int) * nb);
    memcpy (fin_done, fin_done2, sizeof (gboolean) * nb);

    cur_len++;

    /* g. can a running beam still beat the worst finished one?  The best
     * running score is normalised by the current length (or, for "never"
     * with a positive penalty, by the maximum length); a slot not finished
     * yet counts as -1e9 */
    if (p->early_stopping == IB_EARLY_STOPPING_NEVER && p->length_penalty > 0)
      best = run_score[0] / len_pow (L - c->n_prompt, p->length_penalty);
    else
      best = run_score[0] / len_pow (cur_len - c->n_prompt, p->length_penalty);
    worst = fin_score[0];
    for (b = 1; b < nb; b++)
      worst = MIN (worst, fin_score[b]);
    for (b = 0; b < nb; b++) {
      any_better = any_better || best > (fin_done[b] ? worst : NEG_BIG);
      all_done = all_done && fin_done[b];
    }
    heuristic_unsat = heuristic_unsat && any_better;

    if (!heuristic_unsat ||
        (all_done && p->early_stopping == IB_EARLY_STOPPING_TRUE) || all_hit)
      break;
  }

  /* the best slot (topk sorted them); its sequence as stored, eos included */
  g_array_append_vals (out_ids, fin_seq + c->n_prompt,
      MAX (fin_len[0] - c->n_prompt, 0));
  if (stats) {
    stats->n_steps = n_steps;
    stats->n_tokens = MAX (fin_len[0] - c->n_prompt, 0);
  }
  ok = TRUE;
out:
  g_free (probs);
  g_free (acc);
  g_free (logits);
  g_free (sel);
  g_free (merged);
  g_free (fin_done2);
  g_free (fin_done);
  g_free (fin_score);
  g_free (fin_len2);
  g_free (fin_len);
  g_free (fin_seq2);
  g_free (fin_seq);
  g_free (cand_hit);
  g_free (cand_beam);
  g_free (cand_idx);
  g_free (cand_running);
  g_free (cand_score);
  g_free (cand_seq);
  g_free (run_tok);
  g_free (run_src);
  g_free (run_score);
  g_free (run_seq);
  return ok;
}

static gboolean
invalid (GError **error, const char *msg)
{
  g_set_error_literal (error, IB_GEN_ERROR, IB_GEN_ERROR_INVALID_ARG, msg);
  return FALSE;
}

gboolean
ib_generate (const IbGenModel *model, const IbGenParams *p,
    const gint32 *prompt, int n_prompt, const float *first_logits,
    GArray *out_ids, IbGenStats *stats, GError **error)
{
  Ctx c = { 0 };
  gboolean ok = FALSE;

  g_return_val_if_fail (model != NULL && model->step != NULL, FALSE);
  g_return_val_if_fail (p != NULL && first_logits != NULL, FALSE);
  g_return_val_if_fail (n_prompt >= 0 && (n_prompt == 0 || prompt), FALSE);
  g_return_val_if_fail (out_ids != NULL, FALSE);
  g_return_val_if_fail (g_array_get_element_size (out_ids) == sizeof (gint32),
      FALSE);
  g_return_val_if_fail (p->n_eos >= 0 && (p->n_eos == 0 || p->eos_ids), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  c.model = model;
  c.p = p;
  c.vocab = model->vocab;
  c.n_prompt = n_prompt;

  /* _prepare_generated_length: max_new_tokens wins; an unset max_length
   * means 20 new ids; min_new_tokens replaces min_length */
  if (p->max_new_tokens >= 0)
    c.max_length = n_prompt + p->max_new_tokens;
  else if (p->max_length >= 0)
    c.max_length = p->max_length;
  else
    c.max_length = n_prompt + DEFAULT_NEW_TOKENS;
  c.min_length =
      p->min_new_tokens >= 0 ? n_prompt + p->min_new_tokens : p->min_length;

  if (c.vocab < 1)
    return invalid (error, "the model's vocabulary is empty");
  if (!check_finite (first_logits, (gsize) c.vocab, c.vocab, "after the prompt",
          error))
    return FALSE;
  if (n_prompt >= c.max_length)
    return invalid (error, "the prompt is not shorter than max_length");
  if (p->num_beams < 1)
    return invalid (error, "num_beams must be at least 1");
  if (!(p->repetition_penalty > 0.0))
    return invalid (error, "repetition_penalty must be > 0");
  if (p->do_sample && !(p->temperature > 0.0))
    return invalid (error, "temperature must be > 0 when sampling");
  if (p->do_sample && p->top_k < 0)
    return invalid (error, "top_k must be >= 0");
  if (p->do_sample && !(p->top_p >= 0.0 && p->top_p <= 1.0))
    return invalid (error, "top_p must lie in [0, 1]");
  if (p->num_beams > 1 && model->reorder == NULL)
    return invalid (error, "beam search needs a reorder callback");
  if (p->num_beams > 1 &&
      (gint64) MAX (2, 1 + p->n_eos) * p->num_beams >
          (gint64) p->num_beams * c.vocab)
    return invalid (error, "vocabulary too small for this many beams");

  /* warpers keep at least one non-eos id per beam in beam methods */
  if (p->num_beams > 1)
    c.min_keep = p->n_eos > 0 ? p->n_eos + 1 : 2;
  else
    c.min_keep = 1;
  c.seen = g_new0 (guint8, c.vocab);
  ib_rng_init (&c.rng, p->seed);

  if (p->num_beams > 1)
    ok = run_beams (&c, prompt, first_logits, out_ids, stats, error);
  else
    ok = run_single (&c, prompt, first_logits, out_ids, stats, error);

  g_free (c.seen);
  return ok;
}
