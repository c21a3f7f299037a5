/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Unigram model: a byte trie over the pieces and the Viterbi best path of sentencepiece's optimized encoder. */
#include "tokenizer-private.h"

#include <math.h>

#define UNK_PENALTY 10.0

typedef struct
{
  IbTokModel parent;
  double *scores; /* [n_pieces] */
  gsize n_pieces;
  gint32 unk_id; /* -1: none */
  gboolean byte_fallback;
  double min_score;
  /* trie: edge (node << 8 | byte) -> child node; terminal id per node */
  IbU64Map *edges;
  GArray *terminal; /* gint32 per node, -1 when no piece ends there */
  gint32 byte_ids[256];
} Unigram;

typedef struct
{
  gint32 id;
  double score;
  gssize starts_at; /* -1: unset */
} BestNode;

static void
trie_insert (Unigram *u, const char *s, gint32 id)
{
  guint64 node = 0, child;
  gint32 none = -1;

  for (; *s; s++) {
    guint64 key = (node << 8) | (guchar) *s;
    if (!ib_u64_map_get (u->edges, key, &child)) {
      child = u->terminal->len;
      g_array_append_val (u->terminal, none);
      ib_u64_map_set (u->edges, key, child);
    }
    node = child;
  }
  g_array_index (u->terminal, gint32, node) = id;
}

static gboolean
unigram_tokenize (IbTokModel *m, const char *s, gsize len, GArray *ids,
    GError **error)
{
  Unigram *u = (Unigram *) m;
  BestNode *best;
  GArray *pieces; /* (start, end) pairs in reverse order */
  gsize pos = 0, end, k;
  double unk_score = u->min_score - UNK_PENALTY;
  gboolean ok = FALSE;
  gssize fused_start = -1, fused_end = -1;

  if (len == 0)
    return TRUE;
  best = g_new (BestNode, len + 1);
  for (k = 0; k <= len; k++) {
    best[k].id = 0;
    best[k].score = 0.0;
    best[k].starts_at = -1;
  }
  pieces = g_array_new (FALSE, FALSE, 2 * sizeof (gsize));

  while (pos < len) {
    double till_here = best[pos].score;
    gboolean has_single = FALSE;
    gsize mblen = g_utf8_next_char (s + pos) - (s + pos), i;
    guint64 node = 0;

    for (i = pos; i < len; i++) {
      guint64 child;
      gint32 id;
      if (!ib_u64_map_get (u->edges, (node << 8) | (guchar) s[i], &child))
        break;
      node = child;
      id = g_array_index (u->terminal, gint32, node);
      if (id >= 0) {
        BestNode *t = &best[i + 1];
        double cand = u->scores[id] + till_here;
        if (t->starts_at < 0 || cand > t->score) {
          t->score = cand;
          t->starts_at = pos;
          t->id = id;
        }
        if (i + 1 - pos == mblen)
          has_single = TRUE;
      }
    }
    if (!has_single) {
      BestNode *t = &best[pos + mblen];
      double cand = unk_score + till_here;
      if (t->starts_at < 0 || cand > t->score) {
        if (u->unk_id < 0) {
          g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_INPUT,
              "Unigram: unknown character but no unk_id");
          goto out;
        }
        t->score = cand;
        t->starts_at = pos;
        t->id = u->unk_id;
      }
    }
    pos += mblen;
  }

  /* walk back; consecutive unknown pieces are fused into one */
  end = len;
  while (end > 0) {
    BestNode *nd = &best[end];
    gsize st = nd->starts_at;
    if (nd->id == u->unk_id) {
      if (fused_end < 0)
        fused_end = end;
      fused_start = st;
    } else {
      if (fused_end >= 0) {
        gsize pr[2] = { fused_start, fused_end };
        g_array_append_val (pieces, pr);
        fused_start = fused_end = -1;
      }
      {
        gsize pr[2] = { st, end };
        g_array_append_val (pieces, pr);
      }
    }
    end = st;
  }
  if (fused_end >= 0) {
    gsize pr[2] = { fused_start, fused_end };
    g_array_append_val (pieces, pr);
  }

  /* piece strings back to ids */
  for (k = pieces->len; k > 0; k--) {
    gsize *pr = &g_array_index (pieces, gsize, 2 * (k - 1));
    gint32 id = ib_vocab_get_len (&m->vocab, s + pr[0], pr[1] - pr[0]);
    if (id < 0 && u->byte_fallback) {
      gboolean all = TRUE;
      gsize b;
      for (b = pr[0]; b < pr[1]; b++)
        all = all && u->byte_ids[(guchar) s[b]] >= 0;
      if (all) {
        for (b = pr[0]; b < pr[1]; b++)
          g_array_append_val (ids, u->byte_ids[(guchar) s[b]]);
        continue;
      }
    }
    if (id < 0) {
      if (u->unk_id < 0) {
        g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_INPUT,
            "Unigram: unknown piece but no unk_id");
        goto out;
      }
      id = u->unk_id;
    }
    g_array_append_val (ids, id);
  }
  ok = TRUE;

