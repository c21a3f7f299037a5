/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Flan-T5 forward passes on the device. */
#include "t5.h"

#include <math.h>
#include <string.h>

#include "attention.h"
#include "kvcache.h"
#include "kernel-defs.h" /* IB_ATT_ROW_* */
#include "ib-error.h"

typedef struct
{
  IbClBuffer *ln; /* layer_norm [d] */
  IbClWeight *qkv; /* q|k|v fused [3I, d], I = heads·d_kv */
  IbClWeight *o; /* [d, I] */
} SelfAttn;

typedef struct
{
  IbClBuffer *ln; /* layer_norm [d] */
  IbClWeight *q; /* [I, d] */
  IbClWeight *kv; /* k|v fused [2I, d], applied to the encoder
                                 * output once per question */
  IbClWeight *o; /* [d, I] */
} CrossAttn;

typedef struct
{
  IbClBuffer *ln; /* layer_norm [d] */
  IbClWeight *wi; /* wi_0|wi_1 fused [2F, d] */
  IbClWeight *wo; /* [d, F] */
} Ffn;

typedef struct
{
  SelfAttn self;
  CrossAttn cross; /* decoder only */
  Ffn ffn;
} T5Block;

struct _IbT5
{
  IbTextConfig cfg;
  int d, inner, F, V, heads, dkv;
  IbClBuffer *shared; /* [V, d] f32 or f16 */
  IbClDtype shared_dtype;
  T5Block *enc, *dec;
  IbClBuffer *enc_bias_table; /* [buckets, heads] */
  IbClBuffer *dec_bias_table;
  IbClBuffer *enc_norm, *dec_norm; /* final_layer_norm [d] */
  IbClWeight *lm_head; /* [V, d] */
};

struct _IbT5State
{
  int n_enc_max, n_dec, n_beams, n_enc;
  IbClBuffer *ids; /* int32 [max(n_enc, beams)] */
  IbClBuffer *x; /* [n_enc, d] encoder stream; decode rows */
  IbClBuffer *h; /* [n_enc, d] */
  IbClBuffer *qkv; /* [n_enc, 3I] */
  IbClBuffer *scores; /* [heads, n_enc, max(n_enc, n_dec)] */
  IbClBuffer *bias; /* [heads, n_enc, n_enc] position bias */
  IbClBuffer *ctx; /* [n_enc, I] */
  IbClBuffer *ff; /* [n_enc, 2F] */
  IbClBuffer *act; /* [n_enc, F] */
  IbClBuffer *enc_out; /* [n_enc, d] */
  IbClBuffer *logits; /* [beams, V] */
  IbClBuffer *att; /* int32 [2, beams, IB_ATT_ROW_INTS]: the batched step's
                    * self- and cross-attention rows (ib_cl_attention_rows) */
  IbClBuffer **ckv; /* per decoder layer [n_enc, 2I] */
  IbKvCache kv; /* per decoder layer K, V [beams, n_dec, I] */
  int n_dec_layers;
};

#define LM "language_model."

static IbClWeight *
load_fused (IbLoader *l, const char *prefix, const char *const *parts,
    GError **error)
{
  char *names[4] = { NULL, NULL, NULL, NULL };
  IbClWeight *w;
  int i;

  for (i = 0; parts[i]; i++)
    names[i] = g_strdup_printf ("%s%s.weight", prefix, parts[i]);
  w = ib_load_linear (l, (const char *const *) names, NULL, error);
  for (i = 0; i < 4; i++)
    g_free (names[i]);
  return w;
}

static gboolean
load_block (IbLoader *l, const char *stack, int i, gboolean decoder, T5Block *b,
    int d, GError **error)
{
  static const char *const qkv[] = { "q", "k", "v", NULL };
  static const char *const kv[] = { "k", "v", NULL };
  static const char *const wi[] = { "wi_0", "wi_1", NULL };
  char *p = g_strdup_printf (LM "%s.block.%d.layer.", stack, i);
  char *sa = g_strconcat (p, "0.SelfAttention.", NULL);
  char *ca = g_strconcat (p, "1.EncDecAttention.", NULL);
  char *ff = g_strdup_printf ("%s%d.DenseReluDense.", p, decoder ? 2 : 1);
  gboolean ok;

  ok =
      (b->self.ln = ib_load_vector (l, d, error, "%s0.layer_norm.weight", p)) &&
      (b->self.qkv = load_fused (l, sa, qkv, error)) &&
      (b->self.o = ib_load_linear1 (l, FALSE, error, "%so", sa)) &&
      (b->ffn.ln = ib_load_vector (l, d, error, "%s%d.layer_norm.weight", p,
           decoder ? 2 : 1)) &&
      (b->ffn.wi = load_fused (l, ff, wi, error)) &&
      (b->ffn.wo = ib_load_linear1 (l, FALSE, error, "%swo", ff));
  if (ok && decoder)
    ok = (b->cross.ln =
                 ib_load_vector (l, d, error, "%s1.layer_norm.weight", p)) &&
        (b->cross.q = ib_load_linear1 (l, FALSE, error, "%sq", ca)) &&
        (b->cross.kv = load_fused (l, ca, kv, error)) &&
        (b->cross.o = ib_load_linear1 (l, FALSE, error, "%so", ca));
  g_free (p);
  g_free (sa);
  g_free (ca);
  g_free (ff);
  return ok;
}

