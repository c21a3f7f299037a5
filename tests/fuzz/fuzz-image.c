/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: an image or video file through instructblip-ask's decoding (ask_frames_load), then the engine's image processor on each frame. */
#include "fuzz-util.h"
#include "ask-media.h"
#include "preprocess.h"

#include <stdint.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* frames above this are decoded but not processed: the processor's
 * instrumented per-pixel loops on fuzzed headers claiming 2048 x 2048 were
 * most of fuzz-image-jpeg's time; fuzz-image-preprocess fuzzes the
 * processor itself */
#define FUZZ_MAX_PREPROCESS_PIXELS (256 * 256)
#define FUZZ_OUTPUT_SIZE 32

static IbPreprocessParams params;
static float *chw;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  fuzz_init_logging ();
  /* a stalled decoder is an error after 0.1 s (the CLI waits 30 s), well
   * inside libFuzzer's -timeout: only a wait without a bound is a finding
   * (a slow decode taken for a stall only takes the error path); mutated
   * videos that stall were most of this target's time at 0.5 s */
  ask_media_set_stall_timeout (G_USEC_PER_SEC / 10);
  ib_preprocess_params_init (&params);
  /* every decoded frame through the whole processor (formats, strides,
   * sizes, resampling, normalisation), but to 32 x 32: upscaling the small
   * seed images to 224 x 224 under the fuzzer's instrumentation was most
   * of each run's time; fuzz-image-preprocess covers the output sizes */
  params.width = FUZZ_OUTPUT_SIZE;
  params.height = FUZZ_OUTPUT_SIZE;
  chw = g_new (float, 3 * (gsize) params.width * params.height);
  return 0;
}

/*
 * fuzz-image-jpeg (FUZZ_JPEG_ONLY): JPEG files only, which the CLI decodes
 * in-process with libjpeg (our code around it: ask-media.c decode_jpeg);
 * other input is skipped, so this target runs thousands of files a second.
 * fuzz-image: any file; all but JPEG go through a GStreamer decodebin
 * pipeline per input (a few files a second: GStreamer's demuxers and
 * decoders are not ours, the pipeline, the frame copies and the errors
 * around them are).
 */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path;
  const char *files[1];
  GError *error = NULL;
  AskFrames *frames;
  int i;

#ifdef FUZZ_JPEG_ONLY
  if (size < 3 || data[0] != 0xff || data[1] != 0xd8 || data[2] != 0xff)
    return 0;
#endif
  path = fuzz_write_file ("input", data, size);
  files[0] = path;

  /* two frames of a video, as a short clip question would ask */
  frames = ask_frames_load (files, 1, 2, &error);
  if (frames == NULL) {
    if (error == NULL || error->message == NULL || !error->message[0])
      g_critical ("ask_frames_load failed without a message");
    g_clear_error (&error);
    return 0;
  }
  for (i = 0; i < frames->n_frames; i++) {
    /* the processor's time grows with the frame; large frames are
     * decoded (what this target is about) but only small ones resized,
     * fuzz-image-preprocess covers the resizer's cases at small sizes */
    if ((gint64) frames->frames[i].width * frames->frames[i].height >
        FUZZ_MAX_PREPROCESS_PIXELS)
      continue;
    if (!ib_image_preprocess (&frames->frames[i], &params, chw, &error)) {
      g_critical ("a decoded frame (%dx%d) failed to preprocess: %s",
          frames->frames[i].width, frames->frames[i].height, error->message);
      g_clear_error (&error);
    }
  }
  ask_frames_free (frames);
  return 0;
}
