/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IbContext: one stream's queue, arena, caches, and the answer pipeline
 * frames → ViT → Q-Former → projection → LLM prefill → decoding → text. */
#include "ib-context-private.h"

#include <math.h>
#include <string.h>

#include "generate.h"
#include "hash.h"
#include "ib-frame-cache.h"
#include "ops.h"
#include "preprocess.h"

struct _IbContext
{
  IbModel *model;
  IbContextParams params;
  IbClQueue *q;
  IbClArena *arena;
  IbImagePreprocessor *pre;
  int S, T, Q; /* image size, ViT tokens, queries */
  float *pixels; /* host [3, S, S] */
  IbClBuffer *pix; /* [3, S, S] */
  IbClBuffer *embeds; /* [n_slots, T, vision hidden] */
  IbClBuffer *soft; /* [max_frames·Q, text hidden] */
  int n_slots; /* max_frames + frame_cache */
  IbFrameCache *cache; /* which slot holds which frame; NULL: frame_cache 0 */
  IbFrameKey *keys; /* [max_frames] the current frames' */
  int *slot; /* [max_frames] the embeddings slot of each current frame */
  int n_frames, n_reused;
  double preprocess_ms, vision_ms;
  IbVitScratch *vs;
  IbQFormerScratch *qs;
  IbLlamaState *ls;
  IbT5State *ts;
  int n_ctx, n_enc, n_dec;
  float *logits; /* host [max_beams, vocab] */
  int pos; /* next decoder position */
  /* the instruction whose soft tokens a shared Q-Former pass (IbBatch) put
   * in soft for the current frames, or NULL */
  char *soft_for;
};

void
ib_context_params_init (IbContextParams *params)
{
  g_return_if_fail (params != NULL);
  params->max_frames = 4;
  params->max_prompt_tokens = 256;
  params->max_new_tokens = 256;
  params->max_beams = 5;
  params->frame_cache = 8;
}

static double
ms_since (gint64 t0)
{
  return (g_get_monotonic_time () - t0) / 1000.0;
}

static int
vocab (const IbModel *m)
{
  return m->cfg->text.vocab_size;
}

/* The positions the LLM can take: LLaMA's max_position_embeddings; T5's
 * relative positions have no such limit, the config's bound stands in. */
static gint64
max_positions (const IbModel *m)
{
  return m->llama ? m->cfg->text.max_position_embeddings :
                    IB_CONFIG_MAX_POSITIONS;
}

/* The context's parameters within the limits, its sizes in range of int:
 * refused with a message naming the parameter and the limit. */
static gboolean
check_params (const IbModel *model, const IbContextParams *p, GError **error)
{
  gint64 n_enc;

  if (p->frame_cache < 0 || p->frame_cache > IB_MAX_FRAME_CACHE) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "context: frame_cache %d: it takes 0 (off) to %d frames",
        p->frame_cache, IB_MAX_FRAME_CACHE);
    return FALSE;
  }
  if (p->max_frames < 1 || p->max_beams < 1 || p->max_prompt_tokens < 1 ||
      p->max_new_tokens < 1) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "context: max_frames, max_beams, max_prompt_tokens and "
        "max_new_tokens must be at least 1");
    return FALSE;
  }
  if (p->max_beams > IB_MAX_NUM_BEAMS ||
      p->max_new_tokens > IB_MAX_NEW_TOKENS) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "context: max_beams %d / max_new_tokens %d: at most %d beams and %d "
        "new tokens are supported",
        p->max_beams, p->max_new_tokens, IB_MAX_NUM_BEAMS, IB_MAX_NEW_TOKENS);
    return FALSE;
  }
  n_enc = (gint64) p->max_frames * model->cfg->n_query_tokens +
      p->max_prompt_tokens;
  if (n_enc > IB_CONFIG_MAX_POSITIONS) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "context: max_frames %d x %d query tokens + max_prompt_tokens %d = "
        "%" G_GINT64_FORMAT " prompt positions; at most %d are supported",
        p->max_frames, model->cfg->n_query_tokens, p->max_prompt_tokens, n_enc,
        IB_CONFIG_MAX_POSITIONS);
    return FALSE;
  }
  return TRUE;
}

/* Device memory errors while sizing a context become IB_ERROR_NO_MEMORY
 * (RESOURCE/NO_SPACE_LEFT in the element), with what to lower. */
static void
no_memory (GError **error, const IbContextParams *p, const char *what)
{
  g_set_error (error, IB_ERROR, IB_ERROR_NO_MEMORY,
      "context: not enough device memory for max_frames %d, "
      "max_prompt_tokens %d, max_new_tokens %d and max_beams %d "
      "(frame_cache %d): %s",
      p->max_frames, p->max_prompt_tokens, p->max_new_tokens, p->max_beams,
      p->frame_cache, what);
}

/* The device memory of a context: its arena (activations and caches), the
 * image embeddings of its slots, its soft tokens, and its queue's product
 * scratch (allocated once when the context is made: nothing grows
 * later). */
static gboolean
sizes (const IbModel *model, const IbContextParams *params, gsize *arena,
    gsize *embed, gsize *soft, gsize *scratch, GError **error)
{
  const IbModelConfig *cfg = model->cfg;
  const int T = ib_vit_get_n_tokens (model->vit), Q = cfg->n_query_tokens;
  const int n_enc = params->max_frames * Q + params->max_prompt_tokens;
  const int n_ctx = (int) MIN ((gint64) n_enc + params->max_new_tokens,
      max_positions (model));
  const int n_dec = params->max_new_tokens + 1;

  *arena = ib_vit_scratch_footprint (model->vit, model->dev) +
      ib_qformer_scratch_footprint (model->qformer, model->dev, T);
  if (model->llama)
    *arena += ib_llama_state_footprint (model->llama, model->dev, n_ctx,
        params->max_beams);
  else
    *arena += ib_t5_state_footprint (model->t5, model->dev, n_enc, n_dec,
        params->max_beams);
  *embed = (gsize) (params->max_frames + params->frame_cache) * T *
      cfg->vision.hidden_dim * 4;
  *soft = (gsize) params->max_frames * Q * cfg->text.hidden_dim * 4;
  *scratch = 0;
  return ib_vit_product_scratch (model->vit, model->dev, scratch, error) &&
      ib_qformer_product_scratch (model->qformer, model->dev, T, scratch,
          error) &&
      (model->llama ? ib_llama_product_scratch (model->llama, model->dev, n_ctx,
                          params->max_beams, scratch, error) :
                      ib_t5_product_scratch (model->t5, model->dev, n_enc,
                          n_dec, params->max_beams, scratch, error));
}

