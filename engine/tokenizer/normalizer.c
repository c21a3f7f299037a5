/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Normalizers of tokenizer.json: Sequence, Prepend, Replace, Precompiled, BertNormalizer, Strip, Lowercase, NFD, ... */
#include "tokenizer-private.h"
#include "unicode.h"

#include <string.h>

typedef enum
{
  NORM_SEQUENCE,
  NORM_PREPEND,
  NORM_REPLACE,
  NORM_PRECOMPILED,
  NORM_BERT,
  NORM_STRIP,
  NORM_STRIP_ACCENTS,
  NORM_LOWERCASE,
  NORM_NFD,
  NORM_NFKD,
  NORM_NFC,
  NORM_NFKC,
  NORM_NMT,
} NormType;

struct _IbNormalizer
{
  NormType type;
  GPtrArray *children; /* Sequence */
  char *text; /* Prepend: prefix; Replace: content */
  GRegex *re; /* Replace */
  IbCharsmap *charsmap; /* Precompiled (NULL: identity) */
  gboolean clean_text, chinese, strip_accents, lowercase; /* Bert */
  gboolean left, right; /* Strip */
};

typedef GArray Changes; /* of IbNsChange */

static void
push (Changes *ch, gunichar c, gint change)
{
  IbNsChange x = { c, change };
  g_array_append_val (ch, x);
}

static void
apply (IbNormStr *ns, Changes *ch, gsize initial_offset)
{
  ib_ns_transform (ns, (const IbNsChange *) (void *) ch->data, ch->len,
      initial_offset);
  g_array_free (ch, TRUE);
}

static Changes *
changes_new (const IbNormStr *ns)
{
  return g_array_sized_new (FALSE, FALSE, sizeof (IbNsChange), ns->len + 8);
}

/* NormalizedString::filter: keeps the chars for which @keep is TRUE */
static void
ns_filter (IbNormStr *ns, gboolean (*keep) (gunichar))
{
  Changes *ch = changes_new (ns);
  const char *p;
  gint removed = 0;
  gsize removed_start = 0;
  gboolean have_last = FALSE;
  gunichar last = 0;

  for (p = ns->s; p < ns->s + ns->len; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);
    if (keep (c)) {
      if (have_last)
        push (ch, last, -removed);
      else
        removed_start = removed;
      last = c;
      have_last = TRUE;
      removed = 0;
    } else {
      removed++;
    }
  }
  if (have_last)
    push (ch, last, -removed);
  apply (ns, ch, removed_start);
}

static gboolean
keep_not_control (gunichar c)
{
  return !ib_uni_is_bert_control (c);
}

static gboolean
keep_not_nonspacing (gunichar c)
{
  return !ib_uni_is_nonspacing (c);
}

static gboolean
keep_not_combining (gunichar c)
{
  return !ib_uni_is_combining (c);
}

static gboolean
keep_not_nmt_control (gunichar c)
{
  return !((c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) ||
      c == 0x7F || c == 0x8F || c == 0x9F);
}

/* NormalizedString::map */
static void
ns_map (IbNormStr *ns, gunichar (*map) (gunichar))
{
  Changes *ch = changes_new (ns);
  const char *p;

  for (p = ns->s; p < ns->s + ns->len; p = g_utf8_next_char (p))
    push (ch, map (g_utf8_get_char (p)), 0);
  apply (ns, ch, 0);
}

static gunichar
map_bert_space (gunichar c)
{
  return ib_uni_is_whitespace (c) ? ' ' : c;
}

static gunichar
map_nmt_space (gunichar c)
{
  switch (c) {
    case 0x09:
    case 0x0A:
    case 0x0C:
    case 0x0D:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x2581:
    case 0xFEFF:
    case 0xFFFD:
      return ' ';
    default:
      return (c >= 0x200B && c <= 0x200F) ? ' ' : c;
  }
}

