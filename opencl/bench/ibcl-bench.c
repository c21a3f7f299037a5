/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GEMM and GEMV throughput of the device layer, side by side with OpenBLAS
 * on the same machine in one run.
 *
 *   ibcl-bench [--device SPEC] [--backend own|clblast] [--shapes MxNxK,...]
 *              [--gemv NxK,...] [--attention HxLxD,...] [--cpu-time]
 *              [--samples N]
 *
 * GEMM: C[M,N] = A[M,K] · W[N,K]ᵀ as a linear layer, GFLOP/s (2·M·N·K per
 * product), fp32 and fp16 weights, and bf16 and q8 weights through oneDNN
 * (CPU devices, builds with it; their figures include the one clFinish
 * and the activation conversion of each product), against cblas_sgemm
 * (row-major, W transposed: the linear-layer layout). GEMV: single-token
 * decode y = W x over enough weight copies that nothing stays in cache, GB/s
 * of the weights' bytes (and their time), against cblas_sgemv and the
 * machine's read bandwidth (a vectorised sum over 1 GiB). Attention: QK^T and
 * PV per head, fp32 OpenCL against oneDNN bf16. Sync: what the
 * clFinish before each oneDNN product costs, a small kernel then a finish
 * against the same kernels enqueued back to back. Each figure is the median
 * of several samples of at least 50 ms. Timings vary on shared machines:
 * compare columns of one run, not runs. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gemm-priv.h"
#include "ops.h"

#define MIN_SAMPLE_S 0.05

static int n_samples = 5;
/* --cpu-time: the process's CPU seconds (all its threads) instead of wall
 * seconds. On a machine shared with other work, wall time measures the
 * share of the cores the process got; CPU time per byte still compares
 * kernels with each other and with the read loop (stalls on memory count
 * as CPU time; everything runs on the same number of threads). */
static gboolean cpu_time;

static double
now_s (void)
{
  struct timespec ts;

  if (!cpu_time)
    return g_get_monotonic_time () / 1e6;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* Seconds per call: median over samples, each repeating @fn until it took at
 * least MIN_SAMPLE_S. */
static double
time_median (void (*fn) (void *), void *data)
{
  double t[32];
  int s, reps = 1;

  fn (data); /* warm-up: JIT, page faults, caches */
  for (s = 0; s < n_samples; s++) {
    double t0, dt;
    int r;
    for (;;) {
      t0 = now_s ();
      for (r = 0; r < reps; r++)
        fn (data);
      dt = now_s () - t0;
      if (dt >= MIN_SAMPLE_S)
        break;
      reps *= 2;
    }
    t[s] = dt / reps;
  }
  qsort (t, n_samples, sizeof (double), cmp_double);
  return t[n_samples / 2];
}

typedef struct
{
  IbClQueue *q;
  IbClWeight **w; /* n_copies weights (GEMV: cold rotation) */
  int n_copies, next;
  IbClBuffer *a, *c;
  int m;
} ClRun;

static void
cl_run (void *data)
{
  ClRun *r = data;

  ib_cl_linear (r->q, r->a, r->w[r->next], NULL, r->c, r->m);
  r->next = (r->next + 1) % r->n_copies;
  ib_cl_queue_finish (r->q, NULL);
}

typedef struct
{
  const float **w;
  int n_copies, next;
  const float *a;
  float *c;
  int m, n, k;
} BlasRun;

static void
blas_gemm_run (void *data)
{
  BlasRun *r = data;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, r->m, r->n, r->k, 1.0f,
      r->a, r->k, r->w[0], r->k, 0.0f, r->c, r->n);
}

static void
blas_gemv_run (void *data)
{
  BlasRun *r = data;
  cblas_sgemv (CblasRowMajor, CblasNoTrans, r->n, r->k, 1.0f, r->w[r->next],
      r->k, r->a, 1, 0.0f, r->c, 1);
  r->next = (r->next + 1) % r->n_copies;
}

typedef struct
{
  const float *p;
  gsize n;
  volatile float sink;
} ReadRun;

