/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every operation of ops.h against the plain C references in tests/ref, on
 * random inputs of awkward shapes (sizes that are not multiples of 4, 16 or
 * a work-group), in place and out of place, with and without the optional
 * arguments. Relative errors are ‖out - ref‖ / ‖ref‖ against references
 * computed in double; lookups and copies must be exact.
 *
 * $IB_CL_TEST_DEVICE picks the device (ib_cl_device_params_parse syntax);
 * --row-group N forces the work-group size of the row-wise kernels
 * (queue-private.h), so the GPU path runs on a CPU device too. */
#include <math.h>
#include <string.h>

#include "half.h"
#include "ops.h"
#include "queue-private.h"
#include "ref-ops.h"

/* fp32 ops are held to this relative error against double references. */
#define TOL 2e-6

static IbClDevice *dev;
static IbClQueue *q;
static GRand *rng;

static gboolean
have_device (void)
{
  if (q == NULL)
    g_test_skip ("no OpenCL platform or device");
  return q != NULL;
}

static float *
rand_floats (gsize n, float lo, float hi)
{
  float *v = g_new (float, n ? n : 1);
  gsize i;

  for (i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rng, lo, hi);
  return v;
}

static void
finish_ok (void)
{
  GError *error = NULL;
  gboolean ok = ib_cl_queue_finish (q, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

/* A device buffer of @bytes (at least 4) holding @data if not NULL. */
static IbClBuffer *
buffer_with (const void *data, gsize bytes)
{
  GError *error = NULL;
  IbClBuffer *b = ib_cl_buffer_new (dev, bytes ? bytes : 4, &error);

  g_assert_no_error (error);
  if (data) {
    ib_cl_queue_upload (q, b, 0, data, bytes);
    finish_ok ();
  }
  return b;
}

static float *
download_floats (IbClBuffer *b, gsize n)
{
  float *v = g_new (float, n ? n : 1);

  ib_cl_queue_download (q, b, 0, v, n * 4);
  finish_ok ();
  return v;
}

/* Asserts rel err <= @tol and keeps the worst one per test for the log. */
static double worst;

static void
check_rel (const char *what, const float *out, const double *ref, gsize n,
    double tol)
{
  double e = ref_rel_err (out, ref, n);

  g_test_message ("%s: relative error %.3g", what, e);
  if (e > worst)
    worst = e;
  if (!(e <= tol))
    g_test_fail_printf ("%s: relative error %.3g > %.3g", what, e, tol);
}

static void
report_worst (const char *op)
{
  g_test_message ("%s: worst relative error %.3g", op, worst);
  worst = 0.0;
}

static void
check_exact (const char *what, const float *out, const float *ref, gsize n)
{
  gsize i;

  for (i = 0; i < n; i++)
    if (memcmp (&out[i], &ref[i], 4) != 0) {
      g_test_fail_printf ("%s: element %" G_GSIZE_FORMAT " is %.9g, not %.9g",
          what, i, out[i], ref[i]);
      return;
    }
}

/* --- norms --------------------------------------------------------------- */

typedef struct
{
  int rows, dim;
  float offset; /* added to every input: a mean far from 0 */
  gboolean bias, in_place;
  float eps;
} NormCase;

static const NormCase norm_cases[] = {
  { 1, 1, 0.0f, TRUE, FALSE, 1e-6f }, { 7, 3, 0.0f, TRUE, TRUE, 1e-6f },
  { 3, 37, 2.0f, FALSE, FALSE, 1e-12f }, { 2, 64, 0.0f, TRUE, FALSE, 1e-5f },
  { 257, 1408, 0.5f, TRUE, FALSE, 1e-6f }, { 5, 1413, 3.0f, TRUE, TRUE, 1e-6f },
  { 3, 6144, 4.0f, TRUE, FALSE, 1e-6f }, { 4, 768, -1.0f, FALSE, TRUE, 1e-12f },
  { 1, 4096, 0.0f, TRUE, FALSE, 1e-6f },
  { 2, 1408, 100.0f, TRUE, FALSE, 1e-6f }, /* mean 50x the spread */
};

static void
test_norm (gconstpointer data)
{
  const gboolean rms = GPOINTER_TO_INT (data);
  guint t;

  if (!have_device ())
    return;
  for (t = 0; t < G_N_ELEMENTS (norm_cases); t++) {
    const NormCase *c = &norm_cases[t];
    gsize n = (gsize) c->rows * c->dim;
    float *x = rand_floats (n, c->offset - 2.0f, c->offset + 2.0f);
    float *w = rand_floats (c->dim, -1.5f, 1.5f);
    float *b = rand_floats (c->dim, -0.5f, 0.5f);
    double *ref = g_new (double, n);
    IbClBuffer *bx = buffer_with (x, n * 4), *bw = buffer_with (w, c->dim * 4);
    IbClBuffer *bb = buffer_with (b, c->dim * 4);
    IbClBuffer *by = c->in_place ? bx : buffer_with (NULL, n * 4);
    char *what;
    float *y;

    if (rms) {
      ref_rmsnorm (x, w, ref, c->rows, c->dim, c->eps);
      ib_cl_rmsnorm (q, bx, bw, by, c->rows, c->dim, c->eps);
    } else {
      ref_layernorm (x, w, c->bias ? b : NULL, ref, c->rows, c->dim, c->eps);
      ib_cl_layernorm (q, bx, bw, c->bias ? bb : NULL, by, c->rows, c->dim,
          c->eps);
    }
    y = download_floats (by, n);
    what = g_strdup_printf ("%s [%d, %d]%s%s", rms ? "rmsnorm" : "layernorm",
        c->rows, c->dim, c->bias || rms ? "" : " no bias",
        c->in_place ? " in place" : "");
    check_rel (what, y, ref, n, TOL);

    g_free (what);
    g_free (y);
    if (by != bx)
      ib_cl_buffer_free (by);
    ib_cl_buffer_free (bx);
    ib_cl_buffer_free (bw);
    ib_cl_buffer_free (bb);
    g_free (ref);
    g_free (x);
    g_free (w);
    g_free (b);
  }
  report_worst (rms ? "rmsnorm" : "layernorm");
}

/* --- activations, gated products, additions ------------------------------ */

static void
test_activate (gconstpointer data)
{
  const IbClActivation act = GPOINTER_TO_INT (data);
  const gsize sizes[] = { 1, 3, 15, 16, 17, 37, 1000, 257 * 6144 + 5 };
  guint t;

  if (!have_device ())
    return;
  for (t = 0; t < G_N_ELEMENTS (sizes); t++) {
    gsize n = sizes[t];
    gboolean in_place = t % 2 == 1;
    /* Below x = -4, 1 + erf(x/√2) cancels: torch's own fp32 GELU is 0 or
     * nearly there while the true value is tiny, so a vector of one such
     * value has relative error ~1 in any fp32 implementation. The short
     * vectors keep clear of it; the long ones include it. */
    float *x = rand_floats (n, n < 16 ? -1.0f : -8.0f, 8.0f);
    double *ref = g_new (double, n);
    IbClBuffer *bx = buffer_with (x, n * 4);
    IbClBuffer *by = in_place ? bx : buffer_with (NULL, n * 4);
    char *what;
    float *y;

    ref_activate (act == IB_CL_ACT_GELU ? REF_ACT_GELU : REF_ACT_SILU, x, ref,
        n);
    ib_cl_activate (q, act, bx, by, n);
    y = download_floats (by, n);
    what = g_strdup_printf ("%s n=%" G_GSIZE_FORMAT "%s",
        act == IB_CL_ACT_GELU ? "gelu" : "silu", n,
        in_place ? " in place" : "");
    check_rel (what, y, ref, n, TOL);

    g_free (what);
    g_free (y);
    if (by != bx)
      ib_cl_buffer_free (by);
    ib_cl_buffer_free (bx);
    g_free (ref);
    g_free (x);
  }
  report_worst (act == IB_CL_ACT_GELU ? "gelu" : "silu");
}

static void
test_gated (gconstpointer data)
{
  const IbClActivation act = GPOINTER_TO_INT (data);
  const int shapes[][2] = { { 1, 1 }, { 7, 3 }, { 3, 37 }, { 2, 5123 },
    { 5, 11008 }, { 1, 5120 } };
  guint t;

  if (!have_device ())
    return;
  for (t = 0; t < G_N_ELEMENTS (shapes); t++) {
    int rows = shapes[t][0], f = shapes[t][1];
    gsize n = (gsize) rows * f;
    float *gu = rand_floats (2 * n, -6.0f, 6.0f);
    double *ref = g_new (double, n);
    IbClBuffer *bg = buffer_with (gu, 2 * n * 4),
               *by = buffer_with (NULL, n * 4);
    char *what;
    float *y;

    ref_gated (act == IB_CL_ACT_GELU ? REF_ACT_GELU : REF_ACT_SILU, gu, ref,
        rows, f);
    ib_cl_gated (q, act, bg, by, rows, f);
    y = download_floats (by, n);
    what = g_strdup_printf ("gated %s [%d, %d]",
        act == IB_CL_ACT_GELU ? "gelu" : "silu", rows, f);
    check_rel (what, y, ref, n, TOL);

    g_free (what);
    g_free (y);
    ib_cl_buffer_free (bg);
    ib_cl_buffer_free (by);
    g_free (ref);
    g_free (gu);
  }
  report_worst (act == IB_CL_ACT_GELU ? "gated gelu" : "gated silu");
}

static void
test_add (void)
{
  const gsize sizes[] = { 1, 17, 100003 };
  guint t, mode;

  if (!have_device ())
    return;
  for (t = 0; t < G_N_ELEMENTS (sizes); t++)
    for (mode = 0; mode < 3; mode++) { /* y separate, y == a, y == b */
      gsize n = sizes[t], i;
      float *a = rand_floats (n, -3.0f, 3.0f),
            *b = rand_floats (n, -3.0f, 3.0f);
      float *ref = g_new (float, n), *y;
      IbClBuffer *ba = buffer_with (a, n * 4), *bb = buffer_with (b, n * 4);
      IbClBuffer *by = mode == 1 ? ba :
          mode == 2              ? bb :
                                   buffer_with (NULL, n * 4);

      for (i = 0; i < n; i++)
        ref[i] = a[i] + b[i]; /* one fp32 rounding: must match exactly */
      ib_cl_add (q, ba, bb, by, n);
      y = download_floats (by, n);
      check_exact ("add", y, ref, n);

      g_free (y);
      if (mode == 0)
        ib_cl_buffer_free (by);
      ib_cl_buffer_free (ba);
      ib_cl_buffer_free (bb);
      g_free (ref);
      g_free (a);
      g_free (b);
    }
}

static void
test_add_bias (void)
{
  const int shapes[][2] = { { 1, 1 }, { 7, 37 }, { 257, 1408 }, { 3, 1413 } };
  guint t;

  if (!have_device ())
    return;
  for (t = 0; t < G_N_ELEMENTS (shapes); t++) {
    int rows = shapes[t][0], dim = shapes[t][1], r, i;
    gsize n = (gsize) rows * dim;
    float *x = rand_floats (n, -3.0f, 3.0f),
          *b = rand_floats (dim, -1.0f, 1.0f);
    float *ref = g_new (float, n), *y;
    IbClBuffer *bx = buffer_with (x, n * 4), *bb = buffer_with (b, dim * 4);

    for (r = 0; r < rows; r++)
      for (i = 0; i < dim; i++)
        ref[(gsize) r * dim + i] = x[(gsize) r * dim + i] + b[i];
    ib_cl_add_bias (q, bx, bb, rows, dim);
    y = download_floats (bx, n);
    check_exact ("add_bias", y, ref, n);

    g_free (y);
    ib_cl_buffer_free (bx);
    ib_cl_buffer_free (bb);
    g_free (ref);
    g_free (x);
    g_free (b);
  }
}

/* --- softmax ------------------------------------------------------------- */

typedef struct
{
  int batch, rows, cols;
  float scale;
  int bias_batch; /* 0: no bias */
  int mask; /* 0: none, 1: random keys masked, 2: every key masked */
  int causal_offset;
  float range; /* inputs in [-range, range] */
} SoftmaxCase;

static const SoftmaxCase softmax_cases[] = {
  { 1, 1, 1, 1.0f, 0, 0, -1, 4.0f }, { 3, 7, 37, 0.125f, 0, 0, -1, 30.0f },
  { 16, 257, 257, 0.0883883f, 0, 0, -1, 40.0f }, /* ViT-g attention */
  { 2, 5, 1000, 1.0f, 0, 1, -1, 6.0f },
  { 4, 7, 37, 1.0f, 4, 0, -1, 5.0f }, /* T5: bias per head */
  { 4, 7, 37, 1.0f, 2, 1, -1, 5.0f }, /* bias broadcast, b % bias_batch */
  { 3, 9, 40, 1.0f, 1, 1, 0, 5.0f }, /* prefill: causal from 0 */
  { 32, 1, 45, 0.0883883f, 0, 0, 44, 8.0f }, /* decode step, 44 cached */
  { 2, 7, 300, 0.5f, 0, 1, 100, 8.0f }, /* chunked prefill */
  { 3, 2, 17, 1.0f, 0, 2, -1, 5.0f }, /* every key masked: zeros */
  { 2, 3, 33, 1.0f, 0, 0, -1, 5000.0f }, /* large logits: needs the max */
};

static void
test_softmax (void)
{
  guint t;

  if (!have_device ())
    return;
  for (t = 0; t < G_N_ELEMENTS (softmax_cases); t++) {
    const SoftmaxCase *c = &softmax_cases[t];
    gsize n = (gsize) c->batch * c->rows * c->cols, i;
    gsize nb = (gsize) MAX (c->bias_batch, 1) * c->rows * c->cols;
    float *x = rand_floats (n, -c->range, c->range);
    float *bias = rand_floats (nb, -3.0f, 3.0f);
    float *mask = g_new0 (float, c->cols);
    double *ref = g_new (double, n);
    IbClBuffer *bx, *bb, *bm;
    char *what;
    float *y;

    if (c->range > 1000.0f) /* exact inputs: v = x needs no rounding */
      for (i = 0; i < n; i++)
        x[i] = roundf (x[i]);
    for (i = 0; i < (gsize) c->cols; i++)
      if (c->mask == 2 || (c->mask == 1 && g_rand_int_range (rng, 0, 3) == 0))
        mask[i] = i % 2 ? -INFINITY : -G_MAXFLOAT; /* finfo.min, as HF */
    bx = buffer_with (x, n * 4);
    bb = buffer_with (bias, nb * 4);
    bm = buffer_with (mask, c->cols * 4);

    ref_softmax (x, ref, c->batch, c->rows, c->cols, c->scale,
        c->bias_batch ? bias : NULL, c->bias_batch, c->mask ? mask : NULL,
        c->causal_offset);
    ib_cl_softmax (q, bx, c->batch, c->rows, c->cols, c->scale,
        c->bias_batch ? bb : NULL, c->bias_batch, c->mask ? bm : NULL,
        c->causal_offset);
    y = download_floats (bx, n);
    what = g_strdup_printf ("softmax [%d, %d, %d] bias_batch %d mask %d "
                            "causal %d",
        c->batch, c->rows, c->cols, c->bias_batch, c->mask, c->causal_offset);
    check_rel (what, y, ref, n, TOL);
    /* masked keys: exactly 0 */
    for (i = 0; i < n; i++)
      if (ref[i] == 0.0 && y[i] != 0.0) {
        g_test_fail_printf ("%s: masked element %" G_GSIZE_FORMAT " is %g",
            what, i, y[i]);
        break;
      }

    g_free (what);
    g_free (y);
    ib_cl_buffer_free (bx);
    ib_cl_buffer_free (bb);
    ib_cl_buffer_free (bm);
    g_free (ref);
    g_free (x);
    g_free (bias);
    g_free (mask);
  }
  report_worst ("softmax");
}

/* --- RoPE ---------------------------------------------------------------- */

typedef struct
{
  int rows, n_head, head_dim;
  int ld_extra; /* row stride = n_head · head_dim + ld_extra */
  int offset; /* first float of the view */
  int pos_offset;
  float theta;
} RopeCase;

static const RopeCase rope_cases[] = {
  { 1, 1, 2, 0, 0, 0, 10000.0f },
  { 7, 3, 8, 5, 3, 1, 10000.0f },
  { 5, 32, 128, 0, 0, 0, 10000.0f }, /* LLaMA-7B prefill */
  { 1, 32, 128, 0, 0, 2047, 10000.0f }, /* LLaMA decode, late position */
  { 9, 4, 64, 2 * 4 * 64, 4 * 64, 100, 500000.0f }, /* K slice of fused QKV */
  { 3, 2, 256, 7, 1, 40, 10000.0f },
  { 2, 5, 6, 1, 0, 30000, 10000.0f },
};

static void
test_rope (void)
{
  guint t;

  if (!have_device ())
    return;
  for (t = 0; t < G_N_ELEMENTS (rope_cases); t++) {
    const RopeCase *c = &rope_cases[t];
    int ld = c->n_head * c->head_dim + c->ld_extra;
    gsize size = c->offset + (gsize) c->rows * ld + 3; /* slack after */
    float *x = rand_floats (size, -2.0f, 2.0f), *y;
    double *ref = g_new (double, size);
    IbClBuffer *bx = buffer_with (x, size * 4);
    char *what;

    ref_rope (x, ref, size, c->offset, c->rows, c->n_head, c->head_dim, ld,
        c->pos_offset, c->theta);
    ib_cl_rope (q, bx, c->offset, c->rows, c->n_head, c->head_dim, ld,
        c->pos_offset, c->theta);
    y = download_floats (bx, size);
    what = g_strdup_printf ("rope [%d, %d, %d] ld %d offset %d pos %d", c->rows,
        c->n_head, c->head_dim, ld, c->offset, c->pos_offset);
    /* The whole buffer: the floats outside the view must be untouched. */
    check_rel (what, y, ref, size, TOL);
    for (gsize i = 0; i < size; i++) {
      gsize k = i < (gsize) c->offset ? 0 : (i - c->offset) % ld;
      gboolean inside = i >= (gsize) c->offset &&
          i < c->offset + (gsize) c->rows * ld &&
          k < (gsize) c->n_head * c->head_dim;
      if (!inside && y[i] != x[i]) {
        g_test_fail_printf ("%s: float %" G_GSIZE_FORMAT " outside changed",
            what, i);
        break;
      }
    }

    g_free (what);
    g_free (y);
    ib_cl_buffer_free (bx);
    g_free (ref);
    g_free (x);
  }
  report_worst ("rope");
}

/* Rows at positions of their own (ib_cl_rope_rows, the batched decoding
 * step's queries and keys): each row within the tolerance of the
 * reference at its position, and bit for bit as ib_cl_rope gives it
 * alone. */
static void
test_rope_rows (void)
{
  /* its own numbers: the other tests' data stay as they were */
  GRand *own = g_rand_new_with_seed (20261207);
  guint t;

  if (!have_device ())
    goto out;
  for (t = 0; t < G_N_ELEMENTS (rope_cases); t++) {
    const RopeCase *c = &rope_cases[t];
    int ld = c->n_head * c->head_dim + c->ld_extra;
    gsize size = c->offset + (gsize) c->rows * ld + 3;
    float *x = g_new (float, size), *y, *alone;
    double *ref = g_new (double, size), *ref_row = g_new (double, size);
    gint32 *pos = g_new (gint32, c->rows);
    IbClBuffer *bx, *ba, *bp;
    char *what;
    int r;

    for (gsize i = 0; i < size; i++)
      x[i] = (float) g_rand_double_range (own, -2.0, 2.0);
    bx = buffer_with (x, size * 4);
    ba = buffer_with (x, size * 4);
    /* positions out of order, repeated (beams of one sequence) */
    for (r = 0; r < c->rows; r++)
      pos[r] = c->pos_offset + (r * 7919) % (c->rows + 3) / 2;
    bp = buffer_with (pos, (gsize) c->rows * 4);
    for (gsize i = 0; i < size; i++)
      ref[i] = x[i];
    for (r = 0; r < c->rows; r++) {
      const gsize row = c->offset + (gsize) r * ld;
      ref_rope (x, ref_row, size, row, 1, c->n_head, c->head_dim, ld, pos[r],
          c->theta);
      for (gsize i = row; i < row + (gsize) c->n_head * c->head_dim; i++)
        ref[i] = ref_row[i];
      ib_cl_rope (q, ba, row, 1, c->n_head, c->head_dim, ld, pos[r], c->theta);
    }
    ib_cl_rope_rows (q, bx, c->offset, c->rows, c->n_head, c->head_dim, ld, bp,
        c->theta);
    y = download_floats (bx, size);
    alone = download_floats (ba, size);
    what = g_strdup_printf ("rope_rows [%d, %d, %d] ld %d offset %d", c->rows,
        c->n_head, c->head_dim, ld, c->offset);
    check_rel (what, y, ref, size, TOL);
    g_assert_cmpmem (y, size * 4, alone, size * 4);

    g_free (what);
    g_free (alone);
    g_free (y);
    ib_cl_buffer_free (bp);
    ib_cl_buffer_free (ba);
    ib_cl_buffer_free (bx);
    g_free (pos);
    g_free (ref_row);
    g_free (ref);
    g_free (x);
  }
  report_worst ("rope_rows");
out:
  g_rand_free (own);
}

/* --- T5 relative position bias ------------------------------------------- */

/* HF transformers' T5Attention._relative_position_bucket for rel = -150 ..
 * 150 with 32 buckets and max distance 128, bucket b written as 'A' + b
 * (b < 26) or 'a' + b - 26. Printed by torch 2.x / transformers. */
static const char t5_golden_bidirectional[] =
    "PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPOOOOOOOOOOOOO"
    "OOOOOOOOOOOOOONNNNNNNNNNNNNNNNNNMMMMMMMMMMMMMMLLLLLLLLLKKKKKKKJJJJIIIIHGFE"
    "DCBARSTUVWXYYYYZZZZaaaaaaabbbbbbbbbccccccccccccccddddddddddddddddddeeeeeee"
    "eeeeeeeeeeeeeeeeeeeeffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    "ffffff";
static const char t5_golden_causal[] =
    "ffffffffffffffffffffffffffffffffffffffeeeeeeeeeeeeeeddddddddddddcccccccccc"
    "bbbbbbbbbbaaaaaaaaZZZZZZZYYYYYYXXXXXXWWWWWVVVVUUUUTTTSSSRRQQQPONMLKJIHGFED"
    "CBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAA";

static int
golden_bucket (const char *golden, int rel)
{
  char ch = golden[rel + 150];
  return ch >= 'a' ? ch - 'a' + 26 : ch - 'A';
}

typedef struct
{
  int heads, rows, cols, q_offset;
  gboolean bidirectional;
  int num_buckets, max_distance;
} T5Case;

static const T5Case t5_cases[] = {
  { 4, 151, 151, 0, TRUE, 32, 128 }, /* rel -150 .. 150 */
  { 4, 151, 151, 0, FALSE, 32, 128 },
  { 3, 1, 301, 150, FALSE, 32, 128 }, /* decoder step after 150 tokens */
  { 2, 7, 37, 5, TRUE, 32, 128 },
  { 5, 260, 300, 0, TRUE, 64, 256 },
  { 5, 260, 300, 0, FALSE, 64, 256 },
  { 1, 90, 90, 3, TRUE, 16, 64 },
  { 1, 90, 90, 3, FALSE, 16, 64 },
  { 2, 50, 60, 0, TRUE, 8, 20 },
  { 2, 120, 120, 0, FALSE, 20, 100 },
};

static void
test_t5_bias (void)
{
  guint t;
  int rel;

  /* The C reference against torch's own buckets. */
  for (rel = -150; rel <= 150; rel++) {
    g_assert_cmpint (ref_t5_bucket (rel, TRUE, 32, 128), ==,
        golden_bucket (t5_golden_bidirectional, rel));
    g_assert_cmpint (ref_t5_bucket (rel, FALSE, 32, 128), ==,
        golden_bucket (t5_golden_causal, rel));
  }
  if (!have_device ())
    return;
  for (t = 0; t < G_N_ELEMENTS (t5_cases); t++) {
    const T5Case *c = &t5_cases[t];
    gsize n = (gsize) c->heads * c->rows * c->cols;
    gsize nt = (gsize) c->num_buckets * c->heads, i;
    float *table = g_new (float, nt), *ref = g_new (float, n), *y;
    IbClBuffer *bt, *bo = buffer_with (NULL, n * 4);
    char *what;

    for (i = 0; i < nt; i++) /* entry (bucket, h) = bucket · 100 + h */
      table[i] = (float) (i / c->heads * 100 + i % c->heads);
    bt = buffer_with (table, nt * 4);
    ref_t5_position_bias (table, ref, c->heads, c->rows, c->cols, c->q_offset,
        c->bidirectional, c->num_buckets, c->max_distance);
    ib_cl_t5_position_bias (q, bt, bo, c->heads, c->rows, c->cols, c->q_offset,
        c->bidirectional, c->num_buckets, c->max_distance);
    y = download_floats (bo, n);
    what = g_strdup_printf ("t5 bias [%d, %d, %d] q_offset %d %s %d/%d",
        c->heads, c->rows, c->cols, c->q_offset,
        c->bidirectional ? "bidirectional" : "causal", c->num_buckets,
        c->max_distance);
    check_exact (what, y, ref, n);

    g_free (what);
    g_free (y);
    ib_cl_buffer_free (bt);
    ib_cl_buffer_free (bo);
    g_free (ref);
    g_free (table);
  }
}

/* --- embedding lookup and widening --------------------------------------- */

/* @n random values stored as @dtype in @raw, and their exact fp32 values. */
static void
rand_table (IbClDtype dtype, gsize n, void **raw, float **values)
{
  float *f = rand_floats (n, -4.0f, 4.0f);
  gsize i;

  if (dtype == IB_CL_DTYPE_F32) {
    *raw = g_memdup2 (f, n * 4);
  } else {
    guint16 *h = g_new (guint16, n ? n : 1);
    for (i = 0; i < n; i++) {
      guint32 u;
      memcpy (&u, &f[i], 4);
      h[i] = dtype == IB_CL_DTYPE_F16 ? ib_cl_f32_to_f16 (f[i]) : u >> 16;
      f[i] = dtype == IB_CL_DTYPE_F16 ? ref_f16_to_f32 (h[i]) :
                                        ref_bf16_to_f32 (h[i]);
    }
    *raw = h;
  }
  *values = f;
}

static void
test_embed (void)
{
  const IbClDtype dtypes[] = { IB_CL_DTYPE_F32, IB_CL_DTYPE_F16,
    IB_CL_DTYPE_BF16 };
  const int dims[] = { 1, 16, 37, 4099 };
  const int vocab = 301;
  guint d, t;

  if (!have_device ())
    return;
  for (d = 0; d < G_N_ELEMENTS (dtypes); d++)
    for (t = 0; t < G_N_ELEMENTS (dims); t++) {
      int dim = dims[t], n = 9, i, k;
      gint32 ids[9] = { 0, 300, 5, 5, -1, 301, 17, 123456, 299 };
      gsize nt = (gsize) vocab * dim;
      void *raw;
      float *values, *ref = g_new0 (float, (gsize) n *dim), *y;
      IbClBuffer *bt, *bi = buffer_with (ids, sizeof ids);
      IbClBuffer *bo = buffer_with (NULL, (gsize) n * dim * 4);
      char *what;

      rand_table (dtypes[d], nt, &raw, &values);
      bt = buffer_with (raw, nt * ib_cl_dtype_size (dtypes[d]));
      for (i = 0; i < n; i++)
        for (k = 0; k < dim && ids[i] >= 0 && ids[i] < vocab; k++)
          ref[(gsize) i * dim + k] = values[(gsize) ids[i] * dim + k];
      ib_cl_embed (q, bt, dtypes[d], vocab, bi, bo, n, dim);
      y = download_floats (bo, (gsize) n * dim);
      what = g_strdup_printf ("embed %s dim %d", ib_cl_dtype_name (dtypes[d]),
          dim);
      check_exact (what, y, ref, (gsize) n * dim);

      g_free (what);
      g_free (y);
      ib_cl_buffer_free (bt);
      ib_cl_buffer_free (bi);
      ib_cl_buffer_free (bo);
      g_free (raw);
      g_free (values);
      g_free (ref);
    }
}

static void
test_convert (void)
{
  const IbClDtype dtypes[] = { IB_CL_DTYPE_F32, IB_CL_DTYPE_F16,
    IB_CL_DTYPE_BF16 };
  const gsize sizes[] = { 1, 17, 100003 };
  /* f16 specials: ±0, smallest subnormal, largest subnormal, smallest
   * normal, max, ±inf */
  const guint16 specials[] = { 0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x7bff,
    0x7c00, 0xfc00 };
  guint d, t, i;

  if (!have_device ())
    return;
  for (d = 0; d < G_N_ELEMENTS (dtypes); d++)
    for (t = 0; t < G_N_ELEMENTS (sizes); t++) {
      gsize n = sizes[t];
      void *raw;
      float *values, *y;
      IbClBuffer *bi, *bo = buffer_with (NULL, n * 4);
      char *what;

      rand_table (dtypes[d], n, &raw, &values);
      if (dtypes[d] != IB_CL_DTYPE_F32)
        for (i = 0; i < G_N_ELEMENTS (specials) && i < n; i++) {
          ((guint16 *) raw)[i] = specials[i];
          values[i] = dtypes[d] == IB_CL_DTYPE_F16 ?
              ref_f16_to_f32 (specials[i]) :
              ref_bf16_to_f32 (specials[i]);
        }
      bi = buffer_with (raw, n * ib_cl_dtype_size (dtypes[d]));
      ib_cl_convert_to_f32 (q, bi, dtypes[d], bo, n);
      y = download_floats (bo, n);
      what = g_strdup_printf ("convert %s n=%" G_GSIZE_FORMAT,
          ib_cl_dtype_name (dtypes[d]), n);
      check_exact (what, y, values, n);

      g_free (what);
      g_free (y);
      ib_cl_buffer_free (bi);
      ib_cl_buffer_free (bo);
      g_free (raw);
      g_free (values);
    }
}

/* --- patches, copies ----------------------------------------------------- */

static void
test_im2col (void)
{
  const int shapes[][4] = { { 3, 224, 224, 14 }, { 2, 30, 45, 7 },
    { 1, 5, 5, 5 }, { 4, 13, 17, 3 }, { 3, 4, 9, 5 } };
  guint t;

  if (!have_device ())
    return;
  for (t = 0; t < G_N_ELEMENTS (shapes); t++) {
    int ch = shapes[t][0], h = shapes[t][1], w = shapes[t][2], p = shapes[t][3];
    gsize n_img = (gsize) ch * h * w;
    gsize n_out = (gsize) (h / p) * (w / p) * ch * p * p;
    float *img = rand_floats (n_img, -1.0f, 1.0f), *ref = g_new (float, n_out);
    float *y;
    IbClBuffer *bi = buffer_with (img, n_img * 4);
    IbClBuffer *bo = buffer_with (NULL, n_out * 4);
    char *what;

    ref_im2col_patch (img, ref, ch, h, w, p);
    ib_cl_im2col_patch (q, bi, bo, ch, h, w, p);
    y = download_floats (bo, n_out);
    what = g_strdup_printf ("im2col [%d, %d, %d] patch %d", ch, h, w, p);
    check_exact (what, y, ref, n_out);

    g_free (what);
    g_free (y);
    ib_cl_buffer_free (bi);
    ib_cl_buffer_free (bo);
    g_free (ref);
    g_free (img);
  }
}

typedef struct
{
  int src_off, src_ld, dst_off, dst_ld, rows, cols;
} CopyCase;

static const CopyCase copy_cases[] = {
  { 0, 1, 0, 1, 1, 1 },
  { 3, 40, 5, 37, 7, 37 }, /* unaligned offsets, dense destination */
  { 0, 4096, 44 * 4096, 4096, 1, 4096 }, /* KV-cache append */
  { 128, 3 * 4096, 1, 4096 + 3, 9, 4096 }, /* slice of a fused QKV */
  { 17, 20, 0, 33, 257, 19 },
};

/* ib_cl_attention_rows: three decode rows of two sequences (two beams of
 * one, one of the other; 37 and 5 keys, head_dim 20: partial blocks of 16)
 * with per-sequence biases at different offsets, each row's new key and
 * value appended from its qkv row, against the formula in double; the
 * appended keys and values exact; bad table entries are errors. */
#define AR_HEADS 2
#define AR_HD 20
#define AR_W (AR_HEADS * AR_HD)
#define AR_CTX 40
#define AR_ROWS 3

static void
test_attention_rows (void)
{
  static const int len[AR_ROWS] = { 37, 37, 5 }, seq[AR_ROWS] = { 0, 0, 1 };
  static const int beam[AR_ROWS] = { 0, 1, 0 }, bias_off[2] = { 0, 3 };
  const gsize cache = 2 * AR_CTX * AR_W, nq = AR_ROWS * 3 * AR_W;
  const float scale = 0.25f;
  float *kv[2][2], *bias[2], *qkv, *out;
  GRand *saved;
  gint32 table[AR_ROWS * IB_ATT_ROW_INTS] = { 0 };
  IbClBuffer *bkv[2][2], *bb[2], *bq, *bt, *bc;
  IbClAttentionRows a = { { NULL } };
  double ref[AR_ROWS * AR_W];
  GError *error = NULL;
  gsize need = 0;
  int r, h, j, d, s, x;

  if (!have_device ())
    return;
  /* its own random numbers: the later tests' inputs stay as they were */
  saved = rng;
  rng = g_rand_new_with_seed (16);
  qkv = rand_floats (nq, -1.0f, 1.0f);
  for (s = 0; s < 2; s++) {
    for (x = 0; x < 2; x++) {
      kv[s][x] = rand_floats (cache, -1.0f, 1.0f);
      bkv[s][x] = buffer_with (kv[s][x], cache * 4);
    }
    bias[s] = rand_floats (bias_off[s] + AR_HEADS * AR_CTX, -2.0f, 2.0f);
    bb[s] = buffer_with (bias[s], (bias_off[s] + AR_HEADS * AR_CTX) * 4);
    a.k[s] = bkv[s][0];
    a.v[s] = bkv[s][1];
    a.bias[s] = bb[s];
  }
  g_rand_free (rng);
  rng = saved;
  for (r = 0; r < AR_ROWS; r++) {
    gint32 *e = table + r * IB_ATT_ROW_INTS;
    e[IB_ATT_ROW_K] = e[IB_ATT_ROW_V] = beam[r] * AR_CTX * AR_W;
    e[IB_ATT_ROW_LEN] = len[r];
    e[IB_ATT_ROW_BIAS] = bias_off[seq[r]];
    e[IB_ATT_ROW_SEQ] = seq[r];
  }
  /* the reference: the new key and value at len - 1, then the formula */
  for (r = 0; r < AR_ROWS; r++) {
    const float *row = qkv + r * 3 * AR_W;
    float *k = kv[seq[r]][0] + beam[r] * AR_CTX * AR_W;
    float *v = kv[seq[r]][1] + beam[r] * AR_CTX * AR_W;
    memcpy (k + (len[r] - 1) * AR_W, row + AR_W, AR_W * 4);
    memcpy (v + (len[r] - 1) * AR_W, row + 2 * AR_W, AR_W * 4);
    for (h = 0; h < AR_HEADS; h++) {
      double p[AR_CTX], m = -INFINITY, sum = 0.0;
      for (j = 0; j < len[r]; j++) {
        double dot = 0.0;
        for (d = 0; d < AR_HD; d++)
          dot += (double) row[h * AR_HD + d] * k[j * AR_W + h * AR_HD + d];
        p[j] = scale * dot + bias[seq[r]][bias_off[seq[r]] + h * len[r] + j];
        m = MAX (m, p[j]);
      }
      for (j = 0; j < len[r]; j++)
        sum += (p[j] = exp (p[j] - m));
      for (d = 0; d < AR_HD; d++) {
        double c = 0.0;
        for (j = 0; j < len[r]; j++)
          c += p[j] / sum * v[j * AR_W + h * AR_HD + d];
        ref[r * AR_W + h * AR_HD + d] = c;
      }
    }
  }
  bq = buffer_with (qkv, nq * 4);
  bt = buffer_with (table, sizeof table);
  bc = buffer_with (NULL, AR_ROWS * AR_W * 4);
  ib_cl_attention_rows_scratch (AR_ROWS, AR_HEADS, AR_CTX, &need);
  g_assert_true (ib_cl_queue_reserve_scratch (q, need, &error));
  g_assert_no_error (error);
  a.n_seqs = 2;
  a.kv_ld = AR_W;
  a.table = bt;
  a.host_table = table;
  a.n_heads = AR_HEADS;
  a.head_dim = AR_HD;
  a.scale = scale;
  a.append_k = AR_W;
  a.append_v = 2 * AR_W;
  ib_cl_attention_rows (q, &a, (IbClMatrix){ bq, 0, 3 * AR_W, 0 }, AR_ROWS,
      (IbClMatrix){ bc, 0, AR_W, 0 });
  out = download_floats (bc, AR_ROWS * AR_W);
  check_rel ("attention rows", out, ref, AR_ROWS * AR_W, 1e-5);
  g_free (out);
  for (s = 0; s < 2; s++)
    for (x = 0; x < 2; x++) {
      out = download_floats (bkv[s][x], cache);
      check_exact ("appended keys and values", out, kv[s][x], cache);
      g_free (out);
    }

  /* a row naming a third sequence; keys past the end of the cache */
  table[2 * IB_ATT_ROW_INTS + IB_ATT_ROW_SEQ] = 2;
  ib_cl_attention_rows (q, &a, (IbClMatrix){ bq, 0, 3 * AR_W, 0 }, AR_ROWS,
      (IbClMatrix){ bc, 0, AR_W, 0 });
  g_assert_false (ib_cl_queue_finish (q, &error));
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG);
  g_test_message ("expected error: %s", error->message);
  g_clear_error (&error);
  table[2 * IB_ATT_ROW_INTS + IB_ATT_ROW_SEQ] = 1;
  table[2 * IB_ATT_ROW_INTS + IB_ATT_ROW_K] = AR_CTX * AR_W;
  table[2 * IB_ATT_ROW_INTS + IB_ATT_ROW_LEN] = AR_CTX + 1;
  ib_cl_attention_rows (q, &a, (IbClMatrix){ bq, 0, 3 * AR_W, 0 }, AR_ROWS,
      (IbClMatrix){ bc, 0, AR_W, 0 });
  g_assert_false (ib_cl_queue_finish (q, &error));
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG);
  g_test_message ("expected error: %s", error->message);
  g_clear_error (&error);

  for (s = 0; s < 2; s++) {
    for (x = 0; x < 2; x++) {
      ib_cl_buffer_free (bkv[s][x]);
      g_free (kv[s][x]);
    }
    ib_cl_buffer_free (bb[s]);
    g_free (bias[s]);
  }
  ib_cl_buffer_free (bq);
  ib_cl_buffer_free (bt);
  ib_cl_buffer_free (bc);
  g_free (qkv);
  report_worst ("attention rows");
}

