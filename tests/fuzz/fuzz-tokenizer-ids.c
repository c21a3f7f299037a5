/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: decode arbitrary id lists (any int32) with the real tokenizers (LLaMA BPE, BERT WordPiece, T5 Unigram), loaded once. */
#include "fuzz-util.h"
#include "tokenizer.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char *const files[] = {
  "models/instructblip-synthvid-tiny/tokenizer.json",
  "models/instructblip-synthvid-tiny/qformer_tokenizer/tokenizer.json",
  "tests/data/parity/t5-tiny/tokenizer.json",
};
static IbTokenizer *toks[G_N_ELEMENTS (files)];

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  guint i;

  (void) argc;
  (void) argv;
  fuzz_init_logging ();
  for (i = 0; i < G_N_ELEMENTS (files); i++) {
    gchar *path = fuzz_source_path (files[i]);
    GError *error = NULL;

    toks[i] = ib_tokenizer_new_from_file (path, &error);
    g_assert_no_error (error);
    g_free (path);
  }
  return 0;
}

/*
 * Byte 0: tokenizer (bits 0-1), skip special tokens (bit 2), ids folded
 * into the vocabulary (bit 3: id % (vocab + 8), so that most ids are real
 * tokens); then little-endian int32 ids. Decoding must give valid UTF-8 or
 * an error, never a crash.
 */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  IbTokenizer *tok;
  gint32 *ids;
  gsize n, i;
  guint vocab;
  GError *error = NULL;
  char *text;

  if (size < 1)
    return 0;
  tok = toks[(data[0] & 3) % G_N_ELEMENTS (toks)];
  vocab = ib_tokenizer_get_vocab_size (tok);
  n = (size - 1) / sizeof (gint32);
  ids = g_new (gint32, n + 1);
  memcpy (ids, data + 1, n * sizeof (gint32));
  for (i = 0; i < n; i++) {
    ids[i] = GINT32_FROM_LE (ids[i]);
    if (data[0] & 8)
      ids[i] = (gint32) ((guint32) ids[i] % (vocab + 8));
    (void) ib_tokenizer_id_to_token (tok, ids[i]);
    (void) ib_tokenizer_is_special_id (tok, ids[i]);
  }
  text = ib_tokenizer_decode (tok, ids, n, (data[0] >> 2) & 1, &error);
  if (text == NULL) {
    g_clear_error (&error);
  } else {
    if (!g_utf8_validate (text, -1, NULL))
      g_critical ("decode gave invalid UTF-8");
    g_free (ib_tokenizer_clean_up_spaces (text));
    g_free (text);
  }
  g_free (ids);
  return 0;
}
