/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The C API's example (docs/api.md): answers a question about raw RGB frames with libinstructblip. */

/*
 * Usage: ask FRAMES.rgb WIDTH HEIGHT "QUESTION" [MODEL_DIR]
 *
 * FRAMES.rgb holds one or more frames of WIDTH x HEIGHT packed RGB pixels
 * (3 bytes each, top row first), back to back. Without MODEL_DIR the
 * default model that ships with the library is used. Prints the answer.
 *
 * Build: cc ask.c $(pkg-config --cflags --libs instructblip-1.0) -o ask
 */
#include <instructblip.h>
#include <stdio.h>
#include <stdlib.h>

int
main (int argc, char **argv)
{
  IbModelParams mp;
  IbContextParams cp;
  IbGenerateParams gp;
  IbModel *model = NULL;
  IbContext *ctx = NULL;
  IbAnswer *answer = NULL;
  IbImage *frames = NULL;
  GError *error = NULL;
  char *pixels = NULL;
  gsize len, frame_bytes;
  int width, height, n_frames, i, status = 1;

  if (argc < 5 || argc > 6) {
    fprintf (stderr, "usage: %s FRAMES.rgb WIDTH HEIGHT QUESTION [MODEL_DIR]\n",
        argv[0]);
    return 2;
  }
  width = atoi (argv[2]);
  height = atoi (argv[3]);
  if (width < 1 || height < 1 || width > IB_IMAGE_MAX_DIM ||
      height > IB_IMAGE_MAX_DIM) {
    fprintf (stderr, "%s: WIDTH and HEIGHT must be 1 to %d\n", argv[0],
        IB_IMAGE_MAX_DIM);
    return 2;
  }

  /* the frames: borrowed views of the file's bytes */
  if (!g_file_get_contents (argv[1], &pixels, &len, &error))
    goto out;
  frame_bytes = (gsize) width * height * 3;
  n_frames = (int) (len / frame_bytes);
  if (n_frames < 1 || len % frame_bytes != 0) {
    fprintf (stderr, "%s: %s is not a whole number of %dx%d RGB frames\n",
        argv[0], argv[1], width, height);
    goto out;
  }
  frames = g_new0 (IbImage, n_frames);
  for (i = 0; i < n_frames; i++) {
    frames[i].width = width;
    frames[i].height = height;
    frames[i].stride = width * 3;
    frames[i].format = IB_PIXEL_FORMAT_RGB;
    frames[i].data = (const guint8 *) pixels + i * frame_bytes;
  }

  /* the model: loaded once, shareable by any number of contexts */
  ib_model_params_init (&mp);
  mp.device = "auto"; /* the first GPU, else a CPU device */
  model = ib_model_load (argc == 6 ? argv[5] : ib_get_default_model_dir (), &mp,
      &error);
  if (model == NULL)
    goto out;
  fprintf (stderr, "%s: %s on %s (%s)\n", argv[0],
      argc == 6 ? argv[5] : ib_get_default_model_dir (),
      ib_model_get_device_name (model),
      ib_precision_to_string (ib_model_get_precision (model)));

  /* a context per stream, sized for as many frames as we have */
  ib_context_params_init (&cp);
  cp.max_frames = n_frames;
  ctx = ib_context_new (model, &cp, &error);
  if (ctx == NULL)
    goto out;
  if (!ib_context_set_frames (ctx, frames, n_frames, &error))
    goto out;

  /* the checkpoint's generation_config.json, greedy */
  ib_generate_params_init_for_model (&gp, model);
  gp.num_beams = 1;
  gp.do_sample = FALSE;
  answer = ib_context_answer (ctx, argv[4], &gp, &error);
  if (answer == NULL)
    goto out;
  printf ("%s\n", answer->text);
  status = 0;

out:
  if (error != NULL) {
    /* every error is a GError of a public domain */
    fprintf (stderr, "%s: %s (%s %d)\n", argv[0], error->message,
        g_quark_to_string (error->domain), error->code);
    if (error->domain == IB_ERROR && error->code == IB_ERROR_NO_DEVICE)
      status = 77; /* no OpenCL device: what test harnesses call a skip */
  }
  g_clear_error (&error);
  ib_answer_free (answer);
  ib_context_free (ctx);
  ib_model_unref (model);
  g_free (frames);
  g_free (pixels);
  return status;
}
