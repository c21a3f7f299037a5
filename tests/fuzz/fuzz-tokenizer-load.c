/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: tokenizer.json through ib_tokenizer_new_from_data, then a few encodes and decodes with what loaded. */
#include "fuzz-util.h"
#include "tokenizer.h"

#include <stdint.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char *const texts[] = {
  "What is in the image?",
  "  Hello,\tworld! ünïcödé 日本語 🤗 <s></s>[CLS][SEP]<unk> ",
  "",
};

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  fuzz_init_logging ();
  return 0;
}

static void
exercise (IbTokenizer *tok)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  GError *error = NULL;
  guint i, vocab = ib_tokenizer_get_vocab_size (tok);
  gint32 probe[4] = { 0, 1, (gint32) vocab - 1, (gint32) vocab };

  for (i = 0; i < G_N_ELEMENTS (texts); i++) {
    char *text;

    g_array_set_size (ids, 0);
    if (!ib_tokenizer_encode_truncated (tok, texts[i], -1, i % 2 == 0,
            i == 2 ? 0 : 8, IB_TRUNCATE_LEFT, ids, &error)) {
      g_clear_error (&error);
      continue;
    }
    text =
        ib_tokenizer_decode (tok, (gint32 *) ids->data, ids->len, TRUE, &error);
    g_clear_error (&error);
    g_free (text);
  }
  {
    char *text =
        ib_tokenizer_decode (tok, probe, G_N_ELEMENTS (probe), FALSE, &error);
    g_clear_error (&error);
    g_free (text);
  }
  for (i = 0; i < G_N_ELEMENTS (probe); i++) {
    const char *t = ib_tokenizer_id_to_token (tok, probe[i]);
    if (t != NULL && ib_tokenizer_token_to_id (tok, t) < 0)
      g_critical ("token %d (%s) has no id", probe[i], t);
    (void) ib_tokenizer_is_special_id (tok, probe[i]);
  }
  g_array_free (ids, TRUE);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  IbTokenizer *tok =
      ib_tokenizer_new_from_data ((const char *) data, (gssize) size, &error);

  if (tok == NULL) {
    if (error == NULL || error->message == NULL || !error->message[0])
      g_critical ("ib_tokenizer_new_from_data failed without a message");
    g_clear_error (&error);
    return 0;
  }
  exercise (tok);
  ib_tokenizer_free (tok);
  return 0;
}
