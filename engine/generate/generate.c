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
typedef struct
{
  int nb, K, L, V;
  gsize NV;
  int cur_len; /* prompt + generated so far */
  gboolean heuristic_unsat; /* improvement still possible */
  /* running beams: sequences [nb, L] (prompt included), scores, origins */
  gint32 *run_seq;
  float *run_score;
  int *run_src;
  gint32 *run_tok;
  /* the K continuations: sequences [K, L], scores, origin beam, stop hit */
  gint32 *cand_seq;
  float *cand_score;
  float *cand_running;
  int *cand_idx;
  int *cand_beam;
  gboolean *cand_hit;
  /* finished slots [nb, L] and the merge buffers [nb + K] */
  gint32 *fin_seq, *fin_seq2;
  int *fin_len, *fin_len2;
  float *fin_score;
  gboolean *fin_done, *fin_done2;
  float *merged;
  int *sel;
  float *logits; /* [nb, vocab] */
  float *acc; /* [nb * vocab] accumulated log-probs */
  float *probs; /* [nb * vocab] beam sampling's scratch, or NULL */
  gpointer block; /* everything above, one zeroed allocation */
} Beams;

/* Points every array of @bm into @base (NULL: only counts) and returns
 * the 4-byte elements they take together: all element types are 4 bytes
 * wide, so consecutive arrays stay aligned. */
static gsize
beams_carve (Beams *bm, guint32 *base, gboolean sample)
{
  const gsize nb = bm->nb, K = bm->K, L = bm->L, NV = bm->NV;
  gsize n = 0;

  G_STATIC_ASSERT (sizeof (gint32) == 4 && sizeof (float) == 4 &&
      sizeof (int) == 4 && sizeof (gboolean) == 4);
#define TAKE(field, count)               \
  do {                                   \
    if (base)                            \
      bm->field = (gpointer) (base + n); \
    n += (count);                        \
  } while (0)
  TAKE (run_seq, nb * L);
  TAKE (run_score, nb);
  TAKE (run_src, nb);
  TAKE (run_tok, nb);
  TAKE (cand_seq, K * L);
  TAKE (cand_score, K);
  TAKE (cand_running, K);
  TAKE (cand_idx, K);
  TAKE (cand_beam, K);
  TAKE (cand_hit, K);
  TAKE (fin_seq, nb * L);
  TAKE (fin_seq2, nb * L);
  TAKE (fin_len, nb);
  TAKE (fin_len2, nb);
  TAKE (fin_score, nb);
  TAKE (fin_done, nb);
  TAKE (fin_done2, nb);
  TAKE (merged, nb + K);
  TAKE (sel, nb + K);
  TAKE (logits, NV);
  TAKE (acc, NV);
  if (sample)
    TAKE (probs, NV);
#undef TAKE
  return n;
}

/* Every beam starts as the prompt with the prefill's logits; only beam 0
 * is live at first, so the first step expands one beam. */
static void
beams_init (Beams *bm, const Ctx *c, const gint32 *prompt,
    const float *first_logits)
{
  int b;

  bm->nb = c->p->num_beams;
  bm->K = MAX (2, 1 + c->p->n_eos) * bm->nb;
  bm->L = c->max_length;
  bm->V = c->vocab;
  bm->NV = (gsize) bm->nb * bm->V;
  bm->cur_len = c->n_prompt;
  bm->heuristic_unsat = TRUE;
  bm->block = g_new0 (guint32, beams_carve (bm, NULL, c->p->do_sample));
  beams_carve (bm, bm->block, c->p->do_sample);
  for (b = 0; b < bm->nb; b++) {
    if (c->n_prompt > 0)
      memcpy (bm->run_seq + (gsize) b * bm->L, prompt,
          sizeof (gint32) * c->n_prompt);
    bm->run_score[b] = b == 0 ? 0.0f : NEG_BIG;
    bm->fin_score[b] = NEG_BIG;
    memcpy (bm->logits + (gsize) b * bm->V, first_logits,
        sizeof (float) * bm->V);
  }
}

