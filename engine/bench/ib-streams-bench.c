/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Many streams on one model: answers per minute, latency and resident
 * memory for N streams answered one question at a time (one context, as a
 * single worker thread did) and batched (IbBatch with N slots), in one run
 * on one loaded model. Run by streams_bench.py; a benchmark, not a test.
 *
 *   ib-streams-bench --model DIR [--streams 1,2,4,8] [--questions N]
 *                    [--tokens N] [--precision P] [--device SPEC]
 *                    [--new-frames] [--stagger MS] [--batched-only]
 *
 * Each stream is a thread asking --questions questions back to back about
 * one frame (random pixels, fixed seed; the same for every stream), each
 * answer exactly --tokens tokens (min = max, greedy), the instructions
 * differing between streams and questions. One context (one at a time)
 * or one batch with as many slots as the most streams is made per mode,
 * and every slot has encoded the frame before timing (an untimed round of
 * one-token answers), so that the figures are the decode-bound steady
 * state of a static scene, where the frame cache spares the vision
 * encoder. Latency: from asking to the answer, waiting included; also
 * the mean Q-Former + prefill and decoding time of an answer (batched:
 * decoding includes the steps shared with the others). Memory:
 * the largest VmRSS sampled every 20 ms since the mode began (model,
 * context or slots, answers).
 * With --new-frames every question is about a frame of its own (a live
 * scene: the vision encoder runs for every question, and the batch
 * encodes the frames of questions that join together in shared passes,
 * "frames_per_vision_pass"). Batched lines also count the steps that
 * prefilled prompts, those that decoded others' rows at the same time,
 * and the prompts per such step (LLaMA).
 * With --stagger MS stream i asks its first timed question i·MS ms after
 * the round begins (streams whose questions arrive one after the other,
 * joining the batch while others decode) instead of all at once.
 * --batched-only skips the one-at-a-time mode (comparing two builds'
 * batching).
 * Prints one JSON object per configuration and line. */
#include <stdlib.h>
#include <string.h>

#include "instructblip.h"

typedef struct
{
  IbModel *model;
  IbContext *ctx; /* one-at-a-time, in order of asking (FIFO, as the
                   * element's worker queue) */
  GMutex ctx_lock;
  GCond ctx_turn;
  guint64 next_ticket, serving;
  IbBatch *batch; /* batched */
  const float *pixels; /* [3, S, S] */
  IbGenerateParams gp, warm_gp;
  gsize n_px; /* floats of a frame */
  gboolean new_frames; /* a frame of its own for every question */
  int stagger_ms; /* stream i's first timed question i·stagger_ms late */
  int questions;
  double *latency_ms; /* [streams · questions] */
  double prefill_ms, decode_ms; /* summed over the timed answers */
  GError *error;
  GMutex error_lock;
} Run;

typedef struct
{
  Run *run;
  int stream;
  int n; /* questions to ask */
  gboolean timed;
} Stream;

static const char *const instructions[] = { "What is happening in the video?",
  "Describe the scene.", "What moves, and where?", "Is anyone there?" };

