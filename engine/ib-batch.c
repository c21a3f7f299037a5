/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IbBatch: the questions of many threads on one model answered together,
 * every question in progress stepped by one token per batched step
 * (continuous batching). The device work is done by whichever asking
 * thread finds work to do while no other does it (one at a time, so the
 * device never sees two threads at once), typically the last one to ask
 * for a step: a lone question pays no thread hand-over per token. */
#include "ib-batch-private.h"

#include <string.h>

#include "ib-vision-batch.h"

/* What of the device memory left after the weights the slots may take:
 * the rest is for the batch's own rows, queues and the driver. */
#define SLOT_SHARE_NUM 3
#define SLOT_SHARE_DEN 4

typedef struct
{
  IbBatch *batch;
  /* the question, owned by the asking thread */
  const IbImage *frames; /* or */
  const float *pixels;
  int n_frames;
  const char *instruction;
  const IbGenerateParams *params;
  const char *const *candidates; /* ranking when not NULL */
  int n_candidates;
  double *scores;
  int best;
  /* progress, under batch->lock */
  int slot; /* -1 while waiting for one */
  gboolean set_up; /* frames, Q-Former and prefill done (or failed) */
  gboolean prompt; /* LLaMA: set up but for the prefill, in b->prompts */
  gboolean posted; /* a step is asked for */
  const gint32 *tokens; /* the posted step: [n_beams] */
  int n_beams;
  float *logits; /* where its logits go: [n_beams, vocab] */
  int *src; /* [max_beams] beam reordering before the step */
  gboolean has_src;
  GError *error; /* of the set-up or of the last step */
  IbAnswerJob job;
} Request;

struct _IbBatch
{
  IbModel *model;
  int n_slots;
  IbContext **ctx; /* [n_slots] */
  gboolean *busy; /* [n_slots], under lock */
  IbClQueue *q; /* the batched steps' */
  IbClArena *arena;
  IbLlamaState *rows; /* LLaMA: activations of n_slots·max_beams decoding
                       * rows and prompt_rows prompt rows */
  int prompt_rows; /* LLaMA: the most prompt rows one step prefills */
  IbT5State *t5_rows; /* T5: activations of n_slots·max_beams rows */
  IbClArena *t5_arena; /* t5_rows' */
  guint64 n_decoder_passes; /* language model passes of the steps */
  guint64 n_qformer_passes; /* the set-ups' shared Q-Former passes */
  int max_qformer_pass; /* most sequences in one */
  IbVisionBatch *vision; /* the set-ups' shared vision passes, on q */

  GMutex lock;
  GCond wake; /* the asking threads wait on it */
  gboolean device_busy; /* a thread does device work (set-up or step) */
  GQueue waiting; /* Request *: no slot yet, in order of arrival */
  GQueue setup; /* Request *: a slot, to be set up */
  GQueue prompts; /* Request *: LLaMA, set up, to be prefilled in a step */
  GPtrArray *decoding; /* Request *: between set-up and their last step */
  int n_posted; /* of decoding, those that posted a step */
  int hold_setups; /* test hook: set-ups wait for this many (0: none) */
  int hold_prompts; /* test hook: steps wait for this many prompts */
  IbBatchStats stats;
};

void
ib_batch_params_init (IbBatchParams *params)
{
  g_return_if_fail (params != NULL);
  params->max_requests = 0;
  ib_context_params_init (&params->context);
  params->vision_pass_frames = 0;
  params->prefill_rows = 0;
}

/* Under lock: waiting questions into free slots, oldest first. */
static void
assign_slots (IbBatch *b)
{
  int s;

  for (s = 0; s < b->n_slots && !g_queue_is_empty (&b->waiting); s++) {
    Request *r;
    if (b->busy[s])
      continue;
    r = g_queue_pop_head (&b->waiting);
    r->slot = s;
    b->busy[s] = TRUE;
    g_queue_push_tail (&b->setup, r);
  }
}

/* Under lock: every decoding question has posted its step. */
static gboolean
step_ready (const IbBatch *b)
{
  return (b->decoding->len > 0 || b->prompts.length > 0) &&
      b->n_posted == (int) b->decoding->len &&
      (int) b->prompts.length >= b->hold_prompts;
}

/* With the device taken, unlocked: the Q-Former of the @n questions that
 * joined together over all their frames in shared passes. */
