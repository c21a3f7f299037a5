/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Decoders of tokenizer.json: Sequence, Replace, ByteFallback, Fuse, Strip, Metaspace, WordPiece, BPEDecoder. */
#include "tokenizer-private.h"

#include <string.h>

typedef enum
{
  DEC_SEQUENCE,
  DEC_REPLACE,
  DEC_BYTE_FALLBACK,
  DEC_FUSE,
  DEC_STRIP,
  DEC_METASPACE,
  DEC_WORDPIECE,
  DEC_BPE,
} DecType;

struct _IbDecoder
{
  DecType type;
  GPtrArray *children; /* Sequence */
  GRegex *re; /* Replace */
  char *text; /* Replace: content; WordPiece: prefix; BPE: suffix */
  gunichar ch; /* Strip: content; Metaspace: replacement */
  gsize start, stop; /* Strip */
  gboolean prepend; /* Metaspace: prepend_scheme != never */
  gboolean cleanup; /* WordPiece */
};

static GPtrArray *
strv_new (void)
{
  return g_ptr_array_new_with_free_func (g_free);
}

static char *
replace_all (const char *s, const char *from, const char *to)
{
  GString *out;
  gsize fl = strlen (from);
  const char *p = s, *q;

  if (fl == 0)
    return g_strdup (s);
  out = g_string_new (NULL);
  while ((q = strstr (p, from)) != NULL) {
    g_string_append_len (out, p, q - p);
    g_string_append (out, to);
    p = q + fl;
  }
  g_string_append (out, p);
  return g_string_free (out, FALSE);
}

/* decoders/wordpiece.rs cleanup () */
static char *
wordpiece_cleanup (const char *s)
{
  static const char *const pairs[][2] = {
    { " .", "." },
    { " ?", "?" },
    { " !", "!" },
    { " ,", "," },
    { " ' ", "'" },
    { " n't", "n't" },
    { " 'm", "'m" },
    { " do not", " don't" },
    { " 's", "'s" },
    { " 've", "'ve" },
    { " 're", "'re" },
  };
  char *cur = g_strdup (s);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (pairs); i++) {
    char *next = replace_all (cur, pairs[i][0], pairs[i][1]);
    g_free (cur);
    cur = next;
  }
  return cur;
}

/* ByteFallback: flush collected <0xNN> bytes as one string, or one U+FFFD
 * per byte when they are not valid UTF-8 */
static void
flush_bytes (GByteArray *bytes, GPtrArray *out)
{
  guint i;

  if (bytes->len == 0)
    return;
  if (ib_utf8_validate_len ((const char *) bytes->data, bytes->len)) {
    /* C strings cannot hold U+0000: those characters are left out */
    GString *s = g_string_sized_new (bytes->len);
    for (i = 0; i < bytes->len; i++)
      if (bytes->data[i] != 0)
        g_string_append_c (s, bytes->data[i]);
    g_ptr_array_add (out, g_string_free (s, FALSE));
  } else {
    for (i = 0; i < bytes->len; i++)
      g_ptr_array_add (out, g_strdup ("\xef\xbf\xbd"));
  }
  g_byte_array_set_size (bytes, 0);
}

