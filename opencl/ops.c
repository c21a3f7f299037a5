/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host launchers for the kernels behind ops.h: argument checks, work sizes,
 * one kernel per call. */
#include "ops.h"
#include "queue-private.h"
#include "gemm-priv.h" /* ib_cl_queue_scratch */

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "kernel-defs.h" /* IB_HAS_*, IB_ROW_GROUP_MAX, IB_ROPE_MAX_HALF */

/* Work-items per group along the first dimension of the elementwise and
 * per-row kernels, which give every work-item 16 floats. */
#define ELT_GROUP_CPU 16
#define ELT_GROUP_GPU 64

static gboolean invalid (IbClQueue *q, const char *op, const char *fmt, ...)
    G_GNUC_PRINTF (3, 4);

/* Records an IB_CL_ERROR_INVALID_ARG naming @op; returns FALSE. */
static gboolean
invalid (IbClQueue *q, const char *op, const char *fmt, ...)
{
  va_list args;
  char *msg;
  GError *e;

  va_start (args, fmt);
  msg = g_strdup_vprintf (fmt, args);
  va_end (args);
  e = g_error_new (IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG, "%s: %s", op, msg);
  g_free (msg);
  return ib_cl_queue_take_error (q, e);
}

/* @buf holds elements [first, first + count) of @elem bytes each, and every
 * index fits the kernels' int arguments. */
static gboolean
check_elems (IbClQueue *q, const char *op, const char *what,
    const IbClBuffer *buf, gsize first, gsize count, gsize elem)
{
  if (buf == NULL)
    return invalid (q, op, "%s buffer is NULL", what);
  if (first > G_MAXINT32 || count > G_MAXINT32 - first)
    return invalid (q, op,
        "%s: %" G_GSIZE_FORMAT " elements at %" G_GSIZE_FORMAT
        " exceed the kernels' 32-bit indices",
        what, count, first);
  if ((first + count) * elem > buf->size)
    return invalid (q, op,
        "%s buffer holds %" G_GSIZE_FORMAT
        " bytes, the call needs %" G_GSIZE_FORMAT,
        what, buf->size, (first + count) * elem);
  return TRUE;
}

static gboolean
check_floats (IbClQueue *q, const char *op, const char *what,
    const IbClBuffer *buf, gsize first, gsize count)
{
  return check_elems (q, op, what, buf, first, count, 4);
}

/* A float count of @a · @b · @c, or G_MAXSIZE when it cannot be indexed. */
static gsize
count3 (int a, int b, int c)
{
  guint64 n = (guint64) a * (guint64) b;

  if (n > G_MAXINT32)
    return G_MAXSIZE;
  n *= (guint64) c;
  return n > G_MAXINT32 ? G_MAXSIZE : (gsize) n;
}

static gboolean
is_cpu (IbClQueue *q)
{
  return ib_cl_device_get_info (ib_cl_queue_get_device (q))->is_cpu;
}

/* Work-items per row for the row-wise kernels (kernels/rows.cl): one on CPU
 * devices, where PoCL runs the group as a loop and a single work-item sweeps
 * the row with vectors; 64 on GPUs. Tests force either path on any device
 * (queue-private.h). */
static size_t
row_group (IbClQueue *q)
{
  guint forced = ib_cl_queue_get_row_group (q);

  if (forced)
    return MIN (forced, IB_ROW_GROUP_MAX);
  return is_cpu (q) ? 1 : 64;
}

static size_t
round_up (size_t n, size_t m)
{
  return (n + m - 1) / m * m;
}

/* Sizes for a 2-D launch whose first dimension has @n0 work-items. */
static void
sizes_2d (IbClQueue *q, size_t n0, size_t n1, size_t global[2], size_t local[2])
{
  size_t l0 = 1, cap = is_cpu (q) ? ELT_GROUP_CPU : ELT_GROUP_GPU;

  while (l0 < n0 && l0 < cap)
    l0 *= 2;
  local[0] = l0;
  local[1] = 1;
  global[0] = round_up (n0, l0);
  global[1] = n1;
}