static void
set_up_qformer (IbBatch *b, Request **reqs, IbContext **ctxs, int n,
    GError **errors, IbVisionBatchRun *run)
{
  const char **instructions = g_new (const char *, n);
  int i;

  for (i = 0; i < n; i++)
    instructions[i] = reqs[i]->instruction;
  ib_vision_batch_qformer (b->vision, b->q, ctxs, instructions, n, errors, run);
  g_free (instructions);
}

/* With the device taken, unlocked: the frames of the @n questions that
 * joined together (their new frames in shared vision passes), then each
 * one's Q-Former and prefill (or its whole ranking). */
static void
set_up (IbBatch *b, Request **reqs, int n, IbVisionBatchRun *run)
{
  IbContext **ctxs = g_new (IbContext *, n);
  IbFrameSet *sets = g_new (IbFrameSet, n);
  GError **errors = g_new0 (GError *, n);
  int i;

  for (i = 0; i < n; i++) {
    ctxs[i] = b->ctx[reqs[i]->slot];
    sets[i] =
        (IbFrameSet){ reqs[i]->frames, reqs[i]->pixels, reqs[i]->n_frames };
  }
  ib_vision_batch_set_frames (b->vision, b->q, ctxs, sets, n, errors, run);
  set_up_qformer (b, reqs, ctxs, n, errors, run);
  for (i = 0; i < n; i++) {
    Request *r = reqs[i];
    if ((r->error = errors[i]) != NULL)
      continue;
    if (r->candidates)
      r->best = ib_context_rank (ctxs[i], r->instruction, r->candidates,
          r->n_candidates, r->scores, &r->error);
    else if (b->model->llama)
      /* the prefill in the next batched step (run_prefill_step) */
      r->prompt = ib_context_answer_prepare (ctxs[i], r->instruction, r->params,
          &r->job, &r->error);
    else
      ib_context_answer_begin (ctxs[i], r->instruction, r->params, &r->job,
          &r->error);
  }
  g_free (errors);
  g_free (sets);
  g_free (ctxs);
}

/* The decoding questions' side of one batched step. */
typedef struct
{
  int n;
  Request **reqs;
  IbContext **ctxs;
  const gint32 **tokens;
  const int **src;
  int *n_beams;
  float **logits;
  GError **errors;
} Step;

/* Under lock: the decoding questions into @st, the step in the stats. */
static void
step_gather (IbBatch *b, Step *st)
{
  const int n = b->decoding->len, m = MAX (n, 1);
  int i, rows = 0;

  st->n = n;
  st->reqs = g_new (Request *, m);
  st->ctxs = g_new (IbContext *, m);
  st->tokens = g_new (const gint32 *, m);
  st->src = g_new (const int *, m);
  st->n_beams = g_new (int, m);
  st->logits = g_new (float *, m);
  st->errors = g_new0 (GError *, m);
  for (i = 0; i < n; i++) {
    Request *r = st->reqs[i] = g_ptr_array_index (b->decoding, i);
    st->ctxs[i] = b->ctx[r->slot];
    st->tokens[i] = r->tokens;
    st->src[i] = r->has_src ? r->src : NULL;
    st->n_beams[i] = r->n_beams;
    st->logits[i] = r->logits;
    rows += r->n_beams;
  }
  b->stats.n_steps++;
  b->stats.n_rows += rows;
  b->stats.max_rows = MAX (b->stats.max_rows, rows);
  b->stats.max_active = MAX (b->stats.max_active, n);
}

/* Under lock after the step: each decoding question's outcome. */
static void
step_scatter (IbBatch *b, Step *st)
{
  int i;

  for (i = 0; i < st->n; i++) {
    st->reqs[i]->error = st->errors[i];
    st->reqs[i]->posted = FALSE;
    st->reqs[i]->has_src = FALSE;
  }
  b->n_posted -= st->n;
  g_free (st->errors);
  g_free (st->logits);
  g_free (st->n_beams);
  g_free (st->src);
  g_free (st->tokens);
  g_free (st->ctxs);
  g_free (st->reqs);
}

/* Under lock with the device taken, all decoding questions posted: one
 * batched step. The set of decoding questions cannot change meanwhile
 * (each waits for its step). */
static void
run_step (IbBatch *b)
{
  Step st;

  step_gather (b, &st);
  g_mutex_unlock (&b->lock);

  if (b->t5_rows)
    ib_context_step_many_t5 (st.ctxs, st.tokens, st.src, st.n_beams, st.logits,
        st.n, b->q, b->t5_rows, st.errors);
  else
    ib_context_step_many (st.ctxs, st.tokens, st.src, st.n_beams, st.logits,
        st.n, b->q, b->rows, st.errors);

  g_mutex_lock (&b->lock);
  b->n_decoder_passes += b->t5_rows || b->rows ? 1 : st.n;
  step_scatter (b, &st);
  g_cond_broadcast (&b->wake);
}

