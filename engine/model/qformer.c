/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Q-Former forward pass on the device. */
#include "qformer.h"

#include <math.h>

#include "attention.h"
#include "ib-error.h"

typedef struct
{
  IbClBuffer *w, *b; /* LayerNorm [H] */
} Norm;

typedef struct
{
  IbClWeight *fc1; /* intermediate.dense [I, H] + b */
  IbClWeight *fc2; /* output.dense [H, I] + b */
  Norm ln; /* output.LayerNorm */
} Ffn;

typedef struct
{
  IbClWeight *qkv; /* attention.attention.{query,key,value} fused
                                 * [3H, H] + b */
  IbClWeight *out; /* attention.output.dense [H, H] + b */
  Norm ln; /* attention.output.LayerNorm */
  gboolean has_cross;
  IbClWeight *cq; /* crossattention query [H, H] + b */
  IbClWeight *ckv; /* crossattention key|value [2H, Dv] + b */
  IbClWeight *cout; /* crossattention.output.dense [H, H] + b */
  Norm cln;
  Ffn text; /* intermediate / output */
  Ffn query; /* intermediate_query / output_query */
} QfLayer;

struct _IbQFormer
{
  IbQFormerConfig cfg;
  int n_query, text_hidden;
  IbClBuffer *query_tokens; /* [Q, H] */
  IbClBuffer *word; /* [vocab, H] f32 or f16 */
  IbClDtype word_dtype;
  IbClBuffer *pos; /* [max_pos, H] f32 */
  Norm emb_ln;
  QfLayer *layers;
  IbClWeight *proj; /* language_projection [text_hidden, H] + b */
};

struct _IbQFormerScratch
{
  int n_image, n_text;
  IbClBuffer *ids; /* [max_text] int32 */
  IbClBuffer *pos_ids; /* [max_text] int32: 0, 1, 2, ... */
  IbClBuffer *xq; /* [Q, H] query rows */
  IbClBuffer *xt; /* [T, H] instruction rows */
  IbClBuffer *x; /* [L, H] both, for self-attention */
  IbClBuffer *t; /* [L, H] temporary */
  IbClBuffer *qkv; /* [L, 3H] */
  IbClBuffer *scores; /* [heads, L, max(L, n_image)] */
  IbClBuffer *ctx; /* [L, H] */
  IbClBuffer *ckv; /* [n_image, 2H] */
  IbClBuffer *mlp; /* [L, I] */
};

#define N_SCRATCH 11

#define QF "qformer.encoder.layer.%d."

static gboolean
load_norm (IbLoader *l, Norm *n, int H, const char *prefix, GError **error)
{
  return (n->w = ib_load_vector (l, H, error, "%s.weight", prefix)) &&
      (n->b = ib_load_vector (l, H, error, "%s.bias", prefix));
}

static gboolean
load_ffn (IbLoader *l, Ffn *f, int H, int i, const char *suffix, GError **error)
{
  char *ln = g_strdup_printf (QF "output%s.LayerNorm", i, suffix);
  gboolean ok = (f->fc1 = ib_load_linear1 (l, TRUE, error,
                     QF "intermediate%s.dense", i, suffix)) &&
      (f->fc2 = ib_load_linear1 (l, TRUE, error, QF "output%s.dense", i,
           suffix)) &&
      load_norm (l, &f->ln, H, ln, error);
  g_free (ln);
  return ok;
}

