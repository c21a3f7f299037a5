/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tensors (Hugging Face names and shapes) that a model config implies. */
#include "ib-expected.h"

#include <string.h>

/* A dimension and the config field it comes from. */
typedef struct
{
  gint64 v;
  const char *src;
} Dim;

static const Dim one = { 1, NULL };

static void
expected_free (gpointer p)
{
  IbExpectedTensor *e = p;

  g_free (e->name);
  g_free (e);
}

/* Adds tensor @prefix@name@suffix with @n dims from @dims. */
static IbExpectedTensor *
add (GPtrArray *a, const char *prefix, const char *name, const char *suffix,
    guint n, const Dim *dims)
{
  IbExpectedTensor *e = g_new0 (IbExpectedTensor, 1);
  guint i;

  e->name = g_strconcat (prefix, name, suffix, NULL);
  e->n_dims = n;
  for (i = 0; i < n; i++) {
    e->shape[i] = dims[i].v;
    e->dim_source[i] = dims[i].src;
  }
  g_ptr_array_add (a, e);
  return e;
}

/* A vector [d]. */
static IbExpectedTensor *
add_vec (GPtrArray *a, const char *prefix, const char *name, Dim d)
{
  return add (a, prefix, name, "", 1, &d);
}

/* A matrix [d0, d1]. */
static IbExpectedTensor *
add_mat (GPtrArray *a, const char *prefix, const char *name, Dim d0, Dim d1)
{
  const Dim dims[2] = { d0, d1 };

  return add (a, prefix, name, "", 2, dims);
}

/* weight [out, in] and, if @bias, bias [out] of the Linear @prefix@name. */
static void
add_linear (GPtrArray *a, const char *prefix, const char *name, Dim out, Dim in,
    gboolean bias)
{
  const Dim dims[2] = { out, in };

  add (a, prefix, name, ".weight", 2, dims);
  if (bias)
    add (a, prefix, name, ".bias", 1, &out);
}

/* weight and bias [d] of the LayerNorm @prefix@name. */
static void
add_layer_norm (GPtrArray *a, const char *prefix, const char *name, Dim d)
{
  add (a, prefix, name, ".weight", 1, &d);
  add (a, prefix, name, ".bias", 1, &d);
}

static void
add_vision (GPtrArray *a, const IbVisionConfig *v)
{
  const char *pre = "vision_model.";
  Dim h = { v->hidden_dim, "vision_config.hidden_size" };
  Dim h3 = { 3 * (gint64) v->hidden_dim, "3*vision_config.hidden_size" };
  Dim inter = { v->intermediate_dim, "vision_config.intermediate_size" };
  Dim patch = { v->patch_size, "vision_config.patch_size" };
  gint64 side = v->image_size / v->patch_size;
  Dim n_pos = { side * side + 1,
    "(vision_config.image_size/vision_config.patch_size)^2+1" };
  Dim rgb = { 3, NULL };
  gchar *p;
  gint l;

  add (a, pre, "embeddings.class_embedding", "", 3, (Dim[]){ one, one, h });
  add (a, pre, "embeddings.position_embedding", "", 3,
      (Dim[]){ one, n_pos, h });
  add (a, pre, "embeddings.patch_embedding.weight", "", 4,
      (Dim[]){ h, rgb, patch, patch });
  add_vec (a, pre, "embeddings.patch_embedding.bias", h);
  for (l = 0; l < v->n_layers; l++) {
    p = g_strdup_printf ("vision_model.encoder.layers.%d.", l);
    add_layer_norm (a, p, "layer_norm1", h);
    /* qkv.bias is (q_bias, zeros, v_bias) */
    add_linear (a, p, "self_attn.qkv", h3, h, v->qkv_bias);
    add_linear (a, p, "self_attn.projection", h, h, TRUE);
    add_layer_norm (a, p, "layer_norm2", h);
    add_linear (a, p, "mlp.fc1", inter, h, TRUE);
    add_linear (a, p, "mlp.fc2", h, inter, TRUE);
    g_free (p);
  }
  add_layer_norm (a, pre, "post_layernorm", h);
}

