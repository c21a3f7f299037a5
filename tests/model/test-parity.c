/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every model stage against what transformers computed on the parity
 * fixtures (tests/data/parity, written by make_fixtures.py). */
#include <math.h>
#include <string.h>

#include "device-private.h"
#include "ib-checkpoint.h"
#include "llama.h"
#include "ops.h"
#include "t5.h"
#include "qformer.h"
#include "vit.h"

typedef struct
{
  IbClDevice *dev;
  IbClQueue *q;
  IbCheckpoint *ckpt;
  IbSafetensors *ref;
  IbLoader loader;
  IbVit *vit;
  IbQFormer *qf;
} Fixture;

static char *
fixture_dir (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "data", "parity", name, NULL);
}

/* Reference tensor @name as f32 (n elements, any dtype the script wrote). */
static float *
ref_f32 (Fixture *f, const char *name, gsize *n)
{
  const IbTensor *t = ib_safetensors_get (f->ref, name);
  GError *error = NULL;
  float *out;

  g_assert_nonnull (t);
  out = g_new (float, t->n_elements);
  g_assert_true (ib_tensor_read_f32 (t, 0, t->n_elements, out, &error));
  g_assert_no_error (error);
  *n = t->n_elements;
  return out;
}

static gint32 *
ref_ids (Fixture *f, const char *name, int *n)
{
  const IbTensor *t = ib_safetensors_get (f->ref, name);
  gint32 *ids;
  guint64 i;

  g_assert_nonnull (t);
  g_assert_cmpint (t->dtype, ==, IB_DTYPE_I64);
  ids = g_new (gint32, t->n_elements);
  for (i = 0; i < t->n_elements; i++) {
    gint64 v;
    g_assert_true (ib_tensor_read_bytes (t, i * 8, 8, &v, NULL));
    ids[i] = (gint32) v;
  }
  *n = (int) t->n_elements;
  return ids;
}

static double
rel_error (const float *out, const float *ref, gsize n)
{
  double num = 0, den = 0;
  gsize i;

  for (i = 0; i < n; i++) {
    num += ((double) out[i] - ref[i]) * ((double) out[i] - ref[i]);
    den += (double) ref[i] * ref[i];
  }
  return sqrt (num / MAX (den, 1e-30));
}

/* Which code path a case runs: the device as it is, or the GPU path on it
 * (device-private.h), with or without its cl_khr_fp16. */
typedef enum
{
  PATH_DEVICE,
  PATH_GPU,
  PATH_GPU_NO_FP16,
} Path;

static gboolean
fixture_open (Fixture *f, const char *name, IbClDtype storage,
    IbClGemmBackend gemm, Path path)
{
  char *dir = fixture_dir (name),
       *ref = g_build_filename (dir, "reference.safetensors", NULL);
  const IbModelConfig *cfg;
  GError *error = NULL;
  gsize need = 0;

  memset (f, 0, sizeof (*f));
  IbClDeviceParams dp;

  ib_cl_device_params_init (&dp);
  dp.gemm = gemm;
  ib_cl_device_pretend_gpu (path != PATH_DEVICE, path == PATH_GPU_NO_FP16);
  f->dev = ib_cl_device_new (&dp, &error);
  ib_cl_device_pretend_gpu (FALSE, FALSE);
  if (f->dev == NULL) {
    g_test_skip (error->message);
    g_error_free (error);
    g_free (dir);
    g_free (ref);
    return FALSE;
  }
  f->ckpt = ib_checkpoint_open (dir, &error);
  g_assert_no_error (error);
  f->ref = ib_safetensors_open_file (ref, &error);
  g_assert_no_error (error);
  cfg = ib_checkpoint_get_config (f->ckpt);
  f->loader.dev = f->dev;
  f->loader.st = ib_checkpoint_get_safetensors (f->ckpt);
  f->loader.storage = storage;
  f->vit = ib_vit_new (&f->loader, &cfg->vision, &error);
  g_assert_no_error (error);
  f->qf = ib_qformer_new (&f->loader, &cfg->qformer, cfg->n_query_tokens,
      cfg->text.hidden_dim, &error);
  g_assert_no_error (error);
  /* the vision stages' queue, its scratch sized as a context sizes it */
  g_assert_true (ib_vit_product_scratch (f->vit, f->dev, &need, &error));
  g_assert_true (ib_qformer_product_scratch (f->qf, f->dev,
      ib_vit_get_n_tokens (f->vit), &need, &error));
  f->q = ib_cl_queue_new (f->dev, &error);
  g_assert_no_error (error);
  g_assert_true (ib_cl_queue_reserve_scratch (f->q, need, &error));
  g_free (dir);
  g_free (ref);
  return TRUE;
}

