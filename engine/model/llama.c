/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LLaMA decoder forward pass on the device. */
#include "llama.h"

#include <math.h>
#include <string.h>

#include "attention.h"
#include "kvcache.h"
#include "kernel-defs.h" /* IB_ATT_ROW_* */
#include "ib-error.h"

typedef struct
{
  IbClBuffer *attn_norm; /* input_layernorm [H] */
  IbClWeight *qkv; /* q|k|v_proj fused [3H, H] */
  IbClWeight *o; /* o_proj [H, H] */
  IbClBuffer *mlp_norm; /* post_attention_layernorm [H] */
  IbClWeight *gate_up; /* gate|up_proj fused [2F, H] */
  IbClWeight *down; /* down_proj [H, F] */
} LlamaLayer;

struct _IbLlama
{
  IbTextConfig cfg;
  int H, F, V, hd;
  IbClBuffer *embed; /* embed_tokens [V, H], f32 or f16 */
  IbClDtype embed_dtype;
  LlamaLayer *layers;
  IbClBuffer *norm; /* model.norm [H] */
  IbClWeight *lm_head; /* [V, H] */
};

struct _IbLlamaState
{
  int n_ctx, n_beams;
  IbClBuffer *ids; /* [max(n_ctx, beams)] int32 */
  IbClBuffer *pos; /* [max(n_ctx, beams)] int32: each row's position (the
                    * batched steps') */
  IbClBuffer *x; /* [n_ctx, H] input / residual stream */
  IbClBuffer *h; /* [n_ctx, H] */
  IbClBuffer *qkv; /* [n_ctx, 3H] */
  IbClBuffer *scores; /* [heads, n_ctx, n_ctx] */
  IbClBuffer *ctx; /* [n_ctx, H] */
  IbClBuffer *gu; /* [n_ctx, 2F] */
  IbClBuffer *act; /* [n_ctx, F] */
  IbClBuffer *logits; /* [beams, V] */
  IbClBuffer *att; /* int32 [beams, IB_ATT_ROW_INTS]: the batched step's
                    * attention rows (ib_cl_attention_rows) */
  IbKvCache kv; /* per layer K, V [beams, n_ctx, H] */
  int n_layers;
};

#define LM "language_model."
#define LY LM "model.layers.%d."

static IbClWeight *
load_fused (IbLoader *l, int i, const char *a, const char *b, const char *c,
    GError **error)
{
  char *n0 = g_strdup_printf (LY "%s.weight", i, a);
  char *n1 = g_strdup_printf (LY "%s.weight", i, b);
  char *n2 = c ? g_strdup_printf (LY "%s.weight", i, c) : NULL;
  const char *ws[] = { n0, n1, n2, NULL };
  IbClWeight *w = ib_load_linear (l, ws, NULL, error);

  g_free (n0);
  g_free (n1);
  g_free (n2);
  return w;
}

IbLlama *
ib_llama_new (IbLoader *l, const IbTextConfig *cfg, GError **error)
{
  IbLlama *llm = g_new0 (IbLlama, 1);
  const char *head = LM "lm_head.weight";
  int i;

  llm->cfg = *cfg;
  llm->H = cfg->hidden_dim;
  llm->F = cfg->intermediate_dim;
  llm->V = cfg->vocab_size;
  llm->hd = cfg->head_dim;
  llm->embed_dtype = ib_load_table_dtype (l);
  llm->layers = g_new0 (LlamaLayer, cfg->n_layers);
  if (cfg->n_kv_heads != cfg->n_heads ||
      cfg->head_dim * cfg->n_heads != cfg->hidden_dim || cfg->attention_bias ||
      cfg->mlp_bias || cfg->act != IB_ACT_SILU) {
    g_set_error (error, IB_ERROR, IB_ERROR_UNSUPPORTED,
        "config.json: this LLaMA variant (grouped-query attention, head_dim "
        "* heads != hidden, biases or a non-SiLU MLP) is not supported");
    goto fail;
  }
  if (!(llm->embed = ib_load_table (l, LM "model.embed_tokens.weight", llm->V,
            llm->H, error)))
    goto fail;
  for (i = 0; i < cfg->n_layers; i++) {
    LlamaLayer *y = &llm->layers[i];
    if (!(y->attn_norm = ib_load_vector (l, llm->H, error,
              LY "input_layernorm.weight", i)) ||
        !(y->qkv = load_fused (l, i, "self_attn.q_proj", "self_attn.k_proj",
              "self_attn.v_proj", error)) ||
        !(y->o = ib_load_linear1 (l, FALSE, error, LY "self_attn.o_proj", i)) ||
        !(y->mlp_norm = ib_load_vector (l, llm->H, error,
              LY "post_attention_layernorm.weight", i)) ||
        !(y->gate_up = load_fused (l, i, "mlp.gate_proj", "mlp.up_proj", NULL,
              error)) ||
        !(y->down = ib_load_linear1 (l, FALSE, error, LY "mlp.down_proj", i)))
      goto fail;
  }
  if (!(llm->norm = ib_load_vector (l, llm->H, error, LM "model.norm.weight")))
    goto fail;
  /* a tied head reads the embedding matrix */
  if (ib_safetensors_get (l->st, head) == NULL && cfg->tie_word_embeddings)
    head = LM "model.embed_tokens.weight";
  {
    const char *ws[] = { head, NULL };
    if (!(llm->lm_head = ib_load_linear (l, ws, NULL, error)))
      goto fail;
  }
  return llm;

fail:
  ib_llama_free (llm);
  return NULL;
}

