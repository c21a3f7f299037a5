/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The BPE model: byte fallback, unk fusing, and the rank-ordered merge loop on a binary heap. */
#include "tokenizer-private.h"

#include <string.h>

typedef struct
{
  IbTokModel parent;
  IbU64Map *merges; /* (a << 32 | b) -> (rank << 32 | new_id) */
  char *unk_token;
  char *prefix; /* continuing_subword_prefix */
  char *suffix; /* end_of_word_suffix */
  gboolean fuse_unk, byte_fallback, ignore_merges;
  gint32 byte_ids[256]; /* <0xNN> tokens, -1 when absent */
} Bpe;

typedef struct
{
  gint32 c;
  gint32 prev, next;
  gsize len;
} Symbol;

typedef struct
{
  guint32 rank;
  guint32 pos;
  gint32 new_id;
} Merge;

/* min-heap on (rank, pos) */
static inline gboolean
merge_less (const Merge *a, const Merge *b)
{
  return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void
heap_push (GArray *h, Merge m)
{
  gsize i = h->len;
  Merge *d;

  g_array_append_val (h, m);
  d = (Merge *) (void *) h->data;
  while (i > 0) {
    gsize parent = (i - 1) / 2;
    if (!merge_less (&d[i], &d[parent]))
      break;
    Merge t = d[i];
    d[i] = d[parent];
    d[parent] = t;
    i = parent;
  }
}

static Merge
heap_pop (GArray *h)
{
  Merge *d = (Merge *) (void *) h->data;
  Merge top = d[0];
  gsize i = 0, n;

  d[0] = d[h->len - 1];
  g_array_set_size (h, h->len - 1);
  n = h->len;
  for (;;) {
    gsize l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && merge_less (&d[l], &d[m]))
      m = l;
    if (r < n && merge_less (&d[r], &d[m]))
      m = r;
    if (m == i)
      break;
    Merge t = d[i];
    d[i] = d[m];
    d[m] = t;
    i = m;
  }
  return top;
}

static gboolean
get_merge (const Bpe *b, gint32 x, gint32 y, guint32 *rank, gint32 *new_id)
{
  guint64 v;

  if (!ib_u64_map_get (b->merges, ((guint64) (guint32) x << 32) | (guint32) y,
          &v))
    return FALSE;
  *rank = v >> 32;
  *new_id = (gint32) (v & 0xFFFFFFFFu);
  return TRUE;
}

static void
word_add (GArray *w, gint32 c, gsize len)
{
  Symbol s = { c, (gint32) w->len - 1, -1, len };

  if (w->len > 0)
    g_array_index (w, Symbol, w->len - 1).next = w->len;
  g_array_append_val (w, s);
}

static void
merge_all (const Bpe *b, GArray *w)
{
  Symbol *sy;
  GArray *heap = g_array_sized_new (FALSE, FALSE, sizeof (Merge), w->len);
  guint i;

  for (i = 0; i + 1 < w->len; i++) {
    Merge m;
    Symbol *s = &g_array_index (w, Symbol, 0);
    if (get_merge (b, s[i].c, s[i + 1].c, &m.rank, &m.new_id)) {
      m.pos = i;
      heap_push (heap, m);
    }
  }
  sy = (Symbol *) (void *) w->data;
  while (heap->len > 0) {
    Merge top = heap_pop (heap), m;
    Symbol right;
    guint32 rank;
    gint32 nid;

    if (sy[top.pos].len == 0 || sy[top.pos].next == -1)
      continue;
    right = sy[sy[top.pos].next];
    if (!get_merge (b, sy[top.pos].c, right.c, &rank, &nid) ||
        nid != top.new_id)
      continue;
    /* merge the right symbol into this one */
    sy[top.pos].c = top.new_id;
    sy[top.pos].len += right.len;
    sy[sy[top.pos].next].len = 0;
    sy[top.pos].next = right.next;
    if (right.next > -1 && (guint) right.next < w->len)
      sy[right.next].prev = top.pos;
    if (sy[top.pos].prev >= 0) {
      gint32 prev = sy[top.pos].prev;
      if (get_merge (b, sy[prev].c, sy[top.pos].c, &m.rank, &m.new_id)) {
        m.pos = prev;
        heap_push (heap, m);
      }
    }
    if (sy[top.pos].next >= 0 && (guint) sy[top.pos].next < w->len) {
      gint32 next = sy[top.pos].next;
      if (get_merge (b, sy[top.pos].c, sy[next].c, &m.rank, &m.new_id)) {
        m.pos = top.pos;
        heap_push (heap, m);
      }
    }
  }
  g_array_free (heap, TRUE);
}

