/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The storage precision of a model's weights: device bytes per precision
 * from the safetensors headers (before anything is packed), the memory the
 * device has, and the choice behind IB_PRECISION_AUTO. */
#pragma once

#include "gemm.h"
#include "ib-config.h"
#include "ib-safetensors.h"
#include "instructblip.h"

G_BEGIN_DECLS

/* Index of the concrete precisions (F32, F16, BF16, Q8) in arrays below. */
#define IB_N_PRECISIONS 4

IbClDtype ib_precision_storage (IbPrecision precision);

/* Device bytes of every tensor of @st stored at @precision: linear weights
 * at its element size (q8: plus two floats per output channel), embedding
 * tables as fp16 unless fp32, everything else fp32. */
guint64 ib_precision_weight_bytes (const IbSafetensors *st,
    IbPrecision precision);

/* Device bytes a context made with @cp takes (KV cache and activations),
 * estimated from the configuration. */
guint64 ib_precision_context_bytes (const IbModelConfig *cfg,
    const IbContextParams *cp);

/* What the device can hold: its global memory, and on CPU devices at most
 * MemAvailable of /proc/meminfo. @what (transfer full) describes it. */
guint64 ib_precision_available_bytes (IbClDevice *dev, char **what);

typedef struct
{
  guint64 weights[IB_N_PRECISIONS]; /* by IbPrecision */
  gboolean supported[IB_N_PRECISIONS]; /* the device can run it */
  gboolean native[IB_N_PRECISIONS]; /* ... with its own instructions */
  guint64 context; /* bytes a context needs beside the weights */
  guint64 available; /* bytes there are */
  const char *available_what; /* "device X: N GB, MemAvailable M GB" */
} IbPrecisionFit;

/* @asked, or for AUTO the first that fits of: fp32; bf16 where native,
 * else fp16; q8. FALSE with IB_ERROR_NO_MEMORY saying how much each
 * precision needs and how much there is, or IB_ERROR_UNSUPPORTED for a
 * precision the device cannot run. Pure: testable with made-up sizes. */
gboolean ib_precision_choose (const IbPrecisionFit *fit, IbPrecision asked,
    IbPrecision *chosen, GError **error);

G_END_DECLS