static void
fixture_close (Fixture *f)
{
  ib_vit_free (f->vit);
  ib_qformer_free (f->qf);
  ib_safetensors_free (f->ref);
  ib_checkpoint_free (f->ckpt);
  ib_cl_queue_free (f->q);
  if (f->dev)
    ib_cl_device_unref (f->dev);
}

/* pixels → ViT → Q-Former → projection, frame by frame, each stage
 * compared with the reference in fp32. */
static void
test_vision_qformer (gconstpointer data)
{
  const char *name = data;
  Fixture f;
  GError *error = NULL;
  const IbModelConfig *cfg;
  IbClArena *arena;
  IbVitScratch *vs;
  IbQFormerScratch *qs;
  IbClBuffer *pix, *emb, *qout, *soft;
  float *pixels, *ref_emb, *ref_q, *ref_soft, *out;
  gsize n_pix, n_emb, n_q, n_soft, frame_pix;
  gint32 *qids;
  int n_qids, n_frames, T, Q, fr;
  double err;

  if (!fixture_open (&f, name, IB_CL_DTYPE_F32, IB_CL_GEMM_AUTO, PATH_DEVICE))
    return;
  cfg = ib_checkpoint_get_config (f.ckpt);
  T = ib_vit_get_n_tokens (f.vit);
  Q = cfg->n_query_tokens;
  pixels = ref_f32 (&f, "pixel_values", &n_pix);
  ref_emb = ref_f32 (&f, "vision_embeds", &n_emb);
  ref_q = ref_f32 (&f, "qformer_query", &n_q);
  ref_soft = ref_f32 (&f, "soft_tokens", &n_soft);
  qids = ref_ids (&f, "qformer_input_ids", &n_qids);
  frame_pix = 3 * (gsize) cfg->vision.image_size * cfg->vision.image_size;
  n_frames = (int) (n_pix / frame_pix);
  g_assert_cmpuint (n_emb, ==, (gsize) n_frames * T * cfg->vision.hidden_dim);

  arena = ib_cl_arena_new (f.dev,
      ib_vit_scratch_footprint (f.vit, f.dev) +
          ib_qformer_scratch_footprint (f.qf, f.dev, T),
      &error);
  g_assert_no_error (error);
  vs = ib_vit_scratch_new (f.vit, arena, &error);
  qs = ib_qformer_scratch_new (f.qf, arena, T, &error);
  g_assert_no_error (error);
  pix = ib_cl_buffer_new (f.dev, frame_pix * 4, &error);
  emb = ib_cl_buffer_new (f.dev, n_emb * 4, &error);
  qout = ib_cl_buffer_new (f.dev, n_q * 4, &error);
  soft = ib_cl_buffer_new (f.dev, n_soft * 4, &error);
  g_assert_no_error (error);

  ib_qformer_set_instruction (f.qf, f.q, qs, qids, n_qids);
  for (fr = 0; fr < n_frames; fr++) {
    ib_cl_queue_upload (f.q, pix, 0, pixels + fr * frame_pix, frame_pix * 4);
    ib_vit_forward (f.vit, f.q, vs, pix, emb,
        (gsize) fr * T * cfg->vision.hidden_dim);
    ib_qformer_forward (f.qf, f.q, qs, emb, fr * T, qout, soft, fr * Q);
    /* one sync per frame: the pixel upload reuses the buffer */
    g_assert_true (ib_cl_queue_finish (f.q, &error));
  }
  g_assert_no_error (error);

  out = g_new (float, MAX (n_emb, MAX (n_q, n_soft)));
  ib_cl_queue_download (f.q, emb, 0, out, n_emb * 4);
  g_assert_true (ib_cl_queue_finish (f.q, &error));
  err = rel_error (out, ref_emb, n_emb);
  g_test_message ("%s vision embeds: rel err %.3g", name, err);
  g_assert_cmpfloat (err, <=, 1e-5);

  ib_cl_queue_download (f.q, qout, 0, out, n_q * 4);
  g_assert_true (ib_cl_queue_finish (f.q, &error));
  err = rel_error (out, ref_q, n_q);
  g_test_message ("%s Q-Former queries: rel err %.3g", name, err);
  g_assert_cmpfloat (err, <=, 1e-5);

  ib_cl_queue_download (f.q, soft, 0, out, n_soft * 4);
  g_assert_true (ib_cl_queue_finish (f.q, &error));
  err = rel_error (out, ref_soft, n_soft);
  g_test_message ("%s soft tokens: rel err %.3g", name, err);
  g_assert_cmpfloat (err, <=, 1e-5);

  g_free (out);
  ib_cl_buffer_free (pix);
  ib_cl_buffer_free (emb);
  ib_cl_buffer_free (qout);
  ib_cl_buffer_free (soft);
  ib_vit_scratch_free (vs);
  ib_qformer_scratch_free (qs);
  ib_cl_arena_free (arena);
  g_free (pixels);
  g_free (ref_emb);
  g_free (ref_q);
  g_free (ref_soft);
  g_free (qids);
  fixture_close (&f);
}