static void
read_run (void *data)
{
  ReadRun *r = data;

#pragma omp parallel
  {
    float acc[16] = { 0 };
    gssize i;
    int j;

#pragma omp for
    for (i = 0; i < (gssize) r->n; i += 16)
      for (j = 0; j < 16; j++)
        acc[j] += r->p[i + j];
    r->sink = acc[0] + acc[15];
  }
}

static float *
random_floats (gsize n, guint32 seed)
{
  float *p = ib_cl_host_alloc (n * 4);
  gsize i;

  for (i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    p[i] = ((seed >> 8) / 16777216.0f) - 0.5f;
  }
  return p;
}

/* A weight of @storage, or NULL (and a note once) where the device or the
 * build cannot store it. */
static IbClWeight *
weight_or_null (IbClDevice *dev, const float *w, int n, int k,
    IbClDtype storage, GError **error)
{
  static gboolean noted[8];
  GError *e = NULL;

  if (!ib_cl_gemm_supports (dev, storage, NULL, &e)) {
    if (!noted[storage])
      g_print ("(%s: %s)\n", ib_cl_dtype_name (storage), e->message);
    noted[storage] = TRUE;
    g_error_free (e);
    return NULL;
  }
  return ib_cl_weight_new (dev, w, IB_CL_DTYPE_F32, n, k, NULL, storage, error);
}

/* A queue whose scratch holds what the @n weights @w (NULL skipped) need
 * for up to @m rows. */
static IbClQueue *
sized_queue (IbClDevice *dev, IbClWeight **w, int n, int m, GError **error)
{
  IbClQueue *q;
  gsize need = 0;
  int i;

  for (i = 0; i < n; i++)
    if (w[i] && !ib_cl_linear_scratch (w[i], m, &need, error))
      return NULL;
  q = ib_cl_queue_new (dev, error);
  if (q && !ib_cl_queue_reserve_scratch (q, need, error))
    g_clear_pointer (&q, ib_cl_queue_free);
  return q;
}

static double
time_weight (ClRun *run, IbClWeight **w, int n_copies)
{
  if (w[0] == NULL)
    return 0.0;
  run->w = w;
  run->n_copies = n_copies;
  run->next = 0;
  return time_median (cl_run, run);
}

static void
print_rate (double work, double t)
{
  if (t > 0)
    g_print ("  %8.1f", work / t / 1e9);
  else
    g_print ("         -");
}

static gboolean
bench_gemm (IbClDevice *dev, int m, int n, int k, GError **error)
{
  static const IbClDtype storages[4] = { IB_CL_DTYPE_F32, IB_CL_DTYPE_F16,
    IB_CL_DTYPE_BF16, IB_CL_DTYPE_Q8 };
  float *a = random_floats ((gsize) m * k, 1),
        *w = random_floats ((gsize) n * k, 2),
        *c = ib_cl_host_alloc ((gsize) m * n * 4);
  const float *wl[1] = { w };
  double flop = 2.0 * m * n * k, t_blas, t[4];
  IbClWeight *wt[4] = { NULL };
  IbClQueue *q = NULL;
  ClRun run = { NULL, NULL, 1, 0, NULL, NULL, m };
  BlasRun br = { wl, 1, 0, a, c, m, n, k };
  gboolean ok = FALSE;
  int i;

  for (i = 0; i < 4; i++) {
    wt[i] = weight_or_null (dev, w, n, k, storages[i], error);
    if (wt[i] == NULL && error && *error)
      goto out;
  }
  if (!(run.q = q = sized_queue (dev, wt, 4, m, error)))
    goto out;
  run.a = ib_cl_buffer_new (dev, (gsize) m * k * 4, error);
  run.c = run.a ? ib_cl_buffer_new (dev, (gsize) m * n * 4, error) : NULL;
  if (run.c == NULL)
    goto out;
  ib_cl_queue_upload (q, run.a, 0, a, (gsize) m * k * 4);
  if (!ib_cl_queue_finish (q, error))
    goto out;

  t_blas = time_median (blas_gemm_run, &br);
  for (i = 0; i < 4; i++)
    t[i] = time_weight (&run, &wt[i], 1);
  if (!ib_cl_queue_finish (q, error))
    goto out;
  g_print ("%5dx%5dx%5d", m, n, k);
  print_rate (flop, t_blas);
  for (i = 0; i < 4; i++)
    print_rate (flop, t[i]);
  for (i = 1; i < 4; i++)
    if (t[i] > 0)
      g_print ("  %5.2f", t[0] / t[i]);
    else
      g_print ("      -");
  g_print ("\n");
  ok = TRUE;
out:
  for (i = 0; i < 4; i++)
    ib_cl_weight_free (wt[i]);
  ib_cl_buffer_free (run.a);
  ib_cl_buffer_free (run.c);
  ib_cl_queue_free (q);
  ib_cl_host_free (a);
  ib_cl_host_free (w);
  ib_cl_host_free (c);
  return ok;
}

