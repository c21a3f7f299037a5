/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Elementwise activations, gated products and additions.
 *
 * act_gelu_f32 / act_silu_f32: y[i] = act(x[i]) for i < n, y may be x.
 *   gelu(x) = x · 0.5 · (1 + erf(x · √½)) (exact, torch's formula),
 *   silu(x) = x / (1 + exp(-x)).
 * gated_gelu_f32 / gated_silu_f32: gu [rows, 2f] holds gate | up per row;
 *   y[r,j] = act(gu[r,j]) · gu[r,f+j], y [rows, f].
 * add_f32: y[i] = a[i] + b[i] for i < n, y may be a or b.
 * add_bias_f32: x[r,j] += bias[j], x [rows, dim].
 *
 * Each work-item handles 16 consecutive elements as one float16 (vload16;
 * PoCL maps it to whole vector registers) or, for the last partial chunk of
 * a row or array, the remaining elements one by one. 1-D kernels: global
 * (ceil(n/16)); per-row kernels: global (ceil(cols/16), rows). Global sizes
 * may be rounded up to the local size: out-of-range work-items do nothing.
 */

#define IB_GELU(x) (0.5f * (x) * (1.0f + erf (M_SQRT1_2_F * (x))))
#define IB_SILU(x) ((x) / (1.0f + exp (-(x))))

#define DEFINE_ACT(NAME, ACT)                                            \
  __kernel void NAME (const __global float *x, __global float *y, int n) \
  {                                                                      \
    const size_t c = get_global_id (0);                                  \
    if (c * 16 + 16 <= (size_t) n) {                                     \
      const float16 v = vload16 (c, x);                                  \
      vstore16 (ACT (v), c, y);                                          \
    } else {                                                             \
      for (size_t i = c * 16; i < (size_t) n; i++) {                     \
        const float v = x[i];                                            \
        y[i] = ACT (v);                                                  \
      }                                                                  \
    }                                                                    \
  }

DEFINE_ACT (act_gelu_f32, IB_GELU)
DEFINE_ACT (act_silu_f32, IB_SILU)

#define DEFINE_GATED(NAME, ACT)                                              \
  __kernel void NAME (const __global float *gu, __global float *y, int rows, \
      int f)                                                                 \
  {                                                                          \
    const int c = get_global_id (0), r = get_global_id (1);                  \
    const __global float *g = gu + (size_t) r * 2 * f;                       \
    const __global float *u = g + f;                                         \
    __global float *yr = y + (size_t) r * f;                                 \
    if (r >= rows)                                                           \
      return;                                                                \
    if (c * 16 + 16 <= f) {                                                  \
      const float16 v = vload16 (c, g);                                      \
      vstore16 (ACT (v) * vload16 (c, u), c, yr);                            \
    } else {                                                                 \
      for (int i = c * 16; i < f; i++) {                                     \
        const float v = g[i];                                                \
        yr[i] = ACT (v) * u[i];                                              \
      }                                                                      \
    }                                                                        \
  }

DEFINE_GATED (gated_gelu_f32, IB_GELU)
DEFINE_GATED (gated_silu_f32, IB_SILU)

__kernel void
add_f32 (const __global float *a, const __global float *b, __global float *y,
    int n)
{
  const size_t c = get_global_id (0);

  if (c * 16 + 16 <= (size_t) n)
    vstore16 (vload16 (c, a) + vload16 (c, b), c, y);
  else
    for (size_t i = c * 16; i < (size_t) n; i++)
      y[i] = a[i] + b[i];
}

__kernel void
add_bias_f32 (__global float *x, const __global float *bias, int rows, int dim)
{
  const int c = get_global_id (0), r = get_global_id (1);
  __global float *xr = x + (size_t) r * dim;

  if (r >= rows)
    return;
  if (c * 16 + 16 <= dim)
    vstore16 (vload16 (c, xr) + vload16 (c, bias), c, xr);
  else
    for (int i = c * 16; i < dim; i++)
      xr[i] += bias[i];
}