/* Soft tokens [F·Q, H] of the fixture, computed by our ViT and Q-Former. */
static IbClBuffer *
soft_tokens (Fixture *f, int *n_rows)
{
  const IbModelConfig *cfg = ib_checkpoint_get_config (f->ckpt);
  const int T = ib_vit_get_n_tokens (f->vit), Q = cfg->n_query_tokens;
  gsize frame_pix = 3 * (gsize) cfg->vision.image_size * cfg->vision.image_size,
        n_pix;
  float *pixels = ref_f32 (f, "pixel_values", &n_pix);
  int n_frames = (int) (n_pix / frame_pix), n_qids, fr;
  gint32 *qids = ref_ids (f, "qformer_input_ids", &n_qids);
  GError *error = NULL;
  IbClArena *arena = ib_cl_arena_new (f->dev,
      ib_vit_scratch_footprint (f->vit, f->dev) +
          ib_qformer_scratch_footprint (f->qf, f->dev, T),
      &error);
  IbVitScratch *vs = ib_vit_scratch_new (f->vit, arena, &error);
  IbQFormerScratch *qs = ib_qformer_scratch_new (f->qf, arena, T, &error);
  IbClBuffer *pix = ib_cl_buffer_new (f->dev, frame_pix * 4, &error);
  IbClBuffer *emb = ib_cl_buffer_new (f->dev,
      (gsize) n_frames * T * cfg->vision.hidden_dim * 4, &error);
  IbClBuffer *soft = ib_cl_buffer_new (f->dev,
      (gsize) n_frames * Q * cfg->text.hidden_dim * 4, &error);

  g_assert_no_error (error);
  ib_qformer_set_instruction (f->qf, f->q, qs, qids, n_qids);
  for (fr = 0; fr < n_frames; fr++) {
    ib_cl_queue_upload (f->q, pix, 0, pixels + fr * frame_pix, frame_pix * 4);
    ib_vit_forward (f->vit, f->q, vs, pix, emb,
        (gsize) fr * T * cfg->vision.hidden_dim);
    ib_qformer_forward (f->qf, f->q, qs, emb, fr * T, NULL, soft, fr * Q);
    g_assert_true (ib_cl_queue_finish (f->q, &error));
  }
  ib_cl_buffer_free (pix);
  ib_cl_buffer_free (emb);
  ib_vit_scratch_free (vs);
  ib_qformer_scratch_free (qs);
  ib_cl_arena_free (arena);
  g_free (pixels);
  g_free (qids);
  *n_rows = n_frames * Q;
  return soft;
}