gsize
ib_context_footprint (IbModel *model, const IbContextParams *params,
    GError **error)
{
  gsize arena, embed, soft, scratch;

  if (!check_params (model, params, error) ||
      !sizes (model, params, &arena, &embed, &soft, &scratch, error))
    return 0;
  return arena + embed + soft + scratch;
}

IbContext *
ib_context_new (IbModel *model, const IbContextParams *params, GError **error)
{
  const IbModelConfig *cfg;
  IbContextParams defaults;
  IbPreprocessParams pp;
  const IbClDeviceInfo *info;
  IbContext *ctx;
  GError *local = NULL;
  gsize bytes, embed_bytes, soft_bytes, scratch = 0;
  char *what = NULL;

  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  cfg = model->cfg;

  if (params == NULL) {
    ib_context_params_init (&defaults);
    params = &defaults;
  }
  if (!check_params (model, params, error))
    return NULL;
  ctx = g_new0 (IbContext, 1);
  ctx->model = ib_model_ref (model);
  ctx->params = *params;
  ctx->S = cfg->vision.image_size;
  ctx->T = ib_vit_get_n_tokens (model->vit);
  ctx->Q = cfg->n_query_tokens;
  ctx->n_slots = params->max_frames + params->frame_cache;
  ctx->n_enc = params->max_frames * ctx->Q + params->max_prompt_tokens;
  /* no answer may pass the model's positions (ib_context_answer refuses
   * it): the caches need no more */
  ctx->n_ctx = (int) MIN ((gint64) ctx->n_enc + params->max_new_tokens,
      max_positions (model));
  ctx->n_dec = params->max_new_tokens + 1;

  /* preprocessing as preprocessor_config.json says */
  ib_preprocess_params_init (&pp);
  pp.width =
      cfg->image_processor.width > 0 ? cfg->image_processor.width : ctx->S;
  pp.height =
      cfg->image_processor.height > 0 ? cfg->image_processor.height : ctx->S;
  pp.do_convert_rgb = cfg->image_processor.do_convert_rgb;
  pp.do_rescale = cfg->image_processor.do_rescale;
  pp.rescale_factor = cfg->image_processor.rescale_factor;
  pp.do_normalize = cfg->image_processor.do_normalize;
  memcpy (pp.image_mean, cfg->image_processor.image_mean, sizeof (double) * 3);
  memcpy (pp.image_std, cfg->image_processor.image_std, sizeof (double) * 3);
  pp.resize = model->image_resize == IB_IMAGE_RESIZE_PILLOW ? IB_RESIZE_PILLOW :
      model->image_resize == IB_IMAGE_RESIZE_PILLOW12 ? IB_RESIZE_PILLOW12 :
                                                        IB_RESIZE_TORCHVISION;
  if (pp.width != ctx->S || pp.height != ctx->S) {
    g_set_error (error, IB_ERROR, IB_ERROR_UNSUPPORTED,
        "preprocessor_config.json resizes to %dx%d but the vision encoder "
        "takes %dx%d",
        pp.width, pp.height, ctx->S, ctx->S);
    goto fail;
  }
  if (!(ctx->pre = ib_image_preprocessor_new (&pp, error)))
    goto fail;

  /* one arena for every activation and cache of this stream */
  if (!sizes (model, params, &bytes, &embed_bytes, &soft_bytes, &scratch,
          &local))
    goto fail;
  info = ib_cl_device_get_info (model->dev);
  if (bytes > info->max_alloc || embed_bytes > info->max_alloc ||
      scratch > info->max_alloc ||
      bytes + embed_bytes + soft_bytes + scratch > info->global_mem) {
    what =
        g_strdup_printf ("they take %" G_GSIZE_FORMAT " bytes of caches, "
                         "%" G_GSIZE_FORMAT " of image embeddings and "
                         "%" G_GSIZE_FORMAT " of product scratch; %s has "
                         "%" G_GUINT64_FORMAT
                         " bytes, at most %" G_GUINT64_FORMAT " in one buffer",
            bytes, embed_bytes + soft_bytes, scratch, info->name,
            info->global_mem, info->max_alloc);
    no_memory (error, params, what);
    goto fail;
  }
  if (!(ctx->q = ib_cl_queue_new (model->dev, &local)) ||
      !ib_cl_queue_reserve_scratch (ctx->q, scratch, &local) ||
      !(ctx->arena = ib_cl_arena_new (model->dev, bytes, &local)) ||
      !(ctx->vs = ib_vit_scratch_new (model->vit, ctx->arena, &local)) ||
      !(ctx->qs = ib_qformer_scratch_new (model->qformer, ctx->arena, ctx->T,
            &local)))
    goto fail;
  if (model->llama)
    ctx->ls = ib_llama_state_new (model->llama, ctx->arena, ctx->n_ctx,
        params->max_beams, &local);
  else
    ctx->ts = ib_t5_state_new (model->t5, ctx->arena, ctx->n_enc, ctx->n_dec,
        params->max_beams, &local);
  if (ctx->ls == NULL && ctx->ts == NULL)
    goto fail;

  ctx->pixels = g_new (float, 3 * (gsize) ctx->S * ctx->S);
  ctx->logits = g_new (float, (gsize) params->max_beams *vocab (model));
  ctx->keys = g_new0 (IbFrameKey, params->max_frames);
  ctx->slot = g_new0 (int, params->max_frames);
  if (params->frame_cache > 0)
    ctx->cache = ib_frame_cache_new (ctx->n_slots);
  if (!(ctx->pix = ib_cl_buffer_new (model->dev,
            3 * (gsize) ctx->S * ctx->S * 4, &local)) ||
      !(ctx->embeds = ib_cl_buffer_new (model->dev, embed_bytes, &local)) ||
      !(ctx->soft = ib_cl_buffer_new (model->dev, soft_bytes, &local)))
    goto fail;
  return ctx;

fail:
  if (g_error_matches (local, IB_CL_ERROR, IB_CL_ERROR_NO_MEMORY))
    no_memory (error, params, local->message);
  else if (local != NULL)
    g_propagate_error (error, g_steal_pointer (&local));
  g_clear_error (&local);
  g_free (what);
  ib_context_free (ctx);
  return NULL;
}

