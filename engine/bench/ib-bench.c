/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stage timings and memory of the engine on one checkpoint, as JSON, for
 * the side-by-side comparison with transformers (compare_transformers.py).
 *
 *   ib-bench --model DIR [--frames N] [--tokens N] [--beams N]
 *            [--precision fp32|fp16|bf16|q8|auto] [--device SPEC] [--runs N]
 *            [--overlap N]
 *
 * Random pixels (fixed seed) stand in for frames; generation is forced to
 * exactly --tokens new tokens (min = max) so both sides decode as many
 * steps. Each stage's figure is the median over --runs answers after one
 * warm-up answer; the context's frame cache is off, so that every answer
 * encodes its frames.
 *
 * --overlap N also asks N questions on windows of --frames frames sliding
 * by one frame over a stream of distinct frames, once with the frame
 * cache on (the default size) and once off, and reports the mean vision
 * time per answer and the frames reused per answer of each. */
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

/* Mean vision ms and frames reused per answer over @n_windows windows of
 * @frames frames sliding by one over @pixels, on a new context with
 * @frame_cache; one warm-up answer on the @frames frames after the
 * stream first. */
static gboolean
overlap_run (IbModel *model, const IbContextParams *base, int frame_cache,
    const float *pixels, int frames, int n_windows, const IbGenerateParams *gp,
    double *vision_ms, double *reused, GError **error)
{
  const gsize frame = 3 * (gsize) ib_model_get_image_size (model) *
      ib_model_get_image_size (model);
  IbContextParams cp = *base;
  IbContext *ctx;
  IbAnswer *a;
  gboolean ok = FALSE;
  int w;

  cp.frame_cache = frame_cache;
  *vision_ms = *reused = 0;
  if (!(ctx = ib_context_new (model, &cp, error)))
    return FALSE;
  for (w = -1; w < n_windows; w++) {
    const float *win = pixels + (w < 0 ? n_windows + frames - 1 : w) * frame;

    if (!ib_context_set_pixel_values (ctx, win, frames, error) ||
        !(a = ib_context_answer (ctx, "What is happening in the video?", gp,
              error)))
      goto out;
    if (w >= 0) {
      *vision_ms += a->timings.vision_ms / n_windows;
      *reused += (double) a->timings.n_frames_reused / n_windows;
    }
    ib_answer_free (a);
  }
  ok = TRUE;
out:
  ib_context_free (ctx);
  return ok;
}

/* CPU seconds of the process so far: user + system, and system alone
 * (the kernel: page faults, copies out of the page cache). */