static void
test_copy_rows (void)
{
  guint t;

  if (!have_device ())
    return;
  for (t = 0; t < G_N_ELEMENTS (copy_cases); t++) {
    const CopyCase *c = &copy_cases[t];
    gsize ns = c->src_off + (gsize) c->rows * c->src_ld + 5;
    gsize nd = c->dst_off + (gsize) c->rows * c->dst_ld + 5;
    float *src = rand_floats (ns, -1.0f, 1.0f),
          *dst = rand_floats (nd, 2.0f, 3.0f);
    float *ref = g_memdup2 (dst, nd * 4), *y;
    IbClBuffer *bs = buffer_with (src, ns * 4), *bd = buffer_with (dst, nd * 4);
    char *what;
    int r, k;

    for (r = 0; r < c->rows; r++)
      for (k = 0; k < c->cols; k++)
        ref[c->dst_off + (gsize) r * c->dst_ld + k] =
            src[c->src_off + (gsize) r * c->src_ld + k];
    ib_cl_copy_rows (q, bs, c->src_off, c->src_ld, bd, c->dst_off, c->dst_ld,
        c->rows, c->cols);
    y = download_floats (bd, nd);
    what = g_strdup_printf ("copy_rows [%d, %d] %d/%d -> %d/%d", c->rows,
        c->cols, c->src_off, c->src_ld, c->dst_off, c->dst_ld);
    check_exact (what, y, ref, nd);

    g_free (what);
    g_free (y);
    ib_cl_buffer_free (bs);
    ib_cl_buffer_free (bd);
    g_free (ref);
    g_free (src);
    g_free (dst);
  }
}