static void
ns_lowercase (IbNormStr *ns)
{
  Changes *ch = changes_new (ns);
  const char *p;

  for (p = ns->s; p < ns->s + ns->len; p = g_utf8_next_char (p)) {
    gunichar lo[3];
    guint n = ib_uni_to_lower (g_utf8_get_char (p), lo), i;
    for (i = 0; i < n; i++)
      push (ch, lo[i], i > 0);
  }
  apply (ns, ch, 0);
}

/* NFD as unicode-normalization-alignments does it: decompose each char
 * (first char of a decomposition replaces, the others are inserted),
 * then sort each run of non-starters by combining class, keeping the
 * change of each slot in place. */
static void
ns_nfd (IbNormStr *ns)
{
  Changes *ch = changes_new (ns);
  const char *p;
  gsize run = 0, i, j;

  for (p = ns->s; p < ns->s + ns->len; p = g_utf8_next_char (p)) {
    gunichar d[4];
    guint n = ib_uni_nfd_char (g_utf8_get_char (p), d), k;
    for (k = 0; k < n; k++)
      push (ch, d[k], k > 0);
  }
  /* canonical ordering: stable insertion sort inside non-starter runs */
  for (i = 0; i <= ch->len; i++) {
    if (i < ch->len && ib_uni_ccc (g_array_index (ch, IbNsChange, i).c) != 0)
      continue;
    for (j = run + 1; j < i; j++) {
      gunichar c = g_array_index (ch, IbNsChange, j).c;
      guint8 cc = ib_uni_ccc (c);
      gsize k = j;
      while (k > run &&
          ib_uni_ccc (g_array_index (ch, IbNsChange, k - 1).c) > cc) {
        g_array_index (ch, IbNsChange, k).c =
            g_array_index (ch, IbNsChange, k - 1).c;
        k--;
      }
      g_array_index (ch, IbNsChange, k).c = c;
    }
    run = i + 1;
  }
  apply (ns, ch, 0);
}

/* NFKD / NFC / NFKC are rare in the tokenizers we load; GLib's tables do
 * them (the Unicode version may differ from the library's). */
static void
ns_glib_normalize (IbNormStr *ns, GNormalizeMode mode)
{
  char *out = g_utf8_normalize (ns->s, ns->len, mode);
  Changes *ch;
  glong n_old, n_new, i;
  const char *p;

  if (out == NULL)
    return;
  ch = changes_new (ns);
  n_old = g_utf8_strlen (ns->s, ns->len);
  n_new = g_utf8_strlen (out, -1);
  for (i = 0, p = out; *p; p = g_utf8_next_char (p), i++) {
    gint change = 0;
    if (i >= n_old)
      change = 1;
    else if (i == n_new - 1 && n_new < n_old)
      change = -(gint) (n_old - n_new);
    push (ch, g_utf8_get_char (p), change);
  }
  g_free (out);
  apply (ns, ch, 0);
}

