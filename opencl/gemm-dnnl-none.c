/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Builds without oneDNN: bf16 and q8 weights are refused. */
#include "gemm-priv.h"

gboolean
ib_cl_dnnl_check (IbClDtype storage, gboolean *native, GError **error)
{
  g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_UNSUPPORTED,
      "%s weights need oneDNN, and this build has none (install libdnnl-dev "
      "and reconfigure)",
      ib_cl_dtype_name (storage));
  if (native)
    *native = FALSE;
  return FALSE;
}

IbClDnnlWeight *
ib_cl_dnnl_weight_new (IbClDevice *dev G_GNUC_UNUSED,
    const void *w G_GNUC_UNUSED, IbClDtype src G_GNUC_UNUSED,
    int n G_GNUC_UNUSED, int k G_GNUC_UNUSED, const void *bias G_GNUC_UNUSED,
    IbClDtype storage, GError **error)
{
  ib_cl_dnnl_check (storage, NULL, error);
  return NULL;
}

void
ib_cl_dnnl_weight_free (IbClDnnlWeight *w G_GNUC_UNUSED)
{}

gsize
ib_cl_dnnl_weight_get_bytes (const IbClDnnlWeight *w G_GNUC_UNUSED)
{
  return 0;
}

gboolean
ib_cl_dnnl_weight_has_gemv (const IbClDnnlWeight *w G_GNUC_UNUSED)
{
  return FALSE;
}

void
ib_cl_dnnl_weight_disable_gemv (IbClDnnlWeight *w G_GNUC_UNUSED)
{}

void
ib_cl_dnnl_linear (IbClQueue *q G_GNUC_UNUSED,
    const IbClBuffer *a G_GNUC_UNUSED, gsize a_off G_GNUC_UNUSED,
    const IbClDnnlWeight *w G_GNUC_UNUSED,
    const IbClBuffer *residual G_GNUC_UNUSED, IbClBuffer *c G_GNUC_UNUSED,
    gsize c_off G_GNUC_UNUSED, int m G_GNUC_UNUSED)
{}

gboolean
ib_cl_dnnl_fuses_gelu (const IbClDnnlWeight *w G_GNUC_UNUSED,
    int m G_GNUC_UNUSED)
{
  return FALSE;
}

void
ib_cl_dnnl_linear_gelu (IbClQueue *q G_GNUC_UNUSED,
    const IbClBuffer *a G_GNUC_UNUSED, gsize a_off G_GNUC_UNUSED,
    const IbClDnnlWeight *w G_GNUC_UNUSED, IbClBuffer *c G_GNUC_UNUSED,
    gsize c_off G_GNUC_UNUSED, int m G_GNUC_UNUSED)
{}

gboolean
ib_cl_dnnl_weight_has_bias (const IbClDnnlWeight *w G_GNUC_UNUSED)
{
  return FALSE;
}

gboolean
ib_cl_dnnl_weight_export (const IbClDnnlWeight *w G_GNUC_UNUSED,
    GByteArray *desc G_GNUC_UNUSED, IbClWeightBlock *blocks G_GNUC_UNUSED,
    guint *n_blocks, GError **error)
{
  *n_blocks = 0;
  return ib_cl_dnnl_check (IB_CL_DTYPE_BF16, NULL, error);
}

IbClDnnlWeight *
ib_cl_dnnl_weight_new_packed (IbClDevice *dev G_GNUC_UNUSED,
    int n G_GNUC_UNUSED, int k G_GNUC_UNUSED, IbClDtype storage,
    gboolean has_bias G_GNUC_UNUSED, const void *desc G_GNUC_UNUSED,
    gsize desc_len G_GNUC_UNUSED, const IbClMappedBlocks *src G_GNUC_UNUSED,
    IbClWeightBlock *blocks G_GNUC_UNUSED, guint *n_blocks, GError **error)
{
  *n_blocks = 0;
  ib_cl_dnnl_check (storage, NULL, error);
  return NULL;
}

char *
ib_cl_dnnl_layout_key (void)
{
  return g_strdup ("none");
}

void
ib_cl_dnnl_gemm_batched (IbClQueue *q, gboolean trans_b G_GNUC_UNUSED,
    int m G_GNUC_UNUSED, int n G_GNUC_UNUSED, int k G_GNUC_UNUSED,
    float alpha G_GNUC_UNUSED, IbClMatrix a G_GNUC_UNUSED,
    IbClMatrix b G_GNUC_UNUSED, IbClMatrix c G_GNUC_UNUSED,
    int batch G_GNUC_UNUSED)
{
  GError *e = NULL;

  ib_cl_dnnl_check (IB_CL_DTYPE_BF16, NULL, &e);
  ib_cl_queue_take_error (q, e);
}

gboolean
ib_cl_dnnl_linear_scratch (const IbClDnnlWeight *w G_GNUC_UNUSED,
    int m_max G_GNUC_UNUSED, gsize *need G_GNUC_UNUSED, GError **error)
{
  return ib_cl_dnnl_check (IB_CL_DTYPE_BF16, NULL, error);
}

gboolean
ib_cl_dnnl_batched_scratch (gboolean trans_b G_GNUC_UNUSED,
    int m_max G_GNUC_UNUSED, int n G_GNUC_UNUSED, int k G_GNUC_UNUSED,
    float alpha G_GNUC_UNUSED, int batch G_GNUC_UNUSED,
    gboolean dense_c G_GNUC_UNUSED, gsize *need G_GNUC_UNUSED, GError **error)
{
  return ib_cl_dnnl_check (IB_CL_DTYPE_BF16, NULL, error);
}

void
ib_cl_dnnl_softmax_gemm_batched (IbClQueue *q G_GNUC_UNUSED,
    int m G_GNUC_UNUSED, int n G_GNUC_UNUSED, int k G_GNUC_UNUSED,
    IbClMatrix p G_GNUC_UNUSED, IbClMatrix b G_GNUC_UNUSED,
    IbClMatrix c G_GNUC_UNUSED, int batch G_GNUC_UNUSED)
{}
