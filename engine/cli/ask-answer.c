/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* instructblip-ask's answering modes: images, a video or pixel values in; an answer, or the best of some candidates, out. */
#include "ask.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "instructblip.h"
#include "ib-convert.h"
#include "ib-error.h"
#include "ib-file-private.h"
#include "ib-safetensors.h"
#include "ask-media.h"

#define DEFAULT_VIDEO_FRAMES 4
#define ASK_MAX_FRAMES 1024 /* --frames, and the frames of --pixel-values */
#define UNSET_INT G_MININT
#define UNSET_DOUBLE ((double) NAN)

typedef struct
{
  char *prompt;
  char *pixel_values;
  char *candidates;
  char *device;
  char *precision;
  char *resize;
  char *gemm;
  char *seed;
  int frames;
  int max_new_tokens, min_length, num_beams, top_k;
  double repetition_penalty, length_penalty, temperature, top_p;
  gboolean do_sample, no_sample, json, verbose;
  char *weight_cache; /* directory, or NULL: off */
  gboolean weight_cache_copy; /* read entries into memory, never map them */
} AskOptions;

static AskOptions opts = { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  UNSET_INT, UNSET_INT, UNSET_INT, UNSET_INT, UNSET_INT, UNSET_DOUBLE,
  UNSET_DOUBLE, UNSET_DOUBLE, UNSET_DOUBLE, FALSE, FALSE, FALSE, FALSE, NULL };

/* --weight-cache[=DIR]: alone, the user's cache directory. */
static gboolean
parse_weight_cache (const char *name G_GNUC_UNUSED, const char *value,
    gpointer data G_GNUC_UNUSED, GError **error G_GNUC_UNUSED)
{
  g_free (opts.weight_cache);
  opts.weight_cache = value && *value ?
      g_strdup (value) :
      g_build_filename (g_get_user_cache_dir (), "gst-instructblip", "weights",
          NULL);
  return TRUE;
}


static gboolean parse_double (const gchar *name, const gchar *value,
    gpointer data, GError **error);

/* the double options: parsed by parse_double, which refuses NaN and
 * infinities (NaN marks "not given") */
static const struct
{
  const char *name;
  double *field;
} double_options[] = {
  { "--repetition-penalty", &opts.repetition_penalty },
  { "--length-penalty", &opts.length_penalty },
  { "--temperature", &opts.temperature },
  { "--top-p", &opts.top_p },
};