static gboolean
unk_id (const Bpe *b, gint32 *id, GError **error)
{
  *id = ib_vocab_get (&b->parent.vocab, b->unk_token);
  if (*id < 0) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "BPE unk_token '%s' is not in the vocabulary", b->unk_token);
    return FALSE;
  }
  return TRUE;
}

static gboolean
bpe_tokenize (IbTokModel *m, const char *s, gsize len, GArray *ids,
    GError **error)
{
  Bpe *b = (Bpe *) m;
  GArray *w = NULL;
  GString *piece = g_string_new (NULL);
  gboolean have_unk = FALSE, ok = FALSE;
  gint32 u_id = -1;
  gsize u_len = 0, i = 0, k;

  if (len == 0)
    return TRUE;
  if (b->ignore_merges) {
    gint32 id = ib_vocab_get_len (&m->vocab, s, len);
    if (id >= 0) {
      g_array_append_val (ids, id);
      ok = TRUE;
      goto out;
    }
  }
  w = g_array_sized_new (FALSE, FALSE, sizeof (Symbol), len);
  while (i < len) {
    gsize n = g_utf8_next_char (s + i) - (s + i);
    gint32 id;

    g_string_truncate (piece, 0);
    if (i > 0 && b->prefix)
      g_string_append (piece, b->prefix);
    g_string_append_len (piece, s + i, n);
    if (i + n >= len && b->suffix)
      g_string_append (piece, b->suffix);

    id = ib_vocab_get_len (&m->vocab, piece->str, piece->len);
    if (id >= 0) {
      if (have_unk) {
        word_add (w, u_id, u_len);
        have_unk = FALSE;
      }
      word_add (w, id, n);
    } else {
      gboolean done = FALSE;
      if (b->byte_fallback) {
        gboolean all = TRUE;
        for (k = 0; k < piece->len; k++)
          all = all && b->byte_ids[(guchar) piece->str[k]] >= 0;
        if (all) {
          for (k = 0; k < piece->len; k++)
            word_add (w, b->byte_ids[(guchar) piece->str[k]], 1);
          done = TRUE;
        }
      }
      if (!done && b->unk_token) {
        if (have_unk && b->fuse_unk) {
          u_len += n;
        } else {
          if (have_unk)
            word_add (w, u_id, u_len);
          if (!unk_id (b, &u_id, error))
            goto out;
          u_len = n;
          have_unk = TRUE;
        }
      }
    }
    i += n;
  }
  if (have_unk)
    word_add (w, u_id, u_len);
  merge_all (b, w);
  for (k = 0; k < w->len; k++) {
    Symbol *sy = &g_array_index (w, Symbol, k);
    if (sy->len != 0)
      g_array_append_val (ids, sy->c);
  }
  ok = TRUE;

out:
  if (w)
    g_array_free (w, TRUE);
  g_string_free (piece, TRUE);
  return ok;
}

static void
bpe_free (IbTokModel *m)
{
  Bpe *b = (Bpe *) m;

  ib_u64_map_free (b->merges);
  g_free (b->unk_token);
  g_free (b->prefix);
  g_free (b->suffix);
}

/* a merge is "a b" (legacy) or ["a", "b"] */
static gboolean
merge_pair (JsonNode *node, guint index, char **a, char **b, GError **error)
{
  if (JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_STRING) {
    const char *s = json_node_get_string (node);
    const char *sp = strchr (s, ' ');
    if (sp == NULL || strchr (sp + 1, ' ') != NULL)
      goto bad;
    *a = g_strndup (s, sp - s);
    *b = g_strdup (sp + 1);
    return TRUE;
  }
  if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *arr = json_node_get_array (node);
    JsonNode *x, *y;
    if (json_array_get_length (arr) != 2)
      goto bad;
    x = json_array_get_element (arr, 0);
    y = json_array_get_element (arr, 1);
    if (!JSON_NODE_HOLDS_VALUE (x) || !JSON_NODE_HOLDS_VALUE (y) ||
        json_node_get_value_type (x) != G_TYPE_STRING ||
        json_node_get_value_type (y) != G_TYPE_STRING)
      goto bad;
    *a = g_strdup (json_node_get_string (x));
    *b = g_strdup (json_node_get_string (y));
    return TRUE;
  }