/* --- vocabulary rows ----------------------------------------------------- */

static const int vocab_shapes[][2] = { { 1, 1 }, { 3, 37 }, { 2, 32000 },
  { 1, 32001 }, { 5, 1000 }, { 64, 257 } };

static void
test_log_softmax (void)
{
  guint t;

  if (!have_device ())
    return;
  for (t = 0; t < G_N_ELEMENTS (vocab_shapes); t++) {
    int rows = vocab_shapes[t][0], cols = vocab_shapes[t][1];
    gsize n = (gsize) rows * cols;
    float *x = rand_floats (n, -20.0f, 20.0f), *y;
    double *ref = g_new (double, n);
    IbClBuffer *bx = buffer_with (x, n * 4);
    char *what;

    ref_log_softmax (x, ref, rows, cols);
    ib_cl_log_softmax (q, bx, rows, cols);
    y = download_floats (bx, n);
    what = g_strdup_printf ("log_softmax [%d, %d]", rows, cols);
    check_rel (what, y, ref, n, TOL);

    g_free (what);
    g_free (y);
    ib_cl_buffer_free (bx);
    g_free (ref);
    g_free (x);
  }
  report_worst ("log_softmax");
}

static void
test_argmax (void)
{
  guint t;

  if (!have_device ())
    return;
  for (t = 0; t < G_N_ELEMENTS (vocab_shapes); t++) {
    int rows = vocab_shapes[t][0], cols = vocab_shapes[t][1], r;
    gsize n = (gsize) rows * cols;
    float *x = rand_floats (n, -20.0f, 20.0f);
    gint32 *ref = g_new (gint32, rows), *y = g_new (gint32, rows);
    IbClBuffer *bx, *bo = buffer_with (NULL, rows * 4);

    /* Row r: the maximum twice (ties go to the first), at places that move
     * between the vector body, the tail and index 0. */
    for (r = 0; r < rows; r++) {
      float *xr = x + (gsize) r * cols;
      int a = (r * 7919) % cols, b = (a + cols / 2 + 1) % cols;
      if (r % 3 == 1)
        a = cols - 1;
      if (r % 3 == 2)
        a = 0;
      xr[a] = 50.0f;
      xr[b] = 50.0f;
    }
    bx = buffer_with (x, n * 4);
    ref_argmax (x, ref, rows, cols);
    ib_cl_argmax (q, bx, bo, rows, cols);
    ib_cl_queue_download (q, bo, 0, y, rows * 4);
    finish_ok ();
    for (r = 0; r < rows; r++)
      if (y[r] != ref[r]) {
        g_test_fail_printf ("argmax [%d, %d] row %d: %d, not %d", rows, cols, r,
            y[r], ref[r]);
        break;
      }

    ib_cl_buffer_free (bx);
    ib_cl_buffer_free (bo);
    g_free (ref);
    g_free (y);
    g_free (x);
  }
}

