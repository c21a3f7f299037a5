/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The batched passes of IbBatch bit for bit as the passes they replace:
 * the Q-Former over many (frame, instruction) sequences against each
 * sequence alone, and the T5 and LLaMA decoders over the beams of several
 * sequences against each sequence's own step; on every GEMM path (own kernels,
 * CLBlast, fp16 and the GPU path, oneDNN bf16). */
#include <string.h>

#include "device-private.h"
#include "ib-checkpoint.h"
#include "llama.h"
#include "ops.h"
#include "qformer.h"
#include "t5.h"
#include "vit.h"

typedef enum
{
  PATH_DEVICE,
  PATH_GPU,
} Path;

typedef struct
{
  const char *name;
  IbClDtype storage;
  IbClGemmBackend gemm;
  Path path;
} Case;

typedef struct
{
  IbClDevice *dev;
  IbCheckpoint *ckpt;
  IbSafetensors *ref;
  IbLoader loader;
} Fixture;

static gboolean
fixture_open (Fixture *f, const Case *c)
{
  char *dir =
      g_test_build_filename (G_TEST_DIST, "data", "parity", c->name, NULL);
  char *ref = g_build_filename (dir, "reference.safetensors", NULL);
  IbClDeviceParams dp;
  GError *error = NULL;

  memset (f, 0, sizeof (*f));
  ib_cl_device_params_init (&dp);
  dp.gemm = c->gemm;
  ib_cl_device_pretend_gpu (c->path == PATH_GPU, FALSE);
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
  f->loader.dev = f->dev;
  f->loader.st = ib_checkpoint_get_safetensors (f->ckpt);
  f->loader.storage = c->storage;
  g_free (dir);
  g_free (ref);
  return TRUE;
}

static void
fixture_close (Fixture *f)
{
  ib_safetensors_free (f->ref);
  ib_checkpoint_free (f->ckpt);
  if (f->dev)
    ib_cl_device_unref (f->dev);
}

static gint32 *
ref_ids (Fixture *f, const char *name, int *n)
{
  const IbTensor *t = ib_safetensors_get (f->ref, name);
  gint32 *ids;
  guint64 i;

  g_assert_nonnull (t);
  ids = g_new (gint32, t->n_elements);
  for (i = 0; i < t->n_elements; i++) {
    gint64 v;
    g_assert_true (ib_tensor_read_bytes (t, i * 8, 8, &v, NULL));
    ids[i] = (gint32) v;
  }
  *n = (int) t->n_elements;
  return ids;
}

static float *
download (IbClQueue *q, IbClBuffer *b, gsize off, gsize n)
{
  float *out = g_new (float, n);
  GError *error = NULL;

  ib_cl_queue_download (q, b, off * 4, out, n * 4);
  g_assert_true (ib_cl_queue_finish (q, &error));
  g_assert_no_error (error);
  return out;
}

#define N_INSTR 3
#define MAX_SEQS 4

/* Every frame of the fixture with three instructions of different lengths
 * (the fixture's, its first half, one of its own), in passes of up to
 * MAX_SEQS sequences, against each sequence alone. */
