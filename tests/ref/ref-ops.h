/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Plain C reference implementations of the device ops (the test oracle):
 * naive loops in double precision, or fp32 step for step where the model
 * code (HF transformers) itself works in fp32 and the result depends on
 * its rounding (RoPE frequencies and angles, T5 buckets). Never shipped. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef enum
{
  REF_ACT_GELU, /* 0.5 x (1 + erf(x / sqrt 2)) */
  REF_ACT_SILU, /* x / (1 + exp(-x)) */
} RefActivation;

/* ‖out - ref‖₂ / ‖ref‖₂ over @n values; the plain ‖out - ref‖₂ when ref is
 * all zeros. Infinite when @out holds a NaN or an infinity. */
double ref_rel_err (const float *out, const double *ref, size_t n);

/* C[m,n] = A[m,k] · W[n,k]ᵀ + bias[n] (bias may be NULL), accumulated in
 * double. */
void ref_gemm (const float *a, const float *w, const float *bias, double *c,
    int m, int n, int k);

/* y[r,:] = (x[r,:] - mean) / sqrt(var + eps) · w + b (b may be NULL),
 * biased variance; x, y [rows, dim]. */
void ref_layernorm (const float *x, const float *w, const float *b, double *y,
    int rows, int dim, double eps);

/* y[r,:] = w · x[r,:] / sqrt(mean(x²) + eps). */
void ref_rmsnorm (const float *x, const float *w, double *y, int rows, int dim,
    double eps);

double ref_act (RefActivation act, double x);
void ref_activate (RefActivation act, const float *x, double *y, size_t n);

/* y[r,j] = act(gu[r,j]) · gu[r,f+j]; gu [rows, 2f], y [rows, f]. */
void ref_gated (RefActivation act, const float *gu, double *y, int rows, int f);

/* Row-wise softmax over x [batch, rows, cols] as documented for
 * ib_cl_softmax (ops.h): v = scale·x + bias[b % bias_batch] + key_mask;
 * keys with key_mask <= -1e30 or, for causal_offset >= 0, c > r +
 * causal_offset are masked and get 0; rows with every key masked give 0.
 * bias, key_mask may be NULL. */
void ref_softmax (const float *x, double *y, int batch, int rows, int cols,
    double scale, const float *bias, int bias_batch, const float *key_mask,
    int causal_offset);

/* HF LLaMA's inv_freq in fp32: 1 / theta^(float(2j) / head_dim). */
void ref_rope_inv_freq (float *inv_freq, int head_dim, float theta);

/* Rotate-half RoPE of x viewed as [rows, n_head, head_dim] from float
 * @offset with row stride @ld, written to y (same layout as x, @size floats;
 * values outside the view are copied). Angles in fp32 as HF (pos · inv_freq),
 * their cos/sin and the rotation in double. */
void ref_rope (const float *x, double *y, size_t size, size_t offset, int rows,
    int n_head, int head_dim, int ld, int pos_offset, float theta);

/* HF T5Attention._relative_position_bucket for one relative position
 * (key - query), step for step in fp32 with truncation toward zero. */
int ref_t5_bucket (int rel, int bidirectional, int num_buckets,
    int max_distance);

/* out[h,r,c] = table[bucket(c - (r + q_offset)), h]. */
void ref_t5_position_bias (const float *table, float *out, int heads, int rows,
    int cols, int q_offset, int bidirectional, int num_buckets,
    int max_distance);

/* IEEE binary16 and bfloat16 to float, exact (subnormals, inf, NaN). */
float ref_f16_to_f32 (uint16_t h);
float ref_bf16_to_f32 (uint16_t b);

/* Patches of img [channels, height, width] for a stride-patch conv:
 * out[py·(width/patch) + px, (c·patch + ky)·patch + kx]. */
void ref_im2col_patch (const float *img, float *out, int channels, int height,
    int width, int patch);

/* y[r,c] = x[r,c] - max - log Σ exp(x[r,:] - max), in double. */
void ref_log_softmax (const float *x, double *y, int rows, int cols);

/* out[r] = first index of the largest x[r,:] (NaN ignored; 0 if none). */
void ref_argmax (const float *x, int32_t *out, int rows, int cols);
