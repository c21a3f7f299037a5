/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* T5 relative position bias.
 *
 * t5_position_bias_f32: out [heads, rows, cols] fp32,
 *   out[h,r,c] = table[bucket(c - (r + q_offset)), h], table [num_buckets,
 *   heads] fp32 (HF relative_attention_bias.weight).
 * bucket(rel), exactly as HF T5Attention._relative_position_bucket:
 *   bidirectional: n = num_buckets/2, base = rel > 0 ? n : 0, d = |rel|
 *   causal:        n = num_buckets,   base = 0,              d = max(-rel, 0)
 *   exact = n/2; d < exact: base + d; otherwise base + min(n - 1, exact +
 *   trunc(log((float) d / exact) / log_ratio · (n - exact))), all in fp32,
 *   log_ratio = (float) ln(max_distance / exact) from the host.
 * Where the real value of the log term is a whole number (d = 16, 32, 64
 * for the encoder's 32/128), torch's fp32 lands on it exactly; OpenCL's log
 * may be 3 ulp off, so the term is scaled up by 2^-18 before truncation.
 * That changes no other bucket (the nearest other value is 6e-4 from a
 * whole number for every usual configuration; the tests check all of them).
 *
 * Global (cols, rows), rounded up; each work-item computes one bucket and
 * writes it for every head.
 */

__kernel void
t5_position_bias_f32 (const __global float *table, __global float *out,
    int heads, int rows, int cols, int q_offset, int bidirectional,
    int num_buckets, float log_ratio)
{
  const int c = get_global_id (0), r = get_global_id (1);
  const int rel = c - (r + q_offset);
  int n = num_buckets, base = 0, d, bucket;

  if (c >= cols || r >= rows)
    return;

  if (bidirectional) {
    n /= 2;
    base = rel > 0 ? n : 0;
    d = abs (rel);
  } else {
    d = max (-rel, 0);
  }
  const int exact = n / 2;
  if (d < exact) {
    bucket = base + d;
  } else {
    const float v =
        log ((float) d / (float) exact) / log_ratio * (float) (n - exact);
    bucket = base + min (n - 1, exact + (int) (v * (1.0f + 0x1p-18f)));
  }

  const __global float *t = table + (size_t) bucket * heads;
  __global float *o = out + (size_t) r * cols + c;
  for (int k = 0; k < heads; k++, o += (size_t) rows * cols)
    *o = t[k];
}