static size_t
chunks16 (gsize n)
{
  return (n + 15) / 16;
}

/* Launches a row-wise kernel over @n_rows rows. */
static void
run_rows (IbClLaunch *l, size_t n_rows)
{
  size_t group = row_group (l->q);
  size_t global = n_rows * group;

  ib_cl_launch_run (l, 1, &global, &group);
}

/* Shared checks of the row-wise ops on a dense [rows, dim] x and y. */
static gboolean
check_rows (IbClQueue *q, const char *op, const IbClBuffer *x,
    const IbClBuffer *y, int rows, int dim)
{
  if (rows < 0 || dim < 0)
    return invalid (q, op, "negative shape [%d, %d]", rows, dim);
  return check_floats (q, op, "input", x, 0, count3 (rows, dim, 1)) &&
      check_floats (q, op, "output", y, 0, count3 (rows, dim, 1));
}

void
ib_cl_layernorm (IbClQueue *q, const IbClBuffer *x, const IbClBuffer *w,
    const IbClBuffer *b, IbClBuffer *y, int rows, int dim, float eps)
{
  const char *op = "layernorm";
  IbClLaunch l;

  if (ib_cl_queue_failed (q) || !check_rows (q, op, x, y, rows, dim) ||
      !check_floats (q, op, "weight", w, 0, dim) ||
      (b && !check_floats (q, op, "bias", b, 0, dim)))
    return;
  if (rows == 0 || dim == 0 || !ib_cl_launch_begin (&l, q, "layernorm_f32"))
    return;
  ib_cl_launch_mem (&l, x);
  ib_cl_launch_mem (&l, w);
  ib_cl_launch_mem_opt (&l, b);
  ib_cl_launch_mem (&l, y);
  ib_cl_launch_int (&l, dim);
  ib_cl_launch_float (&l, eps);
  ib_cl_launch_int (&l, b ? IB_HAS_BIAS : 0);
  run_rows (&l, rows);
}

void
ib_cl_rmsnorm (IbClQueue *q, const IbClBuffer *x, const IbClBuffer *w,
    IbClBuffer *y, int rows, int dim, float eps)
{
  const char *op = "rmsnorm";
  IbClLaunch l;

  if (ib_cl_queue_failed (q) || !check_rows (q, op, x, y, rows, dim) ||
      !check_floats (q, op, "weight", w, 0, dim))
    return;
  if (rows == 0 || dim == 0 || !ib_cl_launch_begin (&l, q, "rmsnorm_f32"))
    return;
  ib_cl_launch_mem (&l, x);
  ib_cl_launch_mem (&l, w);
  ib_cl_launch_mem (&l, y);
  ib_cl_launch_int (&l, dim);
  ib_cl_launch_float (&l, eps);
  run_rows (&l, rows);
}

/* Sizes for a 1-D kernel giving 16 of @n elements to each work-item. */
static void
sizes_1d (IbClQueue *q, gsize n, size_t *global, size_t *local)
{
  *local = is_cpu (q) ? ELT_GROUP_CPU : ELT_GROUP_GPU;
  *global = round_up (chunks16 (n), *local);
}

static const char *
act_name (IbClActivation act, gboolean gated)
{
  switch (act) {
    case IB_CL_ACT_GELU:
      return gated ? "gated_gelu_f32" : "act_gelu_f32";
    case IB_CL_ACT_SILU:
      return gated ? "gated_silu_f32" : "act_silu_f32";
  }
  return NULL;
}

void
ib_cl_activate (IbClQueue *q, IbClActivation act, const IbClBuffer *x,
    IbClBuffer *y, gsize n)
{
  const char *op = "activate", *name = act_name (act, FALSE);
  size_t global, local;
  IbClLaunch l;

  if (ib_cl_queue_failed (q))
    return;
  if (name == NULL) {
    invalid (q, op, "unknown activation %d", (int) act);
    return;
  }
  if (!check_floats (q, op, "input", x, 0, n) ||
      !check_floats (q, op, "output", y, 0, n))
    return;
  if (n == 0 || !ib_cl_launch_begin (&l, q, name))
    return;
  ib_cl_launch_mem (&l, x);
  ib_cl_launch_mem (&l, y);
  ib_cl_launch_int (&l, (gint32) n);
  sizes_1d (q, n, &global, &local);
  ib_cl_launch_run (&l, 1, &global, &local);
}

