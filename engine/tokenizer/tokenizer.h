/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Text <-> token ids, identical to Hugging Face fast tokenizers (tokenizer.json): BPE, Unigram, WordPiece. */
#pragma once

#include <glib.h>

#include "ib-tokenizer-error.h"

G_BEGIN_DECLS

/*
 * Usage:
 *
 *   IbTokenizer *tok = ib_tokenizer_new_from_file ("tokenizer.json", &error);
 *   GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
 *   if (!ib_tokenizer_encode (tok, "What is in the image?", -1, TRUE, ids,
 *           &error))
 *     ...
 *   char *text = ib_tokenizer_decode (tok, (gint32 *) ids->data, ids->len,
 *       TRUE, &error);
 *
 * Encoding follows tokenizers' Tokenizer.encode (added tokens split out
 * first, then normalizer, pre-tokenizer, model, truncation,
 * post-processor); decoding follows Tokenizer.decode.  A tokenizer is
 * immutable after loading and may be used from several threads at once.
 */

typedef enum
{
  IB_TRUNCATE_RIGHT, /* keep the first tokens */
  IB_TRUNCATE_LEFT, /* keep the last tokens (InstructBLIP processors) */
} IbTruncateSide;

typedef struct _IbTokenizer IbTokenizer;

/* Loads a tokenizer.json.  Returns NULL and sets @error on failure. */
IbTokenizer *ib_tokenizer_new_from_file (const char *path, GError **error);
/* Same from memory; @len may be -1 for a NUL-terminated string. */
IbTokenizer *ib_tokenizer_new_from_data (const char *json, gssize len,
    GError **error);
/* NULL-safe */
void ib_tokenizer_free (IbTokenizer *tok);

/* Appends the ids of @text (@len bytes, -1: NUL-terminated) to @ids, a
 * GArray of gint32.  @add_special applies the post-processor template
 * (e.g. <s>, [CLS] ... [SEP], </s>).  The truncation of tokenizer.json,
 * if any, applies (its padding does not).  @text may hold U+0000 when
 * @len is given.  Fails on invalid UTF-8; @ids is then unchanged. */
gboolean ib_tokenizer_encode (IbTokenizer *tok, const char *text, gssize len,
    gboolean add_special, GArray *ids, GError **error);

/* Like ib_tokenizer_encode, truncated to at most @max_length ids,
 * special tokens included (tokenizers' truncation, longest_first, stride
 * 0): @side says which end is cut.  @max_length 0 means no limit. */
gboolean ib_tokenizer_encode_truncated (IbTokenizer *tok, const char *text,
    gssize len, gboolean add_special, guint max_length, IbTruncateSide side,
    GArray *ids, GError **error);

/* Returns the text of @ids (transfer full), as Tokenizer.decode does:
 * unknown ids are dropped, @skip_special leaves out special added tokens,
 * then the decoder runs.  U+0000 characters (byte token <0x00>) are left
 * out of the C string.  transformers' extra clean-up of spaces is
 * ib_tokenizer_clean_up_spaces (). */
char *ib_tokenizer_decode (IbTokenizer *tok, const gint32 *ids, gsize n_ids,
    gboolean skip_special, GError **error);

/* transformers' clean_up_tokenization, which PreTrainedTokenizer.decode
 * applies after the decoder when clean_up_tokenization_spaces is true
 * (" ." -> ".", " 's" -> "'s", ...): returns a new string. */
char *ib_tokenizer_clean_up_spaces (const char *text);

/* Added tokens first, then the model's vocabulary; -1 if absent. */
gint32 ib_tokenizer_token_to_id (IbTokenizer *tok, const char *token);
/* Borrowed string valid until ib_tokenizer_free, or NULL. */
const char *ib_tokenizer_id_to_token (IbTokenizer *tok, gint32 id);
/* get_vocab_size (with_added_tokens=True): distinct token strings of the
 * model and the added tokens. */
guint ib_tokenizer_get_vocab_size (IbTokenizer *tok);
/* TRUE if @id is a special added token (skipped by decode). */
gboolean ib_tokenizer_is_special_id (IbTokenizer *tok, gint32 id);

G_END_DECLS
