/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The instructblip element's properties: specs (the gst-inspect manual),
 * defaults, validation, and the generation settings they make. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstinstructblipprivate.h"

#define GST_CAT_DEFAULT gst_instruct_blip_debug

#define DEFAULT_INSTRUCTION "What is happening in the video?"
#define DEFAULT_NUM_FRAMES 4
#define DEFAULT_INTERVAL (2 * GST_SECOND)
#define DEFAULT_MODE GST_INSTRUCT_BLIP_MODE_AUTO
#define DEFAULT_MAX_PENDING 1
#define DEFAULT_DROP_POLICY GST_INSTRUCT_BLIP_DROP_OLDEST
#define DEFAULT_DEVICE "auto"
#define DEFAULT_PRECISION GST_INSTRUCT_BLIP_PRECISION_AUTO
#define DEFAULT_IMAGE_RESIZE GST_INSTRUCT_BLIP_IMAGE_RESIZE_AUTO
#define DEFAULT_POST_MESSAGES TRUE
#define DEFAULT_WEIGHT_CACHE_MAP TRUE
#define DEFAULT_DRAIN_TIMEOUT (30 * GST_SECOND)
#define DEFAULT_SEED 0

enum
{
  PROP_0,
  PROP_MODEL_PATH,
  PROP_INSTRUCTION,
  PROP_NUM_FRAMES,
  PROP_INTERVAL,
  PROP_PROCESSING_MODE,
  PROP_MAX_PENDING,
  PROP_DROP_POLICY,
  /* generation: unset ones come from the checkpoint */
  PROP_MAX_NEW_TOKENS,
  PROP_MIN_LENGTH,
  PROP_NUM_BEAMS,
  PROP_TEMPERATURE,
  PROP_TOP_K,
  PROP_TOP_P,
  PROP_REPETITION_PENALTY,
  PROP_LENGTH_PENALTY,
  PROP_SEED,
  PROP_CANDIDATES,
  PROP_DEVICE,
  PROP_DEVICE_NAME,
  PROP_PRECISION,
  PROP_IMAGE_RESIZE,
  PROP_WEIGHT_CACHE_DIR,
  PROP_WEIGHT_CACHE_MAP,
  PROP_MODEL_INSTANCE_ID,
  PROP_POST_MESSAGES,
  PROP_DRAIN_TIMEOUT,
  PROP_STATS,
};

/* The bit of a generation property in gen_set. */
static guint
gen_bit (guint prop)
{
  return 1u << (prop - PROP_MAX_NEW_TOKENS);
}

static gboolean
model_props_locked (GstInstructBlip *self, const GParamSpec *pspec)
{
  /* under the object lock: model-defining properties change in NULL and
   * READY only */
  if (GST_STATE (self) <= GST_STATE_READY)
    return FALSE;
  GST_WARNING_OBJECT (self, "%s can only change in the NULL or READY state",
      pspec->name);
  return TRUE;
}

gboolean
gst_instruct_blip_valid_text (const char *s)
{
  return s != NULL && *s != '\0' && g_utf8_validate (s, -1, NULL);
}

static void
set_gen (GstInstructBlip *self, guint prop, const GValue *value)
{
  IbGenerateParams *u = &self->gen_user;

  switch (prop) {
    case PROP_MAX_NEW_TOKENS:
      u->max_new_tokens = g_value_get_uint (value);
      break;
    case PROP_MIN_LENGTH:
      u->min_new_tokens = g_value_get_uint (value);
      break;
    case PROP_NUM_BEAMS:
      u->num_beams = g_value_get_uint (value);
      break;
    case PROP_TEMPERATURE:
      u->temperature = g_value_get_double (value);
      u->do_sample = u->temperature > 0;
      break;
    case PROP_TOP_K:
      u->top_k = g_value_get_uint (value);
      break;
    case PROP_TOP_P:
      u->top_p = g_value_get_double (value);
      break;
    case PROP_REPETITION_PENALTY:
      u->repetition_penalty = g_value_get_double (value);
      break;
    case PROP_LENGTH_PENALTY:
      u->length_penalty = g_value_get_double (value);
      break;
    default:
      return;
  }
  self->gen_set |= gen_bit (prop);
}