static gboolean
load_layer (IbLoader *l, const IbQFormerConfig *cfg, QfLayer *y, int i,
    GError **error)
{
  const int H = cfg->hidden_dim;
  char *names[7], *prefix;
  gboolean ok;
  int j;

  names[0] = g_strdup_printf (QF "attention.attention.query.weight", i);
  names[1] = g_strdup_printf (QF "attention.attention.key.weight", i);
  names[2] = g_strdup_printf (QF "attention.attention.value.weight", i);
  names[3] = NULL;
  names[4] = g_strdup_printf (QF "attention.attention.query.bias", i);
  names[5] = g_strdup_printf (QF "attention.attention.key.bias", i);
  names[6] = g_strdup_printf (QF "attention.attention.value.bias", i);
  {
    const char *ws[] = { names[0], names[1], names[2], NULL };
    const char *bs[] = { names[4], names[5], names[6] };
    y->qkv = ib_load_linear (l, ws, bs, error);
  }
  for (j = 0; j < 7; j++)
    g_free (names[j]);
  if (y->qkv == NULL)
    return FALSE;

  prefix = g_strdup_printf (QF "attention.output.LayerNorm", i);
  ok = (y->out = ib_load_linear1 (l, TRUE, error, QF "attention.output.dense",
            i)) &&
      load_norm (l, &y->ln, H, prefix, error);
  g_free (prefix);
  if (!ok)
    return FALSE;

  y->has_cross = i % cfg->cross_attention_frequency == 0;
  if (y->has_cross) {
    char *kw = g_strdup_printf (QF "crossattention.attention.key.weight", i);
    char *vw = g_strdup_printf (QF "crossattention.attention.value.weight", i);
    char *kb = g_strdup_printf (QF "crossattention.attention.key.bias", i);
    char *vb = g_strdup_printf (QF "crossattention.attention.value.bias", i);
    const char *ws[] = { kw, vw, NULL }, *bs[] = { kb, vb };
    y->ckv = ib_load_linear (l, ws, bs, error);
    g_free (kw);
    g_free (vw);
    g_free (kb);
    g_free (vb);
    prefix = g_strdup_printf (QF "crossattention.output.LayerNorm", i);
    ok = y->ckv &&
        (y->cq = ib_load_linear1 (l, TRUE, error,
             QF "crossattention.attention.query", i)) &&
        (y->cout = ib_load_linear1 (l, TRUE, error,
             QF "crossattention.output.dense", i)) &&
        load_norm (l, &y->cln, H, prefix, error);
    g_free (prefix);
    if (!ok)
      return FALSE;
  }
  return load_ffn (l, &y->text, H, i, "", error) &&
      load_ffn (l, &y->query, H, i, "_query", error);
}

IbQFormer *
ib_qformer_new (IbLoader *l, const IbQFormerConfig *cfg, int n_query,
    int text_hidden, GError **error)
{
  IbQFormer *qf = g_new0 (IbQFormer, 1);
  const int H = cfg->hidden_dim;
  int i;

  qf->cfg = *cfg;
  qf->n_query = n_query;
  qf->text_hidden = text_hidden;
  qf->word_dtype = ib_load_table_dtype (l);
  qf->layers = g_new0 (QfLayer, cfg->n_layers);
  if (!(qf->query_tokens =
              ib_load_vector (l, (gsize) n_query * H, error, "query_tokens")) ||
      !(qf->word =
              ib_load_table (l, "qformer.embeddings.word_embeddings.weight",
                  cfg->vocab_size, H, error)) ||
      !(qf->pos = ib_load_vector (l, (gsize) cfg->max_position_embeddings * H,
            error, "qformer.embeddings.position_embeddings.weight")) ||
      !load_norm (l, &qf->emb_ln, H, "qformer.embeddings.layernorm", error))
    goto fail;
  for (i = 0; i < cfg->n_layers; i++)
    if (!load_layer (l, cfg, &qf->layers[i], i, error))
      goto fail;
  if (!(qf->proj = ib_load_linear1 (l, TRUE, error, "language_projection")))
    goto fail;
  if (ib_cl_weight_get_n (qf->proj) != text_hidden ||
      ib_cl_weight_get_k (qf->proj) != H) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "language_projection maps %d -> %d, the configuration needs %d -> %d",
        ib_cl_weight_get_k (qf->proj), ib_cl_weight_get_n (qf->proj), H,
        text_hidden);
    goto fail;
  }
  return qf;

fail:
  ib_qformer_free (qf);
  return NULL;
}

static void
norm_free (Norm *n)
{
  ib_cl_buffer_free (n->w);
  ib_cl_buffer_free (n->b);
}

static void
ffn_free (Ffn *f)
{
  ib_cl_weight_free (f->fc1);
  ib_cl_weight_free (f->fc2);
  norm_free (&f->ln);
}

void
ib_qformer_free (IbQFormer *qf)
{
  int i;

  if (qf == NULL)
    return;
  for (i = 0; qf->layers && i < qf->cfg.n_layers; i++) {
    QfLayer *y = &qf->layers[i];
    ib_cl_weight_free (y->qkv);
    ib_cl_weight_free (y->out);
    norm_free (&y->ln);
    ib_cl_weight_free (y->cq);
    ib_cl_weight_free (y->ckv);
    ib_cl_weight_free (y->cout);
    norm_free (&y->cln);
    ffn_free (&y->text);
    ffn_free (&y->query);
  }
  g_free (qf->layers);
  ib_cl_buffer_free (qf->query_tokens);
  ib_cl_buffer_free (qf->word);
  ib_cl_buffer_free (qf->pos);
  norm_free (&qf->emb_ln);
  ib_cl_weight_free (qf->proj);
  g_free (qf);
}