void
ib_context_free (IbContext *ctx)
{
  if (ctx == NULL)
    return;
  ib_vit_scratch_free (ctx->vs);
  ib_qformer_scratch_free (ctx->qs);
  ib_llama_state_free (ctx->ls);
  ib_t5_state_free (ctx->ts);
  ib_cl_arena_free (ctx->arena);
  ib_cl_buffer_free (ctx->pix);
  ib_cl_buffer_free (ctx->embeds);
  ib_cl_buffer_free (ctx->soft);
  ib_cl_queue_free (ctx->q);
  ib_image_preprocessor_free (ctx->pre);
  g_free (ctx->pixels);
  g_free (ctx->logits);
  g_free (ctx->keys);
  g_free (ctx->slot);
  g_free (ctx->soft_for);
  ib_frame_cache_free (ctx->cache);
  ib_model_unref (ctx->model);
  g_free (ctx);
}

static gboolean
check_frames (IbContext *ctx, int n_frames, GError **error)
{
  if (n_frames < 1 || n_frames > ctx->params.max_frames) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "%d frames given; this context takes 1 to %d (max_frames)", n_frames,
        ctx->params.max_frames);
    return FALSE;
  }
  return TRUE;
}

static gboolean
key_equal (const IbFrameKey *a, const IbFrameKey *b)
{
  return a->hash == b->hash && a->width == b->width && a->height == b->height &&
      a->format == b->format;
}

/* The cache keys of the frames (one of @frames, @pixels) into ctx->keys. */
static gboolean
make_keys (IbContext *ctx, const IbImage *frames, const float *pixels,
    int n_frames, GError **error)
{
  const gsize frame = 3 * (gsize) ctx->S * ctx->S;
  IbFrameKey *k;
  int f;

  for (f = 0; f < n_frames; f++) {
    k = &ctx->keys[f];
    if (frames) {
      if (!ib_image_check (&frames[f], error))
        return FALSE;
      k->hash = ib_image_hash (&frames[f]);
      k->width = frames[f].width;
      k->height = frames[f].height;
      k->format = frames[f].format;
    } else {
      k->hash = ib_xxh64 (pixels + f * frame, frame * 4, 0);
      k->width = k->height = ctx->S;
      k->format = IB_FRAME_KEY_PIXELS;
    }
  }
  return TRUE;
}

/* The vision encoder on the pixels in ctx->pixels, into embeddings slot
 * @slot. */
static gboolean
encode_frame (IbContext *ctx, int slot, GError **error)
{
  const IbModel *m = ctx->model;

  ib_cl_queue_upload (ctx->q, ctx->pix, 0, ctx->pixels,
      3 * (gsize) ctx->S * ctx->S * 4);
  ib_vit_forward (m->vit, ctx->q, ctx->vs, ctx->pix, ctx->embeds,
      (gsize) slot * ctx->T * m->cfg->vision.hidden_dim);
  /* one sync per frame: the pixel staging buffer is reused */
  return ib_cl_queue_finish (ctx->q, error);
}

int
ib_context_frames_plan (IbContext *ctx, const IbImage *frames,
    const float *pixels, int n_frames, int *todo, GError **error)
{
  gint64 t0 = g_get_monotonic_time ();
  int f, g, n_todo = 0;

  ctx->n_frames = ctx->n_reused = 0;
  ctx->preprocess_ms = ctx->vision_ms = 0;
  g_clear_pointer (&ctx->soft_for, g_free);
  if (!check_frames (ctx, n_frames, error) ||
      !make_keys (ctx, frames, pixels, n_frames, error))
    return -1;
  if (ctx->cache == NULL) {
    for (f = 0; f < n_frames; f++)
      todo[n_todo++] = ctx->slot[f] = f;
    goto out;
  }
  /* the frames in a slot already first, so that no frame of this call
   * evicts another's embeddings */
  ib_frame_cache_begin (ctx->cache);
  for (f = 0; f < n_frames; f++)
    ctx->slot[f] = ib_frame_cache_lookup (ctx->cache, &ctx->keys[f]);
  for (f = 0; f < n_frames; f++) {
    if (ctx->slot[f] >= 0) {
      ctx->n_reused++;
      continue;
    }
    /* the same frame as an earlier one of this call: encoded once */
    for (g = 0; g < n_todo; g++)
      if (key_equal (&ctx->keys[todo[g]], &ctx->keys[f]))
        break;
    if (g < n_todo) {
      ctx->slot[f] = ctx->slot[todo[g]];
      ctx->n_reused++;
      continue;
    }
    /* n_frames <= max_frames < n_slots: a slot is always free */
    if ((ctx->slot[f] = ib_frame_cache_claim (ctx->cache, &ctx->keys[f])) < 0) {
      g_set_error (error, IB_ERROR, IB_ERROR_FAILED,
          "frame cache: all of its %d slots are in use", ctx->n_slots);
      return -1;
    }
    todo[n_todo++] = f;
  }
out:
  ctx->preprocess_ms += ms_since (t0);
  return n_todo;
}

gboolean
ib_context_frame_pixels (IbContext *ctx, const IbImage *frames,
    const float *pixels, int f, float *out, GError **error)
{
  const gsize frame = 3 * (gsize) ctx->S * ctx->S;
  gint64 t0 = g_get_monotonic_time ();

  if (frames) {
    if (!ib_image_preprocessor_run (ctx->pre, &frames[f], out, error))
      return FALSE;
  } else {
    memcpy (out, pixels + f * frame, frame * 4);
  }
  ctx->preprocess_ms += ms_since (t0);
  return TRUE;
}

const IbFrameKey *
ib_context_frame_key (const IbContext *ctx, int f)
{
  return &ctx->keys[f];
}

void
ib_context_frame_target (IbContext *ctx, int f, IbClBuffer **buf, gsize *offset)
{
  *buf = ctx->embeds;
  *offset = (gsize) ctx->slot[f] * ctx->T * ctx->model->cfg->vision.hidden_dim;
}

