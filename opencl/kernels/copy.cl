/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Strided row copies: slices, concatenation, KV-cache appends.
 *
 * copy_rows_f32: dst[dst_off + r · dst_ld + c] = src[src_off + r · src_ld +
 *   c] for r < rows, c < cols (fp32; offsets and strides in floats). The
 *   source and destination regions must not overlap.
 *
 * Global (ceil(cols/16), rows), rounded up; each work-item copies 16
 * consecutive floats (vload16/vstore16, any alignment) or the row's last
 * few.
 */

__kernel void
copy_rows_f32 (const __global float *src, int src_off, int src_ld,
    __global float *dst, int dst_off, int dst_ld, int rows, int cols)
{
  const int c = get_global_id (0), r = get_global_id (1);

  if (r >= rows)
    return;

  const __global float *s = src + src_off + (size_t) r * src_ld;
  __global float *d = dst + dst_off + (size_t) r * dst_ld;
  if (c * 16 + 16 <= cols)
    vstore16 (vload16 (c, s), c, d);
  else
    for (int k = c * 16; k < cols; k++)
      d[k] = s[k];
}
