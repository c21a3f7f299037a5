/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A program built against the installed libinstructblip with pkg-config: the error domains, the default model, one answer. */
#include <instructblip.h>
#include <stdio.h>
#include <string.h>

#define SIZE 64

int
main (void)
{
  const char *dir = ib_get_default_model_dir ();
  IbModelParams mp;
  IbContextParams cp;
  IbGenerateParams gp;
  IbModel *model = NULL;
  IbContext *ctx = NULL;
  IbAnswer *answer = NULL;
  IbImage frame;
  GError *error = NULL;
  static guint8 pixels[SIZE * SIZE * 3];
  int status = 1;

  /* a missing checkpoint: an error of a public domain */
  model = ib_model_load ("/nonexistent/checkpoint", NULL, &error);
  if (model != NULL || error == NULL ||
      (error->domain != IB_ERROR && error->domain != IB_TOKENIZER_ERROR)) {
    fprintf (stderr,
        "consumer: a missing checkpoint loaded or gave an "
        "unknown error domain\n");
    goto out;
  }
  g_clear_error (&error);

  printf ("default model: %s\n", dir);
  ib_model_params_init (&mp);
  model = ib_model_load (dir, &mp, &error);
  if (model == NULL)
    goto out;
  printf ("device: %s\n", ib_model_get_device_name (model));

  ib_context_params_init (&cp);
  ctx = ib_context_new (model, &cp, &error);
  if (ctx == NULL)
    goto out;
  for (int i = 0; i < SIZE * SIZE; i++)
    pixels[3 * i] = 255; /* red */
  frame.width = frame.height = SIZE;
  frame.stride = SIZE * 3;
  frame.format = IB_PIXEL_FORMAT_RGB;
  frame.data = pixels;
  if (!ib_context_set_frames (ctx, &frame, 1, &error))
    goto out;
  ib_generate_params_init_for_model (&gp, model);
  answer = ib_context_answer (ctx, "What colour is the picture?", &gp, &error);
  if (answer == NULL)
    goto out;
  printf ("answer: %s\n", answer->text);
  status = answer->text[0] != '\0' ? 0 : 1;

out:
  if (error != NULL)
    fprintf (stderr, "consumer: %s\n", error->message);
  g_clear_error (&error);
  ib_answer_free (answer);
  ib_context_free (ctx);
  if (model != NULL)
    ib_model_unref (model);
  return status;
}
