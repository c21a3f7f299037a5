/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host-side weight layouts: conversion and packing of [n, k] matrices on all
 * cores, vectorised where the CPU allows (half.h). */
#pragma once

#include "gemm.h"

G_BEGIN_DECLS

/* Packs W ([n, k] row-major, dtype @src) as @storage (F32 or F16):
 * - @panels: dst[p][kk][r] = W[p * IB_CL_GEMM_NR + r][kk] for the OWN
 *   backend's column panels, n_padded (a multiple of the panel width) rows,
 *   zeros past n;
 * - else transposed: dst[kk][col] = W[col][kk] (@n_padded == @n).
 * Every element goes through the conversions of half.h, so the result is
 * the same on every CPU. */
void ib_cl_pack_weight (void *dst, IbClDtype storage, const void *w,
    IbClDtype src, int n, int k, int n_padded, gboolean panels);

/* Packs W ([n, k] row-major, dtype @src: F32, F16 or BF16) transposed,
 * dst[kk][col] ~ W[col][kk], as @storage for the GPU kernels:
 * - BF16: round to nearest even (NaN stays NaN);
 * - Q8: int8, symmetric per output channel (row of W): @scale[col] =
 *   max|W[col][:]| / 127 (1 for a zero row), dst = round (W / scale).
 * @scale ([n]) is written for Q8 only. On all cores. */
void ib_cl_pack_kn_lowp (void *dst, float *scale, IbClDtype storage,
    const void *w, IbClDtype src, int n, int k);

/* dst[i] = src[i] for i < @n, converted from @from to @to (F32 or F16;
 * BF16 only as a source). */
void ib_cl_convert (void *dst, IbClDtype to, const void *src, IbClDtype from,
    gsize n);

G_END_DECLS