/* --- errors -------------------------------------------------------------- */

static void
test_errors (void)
{
  float x[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, y[8];
  IbClBuffer *small, *b;
  GError *error = NULL;

  if (!have_device ())
    return;
  small = buffer_with (x, sizeof x);
  b = buffer_with (x, sizeof x);
  /* [3, 3] does not fit 8 floats: recorded, later work skipped */
  ib_cl_layernorm (q, small, small, NULL, small, 3, 3, 1e-6f);
  g_assert_true (ib_cl_queue_failed (q));
  ib_cl_add (q, b, b, b, 8);
  g_assert_false (ib_cl_queue_finish (q, &error));
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG);
  g_test_message ("expected error: %s", error->message);
  g_clear_error (&error);
  y[0] = 0.0f;
  ib_cl_queue_download (q, b, 0, y, sizeof y);
  finish_ok ();
  g_assert_cmpfloat (y[0], ==, 1.0f); /* the add did not run */

  ib_cl_rope (q, b, 0, 1, 1, 3, 3, 0, 10000.0f); /* odd head_dim */
  g_assert_false (ib_cl_queue_finish (q, &error));
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG);
  g_clear_error (&error);
  ib_cl_rope (q, b, 0, 1, 1, 258, 258, 0, 10000.0f);
  g_assert_false (ib_cl_queue_finish (q, &error));
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  ib_cl_copy_rows (q, b, 5, 4, b, 0, 4, 1, 4); /* source overruns */
  g_assert_false (ib_cl_queue_finish (q, &error));
  g_assert_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG);
  g_clear_error (&error);

  /* the queue works again */
  ib_cl_add (q, b, b, b, 8);
  ib_cl_queue_download (q, b, 0, y, sizeof y);
  finish_ok ();
  g_assert_cmpfloat (y[7], ==, 16.0f);
  ib_cl_buffer_free (small);
  ib_cl_buffer_free (b);
}

