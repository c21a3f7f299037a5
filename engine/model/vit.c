/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* EVA ViT forward pass on the device. */
#include "vit.h"

#include <math.h>

#include "attention.h"

typedef struct
{
  IbClBuffer *ln1_w, *ln1_b; /* [D] */
  IbClWeight *qkv; /* [3D, D], bias (q_bias, 0, v_bias) */
  IbClWeight *proj; /* [D, D] + bias */
  IbClBuffer *ln2_w, *ln2_b; /* [D] */
  IbClWeight *fc1; /* [F, D] + bias */
  IbClWeight *fc2; /* [D, F] + bias */
} VitLayer;

struct _IbVit
{
  IbVisionConfig cfg;
  int grid; /* patches per side */
  int n_patches; /* grid² */
  int n_tokens; /* 1 + n_patches */
  IbClWeight *patch; /* conv as linear: [D, 3·p·p] + bias */
  IbClBuffer *cls; /* [D] */
  IbClBuffer *pos; /* [T, D] */
  VitLayer *layers;
  IbClBuffer *post_w, *post_b; /* [D] */
};

struct _IbVitScratch
{
  IbClBuffer *cols; /* [P, 3·p·p] im2col patches */
  IbClBuffer *x; /* [T, D] residual stream */
  IbClBuffer *h; /* [T, D] normed */
  IbClBuffer *qkv; /* [T, 3D] */
  IbClBuffer *scores; /* [heads, T, T] */
  IbClBuffer *ctx; /* [T, D] */
  IbClBuffer *mlp; /* [T, F] */
  int n_frames; /* the most frames of one pass: x to mlp have n_frames·T
                 * rows */
};

#define PREFIX "vision_model."

IbVit *
ib_vit_new (IbLoader *l, const IbVisionConfig *cfg, GError **error)
{
  IbVit *vit = g_new0 (IbVit, 1);
  const int D = cfg->hidden_dim;
  int i;

  vit->cfg = *cfg;
  vit->grid = cfg->image_size / cfg->patch_size;
  vit->n_patches = vit->grid * vit->grid;
  vit->n_tokens = 1 + vit->n_patches;
  vit->layers = g_new0 (VitLayer, cfg->n_layers);

  /* Conv2d(3, D, p, stride p) is a linear layer over flattened patches:
   * weight [D, 3, p, p] read as [D, 3·p·p]. */
  if (!(vit->patch = ib_load_linear1 (l, TRUE, error,
            PREFIX "embeddings.patch_embedding")) ||
      !(vit->cls = ib_load_vector (l, D, error,
            PREFIX "embeddings.class_embedding")) ||
      !(vit->pos = ib_load_vector (l, (gsize) vit->n_tokens * D, error,
            PREFIX "embeddings.position_embedding")))
    goto fail;

  for (i = 0; i < cfg->n_layers; i++) {
    VitLayer *y = &vit->layers[i];
#define L PREFIX "encoder.layers.%d."
    if (!(y->ln1_w = ib_load_vector (l, D, error, L "layer_norm1.weight", i)) ||
        !(y->ln1_b = ib_load_vector (l, D, error, L "layer_norm1.bias", i)) ||
        !(y->qkv = ib_load_linear1 (l, cfg->qkv_bias, error, L "self_attn.qkv",
              i)) ||
        !(y->proj = ib_load_linear1 (l, TRUE, error, L "self_attn.projection",
              i)) ||
        !(y->ln2_w = ib_load_vector (l, D, error, L "layer_norm2.weight", i)) ||
        !(y->ln2_b = ib_load_vector (l, D, error, L "layer_norm2.bias", i)) ||
        !(y->fc1 = ib_load_linear1 (l, TRUE, error, L "mlp.fc1", i)) ||
        !(y->fc2 = ib_load_linear1 (l, TRUE, error, L "mlp.fc2", i)))
      goto fail;
#undef L
  }
  if (!(vit->post_w =
              ib_load_vector (l, D, error, PREFIX "post_layernorm.weight")) ||
      !(vit->post_b =
              ib_load_vector (l, D, error, PREFIX "post_layernorm.bias")))
    goto fail;
  return vit;

fail:
  ib_vit_free (vit);
  return NULL;
}

void
ib_vit_free (IbVit *vit)
{
  int i;

  if (vit == NULL)
    return;
  for (i = 0; vit->layers && i < vit->cfg.n_layers; i++) {
    VitLayer *y = &vit->layers[i];
    ib_cl_buffer_free (y->ln1_w);
    ib_cl_buffer_free (y->ln1_b);
    ib_cl_weight_free (y->qkv);
    ib_cl_weight_free (y->proj);
    ib_cl_buffer_free (y->ln2_w);
    ib_cl_buffer_free (y->ln2_b);
    ib_cl_weight_free (y->fc1);
    ib_cl_weight_free (y->fc2);
  }
  g_free (vit->layers);
  ib_cl_weight_free (vit->patch);
  ib_cl_buffer_free (vit->cls);
  ib_cl_buffer_free (vit->pos);
  ib_cl_buffer_free (vit->post_w);
  ib_cl_buffer_free (vit->post_b);
  g_free (vit);
}