void
ib_cl_gated (IbClQueue *q, IbClActivation act, const IbClBuffer *gu,
    IbClBuffer *y, int rows, int f)
{
  const char *op = "gated", *name = act_name (act, TRUE);
  size_t global[2], local[2];
  IbClLaunch l;

  if (ib_cl_queue_failed (q))
    return;
  if (name == NULL) {
    invalid (q, op, "unknown activation %d", (int) act);
    return;
  }
  if (rows < 0 || f < 0) {
    invalid (q, op, "negative shape [%d, %d]", rows, f);
    return;
  }
  if (!check_floats (q, op, "input", gu, 0, count3 (rows, f, 2)) ||
      !check_floats (q, op, "output", y, 0, count3 (rows, f, 1)))
    return;
  if (rows == 0 || f == 0 || !ib_cl_launch_begin (&l, q, name))
    return;
  ib_cl_launch_mem (&l, gu);
  ib_cl_launch_mem (&l, y);
  ib_cl_launch_int (&l, rows);
  ib_cl_launch_int (&l, f);
  sizes_2d (q, chunks16 (f), rows, global, local);
  ib_cl_launch_run (&l, 2, global, local);
}

void
ib_cl_add (IbClQueue *q, const IbClBuffer *a, const IbClBuffer *b,
    IbClBuffer *y, gsize n)
{
  const char *op = "add";
  size_t global, local;
  IbClLaunch l;

  if (ib_cl_queue_failed (q) || !check_floats (q, op, "a", a, 0, n) ||
      !check_floats (q, op, "b", b, 0, n) ||
      !check_floats (q, op, "output", y, 0, n))
    return;
  if (n == 0 || !ib_cl_launch_begin (&l, q, "add_f32"))
    return;
  ib_cl_launch_mem (&l, a);
  ib_cl_launch_mem (&l, b);
  ib_cl_launch_mem (&l, y);
  ib_cl_launch_int (&l, (gint32) n);
  sizes_1d (q, n, &global, &local);
  ib_cl_launch_run (&l, 1, &global, &local);
}

void
ib_cl_add_bias (IbClQueue *q, IbClBuffer *x, const IbClBuffer *bias, int rows,
    int dim)
{
  const char *op = "add_bias";
  size_t global[2], local[2];
  IbClLaunch l;

  if (ib_cl_queue_failed (q) || !check_rows (q, op, x, x, rows, dim) ||
      !check_floats (q, op, "bias", bias, 0, dim))
    return;
  if (rows == 0 || dim == 0 || !ib_cl_launch_begin (&l, q, "add_bias_f32"))
    return;
  ib_cl_launch_mem (&l, x);
  ib_cl_launch_mem (&l, bias);
  ib_cl_launch_int (&l, rows);
  ib_cl_launch_int (&l, dim);
  sizes_2d (q, chunks16 (dim), rows, global, local);
  ib_cl_launch_run (&l, 2, global, local);
}