static const GOptionEntry entries[] = {
  /* FILENAME: the bytes as given, never converted from the locale's
   * charset (which fails on UTF-8 text in a C locale); checked as UTF-8 */
  { "prompt", 'p', 0, G_OPTION_ARG_FILENAME, &opts.prompt,
      "The instruction or question about the FILEs (UTF-8)", "TEXT" },
  { "frames", 'n', 0, G_OPTION_ARG_INT, &opts.frames,
      "Frames sampled uniformly from a video FILE (default 4)", "N" },
  { "pixel-values", 0, 0, G_OPTION_ARG_FILENAME, &opts.pixel_values,
      "Preprocessed input instead of FILEs: a .safetensors file with a "
      "float32 tensor pixel_values [frames, 3, S, S]",
      "FILE" },
  { "max-new-tokens", 0, 0, G_OPTION_ARG_INT, &opts.max_new_tokens,
      "Most tokens to generate (default: the checkpoint's, else 30)", "N" },
  { "min-length", 0, 0, G_OPTION_ARG_INT, &opts.min_length,
      "Fewest tokens to generate before an end token may come (LAVIS "
      "min_len; default 0)",
      "N" },
  { "num-beams", 0, 0, G_OPTION_ARG_INT, &opts.num_beams,
      "Beam search with N beams; 1 (default): greedy or sampling", "N" },
  { "repetition-penalty", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) parse_double,
      "Penalise tokens already in the answer (CTRL); 1 (default): off", "P" },
  { "length-penalty", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) parse_double,
      "Beam scores are divided by length^P (default 1)", "P" },
  { "do-sample", 0, 0, G_OPTION_ARG_NONE, &opts.do_sample,
      "Sample tokens instead of taking the likeliest", NULL },
  { "no-sample", 0, 0, G_OPTION_ARG_NONE, &opts.no_sample,
      "Do not sample, whatever the checkpoint's generation_config.json says",
      NULL },
  { "temperature", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) parse_double,
      "Sampling: divide the logits by T (default 1)", "T" },
  { "top-p", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) parse_double,
      "Sampling: keep the likeliest tokens up to probability P; 1 "
      "(default): off",
      "P" },
  { "top-k", 0, 0, G_OPTION_ARG_INT, &opts.top_k,
      "Sampling: keep the K likeliest tokens; 0: off (default 50)", "K" },
  { "seed", 0, 0, G_OPTION_ARG_STRING, &opts.seed,
      "Sampling: random seed, 0 .. 2^64-1 (default 0)", "N" },
  { "candidates", 0, 0, G_OPTION_ARG_FILENAME, &opts.candidates,
      "Rank the answers in FILE (one per line) by likelihood; print the "
      "best",
      "FILE" },
  { "device", 0, 0, G_OPTION_ARG_STRING, &opts.device,
      "OpenCL device: auto (default: first GPU, else CPU), gpu, cpu, P:D, D "
      "or part of its name",
      "DEV" },
  { "precision", 0, 0, G_OPTION_ARG_STRING, &opts.precision,
      "Weights on the device: auto (default: the most exact that fits), "
      "fp32, fp16, bf16 or q8 (bf16 and q8: oneDNN on CPU devices, own "
      "kernels on GPUs)",
      "P" },
  { "resize", 0, 0, G_OPTION_ARG_STRING, &opts.resize,
      "Frame preprocessing as transformers' image processor backend: auto "
      "(default: torchvision unless preprocessor_config.json names the PIL "
      "class), torchvision, pillow (Pillow >= 13) or pillow12",
      "METHOD" },
  { "gemm", 0, 0, G_OPTION_ARG_STRING, &opts.gemm,
      "Matrix products: auto (default), clblast or own", "NAME" },
  { "weight-cache", 0, G_OPTION_FLAG_OPTIONAL_ARG | G_OPTION_FLAG_FILENAME,
      G_OPTION_ARG_CALLBACK, parse_weight_cache,
      "Keep the weights packed for the device in DIR (default: "
      "~/.cache/gst-instructblip/weights) after a load and start from there "
      "the next time (GBs per model and precision; off by default)",
      "DIR" },
  { "weight-cache-copy", 0, 0, G_OPTION_ARG_NONE, &opts.weight_cache_copy,
      "Read the cached weights into memory of their own instead of using the "
      "entry in place, mapped (CPU devices; a mapped entry truncated while "
      "in use would crash the program)",
      NULL },
  { "json", 0, 0, G_OPTION_ARG_NONE, &opts.json,
      "Print {\"text\": ..., \"token_ids\": [...], \"timings\": {...}}", NULL },
  { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opts.verbose,
      "Print the device, the frames and timings on stderr", NULL },
  { NULL }
};

const GOptionEntry *
ask_answer_entries (void)
{
  return entries;
}

void
ask_answer_options_clear (void)
{
  g_clear_pointer (&opts.prompt, g_free);
  g_clear_pointer (&opts.pixel_values, g_free);
  g_clear_pointer (&opts.candidates, g_free);
  g_clear_pointer (&opts.device, g_free);
  g_clear_pointer (&opts.precision, g_free);
  g_clear_pointer (&opts.resize, g_free);
  g_clear_pointer (&opts.gemm, g_free);
  g_clear_pointer (&opts.seed, g_free);
  g_clear_pointer (&opts.weight_cache, g_free);
}

static double
ms_since (gint64 t0)
{
  return (g_get_monotonic_time () - t0) / 1000.0;
}

