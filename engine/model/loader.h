/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Uploads checkpoint tensors to the device, tensor by tensor: linear layers
 * packed for the GEMM backend (fusing several HF tensors along the output
 * dimension where the forward pass wants one product), vectors and
 * embedding tables. Tensors are read with pread (ib_tensor_read_bytes),
 * never mapped; with ib_loader_read_ahead() a thread reads the next tensors
 * while the current one is packed on all cores. Host memory holds the
 * packed weights plus a bounded staging area: the read-ahead budget (two
 * of the largest tensor, 64 to 512 MB) for tensors in flight and freed
 * blocks kept for reuse together (one tensor larger than it alone), and
 * the fused layer being assembled. */
#pragma once

#include "gemm.h"
#include "ib-config.h"
#include "ib-safetensors.h"
#include "weight-cache.h"

G_BEGIN_DECLS

typedef struct _IbLoaderReader IbLoaderReader;

typedef struct
{
  IbClDevice *dev;
  const IbSafetensors *st;
  IbClDtype storage; /* linear weights: F32, F16, BF16 or Q8; tables F32
                     * when F32, else F16 */
  gsize bytes; /* device bytes loaded so far */
  IbLoaderReader *reader; /* read-ahead (private), or NULL */
  /* packed-weights cache, or NULL: products come from a valid entry
   * instead of the checkpoint, or are recorded into a new one */
  IbWeightCache *cache;
  /* for ib_loader_read_ahead when the cache stops giving weights */
  const IbModelConfig *cfg;
} IbLoader;

/* Starts reading ahead on a thread, in the order the model asks for
 * tensors (ib_expected_tensors (@cfg)), at most two of the largest tensor
 * ahead. Optional: without it each tensor is read when asked for; a
 * request out of that order is read at once and the thread goes on after
 * it. Call it before the first load, and ib_loader_clear() when loading
 * ends, successfully or not. */
void ib_loader_read_ahead (IbLoader *l, const IbModelConfig *cfg);

/* Stops the read-ahead and frees what it holds; NULL reader: no-op. */
void ib_loader_clear (IbLoader *l);

/* The linear layer made of the tensors @weights (NULL-terminated names,
 * each [n_i, k]) stacked along n, with the biases @biases (parallel array,
 * NULL for "no bias"; a NULL entry inside gives zeros for that part; the
 * whole array NULL for no bias at all). (transfer full) */
IbClWeight *ib_load_linear (IbLoader *l, const char *const *weights,
    const char *const *biases, GError **error);

/* A single [n, k] linear layer with an optional bias: printf-style name
 * prefix, "%s.weight" and "%s.bias" are appended. */
IbClWeight *ib_load_linear1 (IbLoader *l, gboolean with_bias, GError **error,
    const char *prefix_fmt, ...) G_GNUC_PRINTF (4, 5);

/* @name as an f32 device vector of exactly @n elements (any shape).
 * (transfer full) */
IbClBuffer *ib_load_vector (IbLoader *l, gsize n, GError **error,
    const char *name_fmt, ...) G_GNUC_PRINTF (4, 5);

/* The dtype ib_load_table stores tables in: F32 when the loader's storage
 * is, else F16 (what ib_cl_embed reads). */
IbClDtype ib_load_table_dtype (const IbLoader *l);

/* An embedding table [rows, cols] stored as ib_load_table_dtype() for
 * ib_cl_embed. (transfer full) */
IbClBuffer *ib_load_table (IbLoader *l, const char *name, gint64 rows,
    gint64 cols, GError **error);

/* The tensor @name checked to hold @n elements, or NULL with @error set. */
const IbTensor *ib_load_tensor (IbLoader *l, const char *name, guint64 n,
    GError **error);

G_END_DECLS