void
ib_cl_softmax (IbClQueue *q, IbClBuffer *x, int batch, int rows, int cols,
    float scale, const IbClBuffer *bias, int bias_batch,
    const IbClBuffer *key_mask, int causal_offset)
{
  const char *op = "softmax";
  int flags = (bias ? IB_HAS_BIAS : 0) | (key_mask ? IB_HAS_MASK : 0);
  IbClLaunch l;

  if (ib_cl_queue_failed (q))
    return;
  if (batch < 0 || rows < 0 || cols < 0) {
    invalid (q, op, "negative shape [%d, %d, %d]", batch, rows, cols);
    return;
  }
  if (bias && bias_batch <= 0) {
    invalid (q, op, "bias_batch %d must be positive", bias_batch);
    return;
  }
  if (!check_floats (q, op, "input", x, 0, count3 (batch, rows, cols)) ||
      (bias &&
          !check_floats (q, op, "bias", bias, 0,
              count3 (bias_batch, rows, cols))) ||
      (key_mask && !check_floats (q, op, "key mask", key_mask, 0, cols)))
    return;
  if (batch == 0 || rows == 0 || cols == 0 ||
      !ib_cl_launch_begin (&l, q, "softmax_f32"))
    return;
  ib_cl_launch_mem (&l, x);
  ib_cl_launch_int (&l, rows);
  ib_cl_launch_int (&l, cols);
  ib_cl_launch_float (&l, scale);
  ib_cl_launch_mem_opt (&l, bias);
  ib_cl_launch_int (&l, bias ? bias_batch : 1);
  ib_cl_launch_mem_opt (&l, key_mask);
  ib_cl_launch_int (&l, causal_offset < 0 ? -1 : causal_offset);
  ib_cl_launch_int (&l, flags);
  run_rows (&l, (size_t) batch * rows);
}

void
ib_cl_attention_rows_scratch (int rows, int n_heads, int max_len, gsize *need)
{
  *need = MAX (*need, (gsize) rows * n_heads * max_len * 4);
}

void
ib_cl_attention_rows (IbClQueue *q, const IbClAttentionRows *a, IbClMatrix qm,
    int rows, IbClMatrix ctx)
{
  const char *op = "attention rows";
  const int width = a->n_heads * a->head_dim;
  const gboolean append = a->append_k >= 0 && a->append_v >= 0;
  int r, i, longest = 0;
  IbClBuffer *scores;
  IbClLaunch l;

  if (ib_cl_queue_failed (q) || rows <= 0)
    return;
  if (a->n_heads <= 0 || a->head_dim <= 0 || a->kv_ld < width ||
      qm.ld < width || ctx.ld < width || a->n_seqs <= 0 ||
      a->n_seqs > IB_ATT_MAX_SEQS ||
      (append &&
          (a->append_k + width > qm.ld || a->append_v + width > qm.ld))) {
    invalid (q, op,
        "bad shape: %d heads x %d with row strides %d (q), %d (keys, "
        "values), %d (ctx), new keys and values at %d and %d, %d sequences "
        "(at most %d)",
        a->n_heads, a->head_dim, qm.ld, a->kv_ld, ctx.ld, a->append_k,
        a->append_v, a->n_seqs, IB_ATT_MAX_SEQS);
    return;
  }
  if (!check_floats (q, op, "query", qm.buf, qm.offset,
          count3 (rows - 1, qm.ld, 1) + width) ||
      !check_floats (q, op, "context", ctx.buf, ctx.offset,
          count3 (rows - 1, ctx.ld, 1) + width) ||
      !check_elems (q, op, "row table", a->table, 0,
          count3 (a->table_row + rows, IB_ATT_ROW_INTS, 1), 4))
    return;
  for (r = 0; r < rows; r++) {
    const gint32 *e =
        a->host_table + (gsize) (a->table_row + r) * IB_ATT_ROW_INTS;
    const int n = e[IB_ATT_ROW_LEN], s = e[IB_ATT_ROW_SEQ];
    gsize keys;
    if (n <= 0 || e[IB_ATT_ROW_K] < 0 || e[IB_ATT_ROW_V] < 0 || s < 0 ||
        s >= a->n_seqs || (a->bias[0] != NULL) != (a->bias[s] != NULL) ||
        (a->bias[s] && e[IB_ATT_ROW_BIAS] < 0)) {
      invalid (q, op,
          "row %d: %d keys at offsets %d, %d, bias at %d, sequence %d of %d",
          a->table_row + r, n, e[IB_ATT_ROW_K], e[IB_ATT_ROW_V],
          e[IB_ATT_ROW_BIAS], s, a->n_seqs);
      return;
    }
    keys = count3 (n - 1, a->kv_ld, 1) + width;
    if (!check_floats (q, op, "keys", a->k[s], e[IB_ATT_ROW_K], keys) ||
        !check_floats (q, op, "values", a->v[s], e[IB_ATT_ROW_V], keys) ||
        (a->bias[s] &&
            !check_floats (q, op, "bias", a->bias[s], e[IB_ATT_ROW_BIAS],
                count3 (a->n_heads, n, 1))))
      return;
    longest = MAX (longest, n);
  }
  scores = ib_cl_queue_scratch (q, count3 (rows, a->n_heads, longest) * 4);
  if (scores == NULL || !ib_cl_launch_begin (&l, q, "attention_rows_f32"))
    return;
  ib_cl_launch_mem (&l, qm.buf);
  ib_cl_launch_int (&l, (gint32) qm.offset);
  ib_cl_launch_int (&l, qm.ld);
  /* the unused sequences' arguments repeat sequence 0's buffers */
  for (i = 0; i < IB_ATT_MAX_SEQS; i++)
    ib_cl_launch_mem (&l, a->k[i < a->n_seqs ? i : 0]);
  for (i = 0; i < IB_ATT_MAX_SEQS; i++)
    ib_cl_launch_mem (&l, a->v[i < a->n_seqs ? i : 0]);
  for (i = 0; i < IB_ATT_MAX_SEQS; i++)
    ib_cl_launch_mem_opt (&l, a->bias[i < a->n_seqs ? i : 0]);
  ib_cl_launch_int (&l, a->kv_ld);
  ib_cl_launch_mem (&l, a->table);
  ib_cl_launch_int (&l, a->table_row);
  ib_cl_launch_mem (&l, scores);
  ib_cl_launch_int (&l, longest);
  ib_cl_launch_mem (&l, ctx.buf);
  ib_cl_launch_int (&l, (gint32) ctx.offset);
  ib_cl_launch_int (&l, ctx.ld);
  ib_cl_launch_int (&l, a->n_heads);
  ib_cl_launch_int (&l, a->head_dim);
  ib_cl_launch_float (&l, a->scale);
  ib_cl_launch_int (&l, append ? a->append_k : 0);
  ib_cl_launch_int (&l, append ? a->append_v : 0);
  ib_cl_launch_int (&l,
      (a->bias[0] ? IB_HAS_BIAS : 0) | (append ? IB_ATT_APPEND : 0));
  run_rows (&l, (size_t) rows * a->n_heads);
}