static void
add_qformer (GPtrArray *a, const IbModelConfig *cfg)
{
  const IbQFormerConfig *q = &cfg->qformer;
  const char *pre = "qformer.";
  Dim h = { q->hidden_dim, "qformer_config.hidden_size" };
  Dim enc = { q->encoder_hidden_dim, "vision_config.hidden_size" };
  Dim inter = { q->intermediate_dim, "qformer_config.intermediate_size" };
  Dim vocab = { q->vocab_size, "qformer_config.vocab_size" };
  Dim n_pos = { q->max_position_embeddings,
    "qformer_config.max_position_embeddings" };
  Dim n_query = { cfg->n_query_tokens, "num_query_tokens" };
  gchar *p;
  gint l;

  add (a, "", "query_tokens", "", 3, (Dim[]){ one, n_query, h });
  add_mat (a, pre, "embeddings.word_embeddings.weight", vocab, h);
  add_mat (a, pre, "embeddings.position_embeddings.weight", n_pos, h);
  add_layer_norm (a, pre, "embeddings.layernorm", h);
  for (l = 0; l < q->n_layers; l++) {
    p = g_strdup_printf ("qformer.encoder.layer.%d.", l);
    add_linear (a, p, "attention.attention.query", h, h, TRUE);
    add_linear (a, p, "attention.attention.key", h, h, TRUE);
    add_linear (a, p, "attention.attention.value", h, h, TRUE);
    add_linear (a, p, "attention.output.dense", h, h, TRUE);
    add_layer_norm (a, p, "attention.output.LayerNorm", h);
    if (l % q->cross_attention_frequency == 0) {
      /* queries attend to the image embeddings */
      add_linear (a, p, "crossattention.attention.query", h, h, TRUE);
      add_linear (a, p, "crossattention.attention.key", h, enc, TRUE);
      add_linear (a, p, "crossattention.attention.value", h, enc, TRUE);
      add_linear (a, p, "crossattention.output.dense", h, h, TRUE);
      add_layer_norm (a, p, "crossattention.output.LayerNorm", h);
    }
    /* text rows */
    add_linear (a, p, "intermediate.dense", inter, h, TRUE);
    add_linear (a, p, "output.dense", h, inter, TRUE);
    add_layer_norm (a, p, "output.LayerNorm", h);
    /* query rows */
    add_linear (a, p, "intermediate_query.dense", inter, h, TRUE);
    add_linear (a, p, "output_query.dense", h, inter, TRUE);
    add_layer_norm (a, p, "output_query.LayerNorm", h);
    g_free (p);
  }
}

static void
add_llama (GPtrArray *a, const IbTextConfig *t)
{
  const char *pre = "language_model.";
  Dim h = { t->hidden_dim, "text_config.hidden_size" };
  Dim q = { (gint64) t->n_heads * t->head_dim,
    "text_config.num_attention_heads*head_dim" };
  Dim kv = { (gint64) t->n_kv_heads * t->head_dim,
    "text_config.num_key_value_heads*head_dim" };
  Dim inter = { t->intermediate_dim, "text_config.intermediate_size" };
  Dim vocab = { t->vocab_size, "text_config.vocab_size" };
  IbExpectedTensor *e;
  gchar *p;
  gint l;

  add_mat (a, pre, "model.embed_tokens.weight", vocab, h);
  for (l = 0; l < t->n_layers; l++) {
    p = g_strdup_printf ("language_model.model.layers.%d.", l);
    add_vec (a, p, "input_layernorm.weight", h);
    add_linear (a, p, "self_attn.q_proj", q, h, t->attention_bias);
    add_linear (a, p, "self_attn.k_proj", kv, h, t->attention_bias);
    add_linear (a, p, "self_attn.v_proj", kv, h, t->attention_bias);
    add_linear (a, p, "self_attn.o_proj", h, q, t->attention_bias);
    add_vec (a, p, "post_attention_layernorm.weight", h);
    add_linear (a, p, "mlp.gate_proj", inter, h, t->mlp_bias);
    add_linear (a, p, "mlp.up_proj", inter, h, t->mlp_bias);
    add_linear (a, p, "mlp.down_proj", h, inter, t->mlp_bias);
    g_free (p);
  }
  add_vec (a, pre, "model.norm.weight", h);
  e = add_mat (a, pre, "lm_head.weight", vocab, h);
  if (t->tie_word_embeddings)
    e->alias = "language_model.model.embed_tokens.weight";
}

/* One T5 attention block (SelfAttention or EncDecAttention) at @p. */
static void
add_t5_attention (GPtrArray *a, const char *p, const IbTextConfig *t,
    gboolean rel_bias)
{
  Dim d = { t->hidden_dim, "text_config.d_model" };
  Dim inner = { (gint64) t->n_heads * t->head_dim,
    "text_config.num_heads*d_kv" };
  Dim buckets = { t->relative_attention_num_buckets,
    "text_config.relative_attention_num_buckets" };
  Dim heads = { t->n_heads, "text_config.num_heads" };

  add_mat (a, p, "q.weight", inner, d);
  add_mat (a, p, "k.weight", inner, d);
  add_mat (a, p, "v.weight", inner, d);
  add_mat (a, p, "o.weight", d, inner);
  /* the position bias table lives in block 0 only; later blocks reuse it */
  if (rel_bias)
    add_mat (a, p, "relative_attention_bias.weight", buckets, heads);
}