static void
test_qformer_many (gconstpointer data)
{
  const Case *c = data;
  const IbModelConfig *cfg;
  const IbTensor *pv;
  Fixture f;
  GError *error = NULL;
  IbVit *vit;
  IbQFormer *qf;
  IbClQueue *q;
  IbClArena *arena;
  IbVitScratch *vs;
  IbQFormerScratch *qs;
  IbQFormerMany *qm;
  IbClBuffer *pix, *emb, *soft_alone, *soft_many;
  IbQFormerSeq seqs[N_INSTR * 16];
  gint32 *qids, own[7];
  const gint32 *instr[N_INSTR];
  int n_instr[N_INSTR], n_qids, T, Q, Dv, TH, F, n, i, fr, j, k, passes = 0;
  gsize frame_pix, need = 0;
  float *pixels, *a, *b;

  if (!fixture_open (&f, c))
    return;
  cfg = ib_checkpoint_get_config (f.ckpt);
  vit = ib_vit_new (&f.loader, &cfg->vision, &error);
  g_assert_no_error (error);
  qf = ib_qformer_new (&f.loader, &cfg->qformer, cfg->n_query_tokens,
      cfg->text.hidden_dim, &error);
  g_assert_no_error (error);
  T = ib_vit_get_n_tokens (vit);
  Q = cfg->n_query_tokens;
  Dv = cfg->vision.hidden_dim;
  TH = cfg->text.hidden_dim;
  pv = ib_safetensors_get (f.ref, "pixel_values");
  frame_pix = 3 * (gsize) cfg->vision.image_size * cfg->vision.image_size;
  F = (int) (pv->n_elements / frame_pix);
  g_assert_cmpint (F * N_INSTR, <=, G_N_ELEMENTS (seqs));
  pixels = g_new (float, pv->n_elements);
  g_assert_true (ib_tensor_read_f32 (pv, 0, pv->n_elements, pixels, &error));

  qids = ref_ids (&f, "qformer_input_ids", &n_qids);
  g_assert_cmpint (n_qids, >=, 4);
  for (i = 0; i < 7; i++)
    own[i] = (qids[1] + 3 * i) % cfg->qformer.vocab_size;
  instr[0] = qids;
  n_instr[0] = n_qids;
  instr[1] = qids;
  n_instr[1] = n_qids / 2;
  instr[2] = own;
  n_instr[2] = 7;

  g_assert_true (ib_vit_product_scratch (vit, f.dev, &need, &error));
  g_assert_true (
      ib_qformer_many_scratch (qf, f.dev, T, MAX_SEQS, &need, &error));
  q = ib_cl_queue_new (f.dev, &error);
  g_assert_no_error (error);
  g_assert_true (ib_cl_queue_reserve_scratch (q, need, &error));
  arena = ib_cl_arena_new (f.dev,
      ib_vit_scratch_footprint (vit, f.dev) +
          ib_qformer_scratch_footprint (qf, f.dev, T) +
          ib_qformer_many_footprint (qf, f.dev, T, MAX_SEQS),
      &error);
  g_assert_no_error (error);
  vs = ib_vit_scratch_new (vit, arena, &error);
  qs = ib_qformer_scratch_new (qf, arena, T, &error);
  qm = ib_qformer_many_new (qf, arena, T, MAX_SEQS, &error);
  g_assert_no_error (error);
  n = N_INSTR * F;
  pix = ib_cl_buffer_new (f.dev, frame_pix * 4, &error);
  emb = ib_cl_buffer_new (f.dev, (gsize) F * T * Dv * 4, &error);
  soft_alone = ib_cl_buffer_new (f.dev, (gsize) n * Q * TH * 4, &error);
  soft_many = ib_cl_buffer_new (f.dev, (gsize) n * Q * TH * 4, &error);
  g_assert_no_error (error);
  for (fr = 0; fr < F; fr++) {
    ib_cl_queue_upload (q, pix, 0, pixels + fr * frame_pix, frame_pix * 4);
    ib_vit_forward (vit, q, vs, pix, emb, (gsize) fr * T * Dv);
    g_assert_true (ib_cl_queue_finish (q, &error));
  }

  /* sequence j: instruction j / F, frame j % F */
  for (j = 0; j < n; j++) {
    seqs[j] = (IbQFormerSeq){ instr[j / F], n_instr[j / F], emb, (j % F) * T,
      soft_many, j * Q };
    ib_qformer_set_instruction (qf, q, qs, seqs[j].ids, seqs[j].n_ids);
    ib_qformer_forward (qf, q, qs, emb, (j % F) * T, NULL, soft_alone, j * Q);
    g_assert_true (ib_cl_queue_finish (q, &error));
  }
  for (j = 0; j < n; j += k, passes++) {
    k = ib_qformer_many_fit (qm, &seqs[j], n - j);
    g_assert_cmpint (k, >=, 1);
    ib_qformer_forward_many (qf, q, qm, &seqs[j], k);
    g_assert_true (ib_cl_queue_finish (q, &error));
  }
  g_assert_no_error (error);
  g_test_message ("%s: %d sequences in %d passes", c->name, n, passes);
  g_assert_cmpint (passes, ==, (n + MAX_SEQS - 1) / MAX_SEQS);

  a = download (q, soft_alone, 0, (gsize) n * Q * TH);
  b = download (q, soft_many, 0, (gsize) n * Q * TH);
  for (j = 0; j < n; j++)
    g_assert_cmpmem (b + (gsize) j * Q * TH, (gsize) Q * TH * 4,
        a + (gsize) j * Q * TH, (gsize) Q * TH * 4);

  g_free (a);
  g_free (b);
  ib_cl_buffer_free (pix);
  ib_cl_buffer_free (emb);
  ib_cl_buffer_free (soft_alone);
  ib_cl_buffer_free (soft_many);
  ib_qformer_many_free (qm);
  ib_qformer_scratch_free (qs);
  ib_vit_scratch_free (vs);
  ib_cl_arena_free (arena);
  ib_cl_queue_free (q);
  ib_qformer_free (qf);
  ib_vit_free (vit);
  g_free (qids);
  g_free (pixels);
  fixture_close (&f);
}

