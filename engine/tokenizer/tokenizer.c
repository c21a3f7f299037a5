/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tokenizer.json loading and the encode/decode pipeline (added tokens, normalizer, pre-tokenizer, model, post-processor, decoder). */
#include "tokenizer-private.h"
#include "ib-error.h"
#include "ib-file-private.h"
#include "ib-json-private.h"

#include <string.h>

struct _IbTokenizer
{
  IbNormalizer *normalizer;
  IbPreTokenizer *pre_tokenizer;
  IbTokModel *model;
  IbPostProcessor *post;
  IbDecoder *decoder;
  IbAddedVocab *added;
  guint trunc_max; /* tokenizer.json "truncation"; 0: none */
  IbTruncateSide trunc_side;
};

GQuark
ib_tokenizer_error_quark (void)
{
  /* once, thread-safe: a plain static filled on first use races when two
   * threads fail for the first time at once */
  static gsize quark;

  if (g_once_init_enter (&quark))
    g_once_init_leave (&quark,
        g_quark_from_static_string ("ib-tokenizer-error-quark"));
  return (GQuark) quark;
}

/* ---- JSON helpers (the member getters are checkpoint/ib-json.c's) ---- */

GRegex *
ib_json_pattern (JsonNode *node, GError **error)
{
  JsonObject *obj;
  const char *s;
  char *escaped = NULL;
  GRegex *re;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "pattern is not an object");
    return NULL;
  }
  obj = json_node_get_object (node);
  if ((s = ib_json_get_string (obj, "String", NULL)) != NULL) {
    escaped = g_regex_escape_string (s, -1);
    re = g_regex_new (escaped, G_REGEX_OPTIMIZE, 0, error);
  } else if ((s = ib_json_get_string (obj, "Regex", NULL)) != NULL) {
    re = g_regex_new (s, G_REGEX_OPTIMIZE, 0, error);
  } else {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "pattern is neither String nor Regex");
    re = NULL;
  }
  g_free (escaped);
  return re;
}

void
ib_tok_model_free (IbTokModel *m)
{
  if (m == NULL)
    return;
  if (m->free)
    m->free (m);
  ib_vocab_clear (&m->vocab);
  g_free (m);
}

/* ---- loading ---- */

static IbTokModel *
model_new (JsonNode *node, gsize n_added, GError **error)
{
  JsonObject *obj;
  const char *type;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "tokenizer.json has no model");
    return NULL;
  }
  obj = json_node_get_object (node);
  type = ib_json_type (obj);
  if (type == NULL) {
    /* untagged (old) files: guess from the fields, in the library's order */
    JsonNode *v = json_object_get_member (obj, "vocab");
    if (json_object_has_member (obj, "merges"))
      type = "BPE";
    else if (v != NULL && JSON_NODE_HOLDS_ARRAY (v))
      type = "Unigram";
    else if (json_object_has_member (obj, "continuing_subword_prefix") ||
        json_object_has_member (obj, "max_input_chars_per_word"))
      type = "WordPiece";
    else
      type = "WordLevel";
  }
  if (strcmp (type, "BPE") == 0)
    return ib_bpe_new (obj, n_added, error);
  if (strcmp (type, "Unigram") == 0)
    return ib_unigram_new (obj, error);
  if (strcmp (type, "WordPiece") == 0)
    return ib_wordpiece_new (obj, n_added, error);
  if (strcmp (type, "WordLevel") == 0)
    return ib_wordlevel_new (obj, n_added, error);
  g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_UNSUPPORTED,
      "unsupported model type '%s'", type);
  return NULL;
}

static gboolean
parse_truncation (IbTokenizer *tok, JsonNode *node, GError **error)
{
  JsonObject *obj;
  const char *dir;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "truncation is not an object");
    return FALSE;
  }
  obj = json_node_get_object (node);
  tok->trunc_max = ib_json_get_int (obj, "max_length", 0);
  dir = ib_json_get_string (obj, "direction", "Right");
  tok->trunc_side =
      strcmp (dir, "Left") == 0 ? IB_TRUNCATE_LEFT : IB_TRUNCATE_RIGHT;
  return TRUE;
}

