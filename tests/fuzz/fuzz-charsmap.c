/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: a hostile precompiled_charsmap blob (T5/sentencepiece normalizer) through ib_charsmap_new and lookups of arbitrary text. */
#include "fuzz-util.h"
#include "tokenizer-private.h"

#include <stdint.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  fuzz_init_logging ();
  return 0;
}

/*
 * Bytes 0-1 (little-endian): the length of the blob, which follows (the
 * decoded charsmap, base64-encoded here as tokenizer.json stores it); the
 * rest is text, looked up from every byte position as the normalizer does.
 */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  gsize blob_len, i;
  gchar *b64;
  IbCharsmap *m;
  GError *error = NULL;

  if (size < 2)
    return 0;
  blob_len = MIN ((gsize) (data[0] | (data[1] << 8)), size - 2);
  b64 = g_base64_encode (data + 2, blob_len);
  m = ib_charsmap_new (b64, &error);
  g_free (b64);
  if (m == NULL) {
    g_clear_error (&error);
    return 0;
  }
  for (i = 2 + blob_len; i < size; i++) {
    gsize out_len = 0;
    const char *rep =
        ib_charsmap_lookup (m, (const char *) data + i, size - i, &out_len);
    if (rep != NULL && !g_utf8_validate (rep, (gssize) out_len, NULL))
      g_critical ("charsmap replacement is not UTF-8");
  }
  ib_charsmap_free (m);
  return 0;
}
