/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pre-tokenizers of tokenizer.json: Metaspace, WhitespaceSplit, Whitespace, BertPreTokenizer, Split, Punctuation, Digits, Sequence. */
#include "tokenizer-private.h"
#include "unicode.h"

#include <string.h>

typedef enum
{
  PRE_SEQUENCE,
  PRE_METASPACE,
  PRE_WHITESPACE_SPLIT,
  PRE_WHITESPACE,
  PRE_BERT,
  PRE_SPLIT,
  PRE_PUNCTUATION,
  PRE_DIGITS,
} PreType;

typedef enum
{
  PREPEND_ALWAYS,
  PREPEND_FIRST,
  PREPEND_NEVER,
} PrependScheme;

struct _IbPreTokenizer
{
  PreType type;
  GPtrArray *children; /* Sequence */
  gunichar replacement; /* Metaspace */
  char rep_str[8];
  PrependScheme scheme;
  gboolean split;
  GRegex *re; /* Split */
  gboolean invert;
  IbSplitBehavior behavior; /* Split, Punctuation */
  gboolean individual_digits; /* Digits */
};

/* PreTokenizedString::split: each split is replaced by the pieces @fn
 * returns; empty pieces are dropped */
typedef GPtrArray *(*SplitFn) (const IbPreTokenizer *p, IbNormStr *ns);

static void
split_all (const IbPreTokenizer *p, GPtrArray **splits, SplitFn fn)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) ib_ns_free);
  guint i, j;

  for (i = 0; i < (*splits)->len; i++) {
    GPtrArray *pieces = fn (p, g_ptr_array_index (*splits, i));
    for (j = 0; j < pieces->len; j++) {
      IbNormStr *ns = g_ptr_array_index (pieces, j);
      if (ns->len == 0)
        continue;
      g_ptr_array_add (out, ns);
      pieces->pdata[j] = NULL;
    }
    g_ptr_array_free (pieces, TRUE);
  }
  g_ptr_array_free (*splits, TRUE);
  *splits = out;
}

static GPtrArray *
split_by (IbNormStr *ns, GArray *matches, IbSplitBehavior behavior)
{
  GPtrArray *r = ib_ns_split (ns, matches, behavior);
  g_array_free (matches, TRUE);
  return r;
}

static gboolean
pred_whitespace (gunichar c, gpointer user_data)
{
  (void) user_data;
  return ib_uni_is_whitespace (c);
}

static gboolean
pred_punct (gunichar c, gpointer user_data)
{
  (void) user_data;
  return ib_uni_is_bert_punct (c);
}

static gboolean
pred_digit (gunichar c, gpointer user_data)
{
  GUnicodeType t = g_unichar_type (c);
  (void) user_data;
  return t == G_UNICODE_DECIMAL_NUMBER || t == G_UNICODE_LETTER_NUMBER ||
      t == G_UNICODE_OTHER_NUMBER;
}

static GPtrArray *
fn_whitespace_split (const IbPreTokenizer *p, IbNormStr *ns)
{
  (void) p;
  return split_by (ns,
      ib_find_matches_pred (ns->s, ns->len, pred_whitespace, NULL),
      IB_SPLIT_REMOVED);
}

static GPtrArray *
fn_punct (const IbPreTokenizer *p, IbNormStr *ns)
{
  return split_by (ns, ib_find_matches_pred (ns->s, ns->len, pred_punct, NULL),
      p->behavior);
}

static GPtrArray *
fn_bert_punct (const IbPreTokenizer *p, IbNormStr *ns)
{
  (void) p;
  return split_by (ns, ib_find_matches_pred (ns->s, ns->len, pred_punct, NULL),
      IB_SPLIT_ISOLATED);
}

static GPtrArray *
fn_digits (const IbPreTokenizer *p, IbNormStr *ns)
{
  return split_by (ns, ib_find_matches_pred (ns->s, ns->len, pred_digit, NULL),
      p->individual_digits ? IB_SPLIT_ISOLATED : IB_SPLIT_CONTIGUOUS);
}