int
ib_qformer_get_n_query (const IbQFormer *qf)
{
  return qf->n_query;
}

int
ib_qformer_get_max_text (const IbQFormer *qf)
{
  return qf->cfg.max_position_embeddings;
}

static void
scratch_sizes (const IbQFormer *qf, int n_image, gsize sizes[N_SCRATCH])
{
  const gsize T = qf->cfg.max_position_embeddings, Q = qf->n_query;
  const gsize L = Q + T, H = qf->cfg.hidden_dim;

  sizes[0] = T; /* ids */
  sizes[1] = T; /* pos_ids */
  sizes[2] = Q * H;
  sizes[3] = T * H;
  sizes[4] = L * H;
  sizes[5] = L * H;
  sizes[6] = L * 3 * H;
  sizes[7] = qf->cfg.n_heads * L * MAX (L, (gsize) n_image);
  sizes[8] = L * H;
  sizes[9] = (gsize) n_image * 2 * H;
  sizes[10] = L * qf->cfg.intermediate_dim;
}

gsize
ib_qformer_scratch_footprint (const IbQFormer *qf, const IbClDevice *dev,
    int n_image)
{
  gsize sizes[N_SCRATCH], total = 0;
  int i;

  scratch_sizes (qf, n_image, sizes);
  for (i = 0; i < N_SCRATCH; i++)
    total += ib_cl_arena_footprint (dev, sizes[i] * 4);
  return total;
}

IbQFormerScratch *
ib_qformer_scratch_new (const IbQFormer *qf, IbClArena *arena, int n_image,
    GError **error)
{
  IbQFormerScratch *s = g_new0 (IbQFormerScratch, 1);
  IbClBuffer **slots[N_SCRATCH] = { &s->ids, &s->pos_ids, &s->xq, &s->xt, &s->x,
    &s->t, &s->qkv, &s->scores, &s->ctx, &s->ckv, &s->mlp };
  gsize sizes[N_SCRATCH];
  int i;

  s->n_image = n_image;
  scratch_sizes (qf, n_image, sizes);
  for (i = 0; i < N_SCRATCH; i++)
    if (!(*slots[i] = ib_cl_arena_alloc (arena, sizes[i] * 4, error))) {
      g_free (s);
      return NULL;
    }
  return s;
}

gboolean
ib_qformer_product_scratch (const IbQFormer *qf, IbClDevice *dev, int n_image,
    gsize *need, GError **error)
{
  const int H = qf->cfg.hidden_dim, Q = qf->n_query, heads = qf->cfg.n_heads;
  const int L = Q + qf->cfg.max_position_embeddings, rows = MAX (L, n_image);
  const QfLayer *y = &qf->layers[0];
  IbAttention att = { heads, H / heads, 1.0f / sqrtf ((float) (H / heads)),
    NULL, 0, NULL, -1, ib_cl_weight_get_storage (y->qkv) };
  int i;

  if (!ib_cl_linear_scratch (qf->proj, Q, need, error) ||
      !ib_attention_scratch (dev, &att, L, L, need, error) ||
      !ib_attention_scratch (dev, &att, Q, n_image, need, error))
    return FALSE;
  /* the layers with cross-attention and those without have different
   * weights; every linear sized for the most rows any of them gets */
  for (i = 0; i < qf->cfg.n_layers; i++) {
    y = &qf->layers[i];
    if (i > 0 && y->has_cross == qf->layers[0].has_cross)
      continue;
    if (!ib_cl_linear_scratch (y->qkv, rows, need, error) ||
        !ib_cl_linear_scratch (y->out, rows, need, error) ||
        !ib_cl_linear_scratch (y->text.fc1, rows, need, error) ||
        !ib_cl_linear_scratch (y->text.fc2, rows, need, error) ||
        !ib_cl_linear_scratch (y->query.fc1, rows, need, error) ||
        !ib_cl_linear_scratch (y->query.fc2, rows, need, error) ||
        (y->has_cross &&
            (!ib_cl_linear_scratch (y->cq, rows, need, error) ||
                !ib_cl_linear_scratch (y->ckv, rows, need, error) ||
                !ib_cl_linear_scratch (y->cout, rows, need, error))))
      return FALSE;
    if (i > 0)
      break;
  }
  return TRUE;
}

void
ib_qformer_scratch_free (IbQFormerScratch *s)
{
  g_free (s);
}

