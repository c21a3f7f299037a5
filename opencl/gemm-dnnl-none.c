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
ib_cl_dnnl_weight_new (IbClDevice *dev, const void *w, IbClDtype src, int n,
    int k, const void *bias, IbClDtype storage, GError **error)
{
  ib_cl_dnnl_check (storage, NULL, error);
  return NULL;
}

void
ib_cl_dnnl_weight_free (IbClDnnlWeight *w)
{}

gsize
ib_cl_dnnl_weight_get_bytes (const IbClDnnlWeight *w)
{
  return 0;
}

gboolean
ib_cl_dnnl_weight_has_gemv (const IbClDnnlWeight *w)
{
  return FALSE;
}

void
ib_cl_dnnl_weight_disable_gemv (IbClDnnlWeight *w)
{}

void
ib_cl_dnnl_linear (IbClQueue *q, const IbClBuffer *a, gsize a_off,
    const IbClDnnlWeight *w, const IbClBuffer *residual, IbClBuffer *c,
    gsize c_off, int m)
{}