static double
cpu_s (double *sys)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  if (sys)
    *sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
      (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
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
  char *weight_cache = NULL;
  gboolean weight_cache_copy = FALSE;
  int frames = 1, tokens = 8, beams = 1, runs = 3, overlap = 0, i;
  GOptionEntry entries[] = { { "model", 'm', 0, G_OPTION_ARG_FILENAME,
                                 &model_dir, "model directory", "DIR" },
    { "frames", 'f', 0, G_OPTION_ARG_INT, &frames, "frames per question", "N" },
    { "tokens", 't', 0, G_OPTION_ARG_INT, &tokens, "new tokens", "N" },
    { "beams", 'b', 0, G_OPTION_ARG_INT, &beams, "beams", "N" },
    { "runs", 'r', 0, G_OPTION_ARG_INT, &runs, "timed answers", "N" },
    { "precision", 'p', 0, G_OPTION_ARG_STRING, &precision,
        "fp32, fp16, bf16, q8 or auto", "P" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "OpenCL device", "SPEC" },
    { "weight-cache-copy", 0, 0, G_OPTION_ARG_NONE, &weight_cache_copy,
        "read cache entries into memory (IbModelParams.weight_cache_map "
        "FALSE)",
        NULL },
    { "weight-cache", 0, 0, G_OPTION_ARG_FILENAME, &weight_cache,
        "packed-weights cache directory (IbModelParams.weight_cache_dir)",
        "DIR" },
    { "overlap", 'o', 0, G_OPTION_ARG_INT, &overlap,
        "also N answers on windows sliding by one frame, frame cache on and "
        "off",
        "N" },
    { NULL } };
  GOptionContext *oc = g_option_context_new ("- engine stage timings");
  IbModelParams mp;
  IbContextParams cp, ctx_params;
  IbGenerateParams gp;
  IbModel *model = NULL;
  IbContext *ctx = NULL;
  GError *error = NULL;
  double *vision = NULL, *qformer = NULL, *prefill = NULL, *decode = NULL;
  double *answer = NULL, *vision_cpu = NULL;
  double load_s, load_cpu_s, load_sys_s, sys0, rss_after_load;
  double vision_reuse = 0, vision_no_reuse = 0, reused = 0, reused_off = 0;
  GString *extra = g_string_new (NULL);
  float *pixels = NULL;
  gsize n_pix;
  gint64 t0;
  guint32 seed = 1;
  int ret = 1, S;

  g_option_context_add_main_entries (oc, entries, NULL);
  if (!g_option_context_parse (oc, &argc, &argv, &error))
    goto out;
  if (model_dir == NULL || runs < 1 || runs > 64 || tokens < 1 || overlap < 0 ||
      overlap > 4096) {
    g_printerr ("usage: ib-bench --model DIR [options]\n");
    ret = 2;
    goto out;
  }
  ib_model_params_init (&mp);
  if (device)
    mp.device = device;
  mp.weight_cache_dir = weight_cache;
  mp.weight_cache_map = !weight_cache_copy;
  if (precision && !ib_precision_from_string (precision, &mp.precision)) {
    g_printerr ("ib-bench: --precision is fp32, fp16, bf16, q8 or auto\n");
    ret = 2;
    goto out;
  }
  t0 = g_get_monotonic_time ();
  load_cpu_s = cpu_s (&sys0);
  model = ib_model_load (model_dir, &mp, &error);
  if (model == NULL)
    goto out;
  load_s = (g_get_monotonic_time () - t0) / 1e6;
  load_cpu_s = cpu_s (&load_sys_s) - load_cpu_s;
  load_sys_s -= sys0;
  rss_after_load = rss_now_mb ();

  ib_context_params_init (&cp);
  cp.max_frames = frames;
  cp.max_beams = MAX (beams, 1);
  cp.max_new_tokens = tokens + 1;
  ctx_params = cp;
  /* the same pixels every run: the frame cache would skip the encoder */
  cp.frame_cache = 0;
  ctx = ib_context_new (model, &cp, &error);
  if (ctx == NULL)
    goto out;

  S = ib_model_get_image_size (model);
  /* --overlap: a stream of overlap + frames - 1 frames, and a warm-up
   * window after it */
  n_pix = (gsize) (overlap > 0 ? overlap + 2 * frames - 1 : frames) * 3 * S * S;
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
  answer = g_new (double, runs);
  vision_cpu = g_new (double, runs);
  for (i = -1; i < runs; i++) {
    IbAnswer *a;
    gint64 t_answer = g_get_monotonic_time ();
    /* the frames are encoded here, so the process's CPU time around it
     * is the vision encoder's (all threads) */
    double cpu0 = cpu_s (NULL);
    if (!ib_context_set_pixel_values (ctx, pixels, frames, &error))
      goto out;
    if (i >= 0)
      vision_cpu[i] = (cpu_s (NULL) - cpu0) * 1e3 / frames;
    a = ib_context_answer (ctx, "What is happening in the video?", &gp, &error);
    if (a == NULL)
      goto out;
    if (i >= 0) {
      vision[i] = a->timings.vision_ms / frames;
      qformer[i] = a->timings.qformer_ms / frames;
      prefill[i] = a->timings.prefill_ms;
      decode[i] = a->timings.decode_ms / MAX (a->n_tokens - 1, 1);
      answer[i] = (g_get_monotonic_time () - t_answer) / 1e3;
    }
    ib_answer_free (a);
  }
  if (overlap > 0) {
    if (!overlap_run (model, &ctx_params, ctx_params.frame_cache, pixels,
            frames, overlap, &gp, &vision_reuse, &reused, &error) ||
        !overlap_run (model, &ctx_params, 0, pixels, frames, overlap, &gp,
            &vision_no_reuse, &reused_off, &error))
      goto out;
    g_string_printf (extra,
        ", \"overlap\": %d, \"frame_cache\": %d, "
        "\"vision_ms_per_answer_reuse\": %.2f, "
        "\"vision_ms_per_answer_no_reuse\": %.2f, "
        "\"frames_reused_per_answer\": %.2f",
        overlap, ctx_params.frame_cache, vision_reuse, vision_no_reuse, reused);
  }
  g_print ("{\"engine\": \"gst-instructblip\", \"device\": \"%s\", "
           "\"precision\": \"%s\", \"load_s\": %.3f, \"load_cpu_s\": %.3f, "
           "\"load_sys_s\": %.3f, "
           "\"weights_mb\": %.1f, "
           "\"vision_ms_per_frame\": "
           "%.2f, \"vision_cpu_ms_per_frame\": %.2f, "
           "\"qformer_ms_per_frame\": %.2f, \"prefill_ms\": %.2f, "
           "\"decode_ms_per_token\": %.2f, \"answer_ms\": %.1f, "
           "\"rss_after_load_mb\": %.1f, "
           "\"peak_rss_mb\": %.1f, \"frames\": %d, \"tokens\": %d, "
           "\"beams\": %d%s}\n",
      ib_model_get_device_name (model),
      ib_precision_to_string (ib_model_get_precision (model)), load_s,
      load_cpu_s, load_sys_s, ib_model_get_weight_bytes (model) / 1048576.0,
      median (vision, runs), median (vision_cpu, runs), median (qformer, runs),
      median (prefill, runs), median (decode, runs), median (answer, runs),
      rss_after_load, peak_rss_mb (), frames, tokens, beams, extra->str);
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
  g_free (answer);
  g_free (vision_cpu);
  g_free (pixels);
  g_string_free (extra, TRUE);
  ib_context_free (ctx);
  ib_model_unref (model);
  g_option_context_free (oc);
  g_free (model_dir);
  g_free (precision);
  g_free (device);
  g_free (weight_cache);
  return ret;
}
