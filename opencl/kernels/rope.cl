/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Rotary position embedding, rotate-half layout (GPT-NeoX, HF LLaMA).
 *
 * rope_f32: x viewed as [rows, n_head, head_dim] fp32 starting at float
 *   @offset with row stride @ld floats, rotated in place. With h = head_dim/2,
 *   p = pos_offset + r and angle_j = (float) p · inv_freq_j (one fp32
 *   product, as HF), for j < h:
 *     x'[j]     = x[j] · cos(angle_j) - x[j+h] · sin(angle_j)
 *     x'[j + h] = x[j+h] · cos(angle_j) + x[j] · sin(angle_j)
 *   inv_freq_j = 1 / theta^((2j)/head_dim) arrives by value from the host,
 *   computed there in fp32 as HF does: an error of one ulp in it would be
 *   multiplied by the position, and OpenCL's pow is only good to 16 ulp.
 *
 * Global (ceil(h/16) rounded up to the local size, rows); each work-item
 * takes 16 consecutive j (float16 vectors; the last one of a row any rest),
 * computes their cos/sin once and rotates those pairs in every head.
 */

typedef struct
{
  float f[IB_ROPE_MAX_HALF];
} IbRopeFreqs;

/* One row at position @pos: work-item @c's pairs in every head. */
static inline void
rope_row (__global float *p, float pos, int c, int n_head, int head_dim,
    const IbRopeFreqs *inv_freq)
{
  const int h = head_dim / 2;

  if (c * 16 + 16 <= h) {
    const float16 angle = pos * vload16 (c, inv_freq->f);
    float16 cs;
    const float16 sn = sincos (angle, &cs);
    for (int k = 0; k < n_head; k++, p += head_dim) {
      const float16 x1 = vload16 (c, p), x2 = vload16 (c, p + h);
      vstore16 (x1 * cs - x2 * sn, c, p);
      vstore16 (x2 * cs + x1 * sn, c, p + h);
    }
  } else {
    for (int j = c * 16; j < h; j++) {
      const float angle = pos * inv_freq->f[j];
      float cs;
      const float sn = sincos (angle, &cs);
      for (int k = 0; k < n_head; k++) {
        __global float *q = p + k * head_dim + j;
        const float x1 = q[0], x2 = q[h];
        q[0] = x1 * cs - x2 * sn;
        q[h] = x2 * cs + x1 * sn;
      }
    }
  }
}

__kernel void
rope_f32 (__global float *x, int offset, int rows, int n_head, int head_dim,
    int ld, int pos_offset, IbRopeFreqs inv_freq)
{
  const int c = get_global_id (0), r = get_global_id (1);

  if (r >= rows)
    return;
  rope_row (x + offset + (size_t) r * ld, (float) (pos_offset + r), c, n_head,
      head_dim, &inv_freq);
}

/* rope_rows_f32: the same with row r at position positions[r] (the rows of
 * several sequences decoded in one step). */
__kernel void
rope_rows_f32 (__global float *x, int offset, int rows, int n_head,
    int head_dim, int ld, __global const int *positions, IbRopeFreqs inv_freq)
{
  const int c = get_global_id (0), r = get_global_id (1);

  if (r >= rows)
    return;
  rope_row (x + offset + (size_t) r * ld, (float) positions[r], c, n_head,
      head_dim, &inv_freq);
}