/* Whitespace: the regex \w+|[^\w\s]+, inverted, pieces removed */
static GPtrArray *
fn_whitespace (const IbPreTokenizer *p, IbNormStr *ns)
{
  GArray *m = g_array_new (FALSE, FALSE, sizeof (IbMatch));
  gsize i = 0, prev = 0;

  (void) p;
  if (ns->len == 0) {
    IbMatch x = { 0, 0, TRUE };
    g_array_append_val (m, x);
    return split_by (ns, m, IB_SPLIT_REMOVED);
  }
  while (i < ns->len) {
    gunichar c = g_utf8_get_char (ns->s + i);
    gsize start = i;
    gint kind;

    if (ib_uni_is_word (c))
      kind = 1;
    else if (!ib_uni_is_whitespace (c))
      kind = 2;
    else {
      i = g_utf8_next_char (ns->s + i) - ns->s;
      continue;
    }
    while (i < ns->len) {
      gunichar d = g_utf8_get_char (ns->s + i);
      gint k2 = ib_uni_is_word (d) ? 1 : !ib_uni_is_whitespace (d) ? 2 : 0;
      if (k2 != kind)
        break;
      i = g_utf8_next_char (ns->s + i) - ns->s;
    }
    /* the regex match is kept (is_match FALSE after Invert) */
    if (prev != start) {
      IbMatch x = { prev, start, TRUE };
      g_array_append_val (m, x);
    }
    {
      IbMatch x = { start, i, FALSE };
      g_array_append_val (m, x);
    }
    prev = i;
  }
  if (prev != ns->len) {
    IbMatch x = { prev, ns->len, TRUE };
    g_array_append_val (m, x);
  }
  return split_by (ns, m, IB_SPLIT_REMOVED);
}

static GPtrArray *
fn_split (const IbPreTokenizer *p, IbNormStr *ns)
{
  GArray *m = ib_find_matches_regex (ns->s, ns->len, p->re);
  if (p->invert)
    ib_matches_invert (m);
  return split_by (ns, m, p->behavior);
}

static GPtrArray *
fn_metaspace (const IbPreTokenizer *p, IbNormStr *ns)
{
  GArray *m = ib_find_matches_literal (ns->s, ns->len, " ");
  gboolean starts;

  ib_ns_replace (ns, m, p->rep_str);
  g_array_free (m, TRUE);
  starts = ns->len > 0 && g_utf8_get_char (ns->s) == p->replacement;
  if (p->scheme == PREPEND_ALWAYS && !starts)
    ib_ns_prepend (ns, p->rep_str);
  else if (p->scheme == PREPEND_FIRST && !starts && ns->shift == 0)
    ib_ns_prepend (ns, p->rep_str);
  if (p->split) {
    return split_by (ns, ib_find_matches_char (ns->s, ns->len, p->replacement),
        IB_SPLIT_MERGED_WITH_NEXT);
  } else {
    GPtrArray *r = g_ptr_array_new_with_free_func ((GDestroyNotify) ib_ns_free);
    g_ptr_array_add (r, ib_ns_copy (ns));
    return r;
  }
}

void
ib_pre_tokenizer_apply (const IbPreTokenizer *p, GPtrArray **splits)
{
  guint i;

  if (p == NULL)
    return;
  switch (p->type) {
    case PRE_SEQUENCE:
      for (i = 0; i < p->children->len; i++)
        ib_pre_tokenizer_apply (g_ptr_array_index (p->children, i), splits);
      break;
    case PRE_METASPACE:
      split_all (p, splits, fn_metaspace);
      break;
    case PRE_WHITESPACE_SPLIT:
      split_all (p, splits, fn_whitespace_split);
      break;
    case PRE_WHITESPACE:
      split_all (p, splits, fn_whitespace);
      break;
    case PRE_BERT:
      split_all (p, splits, fn_whitespace_split);
      split_all (p, splits, fn_bert_punct);
      break;
    case PRE_SPLIT:
      split_all (p, splits, fn_split);
      break;
    case PRE_PUNCTUATION:
      split_all (p, splits, fn_punct);
      break;
    case PRE_DIGITS:
      split_all (p, splits, fn_digits);
      break;
  }
}

void
ib_pre_tokenizer_free (IbPreTokenizer *p)
{
  if (p == NULL)
    return;
  if (p->children)
    g_ptr_array_free (p->children, TRUE);
  if (p->re)
    g_regex_unref (p->re);
  g_free (p);
}

static gboolean
parse_behavior (const char *s, IbSplitBehavior *out, GError **error)
{
  static const struct
  {
    const char *name;
    IbSplitBehavior b;
  } names[] = {
    { "Removed", IB_SPLIT_REMOVED },
    { "Isolated", IB_SPLIT_ISOLATED },
    { "MergedWithPrevious", IB_SPLIT_MERGED_WITH_PREVIOUS },
    { "MergedWithNext", IB_SPLIT_MERGED_WITH_NEXT },
    { "Contiguous", IB_SPLIT_CONTIGUOUS },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (names); i++) {
    if (strcmp (s, names[i].name) == 0) {
      *out = names[i].b;
      return TRUE;
    }
  }
  g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
      "unknown split behavior '%s'", s);
  return FALSE;
}

