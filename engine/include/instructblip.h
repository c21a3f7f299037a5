/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* instructblip.h: the engine's public API. InstructBLIP (Dai et al. 2023)
 * answers free-form instructions about images and video, computed on an
 * OpenCL device from a Hugging Face checkpoint directory as downloaded.
 *
 * Usage:
 *
 *   IbModelParams mp;
 *   ib_model_params_init (&mp);
 *   mp.device = "auto";                         // first GPU, else CPU
 *   mp.gemm = IB_GEMM_AUTO;
 *   IbModel *model = ib_model_load ("instructblip-vicuna-7b", &mp, &error);
 *
 *   IbContextParams cp;
 *   ib_context_params_init (&cp);
 *   IbContext *ctx = ib_context_new (model, &cp, &error);
 *
 *   IbImage frames[4] = { ... };                // RGB(A/x) frames, any size
 *   ib_context_set_frames (ctx, frames, 4, &error);
 *
 *   IbGenerateParams gp;
 *   ib_generate_params_init_for_model (&gp, model);  // generation_config.json
 *   gp.max_new_tokens = 30;
 *   IbAnswer *answer = ib_context_answer (ctx, "What is happening?", &gp,
 *       &error);
 *   printf ("%s\n", answer->text);
 *   ib_answer_free (answer);
 *
 *   ib_context_free (ctx);
 *   ib_model_unref (model);
 *
 * Threads: a model is immutable after loading and may be shared by any
 * number of contexts in any threads. A context is used by one thread at a
 * time. There is no global state.
 *
 * Errors: every fallible call returns NULL/FALSE and sets a GError: the
 * IB_ERROR domain (ib-error.h; IB_ERROR_NO_DEVICE when there is no OpenCL
 * platform or not the device asked for), IB_TOKENIZER_ERROR
 * (ib-tokenizer-error.h), IB_IMAGE_ERROR (ib-image.h), IB_GEN_ERROR
 * (ib-generate-error.h), or IB_CL_ERROR (ib-cl-error.h) for OpenCL
 * failures while running. The message always says what went wrong. A
 * failed call leaves the context usable. */
#pragma once

#include <glib.h>

#include "ib-cl-error.h"
#include "ib-error.h"
#include "ib-generate-error.h"
#include "ib-image.h"
#include "ib-limits.h"
#include "ib-tokenizer-error.h"

G_BEGIN_DECLS

/* ---- model ------------------------------------------------------------ */

typedef enum
{
  IB_PRECISION_F32, /* weights stored as fp32 on the device: exact */
  IB_PRECISION_F16, /* weights stored as fp16: half the memory;
                                 * a 7B model fits a 24 GB machine */
  IB_PRECISION_BF16, /* bf16 weights and bf16 products (oneDNN;
                                 * CPU devices): half the memory, faster
                                 * with AVX512-BF16 */
  IB_PRECISION_Q8, /* int8 weights (one scale per output
                                 * channel), activations quantised per token
                                 * (oneDNN; CPU devices): a quarter */
  IB_PRECISION_AUTO, /* the most exact precision whose weights fit
                                 * the device with room for a context, the
                                 * fastest of equal size the device runs
                                 * well (fp32, else bf16 where native else
                                 * fp16, else q8); refused if none fits */
} IbPrecision;

/* How frames are resized and normalised: transformers has two image
 * processor backends for the same checkpoint, which differ in the last
 * bits of pixel_values (and so, at times, in the answer). */
typedef enum
{
  IB_IMAGE_RESIZE_AUTO, /* what transformers picks for the checkpoint in an
                         * ordinary install (transformers, torch,
                         * torchvision, Pillow): torchvision, unless
                         * preprocessor_config.json names the PIL class */
  IB_IMAGE_RESIZE_TORCHVISION, /* BlipImageProcessor (torchvision backend)
                                * and the InstructBlipVideo video processor */
  IB_IMAGE_RESIZE_PILLOW, /* BlipImageProcessorPil under Pillow >= 13 */
  IB_IMAGE_RESIZE_PILLOW12, /* the same under Pillow <= 12 (another pass
                             * order for some shapes, portrait among them) */
} IbImageResize;
/* "fp32", "fp16", "bf16", "q8", "auto". */
const char *ib_precision_to_string (IbPrecision precision);
/* Parses one of those names; FALSE for anything else. */
gboolean ib_precision_from_string (const char *name, IbPrecision *precision);