/* --- timing (-m perf) ---------------------------------------------------- */

/* Best of 10 windows of 8 back-to-back launches: the machines are shared. */
static void
time_op (const char *what, void (*run) (gpointer), gpointer data, double bytes)
{
  GTimer *timer = g_timer_new ();
  double best = G_MAXDOUBLE;
  int w, i;

  run (data); /* warm-up: kernel specialisation */
  finish_ok ();
  for (w = 0; w < 10; w++) {
    g_timer_start (timer);
    for (i = 0; i < 8; i++)
      run (data);
    finish_ok ();
    best = MIN (best, g_timer_elapsed (timer, NULL) / 8);
  }
  g_test_message ("perf %-28s %9.1f us  %6.1f GB/s", what, best * 1e6,
      bytes / best * 1e-9);
  g_timer_destroy (timer);
}

typedef struct
{
  IbClBuffer *x, *y, *w, *b;
  int rows, dim;
} PerfArgs;

static void
run_layernorm (gpointer p)
{
  PerfArgs *a = p;
  ib_cl_layernorm (q, a->x, a->w, a->b, a->y, a->rows, a->dim, 1e-6f);
}

static void
run_rmsnorm (gpointer p)
{
  PerfArgs *a = p;
  ib_cl_rmsnorm (q, a->x, a->w, a->y, a->rows, a->dim, 1e-6f);
}