/* Under lock with the device taken, all decoding questions posted (LLaMA):
 * one batched step over the decoding rows and the prompts of the oldest
 * set-up questions that fit prompt_rows (at least one), which then decode
 * from the next step on; the others' prompts wait for the next step. */
static void
run_prefill_step (IbBatch *b)
{
  const int max_p = MAX ((int) g_queue_get_length (&b->prompts), 1);
  Request **preqs = g_new (Request *, max_p);
  IbContext **pctxs = g_new (IbContext *, max_p);
  IbAnswerJob **jobs = g_new (IbAnswerJob *, max_p);
  GError **perrors = g_new0 (GError *, max_p);
  int i, n_p = 0, p_rows = 0;
  Step st;

  step_gather (b, &st);
  while (!g_queue_is_empty (&b->prompts)) {
    Request *r = g_queue_peek_head (&b->prompts);
    IbContext *c = b->ctx[r->slot];
    const int len = ib_context_prompt_rows (c, &r->job);
    if (n_p > 0 && p_rows + len > b->prompt_rows)
      break;
    g_queue_pop_head (&b->prompts);
    preqs[n_p] = r;
    pctxs[n_p] = c;
    jobs[n_p++] = &r->job;
    p_rows += len;
  }
  b->hold_prompts = 0;
  if (n_p > 0) {
    b->stats.n_prefill_steps++;
    b->stats.n_prefills += n_p;
    b->stats.max_prefills = MAX (b->stats.max_prefills, n_p);
    b->stats.n_prefill_rows += p_rows;
    b->stats.n_mixed_steps += st.n > 0;
  }
  g_mutex_unlock (&b->lock);

  ib_context_step_prefill_many (st.ctxs, st.tokens, st.src, st.n_beams,
      st.logits, st.n, pctxs, jobs, n_p, b->q, b->rows, st.errors, perrors);

  g_mutex_lock (&b->lock);
  b->n_decoder_passes++;
  step_scatter (b, &st);
  for (i = 0; i < n_p; i++) {
    Request *r = preqs[i];
    r->prompt = FALSE;
    r->set_up = TRUE;
    if ((r->error = perrors[i]) == NULL)
      g_ptr_array_add (b->decoding, r);
  }
  g_cond_broadcast (&b->wake);
  g_free (perrors);
  g_free (jobs);
  g_free (pctxs);
  g_free (preqs);
}

/* Under lock, by any asking thread after it changed the state: does the
 * device work there is while no other thread does it. Set-ups of the
 * questions that joined and batched steps take turns, so that neither a
 * stream of new questions nor the questions decoding hold up the other. */
static void
work (IbBatch *b)
{
  gboolean setup_turn = TRUE;

  while (!b->device_busy) {
    if (!g_queue_is_empty (&b->setup) &&
        (int) g_queue_get_length (&b->setup) >= b->hold_setups &&
        (setup_turn || !step_ready (b))) {
      const int n = g_queue_get_length (&b->setup);
      Request **reqs = g_new (Request *, n);
      IbVisionBatchRun run;
      int i;
      for (i = 0; i < n; i++)
        reqs[i] = g_queue_pop_head (&b->setup);
      b->hold_setups = 0;
      b->stats.n_joins += b->decoding->len > 0 ? n : 0;
      b->device_busy = TRUE;
      g_mutex_unlock (&b->lock);
      set_up (b, reqs, n, &run);
      g_mutex_lock (&b->lock);
      b->device_busy = FALSE;
      b->stats.n_setups++;
      b->stats.max_setup = MAX (b->stats.max_setup, n);
      b->stats.n_vision_passes += run.n_passes;
      b->stats.n_vision_frames += run.n_encoded;
      b->stats.max_vision_frames =
          MAX (b->stats.max_vision_frames, run.max_pass);
      b->stats.n_frames_shared += run.n_shared;
      b->n_qformer_passes += run.n_qformer_passes;
      b->max_qformer_pass = MAX (b->max_qformer_pass, run.max_qformer_pass);
      for (i = 0; i < n; i++) {
        if (reqs[i]->prompt) {
          g_queue_push_tail (&b->prompts, reqs[i]);
          continue;
        }
        reqs[i]->set_up = TRUE;
        if (reqs[i]->error == NULL && reqs[i]->candidates == NULL)
          g_ptr_array_add (b->decoding, reqs[i]);
      }
      g_free (reqs);
      /* the joiners of one step are all set up before it */
      setup_turn = !g_queue_is_empty (&b->setup);
    } else if (step_ready (b)) {
      b->device_busy = TRUE;
      if (b->model->llama)
        run_prefill_step (b);
      else
        run_step (b);
      b->device_busy = FALSE;
      setup_turn = TRUE;
    } else {
      break;
    }
    g_cond_broadcast (&b->wake);
  }
}