out:
  g_free (best);
  g_array_free (pieces, TRUE);
  return ok;
}

static void
unigram_free (IbTokModel *m)
{
  Unigram *u = (Unigram *) m;

  g_free (u->scores);
  ib_u64_map_free (u->edges);
  if (u->terminal)
    g_array_free (u->terminal, TRUE);
}

IbTokModel *
ib_unigram_new (JsonObject *obj, GError **error)
{
  Unigram *u = g_new0 (Unigram, 1);
  JsonNode *vnode = json_object_get_member (obj, "vocab");
  JsonNode *unode = json_object_get_member (obj, "unk_id");
  JsonArray *vocab;
  gboolean ok = FALSE;
  gint32 none = -1;
  guint i;

  u->parent.tokenize = unigram_tokenize;
  u->parent.free = unigram_free;
  ib_vocab_init (&u->parent.vocab);
  u->unk_id = -1;
  if (vnode == NULL || !JSON_NODE_HOLDS_ARRAY (vnode)) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "Unigram model: missing vocab");
    goto out;
  }
  vocab = json_node_get_array (vnode);
  u->n_pieces = json_array_get_length (vocab);
  u->scores = g_new (double, u->n_pieces + 1);
  u->edges = ib_u64_map_new (u->n_pieces * 4);
  u->terminal = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_array_append_val (u->terminal, none);
  u->min_score = INFINITY;
  for (i = 0; i < u->n_pieces; i++) {
    JsonNode *e = json_array_get_element (vocab, i);
    JsonArray *pair;
    JsonNode *t, *sc;
    const char *piece;

    if (!JSON_NODE_HOLDS_ARRAY (e) ||
        json_array_get_length (pair = json_node_get_array (e)) != 2 ||
        !JSON_NODE_HOLDS_VALUE (t = json_array_get_element (pair, 0)) ||
        json_node_get_value_type (t) != G_TYPE_STRING ||
        !JSON_NODE_HOLDS_VALUE (sc = json_array_get_element (pair, 1))) {
      g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
          "Unigram vocab entry %u is not [piece, score]", i);
      goto out;
    }
    piece = json_node_get_string (t);
    u->scores[i] = json_node_get_double (sc);
    ib_vocab_add (&u->parent.vocab, piece, i);
    if (u->scores[i] < u->min_score)
      u->min_score = u->scores[i];
  }
  /* the trie maps each piece to token_to_ids[piece] (last one wins) */
  for (i = 0; i < u->n_pieces; i++) {
    const char *piece = ib_vocab_token (&u->parent.vocab, i);
    trie_insert (u, piece, ib_vocab_get (&u->parent.vocab, piece));
  }
  u->parent.vocab_size = u->n_pieces;
  if (unode != NULL && JSON_NODE_HOLDS_VALUE (unode)) {
    gint64 id = json_node_get_int (unode);
    if (u->n_pieces == 0 || id < 0 || (guint64) id >= u->n_pieces) {
      g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
          "Unigram unk_id %" G_GINT64_FORMAT " is out of the vocabulary", id);
      goto out;
    }
    u->unk_id = (gint32) id;
  }
  u->byte_fallback = ib_json_get_bool (obj, "byte_fallback", FALSE);
  for (i = 0; i < 256; i++) {
    char name[8];
    g_snprintf (name, sizeof (name), "<0x%02X>", i);
    u->byte_ids[i] = ib_vocab_get (&u->parent.vocab, name);
  }
  ok = TRUE;

out:
  if (!ok) {
    ib_tok_model_free (&u->parent);
    return NULL;
  }
  return &u->parent;
}