static void
get_gen (GstInstructBlip *self, guint prop, GValue *value)
{
  const IbGenerateParams *p =
      self->gen_set & gen_bit (prop) ? &self->gen_user : &self->gen_base;

  switch (prop) {
    case PROP_MAX_NEW_TOKENS:
      g_value_set_uint (value, p->max_new_tokens);
      break;
    case PROP_MIN_LENGTH:
      g_value_set_uint (value, p->min_new_tokens);
      break;
    case PROP_NUM_BEAMS:
      g_value_set_uint (value, p->num_beams);
      break;
    case PROP_TEMPERATURE:
      g_value_set_double (value, p->do_sample ? p->temperature : 0.0);
      break;
    case PROP_TOP_K:
      g_value_set_uint (value, p->top_k);
      break;
    case PROP_TOP_P:
      g_value_set_double (value, p->top_p);
      break;
    case PROP_REPETITION_PENALTY:
      g_value_set_double (value, p->repetition_penalty);
      break;
    case PROP_LENGTH_PENALTY:
      g_value_set_double (value, p->length_penalty);
      break;
    default:
      break;
  }
}

void
gst_instruct_blip_effective_params (GstInstructBlip *self, IbGenerateParams *gp)
{
  const IbGenerateParams *u = &self->gen_user;
  const guint set = self->gen_set;

  *gp = self->gen_base;
  if (set & gen_bit (PROP_MAX_NEW_TOKENS))
    gp->max_new_tokens = u->max_new_tokens;
  if (set & gen_bit (PROP_MIN_LENGTH))
    gp->min_new_tokens = u->min_new_tokens;
  if (set & gen_bit (PROP_NUM_BEAMS))
    gp->num_beams = u->num_beams;
  if (set & gen_bit (PROP_TEMPERATURE)) {
    gp->do_sample = u->do_sample;
    if (u->do_sample)
      gp->temperature = u->temperature;
  }
  if (set & gen_bit (PROP_TOP_K))
    gp->top_k = u->top_k;
  if (set & gen_bit (PROP_TOP_P))
    gp->top_p = u->top_p;
  if (set & gen_bit (PROP_REPETITION_PENALTY))
    gp->repetition_penalty = u->repetition_penalty;
  if (set & gen_bit (PROP_LENGTH_PENALTY))
    gp->length_penalty = u->length_penalty;
  gp->seed = self->seed;
}

