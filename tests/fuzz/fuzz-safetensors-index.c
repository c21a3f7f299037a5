/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: model.safetensors.index.json beside two real shards, through ib_safetensors_open_dir. */
#include "fuzz-util.h"
#include "ib-checkpoint.h"

#include <stdint.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define SHARDS "tests/data/checkpoint/llama-f32-sharded/"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  fuzz_init_logging ();
  /* the shards the fixture's index names; the fuzzer writes the index */
  fuzz_copy_file (SHARDS "model-00001-of-00002.safetensors",
      "model-00001-of-00002.safetensors");
  fuzz_copy_file (SHARDS "model-00002-of-00002.safetensors",
      "model-00002-of-00002.safetensors");
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  IbSafetensors *st;
  guint i, n;

  fuzz_write_file ("model.safetensors.index.json", data, size);
  st = ib_safetensors_open_dir (fuzz_scratch_dir (), &error);
  if (st == NULL) {
    if (error == NULL || error->message == NULL || !error->message[0])
      g_critical ("ib_safetensors_open_dir failed without a message");
    g_clear_error (&error);
    return 0;
  }
  n = ib_safetensors_get_n_tensors (st);
  for (i = 0; i < n; i++) {
    const IbTensor *t = ib_safetensors_get_nth (st, i);
    if (ib_safetensors_get (st, t->name) != t)
      g_critical ("tensor %s is not found by its name", t->name);
  }
  for (i = 0; i < ib_safetensors_get_n_files (st); i++)
    (void) ib_safetensors_get_file (st, i);
  ib_safetensors_free (st);
  return 0;
}