void
ib_llama_free (IbLlama *llm)
{
  int i;

  if (llm == NULL)
    return;
  for (i = 0; llm->layers && i < llm->cfg.n_layers; i++) {
    LlamaLayer *y = &llm->layers[i];
    ib_cl_buffer_free (y->attn_norm);
    ib_cl_weight_free (y->qkv);
    ib_cl_weight_free (y->o);
    ib_cl_buffer_free (y->mlp_norm);
    ib_cl_weight_free (y->gate_up);
    ib_cl_weight_free (y->down);
  }
  g_free (llm->layers);
  ib_cl_buffer_free (llm->embed);
  ib_cl_buffer_free (llm->norm);
  ib_cl_weight_free (llm->lm_head);
  g_free (llm);
}

int
ib_llama_get_vocab (const IbLlama *llm)
{
  return llm->V;
}

#define N_FIXED 11

/* @caches FALSE: a batched step's rows (n_ctx rows, n_beams logits rows),
 * whose attention scores are its sequences' own */
static void
state_sizes (const IbLlama *llm, int n_ctx, int n_beams, gboolean caches,
    gsize s[N_FIXED + 1])
{
  const gsize C = n_ctx, H = llm->H, F = llm->F;

  s[0] = MAX (C, (gsize) n_beams);
  s[1] = C * H;
  s[2] = C * H;
  s[3] = C * 3 * H;
  s[4] = caches ? (gsize) llm->cfg.n_heads * C * C : 1;
  s[5] = C * H;
  s[6] = C * 2 * F;
  s[7] = C * F;
  s[8] = (gsize) n_beams * llm->V;
  s[9] = MAX (C, (gsize) n_beams);
  s[10] = (gsize) n_beams * IB_ATT_ROW_INTS;
  s[11] = (gsize) n_beams * C * H; /* one K or V cache */
}

static gsize
footprint (const IbLlama *llm, const IbClDevice *dev, int n_ctx, int n_beams,
    gboolean caches)
{
  gsize s[N_FIXED + 1], total = 0;
  int i;

  state_sizes (llm, n_ctx, n_beams, caches, s);
  for (i = 0; i < N_FIXED; i++)
    total += ib_cl_arena_footprint (dev, s[i] * 4);
  if (caches)
    total += (2 * llm->cfg.n_layers + 1) *
        ib_cl_arena_footprint (dev, s[N_FIXED] * 4);
  return total;
}

gsize
ib_llama_state_footprint (const IbLlama *llm, const IbClDevice *dev, int n_ctx,
    int n_beams)
{
  return footprint (llm, dev, n_ctx, n_beams, TRUE);
}

gsize
ib_llama_rows_footprint (const IbLlama *llm, const IbClDevice *dev, int rows,
    int logit_rows)
{
  return footprint (llm, dev, rows, logit_rows, FALSE);
}

