/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The WordPiece model (greedy longest match with "##" continuations) and the trivial WordLevel model. */
#include "tokenizer-private.h"

#include <string.h>

typedef struct
{
  IbTokModel parent;
  char *unk_token;
  char *prefix;
  gsize max_chars;
} WordPiece;

static gboolean
unk (IbTokModel *m, const char *unk_token, GArray *ids, GError **error)
{
  gint32 id = unk_token ? ib_vocab_get (&m->vocab, unk_token) : -1;

  if (id < 0) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "unk_token '%s' is not in the vocabulary",
        unk_token ? unk_token : "(null)");
    return FALSE;
  }
  g_array_append_val (ids, id);
  return TRUE;
}

static gboolean
wordpiece_tokenize (IbTokModel *m, const char *s, gsize len, GArray *ids,
    GError **error)
{
  WordPiece *w = (WordPiece *) m;
  GString *sub;
  gsize start = 0, mark = ids->len, plen = strlen (w->prefix);

  if (ib_utf8_count (s, len) > w->max_chars)
    return unk (m, w->unk_token, ids, error);

  sub = g_string_new (NULL);
  while (start < len) {
    gsize end = len;
    gint32 found = -1;

    while (start < end) {
      g_string_truncate (sub, 0);
      if (start > 0)
        g_string_append_len (sub, w->prefix, plen);
      g_string_append_len (sub, s + start, end - start);
      found = ib_vocab_get_len (&m->vocab, sub->str, sub->len);
      if (found >= 0)
        break;
      end = g_utf8_prev_char (s + end) - s;
    }
    if (found < 0) {
      /* the whole word is unknown */
      g_array_set_size (ids, mark);
      g_string_free (sub, TRUE);
      return unk (m, w->unk_token, ids, error);
    }
    g_array_append_val (ids, found);
    start = end;
  }
  g_string_free (sub, TRUE);
  return TRUE;
}

static void
wordpiece_free (IbTokModel *m)
{
  WordPiece *w = (WordPiece *) m;

  g_free (w->unk_token);
  g_free (w->prefix);
}

static gboolean
load_vocab_dict (IbTokModel *m, const char *kind, JsonObject *obj,
    gsize n_added, GError **error)
{
  JsonNode *vnode = json_object_get_member (obj, "vocab");
  JsonObject *vocab;
  GList *members, *l;
  gboolean ok = TRUE;

  if (vnode == NULL || !JSON_NODE_HOLDS_OBJECT (vnode)) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "model: missing vocab");
    return FALSE;
  }
  vocab = json_node_get_object (vnode);
  members = json_object_get_members (vocab);
  for (l = members; l; l = l->next) {
    JsonNode *idn = json_object_get_member (vocab, l->data);
    gint64 id;
    if (!JSON_NODE_HOLDS_VALUE (idn)) {
      g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
          "vocab entry '%s' has no valid id", (char *) l->data);
      ok = FALSE;
      break;
    }
    id = json_node_get_int (idn);
    if (!ib_vocab_check_id (kind, l->data, id, json_object_get_size (vocab),
            n_added, error)) {
      ok = FALSE;
      break;
    }
    ib_vocab_add (&m->vocab, l->data, (gint32) id);
  }
  g_list_free (members);
  m->vocab_size = g_hash_table_size (m->vocab.to_id);
  return ok;
}

IbTokModel *
ib_wordpiece_new (JsonObject *obj, gsize n_added, GError **error)
{
  WordPiece *w = g_new0 (WordPiece, 1);

  w->parent.tokenize = wordpiece_tokenize;
  w->parent.free = wordpiece_free;
  ib_vocab_init (&w->parent.vocab);
  w->unk_token = g_strdup (ib_json_get_string (obj, "unk_token", "[UNK]"));
  w->prefix =
      g_strdup (ib_json_get_string (obj, "continuing_subword_prefix", "##"));
  w->max_chars = ib_json_get_int (obj, "max_input_chars_per_word", 100);
  if (!load_vocab_dict (&w->parent, "WordPiece", obj, n_added, error)) {
    ib_tok_model_free (&w->parent);
    return NULL;
  }
  return &w->parent;
}

typedef struct
{
  IbTokModel parent;
  char *unk_token;
} WordLevel;

static gboolean
wordlevel_tokenize (IbTokModel *m, const char *s, gsize len, GArray *ids,
    GError **error)
{
  WordLevel *w = (WordLevel *) m;
  gint32 id = ib_vocab_get_len (&m->vocab, s, len);

  if (id >= 0) {
    g_array_append_val (ids, id);
    return TRUE;
  }
  return unk (m, w->unk_token, ids, error);
}

static void
wordlevel_free (IbTokModel *m)
{
  g_free (((WordLevel *) m)->unk_token);
}

IbTokModel *
ib_wordlevel_new (JsonObject *obj, gsize n_added, GError **error)
{
  WordLevel *w = g_new0 (WordLevel, 1);

  w->parent.tokenize = wordlevel_tokenize;
  w->parent.free = wordlevel_free;
  ib_vocab_init (&w->parent.vocab);
  w->unk_token = g_strdup (ib_json_get_string (obj, "unk_token", "<unk>"));
  if (!load_vocab_dict (&w->parent, "WordLevel", obj, n_added, error)) {
    ib_tok_model_free (&w->parent);
    return NULL;
  }
  return &w->parent;
}