int
ib_vit_get_n_tokens (const IbVit *vit)
{
  return vit->n_tokens;
}

/* sizes in floats of the scratch tensors, in struct order, for passes of
 * up to @n frames: the residual stream and what is computed from it per
 * row hold every frame's rows; patches and scores one frame's, as they are
 * used one frame after the other */
static void
scratch_sizes (const IbVit *vit, int n, gsize sizes[7])
{
  const gsize T = vit->n_tokens, D = vit->cfg.hidden_dim;
  const gsize p = vit->cfg.patch_size;

  sizes[0] = vit->n_patches * 3 * p * p;
  sizes[1] = n * T * D;
  sizes[2] = n * T * D;
  sizes[3] = n * T * 3 * D;
  sizes[4] = vit->cfg.n_heads * T * T;
  sizes[5] = n * T * D;
  sizes[6] = n * T * vit->cfg.intermediate_dim;
}

gsize
ib_vit_scratch_footprint (const IbVit *vit, const IbClDevice *dev)
{
  return ib_vit_scratch_footprint_many (vit, dev, 1);
}

gsize
ib_vit_scratch_footprint_many (const IbVit *vit, const IbClDevice *dev,
    int n_frames)
{
  gsize sizes[7], total = 0;
  int i;

  scratch_sizes (vit, n_frames, sizes);
  for (i = 0; i < 7; i++)
    total += ib_cl_arena_footprint (dev, sizes[i] * 4);
  return total;
}

IbVitScratch *
ib_vit_scratch_new (const IbVit *vit, IbClArena *arena, GError **error)
{
  return ib_vit_scratch_new_many (vit, arena, 1, error);
}

IbVitScratch *
ib_vit_scratch_new_many (const IbVit *vit, IbClArena *arena, int n_frames,
    GError **error)
{
  IbVitScratch *s = g_new0 (IbVitScratch, 1);
  IbClBuffer **slots[7] = { &s->cols, &s->x, &s->h, &s->qkv, &s->scores,
    &s->ctx, &s->mlp };
  gsize sizes[7];
  int i;

  s->n_frames = n_frames;
  scratch_sizes (vit, n_frames, sizes);
  for (i = 0; i < 7; i++)
    if (!(*slots[i] = ib_cl_arena_alloc (arena, sizes[i] * 4, error))) {
      g_free (s);
      return NULL;
    }
  return s;
}

void
ib_vit_scratch_free (IbVitScratch *s)
{
  g_free (s); /* the buffers belong to the arena */
}

gboolean
ib_vit_product_scratch (const IbVit *vit, IbClDevice *dev, gsize *need,
    GError **error)
{
  return ib_vit_product_scratch_many (vit, dev, 1, need, error);
}

gboolean
ib_vit_product_scratch_many (const IbVit *vit, IbClDevice *dev, int n_frames,
    gsize *need, GError **error)
{
  const int T = vit->n_tokens, D = vit->cfg.hidden_dim;
  const int heads = vit->cfg.n_heads;
  const VitLayer *y = &vit->layers[0]; /* every layer has its shapes */
  IbAttention att = { heads, D / heads, 1.0f / sqrtf ((float) (D / heads)),
    NULL, 0, NULL, -1, ib_cl_weight_get_storage (y->qkv) };
  /* one product over all frames' rows, or one per frame (linear_frames) */
  const int m[2] = { T, n_frames * T };
  int i;

  if (!ib_cl_linear_scratch (vit->patch, vit->n_patches, need, error) ||
      !ib_attention_scratch (dev, &att, T, T, need, error))
    return FALSE;
  for (i = 0; i < (n_frames > 1 ? 2 : 1); i++)
    if (!ib_cl_linear_scratch (y->qkv, m[i], need, error) ||
        !ib_cl_linear_scratch (y->proj, m[i], need, error) ||
        !ib_cl_linear_scratch (y->fc1, m[i], need, error) ||
        !ib_cl_linear_scratch (y->fc2, m[i], need, error))
      return FALSE;
  return TRUE;
}

/* The linear layer over the rows of @n frames of @T rows each, every
 * frame's rows bit for bit those of the frame alone (one product where the
 * backend's rows do not depend on their number, else one per frame). */