void
ib_qformer_set_instruction (const IbQFormer *qf, IbClQueue *q,
    IbQFormerScratch *s, const gint32 *ids, int n_ids)
{
  const int max_text = qf->cfg.max_position_embeddings;
  gint32 *pos;
  int i;

  if (n_ids <= 0 || n_ids > max_text) {
    ib_cl_queue_take_error (q,
        g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
            "the instruction has %d Q-Former tokens; the model takes 1 to "
            "%d",
            n_ids, max_text));
    return;
  }
  for (i = 0; i < n_ids; i++)
    if (ids[i] < 0 || ids[i] >= qf->cfg.vocab_size) {
      ib_cl_queue_take_error (q,
          g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
              "Q-Former token id %d is outside the "
              "vocabulary (%d)",
              ids[i], qf->cfg.vocab_size));
      return;
    }
  pos = g_new (gint32, n_ids);
  for (i = 0; i < n_ids; i++)
    pos[i] = i;
  s->n_text = n_ids;
  ib_cl_queue_upload (q, s->ids, 0, ids, n_ids * 4);
  ib_cl_queue_upload (q, s->pos_ids, 0, pos, n_ids * 4);
  /* the upload is asynchronous: wait before @pos goes away */
  ib_cl_queue_wait (q);
  g_free (pos);
}

/* BERT feed-forward on @rows rows of @x in place:
 * x = LN(x + W2·GELU(W1·x + b1) + b2) */
static void
ffn (const IbQFormer *qf, IbClQueue *q, IbQFormerScratch *s, const Ffn *f,
    IbClBuffer *x, int rows)
{
  const int H = qf->cfg.hidden_dim;

  ib_cl_linear_segments_gelu (q, x, f->fc1, s->mlp, &rows, 1);
  ib_cl_linear (q, s->mlp, f->fc2, x, s->t, rows);
  ib_cl_layernorm (q, s->t, f->ln.w, f->ln.b, x, rows, H,
      (float) qf->cfg.layer_norm_eps);
}

static void
qformer_layer (const IbQFormer *qf, const QfLayer *y, IbClQueue *q,
    IbQFormerScratch *s, const IbClBuffer *image, int image_row, gboolean last)
{
  const int H = qf->cfg.hidden_dim, Q = qf->n_query, T = s->n_text;
  const int L = Q + T, heads = qf->cfg.n_heads;
  const float eps = (float) qf->cfg.layer_norm_eps;
  /* BERT divides the scores by sqrt(head_dim) */
  IbAttention att = { heads, H / heads, 1.0f / sqrtf ((float) (H / heads)),
    NULL, 0, NULL, -1, ib_cl_weight_get_storage (y->qkv) };

  /* self-attention over [queries ; instruction], bidirectional:
   * x = LN(x + Wo·attn(x) + bo)   [L, H] */
  ib_cl_copy_rows (q, s->xq, 0, H, s->x, 0, H, Q, H);
  ib_cl_copy_rows (q, s->xt, 0, H, s->x, (gsize) Q * H, H, T, H);
  ib_cl_linear (q, s->x, y->qkv, NULL, s->qkv, L);
  ib_attention (q, &att, (IbClMatrix){ s->qkv, 0, 3 * H, 0 },
      (IbClMatrix){ s->qkv, H, 3 * H, 0 },
      (IbClMatrix){ s->qkv, 2 * H, 3 * H, 0 }, L, L, s->scores,
      (IbClMatrix){ s->ctx, 0, H, 0 });
  ib_cl_linear (q, s->ctx, y->out, s->x, s->t, L);
  ib_cl_layernorm (q, s->t, y->ln.w, y->ln.b, s->x, L, H, eps);
  ib_cl_copy_rows (q, s->x, 0, H, s->xq, 0, H, Q, H);
  ib_cl_copy_rows (q, s->x, (gsize) Q * H, H, s->xt, 0, H, T, H);

  /* cross-attention, query rows only, to this frame's image tokens:
   * xq = LN(xq + Wo·attn(Wq·xq, Wkv·image) + bo)   [Q, H] */
  if (y->has_cross) {
    const int Ni = s->n_image;
    ib_cl_linear (q, s->xq, y->cq, NULL, s->t, Q);
    ib_cl_linear_rows (q, image, image_row, y->ckv, NULL, s->ckv, 0, Ni);
    ib_attention (q, &att, (IbClMatrix){ s->t, 0, H, 0 },
        (IbClMatrix){ s->ckv, 0, 2 * H, 0 },
        (IbClMatrix){ s->ckv, H, 2 * H, 0 }, Q, Ni, s->scores,
        (IbClMatrix){ s->ctx, 0, H, 0 });
    ib_cl_linear (q, s->ctx, y->cout, s->xq, s->t, Q);
    ib_cl_layernorm (q, s->t, y->cln.w, y->cln.b, s->xq, Q, H, eps);
  }

  /* feed-forward, separate weights for queries and instruction; the last
   * layer's instruction rows reach no output and are skipped */
  ffn (qf, q, s, &y->query, s->xq, Q);
  if (!last)
    ffn (qf, q, s, &y->text, s->xt, T);
}