IbTokenizer *
ib_tokenizer_new_from_data (const char *json, gssize len, GError **error)
{
  IbTokenizer *tok = g_new0 (IbTokenizer, 1);
  JsonNode *top = NULL;
  JsonObject *root;
  JsonNode *n;
  GError *err = NULL;
  gboolean ok = FALSE;

  if (len < 0)
    len = strlen (json);
  if ((gsize) len > IB_JSON_MAX_TOKENIZER_BYTES) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "tokenizer.json: %" G_GSSIZE_FORMAT " bytes; at most %u are read", len,
        IB_JSON_MAX_TOKENIZER_BYTES);
    goto out;
  }
  /* the shared parser bounds the nesting depth */
  n = top = ib_json_parse (json, len, &err);
  if (top == NULL) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "tokenizer.json: invalid JSON: %s", err->message);
    g_clear_error (&err);
    goto out;
  }
  if (!JSON_NODE_HOLDS_OBJECT (n)) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "tokenizer.json: the root is not an object");
    goto out;
  }
  root = json_node_get_object (n);
  {
    const char *version = ib_json_get_string (root, "version", "1.0");
    if (strcmp (version, "1.0") != 0) {
      g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
          "Unknown tokenizer version '%s'", version);
      goto out;
    }
  }
  tok->normalizer =
      ib_normalizer_new (json_object_get_member (root, "normalizer"), &err);
  if (err == NULL)
    tok->pre_tokenizer =
        ib_pre_tokenizer_new (json_object_get_member (root, "pre_tokenizer"),
            &err);
  n = json_object_get_member (root, "added_tokens");
  if (err == NULL)
    tok->model = model_new (json_object_get_member (root, "model"),
        n != NULL && JSON_NODE_HOLDS_ARRAY (n) ?
            json_array_get_length (json_node_get_array (n)) :
            0,
        &err);
  if (err == NULL)
    tok->post =
        ib_post_processor_new (json_object_get_member (root, "post_processor"),
            &err);
  if (err == NULL)
    tok->decoder =
        ib_decoder_new (json_object_get_member (root, "decoder"), &err);
  if (err == NULL)
    parse_truncation (tok, json_object_get_member (root, "truncation"), &err);
  if (err != NULL) {
    g_propagate_error (error, err);
    goto out;
  }
  tok->added = ib_added_vocab_new ();
  n = json_object_get_member (root, "added_tokens");
  if (n != NULL && JSON_NODE_HOLDS_ARRAY (n) &&
      !ib_added_vocab_add_json (tok->added, json_node_get_array (n), tok->model,
          tok->normalizer, error))
    goto out;
  ok = TRUE;

out:
  if (top)
    json_node_unref (top);
  if (!ok)
    g_clear_pointer (&tok, ib_tokenizer_free);
  return tok;
}

IbTokenizer *
ib_tokenizer_new_from_file (const char *path, GError **error)
{
  char *data = NULL;
  gsize len = 0;
  GError *err = NULL;
  IbTokenizer *tok = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  if (!ib_file_read (path, IB_JSON_MAX_TOKENIZER_BYTES, &data, &len, NULL,
          &err)) {
    g_set_error_literal (error, IB_TOKENIZER_ERROR,
        err->code == IB_ERROR_IO ? IB_TOKENIZER_ERROR_IO :
                                   IB_TOKENIZER_ERROR_FORMAT,
        err->message);
    g_clear_error (&err);
    goto out;
  }
  tok = ib_tokenizer_new_from_data (data, len, &err);
  if (tok == NULL) {
    g_set_error (error, err->domain, err->code, "%s: %s", path, err->message);
    g_clear_error (&err);
  }

out:
  g_free (data);
  return tok;
}

void
ib_tokenizer_free (IbTokenizer *tok)
{
  if (tok == NULL)
    return;
  ib_normalizer_free (tok->normalizer);
  ib_pre_tokenizer_free (tok->pre_tokenizer);
  ib_tok_model_free (tok->model);
  ib_post_processor_free (tok->post);
  ib_decoder_free (tok->decoder);
  ib_added_vocab_free (tok->added);
  g_free (tok);
}

/* ---- encode ---- */

/* the ids of @text without special tokens and truncation */
static gboolean
encode_sequence (IbTokenizer *tok, const char *text, gsize len, GArray *seq,
    GError **error)
{
  GArray *splits =
      ib_added_vocab_extract (tok->added, tok->normalizer, text, len);
  gboolean ok = TRUE;
  guint i, j;

  for (i = 0; i < splits->len && ok; i++) {
    IbSplit *sp = &g_array_index (splits, IbSplit, i);
    GPtrArray *pieces;

    if (sp->id >= 0) {
      g_array_append_val (seq, sp->id);
      continue;
    }
    pieces = g_ptr_array_new_with_free_func ((GDestroyNotify) ib_ns_free);
    g_ptr_array_add (pieces, sp->ns);
    sp->ns = NULL;
    ib_pre_tokenizer_apply (tok->pre_tokenizer, &pieces);
    for (j = 0; j < pieces->len && ok; j++) {
      IbNormStr *ns = g_ptr_array_index (pieces, j);
      ok = tok->model->tokenize (tok->model, ns->s, ns->len, seq, error);
    }
    g_ptr_array_free (pieces, TRUE);
  }
  ib_splits_free (splits);
  return ok;
}