typedef struct
{
  IbClQueue *q;
  IbClBuffer *x, *y;
  int per_finish;
} SyncRun;

static void
sync_run (void *data)
{
  SyncRun *r = data;
  int i;

  for (i = 0; i < r->per_finish; i++)
    ib_cl_add (r->q, r->x, r->x, r->y, 256);
  ib_cl_queue_finish (r->q, NULL);
}

/* What one clFinish per product costs: a small kernel followed by a
 * finish, against the same kernel enqueued back to back. */
static gboolean
bench_sync (IbClDevice *dev, IbClQueue *q, GError **error)
{
  SyncRun r = { q, NULL, NULL, 1 };
  double t_each, t_batched;
  gboolean ok = FALSE;

  r.x = ib_cl_buffer_new (dev, 256 * 4, error);
  r.y = r.x ? ib_cl_buffer_new (dev, 256 * 4, error) : NULL;
  if (r.y == NULL)
    goto out;
  t_each = time_median (sync_run, &r);
  r.per_finish = 64;
  t_batched = time_median (sync_run, &r) / 64;
  g_print ("\nsync: a small kernel then clFinish %.1f us, enqueued back to "
           "back %.1f us: %.1f us per oneDNN product\n",
      t_each * 1e6, t_batched * 1e6, (t_each - t_batched) * 1e6);
  ok = ib_cl_queue_finish (q, error);
out:
  ib_cl_buffer_free (r.x);
  ib_cl_buffer_free (r.y);
  return ok;
}

typedef struct
{
  IbClQueue *q;
  IbClDtype precision;
  IbClBuffer *qkv, *scores, *ctx;
  int heads, L, d;
} AttnRun;

/* scores = Q K^T / sqrt(d), ctx = scores V, per head, on a fused qkv
 * buffer as the models run them (no softmax: the products only) */
static void
attn_run (void *data)
{
  AttnRun *r = data;
  const int H = r->heads * r->d, L = r->L, d = r->d;
  IbClMatrix sm = { r->scores, 0, L, (gsize) L * L };

  ib_cl_gemm_batched (r->q, r->precision, TRUE, L, L, d, 0.1f,
      (IbClMatrix){ r->qkv, 0, 3 * H, d }, (IbClMatrix){ r->qkv, H, 3 * H, d },
      sm, r->heads);
  ib_cl_gemm_batched (r->q, r->precision, FALSE, L, d, L, 1.0f, sm,
      (IbClMatrix){ r->qkv, 2 * H, 3 * H, d }, (IbClMatrix){ r->ctx, 0, H, d },
      r->heads);
  ib_cl_queue_finish (r->q, NULL);
}

/* Attention's two batched products, fp32 (OpenCL) against bf16
 * (oneDNN, one clFinish and the bf16 gathering per product included). */
