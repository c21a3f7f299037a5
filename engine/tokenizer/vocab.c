/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Token string <-> id tables shared by the models and the added vocabulary. */
#include "tokenizer-private.h"

#include <string.h>

void
ib_vocab_init (IbVocab *v)
{
  v->to_id = g_hash_table_new (g_str_hash, g_str_equal);
  v->tokens = g_ptr_array_new ();
  v->chunk = g_string_chunk_new (1 << 16);
}

void
ib_vocab_clear (IbVocab *v)
{
  g_clear_pointer (&v->to_id, g_hash_table_unref);
  if (v->tokens)
    g_ptr_array_free (v->tokens, TRUE);
  v->tokens = NULL;
  g_clear_pointer (&v->chunk, g_string_chunk_free);
}

void
ib_vocab_add (IbVocab *v, const char *token, gint32 id)
{
  char *s = g_string_chunk_insert_const (v->chunk, token);

  g_return_if_fail (id >= 0 && id < G_MAXINT32);
  g_hash_table_insert (v->to_id, s, GINT_TO_POINTER (id + 1));
  if ((guint) id >= v->tokens->len)
    g_ptr_array_set_size (v->tokens, id + 1);
  g_ptr_array_index (v->tokens, id) = s;
}

gboolean
ib_vocab_check_id (const char *model, const char *token, gint64 id,
    gsize n_entries, gsize n_added, GError **error)
{
  guint64 limit = (guint64) n_entries + n_added;

  if (id >= 0 && (guint64) id < limit && id < G_MAXINT32)
    return TRUE;
  g_set_error (error, IB_TOKENIZER_ERROR, IB_TOKENIZER_ERROR_FORMAT,
      "%s vocab entry '%s' has id %" G_GINT64_FORMAT
      "; ids must be 0 .. %" G_GUINT64_FORMAT " (%" G_GSIZE_FORMAT
      " entries and %" G_GSIZE_FORMAT " added tokens)",
      model, token, id, MIN (limit, (guint64) G_MAXINT32) - 1, n_entries,
      n_added);
  return FALSE;
}

gint32
ib_vocab_get (const IbVocab *v, const char *token)
{
  gpointer p = g_hash_table_lookup (v->to_id, token);

  return p ? GPOINTER_TO_INT (p) - 1 : -1;
}

gint32
ib_vocab_get_len (const IbVocab *v, const char *token, gsize len)
{
  char buf[256];
  char *tmp;
  gint32 id;

  /* no token holds a NUL character */
  if (memchr (token, '\0', len) != NULL)
    return -1;
  if (len < sizeof (buf)) {
    memcpy (buf, token, len);
    buf[len] = '\0';
    return ib_vocab_get (v, buf);
  }
  tmp = g_strndup (token, len);
  id = ib_vocab_get (v, tmp);
  g_free (tmp);
  return id;
}

const char *
ib_vocab_token (const IbVocab *v, gint32 id)
{
  if (id < 0 || (guint) id >= v->tokens->len)
    return NULL;
  return g_ptr_array_index (v->tokens, id);
}