void
ib_context_frames_done (IbContext *ctx, int n_frames, const int *todo,
    int n_todo, double vision_ms)
{
  int k;

  for (k = 0; ctx->cache && k < n_todo; k++)
    ib_frame_cache_commit (ctx->cache, ctx->slot[todo[k]]);
  ctx->vision_ms = vision_ms;
  ctx->n_frames = n_frames;
}

/* Frames from @frames (preprocessed here) or @pixels (already
 * preprocessed) into embeddings slots ctx->slot[]: those the plan says
 * one after the other through the vision encoder. */
static gboolean
set_frames (IbContext *ctx, const IbImage *frames, const float *pixels,
    int n_frames, GError **error)
{
  int *todo = g_new (int, ctx->params.max_frames);
  int k, n_todo;
  gint64 t0;
  double vision_ms = 0;
  gboolean ok = FALSE;

  g_clear_pointer (&ctx->soft_for, g_free);
  n_todo = ib_context_frames_plan (ctx, frames, pixels, n_frames, todo, error);
  if (n_todo < 0)
    goto out;
  for (k = 0; k < n_todo; k++) {
    if (!ib_context_frame_pixels (ctx, frames, pixels, todo[k], ctx->pixels,
            error))
      goto out;
    t0 = g_get_monotonic_time ();
    if (!encode_frame (ctx, ctx->slot[todo[k]], error))
      goto out;
    vision_ms += ms_since (t0);
  }
  ib_context_frames_done (ctx, n_frames, todo, n_todo, vision_ms);
  ok = TRUE;
out:
  g_free (todo);
  return ok;
}

gboolean
ib_context_set_frames (IbContext *ctx, const IbImage *frames, int n_frames,
    GError **error)
{
  g_return_val_if_fail (ctx != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return set_frames (ctx, frames, NULL, n_frames, error);
}

gboolean
ib_context_set_pixel_values (IbContext *ctx, const float *pixels, int n_frames,
    GError **error)
{
  g_return_val_if_fail (ctx != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return set_frames (ctx, NULL, pixels, n_frames, error);
}

/* The LLM prompt: placeholders for the soft tokens (the checkpoint's
 * <image>/<video> id, F·Q of them, as the HF processor inserts them before
 * the tokenizer's own specials), then the tokenized instruction. Returns
 * the number of placeholder rows (0 for legacy configs without a
 * placeholder id: then the soft tokens are simply prepended). */
static int
build_prompt (IbContext *ctx, const char *instruction, GArray *ids,
    GError **error)
{
  const IbModelConfig *cfg = ctx->model->cfg;
  const int n_soft = ctx->n_frames * ctx->Q;
  gint32 ph = cfg->image_token_index;
  int i;

  if (cfg->model_type == IB_MODEL_INSTRUCTBLIP_VIDEO &&
      cfg->video_token_index >= 0)
    ph = cfg->video_token_index;
  if (ph >= 0)
    for (i = 0; i < n_soft; i++)
      g_array_append_val (ids, ph);
  if (!ib_tokenizer_encode (ctx->model->tok, instruction, -1, TRUE, ids, error))
    return -1;
  if ((int) ids->len - (ph >= 0 ? n_soft : 0) > ctx->params.max_prompt_tokens) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "the instruction has %d tokens; this context takes %d "
        "(max_prompt_tokens)",
        ids->len - (ph >= 0 ? n_soft : 0), ctx->params.max_prompt_tokens);
    return -1;
  }
  return ph >= 0 ? n_soft : 0;
}

/* LLaMA: the prompt (soft tokens included) plus @max_new_tokens must fit
 * max_position_embeddings; beyond it the model has never seen positions
 * and the answer would be garbage. */
static gboolean
check_length (IbContext *ctx, const GArray *ids, int n_ph, int max_new_tokens,
    GError **error)
{
  const int n_soft = ctx->n_frames * ctx->Q;
  const int n_prompt = (int) ids->len + (n_ph ? 0 : n_soft);
  const gint64 limit = max_positions (ctx->model);

  if (ctx->model->llama == NULL || (gint64) n_prompt + max_new_tokens <= limit)
    return TRUE;
  g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
      "the prompt (%d tokens: %d frames x %d query tokens and %d of the "
      "instruction) plus max_new_tokens %d is longer than the %" G_GINT64_FORMAT
      " positions of the model (text_config.max_position_embeddings)",
      n_prompt, ctx->n_frames, ctx->Q, n_prompt - n_soft, max_new_tokens,
      limit);
  return FALSE;
}

gboolean
ib_context_qformer_ids (IbContext *ctx, const char *instruction, GArray *ids,
    GError **error)
{
  const IbModel *m = ctx->model;

  /* LAVIS truncates the instruction from the left (max_txt_len); the
   * Q-Former cannot take more than its position table anyway */
  return ib_tokenizer_encode_truncated (m->qtok, instruction, -1, TRUE,
      ib_qformer_get_max_text (m->qformer), IB_TRUNCATE_LEFT, ids, error);
}

int
ib_context_get_n_frames (const IbContext *ctx)
{
  return ctx->n_frames;
}

void
ib_context_qformer_target (IbContext *ctx, int f, const IbClBuffer **image,
    int *image_row, IbClBuffer **soft, int *soft_row)
{
  *image = ctx->embeds;
  *image_row = ctx->slot[f] * ctx->T;
  *soft = ctx->soft;
  *soft_row = f * ctx->Q;
}

void
ib_context_soft_done (IbContext *ctx, const char *instruction)
{
  g_free (ctx->soft_for);
  ctx->soft_for = g_strdup (instruction);
}

/* Q-Former and projection for every frame: soft tokens [F·Q, H] (made
 * already by a shared pass for this instruction: kept). */
static gboolean
run_qformer (IbContext *ctx, const char *instruction, GError **error)
{
  const IbModel *m = ctx->model;
  GArray *qids;
  gboolean ok = FALSE;
  int f;

  if (ctx->soft_for != NULL) {
    gboolean made = strcmp (ctx->soft_for, instruction) == 0;
    g_clear_pointer (&ctx->soft_for, g_free);
    if (made)
      return TRUE;
  }
  qids = g_array_new (FALSE, FALSE, sizeof (gint32));
  if (!ib_context_qformer_ids (ctx, instruction, qids, error))
    goto out;
  ib_qformer_set_instruction (m->qformer, ctx->q, ctx->qs,
      (const gint32 *) qids->data, qids->len);
  for (f = 0; f < ctx->n_frames; f++)
    ib_qformer_forward (m->qformer, ctx->q, ctx->qs, ctx->embeds,
        ctx->slot[f] * ctx->T, NULL, ctx->soft, f * ctx->Q);
  ok = ib_cl_queue_finish (ctx->q, error);
out:
  g_array_unref (qids);
  return ok;
}

