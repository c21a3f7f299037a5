/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: one .safetensors file (header and data) through ib_safetensors_open_file and the tensor readers. */
#include "fuzz-util.h"
#include "ib-checkpoint.h"

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

/* Reads the first and the last few elements of @t as the loader would. */
static void
read_ends (const IbTensor *t)
{
  float f32[16];
  guint16 f16[16];
  gsize n = (gsize) MIN (t->n_elements, G_N_ELEMENTS (f32));
  GError *error = NULL;

  if (!ib_dtype_is_supported_weight (t->dtype) || n == 0)
    return;
  if (!ib_tensor_read_f32 (t, 0, n, f32, &error))
    g_clear_error (&error);
  if (!ib_tensor_read_f16 (t, t->n_elements - n, n, f16, &error))
    g_clear_error (&error);
  /* out of range: must be an error, never a read */
  if (ib_tensor_read_f32 (t, t->n_elements, 1, f32, &error))
    g_critical ("read past the end of %s succeeded", t->name);
  g_clear_error (&error);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = fuzz_write_file ("model.safetensors", data, size);
  GError *error = NULL;
  IbSafetensors *st = ib_safetensors_open_file (path, &error);
  guint i, n;

  if (st == NULL) {
    if (error == NULL || error->message == NULL || !error->message[0])
      g_critical ("ib_safetensors_open_file failed without a message");
    g_clear_error (&error);
    return 0;
  }
  n = ib_safetensors_get_n_tensors (st);
  for (i = 0; i < n; i++) {
    const IbTensor *t = ib_safetensors_get_nth (st, i);
    gchar *shape = ib_shape_to_string (t->n_dims, t->shape);

    if (ib_safetensors_get (st, t->name) != t)
      g_critical ("tensor %s is not found by its name", t->name);
    read_ends (t);
    g_free (shape);
  }
  ib_safetensors_free (st);
  return 0;
}
