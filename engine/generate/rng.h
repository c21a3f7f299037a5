/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sampler's random numbers: xoshiro256** seeded through splitmix64. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* xoshiro256** (Blackman & Vigna, 2018), 256 bits of state.  The same seed
 * gives the same stream on every platform.  torch's generator (mt19937 plus
 * its own multinomial) is not reproduced: sampled ids follow the same
 * distribution as transformers' but are not the same ids. */
typedef struct
{
  guint64 s[4];
} IbRng;

/* Fill the state from seed with splitmix64 (never all zero). */
void ib_rng_init (IbRng *rng, guint64 seed);

/* The next 64 random bits. */
guint64 ib_rng_next (IbRng *rng);

/* Uniform in [0, 1), 53 random bits. */
double ib_rng_uniform (IbRng *rng);

/* Draw an index from weights[0..n) (non-negative, not necessarily
 * normalised; NaN counts as 0): inversion of the cumulative sum in double.
 * Never returns an index whose weight is 0; -1 if all weights are 0. */
int ib_rng_categorical (IbRng *rng, const float *weights, int n);

G_END_DECLS