#define N_SEQ 3
#define N_DEC 5
#define MAX_BEAMS 3

/* Three sequences (1, 3 and 2 beams, encoder inputs of different lengths)
 * joining at steps 0, 1 and 2 (so each step's rows are at different
 * decoder positions), decoded up to N_DEC - 1 steps each, with a beam
 * reorder, each step once alone per sequence and once batched: the logits
 * bit for bit equal. */
static void
test_t5_decode_many (gconstpointer data)
{
  const Case *c = data;
  static const int beams[N_SEQ] = { 1, 3, 2 };
  const IbModelConfig *cfg;
  Fixture f;
  GError *error = NULL;
  IbT5 *t5;
  IbClQueue *q;
  IbClArena *arena;
  IbT5State *alone[N_SEQ], *batched[N_SEQ], *rows;
  IbT5Seq seqs[N_SEQ];
  gint32 *ids, tokens[N_SEQ][MAX_BEAMS];
  int n_ids, n_enc[N_SEQ], V, s, b, p, step, row, total = 0;
  gsize need = 0, bytes = 0;

  if (!fixture_open (&f, c))
    return;
  cfg = ib_checkpoint_get_config (f.ckpt);
  t5 = ib_t5_new (&f.loader, &cfg->text, &error);
  g_assert_no_error (error);
  V = ib_t5_get_vocab (t5);
  ids = ref_ids (&f, "input_ids", &n_ids);
  g_assert_cmpint (n_ids, >, 4);
  for (s = 0; s < N_SEQ; s++) {
    n_enc[s] = n_ids - 2 * s;
    total += beams[s];
  }
  g_assert_true (ib_t5_product_scratch (t5, f.dev, n_ids, N_DEC, MAX_BEAMS,
      &need, &error));
  g_assert_true (ib_t5_rows_scratch (t5, f.dev, total, MAX_BEAMS, n_ids, N_DEC,
      &need, &error));
  q = ib_cl_queue_new (f.dev, &error);
  g_assert_no_error (error);
  g_assert_true (ib_cl_queue_reserve_scratch (q, need, &error));
  bytes =
      2 * N_SEQ * ib_t5_state_footprint (t5, f.dev, n_ids, N_DEC, MAX_BEAMS) +
      ib_t5_rows_footprint (t5, f.dev, total);
  arena = ib_cl_arena_new (f.dev, bytes, &error);
  g_assert_no_error (error);
  rows = ib_t5_rows_new (t5, arena, total, &error);
  g_assert_no_error (error);
  for (s = 0; s < N_SEQ; s++) {
    IbT5State **st[2] = { &alone[s], &batched[s] };
    for (b = 0; b < 2; b++) {
      *st[b] = ib_t5_state_new (t5, arena, n_ids, N_DEC, MAX_BEAMS, &error);
      g_assert_no_error (error);
      ib_t5_embed (t5, q, *st[b], ids, n_enc[s], 0);
      ib_t5_encode (t5, q, *st[b], n_enc[s]);
    }
  }
  g_assert_true (ib_cl_queue_finish (q, &error));

  for (step = 0; step < N_DEC - 1 + N_SEQ - 1; step++) {
    float *want[N_SEQ], *got;
    int n = 0;
    /* sequence s decodes position step - s, from step s to N_DEC - 2 */
    for (s = 0; s < N_SEQ; s++) {
      p = step - s;
      if (p < 0 || p >= N_DEC - 1)
        continue;
      for (b = 0; b < beams[s]; b++)
        tokens[s][b] = (s * 7 + b * 3 + p * 5 + 1) % V;
      if (p == 2 && beams[s] > 1) {
        /* beam search swapping beams: every beam takes over beam 1's */
        int src[MAX_BEAMS] = { 1, 1, 1 };
        ib_t5_reorder (t5, q, alone[s], src, beams[s], p);
        ib_t5_reorder (t5, q, batched[s], src, beams[s], p);
      }
      ib_t5_decode (t5, q, alone[s], tokens[s], beams[s], p);
      want[n] =
          download (q, ib_t5_state_logits (alone[s]), 0, (gsize) beams[s] * V);
      seqs[n++] = (IbT5Seq){ batched[s], tokens[s], beams[s], p };
    }
    ib_t5_decode_many (t5, q, rows, seqs, n);
    got = download (q, ib_t5_state_logits (rows), 0, (gsize) total * V);
    for (s = 0, row = 0; s < n; row += seqs[s].n_beams, s++) {
      g_assert_cmpmem (got + (gsize) row * V, (gsize) seqs[s].n_beams * V * 4,
          want[s], (gsize) seqs[s].n_beams * V * 4);
      g_free (want[s]);
    }
    g_free (got);
  }

  for (s = 0; s < N_SEQ; s++) {
    ib_t5_state_free (alone[s]);
    ib_t5_state_free (batched[s]);
  }
  ib_t5_state_free (rows);
  ib_cl_arena_free (arena);
  ib_cl_queue_free (q);
  ib_t5_free (t5);
  g_free (ids);
  fixture_close (&f);
}

