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

/* sizes in floats of the scratch tensors, in struct order */
static void
scratch_sizes (const IbVit *vit, gsize sizes[7])
{
  const gsize T = vit->n_tokens, D = vit->cfg.hidden_dim;
  const gsize p = vit->cfg.patch_size;

  sizes[0] = vit->n_patches * 3 * p * p;
  sizes[1] = T * D;
  sizes[2] = T * D;
  sizes[3] = T * 3 * D;
  sizes[4] = vit->cfg.n_heads * T * T;
  sizes[5] = T * D;
  sizes[6] = T * vit->cfg.intermediate_dim;
}

gsize
ib_vit_scratch_footprint (const IbVit *vit, const IbClDevice *dev)
{
  gsize sizes[7], total = 0;
  int i;

  scratch_sizes (vit, sizes);
  for (i = 0; i < 7; i++)
    total += ib_cl_arena_footprint (dev, sizes[i] * 4);
  return total;
}

IbVitScratch *
ib_vit_scratch_new (const IbVit *vit, IbClArena *arena, GError **error)
{
  IbVitScratch *s = g_new0 (IbVitScratch, 1);
  IbClBuffer **slots[7] = { &s->cols, &s->x, &s->h, &s->qkv, &s->scores,
    &s->ctx, &s->mlp };
  gsize sizes[7];
  int i;

  scratch_sizes (vit, sizes);
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
  const int T = vit->n_tokens, D = vit->cfg.hidden_dim;
  const int heads = vit->cfg.n_heads;
  const VitLayer *y = &vit->layers[0]; /* every layer has its shapes */
  IbAttention att = { heads, D / heads, 1.0f / sqrtf ((float) (D / heads)),
    NULL, 0, NULL, -1, ib_cl_weight_get_storage (y->qkv) };

  return ib_cl_linear_scratch (vit->patch, vit->n_patches, need, error) &&
      ib_cl_linear_scratch (y->qkv, T, need, error) &&
      ib_cl_linear_scratch (y->proj, T, need, error) &&
      ib_cl_linear_scratch (y->fc1, T, need, error) &&
      ib_cl_linear_scratch (y->fc2, T, need, error) &&
      ib_attention_scratch (dev, &att, T, T, need, error);
}

static void
vit_block (const IbVit *vit, const VitLayer *y, IbClQueue *q, IbVitScratch *s)
{
  const int T = vit->n_tokens, D = vit->cfg.hidden_dim;
  const int heads = vit->cfg.n_heads;
  const float eps = (float) vit->cfg.layer_norm_eps;
  IbAttention att = { heads, D / heads, 1.0f / sqrtf ((float) (D / heads)),
    NULL, 0, NULL, -1, ib_cl_weight_get_storage (y->qkv) };

  /* self-attention: x = x + proj(attn(LN1(x)))   qkv [T, 3D] */
  ib_cl_layernorm (q, s->x, y->ln1_w, y->ln1_b, s->h, T, D, eps);
  ib_cl_linear (q, s->h, y->qkv, NULL, s->qkv, T);
  ib_attention (q, &att, (IbClMatrix){ s->qkv, 0, 3 * D, 0 },
      (IbClMatrix){ s->qkv, D, 3 * D, 0 },
      (IbClMatrix){ s->qkv, 2 * D, 3 * D, 0 }, T, T, s->scores,
      (IbClMatrix){ s->ctx, 0, D, 0 });
  ib_cl_linear (q, s->ctx, y->proj, s->x, s->x, T);

  /* MLP: x = x + fc2(GELU(fc1(LN2(x))))   [T, F] */
  ib_cl_layernorm (q, s->x, y->ln2_w, y->ln2_b, s->h, T, D, eps);
  ib_cl_linear (q, s->h, y->fc1, NULL, s->mlp, T);
  ib_cl_activate (q, IB_CL_ACT_GELU, s->mlp, s->mlp,
      (gsize) T * vit->cfg.intermediate_dim);
  ib_cl_linear (q, s->mlp, y->fc2, s->x, s->x, T);
}

void
ib_vit_forward (const IbVit *vit, IbClQueue *q, IbVitScratch *s,
    const IbClBuffer *pixels, IbClBuffer *out, gsize out_offset)
{
  const int T = vit->n_tokens, P = vit->n_patches, D = vit->cfg.hidden_dim;
  const int S = vit->cfg.image_size, p = vit->cfg.patch_size;
  int i;

  /* patch embedding: im2col [P, 3·p·p] · Wᵀ + b → rows 1..P of x, written
   * to h first (x row 0 is the class token) */
  ib_cl_im2col_patch (q, pixels, s->cols, 3, S, S, p);
  ib_cl_linear (q, s->cols, vit->patch, NULL, s->h, P);
  ib_cl_copy_rows (q, vit->cls, 0, D, s->x, 0, D, 1, D);
  ib_cl_copy_rows (q, s->h, 0, D, s->x, D, D, P, D);
  /* + absolute positions (row 0 = class token) */
  ib_cl_add (q, s->x, vit->pos, s->x, (gsize) T * D);

  for (i = 0; i < vit->cfg.n_layers; i++)
    vit_block (vit, &vit->layers[i], q, s);

  /* post LayerNorm (HF eps = layer_norm_eps) into the frame's slot */
  ib_cl_layernorm (q, s->x, vit->post_w, vit->post_b, s->h, T, D,
      (float) vit->cfg.layer_norm_eps);
  ib_cl_copy_rows (q, s->h, 0, D, out, out_offset, D, T, D);
}