static IbLlamaState *
state_new (const IbLlama *llm, IbClArena *arena, int n_ctx, int n_beams,
    gboolean caches, GError **error)
{
  IbLlamaState *st = g_new0 (IbLlamaState, 1);
  IbClBuffer **slots[N_FIXED] = { &st->ids, &st->x, &st->h, &st->qkv,
    &st->scores, &st->ctx, &st->gu, &st->act, &st->logits, &st->pos, &st->att };
  gsize s[N_FIXED + 1];
  int i;

  st->n_ctx = n_ctx;
  st->n_beams = n_beams;
  st->n_layers = llm->cfg.n_layers;
  st->kv.n_layers = st->n_layers;
  st->kv.n_beams = n_beams;
  st->kv.beam_stride = (gsize) n_ctx * llm->H;
  st->kv.width = llm->H;
  st->kv.k = g_new0 (IbClBuffer *, st->n_layers);
  st->kv.v = g_new0 (IbClBuffer *, st->n_layers);
  state_sizes (llm, n_ctx, n_beams, caches, s);
  for (i = 0; i < N_FIXED; i++)
    if (!(*slots[i] = ib_cl_arena_alloc (arena, s[i] * 4, error)))
      goto fail;
  if (!caches)
    return st;
  if (!(st->kv.spare = ib_cl_arena_alloc (arena, s[N_FIXED] * 4, error)))
    goto fail;
  for (i = 0; i < st->n_layers; i++)
    if (!(st->kv.k[i] = ib_cl_arena_alloc (arena, s[N_FIXED] * 4, error)) ||
        !(st->kv.v[i] = ib_cl_arena_alloc (arena, s[N_FIXED] * 4, error)))
      goto fail;
  return st;

fail:
  ib_llama_state_free (st);
  return NULL;
}

IbLlamaState *
ib_llama_state_new (const IbLlama *llm, IbClArena *arena, int n_ctx,
    int n_beams, GError **error)
{
  return state_new (llm, arena, n_ctx, n_beams, TRUE, error);
}

IbLlamaState *
ib_llama_rows_new (const IbLlama *llm, IbClArena *arena, int rows,
    int logit_rows, GError **error)
{
  return state_new (llm, arena, rows, logit_rows, FALSE, error);
}

void
ib_llama_state_free (IbLlamaState *st)
{
  if (st == NULL)
    return;
  g_free (st->kv.k);
  g_free (st->kv.v);
  g_free (st);
}

IbClBuffer *
ib_llama_state_input (IbLlamaState *st)
{
  return st->x;
}

IbClBuffer *
ib_llama_state_logits (IbLlamaState *st)
{
  return st->logits;
}

void
ib_llama_embed (const IbLlama *llm, IbClQueue *q, IbLlamaState *st,
    const gint32 *ids, int n, int row)
{
  if (!ib_check_ids (q, ids, n, llm->V))
    return;
  if (row + n > st->n_ctx) {
    ib_cl_queue_take_error (q,
        g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
            "the prompt needs %d positions; the context holds %d", row + n,
            st->n_ctx));
    return;
  }
  /* the ids buffer is reused right away: upload synchronously */
  ib_cl_queue_upload (q, st->ids, 0, ids, (gsize) n * 4);
  ib_cl_embed (q, llm->embed, llm->embed_dtype, llm->V, st->ids, st->h, n,
      llm->H);
  ib_cl_copy_rows (q, st->h, 0, llm->H, st->x, (gsize) row * llm->H, llm->H, n,
      llm->H);
  ib_cl_queue_wait (q);
}

gboolean
ib_llama_product_scratch (const IbLlama *llm, IbClDevice *dev, int n_ctx,
    int n_beams, gsize *need, GError **error)
{
  const LlamaLayer *y = &llm->layers[0];
  const int rows = MAX (n_ctx, n_beams);
  IbAttention att = { llm->cfg.n_heads, llm->hd, 1.0f / sqrtf ((float) llm->hd),
    NULL, 0, NULL, 0, ib_cl_weight_get_storage (y->qkv) };
  IbAttention dec = att;

  dec.precision = IB_CL_DTYPE_F32; /* see attention_block */
  return ib_cl_linear_scratch (y->qkv, rows, need, error) &&
      ib_cl_linear_scratch (y->o, rows, need, error) &&
      ib_cl_linear_scratch (y->gate_up, rows, need, error) &&
      ib_cl_linear_scratch (y->down, rows, need, error) &&
      ib_cl_linear_scratch (llm->lm_head, n_beams, need, error) &&
      ib_attention_scratch (dev, &att, n_ctx, n_ctx, need, error) &&
      ib_attention_scratch (dev, &dec, 1, n_ctx, need, error);
}

