/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared vision passes over the new frames of several questions. */
#include "ib-vision-batch.h"

#include <string.h>

#include "ops.h"

struct _IbVisionBatch
{
  IbModel *model;
  int max_pass;
  gsize frame; /* floats of one frame's pixels, 3·S·S */
  int T, D; /* rows of a frame's embeddings, their width */
  IbClArena *arena;
  IbVitScratch *vs;
  IbClBuffer **pix; /* [max_pass] one frame's pixels each */
  float *host; /* [max_pass, 3, S, S] staged pixels */
  IbQFormerMany *qm; /* Q-Former passes of up to max_pass sequences */
};

/* One frame to encode: frame @frame of context @ctx, encoded by job @owner
 * (itself, or an earlier job with the same frame). */
typedef struct
{
  int ctx, frame, owner;
} Job;

IbVisionBatch *
ib_vision_batch_new (IbModel *model, int max_pass, gsize *scratch,
    GError **error)
{
  IbVisionBatch *vb = g_new0 (IbVisionBatch, 1);
  const int S = model->cfg->vision.image_size;
  int k;

  if (max_pass < 1 || max_pass > IB_BATCH_MAX_VISION_FRAMES) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "batch: vision passes of %d frames: they take 1 to %d", max_pass,
        IB_BATCH_MAX_VISION_FRAMES);
    goto fail;
  }
  vb->model = ib_model_ref (model);
  vb->max_pass = max_pass;
  vb->frame = 3 * (gsize) S * S;
  vb->T = ib_vit_get_n_tokens (model->vit);
  vb->D = model->cfg->vision.hidden_dim;
  vb->pix = g_new0 (IbClBuffer *, max_pass);
  vb->host = g_new (float, vb->frame *max_pass);
  if (!ib_vit_product_scratch_many (model->vit, model->dev, max_pass, scratch,
          error) ||
      !ib_qformer_many_scratch (model->qformer, model->dev, vb->T, max_pass,
          scratch, error) ||
      !(vb->arena = ib_cl_arena_new (model->dev,
            ib_vit_scratch_footprint_many (model->vit, model->dev, max_pass) +
                max_pass * ib_cl_arena_footprint (model->dev, vb->frame * 4) +
                ib_qformer_many_footprint (model->qformer, model->dev, vb->T,
                    max_pass),
            error)) ||
      !(vb->vs = ib_vit_scratch_new_many (model->vit, vb->arena, max_pass,
            error)) ||
      !(vb->qm = ib_qformer_many_new (model->qformer, vb->arena, vb->T,
            max_pass, error)))
    goto fail;
  for (k = 0; k < max_pass; k++)
    if (!(vb->pix[k] = ib_cl_arena_alloc (vb->arena, vb->frame * 4, error)))
      goto fail;
  return vb;

fail:
  ib_vision_batch_free (vb);
  return NULL;
}

void
ib_vision_batch_free (IbVisionBatch *vb)
{
  if (vb == NULL)
    return;
  ib_vit_scratch_free (vb->vs);
  ib_qformer_many_free (vb->qm);
  ib_cl_arena_free (vb->arena); /* and the pixel buffers */
  g_free (vb->pix);
  g_free (vb->host);
  if (vb->model)
    ib_model_unref (vb->model);
  g_free (vb);
}

static gboolean
same_frame (const IbFrameKey *a, const IbFrameKey *b)
{
  return a->hash == b->hash && a->width == b->width && a->height == b->height &&
      a->format == b->format;
}

/* Context @c failed with @e (taken) unless it had already. */
static void
fail_ctx (GError **errors, int c, GError *e)
{
  if (errors[c] == NULL)
    errors[c] = e;
  else
    g_error_free (e);
}

/* One pass over the owner jobs @pass[0..n): their frames preprocessed,
 * encoded together, and copied to the jobs that share them. */