/* ---- arguments -------------------------------------------------------- */

static gboolean usage_error (GError **error, const char *format, ...)
    G_GNUC_PRINTF (2, 3);

static gboolean
usage_error (GError **error, const char *format, ...)
{
  va_list ap;

  va_start (ap, format);
  g_propagate_error (error,
      g_error_new_valist (G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, format,
          ap));
  va_end (ap);
  return FALSE;
}

static gboolean
parse_double (const gchar *name, const gchar *value, gpointer data,
    GError **error)
{
  gchar *end = NULL;
  double v;
  guint i;

  (void) data;
  v = g_ascii_strtod (value, &end);
  if (end == value || *end != '\0' || !isfinite (v))
    return usage_error (error, "%s must be a finite number, not \"%s\"", name,
        value);
  for (i = 0; i < G_N_ELEMENTS (double_options); i++)
    if (g_str_equal (name, double_options[i].name))
      *double_options[i].field = v;
  return TRUE;
}

/* the generation settings given on the command line, range-checked (the
 * element's property ranges, ib-limits.h) */
static gboolean
check_generate_options (guint64 *seed, GError **error)
{
  if (opts.max_new_tokens != UNSET_INT &&
      (opts.max_new_tokens < 1 || opts.max_new_tokens > IB_MAX_NEW_TOKENS))
    return usage_error (error, "--max-new-tokens must be 1 .. %d",
        IB_MAX_NEW_TOKENS);
  if (opts.min_length != UNSET_INT &&
      (opts.min_length < 0 || opts.min_length > IB_MAX_NEW_TOKENS))
    return usage_error (error, "--min-length must be 0 .. %d",
        IB_MAX_NEW_TOKENS);
  if (opts.num_beams != UNSET_INT &&
      (opts.num_beams < 1 || opts.num_beams > IB_MAX_NUM_BEAMS))
    return usage_error (error, "--num-beams must be 1 .. %d", IB_MAX_NUM_BEAMS);
  if (opts.top_k != UNSET_INT && opts.top_k < 0)
    return usage_error (error, "--top-k must not be negative");
  if (!isnan (opts.repetition_penalty) &&
      !(opts.repetition_penalty > 0 &&
          opts.repetition_penalty <= IB_MAX_PENALTY))
    return usage_error (error, "--repetition-penalty must be in (0, %g]",
        IB_MAX_PENALTY);
  if (!isnan (opts.length_penalty) &&
      fabs (opts.length_penalty) > IB_MAX_PENALTY)
    return usage_error (error, "--length-penalty must be in [-%g, %g]",
        IB_MAX_PENALTY, IB_MAX_PENALTY);
  if (!isnan (opts.temperature) &&
      !(opts.temperature > 0 && opts.temperature <= IB_MAX_TEMPERATURE))
    return usage_error (error, "--temperature must be in (0, %g]",
        IB_MAX_TEMPERATURE);
  if (!isnan (opts.top_p) && !(opts.top_p > 0 && opts.top_p <= 1))
    return usage_error (error, "--top-p must be in (0, 1]");
  if (opts.do_sample && opts.no_sample)
    return usage_error (error, "--do-sample and --no-sample contradict");
  *seed = 0;
  if (opts.seed != NULL &&
      !g_ascii_string_to_unsigned (opts.seed, 10, 0, G_MAXUINT64, seed, NULL))
    return usage_error (error, "--seed must be an integer 0 .. 2^64-1");
  return TRUE;
}