/* attention_rows' scores (ib_cl_attention_rows) */
static gboolean
rows_attention_scratch (const IbLlama *llm, int rows, int n_ctx, gsize *need)
{
  ib_cl_attention_rows_scratch (rows, llm->cfg.n_heads, n_ctx, need);
  return TRUE;
}

gboolean
ib_llama_rows_scratch (const IbLlama *llm, IbClDevice *dev, int rows, int n_ctx,
    int prompt_rows, gsize *need, GError **error)
{
  const LlamaLayer *y = &llm->layers[0];
  IbAttention dec = { llm->cfg.n_heads, llm->hd, 1.0f / sqrtf ((float) llm->hd),
    NULL, 0, NULL, 0, IB_CL_DTYPE_F32 };
  IbAttention pre = dec;

  /* the prompts' attention as ib_llama_prefill's (attention_block) */
  pre.precision = ib_cl_weight_get_storage (y->qkv);
  /* ib_cl_linear_segments: every segment at most @rows rows */
  return ib_cl_linear_scratch (y->qkv, rows, need, error) &&
      ib_cl_linear_scratch (y->o, rows, need, error) &&
      ib_cl_linear_scratch (y->gate_up, rows, need, error) &&
      ib_cl_linear_scratch (y->down, rows, need, error) &&
      ib_cl_linear_scratch (llm->lm_head, rows, need, error) &&
      ib_attention_scratch (dev, &dec, 1, n_ctx, need, error) &&
      rows_attention_scratch (llm, rows, n_ctx, need) &&
      (prompt_rows <= 0 ||
          ib_attention_scratch (dev, &pre, prompt_rows, prompt_rows, need,
              error));
}

/* One decoder layer over @n rows of st->x, which sit at positions
 * pos0 .. pos0+n-1 of beam @beam (prefill: n tokens of beam 0; decode: one
 * row per beam, called with n = 1 per beam row through @row). */
static void
attention_block (const IbLlama *llm, const LlamaLayer *y, int layer,
    IbClQueue *q, IbLlamaState *st, int rows, int pos0, gboolean decode)
{
  const int H = llm->H, heads = llm->cfg.n_heads, hd = llm->hd;
  const gsize beam_stride = (gsize) st->n_ctx * H;
  /* decode's products (one query row per beam) stay OpenCL kernels: no
   * synchronisation inside a step */
  IbAttention att = { heads, hd, 1.0f / sqrtf ((float) hd), NULL, 0, NULL,
    decode ? -1 : pos0,
    decode ? IB_CL_DTYPE_F32 : ib_cl_weight_get_storage (y->qkv) };
  int b;

  /* h = RMSNorm(x); q|k|v = h W   [rows, 3H] */
  ib_cl_rmsnorm (q, st->x, y->attn_norm, st->h, rows, H,
      (float) llm->cfg.norm_eps);
  ib_cl_linear (q, st->h, y->qkv, NULL, st->qkv, rows);

  if (!decode) {
    /* prefill (beam 0): rotate q and k, append k, v to the cache, causal
     * attention over positions 0 .. pos0 + r */
    ib_cl_rope (q, st->qkv, 0, rows, heads, hd, 3 * H, pos0,
        (float) llm->cfg.rope_theta);
    ib_cl_rope (q, st->qkv, H, rows, heads, hd, 3 * H, pos0,
        (float) llm->cfg.rope_theta);
    ib_cl_copy_rows (q, st->qkv, H, 3 * H, st->kv.k[layer], (gsize) pos0 * H, H,
        rows, H);
    ib_cl_copy_rows (q, st->qkv, 2 * H, 3 * H, st->kv.v[layer],
        (gsize) pos0 * H, H, rows, H);
    ib_attention (q, &att, (IbClMatrix){ st->qkv, 0, 3 * H, 0 },
        (IbClMatrix){ st->kv.k[layer], 0, H, 0 },
        (IbClMatrix){ st->kv.v[layer], 0, H, 0 }, rows, pos0 + rows, st->scores,
        (IbClMatrix){ st->ctx, 0, H, 0 });
  } else {
    /* decode: row b is beam b's token at position pos0 */
    for (b = 0; b < rows; b++) {
      gsize r = (gsize) b * 3 * H, c = b * beam_stride + (gsize) pos0 * H;
      ib_cl_rope (q, st->qkv, r, 1, heads, hd, 3 * H, pos0,
          (float) llm->cfg.rope_theta);
      ib_cl_rope (q, st->qkv, r + H, 1, heads, hd, 3 * H, pos0,
          (float) llm->cfg.rope_theta);
      ib_cl_copy_rows (q, st->qkv, r + H, 3 * H, st->kv.k[layer], c, H, 1, H);
      ib_cl_copy_rows (q, st->qkv, r + 2 * H, 3 * H, st->kv.v[layer], c, H, 1,
          H);
      ib_attention (q, &att, (IbClMatrix){ st->qkv, r, 3 * H, 0 },
          (IbClMatrix){ st->kv.k[layer], b * beam_stride, H, 0 },
          (IbClMatrix){ st->kv.v[layer], b * beam_stride, H, 0 }, 1, pos0 + 1,
          st->scores, (IbClMatrix){ st->ctx, (gsize) b * H, H, 0 });
    }
  }
  /* x = x + ctx Wo */
  ib_cl_linear (q, st->ctx, y->o, st->x, st->x, rows);
}