/* ---- the asking thread's side ---- */

static gboolean
batch_step (gpointer user, const gint32 *tokens, int n_beams, float *logits,
    GError **error)
{
  Request *r = user;
  IbBatch *b = r->batch;
  GError *err;

  g_mutex_lock (&b->lock);
  r->tokens = tokens;
  r->n_beams = n_beams;
  r->logits = logits;
  r->posted = TRUE;
  b->n_posted++;
  work (b);
  while (r->posted)
    g_cond_wait (&b->wake, &b->lock);
  err = g_steal_pointer (&r->error);
  g_mutex_unlock (&b->lock);
  if (err == NULL)
    return TRUE;
  g_propagate_error (error, err);
  return FALSE;
}

/* Kept for the next step, which applies it first. */
static gboolean
batch_reorder (gpointer user, const int *src, int n_beams, GError **error)
{
  Request *r = user;

  if (n_beams > ib_context_get_max_beams (r->batch->ctx[r->slot])) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "beam reorder: %d beams; the slot holds %d", n_beams,
        ib_context_get_max_beams (r->batch->ctx[r->slot]));
    return FALSE;
  }
  memcpy (r->src, src, sizeof (int) * n_beams);
  r->has_src = TRUE;
  return TRUE;
}

/* Waits for a slot and the set-up; FALSE with the set-up's error. */
static gboolean
enter (IbBatch *b, Request *r, GError **error)
{
  r->batch = b;
  r->slot = -1;
  g_mutex_lock (&b->lock);
  g_queue_push_tail (&b->waiting, r);
  assign_slots (b);
  work (b);
  while (!r->set_up)
    g_cond_wait (&b->wake, &b->lock);
  g_mutex_unlock (&b->lock);
  if (r->error == NULL)
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&r->error));
  return FALSE;
}

/* Leaves the steps and gives the slot to the next question. */
static void
leave (IbBatch *b, Request *r)
{
  g_mutex_lock (&b->lock);
  g_ptr_array_remove (b->decoding, r);
  b->busy[r->slot] = FALSE;
  b->stats.n_answers++;
  assign_slots (b);
  /* the others may now all have posted, or a waiting question got a slot */
  work (b);
  g_mutex_unlock (&b->lock);
  g_clear_error (&r->error);
  ib_answer_job_clear (&r->job);
  g_free (r->src);
}

static IbAnswer *
answer (IbBatch *b, Request *r, GError **error)
{
  GArray *out_ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  IbContext *ctx;
  IbAnswer *a = NULL;
  IbGenModel gm;

  g_return_val_if_fail (b != NULL, NULL);
  if (!enter (b, r, error))
    goto out;
  ctx = b->ctx[r->slot];
  r->src = g_new (int, ib_context_get_max_beams (ctx));
  gm.step = batch_step;
  gm.reorder = batch_reorder;
  gm.user = r;
  gm.vocab = b->model->cfg->text.vocab_size;
  /* the decoding loop runs here; its steps batched with the others' */
  if (ib_generate (&gm, &r->job.gp, (const gint32 *) r->job.gen_prompt->data,
          r->job.gen_prompt->len, ib_context_get_logits (ctx), out_ids, NULL,
          error))
    a = ib_context_answer_end (ctx, &r->job, out_ids, error);
out:
  if (r->slot >= 0)
    leave (b, r);
  g_array_unref (out_ids);
  return a;
}