static void
linear_frames (IbClQueue *q, const IbClBuffer *a, const IbClWeight *w,
    const IbClBuffer *residual, IbClBuffer *c, int T, int n, gboolean gelu)
{
  int *rows = g_new (int, n);
  int f;

  for (f = 0; f < n; f++)
    rows[f] = T;
  if (gelu)
    ib_cl_linear_segments_gelu (q, a, w, c, rows, n);
  else
    ib_cl_linear_segments (q, a, w, residual, c, rows, n);
  g_free (rows);
}

static void
vit_block (const IbVit *vit, const VitLayer *y, IbClQueue *q, IbVitScratch *s,
    int n)
{
  const int T = vit->n_tokens, D = vit->cfg.hidden_dim;
  const int heads = vit->cfg.n_heads, rows = n * T;
  const float eps = (float) vit->cfg.layer_norm_eps;
  IbAttention att = { heads, D / heads, 1.0f / sqrtf ((float) (D / heads)),
    NULL, 0, NULL, -1, ib_cl_weight_get_storage (y->qkv) };
  int f;

  /* self-attention: x = x + proj(attn(LN1(x)))   qkv [n·T, 3D], the
   * attention frame by frame */
  ib_cl_layernorm (q, s->x, y->ln1_w, y->ln1_b, s->h, rows, D, eps);
  linear_frames (q, s->h, y->qkv, NULL, s->qkv, T, n, FALSE);
  for (f = 0; f < n; f++) {
    const gsize qkv = (gsize) f * T * 3 * D;
    ib_attention (q, &att, (IbClMatrix){ s->qkv, qkv, 3 * D, 0 },
        (IbClMatrix){ s->qkv, qkv + D, 3 * D, 0 },
        (IbClMatrix){ s->qkv, qkv + 2 * D, 3 * D, 0 }, T, T, s->scores,
        (IbClMatrix){ s->ctx, (gsize) f * T * D, D, 0 });
  }
  linear_frames (q, s->ctx, y->proj, s->x, s->x, T, n, FALSE);

  /* MLP: x = x + fc2(GELU(fc1(LN2(x))))   [n·T, F] */
  ib_cl_layernorm (q, s->x, y->ln2_w, y->ln2_b, s->h, rows, D, eps);
  linear_frames (q, s->h, y->fc1, NULL, s->mlp, T, n, TRUE);
  linear_frames (q, s->mlp, y->fc2, s->x, s->x, T, n, FALSE);
}

void
ib_vit_forward (const IbVit *vit, IbClQueue *q, IbVitScratch *s,
    const IbClBuffer *pixels, IbClBuffer *out, gsize out_offset)
{
  ib_vit_forward_many (vit, q, s, &pixels, 1, &out, &out_offset);
}

void
ib_vit_forward_many (const IbVit *vit, IbClQueue *q, IbVitScratch *s,
    const IbClBuffer *const *pixels, int n, IbClBuffer *const *out,
    const gsize *out_offset)
{
  const int T = vit->n_tokens, P = vit->n_patches, D = vit->cfg.hidden_dim;
  const int S = vit->cfg.image_size, p = vit->cfg.patch_size;
  int f, i;

  if (n < 1 || n > s->n_frames) {
    ib_cl_queue_take_error (q,
        g_error_new (IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
            "vision encoder: %d frames in one pass; its scratch holds %d", n,
            s->n_frames));
    return;
  }
  /* patch embedding, frame by frame: im2col [P, 3·p·p] · Wᵀ + b → rows
   * 1..P of the frame's rows of x, written to h first (row 0 is the class
   * token) */
  for (f = 0; f < n; f++) {
    const gsize row = (gsize) f * T;
    ib_cl_im2col_patch (q, pixels[f], s->cols, 3, S, S, p);
    ib_cl_linear_rows (q, s->cols, 0, vit->patch, NULL, s->h, f * T, P);
    ib_cl_copy_rows (q, vit->cls, 0, D, s->x, row * D, D, 1, D);
    ib_cl_copy_rows (q, s->h, row * D, D, s->x, (row + 1) * D, D, P, D);
    /* the positions of every frame, to be added at once */
    ib_cl_copy_rows (q, vit->pos, 0, D, s->ctx, row * D, D, T, D);
  }
  /* + absolute positions (row 0 = class token) */
  ib_cl_add (q, s->x, s->ctx, s->x, (gsize) n * T * D);

  for (i = 0; i < vit->cfg.n_layers; i++)
    vit_block (vit, &vit->layers[i], q, s, n);

  /* post LayerNorm (HF eps = layer_norm_eps) into the frames' slots */
  ib_cl_layernorm (q, s->x, vit->post_w, vit->post_b, s->h, n * T, D,
      (float) vit->cfg.layer_norm_eps);
  for (f = 0; f < n; f++)
    ib_cl_copy_rows (q, s->h, (gsize) f * T * D, D, out[f], out_offset[f], D, T,
        D);
}