static gboolean
encode_full (IbTokenizer *tok, const char *text, gssize len,
    gboolean add_special, guint max_length, IbTruncateSide side, GArray *ids,
    GError **error)
{
  GArray *seq = NULL;
  gboolean ok = FALSE;

  g_return_val_if_fail (tok != NULL, FALSE);
  g_return_val_if_fail (text != NULL || len == 0, FALSE);
  g_return_val_if_fail (ids != NULL, FALSE);
  if (len < 0)
    len = strlen (text);
  if (!ib_utf8_validate_len (text, len)) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_INPUT,
        "input text is not valid UTF-8");
    goto out;
  }
  seq = g_array_new (FALSE, FALSE, sizeof (gint32));
  if (!encode_sequence (tok, text, len, seq, error))
    goto out;

  if (max_length > 0) {
    guint n_added = add_special ? ib_post_processor_added (tok->post) : 0;
    guint keep;
    if (max_length < n_added) {
      g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_INPUT,
          "max_length %u is shorter than the %u special tokens", max_length,
          n_added);
      goto out;
    }
    keep = max_length - n_added;
    if (seq->len > keep) {
      if (side == IB_TRUNCATE_LEFT)
        g_array_remove_range (seq, 0, seq->len - keep);
      else
        g_array_set_size (seq, keep);
    }
  }
  if (add_special)
    ib_post_processor_apply (tok->post, seq, ids);
  else
    g_array_append_vals (ids, seq->data, seq->len);
  ok = TRUE;

out:
  if (seq)
    g_array_free (seq, TRUE);
  return ok;
}

gboolean
ib_tokenizer_encode (IbTokenizer *tok, const char *text, gssize len,
    gboolean add_special, GArray *ids, GError **error)
{
  g_return_val_if_fail (tok != NULL, FALSE);
  return encode_full (tok, text, len, add_special, tok->trunc_max,
      tok->trunc_side, ids, error);
}

gboolean
ib_tokenizer_encode_truncated (IbTokenizer *tok, const char *text, gssize len,
    gboolean add_special, guint max_length, IbTruncateSide side, GArray *ids,
    GError **error)
{
  return encode_full (tok, text, len, add_special, max_length, side, ids,
      error);
}

/* ---- decode and vocabulary ---- */

const char *
ib_tokenizer_id_to_token (IbTokenizer *tok, gint32 id)
{
  const char *t;

  g_return_val_if_fail (tok != NULL, NULL);
  t = ib_added_vocab_token (tok->added, id);
  return t ? t : ib_vocab_token (&tok->model->vocab, id);
}

gint32
ib_tokenizer_token_to_id (IbTokenizer *tok, const char *token)
{
  gint32 id;

  g_return_val_if_fail (tok != NULL, -1);
  g_return_val_if_fail (token != NULL, -1);
  id = ib_added_vocab_get (tok->added, token);
  return id >= 0 ? id : ib_vocab_get (&tok->model->vocab, token);
}

guint
ib_tokenizer_get_vocab_size (IbTokenizer *tok)
{
  g_return_val_if_fail (tok != NULL, 0);
  return g_hash_table_size (tok->model->vocab.to_id) +
      ib_added_vocab_count_new (tok->added, tok->model);
}

gboolean
ib_tokenizer_is_special_id (IbTokenizer *tok, gint32 id)
{
  const char *t;

  g_return_val_if_fail (tok != NULL, FALSE);
  t = ib_added_vocab_token (tok->added, id);
  return t != NULL && ib_added_vocab_is_special (tok->added, t);
}

char *
ib_tokenizer_decode (IbTokenizer *tok, const gint32 *ids, gsize n_ids,
    gboolean skip_special, GError **error)
{
  GPtrArray *tokens;
  GString *out;
  gsize i;

  g_return_val_if_fail (tok != NULL, NULL);
  g_return_val_if_fail (ids != NULL || n_ids == 0, NULL);
  (void) error;

  tokens = g_ptr_array_new_with_free_func (g_free);
  for (i = 0; i < n_ids; i++) {
    const char *t = ib_tokenizer_id_to_token (tok, ids[i]);
    if (t == NULL)
      continue;
    if (skip_special && ib_added_vocab_is_special (tok->added, t))
      continue;
    g_ptr_array_add (tokens, g_strdup (t));
  }
  if (tok->decoder)
    ib_decoder_chain (tok->decoder, &tokens);
  out = g_string_new (NULL);
  for (i = 0; i < tokens->len; i++) {
    if (!tok->decoder && i > 0)
      g_string_append_c (out, ' ');
    g_string_append (out, g_ptr_array_index (tokens, i));
  }
  g_ptr_array_free (tokens, TRUE);
  return g_string_free (out, FALSE);
}

char *
ib_tokenizer_clean_up_spaces (const char *text)
{
  g_return_val_if_fail (text != NULL, NULL);
  return ib_clean_up_tokenization (text);
}