static int
argmax (const float *x, int n)
{
  int i, best = 0;

  for (i = 1; i < n; i++)
    if (x[i] > x[best])
      best = i;
  return best;
}

static gboolean
is_eos (const IbTextConfig *t, int id)
{
  guint i;

  for (i = 0; i < t->n_eos_token_ids; i++)
    if (t->eos_token_ids[i] == id)
      return TRUE;
  return FALSE;
}

/* The language model's own queue (the vision stages' is done), its
 * scratch sized for @need bytes. */
static void
lm_queue (Fixture *f, gsize need)
{
  GError *error = NULL;

  ib_cl_queue_free (f->q);
  f->q = ib_cl_queue_new (f->dev, &error);
  g_assert_no_error (error);
  g_assert_true (ib_cl_queue_reserve_scratch (f->q, need, &error));
}

/* The language model on our soft tokens and the processor's ids: the first
 * step's logits (≤ 1e-4 relative) and plain greedy decoding (argmax, the
 * fixture's "greedy" setting: no logits processors) to the same ids. */
typedef struct
{
  const char *name;
  IbClDtype storage;
  IbClGemmBackend gemm;
  Path path;
} Case;

static void
test_language_model (gconstpointer data)
{
  const Case *c = data;
  const char *name = c->name;
  Fixture f;
  GError *error = NULL;
  const IbModelConfig *cfg;
  const IbTextConfig *tc;
  IbClArena *arena = NULL;
  IbClBuffer *soft, *input, *logits;
  IbLlama *llm = NULL;
  IbLlamaState *ls = NULL;
  IbT5 *t5 = NULL;
  IbT5State *ts = NULL;
  float *ref_logits, *out;
  gsize n_logits;
  gint32 *ids, *greedy, token;
  int n_ids, n_greedy, n_soft, V, step, H, first, agree = 0;
  gboolean hgemm;
  gsize need = 0;
  double err;

  if (!fixture_open (&f, name, c->storage, c->gemm, c->path))
    return;
  cfg = ib_checkpoint_get_config (f.ckpt);
  tc = &cfg->text;
  H = tc->hidden_dim;
  soft = soft_tokens (&f, &n_soft);
  ids = ref_ids (&f, "input_ids", &n_ids);
  greedy = ref_ids (&f, "greedy_ids", &n_greedy);
  ref_logits = ref_f32 (&f, "logits_first", &n_logits);
  V = tc->vocab_size;
  g_assert_cmpuint (n_logits, ==, (gsize) V);
  out = g_new (float, V);

  /* inputs: embeddings of the processor's ids, the placeholder rows
   * (the first F·Q) replaced by the soft tokens, as HF's masked_scatter */
  if (tc->arch == IB_TEXT_ARCH_LLAMA) {
    llm = ib_llama_new (&f.loader, tc, &error);
    g_assert_no_error (error);
    g_assert_true (ib_llama_product_scratch (llm, f.dev, n_ids + n_greedy + 1,
        1, &need, &error));
    lm_queue (&f, need);
    arena = ib_cl_arena_new (f.dev,
        ib_llama_state_footprint (llm, f.dev, n_ids + n_greedy + 1, 1), &error);
    ls = ib_llama_state_new (llm, arena, n_ids + n_greedy + 1, 1, &error);
    g_assert_no_error (error);
    input = ib_llama_state_input (ls);
    logits = ib_llama_state_logits (ls);
    ib_llama_embed (llm, f.q, ls, ids, n_ids, 0);
    ib_cl_copy_rows (f.q, soft, 0, H, input, 0, H, n_soft, H);
    ib_llama_prefill (llm, f.q, ls, n_ids);
  } else {
    t5 = ib_t5_new (&f.loader, tc, &error);
    g_assert_no_error (error);
    g_assert_true (ib_t5_product_scratch (t5, f.dev, n_ids, n_greedy + 1, 1,
        &need, &error));
    lm_queue (&f, need);
    arena = ib_cl_arena_new (f.dev,
        ib_t5_state_footprint (t5, f.dev, n_ids, n_greedy + 1, 1), &error);
    ts = ib_t5_state_new (t5, arena, n_ids, n_greedy + 1, 1, &error);
    g_assert_no_error (error);
    input = ib_t5_state_input (ts);
    logits = ib_t5_state_logits (ts);
    ib_t5_embed (t5, f.q, ts, ids, n_ids, 0);
    ib_cl_copy_rows (f.q, soft, 0, H, input, 0, H, n_soft, H);
    ib_t5_encode (t5, f.q, ts, n_ids);
    token = greedy[0]; /* the decoder start token */
    g_assert_cmpint (token, ==, tc->decoder_start_token_id);
    ib_t5_decode (t5, f.q, ts, &token, 1, 0);
  }
  ib_cl_queue_download (f.q, logits, 0, out, (gsize) V * 4);
  ib_cl_queue_finish (f.q, &error);
  g_assert_no_error (error);
  err = rel_error (out, ref_logits, V);
  g_test_message ("%s %s first-step logits: rel err %.3g", name,
      ib_cl_dtype_name (c->storage), err);
  /* fp32 as transformers; fp16 weights round every weight (~5e-4); bf16
   * (2^-8) and q8 weights (max / 254 per channel) on these random models,
   * whose near-tied logits amplify rounding (t5-tiny 5-10x): bf16 and q8
   * stop at the first id that differs from transformers' fp32, which must
   * not be the first generated one (docs/performance.md has the counts) */
  /* fp16 through CLBlast's HGEMM (GPU path on a device with cl_khr_fp16)
   * also rounds the activations and sums in fp16: 4-6x the error of fp16
   * weights alone on these fixtures (docs/performance.md) */
  hgemm = c->storage == IB_CL_DTYPE_F16 && c->path == PATH_GPU &&
      ib_cl_device_get_info (f.dev)->has_fp16;
  g_assert_cmpfloat (err, <=,
      c->storage == IB_CL_DTYPE_F32               ? 1e-4 :
          c->storage == IB_CL_DTYPE_F16 && !hgemm ? 1e-2 :
          hgemm                                   ? 0.1 :
                                                    0.3);

  /* greedy: T5's reference ids start with the decoder start token */
  first = tc->arch == IB_TEXT_ARCH_T5 ? 1 : 0;
  for (step = first; step < n_greedy; step++) {
    token = argmax (out, V);
    if (token != greedy[step] && step > first &&
        (hgemm || c->storage == IB_CL_DTYPE_BF16 ||
            c->storage == IB_CL_DTYPE_Q8))
      break;
    g_assert_cmpint (token, ==, greedy[step]);
    agree++;
    if (is_eos (tc, token))
      break;
    if (llm)
      ib_llama_decode (llm, f.q, ls, &token, 1, n_ids + step);
    else
      ib_t5_decode (t5, f.q, ts, &token, 1, step);
    ib_cl_queue_download (f.q, logits, 0, out, (gsize) V * 4);
    ib_cl_queue_finish (f.q, &error);
    g_assert_no_error (error);
  }

  g_test_message ("%s %s: the first %d of %d greedy ids as transformers fp32",
      name, ib_cl_dtype_name (c->storage), agree, n_greedy - first);

  ib_llama_state_free (ls);
  ib_llama_free (llm);
  ib_t5_state_free (ts);
  ib_t5_free (t5);
  ib_cl_arena_free (arena);
  ib_cl_buffer_free (soft);
  g_free (out);
  g_free (ids);
  g_free (greedy);
  g_free (ref_logits);
  fixture_close (&f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/parity/vicuna/vision-qformer", "vicuna-tiny",
      test_vision_qformer);
  g_test_add_data_func ("/parity/t5/vision-qformer", "t5-tiny",
      test_vision_qformer);
  g_test_add_data_func ("/parity/video/vision-qformer", "vicuna-tiny-video",
      test_vision_qformer);
  static const Case lm[] = {
    { "vicuna-tiny", IB_CL_DTYPE_F32, IB_CL_GEMM_AUTO },
    { "t5-tiny", IB_CL_DTYPE_F32, IB_CL_GEMM_AUTO },
    { "vicuna-tiny-video", IB_CL_DTYPE_F32, IB_CL_GEMM_AUTO },
    { "vicuna-tiny", IB_CL_DTYPE_F16, IB_CL_GEMM_AUTO },
    { "t5-tiny", IB_CL_DTYPE_F16, IB_CL_GEMM_AUTO },
    { "vicuna-tiny-video", IB_CL_DTYPE_F16, IB_CL_GEMM_AUTO },
    /* the GPU path (CLBlast GEMMs, [K,N] weights, kn GEMV) runs on PoCL
     * too, so CI covers it */
    { "vicuna-tiny", IB_CL_DTYPE_F32, IB_CL_GEMM_CLBLAST },
    { "t5-tiny", IB_CL_DTYPE_F32, IB_CL_GEMM_CLBLAST },
    { "vicuna-tiny", IB_CL_DTYPE_F16, IB_CL_GEMM_CLBLAST },
    /* the GPU path for every precision on this device (device-private.h):
     * where it has cl_khr_fp16 (Intel's CPU runtime), fp16 prefill runs
     * through CLBlast's HGEMM, else through gemm_kn_f16 */
    { "vicuna-tiny", IB_CL_DTYPE_F32, IB_CL_GEMM_AUTO, PATH_GPU },
    { "vicuna-tiny", IB_CL_DTYPE_F16, IB_CL_GEMM_AUTO, PATH_GPU },
    { "t5-tiny", IB_CL_DTYPE_F16, IB_CL_GEMM_AUTO, PATH_GPU },
    { "vicuna-tiny-video", IB_CL_DTYPE_F16, IB_CL_GEMM_AUTO, PATH_GPU },
    { "vicuna-tiny", IB_CL_DTYPE_F16, IB_CL_GEMM_AUTO, PATH_GPU_NO_FP16 },
    { "t5-tiny", IB_CL_DTYPE_F16, IB_CL_GEMM_AUTO, PATH_GPU_NO_FP16 },
    { "vicuna-tiny", IB_CL_DTYPE_BF16, IB_CL_GEMM_AUTO, PATH_GPU },
    { "t5-tiny", IB_CL_DTYPE_BF16, IB_CL_GEMM_AUTO, PATH_GPU },
    { "vicuna-tiny-video", IB_CL_DTYPE_BF16, IB_CL_GEMM_AUTO, PATH_GPU },
    { "vicuna-tiny", IB_CL_DTYPE_Q8, IB_CL_GEMM_AUTO, PATH_GPU },
    { "t5-tiny", IB_CL_DTYPE_Q8, IB_CL_GEMM_AUTO, PATH_GPU },
    { "vicuna-tiny-video", IB_CL_DTYPE_Q8, IB_CL_GEMM_AUTO, PATH_GPU },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (lm); i++) {
    char *path = g_strdup_printf ("/parity/%s/language-model/%s%s%s",
        lm[i].name, ib_cl_dtype_name (lm[i].storage),
        lm[i].gemm == IB_CL_GEMM_CLBLAST ? "/clblast" : "",
        lm[i].path == PATH_GPU             ? "/gpu-path" :
            lm[i].path == PATH_GPU_NO_FP16 ? "/gpu-path-no-fp16" :
                                             "");
    g_test_add_data_func (path, &lm[i], test_language_model);
    g_free (path);
  }
  return g_test_run ();
}