static void
run_gelu (gpointer p)
{
  PerfArgs *a = p;
  ib_cl_activate (q, IB_CL_ACT_GELU, a->x, a->y, (gsize) a->rows * a->dim);
}

static void
run_gated (gpointer p)
{
  PerfArgs *a = p;
  ib_cl_gated (q, IB_CL_ACT_SILU, a->x, a->y, a->rows, a->dim / 2);
}

static void
run_add (gpointer p)
{
  PerfArgs *a = p;
  ib_cl_add (q, a->x, a->w, a->y, (gsize) a->rows * a->dim);
}

static void
run_softmax (gpointer p)
{
  PerfArgs *a = p;
  ib_cl_softmax (q, a->y, 16, a->rows, a->rows, 0.088f, NULL, 0, NULL, -1);
}

static void
run_log_softmax (gpointer p)
{
  PerfArgs *a = p;
  ib_cl_log_softmax (q, a->y, 1, a->dim);
}

static void
run_argmax (gpointer p)
{
  PerfArgs *a = p;
  ib_cl_argmax (q, a->x, a->b, 1, a->dim);
}

static void
run_rope (gpointer p)
{
  PerfArgs *a = p;
  ib_cl_rope (q, a->y, 0, a->rows, 32, 128, 4096, 0, 10000.0f);
}