IbT5 *
ib_t5_new (IbLoader *l, const IbTextConfig *cfg, GError **error)
{
  IbT5 *t5 = g_new0 (IbT5, 1);
  const char *head = LM "lm_head.weight";
  const gsize table =
      (gsize) cfg->relative_attention_num_buckets * cfg->n_heads;
  int i;

  t5->cfg = *cfg;
  t5->d = cfg->hidden_dim;
  t5->heads = cfg->n_heads;
  t5->dkv = cfg->head_dim;
  t5->inner = t5->heads * t5->dkv;
  t5->F = cfg->intermediate_dim;
  t5->V = cfg->vocab_size;
  t5->shared_dtype = ib_load_table_dtype (l);
  t5->enc = g_new0 (T5Block, cfg->n_layers);
  t5->dec = g_new0 (T5Block, cfg->n_decoder_layers);
  if (!cfg->gated_ffn || cfg->act != IB_ACT_GELU) {
    g_set_error (error, IB_ERROR, IB_ERROR_UNSUPPORTED,
        "config.json: T5 feed-forward \"%s%s\" is not supported; InstructBLIP "
        "checkpoints use gated exact GELU (dense_act_fn \"gelu\")",
        cfg->gated_ffn ? "gated-" : "", ib_activation_name (cfg->act));
    goto fail;
  }
  if (cfg->scale_decoder_outputs) {
    /* TODO: tied T5 heads scale the decoder output by d_model^-0.5; no
     * InstructBLIP checkpoint ties them, so this waits for a use. */
    g_set_error (error, IB_ERROR, IB_ERROR_UNSUPPORTED,
        "config.json: T5 with a tied lm_head (scale_decoder_outputs) is not "
        "supported; InstructBLIP-FlanT5 checkpoints have an untied head");
    goto fail;
  }
  if (!(t5->shared =
              ib_load_table (l, LM "shared.weight", t5->V, t5->d, error)) ||
      !(t5->enc_bias_table = ib_load_vector (l, table, error,
            LM "encoder.block.0.layer.0.SelfAttention."
               "relative_attention_bias.weight")) ||
      !(t5->dec_bias_table = ib_load_vector (l, table, error,
            LM "decoder.block.0.layer.0.SelfAttention."
               "relative_attention_bias.weight")))
    goto fail;
  for (i = 0; i < cfg->n_layers; i++)
    if (!load_block (l, "encoder", i, FALSE, &t5->enc[i], t5->d, error))
      goto fail;
  for (i = 0; i < cfg->n_decoder_layers; i++)
    if (!load_block (l, "decoder", i, TRUE, &t5->dec[i], t5->d, error))
      goto fail;
  if (!(t5->enc_norm = ib_load_vector (l, t5->d, error,
            LM "encoder.final_layer_norm.weight")) ||
      !(t5->dec_norm = ib_load_vector (l, t5->d, error,
            LM "decoder.final_layer_norm.weight")))
    goto fail;
  if (ib_safetensors_get (l->st, head) == NULL && cfg->tie_word_embeddings)
    head = LM "shared.weight";
  {
    const char *ws[] = { head, NULL };
    if (!(t5->lm_head = ib_load_linear (l, ws, NULL, error)))
      goto fail;
  }
  return t5;

fail:
  ib_t5_free (t5);
  return NULL;
}

static void
block_free (T5Block *b)
{
  ib_cl_buffer_free (b->self.ln);
  ib_cl_weight_free (b->self.qkv);
  ib_cl_weight_free (b->self.o);
  ib_cl_buffer_free (b->cross.ln);
  ib_cl_weight_free (b->cross.q);
  ib_cl_weight_free (b->cross.kv);
  ib_cl_weight_free (b->cross.o);
  ib_cl_buffer_free (b->ffn.ln);
  ib_cl_weight_free (b->ffn.wi);
  ib_cl_weight_free (b->ffn.wo);
}

