/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stage timings and memory of the engine on one checkpoint, as JSON, for
 * the side-by-side comparison with transformers (compare_transformers.py).
 *
 *   ib-bench --model DIR [--frames N] [--tokens N] [--beams N]
 *            [--precision fp32|fp16|bf16|q8|auto] [--device SPEC] [--runs N]
 *
 * Random pixels (fixed seed) stand in for frames; generation is forced to
 * exactly --tokens new tokens (min = max) so both sides decode as many
 * steps. Each stage's figure is the median over --runs answers after one
 * warm-up answer. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "instructblip.h"

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *v, int n)
{
  qsort (v, n, sizeof (double), cmp_double);
  return v[n / 2];
}

/* Resident size now (VmRSS), MiB; -1 where /proc is absent. */
static double
rss_now_mb (void)
{
  char *status = NULL, *line;
  double mb = -1;

  if (g_file_get_contents ("/proc/self/status", &status, NULL, NULL) &&
      (line = strstr (status, "VmRSS:")))
    mb = g_ascii_strtod (line + 6, NULL) / 1024.0;
  g_free (status);
  return mb;
}

static double
peak_rss_mb (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

int
main (int argc, char **argv)
{
  char *model_dir = NULL, *precision = NULL, *device = NULL;
  int frames = 1, tokens = 8, beams = 1, runs = 3, i;
  GOptionEntry entries[] = { { "model", 'm', 0, G_OPTION_ARG_FILENAME,
                                 &model_dir, "model directory", "DIR" },
    { "frames", 'f', 0, G_OPTION_ARG_INT, &frames, "frames per question", "N" },
    { "tokens", 't', 0, G_OPTION_ARG_INT, &tokens, "new tokens", "N" },
    { "beams", 'b', 0, G_OPTION_ARG_INT, &beams, "beams", "N" },
    { "runs", 'r', 0, G_OPTION_ARG_INT, &runs, "timed answers", "N" },
    { "precision", 'p', 0, G_OPTION_ARG_STRING, &precision,
        "fp32, fp16, bf16, q8 or auto", "P" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "OpenCL device", "SPEC" },
    { NULL } };
  GOptionContext *oc = g_option_context_new ("- engine stage timings");
  IbModelParams mp;
  IbContextParams cp;
  IbGenerateParams gp;
  IbModel *model = NULL;
  IbContext *ctx = NULL;
  GError *error = NULL;
  double *vision = NULL, *qformer = NULL, *prefill = NULL, *decode = NULL;
  double load_s, rss_after_load;
  float *pixels = NULL;
  gsize n_pix;
  gint64 t0;
  guint32 seed = 1;
  int ret = 1, S;

  g_option_context_add_main_entries (oc, entries, NULL);
  if (!g_option_context_parse (oc, &argc, &argv, &error))
    goto out;
  if (model_dir == NULL || runs < 1 || runs > 64 || tokens < 1) {
    g_printerr ("usage: ib-bench --model DIR [options]\n");
    ret = 2;
    goto out;
  }
  ib_model_params_init (&mp);
  if (device)
    mp.device = device;
  if (precision && !ib_precision_from_string (precision, &mp.precision)) {
    g_printerr ("ib-bench: --precision is fp32, fp16, bf16, q8 or auto\n");
    ret = 2;
    goto out;
  }
  t0 = g_get_monotonic_time ();
  model = ib_model_load (model_dir, &mp, &error);
  if (model == NULL)
    goto out;
  load_s = (g_get_monotonic_time () - t0) / 1e6;
  rss_after_load = rss_now_mb ();

  ib_context_params_init (&cp);
  cp.max_frames = frames;
  cp.max_beams = MAX (beams, 1);
  cp.max_new_tokens = tokens + 1;
  ctx = ib_context_new (model, &cp, &error);
  if (ctx == NULL)
    goto out;

  S = ib_model_get_image_size (model);
  n_pix = (gsize) frames * 3 * S * S;
  pixels = g_new (float, n_pix);
  for (gsize k = 0; k < n_pix; k++) {
    seed = seed * 1664525u + 1013904223u;
    pixels[k] = ((seed >> 8) / 16777216.0f) * 4.0f - 2.0f;
  }
  ib_generate_params_init (&gp);
  gp.max_new_tokens = tokens;
  gp.min_new_tokens = tokens;
  gp.num_beams = beams;

  vision = g_new (double, runs);
  qformer = g_new (double, runs);
  prefill = g_new (double, runs);
  decode = g_new (double, runs);
  for (i = -1; i < runs; i++) {
    IbAnswer *a;
    if (!ib_context_set_pixel_values (ctx, pixels, frames, &error))
      goto out;
    a = ib_context_answer (ctx, "What is happening in the video?", &gp, &error);
    if (a == NULL)
      goto out;
    if (i >= 0) {
      vision[i] = a->timings.vision_ms / frames;
      qformer[i] = a->timings.qformer_ms / frames;
      prefill[i] = a->timings.prefill_ms;
      decode[i] = a->timings.decode_ms / MAX (a->n_tokens - 1, 1);
    }
    ib_answer_free (a);
  }
  g_print ("{\"engine\": \"gst-instructblip\", \"device\": \"%s\", "
           "\"precision\": \"%s\", \"load_s\": %.3f, \"weights_mb\": %.1f, "
           "\"vision_ms_per_frame\": "
           "%.2f, "
           "\"qformer_ms_per_frame\": %.2f, \"prefill_ms\": %.2f, "
           "\"decode_ms_per_token\": %.2f, \"rss_after_load_mb\": %.1f, "
           "\"peak_rss_mb\": %.1f, \"frames\": %d, \"tokens\": %d, "
           "\"beams\": %d}\n",
      ib_model_get_device_name (model),
      ib_precision_to_string (ib_model_get_precision (model)), load_s,
      ib_model_get_weight_bytes (model) / 1048576.0, median (vision, runs),
      median (qformer, runs), median (prefill, runs), median (decode, runs),
      rss_after_load, peak_rss_mb (), frames, tokens, beams);
  ret = 0;
out:
  if (error) {
    g_printerr ("ib-bench: %s\n", error->message);
    g_error_free (error);
  }
  g_free (vision);
  g_free (qformer);
  g_free (prefill);
  g_free (decode);
  g_free (pixels);
  ib_context_free (ctx);
  ib_model_unref (model);
  g_option_context_free (oc);
  g_free (model_dir);
  g_free (precision);
  g_free (device);
  return ret;
}