/* everything that can be checked before anything is loaded */
static gboolean
check_options (int n_files, guint64 *seed, GError **error)
{
  IbPrecision precision;
  IbGemmBackend gemm;

  if (opts.prompt != NULL && !g_utf8_validate (opts.prompt, -1, NULL))
    return usage_error (error,
        "--prompt is not valid UTF-8; give the instruction in UTF-8");
  if (opts.prompt == NULL)
    return usage_error (error, "give the instruction: --prompt TEXT");
  if (opts.pixel_values != NULL && n_files > 0)
    return usage_error (error, "give FILEs or --pixel-values, not both");
  if (opts.pixel_values == NULL && n_files == 0)
    return usage_error (error,
        "give an image or video FILE, or --pixel-values FILE");
  if (opts.frames != UNSET_INT &&
      (opts.frames < 1 || opts.frames > ASK_MAX_FRAMES))
    return usage_error (error, "--frames must be 1 .. %d", ASK_MAX_FRAMES);
  if (opts.frames != UNSET_INT && opts.pixel_values != NULL)
    return usage_error (error,
        "--frames samples a video FILE; --pixel-values brings its own frames");
  if (opts.precision != NULL &&
      !ib_precision_from_string (opts.precision, &precision))
    return usage_error (error,
        "--precision is fp32, fp16, bf16, q8 or auto, not \"%s\"",
        opts.precision);
  if (opts.resize != NULL && !g_str_equal (opts.resize, "auto") &&
      !g_str_equal (opts.resize, "torchvision") &&
      !g_str_equal (opts.resize, "pillow") &&
      !g_str_equal (opts.resize, "pillow12"))
    return usage_error (error,
        "--resize is auto, torchvision, pillow or pillow12, not \"%s\"",
        opts.resize);
  if (opts.gemm != NULL && !ib_gemm_backend_from_string (opts.gemm, &gemm))
    return usage_error (error, "--gemm is auto, clblast or own, not \"%s\"",
        opts.gemm);
  return check_generate_options (seed, error);
}

/* the checkpoint's settings (generation_config.json), then the flags */
static void
apply_generate_options (IbGenerateParams *gp, guint64 seed)
{
  if (opts.max_new_tokens != UNSET_INT)
    gp->max_new_tokens = opts.max_new_tokens;
  if (opts.min_length != UNSET_INT)
    gp->min_new_tokens = opts.min_length;
  if (opts.num_beams != UNSET_INT)
    gp->num_beams = opts.num_beams;
  if (opts.top_k != UNSET_INT)
    gp->top_k = opts.top_k;
  if (!isnan (opts.repetition_penalty))
    gp->repetition_penalty = opts.repetition_penalty;
  if (!isnan (opts.length_penalty))
    gp->length_penalty = opts.length_penalty;
  if (!isnan (opts.temperature))
    gp->temperature = opts.temperature;
  if (!isnan (opts.top_p))
    gp->top_p = opts.top_p;
  if (opts.do_sample)
    gp->do_sample = TRUE;
  if (opts.no_sample)
    gp->do_sample = FALSE;
  if (opts.seed != NULL)
    gp->seed = seed;
  if (!gp->do_sample &&
      (!isnan (opts.temperature) || !isnan (opts.top_p) ||
          opts.top_k != UNSET_INT || opts.seed != NULL))
    g_printerr ("instructblip-ask: warning: --temperature, --top-p, --top-k "
                "and --seed only matter with --do-sample\n");
}

/* ---- input ------------------------------------------------------------ */

/* Reads the tensor pixel_values of a safetensors file: [F, 3, S, S],
 * [3, S, S] or [1, F, 3, S, S]; F32 (F16 and BF16 are converted). */