/* ---- decoding callbacks ---- */

static gboolean
download_logits (IbContext *ctx, int n_beams, float *out, GError **error)
{
  IbClBuffer *lb =
      ctx->ls ? ib_llama_state_logits (ctx->ls) : ib_t5_state_logits (ctx->ts);

  ib_cl_queue_download (ctx->q, lb, 0, out,
      (gsize) n_beams * vocab (ctx->model) * 4);
  return ib_cl_queue_finish (ctx->q, error);
}

static gboolean
gen_step (gpointer user, const gint32 *tokens, int n_beams, float *logits,
    GError **error)
{
  IbContext *ctx = user;
  const IbModel *m = ctx->model;

  if ((ctx->ls && ctx->pos >= ctx->n_ctx) ||
      (ctx->ts && ctx->pos >= ctx->n_dec)) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "the answer outgrew the context (max_new_tokens)");
    return FALSE;
  }
  if (m->llama)
    ib_llama_decode (m->llama, ctx->q, ctx->ls, tokens, n_beams, ctx->pos);
  else
    ib_t5_decode (m->t5, ctx->q, ctx->ts, tokens, n_beams, ctx->pos);
  ctx->pos++;
  return download_logits (ctx, n_beams, logits, error);
}

static gboolean
gen_reorder (gpointer user, const int *src, int n_beams, GError **error)
{
  IbContext *ctx = user;
  const IbModel *m = ctx->model;

  if (m->llama)
    ib_llama_reorder (m->llama, ctx->q, ctx->ls, src, n_beams, ctx->pos);
  else
    ib_t5_reorder (m->t5, ctx->q, ctx->ts, src, n_beams, ctx->pos);
  return !ib_cl_queue_failed (ctx->q) || ib_cl_queue_finish (ctx->q, error);
}

/* Prefill (LLaMA) or encode + first decoder step (T5): logits of the first
 * generated position into ctx->logits; the generator's view of the prompt
 * into @gen_prompt. */
static gboolean
prefill (IbContext *ctx, const GArray *ids, int n_ph, GArray *gen_prompt,
    GError **error)
{
  const IbModel *m = ctx->model;
  const int H = m->cfg->text.hidden_dim, n_soft = ctx->n_frames * ctx->Q;
  const int n_rows = (int) ids->len + (n_ph ? 0 : n_soft);
  const gint32 *p = (const gint32 *) ids->data;
  IbClBuffer *input;

  if (m->llama) {
    input = ib_llama_state_input (ctx->ls);
    ib_llama_embed (m->llama, ctx->q, ctx->ls, p, ids->len, n_ph ? 0 : n_soft);
  } else {
    input = ib_t5_state_input (ctx->ts);
    ib_t5_embed (m->t5, ctx->q, ctx->ts, p, ids->len, n_ph ? 0 : n_soft);
  }
  /* the soft tokens take the placeholder rows (HF masked_scatter), or are
   * prepended (legacy) */
  ib_cl_copy_rows (ctx->q, ctx->soft, 0, H, input, 0, H, n_soft, H);
  if (m->llama) {
    ib_llama_prefill (m->llama, ctx->q, ctx->ls, n_rows);
    ctx->pos = n_rows;
    g_array_append_vals (gen_prompt, ids->data, ids->len);
    return download_logits (ctx, 1, ctx->logits, error);
  } else {
    gint32 start = MAX (m->cfg->text.decoder_start_token_id, 0);
    ib_t5_encode (m->t5, ctx->q, ctx->ts, n_rows);
    ctx->pos = 0;
    g_array_append_val (gen_prompt, start);
    return gen_step (ctx, &start, 1, ctx->logits, error);
  }
}

/* The ids that end an answer: the checkpoint's (generation_config.json,
 * else text_config), and for LLaMA models also "</s>". The released Vicuna
 * checkpoints name id 1 (<s>) as eos although the model ends its answers
 * with </s> (2); LAVIS stops on 2, so do we (see docs/ARCHITECTURE.md). */
static int
eos_ids (const IbModel *m, gint32 *out)
{
  const IbModelConfig *cfg = m->cfg;
  const gint32 *ids = cfg->generation.present ? cfg->generation.eos_token_ids :
                                                cfg->text.eos_token_ids;
  int n = cfg->generation.present ? (int) cfg->generation.n_eos_token_ids :
                                    (int) cfg->text.n_eos_token_ids,
      i;

  for (i = 0; i < n; i++)
    out[i] = ids[i];
  if (m->llama) {
    gint32 s = ib_tokenizer_token_to_id (m->tok, "</s>");
    gboolean have = FALSE;
    for (i = 0; i < n; i++)
      have = have || out[i] == s;
    if (s >= 0 && !have)
      out[n++] = s;
  }
  return n;
}

void
ib_generate_params_init (IbGenerateParams *p)
{
  g_return_if_fail (p != NULL);
  memset (p, 0, sizeof (*p));
  p->max_new_tokens = 30;
  p->num_beams = 1;
  p->length_penalty = 1.0;
  p->repetition_penalty = 1.0;
  p->temperature = 1.0;
  p->top_k = 50;
  p->top_p = 1.0;
}

void
ib_generate_params_init_for_model (IbGenerateParams *p, const IbModel *model)
{
  const IbGenerationConfig *g;

  g_return_if_fail (p != NULL);
  g_return_if_fail (model != NULL);
  g = &model->cfg->generation;
  ib_generate_params_init (p);
  if (!g->present)
    return;
  if (g->max_new_tokens > 0)
    p->max_new_tokens = g->max_new_tokens;
  p->num_beams = MAX (g->num_beams, 1);
  p->do_sample = g->do_sample;
  p->temperature = g->temperature;
  p->top_k = g->top_k;
  p->top_p = g->top_p;
  p->repetition_penalty = g->repetition_penalty;
  p->length_penalty = g->length_penalty;
  p->min_length = g->min_length;
  p->early_stopping = g->early_stopping;
}