/* kernels/rope.cl IbRopeFreqs */
typedef struct
{
  cl_float f[IB_ROPE_MAX_HALF];
} RopeFreqs;

/* Checks a RoPE view and computes inv_freq; FALSE when there is nothing to
 * do or the queue has an error. */
static gboolean
rope_begin (IbClQueue *q, const char *op, IbClBuffer *x, gsize offset, int rows,
    int n_head, int head_dim, int ld, int pos_offset, float theta,
    RopeFreqs *inv_freq)
{
  int half = head_dim / 2, j;

  if (ib_cl_queue_failed (q))
    return FALSE;
  if (rows < 0 || n_head < 0 || head_dim < 0 || head_dim % 2 != 0 ||
      pos_offset < 0 || ld < 0 || (gint64) n_head * head_dim > ld) {
    invalid (q, op,
        "bad shape: %d rows of %d heads x %d (even) with row stride %d, "
        "first position %d",
        rows, n_head, head_dim, ld, pos_offset);
    return FALSE;
  }
  if (half > IB_ROPE_MAX_HALF) {
    GError *e = g_error_new (IB_CL_ERROR, IB_CL_ERROR_UNSUPPORTED,
        "%s: head_dim %d is larger than %d", op, head_dim,
        2 * IB_ROPE_MAX_HALF);
    ib_cl_queue_take_error (q, e);
    return FALSE;
  }
  if (rows == 0 || n_head == 0 || head_dim == 0)
    return FALSE;
  if (!check_floats (q, op, "input", x, offset,
          (gsize) (rows - 1) * ld + (gsize) n_head * head_dim))
    return FALSE;

  /* HF LLaMA: inv_freq = 1.0 / (theta ** (arange(0, d, 2).float() / d)),
   * every step in fp32. */
  memset (inv_freq, 0, sizeof (*inv_freq));
  for (j = 0; j < half; j++)
    inv_freq->f[j] = 1.0f / powf (theta, (float) (2 * j) / (float) head_dim);
  return TRUE;
}