static float *
read_pixel_values (const char *path, int *n_frames, int *size, GError **error)
{
  IbSafetensors *st = ib_safetensors_open_file (path, error);
  const IbTensor *t;
  const gint64 *d;
  float *pixels = NULL;
  char *shape = NULL;
  gboolean ok;

  if (st == NULL)
    return NULL;
  t = ib_safetensors_get (st, "pixel_values");
  if (t == NULL) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: no tensor named pixel_values", path);
    goto out;
  }
  shape = ib_shape_to_string (t->n_dims, t->shape);
  if (!ib_dtype_is_supported_weight (t->dtype)) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: pixel_values is %s; it must be F32 (or F16, BF16)", path,
        ib_dtype_name (t->dtype));
    goto out;
  }
  d = t->shape + (t->n_dims >= 3 ? t->n_dims - 3 : 0);
  ok = t->n_dims >= 3 && t->n_dims <= 5 && d[0] == 3 && d[1] == d[2] &&
      d[1] >= 1 && d[1] <= IB_IMAGE_MAX_DIM &&
      (t->n_dims < 5 || t->shape[0] == 1) &&
      (t->n_dims < 4 ||
          (t->shape[t->n_dims - 4] >= 1 &&
              t->shape[t->n_dims - 4] <= ASK_MAX_FRAMES));
  if (!ok) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: pixel_values has shape %s; it must be [frames, 3, S, S], "
        "[3, S, S] or [1, frames, 3, S, S]",
        path, shape);
    goto out;
  }
  *n_frames = t->n_dims == 3 ? 1 : (int) t->shape[t->n_dims - 4];
  *size = (int) d[1];
  pixels = g_try_new (float, t->n_elements);
  if (pixels == NULL) {
    g_set_error (error, IB_ERROR, IB_ERROR_NO_MEMORY,
        "%s: no memory for pixel_values %s", path, shape);
    goto out;
  }
  if (!ib_tensor_read_f32 (t, 0, t->n_elements, pixels, error))
    g_clear_pointer (&pixels, g_free);

out:
  g_free (shape);
  ib_safetensors_free (st);
  return pixels;
}

/* What one run works on: the input, the model, the context. */
typedef struct
{
  AskFrames *frames; /* from FILEs, or NULL */
  float *pixels; /* from --pixel-values: [n_frames, 3, pixel_size,
                  * pixel_size] row-major f32 */
  int n_frames, pixel_size;
  IbModel *model;
  IbContext *ctx;
  double media_ms, load_ms, context_ms;
} Session;

static void
session_clear (Session *s)
{
  ib_context_free (s->ctx);
  ib_model_unref (s->model);
  ask_frames_free (s->frames);
  g_free (s->pixels);
}

static void
print_frames_info (char **files, const AskFrames *f)
{
  GString *s = g_string_new (NULL);
  int i;

  if (f->is_video) {
    g_string_printf (s, "%s: video of %" G_GUINT64_FORMAT " frames; frames",
        files[0], f->n_source_frames);
    for (i = 0; i < f->n_frames; i++)
      g_string_append_printf (s, " %d", f->source_index[i]);
  } else {
    g_string_printf (s, "%d image%s", f->n_frames, f->n_frames > 1 ? "s" : "");
  }
  for (i = 0; i < f->n_frames; i++)
    g_string_append_printf (s, "%s%dx%d %s", i ? ", " : " (",
        f->frames[i].width, f->frames[i].height,
        f->frames[i].format == IB_PIXEL_FORMAT_RGBA ? "RGBA" : "RGB");
  g_printerr ("instructblip-ask: %s)\n", s->str);
  g_string_free (s, TRUE);
}