static void
test_perf (void)
{
  const gsize big = 257 * 6144 * 2;
  float *h = rand_floats (big, -2.0f, 2.0f);
  PerfArgs a;

  if (!have_device ())
    return;
  if (!g_test_perf ()) {
    g_test_skip ("timings only with -m perf");
    g_free (h);
    return;
  }
  a.x = buffer_with (h, big * 4);
  a.y = buffer_with (h, big * 4);
  a.w = buffer_with (h, big * 4);
  a.b = buffer_with (h, big * 4);

  a.rows = 257, a.dim = 1408;
  time_op ("layernorm [257, 1408]", run_layernorm, &a, 257 * 1408 * 8.0);
  a.rows = 1, a.dim = 4096;
  time_op ("rmsnorm [1, 4096]", run_rmsnorm, &a, 4096 * 8.0);
  a.rows = 64, a.dim = 4096;
  time_op ("rmsnorm [64, 4096]", run_rmsnorm, &a, 64 * 4096 * 8.0);
  a.rows = 257, a.dim = 6144;
  time_op ("gelu [257, 6144]", run_gelu, &a, 257 * 6144 * 8.0);
  a.rows = 64, a.dim = 2 * 11008;
  time_op ("gated silu [64, 11008]", run_gated, &a, 64 * 11008 * 12.0);
  a.rows = 257, a.dim = 1408;
  time_op ("add [257 * 1408]", run_add, &a, 257 * 1408 * 12.0);
  a.rows = 257;
  time_op ("softmax [16, 257, 257]", run_softmax, &a, 16 * 257 * 257 * 8.0);
  a.dim = 32000;
  time_op ("log_softmax [1, 32000]", run_log_softmax, &a, 32000 * 8.0);
  time_op ("argmax [1, 32000]", run_argmax, &a, 32000 * 4.0);
  a.rows = 64;
  time_op ("rope [64, 32, 128]", run_rope, &a, 64 * 4096 * 8.0);

  ib_cl_buffer_free (a.x);
  ib_cl_buffer_free (a.y);
  ib_cl_buffer_free (a.w);
  ib_cl_buffer_free (a.b);
  g_free (h);
}

