/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Naive reference implementations of the device ops, llama2.c style. */
#include "ref-ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double
ref_rel_err (const float *out, const double *ref, size_t n)
{
  double num = 0.0, den = 0.0;
  size_t i;

  for (i = 0; i < n; i++) {
    double d = (double) out[i] - ref[i];
    if (!isfinite (out[i]))
      return INFINITY;
    num += d * d;
    den += ref[i] * ref[i];
  }
  return den > 0.0 ? sqrt (num / den) : sqrt (num);
}

void
ref_gemm (const float *a, const float *w, const float *bias, double *c, int m,
    int n, int k)
{
  int i, j, l;

  for (i = 0; i < m; i++)
    for (j = 0; j < n; j++) {
      double acc = bias ? bias[j] : 0.0;
      for (l = 0; l < k; l++)
        acc += (double) a[(size_t) i * k + l] * w[(size_t) j * k + l];
      c[(size_t) i * n + j] = acc;
    }
}

void
ref_layernorm (const float *x, const float *w, const float *b, double *y,
    int rows, int dim, double eps)
{
  int r, i;

  for (r = 0; r < rows; r++) {
    const float *xr = x + (size_t) r * dim;
    double *yr = y + (size_t) r * dim;
    double mean = 0.0, var = 0.0, rstd;
    for (i = 0; i < dim; i++)
      mean += xr[i];
    mean /= dim;
    for (i = 0; i < dim; i++)
      var += (xr[i] - mean) * (xr[i] - mean);
    var /= dim;
    rstd = 1.0 / sqrt (var + eps);
    for (i = 0; i < dim; i++)
      yr[i] = (xr[i] - mean) * rstd * w[i] + (b ? b[i] : 0.0);
  }
}

void
ref_rmsnorm (const float *x, const float *w, double *y, int rows, int dim,
    double eps)
{
  int r, i;

  for (r = 0; r < rows; r++) {
    const float *xr = x + (size_t) r * dim;
    double ss = 0.0, scale;
    for (i = 0; i < dim; i++)
      ss += (double) xr[i] * xr[i];
    scale = 1.0 / sqrt (ss / dim + eps);
    for (i = 0; i < dim; i++)
      y[(size_t) r * dim + i] = w[i] * (xr[i] * scale);
  }
}

double
ref_act (RefActivation act, double x)
{
  if (act == REF_ACT_GELU)
    return 0.5 * x * (1.0 + erf (x / sqrt (2.0)));
  return x / (1.0 + exp (-x));
}

void
ref_activate (RefActivation act, const float *x, double *y, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    y[i] = ref_act (act, x[i]);
}

void
ref_gated (RefActivation act, const float *gu, double *y, int rows, int f)
{
  int r, j;

  for (r = 0; r < rows; r++)
    for (j = 0; j < f; j++) {
      const float *g = gu + (size_t) r * 2 * f;
      y[(size_t) r * f + j] = ref_act (act, g[j]) * g[f + j];
    }
}

void
ref_softmax (const float *x, double *y, int batch, int rows, int cols,
    double scale, const float *bias, int bias_batch, const float *key_mask,
    int causal_offset)
{
  int b, r, c;

  for (b = 0; b < batch; b++)
    for (r = 0; r < rows; r++) {
      size_t row = ((size_t) b * rows + r) * cols;
      const float *br =
          bias ? bias + ((size_t) (b % bias_batch) * rows + r) * cols : NULL;
      double max = -INFINITY, sum = 0.0;
      for (c = 0; c < cols; c++) {
        double v = scale * x[row + c];
        int masked = causal_offset >= 0 && c > r + causal_offset;
        if (br)
          v += br[c];
        if (key_mask) {
          masked |= key_mask[c] <= -1e30f;
          v += key_mask[c];
        }
        y[row + c] = masked ? -INFINITY : v;
        if (!masked && v > max)
          max = v;
      }
      for (c = 0; c < cols; c++) {
        double v = y[row + c];
        y[row + c] = max == -INFINITY || v == -INFINITY ? 0.0 : exp (v - max);
        sum += y[row + c];
      }
      for (c = 0; c < cols && sum > 0.0; c++)
        y[row + c] /= sum;
    }
}

void
ref_rope_inv_freq (float *inv_freq, int head_dim, float theta)
{
  int j;

  for (j = 0; j < head_dim / 2; j++) {
    float e = (float) (2 * j) / (float) head_dim;
    inv_freq[j] = 1.0f / powf (theta, e);
  }
}

