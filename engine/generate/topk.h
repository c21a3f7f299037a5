/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* torch.topk and torch.sort on the CPU, reproduced down to the order of tied
 * values. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The k largest of values[0..n), best first, as torch.topk (sorted=True,
 * largest=True) returns them on the CPU: torch copies (value, index) pairs
 * and runs libstdc++'s std::partial_sort when k * 64 <= n, otherwise
 * std::nth_element at k - 1 followed by std::sort of the first k - 1, with
 * "a before b" = (isnan (a) && !isnan (b)) || a > b.  Neither algorithm is
 * stable, so equal values do NOT come out in index order; this file
 * reimplements both algorithms step by step so that ties fall exactly where
 * torch puts them (beam search picks beams through topk).
 *
 * indices: [k] out; out_values: [k] out, nullable.  1 <= k <= n. */
void ib_topk (const float *values, int n, int k, int *indices,
    float *out_values);

/* torch.sort (stable=False) on the CPU: std::sort of (value, index) pairs
 * with "a before b" = a < b, NaN last (ascending) or a > b, NaN first
 * (descending).  Not stable: equal values come out in std::sort's order,
 * which is torch's.  indices: [n] out; out_values: [n] out, nullable. */
void ib_sort (const float *values, int n, gboolean descending, int *indices,
    float *out_values);

G_END_DECLS