void
ib_cl_rope (IbClQueue *q, IbClBuffer *x, gsize offset, int rows, int n_head,
    int head_dim, int ld, int pos_offset, float theta)
{
  size_t global[2], local[2];
  RopeFreqs inv_freq;
  IbClLaunch l;

  if (!rope_begin (q, "rope", x, offset, rows, n_head, head_dim, ld, pos_offset,
          theta, &inv_freq) ||
      !ib_cl_launch_begin (&l, q, "rope_f32"))
    return;
  ib_cl_launch_mem (&l, x);
  ib_cl_launch_int (&l, (gint32) offset);
  ib_cl_launch_int (&l, rows);
  ib_cl_launch_int (&l, n_head);
  ib_cl_launch_int (&l, head_dim);
  ib_cl_launch_int (&l, ld);
  ib_cl_launch_int (&l, pos_offset);
  ib_cl_launch_bytes (&l, sizeof (inv_freq), &inv_freq);
  sizes_2d (q, chunks16 (head_dim / 2), rows, global, local);
  ib_cl_launch_run (&l, 2, global, local);
}

void
ib_cl_rope_rows (IbClQueue *q, IbClBuffer *x, gsize offset, int rows,
    int n_head, int head_dim, int ld, const IbClBuffer *positions, float theta)
{
  const char *op = "rope_rows";
  size_t global[2], local[2];
  RopeFreqs inv_freq;
  IbClLaunch l;

  if (!rope_begin (q, op, x, offset, rows, n_head, head_dim, ld, 0, theta,
          &inv_freq))
    return;
  if (positions->size < (gsize) rows * 4) {
    invalid (q, op, "%d rows; the positions buffer holds %" G_GSIZE_FORMAT,
        rows, positions->size / 4);
    return;
  }
  if (!ib_cl_launch_begin (&l, q, "rope_rows_f32"))
    return;
  ib_cl_launch_mem (&l, x);
  ib_cl_launch_int (&l, (gint32) offset);
  ib_cl_launch_int (&l, rows);
  ib_cl_launch_int (&l, n_head);
  ib_cl_launch_int (&l, head_dim);
  ib_cl_launch_int (&l, ld);
  ib_cl_launch_mem (&l, positions);
  ib_cl_launch_bytes (&l, sizeof (inv_freq), &inv_freq);
  sizes_2d (q, chunks16 (head_dim / 2), rows, global, local);
  ib_cl_launch_run (&l, 2, global, local);
}

void
ib_cl_t5_position_bias (IbClQueue *q, const IbClBuffer *table, IbClBuffer *out,
    int heads, int rows, int cols, int q_offset, gboolean bidirectional,
    int num_buckets, int max_distance)
{
  const char *op = "t5_position_bias";
  int exact = (bidirectional ? num_buckets / 2 : num_buckets) / 2;
  size_t global[2], local[2];
  IbClLaunch l;

  if (ib_cl_queue_failed (q))
    return;
  if (heads < 0 || rows < 0 || cols < 0 || q_offset < 0) {
    invalid (q, op, "negative shape [%d, %d, %d] or offset %d", heads, rows,
        cols, q_offset);
    return;
  }
  if (exact < 1 || max_distance <= exact) {
    invalid (q, op, "%d buckets and max distance %d give no buckets",
        num_buckets, max_distance);
    return;
  }
  if (!check_floats (q, op, "table", table, 0,
          count3 (num_buckets, heads, 1)) ||
      !check_floats (q, op, "output", out, 0, count3 (heads, rows, cols)))
    return;
  if (heads == 0 || rows == 0 || cols == 0 ||
      !ib_cl_launch_begin (&l, q, "t5_position_bias_f32"))
    return;
  ib_cl_launch_mem (&l, table);
  ib_cl_launch_mem (&l, out);
  ib_cl_launch_int (&l, heads);
  ib_cl_launch_int (&l, rows);
  ib_cl_launch_int (&l, cols);
  ib_cl_launch_int (&l, q_offset);
  ib_cl_launch_int (&l, bidirectional ? 1 : 0);
  ib_cl_launch_int (&l, num_buckets);
  /* HF: math.log(max_distance / max_exact) in double, then the fp32 tensor
   * is divided by it as an fp32 scalar. */
  ib_cl_launch_float (&l, (float) log ((double) max_distance / exact));
  sizes_2d (q, cols, rows, global, local);
  ib_cl_launch_run (&l, 2, global, local);
}