#define N_PROMPT 5
#define L_SEQ 10 /* more than IB_ATT_MAX_SEQS: two attention launches */
#define L_JOIN(s) ((s) / 4)

/* The LLaMA decoder's batched step: L_SEQ sequences (1 to 3 beams, prompts
 * of N_PROMPT + 2·s tokens: rows at different positions) joining four at a
 * time at steps 0, 1 and 2 (all of them in step 2), decoded N_DEC - 1
 * steps each, with a beam reorder, each step once alone per sequence
 * (ib_llama_decode) and once batched: the logits bit for bit equal. */
static void
test_llama_decode_many (gconstpointer data)
{
  const Case *c = data;
  static const int beams[L_SEQ] = { 1, 3, 2, 1, 1, 2, 1, 3, 1, 2 };
  const int n_ctx = N_PROMPT + 2 * (L_SEQ - 1) + N_DEC;
  const IbModelConfig *cfg;
  Fixture f;
  GError *error = NULL;
  IbLlama *llm;
  IbClQueue *q;
  IbClArena *arena;
  IbLlamaState *alone[L_SEQ], *batched[L_SEQ], *rows;
  IbLlamaSeq seqs[L_SEQ];
  gint32 prompt[N_PROMPT + 2 * L_SEQ], tokens[L_SEQ][MAX_BEAMS];
  int n_prompt[L_SEQ], V, s, b, i, p, step, row, total = 0;
  gsize need = 0, bytes;

  if (!fixture_open (&f, c))
    return;
  cfg = ib_checkpoint_get_config (f.ckpt);
  llm = ib_llama_new (&f.loader, &cfg->text, &error);
  g_assert_no_error (error);
  V = ib_llama_get_vocab (llm);
  for (i = 0; i < (int) G_N_ELEMENTS (prompt); i++)
    prompt[i] = (i * 11 + 3) % V;
  for (s = 0; s < L_SEQ; s++) {
    n_prompt[s] = N_PROMPT + 2 * s;
    total += beams[s];
  }
  g_assert_true (
      ib_llama_product_scratch (llm, f.dev, n_ctx, MAX_BEAMS, &need, &error));
  g_assert_true (
      ib_llama_rows_scratch (llm, f.dev, total, n_ctx, 0, &need, &error));
  q = ib_cl_queue_new (f.dev, &error);
  g_assert_no_error (error);
  g_assert_true (ib_cl_queue_reserve_scratch (q, need, &error));
  bytes = 2 * L_SEQ * ib_llama_state_footprint (llm, f.dev, n_ctx, MAX_BEAMS) +
      ib_llama_rows_footprint (llm, f.dev, total, total);
  arena = ib_cl_arena_new (f.dev, bytes, &error);
  g_assert_no_error (error);
  rows = ib_llama_rows_new (llm, arena, total, total, &error);
  g_assert_no_error (error);
  for (s = 0; s < L_SEQ; s++) {
    IbLlamaState **st[2] = { &alone[s], &batched[s] };
    /* every beam starts from the prompt's cache (beam search's start) */
    int src[MAX_BEAMS] = { 0, 0, 0 };
    for (b = 0; b < 2; b++) {
      *st[b] = ib_llama_state_new (llm, arena, n_ctx, MAX_BEAMS, &error);
      g_assert_no_error (error);
      ib_llama_embed (llm, q, *st[b], prompt, n_prompt[s], 0);
      ib_llama_prefill (llm, q, *st[b], n_prompt[s]);
      ib_llama_reorder (llm, q, *st[b], src, beams[s], n_prompt[s]);
    }
  }
  g_assert_true (ib_cl_queue_finish (q, &error));

  for (step = 0; step < N_DEC - 1 + L_JOIN (L_SEQ - 1); step++) {
    float *want[L_SEQ], *got;
    int n = 0;
    /* sequence s decodes its token t = step - L_JOIN (s), from its join */
    for (s = 0; s < L_SEQ; s++) {
      const int t = step - L_JOIN (s);
      if (t < 0 || t >= N_DEC - 1)
        continue;
      p = n_prompt[s] + t;
      for (b = 0; b < beams[s]; b++)
        tokens[s][b] = (s * 7 + b * 3 + p * 5 + 1) % V;
      if (t == 2 && beams[s] > 1) {
        /* beam search swapping beams: every beam takes over beam 1's */
        int src[MAX_BEAMS] = { 1, 1, 1 };
        ib_llama_reorder (llm, q, alone[s], src, beams[s], p);
        ib_llama_reorder (llm, q, batched[s], src, beams[s], p);
      }
      ib_llama_decode (llm, q, alone[s], tokens[s], beams[s], p);
      want[n] = download (q, ib_llama_state_logits (alone[s]), 0,
          (gsize) beams[s] * V);
      seqs[n++] = (IbLlamaSeq){ batched[s], tokens[s], beams[s], p };
    }
    ib_llama_decode_many (llm, q, rows, seqs, n);
    got = download (q, ib_llama_state_logits (rows), 0, (gsize) total * V);
    for (s = 0, row = 0; s < n; row += seqs[s].n_beams, s++) {
      g_assert_cmpmem (got + (gsize) row * V, (gsize) seqs[s].n_beams * V * 4,
          want[s], (gsize) seqs[s].n_beams * V * 4);
      g_free (want[s]);
    }
    g_free (got);
  }

  for (s = 0; s < L_SEQ; s++) {
    ib_llama_state_free (alone[s]);
    ib_llama_state_free (batched[s]);
  }
  ib_llama_state_free (rows);
  ib_cl_arena_free (arena);
  ib_cl_queue_free (q);
  ib_llama_free (llm);
  fixture_close (&f);
}