/* Decodes the FILEs or reads --pixel-values, then loads the model. */
static gboolean
session_load (Session *s, const char *model_dir, char **files, int n_files,
    GError **error)
{
  IbModelParams mp;
  gint64 t0 = g_get_monotonic_time ();

  /* an unreadable directory is not a missing one */
  switch (ib_file_probe (model_dir, error)) {
    case -1:
      return FALSE;
    case 0:
      g_set_error (error, IB_ERROR, IB_ERROR_IO,
          "%s: no such model directory (--model DIR)", model_dir);
      return FALSE;
  }
  if (!g_file_test (model_dir, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, IB_ERROR, IB_ERROR_IO,
        "%s: not a directory (--model DIR)", model_dir);
    return FALSE;
  }
  if (opts.pixel_values != NULL) {
    s->pixels = read_pixel_values (opts.pixel_values, &s->n_frames,
        &s->pixel_size, error);
    if (s->pixels == NULL)
      return FALSE;
  } else {
    s->frames = ask_frames_load ((const char *const *) files, n_files,
        opts.frames != UNSET_INT ? opts.frames : DEFAULT_VIDEO_FRAMES, error);
    if (s->frames == NULL)
      return FALSE;
    s->n_frames = s->frames->n_frames;
    if (opts.verbose)
      print_frames_info (files, s->frames);
    if (opts.frames != UNSET_INT && !s->frames->is_video)
      g_printerr ("instructblip-ask: warning: --frames samples a video; "
                  "each image is one frame\n");
  }
  s->media_ms = ms_since (t0);

  t0 = g_get_monotonic_time ();
  ib_model_params_init (&mp);
  if (opts.device != NULL)
    mp.device = opts.device;
  if (opts.precision != NULL)
    ib_precision_from_string (opts.precision, &mp.precision);
  if (opts.gemm != NULL)
    ib_gemm_backend_from_string (opts.gemm, &mp.gemm);
  mp.weight_cache_dir = opts.weight_cache;
  mp.weight_cache_map = !opts.weight_cache_copy;
  if (opts.resize != NULL)
    mp.image_resize = g_str_equal (opts.resize, "torchvision") ?
        IB_IMAGE_RESIZE_TORCHVISION :
        g_str_equal (opts.resize, "pillow")   ? IB_IMAGE_RESIZE_PILLOW :
        g_str_equal (opts.resize, "pillow12") ? IB_IMAGE_RESIZE_PILLOW12 :
                                                IB_IMAGE_RESIZE_AUTO;
  s->model = ib_model_load (model_dir, &mp, error);
  if (s->model == NULL)
    return FALSE;
  s->load_ms = ms_since (t0);
  if (opts.verbose)
    g_printerr ("instructblip-ask: %s on %s (%s), loaded in %.1f ms\n",
        model_dir, ib_model_get_device_name (s->model),
        ib_precision_to_string (ib_model_get_precision (s->model)), s->load_ms);
  if (s->pixels != NULL &&
      s->pixel_size != ib_model_get_image_size (s->model)) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: pixel_values are %dx%d; this model takes %dx%d", opts.pixel_values,
        s->pixel_size, s->pixel_size, ib_model_get_image_size (s->model),
        ib_model_get_image_size (s->model));
    return FALSE;
  }
  return TRUE;
}

/* Creates the context with @cp (frames filled in) and encodes the frames. */
static gboolean
session_start (Session *s, IbContextParams *cp, GError **error)
{
  gint64 t0 = g_get_monotonic_time ();
  gboolean ok;

  cp->max_frames = s->n_frames;
  s->ctx = ib_context_new (s->model, cp, error);
  if (s->ctx == NULL)
    return FALSE;
  s->context_ms = ms_since (t0);
  if (s->pixels != NULL)
    ok = ib_context_set_pixel_values (s->ctx, s->pixels, s->n_frames, error);
  else
    ok = ib_context_set_frames (s->ctx, s->frames->frames, s->n_frames, error);
  return ok;
}

/* room for the prompt: every token covers at least one byte, plus the
 * specials the tokenizer adds */
static int
prompt_budget (void)
{
  IbContextParams defaults;
  gsize want = strlen (opts.prompt) + 16;

  ib_context_params_init (&defaults);
  return (int) MIN (MAX (want, (gsize) defaults.max_prompt_tokens),
      (gsize) G_MAXINT / 2);
}

/* ---- output ----------------------------------------------------------- */

static void
add_ms (JsonBuilder *b, const char *name, double ms)
{
  json_builder_set_member_name (b, name);
  json_builder_add_double_value (b, round (ms * 1000.0) / 1000.0);
}