static void
mlp_block (const IbLlama *llm, const LlamaLayer *y, IbClQueue *q,
    IbLlamaState *st, int rows)
{
  /* x = x + down(SiLU(gate(h)) · up(h)),  h = RMSNorm(x)   [rows, F] */
  ib_cl_rmsnorm (q, st->x, y->mlp_norm, st->h, rows, llm->H,
      (float) llm->cfg.norm_eps);
  ib_cl_linear (q, st->h, y->gate_up, NULL, st->gu, rows);
  ib_cl_gated (q, IB_CL_ACT_SILU, st->gu, st->act, rows, llm->F);
  ib_cl_linear (q, st->act, y->down, st->x, st->x, rows);
}

void
ib_llama_prefill (const IbLlama *llm, IbClQueue *q, IbLlamaState *st, int n)
{
  int i;

  if (n <= 0 || n > st->n_ctx) {
    ib_cl_queue_take_error (q,
        g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
            "prefill of %d positions; the context holds %d", n, st->n_ctx));
    return;
  }
  for (i = 0; i < llm->cfg.n_layers; i++) {
    attention_block (llm, &llm->layers[i], i, q, st, n, 0, FALSE);
    mlp_block (llm, &llm->layers[i], q, st, n);
  }
  /* logits of the last position only: RMSNorm, lm_head */
  ib_cl_copy_rows (q, st->x, (gsize) (n - 1) * llm->H, llm->H, st->x, 0, llm->H,
      1, llm->H);
  ib_cl_rmsnorm (q, st->x, llm->norm, st->h, 1, llm->H,
      (float) llm->cfg.norm_eps);
  ib_cl_linear (q, st->h, llm->lm_head, NULL, st->logits, 1);
}

void
ib_llama_decode (const IbLlama *llm, IbClQueue *q, IbLlamaState *st,
    const gint32 *ids, int n_beams, int pos)
{
  int i;

  if (n_beams > st->n_beams || pos >= st->n_ctx) {
    ib_cl_queue_take_error (q,
        g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
            "decode at position %d with %d beams; the state holds %d "
            "positions and %d beams",
            pos, n_beams, st->n_ctx, st->n_beams));
    return;
  }
  if (!ib_check_ids (q, ids, n_beams, llm->V))
    return;
  ib_cl_queue_upload (q, st->ids, 0, ids, (gsize) n_beams * 4);
  ib_cl_embed (q, llm->embed, llm->embed_dtype, llm->V, st->ids, st->x, n_beams,
      llm->H);
  for (i = 0; i < llm->cfg.n_layers; i++) {
    attention_block (llm, &llm->layers[i], i, q, st, n_beams, pos, TRUE);
    mlp_block (llm, &llm->layers[i], q, st, n_beams);
  }
  ib_cl_rmsnorm (q, st->x, llm->norm, st->h, n_beams, llm->H,
      (float) llm->cfg.norm_eps);
  ib_cl_linear (q, st->h, llm->lm_head, NULL, st->logits, n_beams);
}

static float
att_scale (const IbLlama *llm)
{
  return 1.0f / sqrtf ((float) llm->hd);
}

/* The self-attention of the rows of several sequences in their own caches
 * (@att: the rows' table, uploaded to st->att), IB_ATT_MAX_SEQS sequences
 * per launch, each row's new key and value appended by the launch. */