static gboolean
bench_attention (IbClDevice *dev, int heads, int L, int d, GError **error)
{
  static const IbClDtype precisions[2] = { IB_CL_DTYPE_F32, IB_CL_DTYPE_BF16 };
  const int H = heads * d;
  float *qkv = random_floats ((gsize) L * 3 * H, 4);
  AttnRun r = { NULL, 0, NULL, NULL, NULL, heads, L, d };
  double flop = 4.0 * heads * L * L * d, t[2] = { 0, 0 };
  gboolean ok = FALSE;
  int p;

  r.qkv = ib_cl_buffer_new (dev, (gsize) L * 3 * H * 4, error);
  r.scores =
      r.qkv ? ib_cl_buffer_new (dev, (gsize) heads * L * L * 4, error) : NULL;
  r.ctx = r.scores ? ib_cl_buffer_new (dev, (gsize) L * H * 4, error) : NULL;
  if (r.ctx == NULL)
    goto out;
  for (p = 0; p < 2; p++) {
    gsize need = 0;
    if (p > 0 && !ib_cl_gemm_supports (dev, IB_CL_DTYPE_BF16, NULL, NULL))
      break;
    if (!ib_cl_gemm_batched_scratch (dev, precisions[p], TRUE, L, L, d, 0.1f,
            heads, TRUE, &need, error) ||
        !ib_cl_gemm_batched_scratch (dev, precisions[p], FALSE, L, d, L, 1.0f,
            heads, FALSE, &need, error) ||
        !(r.q = ib_cl_queue_new (dev, error)) ||
        !ib_cl_queue_reserve_scratch (r.q, need, error))
      goto out;
    r.precision = precisions[p];
    ib_cl_queue_upload (r.q, r.qkv, 0, qkv, (gsize) L * 3 * H * 4);
    t[p] = time_median (attn_run, &r);
    if (!ib_cl_queue_finish (r.q, error))
      goto out;
    g_clear_pointer (&r.q, ib_cl_queue_free);
  }
  g_print ("%4dx%4dx%4d", heads, L, d);
  print_rate (flop, t[0]);
  print_rate (flop, t[1]);
  g_print ("   (ms: %.3f %.3f; bf16 %.2fx)\n", t[0] * 1e3, t[1] * 1e3,
      t[1] > 0 ? t[0] / t[1] : 0.0);
  ok = TRUE;
out:
  ib_cl_queue_free (r.q);
  ib_cl_buffer_free (r.qkv);
  ib_cl_buffer_free (r.scores);
  ib_cl_buffer_free (r.ctx);
  ib_cl_host_free (qkv);
  return ok;
}

/* GEMV over enough weight copies (>= 512 MiB of each storage) that each
 * call reads DRAM. */
static gboolean
bench_gemv (IbClDevice *dev, int n, int k, double read_gbs, GError **error)
{
  /* bf16 and q8 twice: the OpenCL GEMV on oneDNN's packed layout, then
   * oneDNN's own product at M = 1 */
  static const IbClDtype storages[6] = { IB_CL_DTYPE_F32, IB_CL_DTYPE_F16,
    IB_CL_DTYPE_BF16, IB_CL_DTYPE_Q8, IB_CL_DTYPE_BF16, IB_CL_DTYPE_Q8 };
  gsize elems = (gsize) n * k;
  int copies = (int) MAX (2, (512u << 20) / (elems * 4) + 1), i, s;
  float *x = random_floats (k, 3), *y = ib_cl_host_alloc ((gsize) n * 4);
  const float **wb = g_new0 (const float *, copies);
  IbClWeight **wt[6];
  int n_copies[6];
  IbClWeight *first[6];
  IbClQueue *q = NULL;
  ClRun run = { NULL, NULL, copies, 0, NULL, NULL, 1 };
  BlasRun br = { wb, copies, 0, x, y, 1, n, k };
  double t_blas, t[6];
  gboolean ok = FALSE;

  for (s = 0; s < 6; s++) {
    /* the same bytes in flight: 4/size times the fp32 copies */
    n_copies[s] = copies * (int) (4 / ib_cl_dtype_size (storages[s]));
    wt[s] = g_new0 (IbClWeight *, n_copies[s]);
  }
  for (i = 0; i < copies; i++)
    wb[i] = random_floats (elems, 10 + i);
  for (s = 0; s < 6; s++)
    for (i = 0; i < n_copies[s]; i++) {
      wt[s][i] = weight_or_null (dev, wb[i % copies], n, k, storages[s], error);
      if (wt[s][i] == NULL) {
        if (error && *error)
          goto out;
        break;
      }
      if (s >= 4)
        ib_cl_weight_disable_blocked_gemv (wt[s][i]);
    }
  for (s = 0; s < 6; s++)
    first[s] = wt[s][0];
  if (!(run.q = q = sized_queue (dev, first, 6, 1, error)))
    goto out;
  run.a = ib_cl_buffer_new (dev, (gsize) k * 4, error);
  run.c = run.a ? ib_cl_buffer_new (dev, (gsize) n * 4, error) : NULL;
  if (run.c == NULL)
    goto out;
  ib_cl_queue_upload (q, run.a, 0, x, (gsize) k * 4);

  t_blas = time_median (blas_gemv_run, &br);
  for (s = 0; s < 6; s++)
    t[s] = time_weight (&run, wt[s], n_copies[s]);
  if (!ib_cl_queue_finish (q, error))
    goto out;
  g_print ("%5dx%5d", n, k);
  print_rate (elems * 4.0, t_blas);
  for (s = 0; s < 6; s++)
    print_rate (elems * (double) ib_cl_dtype_size (storages[s]), t[s]);
  g_print ("   (ms:");
  for (s = 0; s < 6; s++)
    g_print (" %.3f", t[s] * 1e3);
  g_print (")\n      %% of read bandwidth:");
  for (s = 0; s < 4; s++)
    g_print (" %s %.0f%%",
        s < 2      ? ib_cl_dtype_name (storages[s]) :
            s == 2 ? "gemv bf16" :
                     "gemv q8",
        t[s] > 0 ? 100 * elems * (double) ib_cl_dtype_size (storages[s]) /
                t[s] / 1e9 / read_gbs :
                   0.0);
  g_print ("; q8/f16 time %.2f\n", t[1] > 0 ? t[3] / t[1] : 0.0);
  ok = TRUE;
out:
  for (i = 0; i < copies; i++)
    ib_cl_host_free ((gpointer) wb[i]);
  for (s = 0; s < 6; s++) {
    for (i = 0; i < n_copies[s]; i++)
      ib_cl_weight_free (wt[s][i]);
    g_free (wt[s]);
  }
  g_free (wb);
  ib_cl_buffer_free (run.a);
  ib_cl_buffer_free (run.c);
  ib_cl_queue_free (q);
  ib_cl_host_free (x);
  ib_cl_host_free (y);
  return ok;
}