void
ib_cl_embed (IbClQueue *q, const IbClBuffer *table, IbClDtype dtype, int vocab,
    const IbClBuffer *ids, IbClBuffer *out, int n, int dim)
{
  const char *op = "embed", *name;
  size_t global[2], local[2];
  IbClLaunch l;

  if (ib_cl_queue_failed (q))
    return;
  switch (dtype) {
    case IB_CL_DTYPE_F32:
      name = "embed_f32";
      break;
    case IB_CL_DTYPE_F16:
      name = "embed_f16";
      break;
    case IB_CL_DTYPE_BF16:
      name = "embed_bf16";
      break;
    default:
      invalid (q, op, "unknown table dtype %d", (int) dtype);
      return;
  }
  if (vocab <= 0 || n < 0 || dim < 0) {
    invalid (q, op, "bad shape: vocab %d, %d ids, dim %d", vocab, n, dim);
    return;
  }
  if (!check_elems (q, op, "table", table, 0, count3 (vocab, dim, 1),
          ib_cl_dtype_size (dtype)) ||
      !check_elems (q, op, "ids", ids, 0, n, 4) ||
      !check_floats (q, op, "output", out, 0, count3 (n, dim, 1)))
    return;
  if (n == 0 || dim == 0 || !ib_cl_launch_begin (&l, q, name))
    return;
  ib_cl_launch_mem (&l, table);
  ib_cl_launch_int (&l, vocab);
  ib_cl_launch_mem (&l, ids);
  ib_cl_launch_mem (&l, out);
  ib_cl_launch_int (&l, n);
  ib_cl_launch_int (&l, dim);
  sizes_2d (q, chunks16 (dim), n, global, local);
  ib_cl_launch_run (&l, 2, global, local);
}

void
ib_cl_im2col_patch (IbClQueue *q, const IbClBuffer *img, IbClBuffer *out,
    int channels, int height, int width, int patch)
{
  const char *op = "im2col_patch";
  size_t global[2], local[2];
  gsize np;
  IbClLaunch l;

  if (ib_cl_queue_failed (q))
    return;
  if (channels < 0 || height < 0 || width < 0 || patch <= 0) {
    invalid (q, op, "bad shape [%d, %d, %d], patch %d", channels, height, width,
        patch);
    return;
  }
  np = (gsize) (height / patch) * (width / patch);
  if (!check_floats (q, op, "image", img, 0, count3 (channels, height, width)))
    return;
  /* From here patch <= height, width: patch² fits an int. */
  if (np == 0 || channels == 0 ||
      !check_floats (q, op, "output", out, 0,
          count3 ((int) np, channels, patch * patch)) ||
      !ib_cl_launch_begin (&l, q, "im2col_patch_f32"))
    return;
  ib_cl_launch_mem (&l, img);
  ib_cl_launch_mem (&l, out);
  ib_cl_launch_int (&l, channels);
  ib_cl_launch_int (&l, height);
  ib_cl_launch_int (&l, width);
  ib_cl_launch_int (&l, patch);
  sizes_2d (q, (size_t) channels * patch, np, global, local);
  ib_cl_launch_run (&l, 2, global, local);
}

