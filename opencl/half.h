/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IEEE half and bfloat16 conversions on the host. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Round to nearest even, with infinities, NaN and subnormals. */
guint16 ib_cl_f32_to_f16 (float f);
float ib_cl_f16_to_f32 (guint16 h);
float ib_cl_bf16_to_f32 (guint16 b);

/* The same on @n elements, vectorised where the CPU has the instructions
 * (chosen at run time: AVX-512, AVX2 with F16C, else plain C) and
 * bit-identical to the functions above on every input, NaN payloads
 * included. */
void ib_cl_f32_to_f16_n (guint16 *dst, const float *src, gsize n);
void ib_cl_f16_to_f32_n (float *dst, const guint16 *src, gsize n);
void ib_cl_bf16_to_f32_n (float *dst, const guint16 *src, gsize n);

G_END_DECLS