void
ib_t5_free (IbT5 *t5)
{
  int i;

  if (t5 == NULL)
    return;
  for (i = 0; t5->enc && i < t5->cfg.n_layers; i++)
    block_free (&t5->enc[i]);
  for (i = 0; t5->dec && i < t5->cfg.n_decoder_layers; i++)
    block_free (&t5->dec[i]);
  g_free (t5->enc);
  g_free (t5->dec);
  ib_cl_buffer_free (t5->shared);
  ib_cl_buffer_free (t5->enc_bias_table);
  ib_cl_buffer_free (t5->dec_bias_table);
  ib_cl_buffer_free (t5->enc_norm);
  ib_cl_buffer_free (t5->dec_norm);
  ib_cl_weight_free (t5->lm_head);
  g_free (t5);
}

int
ib_t5_get_vocab (const IbT5 *t5)
{
  return t5->V;
}

#define N_FIXED 12

static void
state_sizes (const IbT5 *t5, int n_enc, int n_dec, int n_beams,
    gsize s[N_FIXED + 2])
{
  const gsize E = n_enc, D = n_dec, d = t5->d, I = t5->inner, F = t5->F;
  const gsize rows = MAX (E, (gsize) n_beams);

  s[0] = rows;
  s[1] = rows * d;
  s[2] = rows * d;
  s[3] = rows * 3 * I;
  s[4] = t5->heads * rows * MAX (E, D);
  s[5] = t5->heads * MAX (E * E, D);
  s[6] = rows * I;
  s[7] = rows * 2 * F;
  s[8] = rows * F;
  s[9] = E * d;
  s[10] = (gsize) n_beams * t5->V;
  s[11] = (gsize) 2 * n_beams * IB_ATT_ROW_INTS;
  s[12] = E * 2 * I; /* cross k|v per decoder layer */
  s[13] = (gsize) n_beams * D * I; /* self k or v cache per layer */
}

gsize
ib_t5_state_footprint (const IbT5 *t5, const IbClDevice *dev, int n_enc,
    int n_dec, int n_beams)
{
  gsize s[N_FIXED + 2], total = 0;
  int i, L = t5->cfg.n_decoder_layers;

  state_sizes (t5, n_enc, n_dec, n_beams, s);
  for (i = 0; i < N_FIXED; i++)
    total += ib_cl_arena_footprint (dev, s[i] * 4);
  return total + L * ib_cl_arena_footprint (dev, s[N_FIXED] * 4) +
      (2 * L + 1) * ib_cl_arena_footprint (dev, s[N_FIXED + 1] * 4);
}

static IbT5State *
state_new (const IbT5 *t5, IbClArena *arena, int n_enc, int n_dec, int n_beams,
    gboolean caches, GError **error)
{
  IbT5State *st = g_new0 (IbT5State, 1);
  IbClBuffer **slots[N_FIXED] = { &st->ids, &st->x, &st->h, &st->qkv,
    &st->scores, &st->bias, &st->ctx, &st->ff, &st->act, &st->enc_out,
    &st->logits, &st->att };
  gsize s[N_FIXED + 2];
  int i;

  st->n_enc_max = n_enc;
  st->n_dec = n_dec;
  st->n_beams = n_beams;
  st->n_dec_layers = t5->cfg.n_decoder_layers;
  st->ckv = g_new0 (IbClBuffer *, st->n_dec_layers);
  st->kv.n_layers = st->n_dec_layers;
  st->kv.n_beams = n_beams;
  st->kv.beam_stride = (gsize) n_dec * t5->inner;
  st->kv.width = t5->inner;
  st->kv.k = g_new0 (IbClBuffer *, st->n_dec_layers);
  st->kv.v = g_new0 (IbClBuffer *, st->n_dec_layers);
  state_sizes (t5, n_enc, n_dec, n_beams, s);
  for (i = 0; i < N_FIXED; i++)
    if (!(*slots[i] = ib_cl_arena_alloc (arena, s[i] * 4, error)))
      goto fail;
  if (!caches)
    return st;
  if (!(st->kv.spare = ib_cl_arena_alloc (arena, s[N_FIXED + 1] * 4, error)))
    goto fail;
  for (i = 0; i < st->n_dec_layers; i++)
    if (!(st->ckv[i] = ib_cl_arena_alloc (arena, s[N_FIXED] * 4, error)) ||
        !(st->kv.k[i] = ib_cl_arena_alloc (arena, s[N_FIXED + 1] * 4, error)) ||
        !(st->kv.v[i] = ib_cl_arena_alloc (arena, s[N_FIXED + 1] * 4, error)))
      goto fail;
  return st;

fail:
  ib_t5_state_free (st);
  return NULL;
}

IbT5State *
ib_t5_state_new (const IbT5 *t5, IbClArena *arena, int n_enc, int n_dec,
    int n_beams, GError **error)
{
  return state_new (t5, arena, n_enc, n_dec, n_beams, TRUE, error);
}