/* ib_context_answer_begin up to the prefill: checks, Q-Former, the prompt's
 * ids (job->prompt, job->n_ph), the decoding parameters. */
static gboolean
answer_prepare (IbContext *ctx, const char *instruction,
    const IbGenerateParams *params, IbAnswerJob *job, GError **error)
{
  const IbModel *m;
  IbGenerateParams defaults;
  IbGenParams *gp = &job->gp;
  gint64 t0;

  g_return_val_if_fail (job != NULL, FALSE);
  memset (job, 0, sizeof (*job));
  g_return_val_if_fail (ctx != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  m = ctx->model;
  job->prompt = g_array_new (FALSE, FALSE, sizeof (gint32));
  job->gen_prompt = g_array_new (FALSE, FALSE, sizeof (gint32));
  if (params == NULL) {
    ib_generate_params_init_for_model (&defaults, m);
    params = &defaults;
  }
  if (ctx->n_frames == 0) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "no frames: call ib_context_set_frames first");
    return FALSE;
  }
  if (instruction == NULL || !g_utf8_validate (instruction, -1, NULL)) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "the instruction must be valid UTF-8 text");
    return FALSE;
  }
  if (params->num_beams < 1 || params->num_beams > ctx->params.max_beams ||
      params->max_new_tokens < 1 ||
      params->max_new_tokens > ctx->params.max_new_tokens) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "num_beams %d / max_new_tokens %d: this context takes 1 to %d beams "
        "and 1 to %d new tokens",
        params->num_beams, params->max_new_tokens, ctx->params.max_beams,
        ctx->params.max_new_tokens);
    return FALSE;
  }
  if ((guint) params->early_stopping > IB_EARLY_STOPPING_NEVER) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "early_stopping %d is not an IbEarlyStopping value",
        (int) params->early_stopping);
    return FALSE;
  }

  job->t.preprocess_ms = ctx->preprocess_ms;
  job->t.vision_ms = ctx->vision_ms;
  job->t.n_frames_reused = ctx->n_reused;
  t0 = g_get_monotonic_time ();
  if (!run_qformer (ctx, instruction, error))
    return FALSE;
  job->t.qformer_ms = ms_since (t0);

  job->n_ph = build_prompt (ctx, instruction, job->prompt, error);
  if (job->n_ph < 0 ||
      !check_length (ctx, job->prompt, job->n_ph, params->max_new_tokens,
          error))
    return FALSE;
  job->t.n_prompt_tokens = job->prompt->len;

  ib_gen_params_init (gp);
  gp->max_new_tokens = params->max_new_tokens;
  gp->min_new_tokens = params->min_new_tokens > 0 ? params->min_new_tokens : -1;
  gp->min_length = params->min_length;
  gp->num_beams = params->num_beams;
  gp->early_stopping = params->early_stopping;
  gp->length_penalty = params->length_penalty;
  gp->repetition_penalty = params->repetition_penalty;
  gp->do_sample = params->do_sample;
  gp->temperature = params->temperature;
  gp->top_k = params->top_k;
  gp->top_p = params->top_p;
  gp->seed = params->seed;
  gp->n_eos = eos_ids (m, job->eos);
  gp->eos_ids = job->eos;
  return TRUE;
}

gboolean
ib_context_answer_begin (IbContext *ctx, const char *instruction,
    const IbGenerateParams *params, IbAnswerJob *job, GError **error)
{
  IbGenParams *gp = &job->gp;
  gint64 t0;

  if (!answer_prepare (ctx, instruction, params, job, error))
    return FALSE;
  t0 = g_get_monotonic_time ();
  if (!prefill (ctx, job->prompt, job->n_ph, job->gen_prompt, error))
    return FALSE;
  job->t.prefill_ms = ms_since (t0);
  /* every beam starts from the prompt's cache (beam 0's) */
  if (gp->num_beams > 1) {
    int *zeros = g_new0 (int, gp->num_beams);
    /* finished here: an answer may take no step (max_new_tokens 1), and
     * batched steps run on another queue */
    gboolean zok = gen_reorder (ctx, zeros, gp->num_beams, error) &&
        ib_cl_queue_finish (ctx->q, error);
    g_free (zeros);
    if (!zok)
      return FALSE;
  }
  job->t0 = g_get_monotonic_time ();
  return TRUE;
}

IbAnswer *
ib_context_answer_end (IbContext *ctx, IbAnswerJob *job, GArray *out_ids,
    GError **error)
{
  IbAnswer *answer;
  char *text;

  job->t.decode_ms = ms_since (job->t0);
  job->t.n_generated_tokens = out_ids->len;
  text = ib_tokenizer_decode (ctx->model->tok, (const gint32 *) out_ids->data,
      out_ids->len, TRUE, error);
  if (text == NULL)
    return NULL;
  answer = g_new0 (IbAnswer, 1);
  answer->text = g_strdup (g_strstrip (text));
  g_free (text);
  answer->n_tokens = out_ids->len;
  answer->token_ids = g_memdup2 (out_ids->data, sizeof (gint32) * out_ids->len);
  answer->timings = job->t;
  return answer;
}

void
ib_answer_job_clear (IbAnswerJob *job)
{
  if (job->gen_prompt)
    g_array_unref (job->gen_prompt);
  job->gen_prompt = NULL;
  if (job->prompt)
    g_array_unref (job->prompt);
  job->prompt = NULL;
}

float *
ib_context_get_logits (IbContext *ctx)
{
  return ctx->logits;
}

int
ib_context_get_n_ctx (const IbContext *ctx)
{
  return ctx->n_ctx;
}

int
ib_context_get_max_frames (const IbContext *ctx)
{
  return ctx->params.max_frames;
}

int
ib_context_get_max_beams (const IbContext *ctx)
{
  return ctx->params.max_beams;
}