void
ib_qformer_forward (const IbQFormer *qf, IbClQueue *q, IbQFormerScratch *s,
    const IbClBuffer *image, int image_row, IbClBuffer *query_out,
    IbClBuffer *soft, int out_row)
{
  const int H = qf->cfg.hidden_dim, Q = qf->n_query, T = s->n_text;
  const float eps = (float) qf->cfg.layer_norm_eps;
  int i;

  if (T <= 0) {
    ib_cl_queue_take_error (q,
        g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
            "Q-Former: no instruction set"));
    return;
  }
  /* embeddings: queries as learned (no positions); text = word[id] +
   * position[0..T-1]; each row LayerNorm'ed */
  ib_cl_layernorm (q, qf->query_tokens, qf->emb_ln.w, qf->emb_ln.b, s->xq, Q, H,
      eps);
  ib_cl_embed (q, qf->word, qf->word_dtype, qf->cfg.vocab_size, s->ids, s->xt,
      T, H);
  ib_cl_embed (q, qf->pos, IB_CL_DTYPE_F32, qf->cfg.max_position_embeddings,
      s->pos_ids, s->t, T, H);
  ib_cl_add (q, s->xt, s->t, s->xt, (gsize) T * H);
  ib_cl_layernorm (q, s->xt, qf->emb_ln.w, qf->emb_ln.b, s->xt, T, H, eps);

  for (i = 0; i < qf->cfg.n_layers; i++)
    qformer_layer (qf, &qf->layers[i], q, s, image, image_row,
        i == qf->cfg.n_layers - 1);

  /* the query rows are the visual summary; project to the LLM width */
  if (query_out)
    ib_cl_copy_rows (q, s->xq, 0, H, query_out, (gsize) out_row * H, H, Q, H);
  ib_cl_linear_rows (q, s->xq, 0, qf->proj, NULL, soft, out_row, Q);
}

/* ---- several (frame, instruction) sequences in one pass ---- */

struct _IbQFormerMany
{
  int n_image, max_seqs, max_text_rows;
  IbClBuffer *ids; /* [max_text_rows] int32: every sequence's ids */
  IbClBuffer *pos_ids; /* [max_text_rows] int32: 0 .. T_j-1 each */
  IbClBuffer *xq; /* [max_seqs·Q, H] query rows, sequence j at j·Q */
  IbClBuffer *xt; /* [max_text_rows, H] instruction rows */
  IbClBuffer *x; /* [max_rows, H] both, sequence by sequence */
  IbClBuffer *t; /* [max_rows, H] temporary */
  IbClBuffer *qkv; /* [max_rows, 3H] */
  IbClBuffer *scores; /* [heads, L, max(L, n_image)], one sequence's */
  IbClBuffer *ctx; /* [max_rows, H] */
  IbClBuffer *img; /* [max_seqs·n_image, vision hidden] frames' embeddings */
  IbClBuffer *ckv; /* [max_seqs·n_image, 2H] */
  IbClBuffer *mlp; /* [max_rows, I] */
  IbClBuffer *soft; /* [max_seqs·Q, text_hidden] */
};

#define N_MANY 13

static void
many_sizes (const IbQFormer *qf, int n_image, int max_seqs, int max_text_rows,
    gsize sizes[N_MANY])
{
  const gsize Q = qf->n_query, H = qf->cfg.hidden_dim;
  const gsize L = Q + qf->cfg.max_position_embeddings;
  const gsize rows = (gsize) max_seqs * Q + max_text_rows;
  const gsize Dv = ib_cl_weight_get_k (qf->layers[0].ckv);

  sizes[0] = max_text_rows;
  sizes[1] = max_text_rows;
  sizes[2] = max_seqs * Q * H;
  sizes[3] = (gsize) max_text_rows * H;
  sizes[4] = rows * H;
  sizes[5] = rows * H;
  sizes[6] = rows * 3 * H;
  sizes[7] = qf->cfg.n_heads * L * MAX (L, (gsize) n_image);
  sizes[8] = rows * H;
  sizes[9] = (gsize) max_seqs * n_image * Dv;
  sizes[10] = (gsize) max_seqs * n_image * 2 * H;
  sizes[11] = rows * qf->cfg.intermediate_dim;
  sizes[12] = max_seqs * Q * qf->text_hidden;
}