static gpointer
stream_thread (gpointer data)
{
  Stream *s = data;
  Run *r = s->run;
  float *own = r->new_frames ? g_memdup2 (r->pixels, r->n_px * 4) : NULL;
  const float *px = own ? own : r->pixels;
  const IbGenerateParams *gp = s->timed ? &r->gp : &r->warm_gp;
  static gint frame_count;
  int i;

  if (s->timed && r->stagger_ms > 0)
    g_usleep ((gulong) s->stream * r->stagger_ms * 1000);
  for (i = 0; i < s->n; i++) {
    const char *instr = instructions[(s->stream + i) % 4];
    gint64 t0;
    GError *err = NULL;
    IbAnswer *a;

    /* a frame no question had before: one pixel differs */
    if (own)
      own[0] = (float) g_atomic_int_add (&frame_count, 1) / 1e6f;
    t0 = g_get_monotonic_time ();
    if (r->batch) {
      a = ib_batch_answer_pixels (r->batch, px, 1, instr, gp, &err);
    } else {
      guint64 ticket;
      g_mutex_lock (&r->ctx_lock);
      ticket = r->next_ticket++;
      while (r->serving != ticket)
        g_cond_wait (&r->ctx_turn, &r->ctx_lock);
      g_mutex_unlock (&r->ctx_lock);
      a = ib_context_set_pixel_values (r->ctx, px, 1, &err) ?
          ib_context_answer (r->ctx, instr, gp, &err) :
          NULL;
      g_mutex_lock (&r->ctx_lock);
      r->serving++;
      g_cond_broadcast (&r->ctx_turn);
      g_mutex_unlock (&r->ctx_lock);
    }
    if (a == NULL) {
      g_mutex_lock (&r->error_lock);
      if (r->error == NULL)
        r->error = g_steal_pointer (&err);
      g_mutex_unlock (&r->error_lock);
      g_clear_error (&err);
      break;
    }
    if (s->timed) {
      r->latency_ms[s->stream * r->questions + i] =
          (g_get_monotonic_time () - t0) / 1000.0;
      g_mutex_lock (&r->error_lock);
      r->prefill_ms += a->timings.qformer_ms + a->timings.prefill_ms;
      r->decode_ms += a->timings.decode_ms;
      g_mutex_unlock (&r->error_lock);
    }
    ib_answer_free (a);
  }
  g_free (own);
  return NULL;
}

/* All streams asking @n questions each; seconds of wall time. */
static double
round_of (Run *r, int streams, int n, gboolean timed)
{
  GThread **t = g_new (GThread *, streams);
  Stream *s = g_new (Stream, streams);
  gint64 t0 = g_get_monotonic_time ();
  int i;

  for (i = 0; i < streams; i++) {
    s[i] = (Stream){ r, i, n, timed };
    t[i] = g_thread_new ("stream", stream_thread, &s[i]);
  }
  for (i = 0; i < streams; i++)
    g_thread_join (t[i]);
  g_free (t);
  g_free (s);
  return (g_get_monotonic_time () - t0) / 1e6;
}

/* ---- resident memory ---- */

static double
rss_mb (void)
{
  char *status = NULL, *line;
  double mb = -1;

  if (g_file_get_contents ("/proc/self/status", &status, NULL, NULL) &&
      (line = strstr (status, "VmRSS:")))
    mb = g_ascii_strtod (line + 6, NULL) / 1024.0;
  g_free (status);
  return mb;
}

static gint sampling;
static double peak_mb;
static GMutex peak_lock;

