/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: one JSON config file of a model directory (FUZZ_CONFIG_FILE) through ib_model_config_load and ib_checkpoint_validate. */
#include "fuzz-util.h"
#include "ib-checkpoint.h"

#include <stdint.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* The real checkpoints a loaded config is checked against, as
 * ib_checkpoint_open() does after loading the config: the default model
 * (LLaMA), and the parity fixtures for T5 and for video. */
static const char *const ref_dirs[] = {
  "models/instructblip-synthvid-tiny",
  "tests/data/parity/t5-tiny",
  "tests/data/parity/vicuna-tiny-video",
};
static IbSafetensors *refs[G_N_ELEMENTS (ref_dirs)];

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  guint i;

  (void) argc;
  (void) argv;
  fuzz_init_logging ();
  for (i = 0; i < G_N_ELEMENTS (ref_dirs); i++) {
    gchar *dir = fuzz_source_path (ref_dirs[i]);
    GError *error = NULL;

    refs[i] = ib_safetensors_open_dir (dir, &error);
    g_assert_no_error (error);
    g_free (dir);
  }
  /* the other files come from the default model, unfuzzed */
  if (g_strcmp0 (FUZZ_CONFIG_FILE, "config.json") != 0)
    fuzz_copy_file ("models/instructblip-synthvid-tiny/config.json",
        "config.json");
  return 0;
}

static void
load_and_check (void)
{
  GError *error = NULL;
  IbModelConfig *cfg = ib_model_config_load (fuzz_scratch_dir (), &error);
  guint i;

  if (cfg == NULL) {
    if (error == NULL || error->message == NULL || !error->message[0])
      g_critical ("ib_model_config_load failed without a message");
    g_clear_error (&error);
    return;
  }
  (void) ib_text_arch_name (cfg->text.arch);
  (void) ib_activation_name (cfg->text.act);
  (void) ib_model_type_name (cfg->model_type);
  for (i = 0; i < G_N_ELEMENTS (refs); i++) {
    if (ib_checkpoint_validate (cfg, refs[i], &error)) {
      /* valid: ib_checkpoint_open then lists the tied aliases */
      GPtrArray *expected = ib_expected_tensors (cfg);
      g_ptr_array_unref (expected);
    }
    g_clear_error (&error);
  }
  ib_model_config_free (cfg);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_write_file (FUZZ_CONFIG_FILE, data, size);
  load_and_check ();
  if (g_strcmp0 (FUZZ_CONFIG_FILE, "preprocessor_config.json") == 0) {
    /* the same text as the video processor's file, with and without the
     * image processor's file to fall back on */
    fuzz_write_file ("video_preprocessor_config.json", data, size);
    load_and_check ();
    fuzz_remove_file ("preprocessor_config.json");
    load_and_check ();
    fuzz_remove_file ("video_preprocessor_config.json");
  }
  return 0;
}