static void
run_pass (IbVisionBatch *vb, IbClQueue *q, IbContext *const *ctxs,
    const IbFrameSet *sets, int n_ctx, const Job *jobs, int n_jobs,
    const int *pass, int n, GError **errors, double *vision_ms,
    IbVisionBatchRun *run)
{
  const IbClBuffer **pix = g_new (const IbClBuffer *, n);
  IbClBuffer **out = g_new (IbClBuffer *, n);
  gsize *off = g_new (gsize, n);
  gboolean *in_pass = g_new0 (gboolean, n_jobs);
  gboolean *touched = g_new0 (gboolean, n_ctx); /* a frame in the pass */
  GError *e = NULL;
  gint64 t0;
  double ms;
  int i, j, k = 0;

  /* preprocessed: a frame that fails fails every context given it */
  for (i = 0; i < n; i++) {
    const Job *o = &jobs[pass[i]];
    if (!ib_context_frame_pixels (ctxs[o->ctx], sets[o->ctx].frames,
            sets[o->ctx].pixels, o->frame, vb->host + k * vb->frame, &e)) {
      for (j = pass[i]; j < n_jobs; j++)
        if (jobs[j].owner == pass[i])
          fail_ctx (errors, jobs[j].ctx, g_error_copy (e));
      g_clear_error (&e);
      continue;
    }
    in_pass[pass[i]] = TRUE;
    ib_context_frame_target (ctxs[o->ctx], o->frame, &out[k], &off[k]);
    ib_cl_queue_upload (q, vb->pix[k], 0, vb->host + k * vb->frame,
        vb->frame * 4);
    pix[k] = vb->pix[k];
    k++;
  }
  if (k == 0)
    goto out;
  t0 = g_get_monotonic_time ();
  ib_vit_forward_many (vb->model->vit, q, vb->vs, pix, k, out, off);
  for (j = 0; j < n_jobs; j++) {
    IbClBuffer *src, *dst;
    gsize src_off, dst_off;
    if (!in_pass[jobs[j].owner])
      continue;
    touched[jobs[j].ctx] = TRUE;
    if (jobs[j].owner == j)
      continue;
    ib_context_frame_target (ctxs[jobs[jobs[j].owner].ctx],
        jobs[jobs[j].owner].frame, &src, &src_off);
    ib_context_frame_target (ctxs[jobs[j].ctx], jobs[j].frame, &dst, &dst_off);
    ib_cl_copy_rows (q, src, src_off, vb->D, dst, dst_off, vb->D, vb->T, vb->D);
    run->n_shared++;
  }
  if (!ib_cl_queue_finish (q, &e)) {
    for (j = 0; j < n_jobs; j++)
      if (in_pass[jobs[j].owner])
        fail_ctx (errors, jobs[j].ctx, g_error_copy (e));
    g_clear_error (&e);
  }
  ms = (g_get_monotonic_time () - t0) / 1000.0;
  for (i = 0; i < n_ctx; i++)
    if (touched[i])
      vision_ms[i] += ms;
  run->n_passes++;
  run->n_encoded += k;
  run->max_pass = MAX (run->max_pass, k);
out:
  g_free (touched);
  g_free (in_pass);
  g_free (off);
  g_free (out);
  g_free (pix);
}

