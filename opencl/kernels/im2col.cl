/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Patch extraction for a stride-patch convolution (ViT patch embedding) as
 * a GEMM input.
 *
 * im2col_patch_f32: img [channels, height, width] fp32 -> out [np, kdim]
 *   fp32 with np = (height/patch) · (width/patch) patches in row-major
 *   order, kdim = channels · patch²:
 *     out[py · (width/patch) + px, (ch · patch + ky) · patch + kx]
 *       = img[ch, py · patch + ky, px · patch + kx]
 *   which, times a [out, channels, patch, patch] kernel viewed as [out,
 *   kdim], is the convolution. Pixels past the last whole patch are unused
 *   (as torch's strided conv).
 *
 * Global (channels · patch, np), rounded up; each work-item copies one patch
 * row of @patch contiguous floats.
 */

__kernel void
im2col_patch_f32 (const __global float *img, __global float *out, int channels,
    int height, int width, int patch)
{
  const int q = get_global_id (0), p = get_global_id (1);
  const int npx = width / patch, np = npx * (height / patch);

  if (q >= channels * patch || p >= np)
    return;

  const int ch = q / patch, ky = q % patch;
  const int py = p / npx, px = p % npx;
  const __global float *s =
      img + ((size_t) ch * height + py * patch + ky) * width + px * patch;
  __global float *d = out + ((size_t) p * channels * patch + q) * patch;
  for (int kx = 0; kx < patch; kx++)
    d[kx] = s[kx];
}
