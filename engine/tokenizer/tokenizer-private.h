/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal types shared by the tokenizer's pipeline stages (normalizers, pre-tokenizers, models, ...). */
#pragma once

#include <json-glib/json-glib.h>

#include "tokenizer.h"
#include "normstr.h"
#include "ib-json-private.h"

G_BEGIN_DECLS

/* ---- helpers (tokenizer.c; the JSON member getters are ib-json-private.h's) ---- */

/* a {"String": s} / {"Regex": r} pattern as a GRegex (literal escaped) */
GRegex *ib_json_pattern (JsonNode *node, GError **error);

/* ---- u64 -> u64 open-addressing hash map (u64map.c) ---- */

typedef struct _IbU64Map IbU64Map;

IbU64Map *ib_u64_map_new (gsize expected);
void ib_u64_map_free (IbU64Map *m);
/* inserts or replaces */
void ib_u64_map_set (IbU64Map *m, guint64 key, guint64 value);
gboolean ib_u64_map_get (const IbU64Map *m, guint64 key, guint64 *value);

/* ---- vocabulary: token string <-> id (vocab.c) ---- */

typedef struct
{
  GHashTable *to_id; /* char* -> GINT_TO_POINTER (id + 1) */
  GPtrArray *tokens; /* id -> char* (NULL where unused) */
  GStringChunk *chunk;
} IbVocab;

void ib_vocab_init (IbVocab *v);
void ib_vocab_clear (IbVocab *v);
/* later additions of the same token replace the id (like a hash map) */
void ib_vocab_add (IbVocab *v, const char *token, gint32 id);
/* Checks the id of vocabulary entry @token of a tokenizer.json model with
 * @n_entries entries: ids must lie below @n_entries plus the file's
 * @n_added added tokens (real files number their vocabulary densely, added
 * tokens may fill gaps); a larger id would size the id table. */
gboolean ib_vocab_check_id (const char *model, const char *token, gint64 id,
    gsize n_entries, gsize n_added, GError **error);
gint32 ib_vocab_get (const IbVocab *v, const char *token);
gint32 ib_vocab_get_len (const IbVocab *v, const char *token, gsize len);
const char *ib_vocab_token (const IbVocab *v, gint32 id);

/* ---- precompiled charsmap (charsmap.c) ---- */

typedef struct _IbCharsmap IbCharsmap;

IbCharsmap *ib_charsmap_new (const char *base64, GError **error);
void ib_charsmap_free (IbCharsmap *m);
/* the replacement for the shortest key that is a prefix of @key, or NULL */
const char *ib_charsmap_lookup (const IbCharsmap *m, const char *key,
    gsize key_len, gsize *out_len);

/* ---- normalizers (normalizer.c) ---- */

typedef struct _IbNormalizer IbNormalizer;

IbNormalizer *ib_normalizer_new (JsonNode *node, GError **error);
void ib_normalizer_free (IbNormalizer *n);
void ib_normalizer_apply (const IbNormalizer *n, IbNormStr *ns);

/* ---- pre-tokenizers (pretokenizer.c) ---- */

typedef struct _IbPreTokenizer IbPreTokenizer;

IbPreTokenizer *ib_pre_tokenizer_new (JsonNode *node, GError **error);
void ib_pre_tokenizer_free (IbPreTokenizer *p);
/* @splits: GPtrArray of IbNormStr, replaced by the finer splits */
void ib_pre_tokenizer_apply (const IbPreTokenizer *p, GPtrArray **splits);

/* ---- models (bpe.c, unigram.c, wordpiece.c) ---- */

/* A tokenizer.json "model" (BPE, Unigram, WordPiece, WordLevel); not the
 * engine's IbModel. */
typedef struct _IbTokModel IbTokModel;

struct _IbTokModel
{
  /* appends the ids of one pre-tokenized word */
  gboolean (*tokenize) (IbTokModel *m, const char *s, gsize len, GArray *ids,
      GError **error);
  void (*free) (IbTokModel *m);
  IbVocab vocab;
  gsize vocab_size; /* the model's get_vocab_size () */
};

/* @n_added: the length of the file's added_tokens (ib_vocab_check_id) */
IbTokModel *ib_bpe_new (JsonObject *obj, gsize n_added, GError **error);
IbTokModel *ib_unigram_new (JsonObject *obj, GError **error);
IbTokModel *ib_wordpiece_new (JsonObject *obj, gsize n_added, GError **error);
IbTokModel *ib_wordlevel_new (JsonObject *obj, gsize n_added, GError **error);
void ib_tok_model_free (IbTokModel *m);

/* ---- added tokens (added-tokens.c) ---- */

typedef struct _IbAddedVocab IbAddedVocab;

IbAddedVocab *ib_added_vocab_new (void);
void ib_added_vocab_free (IbAddedVocab *av);
/* adds the "added_tokens" array the way Tokenizer deserialization does
 * (ids are assigned by the library's rules, not read from the file) */
gboolean ib_added_vocab_add_json (IbAddedVocab *av, JsonArray *tokens,
    IbTokModel *model, const IbNormalizer *normalizer, GError **error);
gint32 ib_added_vocab_get (const IbAddedVocab *av, const char *token);
const char *ib_added_vocab_token (const IbAddedVocab *av, gint32 id);
gboolean ib_added_vocab_is_special (const IbAddedVocab *av, const char *token);
guint ib_added_vocab_count_new (const IbAddedVocab *av,
    const IbTokModel *model);

/* One split of the input: either text still to tokenize (@ns) or an
 * added token already found (@id >= 0). */
typedef struct
{
  IbNormStr *ns;
  gint32 id;
} IbSplit;

/* extract_and_normalize: returns a GArray of IbSplit */
GArray *ib_added_vocab_extract (const IbAddedVocab *av,
    const IbNormalizer *normalizer, const char *text, gsize len);
void ib_splits_free (GArray *splits);

/* ---- post-processors (postprocessor.c) ---- */

typedef struct _IbPostProcessor IbPostProcessor;

IbPostProcessor *ib_post_processor_new (JsonNode *node, GError **error);
void ib_post_processor_free (IbPostProcessor *p);
/* number of ids a single sequence gets from the processor */
guint ib_post_processor_added (const IbPostProcessor *p);
/* appends the processed single sequence @seq to @ids */
void ib_post_processor_apply (const IbPostProcessor *p, const GArray *seq,
    GArray *ids);

/* ---- decoders (decoder.c) ---- */

typedef struct _IbDecoder IbDecoder;

IbDecoder *ib_decoder_new (JsonNode *node, GError **error);
void ib_decoder_free (IbDecoder *d);
/* decode_chain: @tokens is a GPtrArray of owned strings, replaced */
void ib_decoder_chain (const IbDecoder *d, GPtrArray **tokens);
/* transformers' clean_up_tokenization () */
char *ib_clean_up_tokenization (const char *text);

G_END_DECLS
