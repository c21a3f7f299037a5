/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GEMM and GEMV throughput of the device layer, side by side with OpenBLAS
 * on the same machine in one run.
 *
 *   ibcl-bench [--device SPEC] [--backend own|clblast] [--shapes MxNxK,...]
 *              [--gemv NxK,...] [--samples N]
 *
 * GEMM: C[M,N] = A[M,K] · W[N,K]ᵀ as a linear layer, GFLOP/s (2·M·N·K per
 * product), fp32 and fp16 weights, against cblas_sgemm (row-major, W
 * transposed: the linear-layer layout). GEMV: single-token decode
 * y = W x over enough weight copies that nothing stays in cache, GB/s of
 * weight bytes, against cblas_sgemv and the machine's read bandwidth (a
 * vectorised sum over 1 GiB). Each figure is the median of several samples
 * of at least 50 ms. Timings vary on shared machines: compare columns of one
 * run, not runs. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"

#define MIN_SAMPLE_S 0.05

static int n_samples = 5;

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
    gint64 t0;
    double dt;
    int r;
    for (;;) {
      t0 = g_get_monotonic_time ();
      for (r = 0; r < reps; r++)
        fn (data);
      dt = (g_get_monotonic_time () - t0) / 1e6;
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

static gboolean
bench_gemm (IbClDevice *dev, IbClQueue *q, int m, int n, int k, GError **error)
{
  float *a = random_floats ((gsize) m * k, 1),
        *w = random_floats ((gsize) n * k, 2),
        *c = ib_cl_host_alloc ((gsize) m * n * 4);
  const float *wl[1] = { w };
  double flop = 2.0 * m * n * k, t_blas, t32, t16;
  IbClWeight *w32 = NULL, *w16 = NULL;
  ClRun run = { q, NULL, 1, 0, NULL, NULL, m };
  BlasRun br = { wl, 1, 0, a, c, m, n, k };
  gboolean ok = FALSE;

  w32 = ib_cl_weight_new (dev, w, IB_CL_DTYPE_F32, n, k, NULL, IB_CL_DTYPE_F32,
      error);
  w16 = w32 ? ib_cl_weight_new (dev, w, IB_CL_DTYPE_F32, n, k, NULL,
                  IB_CL_DTYPE_F16, error) :
              NULL;
  run.a = w16 ? ib_cl_buffer_new (dev, (gsize) m * k * 4, error) : NULL;
  run.c = run.a ? ib_cl_buffer_new (dev, (gsize) m * n * 4, error) : NULL;
  if (run.c == NULL)
    goto out;
  ib_cl_queue_upload (q, run.a, 0, a, (gsize) m * k * 4);
  if (!ib_cl_queue_finish (q, error))
    goto out;

  t_blas = time_median (blas_gemm_run, &br);
  run.w = &w32;
  t32 = time_median (cl_run, &run);
  run.w = &w16;
  t16 = time_median (cl_run, &run);
  if (!ib_cl_queue_finish (q, error))
    goto out;
  g_print ("%5dx%5dx%5d  %8.1f  %8.1f  %8.1f   %5.2f  %5.2f\n", m, n, k,
      flop / t_blas / 1e9, flop / t32 / 1e9, flop / t16 / 1e9, t_blas / t32,
      t_blas / t16);
  ok = TRUE;
out:
  ib_cl_weight_free (w32);
  ib_cl_weight_free (w16);
  ib_cl_buffer_free (run.a);
  ib_cl_buffer_free (run.c);
  ib_cl_host_free (a);
  ib_cl_host_free (w);
  ib_cl_host_free (c);
  return ok;
}

/* GEMV over enough weight copies (>= 512 MiB) that each call reads DRAM. */
static gboolean
bench_gemv (IbClDevice *dev, IbClQueue *q, int n, int k, double read_gbs,
    GError **error)
{
  gsize bytes32 = (gsize) n * k * 4;
  int copies = (int) MAX (2, (512u << 20) / bytes32 + 1), i;
  float *x = random_floats (k, 3), *y = ib_cl_host_alloc ((gsize) n * 4);
  const float **wb = g_new0 (const float *, copies);
  IbClWeight **w32 = g_new0 (IbClWeight *, copies);
  IbClWeight **w16 = g_new0 (IbClWeight *, 2 * copies);
  ClRun run = { q, NULL, copies, 0, NULL, NULL, 1 };
  BlasRun br = { wb, copies, 0, x, y, 1, n, k };
  double t_blas, t32, t16;
  gboolean ok = FALSE;

  for (i = 0; i < copies; i++) {
    wb[i] = random_floats ((gsize) n * k, 10 + i);
    w32[i] = ib_cl_weight_new (dev, wb[i], IB_CL_DTYPE_F32, n, k, NULL,
        IB_CL_DTYPE_F32, error);
    if (w32[i] == NULL)
      goto out;
  }
  for (i = 0; i < 2 * copies; i++) {
    w16[i] = ib_cl_weight_new (dev, wb[i % copies], IB_CL_DTYPE_F32, n, k, NULL,
        IB_CL_DTYPE_F16, error);
    if (w16[i] == NULL)
      goto out;
  }
  run.a = ib_cl_buffer_new (dev, (gsize) k * 4, error);
  run.c = run.a ? ib_cl_buffer_new (dev, (gsize) n * 4, error) : NULL;
  if (run.c == NULL)
    goto out;
  ib_cl_queue_upload (q, run.a, 0, x, (gsize) k * 4);

  t_blas = time_median (blas_gemv_run, &br);
  run.w = w32;
  t32 = time_median (cl_run, &run);
  run.w = w16;
  run.n_copies = 2 * copies;
  t16 = time_median (cl_run, &run);
  if (!ib_cl_queue_finish (q, error))
    goto out;
  g_print ("%5dx%5d  %8.1f  %8.1f  %8.1f   %5.0f%%  %5.0f%%   (%.3f / "
           "%.3f / %.3f ms)\n",
      n, k, bytes32 / t_blas / 1e9, bytes32 / t32 / 1e9,
      bytes32 / 2 / t16 / 1e9, 100 * bytes32 / t32 / 1e9 / read_gbs,
      100 * bytes32 / 2 / t16 / 1e9 / read_gbs, t_blas * 1e3, t32 * 1e3,
      t16 * 1e3);
  ok = TRUE;
out:
  for (i = 0; i < copies; i++) {
    ib_cl_host_free ((gpointer) wb[i]);
    ib_cl_weight_free (w32[i]);
  }
  for (i = 0; i < 2 * copies; i++)
    ib_cl_weight_free (w16[i]);
  g_free (wb);
  g_free (w32);
  g_free (w16);
  ib_cl_buffer_free (run.a);
  ib_cl_buffer_free (run.c);
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
  char *shapes = g_strdup ("257x1408x1408,257x6144x1408,257x1408x6144,"
                           "64x4096x4096,64x11008x4096");
  char *gemvs = g_strdup ("4096x4096,11008x4096");
  GOptionEntry entries[] = {
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device,
        "OpenCL device: auto, gpu, cpu, P:D or part of a name", "SPEC" },
    { "backend", 'b', 0, G_OPTION_ARG_STRING, &backend,
        "GEMM backend: own or clblast (default: by device type)", "NAME" },
    { "shapes", 's', 0, G_OPTION_ARG_STRING, &shapes,
        "GEMM shapes, comma-separated MxNxK", "LIST" },
    { "gemv", 'g', 0, G_OPTION_ARG_STRING, &gemvs,
        "GEMV shapes, comma-separated NxK (empty: none)", "LIST" },
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

  g_print (
      "\nGEMM GFLOP/s (C = A*W^T)\n"
      "      MxNxK        OpenBLAS   ours f32  ours f16   ratio f32/f16\n");
  list = g_strsplit (shapes, ",", -1);
  for (i = 0; list[i] && *list[i]; i++) {
    int d[3];
    if (!parse_dims (list[i], 3, d)) {
      g_printerr ("bad shape '%s' (want MxNxK)\n", list[i]);
      g_strfreev (list);
      goto out;
    }
    if (!bench_gemm (dev, q, d[0], d[1], d[2], &error)) {
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
    g_print ("\nGEMV GB/s of weights (single-token decode, cold caches); "
             "memory read bandwidth %.1f GB/s\n"
             "      NxK     OpenBLAS   ours f32  ours f16   of bandwidth "
             "f32/f16\n",
        read_gbs);
    list = g_strsplit (gemvs, ",", -1);
    for (i = 0; list[i] && *list[i]; i++) {
      int d[2];
      if (!parse_dims (list[i], 2, d)) {
        g_printerr ("bad shape '%s' (want NxK)\n", list[i]);
        g_strfreev (list);
        goto out;
      }
      if (!bench_gemv (dev, q, d[0], d[1], read_gbs, &error)) {
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
  return ret;
}