int
main (int argc, char **argv)
{
  static const Case cases[] = {
    { "t5-tiny", IB_CL_DTYPE_F32, IB_CL_GEMM_AUTO, PATH_DEVICE },
    { "vicuna-tiny-video", IB_CL_DTYPE_F32, IB_CL_GEMM_AUTO, PATH_DEVICE },
    { "t5-tiny", IB_CL_DTYPE_F16, IB_CL_GEMM_AUTO, PATH_DEVICE },
    { "t5-tiny", IB_CL_DTYPE_F32, IB_CL_GEMM_CLBLAST, PATH_DEVICE },
    { "vicuna-tiny-video", IB_CL_DTYPE_F32, IB_CL_GEMM_CLBLAST, PATH_DEVICE },
    { "t5-tiny", IB_CL_DTYPE_F16, IB_CL_GEMM_AUTO, PATH_GPU },
    { "t5-tiny", IB_CL_DTYPE_BF16, IB_CL_GEMM_AUTO, PATH_GPU },
  };
  guint i;

  g_test_init (&argc, &argv, NULL);
  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    const Case *c = &cases[i];
    char *tail =
        g_strdup_printf ("%s/%s%s%s", c->name, ib_cl_dtype_name (c->storage),
            c->gemm == IB_CL_GEMM_CLBLAST ? "/clblast" : "",
            c->path == PATH_GPU ? "/gpu-path" : "");
    char *path = g_strconcat ("/batched/qformer-many/", tail, NULL);
    g_test_add_data_func (path, c, test_qformer_many);
    g_free (path);
    if (g_str_has_prefix (c->name, "t5")) {
      path = g_strconcat ("/batched/t5-decode-many/", tail, NULL);
      g_test_add_data_func (path, c, test_t5_decode_many);
      g_free (path);
    } else {
      path = g_strconcat ("/batched/llama-decode-many/", tail, NULL);
      g_test_add_data_func (path, c, test_llama_decode_many);
      g_free (path);
    }
    g_free (tail);
  }
  return g_test_run ();
}