IbAnswer *
ib_context_answer (IbContext *ctx, const char *instruction,
    const IbGenerateParams *params, GError **error)
{
  GArray *out_ids;
  IbAnswer *answer = NULL;
  IbAnswerJob job;
  IbGenModel gm;

  g_return_val_if_fail (ctx != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  out_ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  if (!ib_context_answer_begin (ctx, instruction, params, &job, error))
    goto out;
  gm.step = gen_step;
  gm.reorder = gen_reorder;
  gm.user = ctx;
  gm.vocab = vocab (ctx->model);
  if (!ib_generate (&gm, &job.gp, (const gint32 *) job.gen_prompt->data,
          job.gen_prompt->len, ctx->logits, out_ids, NULL, error))
    goto out;
  answer = ib_context_answer_end (ctx, &job, out_ids, error);
out:
  ib_answer_job_clear (&job);
  g_array_unref (out_ids);
  return answer;
}

/* The position check of gen_step, for the batched step. */
static gboolean
check_pos (IbContext *ctx, GError **error)
{
  if ((ctx->ls && ctx->pos >= ctx->n_ctx) ||
      (ctx->ts && ctx->pos >= ctx->n_dec)) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "the answer outgrew the context (max_new_tokens)");
    return FALSE;
  }
  return TRUE;
}

/* The end of a batched step of @n_seq sequences, sequence i being context
 * ctxs[which[i]] with n_beams[which[i]] rows of @buf's logits after the
 * previous one's: the logits downloaded, the queue finished, and then each
 * context one position further, or the queue's error to each. */
static gboolean
finish_step_many (IbClQueue *q, IbClBuffer *buf, IbContext *const *ctxs,
    const int *which, const int *n_beams, int n_seq, float *const *logits,
    GError **errors)
{
  const gsize row_bytes = (gsize) vocab (ctxs[which[0]]->model) * 4;
  GError *err = NULL;
  gsize off = 0;
  int i;

  if (n_seq == 0)
    return TRUE;
  for (i = 0; i < n_seq; off += n_beams[which[i]] * row_bytes, i++)
    ib_cl_queue_download (q, buf, off, logits[which[i]],
        n_beams[which[i]] * row_bytes);
  if (!ib_cl_queue_finish (q, &err)) {
    for (i = 0; i < n_seq; i++)
      errors[which[i]] = g_error_copy (err);
    g_error_free (err);
    return FALSE;
  }
  for (i = 0; i < n_seq; i++)
    ctxs[which[i]]->pos++;
  return TRUE;
}

gboolean
ib_context_step_many_t5 (IbContext *const *ctxs, const gint32 *const *tokens,
    const int *const *src, const int *n_beams, float *const *logits, int n,
    IbClQueue *q, IbT5State *rows, GError **errors)
{
  const IbModel *m;
  IbT5Seq *seqs;
  int *which, n_seq = 0, i;
  gboolean ok = TRUE;

  if (n == 0)
    return TRUE;
  m = ctxs[0]->model;
  seqs = g_new (IbT5Seq, n);
  which = g_new (int, n);
  for (i = 0; i < n; i++) {
    if (!check_pos (ctxs[i], &errors[i])) {
      ok = FALSE;
      continue;
    }
    if (src[i])
      ib_t5_reorder (m->t5, q, ctxs[i]->ts, src[i], n_beams[i], ctxs[i]->pos);
    seqs[n_seq] = (IbT5Seq){ ctxs[i]->ts, tokens[i], n_beams[i], ctxs[i]->pos };
    which[n_seq++] = i;
  }
  ib_t5_decode_many (m->t5, q, rows, seqs, n_seq);
  if (!finish_step_many (q, ib_t5_state_logits (rows), ctxs, which, n_beams,
          n_seq, logits, errors))
    ok = FALSE;
  g_free (which);
  g_free (seqs);
  return ok;
}

gboolean
ib_context_step_many (IbContext *const *ctxs, const gint32 *const *tokens,
    const int *const *src, const int *n_beams, float *const *logits, int n,
    IbClQueue *q, IbLlamaState *rows, GError **errors)
{
  const IbModel *m;
  IbLlamaSeq *seqs;
  int *which, n_seq = 0, i;
  gboolean ok = TRUE;

  if (n == 0)
    return TRUE;
  m = ctxs[0]->model;
  if (m->t5) {
    /* T5 without its rows (ib_context_step_many_t5 batches): each sequence
     * its own step */
    for (i = 0; i < n; i++)
      if ((src[i] && !gen_reorder (ctxs[i], src[i], n_beams[i], &errors[i])) ||
          !gen_step (ctxs[i], tokens[i], n_beams[i], logits[i], &errors[i]))
        ok = FALSE;
    return ok;
  }
  seqs = g_new (IbLlamaSeq, n);
  which = g_new (int, n);
  for (i = 0; i < n; i++) {
    if (!check_pos (ctxs[i], &errors[i])) {
      ok = FALSE;
      continue;
    }
    if (src[i])
      ib_llama_reorder (m->llama, q, ctxs[i]->ls, src[i], n_beams[i],
          ctxs[i]->pos);
    seqs[n_seq] =
        (IbLlamaSeq){ ctxs[i]->ls, tokens[i], n_beams[i], ctxs[i]->pos };
    which[n_seq++] = i;
  }
  ib_llama_decode_many (m->llama, q, rows, seqs, n_seq);
  if (!finish_step_many (q, ib_llama_state_logits (rows), ctxs, which, n_beams,
          n_seq, logits, errors))
    ok = FALSE;
  g_free (which);
  g_free (seqs);
  return ok;
}

/* ---- prefill in the batched steps (LLaMA) ---- */

gboolean
ib_context_answer_prepare (IbContext *ctx, const char *instruction,
    const IbGenerateParams *params, IbAnswerJob *job, GError **error)
{
  return answer_prepare (ctx, instruction, params, job, error);
}

int
ib_context_get_max_prompt_rows (const IbContext *ctx)
{
  return ctx->n_enc;
}

int
ib_context_prompt_rows (const IbContext *ctx, const IbAnswerJob *job)
{
  return (int) job->prompt->len + (job->n_ph ? 0 : ctx->n_frames * ctx->Q);
}