static void
print_answer_json (const Session *s, const IbAnswer *a)
{
  JsonBuilder *b = json_builder_new ();
  JsonNode *root;
  int i;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, a->text);
  json_builder_set_member_name (b, "token_ids");
  json_builder_begin_array (b);
  for (i = 0; i < a->n_tokens; i++)
    json_builder_add_int_value (b, a->token_ids[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "timings");
  json_builder_begin_object (b);
  add_ms (b, "media_ms", s->media_ms);
  add_ms (b, "load_ms", s->load_ms);
  add_ms (b, "context_ms", s->context_ms);
  add_ms (b, "preprocess_ms", a->timings.preprocess_ms);
  add_ms (b, "vision_ms", a->timings.vision_ms);
  add_ms (b, "qformer_ms", a->timings.qformer_ms);
  add_ms (b, "prefill_ms", a->timings.prefill_ms);
  add_ms (b, "decode_ms", a->timings.decode_ms);
  json_builder_set_member_name (b, "n_prompt_tokens");
  json_builder_add_int_value (b, a->timings.n_prompt_tokens);
  json_builder_set_member_name (b, "n_generated_tokens");
  json_builder_add_int_value (b, a->timings.n_generated_tokens);
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  ask_print_json (root);
  json_node_unref (root);
  g_object_unref (b);
}

static void
print_timings (const IbTimings *t)
{
  g_printerr ("instructblip-ask: preprocess %.1f ms, vision %.1f ms, "
              "Q-Former %.1f ms, prefill %.1f ms (%d tokens), decode %.1f ms "
              "(%d tokens, %.1f tokens/s)\n",
      t->preprocess_ms, t->vision_ms, t->qformer_ms, t->prefill_ms,
      t->n_prompt_tokens, t->decode_ms, t->n_generated_tokens,
      t->decode_ms > 0 ? t->n_generated_tokens / (t->decode_ms / 1000.0) : 0.0);
}

/* ---- modes ------------------------------------------------------------ */

/* answers --prompt about the input */
static int
run_answer (const char *model_dir, char **files, int n_files, guint64 seed)
{
  Session s = { 0 };
  IbGenerateParams gp;
  IbContextParams cp;
  IbAnswer *answer = NULL;
  GError *error = NULL;
  int status = ASK_EXIT_RUNTIME;

  if (!session_load (&s, model_dir, files, n_files, &error))
    goto out;
  ib_generate_params_init_for_model (&gp, s.model);
  apply_generate_options (&gp, seed);
  /* sized for this question only; invalid settings keep the defaults so
   * that ib_context_answer explains them */
  ib_context_params_init (&cp);
  if (gp.max_new_tokens >= 1)
    cp.max_new_tokens = gp.max_new_tokens;
  if (gp.num_beams >= 1)
    cp.max_beams = gp.num_beams;
  cp.max_prompt_tokens = prompt_budget ();
  if (!session_start (&s, &cp, &error))
    goto out;
  answer = ib_context_answer (s.ctx, opts.prompt, &gp, &error);
  if (answer == NULL)
    goto out;
  if (opts.json)
    print_answer_json (&s, answer);
  else
    puts (answer->text);
  if (opts.verbose)
    print_timings (&answer->timings);
  status = ASK_EXIT_OK;

out:
  if (error != NULL)
    g_printerr ("instructblip-ask: %s\n", error->message);
  g_clear_error (&error);
  ib_answer_free (answer);
  session_clear (&s);
  return status;
}

/* the lines of --candidates, empty ones skipped; NULL-terminated */
static GPtrArray *
read_candidates (const char *path, gsize *longest, GError **error)
{
  GPtrArray *cands = NULL;
  char *data = NULL;
  char **lines = NULL;
  gsize len;
  int i;

  if (!g_file_get_contents (path, &data, &len, error))
    goto out;
  if (memchr (data, 0, len) != NULL || !g_utf8_validate (data, len, NULL)) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: candidates must be UTF-8 text", path);
    goto out;
  }
  lines = g_strsplit (data, "\n", -1);
  cands = g_ptr_array_new_with_free_func (g_free);
  *longest = 0;
  for (i = 0; lines[i] != NULL; i++) {
    gsize n = strlen (lines[i]);
    if (n > 0 && lines[i][n - 1] == '\r')
      lines[i][--n] = '\0';
    if (n == 0)
      continue;
    g_ptr_array_add (cands, g_strdup (lines[i]));
    *longest = MAX (*longest, n);
  }
  if (cands->len == 0) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT, "%s: no candidates", path);
    g_clear_pointer (&cands, g_ptr_array_unref);
    goto out;
  }
  g_ptr_array_add (cands, NULL);