char **
gst_instruct_blip_parse_candidates (const char *s)
{
  GPtrArray *out;
  char **parts;
  guint i;

  if (s == NULL)
    return NULL;
  out = g_ptr_array_new ();
  parts = g_strsplit (s, "|", -1);
  for (i = 0; parts[i]; i++) {
    g_strstrip (parts[i]);
    if (*parts[i])
      g_ptr_array_add (out, g_strdup (parts[i]));
  }
  g_strfreev (parts);
  if (out->len == 0) {
    g_ptr_array_unref (out);
    return NULL;
  }
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

static GstStructure *
stats_structure (GstInstructBlip *self)
{
  GstStructure *s;
  guint waiting = 0;
  gboolean busy = FALSE;
  Stats st;
  guint in_flight;
  gboolean async;

  g_mutex_lock (&self->lock);
  st = self->stats;
  in_flight = self->in_flight;
  if (self->worker)
    gst_instructblip_worker_get_load (self->worker, self, &waiting, &busy);
  async = self->async;
  g_mutex_unlock (&self->lock);

  s = gst_structure_new ("instructblip-stats", "frames", G_TYPE_UINT64,
      st.frames, "frames-sampled", G_TYPE_UINT64, st.sampled, "questions",
      G_TYPE_UINT64, st.questions, "answers", G_TYPE_UINT64, st.answers,
      "dropped", G_TYPE_UINT64, st.dropped, "cancelled", G_TYPE_UINT64,
      st.cancelled, "failed", G_TYPE_UINT64, st.failed, "pending", G_TYPE_UINT,
      in_flight, "waiting", G_TYPE_UINT, waiting, "busy", G_TYPE_BOOLEAN, busy,
      "async", G_TYPE_BOOLEAN, async, "latency-last", G_TYPE_UINT64,
      st.latency_last, "latency-max", G_TYPE_UINT64, st.latency_max,
      "latency-mean", G_TYPE_UINT64,
      st.n_timed ? st.latency_sum / st.n_timed : (guint64) 0, NULL);
  return s;
}

void
gst_instruct_blip_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstInstructBlip *self = GST_INSTRUCT_BLIP (object);
  const char *s;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL_PATH:
      if (!model_props_locked (self, pspec)) {
        g_free (self->model_path);
        self->model_path = g_value_dup_string (value);
      }
      break;
    case PROP_INSTRUCTION:
      s = g_value_get_string (value);
      if (gst_instruct_blip_valid_text (s)) {
        g_free (self->instruction);
        self->instruction = g_strdup (s);
      } else {
        GST_WARNING_OBJECT (self,
            "ignoring an empty or non-UTF-8 "
            "instruction; keeping \"%s\"",
            self->instruction);
      }
      break;
    case PROP_NUM_FRAMES:
      self->num_frames = g_value_get_uint (value);
      break;
    case PROP_INTERVAL:
      self->interval = g_value_get_uint64 (value);
      break;
    case PROP_PROCESSING_MODE:
      if (!model_props_locked (self, pspec))
        self->mode = g_value_get_enum (value);
      break;
    case PROP_MAX_PENDING:
      self->max_pending = g_value_get_uint (value);
      break;
    case PROP_DROP_POLICY:
      self->drop_policy = g_value_get_enum (value);
      break;
    case PROP_MAX_NEW_TOKENS:
    case PROP_MIN_LENGTH:
    case PROP_NUM_BEAMS:
    case PROP_TEMPERATURE:
    case PROP_TOP_K:
    case PROP_TOP_P:
    case PROP_REPETITION_PENALTY:
    case PROP_LENGTH_PENALTY:
      set_gen (self, prop_id, value);
      break;
    case PROP_SEED:
      self->seed = g_value_get_uint64 (value);
      break;
    case PROP_CANDIDATES:
      s = g_value_get_string (value);
      if (s == NULL || g_utf8_validate (s, -1, NULL)) {
        g_free (self->candidates);
        self->candidates = g_strdup (s);
      } else {
        GST_WARNING_OBJECT (self, "ignoring non-UTF-8 candidates");
      }
      break;
    case PROP_DEVICE:
      if (!model_props_locked (self, pspec)) {
        s = g_value_get_string (value);
        g_free (self->device);
        self->device = g_strdup (s && *s ? s : DEFAULT_DEVICE);
      }
      break;
    case PROP_PRECISION:
      if (!model_props_locked (self, pspec))
        self->precision = g_value_get_enum (value);
      break;
    case PROP_IMAGE_RESIZE:
      if (!model_props_locked (self, pspec))
        self->image_resize = g_value_get_enum (value);
      break;
    case PROP_WEIGHT_CACHE_DIR:
      if (!model_props_locked (self, pspec)) {
        s = g_value_get_string (value);
        g_free (self->weight_cache_dir);
        self->weight_cache_dir = s && *s ? g_strdup (s) : NULL;
      }
      break;
    case PROP_MODEL_INSTANCE_ID:
      if (!model_props_locked (self, pspec)) {
        s = g_value_get_string (value);
        g_free (self->instance_id);
        self->instance_id = s && *s ? g_strdup (s) : NULL;
      }
      break;
    case PROP_POST_MESSAGES:
      self->post_messages = g_value_get_boolean (value);
      break;
    case PROP_WEIGHT_CACHE_MAP:
      self->weight_cache_map = g_value_get_boolean (value);
      break;
    case PROP_DRAIN_TIMEOUT:
      self->drain_timeout = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

void
gst_instruct_blip_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstInstructBlip *self = GST_INSTRUCT_BLIP (object);

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, stats_structure (self));
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL_PATH:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_INSTRUCTION:
      g_value_set_string (value, self->instruction);
      break;
    case PROP_NUM_FRAMES:
      g_value_set_uint (value, self->num_frames);
      break;
    case PROP_INTERVAL:
      g_value_set_uint64 (value, self->interval);
      break;
    case PROP_PROCESSING_MODE:
      g_value_set_enum (value, self->mode);
      break;
    case PROP_MAX_PENDING:
      g_value_set_uint (value, self->max_pending);
      break;
    case PROP_DROP_POLICY:
      g_value_set_enum (value, self->drop_policy);
      break;
    case PROP_MAX_NEW_TOKENS:
    case PROP_MIN_LENGTH:
    case PROP_NUM_BEAMS:
    case PROP_TEMPERATURE:
    case PROP_TOP_K:
    case PROP_TOP_P:
    case PROP_REPETITION_PENALTY:
    case PROP_LENGTH_PENALTY:
      get_gen (self, prop_id, value);
      break;
    case PROP_SEED:
      g_value_set_uint64 (value, self->seed);
      break;
    case PROP_CANDIDATES:
      g_value_set_string (value, self->candidates);
      break;
    case PROP_DEVICE:
      g_value_set_string (value, self->device);
      break;
    case PROP_DEVICE_NAME:
      g_value_set_string (value, self->device_name);
      break;
    case PROP_PRECISION:
      g_value_set_enum (value, self->precision);
      break;
    case PROP_IMAGE_RESIZE:
      g_value_set_enum (value, self->image_resize);
      break;
    case PROP_WEIGHT_CACHE_DIR:
      g_value_set_string (value, self->weight_cache_dir);
      break;
    case PROP_MODEL_INSTANCE_ID:
      g_value_set_string (value, self->instance_id);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, self->post_messages);
      break;
    case PROP_WEIGHT_CACHE_MAP:
      g_value_set_boolean (value, self->weight_cache_map);
      break;
    case PROP_DRAIN_TIMEOUT:
      g_value_set_uint64 (value, self->drain_timeout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

#define RW (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)
#define RW_READY (RW | GST_PARAM_MUTABLE_READY)
#define RW_PLAYING (RW | GST_PARAM_MUTABLE_PLAYING)

void
gst_instruct_blip_install_properties (GObjectClass *oc)
{
  /* found at run time (the install may move); kept for the class's life */
  char *blurb = g_strdup_printf (
      "InstructBLIP checkpoint directory as downloaded from Hugging Face "
      "(config.json, *.safetensors, tokenizer.json, qformer_tokenizer/, "
      "preprocessor_config.json). NULL: the default model at %s, a small "
      "InstructBLIP trained on synthetic video that knows videotestsrc "
      "patterns and scenes of coloured shapes (see its README.md). "
      "Read when the element starts",
      ib_get_default_model_dir ());
  const char *model_blurb = g_intern_string (blurb);

  g_free (blurb);

  /**
   * GstInstructBlip:model-path:
   *
   * A Hugging Face InstructBLIP checkpoint directory as downloaded. Unset:
   * the project's default model (see docs/element.md).
   */
  g_object_class_install_property (oc, PROP_MODEL_PATH,
      g_param_spec_string ("model-path", "Model path", model_blurb, NULL,
          RW_READY));
  g_object_class_install_property (oc, PROP_INSTRUCTION,
      g_param_spec_string ("instruction", "Instruction",
          "The question or instruction about the video. May change while "
          "PLAYING: the next question uses it; every answer carries the "
          "instruction it answers. Empty values are ignored",
          DEFAULT_INSTRUCTION, RW_PLAYING));
  g_object_class_install_property (oc, PROP_NUM_FRAMES,
      g_param_spec_uint ("num-frames", "Frames per question",
          "Frames each question is about, spread uniformly over interval "
          "(4 for video question answering, 1 for a single image). Changes "
          "apply from the next frame taken",
          1, 32, DEFAULT_NUM_FRAMES, RW_PLAYING));
  g_object_class_install_property (oc, PROP_INTERVAL,
      g_param_spec_uint64 ("interval", "Interval",
          "Running time between questions, in nanoseconds; the frames of a "
          "question are the first at or after start + k * interval / "
          "num-frames. Based on timestamps, not on the caps framerate. 0: "
          "consecutive frames, a question every num-frames frames",
          0, G_MAXUINT64, DEFAULT_INTERVAL, RW_PLAYING));
  g_object_class_install_property (oc, PROP_PROCESSING_MODE,
      g_param_spec_enum ("processing-mode", "Processing mode",
          "blocking: the streaming thread waits for each answer, which rides "
          "on the last frame it is about (deterministic; files, tests). "
          "async: answers are computed on the model's worker thread while "
          "video flows and ride on the first buffer after they are ready. "
          "auto: async for live sources, blocking otherwise",
          GST_TYPE_INSTRUCT_BLIP_PROCESSING_MODE, DEFAULT_MODE, RW_READY));
  g_object_class_install_property (oc, PROP_MAX_PENDING,
      g_param_spec_uint ("max-pending", "Max pending",
          "Async mode: questions of this element that may wait for the "
          "worker (the one being answered not counted); beyond that, "
          "drop-policy decides which question is dropped",
          1, 1000, DEFAULT_MAX_PENDING, RW_PLAYING));
  g_object_class_install_property (oc, PROP_DROP_POLICY,
      g_param_spec_enum ("drop-policy", "Drop policy",
          "Async mode, queue full: drop the oldest waiting question (fresh "
          "answers) or the new one",
          GST_TYPE_INSTRUCT_BLIP_DROP_POLICY, DEFAULT_DROP_POLICY, RW_PLAYING));

  g_object_class_install_property (oc, PROP_MAX_NEW_TOKENS,
      g_param_spec_uint ("max-new-tokens", "Max new tokens",
          "Longest answer in tokens. Unset: generation_config.json of the "
          "model, else 30",
          1, IB_MAX_NEW_TOKENS, 30, RW_PLAYING));
  g_object_class_install_property (oc, PROP_MIN_LENGTH,
      g_param_spec_uint ("min-length", "Min length",
          "Shortest answer in generated tokens (end of sequence is "
          "suppressed before)",
          0, IB_MAX_NEW_TOKENS, 0, RW_PLAYING));
  g_object_class_install_property (oc, PROP_NUM_BEAMS,
      g_param_spec_uint ("num-beams", "Beams",
          "Beam search width; 1: greedy decoding or sampling. Unset: "
          "generation_config.json, else 1",
          1, IB_MAX_NUM_BEAMS, 1, RW_PLAYING));
  g_object_class_install_property (oc, PROP_TEMPERATURE,
      g_param_spec_double ("temperature", "Temperature",
          "0: no sampling (greedy or beam search); > 0: sample with this "
          "temperature (with top-k, top-p, seed). Unset: "
          "generation_config.json (do_sample, temperature), else 0",
          0.0, IB_MAX_TEMPERATURE, 0.0, RW_PLAYING));
  g_object_class_install_property (oc, PROP_TOP_K,
      g_param_spec_uint ("top-k", "Top k",
          "Sampling: keep the k most likely tokens; 0: off. Unset: "
          "generation_config.json, else 50",
          0, G_MAXINT, 50, RW_PLAYING));
  g_object_class_install_property (oc, PROP_TOP_P,
      g_param_spec_double ("top-p", "Top p",
          "Sampling: keep the most likely tokens up to this probability "
          "mass; 1: off. Unset: generation_config.json, else 1",
          0.0, 1.0, 1.0, RW_PLAYING));
  g_object_class_install_property (oc, PROP_REPETITION_PENALTY,
      g_param_spec_double ("repetition-penalty", "Repetition penalty",
          "Divides the scores of tokens already in the sequence (CTRL "
          "penalty); 1: none. Unset: generation_config.json, else 1",
          0.01, IB_MAX_PENALTY, 1.0, RW_PLAYING));
  g_object_class_install_property (oc, PROP_LENGTH_PENALTY,
      g_param_spec_double ("length-penalty", "Length penalty",
          "Beam search: scores are divided by length^p; > 0 favours longer "
          "answers, < 0 shorter. Unset: generation_config.json, else 1",
          -IB_MAX_PENALTY, IB_MAX_PENALTY, 1.0, RW_PLAYING));
  g_object_class_install_property (oc, PROP_SEED,
      g_param_spec_uint64 ("seed", "Seed",
          "Sampling random seed: the same seed, frames and settings give "
          "the same answer",
          0, G_MAXUINT64, DEFAULT_SEED, RW_PLAYING));
  g_object_class_install_property (oc, PROP_CANDIDATES,
      g_param_spec_string ("candidates", "Candidates",
          "Answer list separated by '|' (e.g. \"yes|no\"): the answer is the "
          "candidate the model finds most likely (ranking, n-tokens 0) "
          "instead of free text. NULL or empty: free generation",
          NULL, RW_PLAYING));

  g_object_class_install_property (oc, PROP_DEVICE,
      g_param_spec_string ("device", "Device",
          "OpenCL device: auto (first GPU, else CPU), gpu, cpu, "
          "PLATFORM:DEVICE or DEVICE index (as clinfo -l lists them), or part "
          "of a device name",
          DEFAULT_DEVICE, RW_READY));
  g_object_class_install_property (oc, PROP_DEVICE_NAME,
      g_param_spec_string ("device-name", "Device name",
          "The OpenCL device the model runs on (known once started)", NULL,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (oc, PROP_PRECISION,
      g_param_spec_enum ("precision", "Precision",
          "How weights are stored on the device (bf16 and q8: CPU devices, "
          "with oneDNN)",
          GST_TYPE_INSTRUCT_BLIP_PRECISION, DEFAULT_PRECISION, RW_READY));
  g_object_class_install_property (oc, PROP_IMAGE_RESIZE,
      g_param_spec_enum ("image-resize", "Image resize",
          "How frames are resized and normalised: as one of transformers' "
          "image processor backends (they differ in the last bits of the "
          "pixels)",
          GST_TYPE_INSTRUCT_BLIP_IMAGE_RESIZE, DEFAULT_IMAGE_RESIZE, RW_READY));
  g_object_class_install_property (oc, PROP_WEIGHT_CACHE_DIR,
      g_param_spec_string ("weight-cache-dir", "Weight cache directory",
          "Packed-weights cache: after a load the weights, packed for the "
          "device and precision, are kept in this directory (created if "
          "missing) and the next load of the same checkpoint reads them "
          "back without converting (GBs per model and precision). NULL or "
          "empty (default): off. A damaged entry or an unwritable directory "
          "costs one warning, never the load",
          NULL, RW_READY));
  g_object_class_install_property (oc, PROP_WEIGHT_CACHE_MAP,
      g_param_spec_boolean ("weight-cache-map", "Map the weight cache",
          "On CPU devices, use a valid packed-weights cache entry in place, "
          "mapped from the page cache (no copy, shared between processes: "
          "the fastest start). An entry is never rewritten, only replaced "
          "or removed, which a mapping survives; truncating one in place "
          "while the model runs would crash the process. FALSE: read the "
          "weights into memory of their own",
          DEFAULT_WEIGHT_CACHE_MAP, RW_READY));
  g_object_class_install_property (oc, PROP_MODEL_INSTANCE_ID,
      g_param_spec_string ("model-instance-id", "Model instance id",
          "Elements with the same id in one process share one loaded model "
          "and one worker thread (their model-path, device, precision and "
          "image-resize must agree). NULL: elements with equal model-path, "
          "device, precision and image-resize share one loaded model and "
          "its worker",
          NULL, RW_READY));
  g_object_class_install_property (oc, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post an \"instructblip-answer\" element message per answer",
          DEFAULT_POST_MESSAGES, RW_PLAYING));
  g_object_class_install_property (oc, PROP_DRAIN_TIMEOUT,
      g_param_spec_uint64 ("drain-timeout", "Drain timeout",
          "At EOS, how long to wait for pending answers (ns) before "
          "dropping them with a warning; answers still go out as messages, "
          "signals and text",
          0, G_MAXUINT64, DEFAULT_DRAIN_TIMEOUT, RW_PLAYING));
  g_object_class_install_property (oc, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "instructblip-stats: frames (seen), frames-sampled, questions "
          "(asked), answers (handed out), dropped (drop-policy), cancelled "
          "(flushes, EOS timeouts), failed (engine errors) as guint64; "
          "pending (in flight), waiting (queued) as guint; busy (the worker "
          "answers one of ours), async (mode in effect) as gboolean; "
          "latency-last, latency-max, latency-mean as guint64 ns",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
}

void
gst_instruct_blip_init_properties (GstInstructBlip *self)
{
  self->instruction = g_strdup (DEFAULT_INSTRUCTION);
  self->device = g_strdup (DEFAULT_DEVICE);
  self->num_frames = DEFAULT_NUM_FRAMES;
  self->interval = DEFAULT_INTERVAL;
  self->mode = DEFAULT_MODE;
  self->max_pending = DEFAULT_MAX_PENDING;
  self->drop_policy = DEFAULT_DROP_POLICY;
  self->precision = DEFAULT_PRECISION;
  self->image_resize = DEFAULT_IMAGE_RESIZE;
  self->post_messages = DEFAULT_POST_MESSAGES;
  self->weight_cache_map = DEFAULT_WEIGHT_CACHE_MAP;
  self->drain_timeout = DEFAULT_DRAIN_TIMEOUT;
  self->seed = DEFAULT_SEED;
  ib_generate_params_init (&self->gen_base);
  self->gen_user = self->gen_base;
}

void
gst_instruct_blip_free_properties (GstInstructBlip *self)
{
  g_free (self->model_path);
  g_free (self->instruction);
  g_free (self->candidates);
  g_free (self->device);
  g_free (self->instance_id);
  g_free (self->device_name);
  g_free (self->weight_cache_dir);
}
