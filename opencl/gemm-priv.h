/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared between gemm.c, gemm-clblast.c and device.c. */
#pragma once

#include "gemm.h"

G_BEGIN_DECLS

/* Tile of the OWN backend: MR rows x NR columns per work-item. */
#define IB_CL_GEMM_MR 6
#define IB_CL_GEMM_NR 32

/* CLBlast: parameters for devices its tuning database does not know, and the
 * calls. Only gemm-clblast.c includes clblast_c.h. */
gboolean ib_cl_clblast_setup (IbClDevice *dev, GError **error);
void ib_cl_clblast_sgemm (IbClQueue *q, gboolean trans_b, int m, int n, int k,
    float alpha, const IbClBuffer *a, gsize a_off, int lda, const IbClBuffer *b,
    gsize b_off, int ldb, float beta, IbClBuffer *c, gsize c_off, int ldc);
void ib_cl_clblast_sgemm_batched (IbClQueue *q, gboolean trans_b, int m, int n,
    int k, float alpha, IbClMatrix a, IbClMatrix b, IbClMatrix c, int batch);

/* A per-queue scratch buffer of at least @size bytes, grown on demand (once
 * per model in practice). (transfer none) */
IbClBuffer *ib_cl_queue_scratch (IbClQueue *q, gsize size);

G_END_DECLS