int
ib_qformer_many_text_rows (const IbQFormer *qf, int max_seqs)
{
  return MAX (qf->cfg.max_position_embeddings,
      max_seqs * IB_QFORMER_MANY_TEXT_TOKENS);
}

gsize
ib_qformer_many_footprint (const IbQFormer *qf, const IbClDevice *dev,
    int n_image, int max_seqs)
{
  gsize sizes[N_MANY], total = 0;
  int i;

  many_sizes (qf, n_image, max_seqs, ib_qformer_many_text_rows (qf, max_seqs),
      sizes);
  for (i = 0; i < N_MANY; i++)
    total += ib_cl_arena_footprint (dev, sizes[i] * 4);
  return total;
}

IbQFormerMany *
ib_qformer_many_new (const IbQFormer *qf, IbClArena *arena, int n_image,
    int max_seqs, GError **error)
{
  IbQFormerMany *s = g_new0 (IbQFormerMany, 1);
  IbClBuffer **slots[N_MANY] = { &s->ids, &s->pos_ids, &s->xq, &s->xt, &s->x,
    &s->t, &s->qkv, &s->scores, &s->ctx, &s->img, &s->ckv, &s->mlp, &s->soft };
  gsize sizes[N_MANY];
  int i;

  s->n_image = n_image;
  s->max_seqs = max_seqs;
  s->max_text_rows = ib_qformer_many_text_rows (qf, max_seqs);
  many_sizes (qf, n_image, max_seqs, s->max_text_rows, sizes);
  for (i = 0; i < N_MANY; i++)
    if (!(*slots[i] = ib_cl_arena_alloc (arena, sizes[i] * 4, error))) {
      g_free (s);
      return NULL;
    }
  return s;
}

void
ib_qformer_many_free (IbQFormerMany *s)
{
  g_free (s);
}

gboolean
ib_qformer_many_scratch (const IbQFormer *qf, IbClDevice *dev, int n_image,
    int max_seqs, gsize *need, GError **error)
{
  const int Q = qf->n_query;
  const int rows = max_seqs * Q + ib_qformer_many_text_rows (qf, max_seqs);
  int i;

  /* per sequence: what one frame's pass needs (attention); the products
   * over all rows of a pass (ib_cl_linear_segments) */
  if (!ib_qformer_product_scratch (qf, dev, n_image, need, error) ||
      !ib_cl_linear_scratch (qf->proj, max_seqs * Q, need, error))
    return FALSE;
  for (i = 0; i < qf->cfg.n_layers; i++) {
    const QfLayer *y = &qf->layers[i];
    /* layer 0 and the first of the other kind, as in
     * ib_qformer_product_scratch */
    if (i > 0 && y->has_cross == qf->layers[0].has_cross)
      continue;
    if (!ib_cl_linear_scratch (y->qkv, rows, need, error) ||
        !ib_cl_linear_scratch (y->out, rows, need, error) ||
        !ib_cl_linear_scratch (y->text.fc1, rows, need, error) ||
        !ib_cl_linear_scratch (y->text.fc2, rows, need, error) ||
        !ib_cl_linear_scratch (y->query.fc1, rows, need, error) ||
        !ib_cl_linear_scratch (y->query.fc2, rows, need, error) ||
        (y->has_cross &&
            (!ib_cl_linear_scratch (y->cq, max_seqs * Q, need, error) ||
                !ib_cl_linear_scratch (y->ckv, max_seqs * n_image, need,
                    error) ||
                !ib_cl_linear_scratch (y->cout, max_seqs * Q, need, error))))
      return FALSE;
    if (i > 0)
      break;
  }
  return TRUE;
}

int
ib_qformer_many_fit (const IbQFormerMany *s, const IbQFormerSeq *seqs, int n)
{
  int k, text = 0;

  for (k = 0; k < n && k < s->max_seqs; k++) {
    /* the first always: one too long for any pass fails in it */
    if (k > 0 && text + seqs[k].n_ids > s->max_text_rows)
      break;
    text += seqs[k].n_ids;
  }
  return k;
}