/* The gated (wi_0, wi_1) or plain (wi) feed-forward at @p. */
static void
add_t5_ffn (GPtrArray *a, const char *p, const IbTextConfig *t)
{
  Dim d = { t->hidden_dim, "text_config.d_model" };
  Dim ff = { t->intermediate_dim, "text_config.d_ff" };

  if (t->gated_ffn) {
    add_mat (a, p, "DenseReluDense.wi_0.weight", ff, d);
    add_mat (a, p, "DenseReluDense.wi_1.weight", ff, d);
  } else {
    add_mat (a, p, "DenseReluDense.wi.weight", ff, d);
  }
  add_mat (a, p, "DenseReluDense.wo.weight", d, ff);
}

static void
add_t5 (GPtrArray *a, const IbTextConfig *t)
{
  const char *pre = "language_model.";
  const char *shared = "language_model.shared.weight";
  Dim d = { t->hidden_dim, "text_config.d_model" };
  Dim vocab = { t->vocab_size, "text_config.vocab_size" };
  IbExpectedTensor *e;
  gchar *p, *q;
  gint l;

  add_mat (a, pre, "shared.weight", vocab, d);
  add_mat (a, pre, "encoder.embed_tokens.weight", vocab, d)->optional = TRUE;
  add_mat (a, pre, "decoder.embed_tokens.weight", vocab, d)->optional = TRUE;
  for (l = 0; l < t->n_layers; l++) {
    p = g_strdup_printf ("language_model.encoder.block.%d.layer.", l);
    q = g_strconcat (p, "0.SelfAttention.", NULL);
    add_t5_attention (a, q, t, l == 0);
    add_vec (a, p, "0.layer_norm.weight", d);
    g_free (q);
    q = g_strconcat (p, "1.", NULL);
    add_t5_ffn (a, q, t);
    add_vec (a, p, "1.layer_norm.weight", d);
    g_free (q);
    g_free (p);
  }
  add_vec (a, pre, "encoder.final_layer_norm.weight", d);
  for (l = 0; l < t->n_decoder_layers; l++) {
    p = g_strdup_printf ("language_model.decoder.block.%d.layer.", l);
    q = g_strconcat (p, "0.SelfAttention.", NULL);
    add_t5_attention (a, q, t, l == 0);
    add_vec (a, p, "0.layer_norm.weight", d);
    g_free (q);
    q = g_strconcat (p, "1.EncDecAttention.", NULL);
    add_t5_attention (a, q, t, FALSE);
    add_vec (a, p, "1.layer_norm.weight", d);
    g_free (q);
    q = g_strconcat (p, "2.", NULL);
    add_t5_ffn (a, q, t);
    add_vec (a, p, "2.layer_norm.weight", d);
    g_free (q);
    g_free (p);
  }
  add_vec (a, pre, "decoder.final_layer_norm.weight", d);
  /* transformers ties lm_head to shared whenever the file has no lm_head;
   * the released Flan-T5 files carry their own */
  e = add_mat (a, pre, "lm_head.weight", vocab, d);
  e->alias = shared;
}

GPtrArray *
ib_expected_tensors (const IbModelConfig *config)
{
  GPtrArray *a;
  Dim t_hidden;

  g_return_val_if_fail (config != NULL, NULL);

  a = g_ptr_array_new_with_free_func (expected_free);
  add_vision (a, &config->vision);
  add_qformer (a, config);
  t_hidden.v = config->text.hidden_dim;
  t_hidden.src = config->text.arch == IB_TEXT_ARCH_T5 ?
      "text_config.d_model" :
      "text_config.hidden_size";
  add_linear (a, "", "language_projection", t_hidden,
      (Dim){ config->qformer.hidden_dim, "qformer_config.hidden_size" }, TRUE);
  if (config->text.arch == IB_TEXT_ARCH_T5)
    add_t5 (a, &config->text);
  else
    add_llama (a, &config->text);
  return a;
}

gboolean
ib_expected_is_ignored (const char *name)
{
  g_return_val_if_fail (name != NULL, FALSE);

  return g_str_has_suffix (name, ".position_ids") ||
      g_str_has_suffix (name, ".rotary_emb.inv_freq") ||
      strcmp (name,
          "language_model.decoder.block.0.layer.1.EncDecAttention."
          "relative_attention_bias.weight") == 0;
}