/* Which code computes the fp32/fp16 matrix products. */
typedef enum
{
  IB_GEMM_AUTO, /* CLBlast on GPUs, the own kernels on CPU devices */
  IB_GEMM_CLBLAST, /* CLBlast (tuned for GPUs) */
  IB_GEMM_OWN, /* the engine's own CPU-shaped OpenCL kernels */
} IbGemmBackend;
/* "auto", "clblast", "own". */
const char *ib_gemm_backend_to_string (IbGemmBackend backend);
/* Parses one of those names; FALSE for anything else. */
gboolean ib_gemm_backend_from_string (const char *name, IbGemmBackend *backend);

/* The strings are borrowed: ib_model_load reads them and keeps no pointer
 * to them, so they need to live only until it returns. Values outside an
 * enum are refused with IB_ERROR_INVALID_ARG. */
typedef struct
{
  const char *device; /* NULL or "auto" (default): the first GPU, else a
                       * CPU; "gpu", "cpu", "P:D", "D" or part of a
                       * device name */
  IbPrecision precision; /* default IB_PRECISION_AUTO */
  IbGemmBackend gemm; /* default IB_GEMM_AUTO */
  IbImageResize image_resize; /* default IB_IMAGE_RESIZE_AUTO */
  const char *weight_cache_dir; /* packed-weights cache: NULL (default)
                                 * off; else a directory (created if
                                 * missing) where the weights, packed for
                                 * the device and precision, are kept
                                 * after a load and read back by the next
                                 * load of the same checkpoint. An entry
                                 * takes the weights' device size (GBs at
                                 * 7B); a damaged or unwritable one costs
                                 * one warning, never the load. See
                                 * docs/performance.md. */
  gboolean weight_cache_map; /* TRUE (default): on CPU devices a valid
                              * entry is mapped and its weights used in
                              * place, from the page cache (shared by
                              * every process using it; nothing to
                              * allocate or copy). An entry is never
                              * rewritten, only replaced or removed,
                              * which a mapping survives; truncating
                              * one in place while a model uses it
                              * raises SIGBUS. FALSE: the weights are
                              * read into memory of their own. */
} IbModelParams;

typedef struct _IbModel IbModel;

void ib_model_params_init (IbModelParams *params);

/* Loads the checkpoint directory @dir (config.json, safetensors shards,
 * tokenizer.json, qformer_tokenizer/, preprocessor_config.json,
 * generation_config.json), checks every tensor against the config and
 * uploads the weights to the device, one tensor at a time. @params may be
 * NULL for the defaults. (transfer full) */
IbModel *ib_model_load (const char *dir, const IbModelParams *params,
    GError **error);
IbModel *ib_model_ref (IbModel *model);
void ib_model_unref (IbModel *model);

/* The OpenCL device the model lives on. (transfer none) */
const char *ib_model_get_device_name (const IbModel *model);
/* The side in pixels of the square frames the vision encoder takes
 * (preprocessing resizes every frame to it). */
int ib_model_get_image_size (const IbModel *model);
/* Device memory the weights take, in bytes. */
gsize ib_model_get_weight_bytes (const IbModel *model);
/* The precision the weights are stored in (what AUTO chose). */
IbPrecision ib_model_get_precision (const IbModel *model);

/* The checkpoint directory of the default model, the small InstructBLIP
 * trained on synthetic video that ships with the library: installed under
 * DATADIR/instructblip/models/ and found from the library's own location
 * (an installed tree may be moved), or the source tree's models/ copy when
 * the library runs from its build directory. The directory may be absent
 * (a distribution may package the model separately). (transfer none) */
const char *ib_get_default_model_dir (void);

/* ---- generation settings ---------------------------------------------- */

/* Beam search's stopping rule (transformers' early_stopping). */
typedef enum
{
  IB_EARLY_STOPPING_FALSE, /* False: stop when no unfinished beam can beat
                            * the finished ones (transformers' heuristic) */
  IB_EARLY_STOPPING_TRUE, /* True: stop as soon as num_beams are finished */
  IB_EARLY_STOPPING_NEVER, /* "never": canonical beam search, stop only
                            * when no better sequence is possible */
} IbEarlyStopping;

/* Plain values only (no pointers); values outside their range or enum are
 * refused by ib_context_answer with IB_ERROR_INVALID_ARG. */