/* ffn over the sequences' rows of @x (segments @seg) in place */
static void
ffn_many (const IbQFormer *qf, IbClQueue *q, IbQFormerMany *s, const Ffn *f,
    IbClBuffer *x, const int *seg, int n, int rows)
{
  const int H = qf->cfg.hidden_dim;

  ib_cl_linear_segments (q, x, f->fc1, NULL, s->mlp, seg, n);
  ib_cl_activate (q, IB_CL_ACT_GELU, s->mlp, s->mlp,
      (gsize) rows * qf->cfg.intermediate_dim);
  ib_cl_linear_segments (q, s->mlp, f->fc2, x, s->t, seg, n);
  ib_cl_layernorm (q, s->t, f->ln.w, f->ln.b, x, rows, H,
      (float) qf->cfg.layer_norm_eps);
}

/* qformer_layer on @n sequences: sequence j's [queries ; instruction] at
 * rows off[j] of x, its queries at j·Q of xq, its instruction at toff[j]
 * of xt. */
static void
layer_many (const IbQFormer *qf, const QfLayer *y, IbClQueue *q,
    IbQFormerMany *s, const IbQFormerSeq *seqs, int n, const int *off,
    const int *toff, const int *lseg, const int *qseg, const int *tseg,
    const int *iseg, gboolean last)
{
  const int H = qf->cfg.hidden_dim, Q = qf->n_query, heads = qf->cfg.n_heads;
  const float eps = (float) qf->cfg.layer_norm_eps;
  IbAttention att = { heads, H / heads, 1.0f / sqrtf ((float) (H / heads)),
    NULL, 0, NULL, -1, ib_cl_weight_get_storage (y->qkv) };
  const int rows = off[n], tq = n * Q, tt = toff[n];
  int j;

  for (j = 0; j < n; j++) {
    ib_cl_copy_rows (q, s->xq, (gsize) j * Q * H, H, s->x, (gsize) off[j] * H,
        H, Q, H);
    ib_cl_copy_rows (q, s->xt, (gsize) toff[j] * H, H, s->x,
        (gsize) (off[j] + Q) * H, H, seqs[j].n_ids, H);
  }
  ib_cl_linear_segments (q, s->x, y->qkv, NULL, s->qkv, lseg, n);
  for (j = 0; j < n; j++) {
    const gsize r = (gsize) off[j] * 3 * H;
    ib_attention (q, &att, (IbClMatrix){ s->qkv, r, 3 * H, 0 },
        (IbClMatrix){ s->qkv, r + H, 3 * H, 0 },
        (IbClMatrix){ s->qkv, r + 2 * H, 3 * H, 0 }, lseg[j], lseg[j],
        s->scores, (IbClMatrix){ s->ctx, (gsize) off[j] * H, H, 0 });
  }
  ib_cl_linear_segments (q, s->ctx, y->out, s->x, s->t, lseg, n);
  ib_cl_layernorm (q, s->t, y->ln.w, y->ln.b, s->x, rows, H, eps);
  for (j = 0; j < n; j++) {
    ib_cl_copy_rows (q, s->x, (gsize) off[j] * H, H, s->xq, (gsize) j * Q * H,
        H, Q, H);
    ib_cl_copy_rows (q, s->x, (gsize) (off[j] + Q) * H, H, s->xt,
        (gsize) toff[j] * H, H, seqs[j].n_ids, H);
  }

  if (y->has_cross) {
    const int Ni = s->n_image;
    ib_cl_linear_segments (q, s->xq, y->cq, NULL, s->t, qseg, n);
    ib_cl_linear_segments (q, s->img, y->ckv, NULL, s->ckv, iseg, n);
    for (j = 0; j < n; j++)
      ib_attention (q, &att, (IbClMatrix){ s->t, (gsize) j * Q * H, H, 0 },
          (IbClMatrix){ s->ckv, (gsize) j * Ni * 2 * H, 2 * H, 0 },
          (IbClMatrix){ s->ckv, (gsize) j * Ni * 2 * H + H, 2 * H, 0 }, Q, Ni,
          s->scores, (IbClMatrix){ s->ctx, (gsize) j * Q * H, H, 0 });
    ib_cl_linear_segments (q, s->ctx, y->cout, s->xq, s->t, qseg, n);
    ib_cl_layernorm (q, s->t, y->cln.w, y->cln.b, s->xq, tq, H, eps);
  }

  ffn_many (qf, q, s, &y->query, s->xq, qseg, n, tq);
  if (!last)
    ffn_many (qf, q, s, &y->text, s->xt, tseg, n, tt);
}