/* a. logits of every running beam, the caches reordered to the beams'
 * origins (the prefill's logits for the first step) */
static gboolean
beams_step_model (Beams *bm, Ctx *c, int *n_steps, GError **error)
{
  int b;

  if (bm->cur_len == c->n_prompt)
    return TRUE;
  for (b = 0; b < bm->nb; b++)
    bm->run_tok[b] = bm->run_seq[(gsize) b * bm->L + bm->cur_len - 1];
  if (!model_reorder (c, bm->run_src, bm->nb, error) ||
      !model_step (c, bm->run_tok, bm->nb, bm->logits, error))
    return FALSE;
  (*n_steps)++;
  return TRUE;
}

/* b. log_softmax, processors, + running score */
static void
beams_score (Beams *bm, Ctx *c)
{
  int b, i;

  for (b = 0; b < bm->nb; b++) {
    float *row = bm->acc + (gsize) b * bm->V;

    ib_log_softmax (bm->logits + (gsize) b * bm->V, bm->V, row);
    process_row (c, row, bm->run_seq + (gsize) b * bm->L, bm->cur_len);
    for (i = 0; i < bm->V; i++)
      row[i] += bm->run_score[b];
  }
}

/* c. the top K continuations over all beams, d. the stopping criteria on
 * each extended sequence; *all_hit when every one of them stops */
static gboolean
beams_candidates (Beams *bm, Ctx *c, gboolean *all_hit, GError **error)
{
  int i;

  if (c->p->do_sample) {
    if (!sample_k (c, bm->acc, (int) bm->NV, bm->K, bm->probs, bm->cand_idx,
            bm->cand_score, error))
      return FALSE;
  } else {
    ib_topk (bm->acc, (int) bm->NV, bm->K, bm->cand_idx, bm->cand_score);
  }
  *all_hit = TRUE;
  for (i = 0; i < bm->K; i++) {
    gint32 *s = bm->cand_seq + (gsize) i * bm->L;
    gint32 tok = bm->cand_idx[i] % bm->V;

    bm->cand_beam[i] = bm->cand_idx[i] / bm->V;
    memcpy (s, bm->run_seq + (gsize) bm->cand_beam[i] * bm->L,
        sizeof (gint32) * bm->cur_len);
    s[bm->cur_len] = tok;
    bm->cand_hit[i] = is_eos (c, tok) || bm->cur_len + 1 >= bm->L;
    *all_hit = *all_hit && bm->cand_hit[i];
  }
  return TRUE;
}

/* e. next running beams: the best num_beams that did not stop */
static void
beams_advance (Beams *bm)
{
  int b, i;

  for (i = 0; i < bm->K; i++)
    bm->cand_running[i] = bm->cand_score[i] + (float) bm->cand_hit[i] * NEG_BIG;
  ib_topk (bm->cand_running, bm->K, bm->nb, bm->sel, NULL);
  for (b = 0; b < bm->nb; b++) {
    memcpy (bm->run_seq + (gsize) b * bm->L,
        bm->cand_seq + (gsize) bm->sel[b] * bm->L,
        sizeof (gint32) * (bm->cur_len + 1));
    bm->run_score[b] = bm->cand_running[bm->sel[b]];
    bm->run_src[b] = bm->cand_beam[bm->sel[b]];
  }
}

/* f. finished hypotheses: length-normalise the new ones (their length
 * counts the new id and not the prompt), -1e9 for anything that may not
 * finish, keep the best num_beams of old + new */
