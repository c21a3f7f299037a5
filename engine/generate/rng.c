/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sampler's random numbers: xoshiro256** seeded through splitmix64. */
#include "rng.h"

static inline guint64
rotl (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static guint64
splitmix64 (guint64 *x)
{
  guint64 z = (*x += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

void
ib_rng_init (IbRng *rng, guint64 seed)
{
  guint64 x = seed;
  int i;

  g_return_if_fail (rng != NULL);

  for (i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&x);
}

guint64
ib_rng_next (IbRng *rng)
{
  guint64 *s = rng->s;
  const guint64 result = rotl (s[1] * 5, 7) * 9;
  const guint64 t = s[1] << 17;

  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

double
ib_rng_uniform (IbRng *rng)
{
  return (double) (ib_rng_next (rng) >> 11) * 0x1.0p-53;
}

int
ib_rng_categorical (IbRng *rng, const float *weights, int n)
{
  double total = 0.0, u, acc = 0.0;
  int i, last = -1;

  g_return_val_if_fail (rng != NULL && weights != NULL, -1);

  for (i = 0; i < n; i++)
    if (weights[i] > 0.0f)
      total += weights[i];
  if (total <= 0.0)
    return -1;

  u = ib_rng_uniform (rng) * total;
  for (i = 0; i < n; i++) {
    if (!(weights[i] > 0.0f))
      continue;
    acc += weights[i];
    last = i;
    if (u < acc)
      return i;
  }
  return last; /* rounding left u at the very top */
}
