/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The added vocabulary: special/added tokens, their ids, and splitting them out of the text before the model runs. */
#include "tokenizer-private.h"
#include "unicode.h"

#include <string.h>

typedef struct
{
  char *content;
  gboolean single_word, lstrip, rstrip, normalized, special;
} AddedToken;

/* a byte trie for leftmost-longest matching of the token patterns */
typedef struct
{
  IbU64Map *edges; /* (node << 8 | byte) -> child */
  GArray *terminal; /* gint32 token id per node, -1 if none */
  gboolean first[256]; /* bytes that start a pattern */
} Trie;

struct _IbAddedVocab
{
  GHashTable *map; /* content -> GINT_TO_POINTER (id + 1) */
  GHashTable *map_r; /* GINT_TO_POINTER (id) -> AddedToken */
  GPtrArray *added; /* non-special tokens, in order */
  GPtrArray *special; /* special tokens, in order */
  GHashTable *special_set; /* contents of special tokens */
  GPtrArray *owned; /* every AddedToken allocated */
  Trie split_trie; /* tokens matched on the raw text */
  Trie norm_trie; /* tokens matched on the normalized text */
};

static void
added_token_free (AddedToken *t)
{
  g_free (t->content);
  g_free (t);
}

static void
trie_init (Trie *t)
{
  gint32 none = -1;

  t->edges = ib_u64_map_new (64);
  memset (t->first, 0, sizeof (t->first));
  t->terminal = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_array_append_val (t->terminal, none);
}

static void
trie_clear (Trie *t)
{
  g_clear_pointer (&t->edges, ib_u64_map_free);
  if (t->terminal)
    g_array_free (t->terminal, TRUE);
  t->terminal = NULL;
}

static void
trie_insert (Trie *t, const char *s, gsize len, gint32 id)
{
  guint64 node = 0, child;
  gint32 none = -1;
  gsize i;

  if (len == 0)
    return;
  t->first[(guchar) s[0]] = TRUE;
  for (i = 0; i < len; i++) {
    guint64 key = (node << 8) | (guchar) s[i];
    if (!ib_u64_map_get (t->edges, key, &child)) {
      child = t->terminal->len;
      g_array_append_val (t->terminal, none);
      ib_u64_map_set (t->edges, key, child);
    }
    node = child;
  }
  /* with duplicate patterns the first one added wins */
  if (g_array_index (t->terminal, gint32, node) < 0)
    g_array_index (t->terminal, gint32, node) = id;
}

/* leftmost-longest match at or after @from: returns FALSE if none */
static gboolean
trie_find (const Trie *t, const char *s, gsize len, gsize from, gsize *mstart,
    gsize *mend, gint32 *id)
{
  gsize i, j;

  if (t->terminal->len <= 1)
    return FALSE;
  for (i = from; i < len; i++) {
    guint64 node = 0, child;
    gssize best = -1;
    gint32 best_id = -1;
    if (!t->first[(guchar) s[i]])
      continue;
    for (j = i; j < len; j++) {
      if (!ib_u64_map_get (t->edges, (node << 8) | (guchar) s[j], &child))
        break;
      node = child;
      if (g_array_index (t->terminal, gint32, node) >= 0) {
        best = j + 1;
        best_id = g_array_index (t->terminal, gint32, node);
      }
    }
    if (best >= 0) {
      *mstart = i;
      *mend = best;
      *id = best_id;
      return TRUE;
    }
  }
  return FALSE;
}

IbAddedVocab *
ib_added_vocab_new (void)
{
  IbAddedVocab *av = g_new0 (IbAddedVocab, 1);

  av->map = g_hash_table_new (g_str_hash, g_str_equal);
  av->map_r = g_hash_table_new (g_direct_hash, g_direct_equal);
  av->added = g_ptr_array_new ();
  av->special = g_ptr_array_new ();
  av->special_set = g_hash_table_new (g_str_hash, g_str_equal);
  av->owned =
      g_ptr_array_new_with_free_func ((GDestroyNotify) added_token_free);
  trie_init (&av->split_trie);
  trie_init (&av->norm_trie);
  return av;
}

void
ib_added_vocab_free (IbAddedVocab *av)
{
  if (av == NULL)
    return;
  g_hash_table_unref (av->map);
  g_hash_table_unref (av->map_r);
  g_ptr_array_free (av->added, TRUE);
  g_ptr_array_free (av->special, TRUE);
  g_hash_table_unref (av->special_set);
  g_ptr_array_free (av->owned, TRUE);
  trie_clear (&av->split_trie);
  trie_clear (&av->norm_trie);
  g_free (av);
}

gint32
ib_added_vocab_get (const IbAddedVocab *av, const char *token)
{
  gpointer p = g_hash_table_lookup (av->map, token);

  return p ? GPOINTER_TO_INT (p) - 1 : -1;
}