static gpointer
sampler (G_GNUC_UNUSED gpointer data)
{
  while (g_atomic_int_get (&sampling)) {
    double mb = rss_mb ();
    g_mutex_lock (&peak_lock);
    peak_mb = MAX (peak_mb, mb);
    g_mutex_unlock (&peak_lock);
    g_usleep (20000);
  }
  return NULL;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* One mode, batched or one at a time, for each stream count of @counts:
 * one context, or one batch with as many slots as the most streams (the
 * element's batch likewise has its slots whatever the streams using it),
 * made once; a warm-up round of one-token answers from @max_streams
 * streams has every slot encode the frame. */
static gboolean
mode_run (Run *r, const IbContextParams *cp, gboolean batched,
    char *const *counts, int max_streams, GError **error)
{
  GThread *st;
  int c;

  peak_mb = rss_mb ();
  g_atomic_int_set (&sampling, 1);
  st = g_thread_new ("rss", sampler, NULL);
  if (batched) {
    IbBatchParams bp;
    ib_batch_params_init (&bp);
    bp.max_requests = max_streams;
    bp.context = *cp;
    r->batch = ib_batch_new (r->model, &bp, error);
  } else {
    r->ctx = ib_context_new (r->model, cp, error);
  }
  if (r->batch || r->ctx)
    round_of (r, max_streams, 1, FALSE);
  for (c = 0; counts[c] && (r->batch || r->ctx) && r->error == NULL; c++) {
    const int streams = atoi (counts[c]), n = streams * r->questions;
    IbBatchStats s0 = { 0 }, s1 = { 0 };
    double wall, peak;

    r->latency_ms = g_new0 (double, n);
    r->prefill_ms = r->decode_ms = 0;
    if (r->batch)
      ib_batch_get_stats (r->batch, &s0);
    wall = round_of (r, streams, r->questions, TRUE);
    if (r->batch)
      ib_batch_get_stats (r->batch, &s1);
    g_mutex_lock (&peak_lock);
    peak = peak_mb;
    g_mutex_unlock (&peak_lock);
    qsort (r->latency_ms, n, sizeof (double), cmp_double);
    if (r->error == NULL)
      g_print ("{\"mode\": \"%s\", \"streams\": %d, \"slots\": %d, "
               "\"answers\": %d, \"tokens\": %d, \"seconds\": %.3f, "
               "\"answers_per_minute\": %.2f, \"p50_ms\": %.1f, "
               "\"p95_ms\": %.1f, \"prefill_ms_mean\": %.1f, "
               "\"decode_ms_mean\": %.1f, \"peak_rss_mb\": %.1f, "
               "\"new_frames\": %s, \"stagger_ms\": %d, "
               "\"frames_per_vision_pass\": %.2f, \"prefill_steps\": "
               "%" G_GUINT64_FORMAT ", \"mixed_steps\": %" G_GUINT64_FORMAT
               ", \"prompts_per_prefill_step\": %.2f}\n",
          batched ? "batched" : "one-at-a-time", streams,
          batched ? max_streams : 1, n, r->gp.max_new_tokens, wall,
          n / wall * 60.0, r->latency_ms[n / 2],
          r->latency_ms[MIN (n - 1, (n * 95) / 100)], r->prefill_ms / n,
          r->decode_ms / n, peak, r->new_frames ? "true" : "false",
          r->stagger_ms,
          !batched ? 1.0 :
              s1.n_vision_passes > s0.n_vision_passes ?
                     (double) (s1.n_vision_frames - s0.n_vision_frames) /
                  (s1.n_vision_passes - s0.n_vision_passes) :
                     0.0,
          s1.n_prefill_steps - s0.n_prefill_steps,
          s1.n_mixed_steps - s0.n_mixed_steps,
          s1.n_prefill_steps > s0.n_prefill_steps ?
              (double) (s1.n_prefills - s0.n_prefills) /
                  (s1.n_prefill_steps - s0.n_prefill_steps) :
              0.0);
    g_clear_pointer (&r->latency_ms, g_free);
  }
  g_atomic_int_set (&sampling, 0);
  g_thread_join (st);
  ib_batch_free (g_steal_pointer (&r->batch));
  ib_context_free (g_steal_pointer (&r->ctx));
  if (r->error) {
    g_propagate_error (error, g_steal_pointer (&r->error));
    return FALSE;
  }
  return error == NULL || *error == NULL;
}

int
main (int argc, char **argv)
{
  char *model_dir = NULL, *precision = NULL, *device = NULL;
  char *streams_list = g_strdup ("1,2,4,8");
  int questions = 4, tokens = 32, max_streams = 0, stagger = 0, i;
  gboolean new_frames = FALSE, batched_only = FALSE;
  GOptionEntry entries[] = { { "model", 'm', 0, G_OPTION_ARG_FILENAME,
                                 &model_dir, "model directory", "DIR" },
    { "streams", 's', 0, G_OPTION_ARG_STRING, &streams_list,
        "stream counts, comma-separated", "LIST" },
    { "questions", 'q', 0, G_OPTION_ARG_INT, &questions,
        "timed questions per stream", "N" },
    { "tokens", 't', 0, G_OPTION_ARG_INT, &tokens, "tokens per answer", "N" },
    { "precision", 'p', 0, G_OPTION_ARG_STRING, &precision,
        "fp32, fp16, bf16, q8 or auto", "P" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "OpenCL device", "SPEC" },
    { "new-frames", 'n', 0, G_OPTION_ARG_NONE, &new_frames,
        "a frame of its own for every question", NULL },
    { "stagger", 0, 0, G_OPTION_ARG_INT, &stagger,
        "stream i asks its first question i·MS ms late", "MS" },
    { "batched-only", 0, 0, G_OPTION_ARG_NONE, &batched_only,
        "only the batched mode", NULL },
    { NULL } };
  GOptionContext *oc = g_option_context_new ("- many streams on one model");
  GError *error = NULL;
  IbModelParams mp;
  IbContextParams cp;
  char **counts;
  float *pixels;
  Run r = { 0 };
  guint32 seed = 1;
  gsize k, n_px;
  int status = 1;

  g_option_context_add_main_entries (oc, entries, NULL);
  if (!g_option_context_parse (oc, &argc, &argv, &error))
    goto out;
  counts = g_strsplit (streams_list, ",", -1);
  ib_model_params_init (&mp);
  mp.device = device ? device : "auto";
  if (precision && !ib_precision_from_string (precision, &mp.precision)) {
    g_printerr ("unknown precision %s\n", precision);
    goto out;
  }
  r.model = ib_model_load (model_dir ? model_dir : ib_get_default_model_dir (),
      &mp, &error);
  if (r.model == NULL)
    goto out;
  g_printerr ("model on %s, %s, %.1f MiB resident\n",
      ib_model_get_device_name (r.model),
      ib_precision_to_string (ib_model_get_precision (r.model)), rss_mb ());

  n_px = 3 * (gsize) ib_model_get_image_size (r.model) *
      ib_model_get_image_size (r.model);
  pixels = g_new (float, n_px);
  for (k = 0; k < n_px; k++) {
    seed = seed * 1664525u + 1013904223u;
    pixels[k] = ((seed >> 8) / 16777216.0f) * 4.0f - 2.0f;
  }
  r.pixels = pixels;
  r.n_px = n_px;
  r.new_frames = new_frames;
  r.stagger_ms = MAX (stagger, 0);
  r.questions = questions;
  g_mutex_init (&r.ctx_lock);
  g_cond_init (&r.ctx_turn);
  g_mutex_init (&r.error_lock);
  ib_generate_params_init (&r.gp);
  r.gp.max_new_tokens = r.gp.min_new_tokens = tokens;
  r.warm_gp = r.gp;
  r.warm_gp.max_new_tokens = r.warm_gp.min_new_tokens = 1;
  /* what the element reserves for these questions: one frame, one beam */
  ib_context_params_init (&cp);
  cp.max_frames = 1;
  cp.max_beams = 1;
  cp.max_prompt_tokens = 32;
  cp.max_new_tokens = tokens;
  cp.frame_cache = 1;

  for (i = 0; counts[i]; i++)
    max_streams = MAX (max_streams, atoi (counts[i]));
  if (max_streams >= 1 &&
      (batched_only || mode_run (&r, &cp, FALSE, counts, max_streams, &error)))
    mode_run (&r, &cp, TRUE, counts, max_streams, &error);
  g_strfreev (counts);
  g_free (pixels);
  status = error ? 1 : 0;
out:
  if (error)
    g_printerr ("ib-streams-bench: %s\n", error->message);
  g_clear_error (&error);
  if (r.model)
    ib_model_unref (r.model);
  g_option_context_free (oc);
  g_free (model_dir);
  g_free (precision);
  g_free (device);
  g_free (streams_list);
  return status;
}