static void
attention_rows (const IbLlama *llm, int layer, IbClQueue *q, IbLlamaState *st,
    const IbLlamaSeq *seqs, int n, const gint32 *att)
{
  const int H = llm->H;
  int s0, s, row = 0;

  for (s0 = 0; s0 < n; s0 += IB_ATT_MAX_SEQS) {
    IbClAttentionRows ar = { { NULL } };
    int rows = 0;
    ar.n_seqs = MIN (n - s0, IB_ATT_MAX_SEQS);
    for (s = 0; s < ar.n_seqs; s++) {
      ar.k[s] = seqs[s0 + s].st->kv.k[layer];
      ar.v[s] = seqs[s0 + s].st->kv.v[layer];
      rows += seqs[s0 + s].n_beams;
    }
    ar.kv_ld = H;
    ar.table = st->att;
    ar.host_table = att;
    ar.table_row = row;
    ar.n_heads = llm->cfg.n_heads;
    ar.head_dim = llm->hd;
    ar.scale = att_scale (llm);
    ar.append_k = H;
    ar.append_v = 2 * H;
    ib_cl_attention_rows (q, &ar,
        (IbClMatrix){ st->qkv, (gsize) row * 3 * H, 3 * H, 0 }, rows,
        (IbClMatrix){ st->ctx, (gsize) row * H, H, 0 });
    row += rows;
  }
}

/* ib_llama_decode's layer on the rows of several sequences, and
 * ib_llama_prefill's on the rows of several prompts after them: products
 * over all rows, attention of each beam row in its sequence's cache (@att
 * non-NULL: attention_rows; NULL: ib_attention per row) and of each prompt
 * in its own (causal, as ib_llama_prefill's). */
static void
layer_many (const IbLlama *llm, const LlamaLayer *y, int layer, IbClQueue *q,
    IbLlamaState *st, const IbLlamaSeq *seqs, int n,
    const IbLlamaPrompt *prompts, int n_prompts, const int *seg, int rows,
    const gint32 *att)
{
  const int H = llm->H, heads = llm->cfg.n_heads, hd = llm->hd;
  const int n_seg = n + n_prompts;
  IbAttention a = { heads, hd, att_scale (llm), NULL, 0, NULL, -1 };
  IbAttention pre = { heads, hd, att_scale (llm), NULL, 0, NULL, 0,
    ib_cl_weight_get_storage (y->qkv) };
  int s, b, row = 0;

  ib_cl_rmsnorm (q, st->x, y->attn_norm, st->h, rows, H,
      (float) llm->cfg.norm_eps);
  ib_cl_linear_segments (q, st->h, y->qkv, NULL, st->qkv, seg, n_seg);
  /* the queries and keys of every row, each at its position (q and k are
   * the first 2H of a row: 2·heads heads) */
  ib_cl_rope_rows (q, st->qkv, 0, rows, 2 * heads, hd, 3 * H, st->pos,
      (float) llm->cfg.rope_theta);
  if (att) {
    attention_rows (llm, layer, q, st, seqs, n, att);
    for (s = 0; s < n; s++)
      row += seqs[s].n_beams;
  }
  for (s = 0; s < n && att == NULL; s++) {
    const IbLlamaSeq *sq = &seqs[s];
    const gsize beam_stride = (gsize) sq->st->n_ctx * H;
    const gsize r0 = (gsize) row * 3 * H, c0 = (gsize) sq->pos * H;
    /* the keys and values of the sequence's beams into their caches (beam
     * b's at b · beam_stride): one copy each */
    ib_cl_copy_rows (q, st->qkv, r0 + H, 3 * H, sq->st->kv.k[layer], c0,
        (int) beam_stride, sq->n_beams, H);
    ib_cl_copy_rows (q, st->qkv, r0 + 2 * H, 3 * H, sq->st->kv.v[layer], c0,
        (int) beam_stride, sq->n_beams, H);
    for (b = 0; b < sq->n_beams; b++, row++) {
      gsize r = (gsize) row * 3 * H;
      ib_attention (q, &a, (IbClMatrix){ st->qkv, r, 3 * H, 0 },
          (IbClMatrix){ sq->st->kv.k[layer], b * beam_stride, H, 0 },
          (IbClMatrix){ sq->st->kv.v[layer], b * beam_stride, H, 0 }, 1,
          sq->pos + 1, sq->st->scores,
          (IbClMatrix){ st->ctx, (gsize) row * H, H, 0 });
    }
  }
  for (s = 0; s < n_prompts; row += seg[n + s], s++) {
    IbLlamaState *ps = prompts[s].st;
    const int len = seg[n + s];
    const gsize r0 = (gsize) row * 3 * H;
    /* beam 0's cache from position 0, as ib_llama_prefill's */
    ib_cl_copy_rows (q, st->qkv, r0 + H, 3 * H, ps->kv.k[layer], 0, H, len, H);
    ib_cl_copy_rows (q, st->qkv, r0 + 2 * H, 3 * H, ps->kv.v[layer], 0, H, len,
        H);
    ib_attention (q, &pre, (IbClMatrix){ st->qkv, r0, 3 * H, 0 },
        (IbClMatrix){ ps->kv.k[layer], 0, H, 0 },
        (IbClMatrix){ ps->kv.v[layer], 0, H, 0 }, len, len, ps->scores,
        (IbClMatrix){ st->ctx, (gsize) row * H, H, 0 });
  }
  ib_cl_linear_segments (q, st->ctx, y->o, st->x, st->x, seg, n_seg);
  /* the MLP */
  ib_cl_rmsnorm (q, st->x, y->mlp_norm, st->h, rows, H,
      (float) llm->cfg.norm_eps);
  ib_cl_linear_segments (q, st->h, y->gate_up, NULL, st->gu, seg, n_seg);
  ib_cl_gated (q, IB_CL_ACT_SILU, st->gu, st->act, rows, llm->F);
  ib_cl_linear_segments (q, st->act, y->down, st->x, st->x, seg, n_seg);
}