const char *
ib_added_vocab_token (const IbAddedVocab *av, gint32 id)
{
  AddedToken *t = g_hash_table_lookup (av->map_r, GINT_TO_POINTER (id));

  return t ? t->content : NULL;
}

gboolean
ib_added_vocab_is_special (const IbAddedVocab *av, const char *token)
{
  return g_hash_table_contains (av->special_set, token);
}

guint
ib_added_vocab_count_new (const IbAddedVocab *av, const IbTokModel *model)
{
  GHashTableIter it;
  gpointer key;
  guint n = 0;

  g_hash_table_iter_init (&it, av->map);
  while (g_hash_table_iter_next (&it, &key, NULL))
    if (ib_vocab_get (&model->vocab, key) < 0)
      n++;
  return n;
}

static gint32
token_to_id (const IbAddedVocab *av, const IbTokModel *model, const char *s)
{
  gint32 id = ib_added_vocab_get (av, s);

  return id >= 0 ? id : ib_vocab_get (&model->vocab, s);
}

static gboolean
same_token (const AddedToken *a, const AddedToken *b)
{
  return strcmp (a->content, b->content) == 0 &&
      a->single_word == b->single_word && a->lstrip == b->lstrip &&
      a->rstrip == b->rstrip && a->normalized == b->normalized &&
      a->special == b->special;
}

/* refresh_added_tokens: rebuild both tries */
static void
refresh (IbAddedVocab *av, const IbTokModel *model,
    const IbNormalizer *normalizer)
{
  GPtrArray *lists[2] = { av->special, av->added };
  guint l, i;

  trie_clear (&av->split_trie);
  trie_clear (&av->norm_trie);
  trie_init (&av->split_trie);
  trie_init (&av->norm_trie);
  for (l = 0; l < 2; l++) {
    for (i = 0; i < lists[l]->len; i++) {
      AddedToken *t = g_ptr_array_index (lists[l], i);
      gint32 id = token_to_id (av, model, t->content);
      if (!t->normalized) {
        trie_insert (&av->split_trie, t->content, strlen (t->content), id);
      } else {
        IbNormStr *ns = ib_ns_new (t->content, strlen (t->content), 0);
        ib_normalizer_apply (normalizer, ns);
        trie_insert (&av->norm_trie, ns->s, ns->len, id);
        ib_ns_free (ns);
      }
    }
  }
}

gboolean
ib_added_vocab_add_json (IbAddedVocab *av, JsonArray *tokens, IbTokModel *model,
    const IbNormalizer *normalizer, GError **error)
{
  GPtrArray *list = g_ptr_array_new ();
  GPtrArray *existing = g_ptr_array_new ();
  GHashTableIter it;
  gpointer key, value;
  gint64 max_id = -1;
  gint32 next_id;
  guint i, j;
  gboolean ok = FALSE;

  for (i = 0; i < json_array_get_length (tokens); i++) {
    JsonNode *n = json_array_get_element (tokens, i);
    JsonObject *o;
    AddedToken *t;
    const char *content;

    if (!JSON_NODE_HOLDS_OBJECT (n) ||
        (content = ib_json_get_string (o = json_node_get_object (n), "content",
             NULL)) == NULL) {
      g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
          "added token %u has no content", i);
      goto out;
    }
    t = g_new0 (AddedToken, 1);
    t->content = g_strdup (content);
    t->special = ib_json_get_bool (o, "special", FALSE);
    t->single_word = ib_json_get_bool (o, "single_word", FALSE);
    t->lstrip = ib_json_get_bool (o, "lstrip", FALSE);
    t->rstrip = ib_json_get_bool (o, "rstrip", FALSE);
    t->normalized = ib_json_get_bool (o, "normalized", !t->special);
    g_ptr_array_add (av->owned, t);
    g_ptr_array_add (list, t);
  }

  for (i = 0; i < list->len; i++) {
    AddedToken *t = g_ptr_array_index (list, i);
    if (t->special && *t->content &&
        !g_hash_table_contains (av->special_set, t->content)) {
      g_ptr_array_add (av->special, t);
      g_hash_table_add (av->special_set, t->content);
    }
  }

  g_hash_table_iter_init (&it, av->map_r);
  while (g_hash_table_iter_next (&it, &key, &value)) {
    g_ptr_array_add (existing, value);
    max_id = MAX (max_id, GPOINTER_TO_INT (key));
  }
  if (max_id < 0)
    next_id = model->vocab_size;
  else if ((gsize) max_id >= model->vocab_size || model->vocab_size == 0)
    next_id = max_id + 1;
  else
    next_id = model->vocab_size;

  for (i = 0; i < list->len; i++) {
    AddedToken *t = g_ptr_array_index (list, i);
    gboolean seen = FALSE;
    gint32 id;

    for (j = 0; j < existing->len && !seen; j++)
      seen = same_token (g_ptr_array_index (existing, j), t);
    if (*t->content == '\0' || seen)
      continue;
    id = token_to_id (av, model, t->content);
    if (id < 0)
      id = next_id++;
    g_hash_table_insert (av->map, t->content, GINT_TO_POINTER (id + 1));
    g_hash_table_insert (av->map_r, GINT_TO_POINTER (id), t);
    if (!g_hash_table_contains (av->special_set, t->content))
      g_ptr_array_add (av->added, t);
    g_ptr_array_add (existing, t);
  }
  refresh (av, model, normalizer);
  ok = TRUE;

