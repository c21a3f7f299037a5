/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Widening of stored weights to fp32: out[i] = (float) in[i]. Global (n). */

__kernel void
convert_f16_f32 (const __global half *in, __global float *out, int n)
{
  const int i = get_global_id (0);
  if (i < n)
    out[i] = vload_half (i, in);
}

/* bf16 is the top half of an fp32: widening is a shift, exact. */
__kernel void
convert_bf16_f32 (const __global ushort *in, __global uint *out, int n)
{
  const int i = get_global_id (0);
  if (i < n)
    out[i] = (uint) in[i] << 16;
}