/* Checks the step's sequences and prompts against their states and @rows;
 * their rows into @seg, the total into *@total, the logits rows into
 * *@logit_rows. */
static gboolean
check_many (const IbLlama *llm, IbClQueue *q, const IbLlamaState *rows,
    const IbLlamaSeq *seqs, int n, const IbLlamaPrompt *prompts, int n_prompts,
    int *seg, int *total, int *logit_rows)
{
  int s;

  *total = *logit_rows = 0;
  for (s = 0; s < n; s++) {
    const IbLlamaSeq *sq = &seqs[s];
    if (sq->n_beams > sq->st->n_beams || sq->pos >= sq->st->n_ctx ||
        sq->st->kv.spare == NULL) {
      ib_cl_queue_take_error (q,
          g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
              "batched decode: sequence %d at position %d with %d beams; "
              "its state holds %d positions and %d beams",
              s, sq->pos, sq->n_beams, sq->st->n_ctx, sq->st->n_beams));
      return FALSE;
    }
    if (!ib_check_ids (q, sq->ids, sq->n_beams, llm->V))
      return FALSE;
    seg[s] = sq->n_beams;
    *total += sq->n_beams;
  }
  *logit_rows = *total;
  for (s = 0; s < n_prompts; s++) {
    const IbLlamaPrompt *p = &prompts[s];
    const int len = p->first_id_row + p->n_ids;
    if (p->n_soft > len || p->n_ids < 0 || len < 1 || len > p->st->n_ctx ||
        p->st->kv.spare == NULL) {
      ib_cl_queue_take_error (q,
          g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
              "batched prefill: prompt %d of %d positions (%d soft); its "
              "state holds %d positions",
              s, len, p->n_soft, p->st->n_ctx));
      return FALSE;
    }
    if (!ib_check_ids (q, p->ids, p->n_ids, llm->V))
      return FALSE;
    seg[n + s] = len;
    *total += len;
    (*logit_rows)++;
  }
  if (*total > rows->n_ctx || *logit_rows > rows->n_beams) {
    ib_cl_queue_take_error (q,
        g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
            "batched step of %d rows (%d with logits); the batch holds %d "
            "(%d)",
            *total, *logit_rows, rows->n_ctx, rows->n_beams));
    return FALSE;
  }
  return TRUE;
}