static gboolean
parse_metaspace (IbPreTokenizer *p, JsonObject *obj, GError **error)
{
  const char *rep = ib_json_get_string (obj, "replacement", "\xe2\x96\x81");
  const char *scheme = ib_json_get_string (obj, "prepend_scheme", "always");
  JsonNode *aps = json_object_get_member (obj, "add_prefix_space");
  gsize n;

  if (!g_utf8_validate (rep, -1, NULL) || *rep == '\0' ||
      g_utf8_strlen (rep, -1) != 1) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "Metaspace replacement must be one character");
    return FALSE;
  }
  p->replacement = g_utf8_get_char (rep);
  n = g_unichar_to_utf8 (p->replacement, p->rep_str);
  p->rep_str[n] = '\0';
  if (strcmp (scheme, "always") == 0)
    p->scheme = PREPEND_ALWAYS;
  else if (strcmp (scheme, "first") == 0)
    p->scheme = PREPEND_FIRST;
  else if (strcmp (scheme, "never") == 0)
    p->scheme = PREPEND_NEVER;
  else {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "unknown Metaspace prepend_scheme '%s'", scheme);
    return FALSE;
  }
  if (aps != NULL && JSON_NODE_HOLDS_VALUE (aps) &&
      !json_node_get_boolean (aps)) {
    if (p->scheme != PREPEND_NEVER &&
        json_object_has_member (obj, "prepend_scheme")) {
      g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
          "add_prefix_space does not match declared prepend_scheme");
      return FALSE;
    }
    p->scheme = PREPEND_NEVER;
  }
  p->split = ib_json_get_bool (obj, "split", TRUE);
  return TRUE;
}

IbPreTokenizer *
ib_pre_tokenizer_new (JsonNode *node, GError **error)
{
  IbPreTokenizer *p = NULL;
  JsonObject *obj;
  const char *type;
  gboolean ok = FALSE;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "pre_tokenizer is not an object");
    return NULL;
  }
  obj = json_node_get_object (node);
  type = ib_json_type (obj);
  p = g_new0 (IbPreTokenizer, 1);
  if (type == NULL) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "pre_tokenizer without a type");
    goto out;
  } else if (strcmp (type, "Sequence") == 0) {
    JsonNode *arr_node = json_object_get_member (obj, "pretokenizers");
    JsonArray *arr;
    guint i;

    p->type = PRE_SEQUENCE;
    p->children =
        g_ptr_array_new_with_free_func ((GDestroyNotify) ib_pre_tokenizer_free);
    if (arr_node == NULL || !JSON_NODE_HOLDS_ARRAY (arr_node)) {
      g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
          "Sequence pre_tokenizer without a pretokenizers array");
      goto out;
    }
    arr = json_node_get_array (arr_node);
    for (i = 0; i < json_array_get_length (arr); i++) {
      GError *err = NULL;
      IbPreTokenizer *c =
          ib_pre_tokenizer_new (json_array_get_element (arr, i), &err);
      if (err != NULL) {
        g_propagate_error (error, err);
        goto out;
      }
      if (c != NULL)
        g_ptr_array_add (p->children, c);
    }
  } else if (strcmp (type, "Metaspace") == 0) {
    p->type = PRE_METASPACE;
    if (!parse_metaspace (p, obj, error))
      goto out;
  } else if (strcmp (type, "WhitespaceSplit") == 0) {
    p->type = PRE_WHITESPACE_SPLIT;
  } else if (strcmp (type, "Whitespace") == 0) {
    p->type = PRE_WHITESPACE;
  } else if (strcmp (type, "BertPreTokenizer") == 0) {
    p->type = PRE_BERT;
  } else if (strcmp (type, "Split") == 0) {
    p->type = PRE_SPLIT;
    p->re = ib_json_pattern (json_object_get_member (obj, "pattern"), error);
    if (p->re == NULL)
      goto out;
    p->invert = ib_json_get_bool (obj, "invert", FALSE);
    if (!parse_behavior (ib_json_get_string (obj, "behavior", "Removed"),
            &p->behavior, error))
      goto out;
  } else if (strcmp (type, "Punctuation") == 0) {
    p->type = PRE_PUNCTUATION;
    if (!parse_behavior (ib_json_get_string (obj, "behavior", "Isolated"),
            &p->behavior, error))
      goto out;
  } else if (strcmp (type, "Digits") == 0) {
    p->type = PRE_DIGITS;
    p->individual_digits = ib_json_get_bool (obj, "individual_digits", FALSE);
  } else {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_UNSUPPORTED,
        "unsupported pre_tokenizer type '%s'", type);
    goto out;
  }
  ok = TRUE;

out:
  if (!ok)
    g_clear_pointer (&p, ib_pre_tokenizer_free);
  return p;
}