bad:
  g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
      "BPE merge %u is malformed", index + 1);
  return FALSE;
}

IbTokModel *
ib_bpe_new (JsonObject *obj, gsize n_added, GError **error)
{
  Bpe *b = g_new0 (Bpe, 1);
  JsonNode *vnode = json_object_get_member (obj, "vocab");
  JsonNode *mnode = json_object_get_member (obj, "merges");
  JsonObject *vocab;
  JsonArray *merges;
  GList *members = NULL, *l;
  gboolean ok = FALSE;
  gsize prefix_len;
  guint i;
  JsonNode *dropout = json_object_get_member (obj, "dropout");

  b->parent.tokenize = bpe_tokenize;
  b->parent.free = bpe_free;
  ib_vocab_init (&b->parent.vocab);
  if (vnode == NULL || !JSON_NODE_HOLDS_OBJECT (vnode) || mnode == NULL ||
      !JSON_NODE_HOLDS_ARRAY (mnode)) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "BPE model: missing vocab/merges");
    goto out;
  }
  if (dropout != NULL && JSON_NODE_HOLDS_VALUE (dropout) &&
      json_node_get_double (dropout) > 0.0) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_UNSUPPORTED,
        "BPE dropout is not supported");
    goto out;
  }
  b->unk_token = g_strdup (ib_json_get_string (obj, "unk_token", NULL));
  b->prefix =
      g_strdup (ib_json_get_string (obj, "continuing_subword_prefix", NULL));
  b->suffix = g_strdup (ib_json_get_string (obj, "end_of_word_suffix", NULL));
  b->fuse_unk = ib_json_get_bool (obj, "fuse_unk", FALSE);
  b->byte_fallback = ib_json_get_bool (obj, "byte_fallback", FALSE);
  b->ignore_merges = ib_json_get_bool (obj, "ignore_merges", FALSE);

  vocab = json_node_get_object (vnode);
  members = json_object_get_members (vocab);
  for (l = members; l; l = l->next) {
    JsonNode *idn = json_object_get_member (vocab, l->data);
    gint64 id;
    if (!JSON_NODE_HOLDS_VALUE (idn)) {
      g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
          "BPE vocab entry '%s' has no valid id", (char *) l->data);
      goto out;
    }
    id = json_node_get_int (idn);
    if (!ib_vocab_check_id ("BPE", l->data, id, json_object_get_size (vocab),
            n_added, error))
      goto out;
    ib_vocab_add (&b->parent.vocab, l->data, (gint32) id);
  }
  b->parent.vocab_size = g_hash_table_size (b->parent.vocab.to_id);
  for (i = 0; i < 256; i++) {
    char name[8];
    g_snprintf (name, sizeof (name), "<0x%02X>", i);
    b->byte_ids[i] = ib_vocab_get (&b->parent.vocab, name);
  }

  merges = json_node_get_array (mnode);
  b->merges = ib_u64_map_new (json_array_get_length (merges));
  prefix_len = b->prefix ? strlen (b->prefix) : 0;
  for (i = 0; i < json_array_get_length (merges); i++) {
    char *x = NULL, *y = NULL, *joined = NULL;
    gint32 xi, yi, ni;
    gboolean good = FALSE;

    if (!merge_pair (json_array_get_element (merges, i), i, &x, &y, error))
      goto out;
    xi = ib_vocab_get (&b->parent.vocab, x);
    yi = ib_vocab_get (&b->parent.vocab, y);
    if (xi >= 0 && yi >= 0 && strlen (y) >= prefix_len) {
      joined = g_strconcat (x, y + prefix_len, NULL);
      ni = ib_vocab_get (&b->parent.vocab, joined);
      if (ni >= 0) {
        ib_u64_map_set (b->merges,
            ((guint64) (guint32) xi << 32) | (guint32) yi,
            ((guint64) i << 32) | (guint32) ni);
        good = TRUE;
      }
    }
    if (!good)
      g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
          "BPE merge '%s %s': token out of vocabulary", x, y);
    g_free (x);
    g_free (y);
    g_free (joined);
    if (!good)
      goto out;
  }
  ok = TRUE;

out:
  g_list_free (members);
  if (!ok) {
    ib_tok_model_free (&b->parent);
    return NULL;
  }
  return &b->parent;
}