static int
hexval (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static GPtrArray *
byte_fallback (GPtrArray *in)
{
  GPtrArray *out = strv_new ();
  GByteArray *bytes = g_byte_array_new ();
  guint i;

  for (i = 0; i < in->len; i++) {
    const char *t = g_ptr_array_index (in, i);
    if (strlen (t) == 6 && strncmp (t, "<0x", 3) == 0 && t[5] == '>' &&
        hexval (t[3]) >= 0 && hexval (t[4]) >= 0) {
      guint8 b = hexval (t[3]) * 16 + hexval (t[4]);
      g_byte_array_append (bytes, &b, 1);
    } else {
      flush_bytes (bytes, out);
      g_ptr_array_add (out, g_strdup (t));
    }
  }
  flush_bytes (bytes, out);
  g_byte_array_free (bytes, TRUE);
  return out;
}

static char *
strip_token (const IbDecoder *d, const char *t)
{
  glong n = g_utf8_strlen (t, -1), i, start_cut = 0, stop_cut = n;
  gunichar *chars = g_utf8_to_ucs4_fast (t, -1, NULL);
  char *r;

  for (i = 0; i < n && (gsize) i < d->start; i++) {
    if (chars[i] != d->ch)
      break;
    start_cut = i + 1;
  }
  for (i = 0; (gsize) i < d->stop && i < n; i++) {
    glong index = n - i - 1;
    if (chars[index] != d->ch)
      break;
    stop_cut = index;
  }
  if (stop_cut < start_cut)
    stop_cut = start_cut;
  r = g_ucs4_to_utf8 (chars + start_cut, stop_cut - start_cut, NULL, NULL,
      NULL);
  g_free (chars);
  return r ? r : g_strdup ("");
}

static char *
metaspace_token (const IbDecoder *d, const char *t, gboolean first)
{
  GString *out = g_string_new (NULL);
  const char *p;

  for (p = t; *p; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);
    if (c == d->ch) {
      if (!(first && d->prepend))
        g_string_append_c (out, ' ');
    } else {
      g_string_append_unichar (out, c);
    }
  }
  return g_string_free (out, FALSE);
}

static char *
regex_replace (GRegex *re, const char *t, const char *content)
{
  GArray *m = ib_find_matches_regex (t, strlen (t), re);
  GString *out = g_string_new (NULL);
  guint i;

  for (i = 0; i < m->len; i++) {
    IbMatch *x = &g_array_index (m, IbMatch, i);
    if (x->is_match)
      g_string_append (out, content);
    else
      g_string_append_len (out, t + x->start, x->end - x->start);
  }
  g_array_free (m, TRUE);
  return g_string_free (out, FALSE);
}

void
ib_decoder_chain (const IbDecoder *d, GPtrArray **tokens)
{
  GPtrArray *in = *tokens, *out = NULL;
  guint i;

  switch (d->type) {
    case DEC_SEQUENCE:
      for (i = 0; i < d->children->len; i++)
        ib_decoder_chain (g_ptr_array_index (d->children, i), tokens);
      return;
    case DEC_BYTE_FALLBACK:
      out = byte_fallback (in);
      break;
    case DEC_FUSE: {
      GString *s = g_string_new (NULL);
      for (i = 0; i < in->len; i++)
        g_string_append (s, g_ptr_array_index (in, i));
      out = strv_new ();
      g_ptr_array_add (out, g_string_free (s, FALSE));
      break;
    }
    default:
      out = strv_new ();
      for (i = 0; i < in->len; i++) {
        const char *t = g_ptr_array_index (in, i);
        char *r = NULL;
        switch (d->type) {
          case DEC_REPLACE:
            r = regex_replace (d->re, t, d->text);
            break;
          case DEC_STRIP:
            r = strip_token (d, t);
            break;
          case DEC_METASPACE:
            r = metaspace_token (d, t, i == 0);
            break;
          case DEC_WORDPIECE: {
            char *tmp;
            if (i == 0)
              tmp = g_strdup (t);
            else if (g_str_has_prefix (t, d->text))
              tmp = g_strdup (t + strlen (d->text));
            else
              tmp = g_strconcat (" ", t, NULL);
            if (d->cleanup) {
              r = wordpiece_cleanup (tmp);
              g_free (tmp);
            } else {
              r = tmp;
            }
            break;
          }
          case DEC_BPE:
            r = replace_all (t, d->text, i + 1 == in->len ? "" : " ");
            break;
          default:
            r = g_strdup (t);
            break;
        }
        g_ptr_array_add (out, r);
      }
      break;
  }
  g_ptr_array_free (in, TRUE);
  *tokens = out;
}

char *
ib_clean_up_tokenization (const char *text)
{
  static const char *const pairs[][2] = {
    { " .", "." },
    { " ?", "?" },
    { " !", "!" },
    { " ,", "," },
    { " ' ", "'" },
    { " n't", "n't" },
    { " 'm", "'m" },
    { " 's", "'s" },
    { " 've", "'ve" },
    { " 're", "'re" },
  };
  char *cur = g_strdup (text);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (pairs); i++) {
    char *next = replace_all (cur, pairs[i][0], pairs[i][1]);
    g_free (cur);
    cur = next;
  }
  return cur;
}

