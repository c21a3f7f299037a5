/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Weight packing and bulk conversion on the host, blocked and vectorised. */
#include "pack.h"

#include "gemm-priv.h"
#include "half.h"
#include "half-private.h"

#include <math.h>
#include <string.h>

#define MAX_THREADS 16

/* Below this many elements one thread is faster than starting others. */
#define MIN_PARALLEL (1u << 20)

G_STATIC_ASSERT (IB_CL_GEMM_NR % 16 == 0);

static inline float
load_f32 (const void *src, IbClDtype dtype, gsize i)
{
  switch (dtype) {
    case IB_CL_DTYPE_F16:
      return ib_cl_f16_to_f32 (((const guint16 *) src)[i]);
    case IB_CL_DTYPE_BF16:
      return ib_cl_bf16_to_f32 (((const guint16 *) src)[i]);
    default:
      return ((const float *) src)[i];
  }
}

static inline void
store (void *dst, IbClDtype storage, gsize i, float v)
{
  if (storage == IB_CL_DTYPE_F16)
    ((guint16 *) dst)[i] = ib_cl_f32_to_f16 (v);
  else
    ((float *) dst)[i] = v;
}

/* One packing job: rows [row0, row1) of W (columns of the product). */
typedef struct
{
  void *dst;
  const void *w;
  IbClDtype src, storage;
  int n, k, n_padded, row0, row1;
  gboolean panels;
  IbClIsa isa;
} PackJob;

/* Where W[row][kk] goes. */
static inline gsize
dst_index (const PackJob *j, int row, int kk)
{
  const int nr = IB_CL_GEMM_NR;

  return j->panels ? ((gsize) (row / nr) * j->k + kk) * nr + row % nr :
                     (gsize) kk * j->n + row;
}

/* Rows [r0, r1) x k [k0, k1), one element at a time, k innermost in blocks
 * so that both sides stay in cache. */
static void
pack_scalar (const PackJob *j, int r0, int r1, int k0, int k1)
{
  int row, kk;

  for (row = r0; row < r1; row++)
    for (kk = k0; kk < k1; kk++)
      store (j->dst, j->storage, dst_index (j, row, kk),
          row < j->n ? load_f32 (j->w, j->src, (gsize) row * j->k + kk) : 0.0f);
}