typedef struct
{
  int max_new_tokens; /* default 30 */
  int min_new_tokens; /* default 0 */
  int min_length; /* transformers' min_length: the whole sequence, the
                   * prompt included for Vicuna; default 0 */
  int num_beams; /* 1: greedy or sampling; default 1 */
  double length_penalty; /* beam scores / length^p; default 1 */
  IbEarlyStopping early_stopping; /* beam search; default
                                   * IB_EARLY_STOPPING_FALSE */
  double repetition_penalty; /* 1: none; default 1 */
  gboolean do_sample; /* default FALSE */
  double temperature; /* default 1 */
  int top_k; /* 0: off; default 50 */
  double top_p; /* 1: off; default 1 */
  guint64 seed; /* sampling RNG seed; default 0 */
} IbGenerateParams;

/* transformers' GenerationConfig defaults, max_new_tokens 30. */
void ib_generate_params_init (IbGenerateParams *params);
/* The same, then the checkpoint's generation_config.json on top. */
void ib_generate_params_init_for_model (IbGenerateParams *params,
    const IbModel *model);

/* ---- context ---------------------------------------------------------- */

typedef struct
{
  int max_frames; /* frames per question; default 4 */
  int max_prompt_tokens; /* LLM prompt tokens; default 256 */
  int max_new_tokens; /* generation budget; default 256 */
  int max_beams; /* default 5 */
  int frame_cache; /* vision outputs of earlier frames kept besides the
                    * current ones (0 to IB_MAX_FRAME_CACHE; 0: off;
                    * default 8): a frame given again with the same
                    * pixels, size and format is not encoded again. Each
                    * costs ViT tokens x vision hidden x 4 bytes of device
                    * memory (1.4 MiB for ViT-g/14), allocated with the
                    * context. */
} IbContextParams;

/* Largest IbContextParams.frame_cache. */
#define IB_MAX_FRAME_CACHE 1024

typedef struct _IbContext IbContext;

void ib_context_params_init (IbContextParams *params);

/* A per-stream context on @model: its own command queue, KV caches and
 * activation arena, sized once from @params (NULL: defaults) so that
 * answering allocates nothing on the device. (transfer full) */
IbContext *ib_context_new (IbModel *model, const IbContextParams *params,
    GError **error);
void ib_context_free (IbContext *ctx);

/* Preprocesses @n_frames frames (resize like Pillow bicubic, normalise) and
 * runs the vision encoder on each; the image embeddings are kept for every
 * following question until the next call. With frame_cache on, a frame
 * whose visible bytes, size and format equal those of a frame of this or
 * a recent call (XXH64 of the visible bytes, row by row: the stride plays
 * no part) takes that frame's embeddings, bit for bit what encoding it
 * again would give, and is neither preprocessed nor encoded. */
gboolean ib_context_set_frames (IbContext *ctx, const IbImage *frames,
    int n_frames, GError **error);

/* The same from already preprocessed pixels: @pixels [n_frames, 3, S, S]
 * float32, S = ib_model_get_image_size(); frames with the same float bits
 * are reused likewise. */
gboolean ib_context_set_pixel_values (IbContext *ctx, const float *pixels,
    int n_frames, GError **error);

typedef struct
{
  double preprocess_ms, vision_ms, qformer_ms, prefill_ms, decode_ms;
  int n_prompt_tokens, n_generated_tokens;
  int n_frames_reused; /* frames whose embeddings came from the frame
                        * cache: preprocess_ms and vision_ms are the
                        * other frames' */
} IbTimings;

typedef struct
{
  char *text; /* the answer, special tokens skipped */
  gint32 *token_ids; /* generated ids (eos included if made) */
  int n_tokens;
  IbTimings timings;
} IbAnswer;

/* Answers @instruction about the current frames. (transfer full) */
IbAnswer *ib_context_answer (IbContext *ctx, const char *instruction,
    const IbGenerateParams *params, GError **error);
void ib_answer_free (IbAnswer *answer);

/* Vocabulary ranking (LAVIS _predict_class): scores each of @n candidate
 * answers by its log-likelihood after the instruction; @scores[i] gets the
 * score (higher is better). Returns the index of the best, or -1. */
int ib_context_rank (IbContext *ctx, const char *instruction,
    const char *const *candidates, int n, double *scores, GError **error);

/* ---- batched answering ------------------------------------------------ */

