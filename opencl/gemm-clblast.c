/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CLBlast backend: the only file that includes clblast_c.h. */
#include "gemm-priv.h"

#include <clblast_c.h>

#include "half.h"

/* Tuned on PoCL 3.1 (2-core AMD EPYC Zen 5, 1408x256x1408) with CLBlast's own
 * tuners; CLBlast's database has CPU entries only for Intel CPUs, so a CPU
 * device otherwise gets generic GPU defaults (17-29 GFLOP/s instead of
 * 66-111). Source: docs in shared/docs/gemm-pocl.md section 5. */
static const char *const xgemm_names[] = {
  "GEMMK",
  "KREG",
  "KWG",
  "KWI",
  "MDIMA",
  "MDIMC",
  "MWG",
  "NDIMB",
  "NDIMC",
  "NWG",
  "SA",
  "SB",
  "STRM",
  "STRN",
  "VWM",
  "VWN",
};
static const size_t xgemm_values[] = {
  0,
  1,
  32,
  2,
  8,
  8,
  128,
  8,
  8,
  64,
  1,
  0,
  1,
  0,
  8,
  8,
};
static const char *const direct_names[] = {
  "WGD",
  "MDIMCD",
  "NDIMCD",
  "MDIMAD",
  "NDIMBD",
  "KWID",
  "VWMD",
  "VWND",
  "PADA",
  "PADB",
};
static const size_t direct_values[] = { 64, 32, 8, 32, 16, 16, 2, 2, 0, 1 };
static const char *const routine_names[] = { "XGEMM_MIN_INDIRECT_SIZE" };
static const size_t routine_values[] = { 128 };

static gboolean
clblast_error (GError **error, CLBlastStatusCode st, const char *call)
{
  g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_CLBLAST,
      "CLBlast call failed: %s returned %d", call, (int) st);
  return FALSE;
}

static gboolean
override (cl_device_id id, const char *kernel, const char *const *names,
    const size_t *values, size_t n, GError **error)
{
  CLBlastStatusCode st = CLBlastOverrideParameters (id, kernel,
      CLBlastPrecisionSingle, n, (const char **) names, values);
  if (st != CLBlastSuccess)
    return clblast_error (error, st, "CLBlastOverrideParameters");
  return TRUE;
}

gboolean
ib_cl_clblast_setup (IbClDevice *dev, GError **error)
{
  cl_device_id id = ib_cl_device_get_id (dev);

  if (!ib_cl_device_get_info (dev)->is_cpu)
    return TRUE; /* GPUs: CLBlast's database knows them */
  return override (id, "Xgemm", xgemm_names, xgemm_values,
             G_N_ELEMENTS (xgemm_values), error) &&
      override (id, "XgemmDirect", direct_names, direct_values,
          G_N_ELEMENTS (direct_values), error) &&
      override (id, "GemmRoutine", routine_names, routine_values,
          G_N_ELEMENTS (routine_values), error);
}

static void
queue_clblast_error (IbClQueue *q, CLBlastStatusCode st, const char *call)
{
  GError *e = NULL;

  clblast_error (&e, st, call);
  ib_cl_queue_take_error (q, e);
}

void
ib_cl_clblast_sgemm (IbClQueue *q, gboolean trans_b, int m, int n, int k,
    float alpha, const IbClBuffer *a, gsize a_off, int lda, const IbClBuffer *b,
    gsize b_off, int ldb, float beta, IbClBuffer *c, gsize c_off, int ldc)
{
  cl_command_queue cq = ib_cl_queue_get_cl (q);
  CLBlastStatusCode st;

  if (ib_cl_queue_failed (q))
    return;
  ib_cl_queue_launch_lock (q);
  st = CLBlastSgemm (CLBlastLayoutRowMajor, CLBlastTransposeNo,
      trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha,
      a->mem, a_off, lda, b->mem, b_off, ldb, beta, c->mem, c_off, ldc, &cq,
      NULL);
  ib_cl_queue_launch_unlock (q);
  if (st != CLBlastSuccess)
    queue_clblast_error (q, st, "CLBlastSgemm");
}

void
ib_cl_clblast_hgemm (IbClQueue *q, int m, int n, int k, const IbClBuffer *a,
    gsize a_off, const IbClBuffer *b, IbClBuffer *c, gsize c_off)
{
  cl_command_queue cq = ib_cl_queue_get_cl (q);
  CLBlastStatusCode st;

  if (ib_cl_queue_failed (q))
    return;
  st = CLBlastHgemm (CLBlastLayoutRowMajor, CLBlastTransposeNo,
      CLBlastTransposeNo, m, n, k, ib_cl_f32_to_f16 (1.0f), a->mem, a_off, k,
      b->mem, 0, n, ib_cl_f32_to_f16 (0.0f), c->mem, c_off, n, &cq, NULL);
  if (st != CLBlastSuccess)
    queue_clblast_error (q, st, "CLBlastHgemm");
}

void
ib_cl_clblast_sgemm_batched (IbClQueue *q, gboolean trans_b, int m, int n,
    int k, float alpha, IbClMatrix a, IbClMatrix b, IbClMatrix c, int batch)
{
  cl_command_queue cq = ib_cl_queue_get_cl (q);
  CLBlastStatusCode st;

  if (ib_cl_queue_failed (q))
    return;
  ib_cl_queue_launch_lock (q);
  st = CLBlastSgemmStridedBatched (CLBlastLayoutRowMajor, CLBlastTransposeNo,
      trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha,
      a.buf->mem, a.offset, a.ld, a.stride, b.buf->mem, b.offset, b.ld,
      b.stride, 0.0f, c.buf->mem, c.offset, c.ld, c.stride, batch, &cq, NULL);
  ib_cl_queue_launch_unlock (q);
  if (st != CLBlastSuccess)
    queue_clblast_error (q, st, "CLBlastSgemmStridedBatched");
}