static gboolean
is_chinese_char (gunichar c)
{
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
      (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
      (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
      (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static void
bert_normalize (const IbNormalizer *n, IbNormStr *ns)
{
  const char *p;

  if (n->clean_text) {
    ns_filter (ns, keep_not_control);
    ns_map (ns, map_bert_space);
  }
  if (n->chinese) {
    Changes *ch = changes_new (ns);
    for (p = ns->s; p < ns->s + ns->len; p = g_utf8_next_char (p)) {
      gunichar c = g_utf8_get_char (p);
      if (is_chinese_char (c)) {
        push (ch, ' ', 0);
        push (ch, c, 1);
        push (ch, ' ', 1);
      } else {
        push (ch, c, 0);
      }
    }
    apply (ns, ch, 0);
  }
  if (n->strip_accents) {
    ns_nfd (ns);
    ns_filter (ns, keep_not_nonspacing);
  }
  if (n->lowercase)
    ns_lowercase (ns);
}

/* the transformations for one replaced piece (precompiled.rs replace) */
static void
precompiled_replace (Changes *ch, const char *old_part, gsize old_len,
    const char *new_part, gsize new_len)
{
  glong old_count = ib_utf8_count (old_part, old_len);
  glong new_count = ib_utf8_count (new_part, new_len);
  glong diff = new_count - old_count, k;
  const char *p;

  for (p = new_part; p < new_part + new_len; p = g_utf8_next_char (p))
    push (ch, g_utf8_get_char (p), 0);
  if (diff > 0) {
    for (k = 0; k < diff && (gsize) k < ch->len; k++)
      g_array_index (ch, IbNsChange, ch->len - 1 - k).change = 1;
  } else if (diff < 0 && ch->len > 0) {
    g_array_index (ch, IbNsChange, ch->len - 1).change += diff;
  }
}

static void
precompiled_normalize (const IbNormalizer *n, IbNormStr *ns)
{
  Changes *ch;
  gsize pos = 0;
  gboolean modified = FALSE;

  if (n->charsmap == NULL || ns->len == 0)
    return;
  ch = changes_new (ns);
  while (pos < ns->len) {
    const char *g = ns->s + pos;
    gsize glen = ib_uni_grapheme_next (g, ns->len - pos), off = 0, nlen;
    const char *norm;

    if (glen < 6) {
      norm = ib_charsmap_lookup (n->charsmap, g, glen, &nlen);
      if (norm != NULL) {
        modified = TRUE;
        precompiled_replace (ch, g, glen, norm, nlen);
        pos += glen;
        continue;
      }
    }
    while (off < glen) {
      const char *c = g + off;
      gsize clen = g_utf8_next_char (c) - c;
      norm = ib_charsmap_lookup (n->charsmap, c, clen, &nlen);
      if (norm != NULL) {
        modified = TRUE;
        precompiled_replace (ch, c, clen, norm, nlen);
      } else {
        push (ch, g_utf8_get_char (c), 0);
      }
      off += clen;
    }
    pos += glen;
  }
  if (modified)
    apply (ns, ch, 0);
  else
    g_array_free (ch, TRUE);
}

void
ib_normalizer_apply (const IbNormalizer *n, IbNormStr *ns)
{
  guint i;

  if (n == NULL)
    return;
  switch (n->type) {
    case NORM_SEQUENCE:
      for (i = 0; i < n->children->len; i++)
        ib_normalizer_apply (g_ptr_array_index (n->children, i), ns);
      break;
    case NORM_PREPEND:
      if (ns->len > 0)
        ib_ns_prepend (ns, n->text);
      break;
    case NORM_REPLACE: {
      GArray *m = ib_find_matches_regex (ns->s, ns->len, n->re);
      ib_ns_replace (ns, m, n->text);
      g_array_free (m, TRUE);
      break;
    }
    case NORM_PRECOMPILED:
      precompiled_normalize (n, ns);
      break;
    case NORM_BERT:
      bert_normalize (n, ns);
      break;
    case NORM_STRIP:
      ib_ns_strip (ns, n->left, n->right);
      break;
    case NORM_STRIP_ACCENTS:
      ns_filter (ns, keep_not_combining);
      break;
    case NORM_LOWERCASE:
      ns_lowercase (ns);
      break;
    case NORM_NFD:
      ns_nfd (ns);
      break;
    case NORM_NFKD:
      ns_glib_normalize (ns, G_NORMALIZE_NFKD);
      break;
    case NORM_NFC:
      ns_glib_normalize (ns, G_NORMALIZE_NFC);
      break;
    case NORM_NFKC:
      ns_glib_normalize (ns, G_NORMALIZE_NFKC);
      break;
    case NORM_NMT:
      ns_filter (ns, keep_not_nmt_control);
      ns_map (ns, map_nmt_space);
      break;
  }
}

void
ib_normalizer_free (IbNormalizer *n)
{
  if (n == NULL)
    return;
  if (n->children)
    g_ptr_array_free (n->children, TRUE);
  g_free (n->text);
  if (n->re)
    g_regex_unref (n->re);
  ib_charsmap_free (n->charsmap);
  g_free (n);
}

IbNormalizer *
ib_normalizer_new (JsonNode *node, GError **error)
{
  IbNormalizer *n = NULL;
  JsonObject *obj;
  const char *type;
  gboolean ok = FALSE;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "normalizer is not an object");
    return NULL;
  }
  obj = json_node_get_object (node);
  type = ib_json_type (obj);
  n = g_new0 (IbNormalizer, 1);
  if (type == NULL) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "normalizer without a type");
    goto out;
  } else if (strcmp (type, "Sequence") == 0) {
    JsonArray *arr;
    guint i;

    n->type = NORM_SEQUENCE;
    n->children =
        g_ptr_array_new_with_free_func ((GDestroyNotify) ib_normalizer_free);
    if (!json_object_has_member (obj, "normalizers") ||
        !JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, "normalizers"))) {
      g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
          "Sequence normalizer without a normalizers array");
      goto out;
    }
    arr = json_object_get_array_member (obj, "normalizers");
    for (i = 0; i < json_array_get_length (arr); i++) {
      GError *err = NULL;
      IbNormalizer *c =
          ib_normalizer_new (json_array_get_element (arr, i), &err);
      if (err != NULL) {
        g_propagate_error (error, err);
        goto out;
      }
      if (c != NULL)
        g_ptr_array_add (n->children, c);
    }
  } else if (strcmp (type, "Prepend") == 0) {
    n->type = NORM_PREPEND;
    n->text = g_strdup (ib_json_get_string (obj, "prepend", ""));
  } else if (strcmp (type, "Replace") == 0) {
    n->type = NORM_REPLACE;
    n->text = g_strdup (ib_json_get_string (obj, "content", ""));
    n->re = ib_json_pattern (json_object_get_member (obj, "pattern"), error);
    if (n->re == NULL)
      goto out;
  } else if (strcmp (type, "Precompiled") == 0) {
    const char *b64 = ib_json_get_string (obj, "precompiled_charsmap", NULL);
    n->type = NORM_PRECOMPILED;
    if (b64 != NULL && *b64) {
      n->charsmap = ib_charsmap_new (b64, error);
      if (n->charsmap == NULL)
        goto out;
    }
  } else if (strcmp (type, "BertNormalizer") == 0 ||
      strcmp (type, "Bert") == 0) {
    JsonNode *sa = json_object_get_member (obj, "strip_accents");
    n->type = NORM_BERT;
    n->clean_text = ib_json_get_bool (obj, "clean_text", TRUE);
    n->chinese = ib_json_get_bool (obj, "handle_chinese_chars", TRUE);
    n->lowercase = ib_json_get_bool (obj, "lowercase", TRUE);
    n->strip_accents = (sa == NULL || JSON_NODE_HOLDS_NULL (sa)) ?
        n->lowercase :
        json_node_get_boolean (sa);
  } else if (strcmp (type, "Strip") == 0) {
    n->type = NORM_STRIP;
    n->left = ib_json_get_bool (obj, "strip_left", TRUE);
    n->right = ib_json_get_bool (obj, "strip_right", TRUE);
  } else if (strcmp (type, "StripAccents") == 0) {
    n->type = NORM_STRIP_ACCENTS;
  } else if (strcmp (type, "Lowercase") == 0) {
    n->type = NORM_LOWERCASE;
  } else if (strcmp (type, "NFD") == 0) {
    n->type = NORM_NFD;
  } else if (strcmp (type, "NFKD") == 0) {
    n->type = NORM_NFKD;
  } else if (strcmp (type, "NFC") == 0) {
    n->type = NORM_NFC;
  } else if (strcmp (type, "NFKC") == 0) {
    n->type = NORM_NFKC;
  } else if (strcmp (type, "Nmt") == 0) {
    n->type = NORM_NMT;
  } else {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_UNSUPPORTED,
        "unsupported normalizer type '%s'", type);
    goto out;
  }
  ok = TRUE;

out:
  if (!ok)
    g_clear_pointer (&n, ib_normalizer_free);
  return n;
}