void
ref_rope (const float *x, double *y, size_t size, size_t offset, int rows,
    int n_head, int head_dim, int ld, int pos_offset, float theta)
{
  int half = head_dim / 2, r, h, j;
  float *inv = malloc (sizeof (float) * (half > 0 ? half : 1));
  size_t i;

  ref_rope_inv_freq (inv, head_dim, theta);
  for (i = 0; i < size; i++)
    y[i] = x[i];
  for (r = 0; r < rows; r++)
    for (j = 0; j < half; j++) {
      float angle = (float) (pos_offset + r) * inv[j];
      double c = cos ((double) angle), s = sin ((double) angle);
      for (h = 0; h < n_head; h++) {
        size_t p = offset + (size_t) r * ld + (size_t) h * head_dim + j;
        double x1 = x[p], x2 = x[p + half];
        y[p] = x1 * c - x2 * s;
        y[p + half] = x2 * c + x1 * s;
      }
    }
  free (inv);
}

int
ref_t5_bucket (int rel, int bidirectional, int num_buckets, int max_distance)
{
  int n = num_buckets, base = 0, d, exact;
  float ratio, v;
  long large;

  if (bidirectional) {
    n /= 2;
    base = rel > 0 ? n : 0;
    d = abs (rel);
  } else {
    d = rel < 0 ? -rel : 0;
  }
  exact = n / 2;
  if (d < exact)
    return base + d;
  /* torch: max_exact + (torch.log(rp.float() / max_exact)
   *   / math.log(max_distance / max_exact) * (num_buckets - max_exact))
   *   .to(torch.long), each tensor step in fp32 */
  ratio = (float) log ((double) max_distance / exact);
  v = logf ((float) d / (float) exact);
  v = v / ratio;
  v = v * (float) (n - exact);
  large = exact + (long) v;
  if (large > n - 1)
    large = n - 1;
  return base + (int) large;
}

void
ref_t5_position_bias (const float *table, float *out, int heads, int rows,
    int cols, int q_offset, int bidirectional, int num_buckets,
    int max_distance)
{
  int h, r, c;

  for (r = 0; r < rows; r++)
    for (c = 0; c < cols; c++) {
      int b = ref_t5_bucket (c - (r + q_offset), bidirectional, num_buckets,
          max_distance);
      for (h = 0; h < heads; h++)
        out[((size_t) h * rows + r) * cols + c] = table[(size_t) b * heads + h];
    }
}

float
ref_f16_to_f32 (uint16_t h)
{
  int sign = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  float v;

  if (e == 0)
    v = ldexpf ((float) m, -24); /* zero or subnormal */
  else if (e == 31)
    v = m ? NAN : INFINITY;
  else
    v = ldexpf ((float) (m | 0x400), e - 25);
  return sign ? -v : v;
}

float
ref_bf16_to_f32 (uint16_t b)
{
  uint32_t u = (uint32_t) b << 16;
  float f;

  memcpy (&f, &u, 4);
  return f;
}

void
ref_im2col_patch (const float *img, float *out, int channels, int height,
    int width, int patch)
{
  int npx = width / patch, npy = height / patch,
      kdim = channels * patch * patch;
  int py, px, c, ky, kx;

  for (py = 0; py < npy; py++)
    for (px = 0; px < npx; px++)
      for (c = 0; c < channels; c++)
        for (ky = 0; ky < patch; ky++)
          for (kx = 0; kx < patch; kx++)
            out[(size_t) (py * npx + px) * kdim + (c * patch + ky) * patch +
                kx] = img[((size_t) c * height + py * patch + ky) * width +
                px * patch + kx];
}

void
ref_log_softmax (const float *x, double *y, int rows, int cols)
{
  int r, c;

  for (r = 0; r < rows; r++) {
    const float *xr = x + (size_t) r * cols;
    double max = -INFINITY, sum = 0.0;
    for (c = 0; c < cols; c++)
      if (xr[c] > max)
        max = xr[c];
    for (c = 0; c < cols; c++)
      sum += exp (xr[c] - max);
    for (c = 0; c < cols; c++)
      y[(size_t) r * cols + c] = xr[c] - max - log (sum);
  }
}

void
ref_argmax (const float *x, int32_t *out, int rows, int cols)
{
  int r, c;

  for (r = 0; r < rows; r++) {
    const float *xr = x + (size_t) r * cols;
    int best = -1;
    for (c = 0; c < cols; c++)
      if (!isnan (xr[c]) && (best < 0 || xr[c] > xr[best]))
        best = c;
    out[r] = best < 0 ? 0 : best;
  }
}