static gboolean
parse_dims (const char *s, int want, int *out)
{
  char **p = g_strsplit (s, "x", -1);
  gboolean ok = g_strv_length (p) == (guint) want;
  int i;

  for (i = 0; ok && i < want; i++) {
    guint64 v;
    ok = g_ascii_string_to_unsigned (p[i], 10, 1, 1 << 20, &v, NULL);
    out[i] = (int) v;
  }
  g_strfreev (p);
  return ok;
}

int
main (int argc, char **argv)
{
  char *device = NULL, *backend = NULL;
  char *shapes = g_strdup ("257x6144x1408,257x1408x6144,153x4096x4096,"
                           "64x11008x4096");
  char *gemvs = g_strdup ("4096x4096,11008x4096");
  char *attns = g_strdup ("16x257x88,12x544x64,32x153x128");
  GOptionEntry entries[] = {
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device,
        "OpenCL device: auto, gpu, cpu, P:D or part of a name", "SPEC" },
    { "backend", 'b', 0, G_OPTION_ARG_STRING, &backend,
        "GEMM backend: own or clblast (default: by device type)", "NAME" },
    { "shapes", 's', 0, G_OPTION_ARG_STRING, &shapes,
        "GEMM shapes, comma-separated MxNxK", "LIST" },
    { "gemv", 'g', 0, G_OPTION_ARG_STRING, &gemvs,
        "GEMV shapes, comma-separated NxK (empty: none)", "LIST" },
    { "attention", 'a', 0, G_OPTION_ARG_STRING, &attns,
        "attention products, comma-separated HEADSxLENxHEAD_DIM (empty: none)",
        "LIST" },
    { "cpu-time", 'c', 0, G_OPTION_ARG_NONE, &cpu_time,
        "time in CPU seconds of the process (shared machines), not wall "
        "seconds",
        NULL },
    { "samples", 'n', 0, G_OPTION_ARG_INT, &n_samples,
        "timed samples per figure (median)", "N" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- GEMM/GEMV benchmark");
  GError *error = NULL;
  IbClDeviceParams params;
  IbClDevice *dev = NULL;
  IbClQueue *q = NULL;
  char **list;
  int ret = 1, i;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    goto out;
  n_samples = CLAMP (n_samples, 1, 32);
  ib_cl_device_params_init (&params);
  if (!ib_cl_device_params_parse (&params, device, &error))
    goto out;
  if (backend && g_str_equal (backend, "own"))
    params.gemm = IB_CL_GEMM_OWN;
  else if (backend && g_str_equal (backend, "clblast"))
    params.gemm = IB_CL_GEMM_CLBLAST;
  dev = ib_cl_device_new (&params, &error);
  if (dev == NULL)
    goto out;
  q = ib_cl_queue_new (dev, &error);
  if (q == NULL)
    goto out;
  g_print ("device: %s (%s), GEMM backend %s; OpenBLAS %s, %d threads\n",
      ib_cl_device_get_info (dev)->name, ib_cl_device_get_info (dev)->platform,
      ib_cl_device_get_gemm (dev) == IB_CL_GEMM_OWN ? "own" : "CLBlast",
      openblas_get_corename (), openblas_get_num_threads ());

  g_print ("\nGEMM GFLOP/s (C = A*W^T); ratios: time of ours f32 / time\n"
           "      MxNxK        OpenBLAS  ours f32  ours f16  dnnl bf16   "
           "dnnl q8   f16   bf16     q8\n");
  list = g_strsplit (shapes, ",", -1);
  for (i = 0; list[i] && *list[i]; i++) {
    int d[3];
    if (!parse_dims (list[i], 3, d)) {
      g_printerr ("bad shape '%s' (want MxNxK)\n", list[i]);
      g_strfreev (list);
      goto out;
    }
    if (!bench_gemm (dev, d[0], d[1], d[2], &error)) {
      g_strfreev (list);
      goto out;
    }
  }
  g_strfreev (list);
  if (!bench_sync (dev, q, &error))
    goto out;

  if (*attns)
    g_print ("\nattention products (Q K^T and P V, no softmax) GFLOP/s: "
             "fp32 OpenCL, bf16 oneDNN\n"
             "HEADSxLENxDIM   fp32      bf16\n");
  list = g_strsplit (attns, ",", -1);
  for (i = 0; list[i] && *list[i]; i++) {
    int d[3];
    if (!parse_dims (list[i], 3, d)) {
      g_printerr ("bad attention shape '%s' (want HxLxD)\n", list[i]);
      g_strfreev (list);
      goto out;
    }
    if (!bench_attention (dev, d[0], d[1], d[2], &error)) {
      g_strfreev (list);
      goto out;
    }
  }
  g_strfreev (list);

  if (*gemvs) {
    ReadRun rr;
    double t_read, read_gbs;

    rr.n = (gsize) 1 << 28; /* 1 GiB of floats */
    rr.p = random_floats (rr.n, 5);
    t_read = time_median (read_run, &rr);
    read_gbs = rr.n * 4.0 / t_read / 1e9;
    ib_cl_host_free ((gpointer) rr.p);
    g_print ("\nGEMV GB/s of the weights' bytes (single-token decode, cold "
             "caches); memory read bandwidth %.1f GB/s\n"
             "(bf16, q8: OpenCL GEMV on oneDNN's packed layout, then oneDNN's "
             "own M = 1 product)\n"
             "      NxK     OpenBLAS  ours f32  ours f16 gemv bf16   gemv q8 "
             " dnnl bf16   dnnl q8\n",
        read_gbs);
    list = g_strsplit (gemvs, ",", -1);
    for (i = 0; list[i] && *list[i]; i++) {
      int d[2];
      if (!parse_dims (list[i], 2, d)) {
        g_printerr ("bad shape '%s' (want NxK)\n", list[i]);
        g_strfreev (list);
        goto out;
      }
      if (!bench_gemv (dev, d[0], d[1], read_gbs, &error)) {
        g_strfreev (list);
        goto out;
      }
    }
    g_strfreev (list);
  }
  ret = 0;
out:
  if (error) {
    g_printerr ("ibcl-bench: %s\n", error->message);
    g_error_free (error);
  }
  ib_cl_queue_free (q);
  if (dev)
    ib_cl_device_unref (dev);
  g_option_context_free (ctx);
  g_free (device);
  g_free (backend);
  g_free (shapes);
  g_free (gemvs);
  g_free (attns);
  return ret;
}