/* The rows of a batched step: n_enc = n_beams = @rows for the activations
 * (ids, x, h, qkv, ctx, ff, act, logits), one decoder position; no
 * caches, no encoder output (each sequence's own state holds those). */
gsize
ib_t5_rows_footprint (const IbT5 *t5, const IbClDevice *dev, int rows)
{
  gsize s[N_FIXED + 2], total = 0;
  int i;

  state_sizes (t5, rows, 1, rows, s);
  for (i = 0; i < N_FIXED; i++)
    total += ib_cl_arena_footprint (dev, s[i] * 4);
  return total;
}

IbT5State *
ib_t5_rows_new (const IbT5 *t5, IbClArena *arena, int rows, GError **error)
{
  return state_new (t5, arena, rows, 1, rows, FALSE, error);
}

void
ib_t5_state_free (IbT5State *st)
{
  if (st == NULL)
    return;
  g_free (st->ckv);
  g_free (st->kv.k);
  g_free (st->kv.v);
  g_free (st);
}

IbClBuffer *
ib_t5_state_input (IbT5State *st)
{
  return st->x;
}

IbClBuffer *
ib_t5_state_logits (IbT5State *st)
{
  return st->logits;
}

void
ib_t5_embed (const IbT5 *t5, IbClQueue *q, IbT5State *st, const gint32 *ids,
    int n, int row)
{
  if (!ib_check_ids (q, ids, n, t5->V))
    return;
  if (row + n > st->n_enc_max) {
    ib_cl_queue_take_error (q,
        g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
            "the prompt needs %d positions; the encoder holds %d", row + n,
            st->n_enc_max));
    return;
  }
  ib_cl_queue_upload (q, st->ids, 0, ids, (gsize) n * 4);
  ib_cl_embed (q, t5->shared, t5->shared_dtype, t5->V, st->ids, st->h, n,
      t5->d);
  ib_cl_copy_rows (q, st->h, 0, t5->d, st->x, (gsize) row * t5->d, t5->d, n,
      t5->d);
  ib_cl_queue_wait (q);
}

/* FF: x = x + wo(GELU(wi_0 h) · wi_1 h), h = LN(x)   [rows, F] */
static void
ffn (const IbT5 *t5, const Ffn *f, IbClQueue *q, IbT5State *st, int rows)
{
  ib_cl_rmsnorm (q, st->x, f->ln, st->h, rows, t5->d, (float) t5->cfg.norm_eps);
  ib_cl_linear (q, st->h, f->wi, NULL, st->ff, rows);
  ib_cl_gated (q, IB_CL_ACT_GELU, st->ff, st->act, rows, t5->F);
  ib_cl_linear (q, st->act, f->wo, st->x, st->x, rows);
}

gboolean
ib_t5_product_scratch (const IbT5 *t5, IbClDevice *dev, int n_enc, int n_dec,
    int n_beams, gsize *need, GError **error)
{
  const T5Block *e = &t5->enc[0], *d = &t5->dec[0];
  IbAttention att = { t5->heads, t5->dkv, 1.0f, NULL, 0, NULL, -1,
    ib_cl_weight_get_storage (e->self.qkv) };
  IbAttention dec = att;

  dec.precision = IB_CL_DTYPE_F32; /* decode: OpenCL kernels */
  return ib_cl_linear_scratch (e->self.qkv, n_enc, need, error) &&
      ib_cl_linear_scratch (e->self.o, n_enc, need, error) &&
      ib_cl_linear_scratch (e->ffn.wi, n_enc, need, error) &&
      ib_cl_linear_scratch (e->ffn.wo, n_enc, need, error) &&
      ib_cl_linear_scratch (d->cross.kv, n_enc, need, error) &&
      ib_cl_linear_scratch (d->self.qkv, n_beams, need, error) &&
      ib_cl_linear_scratch (d->self.o, n_beams, need, error) &&
      ib_cl_linear_scratch (d->cross.q, n_beams, need, error) &&
      ib_cl_linear_scratch (d->cross.o, n_beams, need, error) &&
      ib_cl_linear_scratch (d->ffn.wi, n_beams, need, error) &&
      ib_cl_linear_scratch (d->ffn.wo, n_beams, need, error) &&
      ib_cl_linear_scratch (t5->lm_head, n_beams, need, error) &&
      ib_attention_scratch (dev, &att, n_enc, n_enc, need, error) &&
      ib_attention_scratch (dev, &dec, 1, MAX (n_dec, n_enc), need, error);
}