out:
  g_ptr_array_free (list, TRUE);
  g_ptr_array_free (existing, TRUE);
  return ok;
}

/* find_matches: pieces of @ns->s, each with the id of the added token it
 * is (or -1), as (start, end, id) triples */
static GArray *
find_matches (const IbAddedVocab *av, const Trie *trie, const char *s,
    gsize len)
{
  GArray *out = g_array_new (FALSE, FALSE, 3 * sizeof (gssize));
  gsize start_offset = 0, from = 0, mstart, mend;
  gint32 id;

  if (len == 0) {
    gssize t[3] = { 0, 0, -1 };
    g_array_append_val (out, t);
    return out;
  }
  while (from < len && trie_find (trie, s, len, from, &mstart, &mend, &id)) {
    const AddedToken *tok =
        g_hash_table_lookup (av->map_r, GINT_TO_POINTER (id));
    gsize start = mstart, stop = mend;

    from = mend;
    if (tok == NULL)
      continue;
    if (tok->single_word) {
      gboolean start_space = start == 0 ||
          !ib_uni_is_word (g_utf8_get_char (g_utf8_prev_char (s + start)));
      gboolean stop_space =
          stop == len || !ib_uni_is_word (g_utf8_get_char (s + stop));
      if (!start_space || !stop_space)
        continue;
    }
    if (tok->lstrip) {
      gsize ns = start;
      while (ns > 0) {
        const char *pr = g_utf8_prev_char (s + ns);
        if (!ib_uni_is_whitespace (g_utf8_get_char (pr)))
          break;
        ns = pr - s;
      }
      start = MAX (ns, start_offset);
    }
    if (tok->rstrip) {
      while (stop < len && ib_uni_is_whitespace (g_utf8_get_char (s + stop)))
        stop = g_utf8_next_char (s + stop) - s;
    }
    if (start_offset < start) {
      gssize t[3] = { start_offset, start, -1 };
      g_array_append_val (out, t);
    }
    {
      gssize t[3] = { start, stop, id };
      g_array_append_val (out, t);
    }
    start_offset = stop;
  }
  if (start_offset != len) {
    gssize t[3] = { start_offset, len, -1 };
    g_array_append_val (out, t);
  }
  return out;
}

/* split_with_indices on one split, appending non-empty pieces to @out */
static void
split_with_indices (const IbAddedVocab *av, const Trie *trie, IbNormStr *ns,
    GArray *out)
{
  GArray *m = find_matches (av, trie, ns->s, ns->len);
  guint i;

  for (i = 0; i < m->len; i++) {
    gssize *t = &g_array_index (m, gssize, 3 * i);
    IbSplit sp;
    if (t[1] <= t[0])
      continue;
    sp.ns = ib_ns_slice (ns, t[0], t[1]);
    sp.id = (gint32) t[2];
    g_array_append_val (out, sp);
  }
  g_array_free (m, TRUE);
}

void
ib_splits_free (GArray *splits)
{
  guint i;

  if (splits == NULL)
    return;
  for (i = 0; i < splits->len; i++)
    ib_ns_free (g_array_index (splits, IbSplit, i).ns);
  g_array_free (splits, TRUE);
}

GArray *
ib_added_vocab_extract (const IbAddedVocab *av, const IbNormalizer *normalizer,
    const char *text, gsize len)
{
  GArray *first = g_array_new (FALSE, FALSE, sizeof (IbSplit));
  GArray *out = g_array_new (FALSE, FALSE, sizeof (IbSplit));
  IbNormStr *whole = ib_ns_new (text, len, 0);
  guint i;

  split_with_indices (av, &av->split_trie, whole, first);
  ib_ns_free (whole);
  for (i = 0; i < first->len; i++) {
    IbSplit *sp = &g_array_index (first, IbSplit, i);
    if (sp->id >= 0) {
      g_array_append_val (out, *sp);
      sp->ns = NULL;
      continue;
    }
    ib_normalizer_apply (normalizer, sp->ns);
    split_with_indices (av, &av->norm_trie, sp->ns, out);
  }
  ib_splits_free (first);
  return out;
}