void
ib_llama_step_many (const IbLlama *llm, IbClQueue *q, IbLlamaState *rows,
    const IbLlamaSeq *seqs, int n, const IbLlamaPrompt *prompts, int n_prompts)
{
  const int H = llm->H;
  int *seg = g_new (int, MAX (n + n_prompts, 1));
  int *lseg = NULL;
  gint32 *ids = NULL, *pos = NULL, *att = NULL;
  int s, total, logit_rows, i, b, row;

  if (!check_many (llm, q, rows, seqs, n, prompts, n_prompts, seg, &total,
          &logit_rows) ||
      total == 0)
    goto out;
  /* every row's id (a prompt's soft rows: 0, replaced below) and position:
   * the decoding rows first, then each prompt's from position 0 */
  ids = g_new0 (gint32, total);
  pos = g_new (gint32, total);
  for (s = 0, row = 0; s < n; row += seqs[s].n_beams, s++) {
    memcpy (ids + row, seqs[s].ids, sizeof (gint32) * seqs[s].n_beams);
    for (b = 0; b < seqs[s].n_beams; b++)
      pos[row + b] = seqs[s].pos;
  }
  for (s = 0; s < n_prompts; row += seg[n + s], s++) {
    memcpy (ids + row + prompts[s].first_id_row, prompts[s].ids,
        sizeof (gint32) * prompts[s].n_ids);
    for (i = 0; i < seg[n + s]; i++)
      pos[row + i] = i;
  }
  /* waited for below: ids and pos are freed at the end */
  ib_cl_queue_upload (q, rows->ids, 0, ids, (gsize) total * 4);
  ib_cl_queue_upload (q, rows->pos, 0, pos, (gsize) total * 4);
  if (ib_attention_rows_supported (q)) {
    /* row r: beam b of its sequence, keys 0 .. pos at b · beam_stride */
    att = g_new0 (gint32, (gsize) total * IB_ATT_ROW_INTS);
    for (s = 0, row = 0; s < n; row += seqs[s].n_beams, s++)
      for (b = 0; b < seqs[s].n_beams; b++) {
        gint32 *e = att + (gsize) (row + b) * IB_ATT_ROW_INTS;
        e[IB_ATT_ROW_K] = e[IB_ATT_ROW_V] =
            (gint32) (b * seqs[s].st->kv.beam_stride);
        e[IB_ATT_ROW_LEN] = seqs[s].pos + 1;
        e[IB_ATT_ROW_SEQ] = s % IB_ATT_MAX_SEQS;
      }
    ib_cl_queue_upload (q, rows->att, 0, att,
        (gsize) MAX (row, 1) * IB_ATT_ROW_INTS * 4);
  }
  ib_cl_embed (q, llm->embed, llm->embed_dtype, llm->V, rows->ids, rows->x,
      total, H);
  /* the soft tokens take each prompt's first rows (ib_context's prefill:
   * HF placeholder rows or prepended) */
  for (s = 0, row = logit_rows - n_prompts; s < n_prompts;
       row += seg[n + s], s++)
    ib_cl_copy_rows (q, prompts[s].soft, 0, H, rows->x, (gsize) row * H, H,
        prompts[s].n_soft, H);
  ib_cl_queue_wait (q);
  for (i = 0; i < llm->cfg.n_layers; i++)
    layer_many (llm, &llm->layers[i], i, q, rows, seqs, n, prompts, n_prompts,
        seg, total, att);
  /* logits of every decoding row and of each prompt's last position (moved
   * up to the row after the previous one's: a row not read any more) */
  lseg = g_new (int, MAX (n + n_prompts, 1));
  memcpy (lseg, seg, sizeof (int) * n);
  for (s = 0, row = logit_rows - n_prompts; s < n_prompts;
       row += seg[n + s], s++) {
    const int to = logit_rows - n_prompts + s, last = row + seg[n + s] - 1;
    if (last != to)
      ib_cl_copy_rows (q, rows->x, (gsize) last * H, H, rows->x, (gsize) to * H,
          H, 1, H);
    lseg[n + s] = 1;
  }
  ib_cl_rmsnorm (q, rows->x, llm->norm, rows->h, logit_rows, H,
      (float) llm->cfg.norm_eps);
  ib_cl_linear_segments (q, rows->h, llm->lm_head, NULL, rows->logits, lseg,
      n + n_prompts);
out:
  g_free (att);
  g_free (lseg);
  g_free (pos);
  g_free (ids);
  g_free (seg);
}

void
ib_llama_decode_many (const IbLlama *llm, IbClQueue *q, IbLlamaState *rows,
    const IbLlamaSeq *seqs, int n)
{
  ib_llama_step_many (llm, q, rows, seqs, n, NULL, 0);
}

void
ib_llama_reorder (const IbLlama *llm, IbClQueue *q, IbLlamaState *st,
    const int *src, int n_beams, int len)
{
  (void) llm; /* the caches know their shapes */
  ib_kv_cache_reorder (q, &st->kv, src, n_beams, len);
}