IbAnswer *
ib_batch_answer (IbBatch *batch, const IbImage *frames, int n_frames,
    const char *instruction, const IbGenerateParams *params, GError **error)
{
  Request r = { 0 };

  g_return_val_if_fail (batch != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  r.frames = frames;
  r.n_frames = n_frames;
  r.instruction = instruction;
  r.params = params;
  return answer (batch, &r, error);
}

IbAnswer *
ib_batch_answer_pixels (IbBatch *batch, const float *pixels, int n_frames,
    const char *instruction, const IbGenerateParams *params, GError **error)
{
  Request r = { 0 };

  g_return_val_if_fail (batch != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  r.pixels = pixels;
  r.n_frames = n_frames;
  r.instruction = instruction;
  r.params = params;
  return answer (batch, &r, error);
}

int
ib_batch_rank (IbBatch *batch, const IbImage *frames, int n_frames,
    const char *instruction, const char *const *candidates, int n,
    double *scores, GError **error)
{
  Request r = { 0 };

  g_return_val_if_fail (batch != NULL, -1);
  if (candidates == NULL || n < 1) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "ranking needs frames, an instruction and at least one candidate");
    return -1;
  }
  r.frames = frames;
  r.n_frames = n_frames;
  r.instruction = instruction;
  r.candidates = candidates;
  r.n_candidates = n;
  r.scores = scores;
  r.best = -1;
  /* set_up sets r.best */
  enter (batch, &r, error);
  if (r.slot >= 0)
    leave (batch, &r);
  return r.best;
}

/* ---- the batch ---- */

/* Slots for max_requests = 0: what the memory left after the weights
 * holds. */
static int
auto_slots (IbModel *model, const IbContextParams *cp, GError **error)
{
  const IbClDeviceInfo *info = ib_cl_device_get_info (model->dev);
  gsize per = ib_context_footprint (model, cp, error);
  guint64 left;

  if (per == 0)
    return 0;
  left = info->global_mem > model->weight_bytes ?
      info->global_mem - model->weight_bytes :
      0;
  left = left / SLOT_SHARE_DEN * SLOT_SHARE_NUM;
  return (int) CLAMP (left / per, 1, IB_BATCH_AUTO_REQUESTS);
}

/* T5: the activations of one batched decoder step of every slot's beams,
 * in their own arena. */
static gboolean
t5_rows_new (IbBatch *b, const IbBatchParams *params, gsize *scratch,
    GError **error)
{
  IbModel *model = b->model;
  const IbContextParams *cp = &params->context;
  const int rows = b->n_slots * cp->max_beams;
  const int n_enc =
      cp->max_frames * model->cfg->n_query_tokens + cp->max_prompt_tokens;

  /* one arena for the rows; b->arena is LLaMA's */
  return ib_t5_rows_scratch (model->t5, model->dev, rows, cp->max_beams, n_enc,
             cp->max_new_tokens + 1, scratch, error) &&
      (b->t5_arena = ib_cl_arena_new (model->dev,
           ib_t5_rows_footprint (model->t5, model->dev, rows), error)) &&
      (b->t5_rows = ib_t5_rows_new (model->t5, b->t5_arena, rows, error));
}