void
ib_vision_batch_set_frames (IbVisionBatch *vb, IbClQueue *q,
    IbContext *const *ctxs, const IbFrameSet *sets, int n, GError **errors,
    IbVisionBatchRun *run)
{
  int **todo = g_new0 (int *, n);
  int *n_todo = g_new0 (int, n);
  double *vision_ms = g_new0 (double, n);
  int *pass = g_new (int, vb->max_pass);
  Job *jobs;
  int i, j, k, n_jobs = 0, n_pass = 0;

  memset (run, 0, sizeof (*run));
  for (i = 0; i < n; i++) {
    todo[i] = g_new (int, ib_context_get_max_frames (ctxs[i]));
    n_todo[i] = ib_context_frames_plan (ctxs[i], sets[i].frames, sets[i].pixels,
        sets[i].n_frames, todo[i], &errors[i]);
    n_jobs += MAX (n_todo[i], 0);
  }

  /* every frame to encode; one that an earlier job encodes is copied */
  jobs = g_new (Job, MAX (n_jobs, 1));
  for (i = 0, j = 0; i < n; i++)
    for (k = 0; k < n_todo[i]; k++, j++) {
      int o;
      jobs[j] = (Job){ i, todo[i][k], j };
      for (o = 0; o < j; o++)
        if (jobs[o].owner == o &&
            same_frame (ib_context_frame_key (ctxs[jobs[o].ctx], jobs[o].frame),
                ib_context_frame_key (ctxs[i], todo[i][k]))) {
          jobs[j].owner = o;
          break;
        }
    }

  /* the owners in passes of up to max_pass frames */
  for (j = 0; j < n_jobs; j++) {
    if (jobs[j].owner != j)
      continue;
    pass[n_pass++] = j;
    if (n_pass == vb->max_pass) {
      run_pass (vb, q, ctxs, sets, n, jobs, n_jobs, pass, n_pass, errors,
          vision_ms, run);
      n_pass = 0;
    }
  }
  if (n_pass > 0)
    run_pass (vb, q, ctxs, sets, n, jobs, n_jobs, pass, n_pass, errors,
        vision_ms, run);

  for (i = 0; i < n; i++) {
    if (errors[i] == NULL)
      ib_context_frames_done (ctxs[i], sets[i].n_frames, todo[i], n_todo[i],
          vision_ms[i]);
    g_free (todo[i]);
  }
  g_free (jobs);
  g_free (pass);
  g_free (vision_ms);
  g_free (n_todo);
  g_free (todo);
}

void
ib_vision_batch_qformer (IbVisionBatch *vb, IbClQueue *q,
    IbContext *const *ctxs, const char *const *instructions, int n,
    GError **errors, IbVisionBatchRun *run)
{
  GArray **ids = g_new0 (GArray *, n);
  GArray *seqs = g_array_new (FALSE, FALSE, sizeof (IbQFormerSeq));
  GArray *owner = g_array_new (FALSE, FALSE, sizeof (int));
  GError *e = NULL;
  int i, f, done, k, j;

  /* every frame of every question that is still fine, with its
   * instruction */
  for (i = 0; i < n; i++) {
    /* no text: ib_context_answer_begin reports it, as alone */
    if (errors[i] != NULL || instructions[i] == NULL ||
        !g_utf8_validate (instructions[i], -1, NULL))
      continue;
    ids[i] = g_array_new (FALSE, FALSE, sizeof (gint32));
    if (!ib_context_qformer_ids (ctxs[i], instructions[i], ids[i], &errors[i]))
      continue;
    for (f = 0; f < ib_context_get_n_frames (ctxs[i]); f++) {
      IbQFormerSeq sq = { (const gint32 *) ids[i]->data, ids[i]->len, NULL, 0,
        NULL, 0 };
      ib_context_qformer_target (ctxs[i], f, &sq.image, &sq.image_row, &sq.soft,
          &sq.out_row);
      g_array_append_val (seqs, sq);
      g_array_append_val (owner, i);
    }
  }
  /* in passes of as many as fit */
  for (done = 0; done < (int) seqs->len; done += k) {
    const IbQFormerSeq *rest = &g_array_index (seqs, IbQFormerSeq, done);
    k = ib_qformer_many_fit (vb->qm, rest, seqs->len - done);
    ib_qformer_forward_many (vb->model->qformer, q, vb->qm, rest, k);
    if (!ib_cl_queue_finish (q, &e)) {
      for (j = done; j < done + k; j++)
        fail_ctx (errors, g_array_index (owner, int, j), g_error_copy (e));
      g_clear_error (&e);
    }
    run->n_qformer_passes++;
    run->max_qformer_pass = MAX (run->max_qformer_pass, k);
  }
  for (i = 0; i < n; i++) {
    if (ids[i] != NULL && errors[i] == NULL)
      ib_context_soft_done (ctxs[i], instructions[i]);
    if (ids[i] != NULL)
      g_array_unref (ids[i]);
  }
  g_array_unref (owner);
  g_array_unref (seqs);
  g_free (ids);
}