/* attention_rows' scores (ib_cl_attention_rows) */
static gboolean
rows_attention_scratch (const IbT5 *t5, int rows, int n_enc, int n_dec,
    gsize *need)
{
  ib_cl_attention_rows_scratch (rows, t5->heads, MAX (n_enc, n_dec), need);
  return TRUE;
}

gboolean
ib_t5_rows_scratch (const IbT5 *t5, IbClDevice *dev, int rows, int n_beams,
    int n_enc, int n_dec, gsize *need, GError **error)
{
  const T5Block *d = &t5->dec[0];
  IbAttention dec = { t5->heads, t5->dkv, 1.0f, NULL, 0, NULL, -1,
    IB_CL_DTYPE_F32 };

  /* ib_cl_linear_segments: every segment at most @rows rows; attention as
   * ib_t5_decode's (self: one query; cross: a sequence's beams) */
  return ib_cl_linear_scratch (d->self.qkv, rows, need, error) &&
      ib_cl_linear_scratch (d->self.o, rows, need, error) &&
      ib_cl_linear_scratch (d->cross.q, rows, need, error) &&
      ib_cl_linear_scratch (d->cross.o, rows, need, error) &&
      ib_cl_linear_scratch (d->ffn.wi, rows, need, error) &&
      ib_cl_linear_scratch (d->ffn.wo, rows, need, error) &&
      ib_cl_linear_scratch (t5->lm_head, rows, need, error) &&
      rows_attention_scratch (t5, rows, n_enc, n_dec, need) &&
      ib_attention_scratch (dev, &dec, 1, MAX (n_dec, n_enc), need, error) &&
      ib_attention_scratch (dev, &dec, n_beams, n_enc, need, error);
}

void
ib_t5_encode (const IbT5 *t5, IbClQueue *q, IbT5State *st, int n)
{
  const int d = t5->d, I = t5->inner;
  /* T5 does not scale scores; the position bias of block 0 serves all */
  IbAttention att = { t5->heads, t5->dkv, 1.0f, st->bias, t5->heads, NULL, -1,
    ib_cl_weight_get_storage (t5->enc[0].self.qkv) };
  int i;

  if (n <= 0 || n > st->n_enc_max) {
    ib_cl_queue_take_error (q,
        g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
            "encoder input of %d positions; the state holds %d", n,
            st->n_enc_max));
    return;
  }
  st->n_enc = n;
  /* bidirectional relative position bias [heads, n, n] */
  ib_cl_t5_position_bias (q, t5->enc_bias_table, st->bias, t5->heads, n, n, 0,
      TRUE, t5->cfg.relative_attention_num_buckets,
      t5->cfg.relative_attention_max_distance);
  for (i = 0; i < t5->cfg.n_layers; i++) {
    const T5Block *b = &t5->enc[i];
    /* x = x + o(attn(LN(x)))   q|k|v [n, 3I] */
    ib_cl_rmsnorm (q, st->x, b->self.ln, st->h, n, d, (float) t5->cfg.norm_eps);
    ib_cl_linear (q, st->h, b->self.qkv, NULL, st->qkv, n);
    ib_attention (q, &att, (IbClMatrix){ st->qkv, 0, 3 * I, 0 },
        (IbClMatrix){ st->qkv, I, 3 * I, 0 },
        (IbClMatrix){ st->qkv, 2 * I, 3 * I, 0 }, n, n, st->scores,
        (IbClMatrix){ st->ctx, 0, I, 0 });
    ib_cl_linear (q, st->ctx, b->self.o, st->x, st->x, n);
    ffn (t5, &b->ffn, q, st, n);
  }
  ib_cl_rmsnorm (q, st->x, t5->enc_norm, st->enc_out, n, d,
      (float) t5->cfg.norm_eps);
  /* every decoder layer's cross-attention keys and values, once */
  for (i = 0; i < t5->cfg.n_decoder_layers; i++)
    ib_cl_linear (q, st->enc_out, t5->dec[i].cross.kv, NULL, st->ckv[i], n);
}