#ifdef IB_X86
/* 16 x 16 f32 transpose in place: r[i][c] -> r[c][i]. */
TARGET_AVX512 static inline void
transpose16 (__m512 r[16])
{
  __m512 t[16], s[16];
  int i, j;

  for (i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps (r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps (r[2 * i], r[2 * i + 1]);
  }
  /* s[4i + j], 128-bit lane L: rows 4i..4i+3 of column 4L + j */
  for (i = 0; i < 4; i++) {
    s[4 * i] = _mm512_shuffle_ps (t[4 * i], t[4 * i + 2], 0x44);
    s[4 * i + 1] = _mm512_shuffle_ps (t[4 * i], t[4 * i + 2], 0xee);
    s[4 * i + 2] = _mm512_shuffle_ps (t[4 * i + 1], t[4 * i + 3], 0x44);
    s[4 * i + 3] = _mm512_shuffle_ps (t[4 * i + 1], t[4 * i + 3], 0xee);
  }
  for (j = 0; j < 4; j++) {
    __m512 u0 = _mm512_shuffle_f32x4 (s[j], s[4 + j], 0x88);
    __m512 u1 = _mm512_shuffle_f32x4 (s[j], s[4 + j], 0xdd);
    __m512 u2 = _mm512_shuffle_f32x4 (s[8 + j], s[12 + j], 0x88);
    __m512 u3 = _mm512_shuffle_f32x4 (s[8 + j], s[12 + j], 0xdd);
    r[j] = _mm512_shuffle_f32x4 (u0, u2, 0x88);
    r[8 + j] = _mm512_shuffle_f32x4 (u0, u2, 0xdd);
    r[4 + j] = _mm512_shuffle_f32x4 (u1, u3, 0x88);
    r[12 + j] = _mm512_shuffle_f32x4 (u1, u3, 0xdd);
  }
}

/* W[row0 .. row0+16)[kk .. kk+16) to dst, transposed and converted; rows
 * at or past n are zeros. */
TARGET_AVX512 static void
tile16 (const PackJob *j, int row0, int kk)
{
  __m512 r[16];
  int i;

  for (i = 0; i < 16; i++) {
    gsize at = (gsize) (row0 + i) * j->k + kk;

    if (row0 + i >= j->n)
      r[i] = _mm512_setzero_ps ();
    else if (j->src == IB_CL_DTYPE_F32)
      r[i] = _mm512_loadu_ps ((const float *) j->w + at);
    else {
      __m512i h = _mm512_cvtepu16_epi32 (
          _mm256_loadu_si256 ((const __m256i *) ((const guint16 *) j->w + at)));
      r[i] = j->src == IB_CL_DTYPE_F16 ?
          f16_to_f32_v16 (h) :
          _mm512_castsi512_ps (_mm512_slli_epi32 (h, 16));
    }
  }
  transpose16 (r);
  for (i = 0; i < 16; i++) {
    gsize at = dst_index (j, row0, kk + i);

    if (j->storage == IB_CL_DTYPE_F16)
      _mm256_storeu_si256 ((__m256i *) ((guint16 *) j->dst + at),
          _mm512_cvtps_ph (r[i], _MM_FROUND_TO_NEAREST_INT));
    else
      _mm512_storeu_ps ((float *) j->dst + at, r[i]);
  }
}

/* 8 x 8 f32 transpose in place. */
TARGET_AVX2 static inline void
transpose8 (__m256 r[8])
{
  __m256 t[8], s[8];
  int i;

  for (i = 0; i < 4; i++) {
    t[2 * i] = _mm256_unpacklo_ps (r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps (r[2 * i], r[2 * i + 1]);
  }
  for (i = 0; i < 2; i++) {
    s[4 * i] = _mm256_shuffle_ps (t[4 * i], t[4 * i + 2], 0x44);
    s[4 * i + 1] = _mm256_shuffle_ps (t[4 * i], t[4 * i + 2], 0xee);
    s[4 * i + 2] = _mm256_shuffle_ps (t[4 * i + 1], t[4 * i + 3], 0x44);
    s[4 * i + 3] = _mm256_shuffle_ps (t[4 * i + 1], t[4 * i + 3], 0xee);
  }
  for (i = 0; i < 4; i++) {
    r[i] = _mm256_permute2f128_ps (s[i], s[4 + i], 0x20);
    r[4 + i] = _mm256_permute2f128_ps (s[i], s[4 + i], 0x31);
  }
}

TARGET_AVX2 static void
tile8 (const PackJob *j, int row0, int kk)
{
  __m256 r[8];
  int i;

  for (i = 0; i < 8; i++) {
    gsize at = (gsize) (row0 + i) * j->k + kk;

    if (row0 + i >= j->n)
      r[i] = _mm256_setzero_ps ();
    else if (j->src == IB_CL_DTYPE_F32)
      r[i] = _mm256_loadu_ps ((const float *) j->w + at);
    else {
      __m256i h = _mm256_cvtepu16_epi32 (
          _mm_loadu_si128 ((const __m128i *) ((const guint16 *) j->w + at)));
      r[i] = j->src == IB_CL_DTYPE_F16 ?
          f16_to_f32_v8 (h) :
          _mm256_castsi256_ps (_mm256_slli_epi32 (h, 16));
    }
  }
  transpose8 (r);
  for (i = 0; i < 8; i++) {
    gsize at = dst_index (j, row0, kk + i);

    if (j->storage == IB_CL_DTYPE_F16)
      _mm_storeu_si128 ((__m128i *) ((guint16 *) j->dst + at),
          _mm256_cvtps_ph (r[i], _MM_FROUND_TO_NEAREST_INT));
    else
      _mm256_storeu_ps ((float *) j->dst + at, r[i]);
  }
}
#endif

/* A job in blocks of IB_CL_GEMM_NR rows x 64 k: every source row is read
 * sequentially, every panel written sequentially. */
static gpointer
pack_rows (gpointer data)
{
  const PackJob *j = data;
  const int nr = IB_CL_GEMM_NR, kb = 64;
  void (*tile) (const PackJob *, int, int) = NULL;
  int b = 1, rb, k0, kk, sub, k_vec;
  guint csr = ib_cl_isa_enter ();

#ifdef IB_X86
  if (j->isa == IB_CL_ISA_AVX512) {
    tile = tile16;
    b = 16;
  } else if (j->isa == IB_CL_ISA_AVX2) {
    tile = tile8;
    b = 8;
  }
#endif
  k_vec = j->k / b * b;
  for (rb = j->row0; rb < j->row1; rb += nr) {
    int r_end = MIN (rb + nr, j->row1);

    for (k0 = 0; k0 < j->k; k0 += kb) {
      int k_end = MIN (k0 + kb, j->k);

      for (sub = rb; sub < r_end; sub += b) {
        /* the transposed layout has no padding rows to write */
        gboolean whole =
            tile != NULL && sub + b <= r_end && (j->panels || sub + b <= j->n);

        if (!whole) {
          pack_scalar (j, sub, MIN (sub + b, r_end), k0, k_end);
          continue;
        }
        for (kk = k0; kk + b <= MIN (k_end, k_vec); kk += b)
          tile (j, sub, kk);
        pack_scalar (j, sub, sub + b, MAX (kk, k0), k_end);
      }
    }
  }
  ib_cl_isa_leave (csr);
  return NULL;
}

/* Runs @func on @n_jobs jobs of @size bytes each, on threads. */
static void
run_jobs (GThreadFunc func, gpointer jobs, gsize size, int n_jobs)
{
  GThread *threads[MAX_THREADS];
  int t;

  for (t = 1; t < n_jobs; t++)
    threads[t] =
        g_thread_try_new ("ib-pack", func, (guint8 *) jobs + t * size, NULL);
  func (jobs);
  for (t = 1; t < n_jobs; t++) {
    if (threads[t])
      g_thread_join (threads[t]);
    else
      func ((guint8 *) jobs + t * size); /* no thread: do it here */
  }
}

static int
n_threads_for (gsize elements)
{
  return elements < MIN_PARALLEL ?
      1 :
      (int) MIN (g_get_num_processors (), MAX_THREADS);
}

void
ib_cl_pack_weight (void *dst, IbClDtype storage, const void *w, IbClDtype src,
    int n, int k, int n_padded, gboolean panels)
{
  const int nr = IB_CL_GEMM_NR;
  const int rows = panels ? n_padded : n;
  const int units = (rows + nr - 1) / nr;
  int n_jobs = MIN (n_threads_for ((gsize) rows * k), units);
  PackJob jobs[MAX_THREADS];
  int t;

  for (t = 0; t < n_jobs; t++) {
    jobs[t] = (PackJob){ dst, w, src, storage, n, k, n_padded,
      (int) MIN ((gint64) units * t / n_jobs * nr, rows),
      (int) MIN ((gint64) units * (t + 1) / n_jobs * nr, rows), panels,
      ib_cl_isa_get () };
  }
  run_jobs (pack_rows, jobs, sizeof (PackJob), n_jobs);
}

/* ib_cl_pack_kn_lowp: rows [row0, row1) of W, in blocks of KN_BLOCK rows
 * converted to f32 first (the source is read sequentially), then written
 * k-major (KN_BLOCK neighbouring bytes or halves per k). */
#define KN_BLOCK 64

typedef struct
{
  void *dst;
  float *scale;
  const void *w;
  IbClDtype src, storage;
  int n, k, row0, row1;
} KnJob;

static inline guint16
f32_to_bf16 (float f)
{
  guint32 u;

  memcpy (&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return (guint16) ((u >> 16) | 0x40); /* NaN: quiet, never rounded */
  u += 0x7fffu + ((u >> 16) & 1);
  return (guint16) (u >> 16);
}

static gpointer
pack_kn_rows (gpointer data)
{
  const KnJob *j = data;
  float *block = g_malloc ((gsize) KN_BLOCK * j->k * 4);
  float inv[KN_BLOCK];
  int r0, r, kk;

  for (r0 = j->row0; r0 < j->row1; r0 += KN_BLOCK) {
    const int nb = MIN (KN_BLOCK, j->row1 - r0);

    ib_cl_convert (block, IB_CL_DTYPE_F32,
        (const guint8 *) j->w + (gsize) r0 * j->k * ib_cl_dtype_size (j->src),
        j->src, (gsize) nb * j->k);
    if (j->storage == IB_CL_DTYPE_Q8)
      for (r = 0; r < nb; r++) {
        const float *row = block + (gsize) r * j->k;
        float amax = 0.0f, s;
        for (kk = 0; kk < j->k; kk++)
          amax = MAX (amax, fabsf (row[kk]));
        s = amax > 0.0f ? amax / 127.0f : 1.0f;
        j->scale[r0 + r] = s;
        inv[r] = 1.0f / s;
      }
    for (kk = 0; kk < j->k; kk++) {
      gsize at = (gsize) kk * j->n + r0;
      if (j->storage == IB_CL_DTYPE_Q8) {
        gint8 *d = (gint8 *) j->dst + at;
        for (r = 0; r < nb; r++) {
          float v = nearbyintf (block[(gsize) r * j->k + kk] * inv[r]);
          d[r] = (gint8) CLAMP (v, -127.0f, 127.0f);
        }
      } else {
        guint16 *d = (guint16 *) j->dst + at;
        for (r = 0; r < nb; r++)
          d[r] = f32_to_bf16 (block[(gsize) r * j->k + kk]);
      }
    }
  }
  g_free (block);
  return NULL;
}

void
ib_cl_pack_kn_lowp (void *dst, float *scale, IbClDtype storage, const void *w,
    IbClDtype src, int n, int k)
{
  const int units = (n + KN_BLOCK - 1) / KN_BLOCK;
  int n_jobs = MIN (n_threads_for ((gsize) n * k), units), t;
  KnJob jobs[MAX_THREADS];

  g_return_if_fail (storage == IB_CL_DTYPE_BF16 || storage == IB_CL_DTYPE_Q8);
  for (t = 0; t < n_jobs; t++)
    jobs[t] = (KnJob){ dst, scale, w, src, storage, n, k,
      (int) MIN ((gint64) units * t / n_jobs * KN_BLOCK, n),
      (int) MIN ((gint64) units * (t + 1) / n_jobs * KN_BLOCK, n) };
  run_jobs (pack_kn_rows, jobs, sizeof (KnJob), n_jobs);
}

typedef struct
{
  void *dst;
  const void *src;
  IbClDtype to, from;
  gsize first, count;
} ConvertJob;

static gpointer
convert_range (gpointer data)
{
  const ConvertJob *j = data;
  const gsize bs = ib_cl_dtype_size (j->from), bd = ib_cl_dtype_size (j->to);
  guint8 *dst = (guint8 *) j->dst + j->first * bd;
  const guint8 *src = (const guint8 *) j->src + j->first * bs;
  float tmp[1024];
  gsize i, c;

  if (j->from == j->to) {
    memcpy (dst, src, j->count * bd);
  } else if (j->to == IB_CL_DTYPE_F32) {
    if (j->from == IB_CL_DTYPE_F16)
      ib_cl_f16_to_f32_n ((float *) dst, (const guint16 *) src, j->count);
    else
      ib_cl_bf16_to_f32_n ((float *) dst, (const guint16 *) src, j->count);
  } else if (j->from == IB_CL_DTYPE_F32) {
    ib_cl_f32_to_f16_n ((guint16 *) dst, (const float *) src, j->count);
  } else {
    /* bf16 -> f16 through f32 (exact), in slices */
    for (i = 0; i < j->count; i += c) {
      c = MIN (j->count - i, G_N_ELEMENTS (tmp));
      ib_cl_bf16_to_f32_n (tmp, (const guint16 *) src + i, c);
      ib_cl_f32_to_f16_n ((guint16 *) dst + i, tmp, c);
    }
  }
  return NULL;
}

void
ib_cl_convert (void *dst, IbClDtype to, const void *src, IbClDtype from,
    gsize n)
{
  int n_jobs = n_threads_for (n), t;
  ConvertJob jobs[MAX_THREADS];

  g_return_if_fail (to != IB_CL_DTYPE_BF16 || from == IB_CL_DTYPE_BF16);

  for (t = 0; t < n_jobs; t++) {
    /* slices of whole cache lines */
    gsize a = n * t / n_jobs / 64 * 64, b = n * (t + 1) / n_jobs / 64 * 64;

    if (t == n_jobs - 1)
      b = n;
    jobs[t] = (ConvertJob){ dst, src, to, from, a, b - a };
  }
  run_jobs (convert_range, jobs, sizeof (ConvertJob), n_jobs);
}