void
ib_qformer_forward_many (const IbQFormer *qf, IbClQueue *q, IbQFormerMany *s,
    const IbQFormerSeq *seqs, int n)
{
  const int H = qf->cfg.hidden_dim, Q = qf->n_query, Ni = s->n_image;
  const int Dv = ib_cl_weight_get_k (qf->layers[0].ckv);
  const int TH = qf->text_hidden;
  const float eps = (float) qf->cfg.layer_norm_eps;
  int *off = g_new (int, 6 * (gsize) (n + 1));
  int *toff = off + (n + 1), *lseg = toff + (n + 1), *qseg = lseg + (n + 1);
  int *tseg = qseg + (n + 1), *iseg = tseg + (n + 1);
  gint32 *ids = NULL, *pos = NULL;
  int i, j, k;

  if (n <= 0)
    goto out;
  if (n > s->max_seqs || ib_qformer_many_fit (s, seqs, n) < n) {
    ib_cl_queue_take_error (q,
        g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
            "Q-Former pass of %d sequences: it holds %d sequences and %d "
            "instruction tokens (ib_qformer_many_fit)",
            n, s->max_seqs, s->max_text_rows));
    goto out;
  }
  off[0] = toff[0] = 0;
  for (j = 0; j < n; j++) {
    const int T = seqs[j].n_ids;
    if (T <= 0 || T > qf->cfg.max_position_embeddings) {
      ib_cl_queue_take_error (q,
          g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
              "the instruction has %d Q-Former tokens; the model takes 1 to "
              "%d",
              T, qf->cfg.max_position_embeddings));
      goto out;
    }
    for (k = 0; k < T; k++)
      if (seqs[j].ids[k] < 0 || seqs[j].ids[k] >= qf->cfg.vocab_size) {
        ib_cl_queue_take_error (q,
            g_error_new (IB_ERROR, IB_ERROR_INVALID_ARG,
                "Q-Former token id %d is outside the vocabulary (%d)",
                seqs[j].ids[k], qf->cfg.vocab_size));
        goto out;
      }
    lseg[j] = Q + T;
    qseg[j] = Q;
    tseg[j] = T;
    iseg[j] = Ni;
    off[j + 1] = off[j] + Q + T;
    toff[j + 1] = toff[j] + T;
  }
  ids = g_new (gint32, toff[n]);
  pos = g_new (gint32, toff[n]);
  for (j = 0; j < n; j++)
    for (k = 0; k < seqs[j].n_ids; k++) {
      ids[toff[j] + k] = seqs[j].ids[k];
      pos[toff[j] + k] = k;
    }
  ib_cl_queue_upload (q, s->ids, 0, ids, (gsize) toff[n] * 4);
  ib_cl_queue_upload (q, s->pos_ids, 0, pos, (gsize) toff[n] * 4);

  /* embeddings as ib_qformer_forward's, every sequence's; each frame's
   * image embeddings next to each other */
  ib_cl_layernorm (q, qf->query_tokens, qf->emb_ln.w, qf->emb_ln.b, s->t, Q, H,
      eps);
  for (j = 0; j < n; j++) {
    ib_cl_copy_rows (q, s->t, 0, H, s->xq, (gsize) j * Q * H, H, Q, H);
    ib_cl_copy_rows (q, seqs[j].image, (gsize) seqs[j].image_row * Dv, Dv,
        s->img, (gsize) j * Ni * Dv, Dv, Ni, Dv);
  }
  ib_cl_embed (q, qf->word, qf->word_dtype, qf->cfg.vocab_size, s->ids, s->xt,
      toff[n], H);
  ib_cl_embed (q, qf->pos, IB_CL_DTYPE_F32, qf->cfg.max_position_embeddings,
      s->pos_ids, s->t, toff[n], H);
  ib_cl_add (q, s->xt, s->t, s->xt, (gsize) toff[n] * H);
  ib_cl_layernorm (q, s->xt, qf->emb_ln.w, qf->emb_ln.b, s->xt, toff[n], H,
      eps);
  /* the uploads are asynchronous: wait before @ids and @pos go away */
  ib_cl_queue_wait (q);

  for (i = 0; i < qf->cfg.n_layers; i++)
    layer_many (qf, &qf->layers[i], q, s, seqs, n, off, toff, lseg, qseg, tseg,
        iseg, i == qf->cfg.n_layers - 1);

  /* every sequence's soft tokens, then each to its place */
  ib_cl_linear_segments (q, s->xq, qf->proj, NULL, s->soft, qseg, n);
  for (j = 0; j < n; j++)
    ib_cl_copy_rows (q, s->soft, (gsize) j * Q * TH, TH, seqs[j].soft,
        (gsize) seqs[j].out_row * TH, TH, Q, TH);
out:
  g_free (pos);
  g_free (ids);
  g_free (off);
}