IbBatch *
ib_batch_new (IbModel *model, const IbBatchParams *params, GError **error)
{
  IbBatchParams defaults;
  IbBatch *b;
  GError *local = NULL;
  gsize scratch = 0;
  int s, pass;

  g_return_val_if_fail (model != NULL, NULL);
  if (params == NULL) {
    ib_batch_params_init (&defaults);
    params = &defaults;
  }
  if (params->vision_pass_frames < 0 ||
      params->vision_pass_frames > IB_BATCH_MAX_VISION_FRAMES) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "batch: vision_pass_frames %d: it takes 0 (default) to %d",
        params->vision_pass_frames, IB_BATCH_MAX_VISION_FRAMES);
    return NULL;
  }
  if (params->prefill_rows < 0 ||
      params->prefill_rows > IB_BATCH_MAX_PREFILL_ROWS) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "batch: prefill_rows %d: it takes 0 (default) to %d",
        params->prefill_rows, IB_BATCH_MAX_PREFILL_ROWS);
    return NULL;
  }
  if (params->max_requests < 0 ||
      params->max_requests > IB_BATCH_MAX_REQUESTS) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "batch: max_requests %d: it takes 0 (from device memory) to %d",
        params->max_requests, IB_BATCH_MAX_REQUESTS);
    return NULL;
  }
  b = g_new0 (IbBatch, 1);
  b->model = ib_model_ref (model);
  g_mutex_init (&b->lock);
  g_cond_init (&b->wake);
  g_queue_init (&b->waiting);
  g_queue_init (&b->setup);
  g_queue_init (&b->prompts);
  b->decoding = g_ptr_array_new ();
  b->n_slots = params->max_requests;
  if (b->n_slots == 0 &&
      (b->n_slots = auto_slots (model, &params->context, error)) == 0)
    goto fail;
  b->ctx = g_new0 (IbContext *, b->n_slots);
  b->busy = g_new0 (gboolean, b->n_slots);
  for (s = 0; s < b->n_slots; s++)
    if (!(b->ctx[s] = ib_context_new (model, &params->context, error)))
      goto fail;
  pass = params->vision_pass_frames > 0 ?
      params->vision_pass_frames :
      MIN (IB_BATCH_VISION_FRAMES,
          b->n_slots * ib_context_get_max_frames (b->ctx[0]));
  if (!(b->q = ib_cl_queue_new (model->dev, &local)) ||
      !(b->vision = ib_vision_batch_new (model, pass, &scratch, &local)))
    goto fail;
  if (model->llama) {
    /* every slot's beams decoding, and prompts prefilled in the same step
     * (whole prompts, a logits row each) */
    const int dec = b->n_slots * params->context.max_beams;
    const int one = ib_context_get_max_prompt_rows (b->ctx[0]);
    const int logit_rows = dec + b->n_slots;
    int rows;
    b->prompt_rows = params->prefill_rows > 0 ?
        params->prefill_rows :
        MAX (one, MIN (b->n_slots * one, IB_BATCH_PREFILL_ROWS));
    if (b->prompt_rows < one) {
      g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
          "batch: prefill_rows %d holds no whole prompt of the slots: they "
          "take up to %d rows (max_frames %d x %d query tokens + "
          "max_prompt_tokens %d)",
          b->prompt_rows, one, params->context.max_frames,
          model->cfg->n_query_tokens, params->context.max_prompt_tokens);
      goto fail;
    }
    rows = dec + b->prompt_rows;
    if (!ib_llama_rows_scratch (model->llama, model->dev, rows,
            ib_context_get_n_ctx (b->ctx[0]), b->prompt_rows, &scratch,
            &local) ||
        !(b->arena = ib_cl_arena_new (model->dev,
              ib_llama_rows_footprint (model->llama, model->dev, rows,
                  logit_rows),
              &local)) ||
        !(b->rows = ib_llama_rows_new (model->llama, b->arena, rows, logit_rows,
              &local)))
      goto fail;
  }
  if (model->t5 && !t5_rows_new (b, params, &scratch, &local))
    goto fail;
  if (!ib_cl_queue_reserve_scratch (b->q, scratch, &local))
    goto fail;
  return b;

fail:
  if (local)
    g_propagate_error (error, local);
  ib_batch_free (b);
  return NULL;
}

void
ib_batch_free (IbBatch *b)
{
  int s;

  if (b == NULL)
    return;
  ib_llama_state_free (b->rows);
  ib_cl_arena_free (b->arena);
  ib_t5_state_free (b->t5_rows);
  ib_cl_arena_free (b->t5_arena);
  ib_vision_batch_free (b->vision);
  ib_cl_queue_free (b->q);
  for (s = 0; b->ctx && s < b->n_slots; s++)
    ib_context_free (b->ctx[s]);
  g_free (b->ctx);
  g_free (b->busy);
  g_ptr_array_unref (b->decoding);
  g_mutex_clear (&b->lock);
  g_cond_clear (&b->wake);
  ib_model_unref (b->model);
  g_free (b);
}

int
ib_batch_get_max_requests (const IbBatch *batch)
{
  g_return_val_if_fail (batch != NULL, 0);
  return batch->n_slots;
}

void
ib_batch_get_stats (IbBatch *batch, IbBatchStats *stats)
{
  g_return_if_fail (batch != NULL && stats != NULL);
  g_mutex_lock (&batch->lock);
  *stats = batch->stats;
  g_mutex_unlock (&batch->lock);
}

void
ib_batch_hold_setups (IbBatch *batch, int n)
{
  g_mutex_lock (&batch->lock);
  batch->hold_setups = n;
  g_mutex_unlock (&batch->lock);
}

guint64
ib_batch_get_decoder_passes (IbBatch *batch)
{
  guint64 n;

  g_mutex_lock (&batch->lock);
  n = batch->n_decoder_passes;
  g_mutex_unlock (&batch->lock);
  return n;
}

void
ib_batch_get_qformer_passes (IbBatch *batch, guint64 *n_passes, int *max_pass)
{
  g_mutex_lock (&batch->lock);
  *n_passes = batch->n_qformer_passes;
  *max_pass = batch->max_qformer_pass;
  g_mutex_unlock (&batch->lock);
}

void
ib_batch_hold_prompts (IbBatch *batch, int n)
{
  g_mutex_lock (&batch->lock);
  batch->hold_prompts = n;
  g_mutex_unlock (&batch->lock);
}