/* Many streams on one model: questions from any number of threads are
 * answered together. One scheduler thread owns the device work: it sets
 * up the new questions (the frames their slots' frame caches lack through
 * the vision encoder in shared passes, then each one's Q-Former and
 * prefill), then decodes
 * every question in progress in one batched step per token (the language
 * model's products over the rows of all their beams; each question's own
 * KV cache for attention). Questions join and leave between steps; greedy,
 * beam search and sampling mix. Each question's ids are exactly those
 * ib_context_answer gives it alone. Every step advances every question by
 * one token, so a long answer never holds up the others.
 *
 * Memory is bounded: the batch owns max_requests request slots, each a
 * context (KV caches for its beams) made up front; further questions wait
 * for a slot, in order of arrival. */
typedef struct
{
  int max_requests; /* slots; 0 (default): as many as the device memory
                     * left after the weights holds (less a quarter for
                     * everything else), at most IB_BATCH_AUTO_REQUESTS */
  IbContextParams context; /* every slot's budgets (its defaults) */
  int vision_pass_frames; /* the new frames of questions set up together go
                           * through the vision encoder in passes of up to
                           * this many; 0 (default): IB_BATCH_VISION_FRAMES,
                           * at most the slots' max_frames together */
  int prefill_rows; /* LLaMA: the prompt rows one batched step prefills
                     * (whole prompts; at least one slot's longest:
                     * max_frames x query tokens + max_prompt_tokens);
                     * 0 (default): every slot's longest prompt, at most
                     * IB_BATCH_PREFILL_ROWS (but one prompt) */
} IbBatchParams;

/* The most slots max_requests = 0 picks, and the most it takes. */
#define IB_BATCH_AUTO_REQUESTS 8
#define IB_BATCH_MAX_REQUESTS 64
/* Frames of one shared vision pass: the default, and the most. */
#define IB_BATCH_VISION_FRAMES 8
#define IB_BATCH_MAX_VISION_FRAMES 64
/* Prompt rows of one batched step: the default's cap, and the most. */
#define IB_BATCH_PREFILL_ROWS 1024
#define IB_BATCH_MAX_PREFILL_ROWS 16384

typedef struct _IbBatch IbBatch;

typedef struct
{
  guint64 n_answers; /* questions answered or failed */
  guint64 n_steps; /* batched decoding steps */
  guint64 n_rows; /* rows (beams) over all steps */
  int max_rows; /* most rows in one step */
  int max_active; /* most questions decoding at once */
  guint64 n_joins; /* questions set up while others were decoding */
  guint64 n_setups; /* set-ups: questions that joined together, set up at
                     * once */
  int max_setup; /* most questions in one set-up */
  guint64 n_vision_passes; /* vision encoder passes */
  guint64 n_vision_frames; /* frames encoded */
  int max_vision_frames; /* most frames in one pass */
  guint64 n_frames_shared; /* frames of a question copied from another's
                            * encoding of the same frame */
  guint64 n_prefill_steps; /* LLaMA: steps that prefilled prompts */
  guint64 n_mixed_steps; /* of them, those that also decoded questions */
  guint64 n_prefills; /* prompts prefilled in steps */
  int max_prefills; /* most prompts prefilled in one step */
  guint64 n_prefill_rows; /* prompt rows over all steps */
} IbBatchStats;

void ib_batch_params_init (IbBatchParams *params);

/* Makes the slots (their contexts); no thread of its own: the asking
 * threads run the batched steps. (transfer full) */
IbBatch *ib_batch_new (IbModel *model, const IbBatchParams *params,
    GError **error);
/* No ib_batch_* call may be in progress. */
void ib_batch_free (IbBatch *batch);
int ib_batch_get_max_requests (const IbBatch *batch);
void ib_batch_get_stats (IbBatch *batch, IbBatchStats *stats);

/* ib_context_set_frames + ib_context_answer in a slot, batched with the
 * questions of other threads; blocks until the answer is complete. The
 * frames are read before it returns. Any thread. (transfer full) */
IbAnswer *ib_batch_answer (IbBatch *batch, const IbImage *frames, int n_frames,
    const char *instruction, const IbGenerateParams *params, GError **error);
/* The same from preprocessed pixels (ib_context_set_pixel_values). */
IbAnswer *ib_batch_answer_pixels (IbBatch *batch, const float *pixels,
    int n_frames, const char *instruction, const IbGenerateParams *params,
    GError **error);
/* ib_context_rank in a slot (not batched: it runs between two steps). */
int ib_batch_rank (IbBatch *batch, const IbImage *frames, int n_frames,
    const char *instruction, const char *const *candidates, int n,
    double *scores, GError **error);

G_END_DECLS
