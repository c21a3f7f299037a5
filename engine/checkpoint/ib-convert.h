/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tensor data to f32 or IEEE half in caller buffers, from F32, F16 or BF16. */
#pragma once

#include "ib-safetensors.h"

G_BEGIN_DECLS

/* Converts elements [@first, @first + @count) of @t (row-major order) into
 * @dst, which holds @count values. Sources F32, F16, BF16; BF16 -> f16
 * rounds once (bf16 -> f32 is exact); the scalar conversions are the
 * device layer's (opencl/half.h). Reading in slices lets a loader
 * upload a large tensor through a small staging buffer. Fails with
 * IB_ERROR_UNSUPPORTED for other dtypes, IB_ERROR_INVALID_ARG for a
 * range outside the tensor and as ib_tensor_read_bytes() when the file
 * cannot be read. */
gboolean ib_tensor_read_f32 (const IbTensor *t, guint64 first, gsize count,
    float *dst, GError **error);
gboolean ib_tensor_read_f16 (const IbTensor *t, guint64 first, gsize count,
    guint16 *dst, GError **error);

/* Checks @count values read from @t at element @first (by the functions
 * above) for NaN and infinity: damaged weights would make every answer
 * empty. IB_ERROR_FORMAT naming the tensor and the element. The reads
 * themselves convert such values as torch does. */
gboolean ib_tensor_check_finite_f32 (const IbTensor *t, guint64 first,
    const float *values, gsize count, GError **error);
gboolean ib_tensor_check_finite_f16 (const IbTensor *t, guint64 first,
    const guint16 *values, gsize count, GError **error);

G_END_DECLS