void
ib_t5_decode (const IbT5 *t5, IbClQueue *q, IbT5State *st, const gint32 *ids,
    int n_beams, int pos)
{
  const int d = t5->d, I = t5->inner;
  const gsize beam_stride = (gsize) st->n_dec * I;
  IbAttention self = { t5->heads, t5->dkv, 1.0f, st->bias, t5->heads, NULL,
    -1 };
  IbAttention cross = { t5->heads, t5->dkv, 1.0f, NULL, 0, NULL, -1 };
  int i, b;

  if (n_beams > st->n_beams || pos >= st->n_dec || st->n_enc <= 0) {
    ib_cl_queue_take_error (q,
        g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
            "T5 decode at position %d with %d beams (state: %d positions, "
            "%d beams, encoded %d)",
            pos, n_beams, st->n_dec, st->n_beams, st->n_enc));
    return;
  }
  if (!ib_check_ids (q, ids, n_beams, t5->V))
    return;
  ib_cl_queue_upload (q, st->ids, 0, ids, (gsize) n_beams * 4);
  ib_cl_embed (q, t5->shared, t5->shared_dtype, t5->V, st->ids, st->x, n_beams,
      d);
  /* causal relative position bias of the new position [heads, 1, pos+1] */
  ib_cl_t5_position_bias (q, t5->dec_bias_table, st->bias, t5->heads, 1,
      pos + 1, pos, FALSE, t5->cfg.relative_attention_num_buckets,
      t5->cfg.relative_attention_max_distance);

  for (i = 0; i < t5->cfg.n_decoder_layers; i++) {
    const T5Block *blk = &t5->dec[i];
    /* self-attention over this beam's cache */
    ib_cl_rmsnorm (q, st->x, blk->self.ln, st->h, n_beams, d,
        (float) t5->cfg.norm_eps);
    ib_cl_linear (q, st->h, blk->self.qkv, NULL, st->qkv, n_beams);
    for (b = 0; b < n_beams; b++) {
      gsize r = (gsize) b * 3 * I, c = b * beam_stride + (gsize) pos * I;
      ib_cl_copy_rows (q, st->qkv, r + I, 3 * I, st->kv.k[i], c, I, 1, I);
      ib_cl_copy_rows (q, st->qkv, r + 2 * I, 3 * I, st->kv.v[i], c, I, 1, I);
      ib_attention (q, &self, (IbClMatrix){ st->qkv, r, 3 * I, 0 },
          (IbClMatrix){ st->kv.k[i], b * beam_stride, I, 0 },
          (IbClMatrix){ st->kv.v[i], b * beam_stride, I, 0 }, 1, pos + 1,
          st->scores, (IbClMatrix){ st->ctx, (gsize) b * I, I, 0 });
    }
    ib_cl_linear (q, st->ctx, blk->self.o, st->x, st->x, n_beams);

    /* cross-attention to the encoder output (shared by all beams) */
    ib_cl_rmsnorm (q, st->x, blk->cross.ln, st->h, n_beams, d,
        (float) t5->cfg.norm_eps);
    ib_cl_linear (q, st->h, blk->cross.q, NULL, st->qkv, n_beams);
    ib_attention (q, &cross, (IbClMatrix){ st->qkv, 0, I, 0 },
        (IbClMatrix){ st->ckv[i], 0, 2 * I, 0 },
        (IbClMatrix){ st->ckv[i], I, 2 * I, 0 }, n_beams, st->n_enc, st->scores,
        (IbClMatrix){ st->ctx, 0, I, 0 });
    ib_cl_linear (q, st->ctx, blk->cross.o, st->x, st->x, n_beams);

    ffn (t5, &blk->ffn, q, st, n_beams);
  }
  ib_cl_rmsnorm (q, st->x, t5->dec_norm, st->h, n_beams, d,
      (float) t5->cfg.norm_eps);
  ib_cl_linear (q, st->h, t5->lm_head, NULL, st->logits, n_beams);
}

/* ffn over the rows of several sequences, products by segment */
static void
ffn_many (const IbT5 *t5, const Ffn *f, IbClQueue *q, IbT5State *st,
    const int *seg, int n, int rows)
{
  ib_cl_rmsnorm (q, st->x, f->ln, st->h, rows, t5->d, (float) t5->cfg.norm_eps);
  ib_cl_linear_segments (q, st->h, f->wi, NULL, st->ff, seg, n);
  ib_cl_gated (q, IB_CL_ACT_GELU, st->ff, st->act, rows, t5->F);
  ib_cl_linear_segments (q, st->act, f->wo, st->x, st->x, seg, n);
}

/* The self- (@cross FALSE: each row's new key and value appended to its
 * cache, its sequence's position bias) or cross-attention (to each
 * sequence's encoder output) of decoder layer @i on the rows of several
 * sequences: @att is the rows' table (uploaded to st->att: self rows, then
 * cross rows), IB_ATT_MAX_SEQS sequences per launch. */