static void
beams_finish (Beams *bm, const Ctx *c)
{
  const IbGenParams *p = c->p;
  const int nb = bm->nb, L = bm->L;
  const float denom =
      len_pow (bm->cur_len + 1 - c->n_prompt, p->length_penalty);
  gboolean full = p->early_stopping == IB_EARLY_STOPPING_TRUE;
  int b, i;

  for (b = 0; b < nb; b++)
    full = full && bm->fin_done[b];
  for (b = 0; b < nb; b++)
    bm->merged[b] = bm->fin_score[b];
  for (i = 0; i < bm->K; i++) {
    gboolean did_finish = bm->cand_hit[i] && i < nb;
    float s = bm->cand_score[i] / denom;

    s += (float) full * NEG_BIG;
    s += (float) !bm->heuristic_unsat * NEG_BIG;
    s += (float) !did_finish * NEG_BIG;
    bm->merged[nb + i] = s;
  }
  ib_topk (bm->merged, nb + bm->K, nb, bm->sel, NULL);
  for (b = 0; b < nb; b++) {
    int m = bm->sel[b];

    if (m < nb) {
      memcpy (bm->fin_seq2 + (gsize) b * L, bm->fin_seq + (gsize) m * L,
          sizeof (gint32) * bm->fin_len[m]);
      bm->fin_len2[b] = bm->fin_len[m];
      bm->fin_done2[b] = bm->fin_done[m];
    } else {
      memcpy (bm->fin_seq2 + (gsize) b * L, bm->cand_seq + (gsize) (m - nb) * L,
          sizeof (gint32) * (bm->cur_len + 1));
      bm->fin_len2[b] = bm->cur_len + 1;
      bm->fin_done2[b] = bm->cand_hit[m - nb] && m - nb < nb;
    }
    bm->fin_score[b] = bm->merged[m];
  }
  memcpy (bm->fin_seq, bm->fin_seq2, sizeof (gint32) * (gsize) nb * L);
  memcpy (bm->fin_len, bm->fin_len2, sizeof (int) * nb);
  memcpy (bm->fin_done, bm->fin_done2, sizeof (gboolean) * nb);
}

/* g. can a running beam still beat the worst finished one?  The best
 * running score is normalised by the current length (or, for "never"
 * with a positive penalty, by the maximum length); a slot not finished
 * yet counts as -1e9. TRUE when the search is over. */
static gboolean
beams_done (Beams *bm, const Ctx *c, gboolean all_hit)
{
  const IbGenParams *p = c->p;
  gboolean any_better = FALSE, all_done = TRUE;
  float best, worst;
  int b;

  if (p->early_stopping == IB_EARLY_STOPPING_NEVER && p->length_penalty > 0)
    best = bm->run_score[0] / len_pow (bm->L - c->n_prompt, p->length_penalty);
  else
    best = bm->run_score[0] /
        len_pow (bm->cur_len - c->n_prompt, p->length_penalty);
  worst = bm->fin_score[0];
  for (b = 1; b < bm->nb; b++)
    worst = MIN (worst, bm->fin_score[b]);
  for (b = 0; b < bm->nb; b++) {
    any_better = any_better || best > (bm->fin_done[b] ? worst : NEG_BIG);
    all_done = all_done && bm->fin_done[b];
  }
  bm->heuristic_unsat = bm->heuristic_unsat && any_better;
  return !bm->heuristic_unsat ||
      (all_done && p->early_stopping == IB_EARLY_STOPPING_TRUE) || all_hit;
}

static gboolean
run_beams (Ctx *c, const gint32 *prompt, const float *first_logits,
    GArray *out_ids, IbGenStats *stats, GError **error)
{
  Beams bm = { 0 };
  int n_steps = 0, n_new;
  gboolean ok = FALSE, all_hit;

  beams_init (&bm, c, prompt, first_logits);
  for (;;) {
    if (!beams_step_model (&bm, c, &n_steps, error))
      goto out;
    beams_score (&bm, c);
    if (!beams_candidates (&bm, c, &all_hit, error))
      goto out;
    beams_advance (&bm);
    beams_finish (&bm, c);
    bm.cur_len++;
    if (beams_done (&bm, c, all_hit))
      break;
  }

  /* the best slot (topk sorted them); its sequence as stored, eos included */
  n_new = MAX (bm.fin_len[0] - c->n_prompt, 0);
  g_array_append_vals (out_ids, bm.fin_seq + c->n_prompt, n_new);
  if (stats) {
    stats->n_steps = n_steps;
    stats->n_tokens = n_new;
  }
  ok = TRUE;
out:
  g_free (bm.block);
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