out:
  g_strfreev (lines);
  g_free (data);
  return cands;
}

static void
print_rank_json (const GPtrArray *cands, const double *scores, int best)
{
  JsonBuilder *b = json_builder_new ();
  JsonNode *root;
  guint i, n = cands->len - 1;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, g_ptr_array_index (cands, best));
  json_builder_set_member_name (b, "index");
  json_builder_add_int_value (b, best);
  json_builder_set_member_name (b, "candidates");
  json_builder_begin_array (b);
  for (i = 0; i < n; i++)
    json_builder_add_string_value (b, g_ptr_array_index (cands, i));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "scores");
  json_builder_begin_array (b);
  for (i = 0; i < n; i++)
    if (isfinite (scores[i]))
      json_builder_add_double_value (b, scores[i]);
    else
      json_builder_add_null_value (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  ask_print_json (root);
  json_node_unref (root);
  g_object_unref (b);
}

/* --candidates: the likeliest of the candidate answers */
static int
run_rank (const char *model_dir, char **files, int n_files)
{
  Session s = { 0 };
  IbContextParams cp;
  GPtrArray *cands;
  GError *error = NULL;
  double *scores = NULL;
  gsize longest = 0;
  gint64 t0;
  int status = ASK_EXIT_RUNTIME, best;

  cands = read_candidates (opts.candidates, &longest, &error);
  if (cands == NULL || !session_load (&s, model_dir, files, n_files, &error))
    goto out;
  /* each candidate is decoded after the prompt, one beam */
  ib_context_params_init (&cp);
  cp.max_prompt_tokens = prompt_budget ();
  cp.max_new_tokens = (int) MAX ((gsize) cp.max_new_tokens,
      MIN (longest + 16, (gsize) G_MAXINT / 2));
  cp.max_beams = 1;
  if (!session_start (&s, &cp, &error))
    goto out;
  scores = g_new0 (double, cands->len);
  t0 = g_get_monotonic_time ();
  best = ib_context_rank (s.ctx, opts.prompt,
      (const char *const *) cands->pdata, cands->len - 1, scores, &error);
  if (best < 0) {
    if (error == NULL)
      g_set_error (&error, IB_ERROR, IB_ERROR_FAILED,
          "ranking failed without saying why");
    goto out;
  }
  if (opts.json)
    print_rank_json (cands, scores, best);
  else
    puts (g_ptr_array_index (cands, best));
  if (opts.verbose)
    g_printerr ("instructblip-ask: %u candidates ranked in %.1f ms\n",
        cands->len - 1, ms_since (t0));
  status = ASK_EXIT_OK;

out:
  if (error != NULL)
    g_printerr ("instructblip-ask: %s\n", error->message);
  g_clear_error (&error);
  g_free (scores);
  if (cands)
    g_ptr_array_unref (cands);
  session_clear (&s);
  return status;
}

int
ask_answer_main (const char *model_dir, char **files, int n_files)
{
  GError *error = NULL;
  guint64 seed = 0;

  if (!check_options (n_files, &seed, &error)) {
    g_printerr ("instructblip-ask: %s\n", error->message);
    g_clear_error (&error);
    return ASK_EXIT_USAGE;
  }
  if (model_dir == NULL)
    model_dir = ib_get_default_model_dir ();
  if (opts.candidates != NULL)
    return run_rank (model_dir, files, n_files);
  return run_answer (model_dir, files, n_files, seed);
}