static void
attention_rows (const IbT5 *t5, int i, IbClQueue *q, IbT5State *st,
    const IbT5Seq *seqs, int n, int rows, const gint32 *att, gboolean cross)
{
  const int I = t5->inner, ld = cross ? I : 3 * I;
  int s0, s, row = 0;

  for (s0 = 0; s0 < n; s0 += IB_ATT_MAX_SEQS) {
    IbClAttentionRows ar = { { NULL } };
    int n_rows = 0;
    ar.n_seqs = MIN (n - s0, IB_ATT_MAX_SEQS);
    for (s = 0; s < ar.n_seqs; s++) {
      const IbT5State *ss = seqs[s0 + s].st;
      ar.k[s] = cross ? ss->ckv[i] : ss->kv.k[i];
      ar.v[s] = cross ? ss->ckv[i] : ss->kv.v[i];
      ar.bias[s] = cross ? NULL : ss->bias;
      n_rows += seqs[s0 + s].n_beams;
    }
    ar.kv_ld = cross ? 2 * I : I;
    ar.table = st->att;
    ar.host_table = att;
    ar.table_row = (cross ? rows : 0) + row;
    ar.n_heads = t5->heads;
    ar.head_dim = t5->dkv;
    ar.scale = 1.0f;
    ar.append_k = cross ? -1 : I;
    ar.append_v = cross ? -1 : 2 * I;
    ib_cl_attention_rows (q, &ar,
        (IbClMatrix){ st->qkv, (gsize) row * ld, ld, 0 }, n_rows,
        (IbClMatrix){ st->ctx, (gsize) row * I, I, 0 });
    row += n_rows;
  }
}

/* ib_t5_decode's decoder layer @i on the rows of several sequences (@rows
 * state): self-attention per beam row in its sequence's cache with its
 * sequence's position bias, cross-attention per sequence (its beams'
 * rows) to its own encoder output (@att non-NULL: attention_rows; NULL:
 * ib_attention per row and per sequence), products over all rows. */
static void
layer_many (const IbT5 *t5, int i, IbClQueue *q, IbT5State *st,
    const IbT5Seq *seqs, int n, const int *seg, int rows, const gint32 *att)
{
  const T5Block *blk = &t5->dec[i];
  const int d = t5->d, I = t5->inner;
  const float eps = (float) t5->cfg.norm_eps;
  int s, b, row;

  ib_cl_rmsnorm (q, st->x, blk->self.ln, st->h, rows, d, eps);
  ib_cl_linear_segments (q, st->h, blk->self.qkv, NULL, st->qkv, seg, n);
  if (att)
    attention_rows (t5, i, q, st, seqs, n, rows, att, FALSE);
  for (s = 0, row = 0; s < n && att == NULL; s++) {
    const IbT5Seq *sq = &seqs[s];
    const gsize beam_stride = (gsize) sq->st->n_dec * I;
    IbAttention self = { t5->heads, t5->dkv, 1.0f, sq->st->bias, t5->heads,
      NULL, -1 };
    const gsize r0 = (gsize) row * 3 * I, c0 = (gsize) sq->pos * I;
    /* the keys and values of the sequence's beams into their caches (beam
     * b's at b · beam_stride): one copy each */
    ib_cl_copy_rows (q, st->qkv, r0 + I, 3 * I, sq->st->kv.k[i], c0,
        (int) beam_stride, sq->n_beams, I);
    ib_cl_copy_rows (q, st->qkv, r0 + 2 * I, 3 * I, sq->st->kv.v[i], c0,
        (int) beam_stride, sq->n_beams, I);
    for (b = 0; b < sq->n_beams; b++, row++)
      ib_attention (q, &self,
          (IbClMatrix){ st->qkv, (gsize) row * 3 * I, 3 * I, 0 },
          (IbClMatrix){ sq->st->kv.k[i], b * beam_stride, I, 0 },
          (IbClMatrix){ sq->st->kv.v[i], b * beam_stride, I, 0 }, 1,
          sq->pos + 1, sq->st->scores,
          (IbClMatrix){ st->ctx, (gsize) row * I, I, 0 });
  }
  ib_cl_linear_segments (q, st->ctx, blk->self.o, st->x, st->x, seg, n);

  ib_cl_rmsnorm (q, st->x, blk->cross.ln, st->h, rows, d, eps);
  ib_cl_linear_segments (q, st->h, blk->cross.q, NULL, st->qkv, seg, n);
  if (att)
    attention_rows (t5, i, q, st, seqs, n, rows, att, TRUE);
  for (s = 0, row = 0; s < n && att == NULL; row += seqs[s].n_beams, s++) {
    const IbT5Seq *sq = &seqs[s];
    IbAttention cross = { t5->heads, t5->dkv, 1.0f, NULL, 0, NULL, -1 };
    ib_attention (q, &cross, (IbClMatrix){ st->qkv, (gsize) row * I, I, 0 },
        (IbClMatrix){ sq->st->ckv[i], 0, 2 * I, 0 },
        (IbClMatrix){ sq->st->ckv[i], I, 2 * I, 0 }, sq->n_beams, sq->st->n_enc,
        sq->st->scores, (IbClMatrix){ st->ctx, (gsize) row * I, I, 0 });
  }
  ib_cl_linear_segments (q, st->ctx, blk->cross.o, st->x, st->x, seg, n);

  ffn_many (t5, &blk->ffn, q, st, seg, n, rows);
}

