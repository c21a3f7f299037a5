/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: encode and decode arbitrary bytes with the real tokenizers (LLaMA BPE, BERT WordPiece, T5 Unigram), loaded once. */
#include "fuzz-util.h"
#include "tokenizer.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char *const files[] = {
  "models/instructblip-synthvid-tiny/tokenizer.json", /* LLaMA BPE */
  "models/instructblip-synthvid-tiny/qformer_tokenizer/tokenizer.json",
  "tests/data/parity/t5-tiny/tokenizer.json", /* T5 Unigram */
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

/* UTF-8 in which U+0000 is allowed, as ib_tokenizer_encode() takes it
 * (g_utf8_validate_len() refuses NUL bytes). */
static gboolean
utf8_valid (const char *text, gsize len)
{
  const char *end = text + len;

  while (text < end) {
    const char *nul = memchr (text, '\0', (gsize) (end - text));
    const char *stop = nul ? nul : end;

    if (!g_utf8_validate_len (text, (gsize) (stop - text), NULL))
      return FALSE;
    text = nul ? nul + 1 : end;
  }
  return TRUE;
}

/* What every decode must give: valid UTF-8 (or an error). */
static void
check_decode (IbTokenizer *tok, const gint32 *ids, gsize n, gboolean skip)
{
  GError *error = NULL;
  char *text = ib_tokenizer_decode (tok, ids, n, skip, &error);

  if (text == NULL) {
    g_clear_error (&error);
    return;
  }
  if (!g_utf8_validate (text, -1, NULL))
    g_critical ("decode gave invalid UTF-8");
  g_free (ib_tokenizer_clean_up_spaces (text));
  g_free (text);
}

/*
 * Byte 0 chooses the tokenizer (bits 0-1), special tokens (bit 2), the
 * truncation side (bit 3) and whether to truncate (bit 4); byte 1 is the
 * maximum length; the rest is the text. The same text is then encoded
 * with the other tokenizers too, and every id list is decoded.
 */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GArray *ids;
  const char *text;
  gsize len;
  guint8 flags, max_len;
  guint i;

  if (size < 2)
    return 0;
  flags = data[0];
  max_len = data[1];
  text = (const char *) data + 2;
  len = size - 2;
  ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  for (i = 0; i < G_N_ELEMENTS (toks); i++) {
    IbTokenizer *tok = toks[(flags + i) % G_N_ELEMENTS (toks)];
    gboolean add_special = (flags >> 2) & 1;
    IbTruncateSide side =
        (flags >> 3) & 1 ? IB_TRUNCATE_LEFT : IB_TRUNCATE_RIGHT;
    guint limit = (flags >> 4) & 1 ? max_len : 0;
    gboolean valid = utf8_valid (text, len);
    GError *error = NULL;
    guint vocab = ib_tokenizer_get_vocab_size (tok);
    guint j;

    g_array_set_size (ids, 0);
    if (!ib_tokenizer_encode_truncated (tok, text, (gssize) len, add_special,
            limit, side, ids, &error)) {
      /* a limit below the special tokens' count is an error too */
      if (valid && limit == 0)
        g_critical ("valid UTF-8 failed to encode: %s", error->message);
      if (ids->len != 0)
        g_critical ("a failed encode changed the ids");
      g_clear_error (&error);
      continue;
    }
    if (!valid)
      g_critical ("invalid UTF-8 encoded without an error");
    if (limit != 0 && ids->len > limit)
      g_critical ("%u ids above the limit of %u", ids->len, limit);
    for (j = 0; j < ids->len; j++) {
      gint32 id = g_array_index (ids, gint32, j);
      if (id < 0 || (guint) id >= vocab ||
          ib_tokenizer_id_to_token (tok, id) == NULL)
        g_critical ("encode gave id %d, outside the vocabulary of %u", id,
            vocab);
    }
    check_decode (tok, (gint32 *) ids->data, ids->len, TRUE);
    check_decode (tok, (gint32 *) ids->data, ids->len, FALSE);
  }
  g_array_free (ids, TRUE);
  return 0;
}
