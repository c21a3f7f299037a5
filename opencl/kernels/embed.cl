/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Token embedding lookup.
 *
 * embed_{f32,f16,bf16}: out[i,:] = (float) table[ids[i],:] for i < n, table
 *   [vocab, dim] stored as fp32, IEEE half (vload_half, no cl_khr_fp16
 *   needed) or bfloat16 (the top half of an fp32, widened by a shift), ids
 *   int32, out [n, dim] fp32. An id outside [0, vocab) gives a zero row.
 *
 * Global (ceil(dim/16), n), rounded up; each work-item copies 16
 * consecutive values (vload16 / vload_half16) or the row's last few.
 */

#define IB_EMBED_LOAD_F32(t, i) ((t)[i])
#define IB_EMBED_LOAD16_F32(t, c) vload16 ((c), (t))
#define IB_EMBED_LOAD_F16(t, i) vload_half ((i), (t))
#define IB_EMBED_LOAD16_F16(t, c) vload_half16 ((c), (t))
#define IB_EMBED_LOAD_BF16(t, i) as_float ((uint) (t)[i] << 16)
#define IB_EMBED_LOAD16_BF16(t, c) \
  as_float16 (convert_uint16 (vload16 ((c), (t))) << 16)

#define DEFINE_EMBED(NAME, TYPE, LOAD, LOAD16)                      \
  __kernel void NAME (const __global TYPE *table, int vocab,        \
      const __global int *ids, __global float *out, int n, int dim) \
  {                                                                 \
    const int c = get_global_id (0), i = get_global_id (1);         \
    if (i >= n)                                                     \
      return;                                                       \
    const int id = ids[i];                                          \
    const int ok = id >= 0 && id < vocab;                           \
    const __global TYPE *t = table + (size_t) (ok ? id : 0) * dim;  \
    __global float *o = out + (size_t) i * dim;                     \
    if (c * 16 + 16 <= dim) {                                       \
      vstore16 (ok ? LOAD16 (t, c) : (float16) (0.0f), c, o);       \
    } else {                                                        \
      for (int k = c * 16; k < dim; k++)                            \
        o[k] = ok ? LOAD (t, k) : 0.0f;                             \
    }                                                               \
  }

DEFINE_EMBED (embed_f32, float, IB_EMBED_LOAD_F32, IB_EMBED_LOAD16_F32)
DEFINE_EMBED (embed_f16, half, IB_EMBED_LOAD_F16, IB_EMBED_LOAD16_F16)
DEFINE_EMBED (embed_bf16, ushort, IB_EMBED_LOAD_BF16, IB_EMBED_LOAD16_BF16)