void
ib_t5_decode_many (const IbT5 *t5, IbClQueue *q, IbT5State *rows,
    const IbT5Seq *seqs, int n)
{
  int *seg = g_new (int, MAX (n, 1));
  gint32 *ids = NULL, *att = NULL;
  int s, total = 0, i, b;

  for (s = 0; s < n; s++) {
    const IbT5Seq *sq = &seqs[s];
    if (sq->n_beams > sq->st->n_beams || sq->pos >= sq->st->n_dec ||
        sq->st->n_enc <= 0 || sq->st->kv.spare == NULL) {
      ib_cl_queue_take_error (q,
          g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
              "batched T5 decode: sequence %d at position %d with %d beams; "
              "its state holds %d positions and %d beams, encoded %d",
              s, sq->pos, sq->n_beams, sq->st->n_dec, sq->st->n_beams,
              sq->st->n_enc));
      goto out;
    }
    if (!ib_check_ids (q, sq->ids, sq->n_beams, t5->V))
      goto out;
    seg[s] = sq->n_beams;
    total += sq->n_beams;
  }
  if (total == 0)
    goto out;
  if (total > rows->n_beams) {
    ib_cl_queue_take_error (q,
        g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
            "batched T5 decode of %d rows; the batch holds %d", total,
            rows->n_beams));
    goto out;
  }
  ids = g_new (gint32, total);
  for (s = 0, total = 0; s < n; total += seqs[s].n_beams, s++)
    memcpy (ids + total, seqs[s].ids, sizeof (gint32) * seqs[s].n_beams);
  /* waited for below: ids are freed at the end */
  ib_cl_queue_upload (q, rows->ids, 0, ids, (gsize) total * 4);
  if (ib_attention_rows_supported (q)) {
    /* self row r: beam b of its sequence, keys 0 .. pos at b · beam_stride
     * in its cache, the sequence's bias; cross row total + r: the
     * sequence's encoder keys and values (k|v rows of ckv) */
    const int n_rows = total;
    att = g_new0 (gint32, (gsize) 2 * n_rows * IB_ATT_ROW_INTS);
    for (s = 0, total = 0; s < n; total += seqs[s].n_beams, s++)
      for (b = 0; b < seqs[s].n_beams; b++) {
        gint32 *e = att + (gsize) (total + b) * IB_ATT_ROW_INTS;
        gint32 *c = e + (gsize) n_rows * IB_ATT_ROW_INTS;
        e[IB_ATT_ROW_K] = e[IB_ATT_ROW_V] =
            (gint32) (b * seqs[s].st->kv.beam_stride);
        e[IB_ATT_ROW_LEN] = seqs[s].pos + 1;
        c[IB_ATT_ROW_V] = t5->inner;
        c[IB_ATT_ROW_LEN] = seqs[s].st->n_enc;
        e[IB_ATT_ROW_SEQ] = c[IB_ATT_ROW_SEQ] = s % IB_ATT_MAX_SEQS;
      }
    ib_cl_queue_upload (q, rows->att, 0, att,
        (gsize) 2 * total * IB_ATT_ROW_INTS * 4);
  }
  ib_cl_embed (q, t5->shared, t5->shared_dtype, t5->V, rows->ids, rows->x,
      total, t5->d);
  /* each sequence's causal relative position bias of its new position
   * [heads, 1, pos+1], in its own state */
  for (s = 0; s < n; s++)
    ib_cl_t5_position_bias (q, t5->dec_bias_table, seqs[s].st->bias, t5->heads,
        1, seqs[s].pos + 1, seqs[s].pos, FALSE,
        t5->cfg.relative_attention_num_buckets,
        t5->cfg.relative_attention_max_distance);
  ib_cl_queue_wait (q);
  for (i = 0; i < t5->cfg.n_decoder_layers; i++)
    layer_many (t5, i, q, rows, seqs, n, seg, total, att);
  ib_cl_rmsnorm (q, rows->x, t5->dec_norm, rows->h, total, t5->d,
      (float) t5->cfg.norm_eps);
  ib_cl_linear_segments (q, rows->h, t5->lm_head, NULL, rows->logits, seg, n);
out:
  g_free (att);
  g_free (ids);
  g_free (seg);
}

void
ib_t5_reorder (const IbT5 *t5, IbClQueue *q, IbT5State *st, const int *src,
    int n_beams, int len)
{
  (void) t5; /* the caches know their shapes */
  ib_kv_cache_reorder (q, &st->kv, src, n_beams, len);
}