void
ib_cl_convert_to_f32 (IbClQueue *q, const IbClBuffer *in, IbClDtype dtype,
    IbClBuffer *out, gsize n)
{
  const char *op = "convert_to_f32";
  size_t global = n;
  IbClLaunch l;

  if (ib_cl_queue_failed (q))
    return;
  if (dtype != IB_CL_DTYPE_F32 && dtype != IB_CL_DTYPE_F16 &&
      dtype != IB_CL_DTYPE_BF16) {
    invalid (q, op, "unknown dtype %d", (int) dtype);
    return;
  }
  if (!check_elems (q, op, "input", in, 0, n, ib_cl_dtype_size (dtype)) ||
      !check_floats (q, op, "output", out, 0, n) || n == 0)
    return;
  if (dtype == IB_CL_DTYPE_F32) {
    ib_cl_queue_copy (q, in, 0, out, 0, n * 4);
    return;
  }
  if (!ib_cl_launch_begin (&l, q,
          dtype == IB_CL_DTYPE_F16 ? "convert_f16_f32" : "convert_bf16_f32"))
    return;
  ib_cl_launch_mem (&l, in);
  ib_cl_launch_mem (&l, out);
  ib_cl_launch_int (&l, (gint32) n);
  ib_cl_launch_run (&l, 1, &global, NULL);
}

void
ib_cl_log_softmax (IbClQueue *q, IbClBuffer *x, int rows, int cols)
{
  IbClLaunch l;

  if (ib_cl_queue_failed (q) ||
      !check_rows (q, "log_softmax", x, x, rows, cols))
    return;
  if (rows == 0 || cols == 0 || !ib_cl_launch_begin (&l, q, "log_softmax_f32"))
    return;
  ib_cl_launch_mem (&l, x);
  ib_cl_launch_int (&l, cols);
  run_rows (&l, rows);
}

void
ib_cl_argmax (IbClQueue *q, const IbClBuffer *x, IbClBuffer *out, int rows,
    int cols)
{
  const char *op = "argmax";
  IbClLaunch l;

  if (ib_cl_queue_failed (q))
    return;
  if (rows < 0 || cols <= 0) {
    invalid (q, op, "bad shape [%d, %d]", rows, cols);
    return;
  }
  if (!check_floats (q, op, "input", x, 0, count3 (rows, cols, 1)) ||
      !check_elems (q, op, "output", out, 0, rows, 4))
    return;
  if (rows == 0 || !ib_cl_launch_begin (&l, q, "argmax_f32"))
    return;
  ib_cl_launch_mem (&l, x);
  ib_cl_launch_mem (&l, out);
  ib_cl_launch_int (&l, cols);
  run_rows (&l, rows);
}

void
ib_cl_copy_rows (IbClQueue *q, const IbClBuffer *src, gsize src_off, int src_ld,
    IbClBuffer *dst, gsize dst_off, int dst_ld, int rows, int cols)
{
  const char *op = "copy_rows";
  size_t global[2], local[2];
  gsize src_span, dst_span;
  IbClLaunch l;

  if (ib_cl_queue_failed (q))
    return;
  if (rows < 0 || cols < 0 || src_ld < cols || dst_ld < cols) {
    invalid (q, op, "bad shape [%d, %d] with row strides %d and %d", rows, cols,
        src_ld, dst_ld);
    return;
  }
  if (rows == 0 || cols == 0)
    return;
  src_span = (gsize) (rows - 1) * src_ld + cols;
  dst_span = (gsize) (rows - 1) * dst_ld + cols;
  if (!check_floats (q, op, "source", src, src_off, src_span) ||
      !check_floats (q, op, "destination", dst, dst_off, dst_span) ||
      !ib_cl_launch_begin (&l, q, "copy_rows_f32"))
    return;
  ib_cl_launch_mem (&l, src);
  ib_cl_launch_int (&l, (gint32) src_off);
  ib_cl_launch_int (&l, src_ld);
  ib_cl_launch_mem (&l, dst);
  ib_cl_launch_int (&l, (gint32) dst_off);
  ib_cl_launch_int (&l, dst_ld);
  ib_cl_launch_int (&l, rows);
  ib_cl_launch_int (&l, cols);
  sizes_2d (q, chunks16 (cols), rows, global, local);
  ib_cl_launch_run (&l, 2, global, local);
}