int
main (int argc, char **argv)
{
  IbClDeviceParams params;
  GError *error = NULL;
  const char *spec = g_getenv ("IB_CL_TEST_DEVICE");
  guint64 row_group = 0;
  int ret;

  /* --row-group N, before g_test_init sees the arguments */
  if (argc >= 3 && g_str_equal (argv[1], "--row-group")) {
    if (!g_ascii_string_to_unsigned (argv[2], 10, 1, 256, &row_group, NULL) ||
        (row_group & (row_group - 1)) != 0)
      g_error ("--row-group: a power of two up to 256, not %s", argv[2]);
    argv[2] = argv[0];
    argv += 2;
    argc -= 2;
  }
  g_test_init (&argc, &argv, NULL);
  rng = g_rand_new_with_seed (20261127);

  ib_cl_device_params_init (&params);
  if (spec && !ib_cl_device_params_parse (&params, spec, &error))
    g_error ("IB_CL_TEST_DEVICE: %s", error->message);
  dev = ib_cl_device_new (&params, &error);
  if (dev == NULL) {
    /* No OpenCL at all: skip. Anything else (a kernel that does not
     * build) is a failure. */
    if (!g_error_matches (error, IB_CL_ERROR, IB_CL_ERROR_NO_PLATFORM) &&
        !g_error_matches (error, IB_CL_ERROR, IB_CL_ERROR_NO_DEVICE))
      g_error ("opening the OpenCL device: %s", error->message);
    g_clear_error (&error);
  } else {
    q = ib_cl_queue_new (dev, &error);
    g_assert_no_error (error);
    ib_cl_queue_set_row_group (q, (guint) row_group);
    g_test_message ("device: %s (%s), row work-group %" G_GUINT64_FORMAT
                    " (0: the device's default)",
        ib_cl_device_get_info (dev)->name,
        ib_cl_device_get_info (dev)->platform, row_group);
  }

  g_test_add_data_func ("/ops/layernorm", GINT_TO_POINTER (FALSE), test_norm);
  g_test_add_data_func ("/ops/rmsnorm", GINT_TO_POINTER (TRUE), test_norm);
  g_test_add_data_func ("/ops/activate/gelu", GINT_TO_POINTER (IB_CL_ACT_GELU),
      test_activate);
  g_test_add_data_func ("/ops/activate/silu", GINT_TO_POINTER (IB_CL_ACT_SILU),
      test_activate);
  g_test_add_data_func ("/ops/gated/gelu", GINT_TO_POINTER (IB_CL_ACT_GELU),
      test_gated);
  g_test_add_data_func ("/ops/gated/silu", GINT_TO_POINTER (IB_CL_ACT_SILU),
      test_gated);
  g_test_add_func ("/ops/add", test_add);
  g_test_add_func ("/ops/add_bias", test_add_bias);
  g_test_add_func ("/ops/softmax", test_softmax);
  g_test_add_func ("/ops/attention-rows", test_attention_rows);
  g_test_add_func ("/ops/rope", test_rope);
  g_test_add_func ("/ops/rope-rows", test_rope_rows);
  g_test_add_func ("/ops/t5_position_bias", test_t5_bias);
  g_test_add_func ("/ops/embed", test_embed);
  g_test_add_func ("/ops/convert_to_f32", test_convert);
  g_test_add_func ("/ops/im2col_patch", test_im2col);
  g_test_add_func ("/ops/copy_rows", test_copy_rows);
  g_test_add_func ("/ops/log_softmax", test_log_softmax);
  g_test_add_func ("/ops/argmax", test_argmax);
  g_test_add_func ("/ops/errors", test_errors);
  g_test_add_func ("/ops/perf", test_perf);

  ret = g_test_run ();

  ib_cl_queue_free (q);
  ib_cl_device_unref (dev);
  g_rand_free (rng);
  return ret;
}