gboolean
ib_context_step_prefill_many (IbContext *const *ctxs,
    const gint32 *const *tokens, const int *const *src, const int *n_beams,
    float *const *logits, int n, IbContext *const *pctxs,
    IbAnswerJob *const *jobs, int n_prompts, IbClQueue *q, IbLlamaState *rows,
    GError **errors, GError **perrors)
{
  const IbModel *m;
  gsize row_bytes;
  IbLlamaSeq *seqs;
  IbLlamaPrompt *prompts;
  int *which;
  int n_seq = 0, i, row;
  gint64 t0 = g_get_monotonic_time ();
  gboolean ok = TRUE;
  GError *err = NULL;

  if (n == 0 && n_prompts == 0)
    return TRUE;
  m = n > 0 ? ctxs[0]->model : pctxs[0]->model;
  row_bytes = (gsize) vocab (m) * 4;
  seqs = g_new (IbLlamaSeq, MAX (n, 1));
  prompts = g_new (IbLlamaPrompt, MAX (n_prompts, 1));
  which = g_new (int, MAX (n, 1));

  for (i = 0; i < n; i++) {
    if (!check_pos (ctxs[i], &errors[i])) {
      ok = FALSE;
      continue;
    }
    if (src[i])
      ib_llama_reorder (m->llama, q, ctxs[i]->ls, src[i], n_beams[i],
          ctxs[i]->pos);
    seqs[n_seq] =
        (IbLlamaSeq){ ctxs[i]->ls, tokens[i], n_beams[i], ctxs[i]->pos };
    which[n_seq++] = i;
  }
  for (i = 0; i < n_prompts; i++) {
    IbContext *c = pctxs[i];
    const int n_soft = c->n_frames * c->Q;
    prompts[i] = (IbLlamaPrompt){ c->ls, (const gint32 *) jobs[i]->prompt->data,
      (int) jobs[i]->prompt->len, jobs[i]->n_ph ? 0 : n_soft, c->soft, n_soft };
  }
  ib_llama_step_many (m->llama, q, rows, seqs, n_seq, prompts, n_prompts);
  for (i = 0, row = 0; i < n_seq; row += seqs[i].n_beams, i++)
    ib_cl_queue_download (q, ib_llama_state_logits (rows),
        (gsize) row * row_bytes, logits[which[i]],
        (gsize) seqs[i].n_beams * row_bytes);
  for (i = 0; i < n_prompts; i++, row++) {
    IbContext *c = pctxs[i];
    const int beams = jobs[i]->gp.num_beams;
    ib_cl_queue_download (q, ib_llama_state_logits (rows),
        (gsize) row * row_bytes, c->logits, row_bytes);
    /* every beam starts from the prompt's cache (beam 0's) */
    if (beams > 1) {
      int *zeros = g_new0 (int, beams);
      ib_llama_reorder (m->llama, q, c->ls, zeros, beams,
          ib_context_prompt_rows (c, jobs[i]));
      g_free (zeros);
    }
  }
  if (!ib_cl_queue_finish (q, &err)) {
    for (i = 0; i < n_seq; i++)
      errors[which[i]] = g_error_copy (err);
    for (i = 0; i < n_prompts; i++)
      perrors[i] = g_error_copy (err);
    g_error_free (err);
    ok = FALSE;
    goto out;
  }
  for (i = 0; i < n_seq; i++)
    ctxs[which[i]]->pos++;
  for (i = 0; i < n_prompts; i++) {
    IbContext *c = pctxs[i];
    IbAnswerJob *job = jobs[i];
    c->pos = ib_context_prompt_rows (c, job);
    g_array_append_vals (job->gen_prompt, job->prompt->data, job->prompt->len);
    job->t.prefill_ms = ms_since (t0);
    job->t0 = g_get_monotonic_time ();
  }
out:
  g_free (which);
  g_free (prompts);
  g_free (seqs);
  return ok;
}

void
ib_answer_free (IbAnswer *answer)
{
  if (answer == NULL)
    return;
  g_free (answer->text);
  g_free (answer->token_ids);
  g_free (answer);
}

/* log p(token) under @logits [V], softmax in double. */
static double
log_prob (const float *logits, int V, int token)
{
  double max = logits[0], sum = 0;
  int i;

  for (i = 1; i < V; i++)
    max = MAX (max, logits[i]);
  for (i = 0; i < V; i++)
    sum += exp ((double) logits[i] - max);
  return (double) logits[token] - max - log (sum);
}

int
ib_context_rank (IbContext *ctx, const char *instruction,
    const char *const *candidates, int n, double *scores, GError **error)
{
  const IbModel *m;
  int V;
  GArray *ids, *gen_prompt, *cand;
  float *first = NULL;
  int best = -1, n_ph, c, base;
  guint t;

  g_return_val_if_fail (ctx != NULL, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);
  m = ctx->model;
  V = vocab (m);
  ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  gen_prompt = g_array_new (FALSE, FALSE, sizeof (gint32));
  cand = g_array_new (FALSE, FALSE, sizeof (gint32));
  if (ctx->n_frames == 0 || n < 1 || candidates == NULL || scores == NULL) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "ranking needs frames, an instruction and at least one candidate");
    goto out;
  }
  if (!run_qformer (ctx, instruction, error))
    goto out;
  n_ph = build_prompt (ctx, instruction, ids, error);
  if (n_ph < 0 || !prefill (ctx, ids, n_ph, gen_prompt, error))
    goto out;
  first = g_memdup2 (ctx->logits, (gsize) V * 4);
  base = ctx->pos;

  /* LAVIS _predict_class: the loss of the answer tokens after the prompt
   * (LLaMA: the candidate without its bos; T5: the candidate with its
   * </s>); ranking by the summed log-likelihood orders candidates as the
   * per-sample loss does, since padding positions are ignored. */
  for (c = 0; c < n; c++) {
    const gint32 *tok;
    double s = 0;

    g_array_set_size (cand, 0);
    if (!ib_tokenizer_encode (m->tok, candidates[c], -1, m->t5 != NULL, cand,
            error))
      goto out;
    if (cand->len == 0 || (int) cand->len > ctx->params.max_new_tokens) {
      g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
          "candidate %d has %u tokens; it needs 1 to %d (max_new_tokens)", c,
          cand->len, ctx->params.max_new_tokens);
      goto out;
    }
    if (!check_length (ctx, ids, n_ph, (int) cand->len, error))
      goto out;
    tok = (const gint32 *) cand->data;
    memcpy (ctx->logits, first, (gsize) V * 4);
    ctx->pos = base;
    for (t = 0; t < cand->len; t++) {
      s += log_prob (ctx->logits, V, tok[t]);
      if (t + 1 < cand->len && !gen_step (ctx, &tok[t], 1, ctx->logits, error))
        goto out;
    }
    scores[c] = s;
    if (best < 0 || s > scores[best])
      best = c;
  }
out:
  g_free (first);
  g_array_unref (ids);
  g_array_unref (gen_prompt);
  g_array_unref (cand);
  return best;
}