void
ib_decoder_free (IbDecoder *d)
{
  if (d == NULL)
    return;
  if (d->children)
    g_ptr_array_free (d->children, TRUE);
  if (d->re)
    g_regex_unref (d->re);
  g_free (d->text);
  g_free (d);
}

static gboolean
one_char (const char *s, gunichar *c, const char *what, GError **error)
{
  if (s == NULL || !g_utf8_validate (s, -1, NULL) ||
      g_utf8_strlen (s, -1) != 1) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "decoder: %s must be one character", what);
    return FALSE;
  }
  *c = g_utf8_get_char (s);
  return TRUE;
}

IbDecoder *
ib_decoder_new (JsonNode *node, GError **error)
{
  IbDecoder *d;
  JsonObject *obj;
  const char *type;
  gboolean ok = FALSE;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  d = g_new0 (IbDecoder, 1);
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "decoder is not an object");
    goto out;
  }
  obj = json_node_get_object (node);
  type = ib_json_type (obj);
  if (type == NULL) {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
        "decoder without a type");
    goto out;
  } else if (strcmp (type, "Sequence") == 0) {
    JsonNode *arr = json_object_get_member (obj, "decoders");
    guint i;
    d->type = DEC_SEQUENCE;
    d->children =
        g_ptr_array_new_with_free_func ((GDestroyNotify) ib_decoder_free);
    if (arr == NULL || !JSON_NODE_HOLDS_ARRAY (arr)) {
      g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
          "Sequence decoder without decoders");
      goto out;
    }
    for (i = 0; i < json_array_get_length (json_node_get_array (arr)); i++) {
      GError *err = NULL;
      IbDecoder *c =
          ib_decoder_new (json_array_get_element (json_node_get_array (arr), i),
              &err);
      if (err != NULL) {
        g_propagate_error (error, err);
        goto out;
      }
      if (c != NULL)
        g_ptr_array_add (d->children, c);
    }
  } else if (strcmp (type, "Replace") == 0) {
    d->type = DEC_REPLACE;
    d->text = g_strdup (ib_json_get_string (obj, "content", ""));
    d->re = ib_json_pattern (json_object_get_member (obj, "pattern"), error);
    if (d->re == NULL)
      goto out;
  } else if (strcmp (type, "ByteFallback") == 0) {
    d->type = DEC_BYTE_FALLBACK;
  } else if (strcmp (type, "Fuse") == 0) {
    d->type = DEC_FUSE;
  } else if (strcmp (type, "Strip") == 0) {
    d->type = DEC_STRIP;
    if (!one_char (ib_json_get_string (obj, "content", " "), &d->ch,
            "Strip content", error))
      goto out;
    d->start = ib_json_get_int (obj, "start", 0);
    d->stop = ib_json_get_int (obj, "stop", 0);
  } else if (strcmp (type, "Metaspace") == 0) {
    JsonNode *aps = json_object_get_member (obj, "add_prefix_space");
    const char *scheme = ib_json_get_string (obj, "prepend_scheme", "always");
    d->type = DEC_METASPACE;
    if (!one_char (ib_json_get_string (obj, "replacement", "\xe2\x96\x81"),
            &d->ch, "Metaspace replacement", error))
      goto out;
    d->prepend = strcmp (scheme, "never") != 0;
    if (aps != NULL && JSON_NODE_HOLDS_VALUE (aps) &&
        !json_node_get_boolean (aps))
      d->prepend = FALSE;
  } else if (strcmp (type, "WordPiece") == 0) {
    d->type = DEC_WORDPIECE;
    d->text = g_strdup (ib_json_get_string (obj, "prefix", "##"));
    d->cleanup = ib_json_get_bool (obj, "cleanup", TRUE);
  } else if (strcmp (type, "BPEDecoder") == 0) {
    d->type = DEC_BPE;
    d->text = g_strdup (ib_json_get_string (obj, "suffix", "</w>"));
  } else {
    g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_UNSUPPORTED,
        "unsupported decoder type '%s'", type);
    goto out;
  }
  ok = TRUE;

out:
  if (!ok)
    g_clear_pointer (&d, ib_decoder_free);
  return d;
}
