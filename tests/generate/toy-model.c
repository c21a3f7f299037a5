/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The toy language model of the generation tests (twin of
 * tests/data/generate/toy.py): logits are a pure function of the last two
 * ids, and the model keeps one history per beam like a KV cache. */
#include "toy-model.h"

#include <string.h>

static guint32
mix32 (guint32 x)
{
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

void
toy_logits (ToyVariant variant, gint32 a, gint32 b, float *logits)
{
  const gboolean coarse = variant == TOY_COARSE;
  const double step = coarse ? 0.125 : 1.0 / 1024.0;
  const guint32 levels = coarse ? 33 : 4097, salt = coarse ? 0x1234 : 0x9876;
  const guint32 strong =
      ((guint32) a * 7 + (guint32) b * 13 + salt) % TOY_VOCAB;
  int v;

  for (v = 0; v < TOY_VOCAB; v++) {
    guint32 h = mix32 (((guint32) a * 0x9E3779B1u) ^
        ((guint32) b * 0x85EBCA77u) ^ ((guint32) v * 0xC2B2AE3Du) ^ salt);
    double x = ((h >> 4) % levels) * step - 2.0;

    if (v == 2 || v == 7)
      x = ((h >> 8) % 9) * 0.5 - 1.5;
    if ((guint32) v == strong)
      x += 2.5;
    logits[v] = (float) x;
  }
}

void
toy_logits_after (ToyVariant variant, const gint32 *seq, int n, float *logits)
{
  toy_logits (variant, n >= 2 ? seq[n - 2] : TOY_NO_TOKEN,
      n >= 1 ? seq[n - 1] : TOY_NO_TOKEN, logits);
}

struct ToyModel
{
  ToyVariant variant;
  GArray *prompt; /* gint32 */
  GPtrArray *beams; /* GArray of gint32 per beam: its whole sequence */
  int n_steps, n_reorders;
  int fail_at;
  gboolean fail_with_error;
};

/* every beam starts from the prompt (the prefill's state) */
static void
ensure_beams (ToyModel *toy, int n_beams)
{
  while ((int) toy->beams->len < n_beams) {
    GArray *a = g_array_new (FALSE, FALSE, sizeof (gint32));

    g_array_append_vals (a, toy->prompt->data, toy->prompt->len);
    g_ptr_array_add (toy->beams, a);
  }
}

static gboolean
toy_step (gpointer user, const gint32 *tokens, int n_beams, float *logits,
    GError **error)
{
  ToyModel *toy = user;
  int b;

  if (toy->n_steps == toy->fail_at) {
    toy->n_steps++;
    if (toy->fail_with_error)
      g_set_error (error, TOY_ERROR, 2, "toy step failed");
    return FALSE;
  }
  toy->n_steps++;
  ensure_beams (toy, n_beams);
  for (b = 0; b < n_beams; b++) {
    GArray *a = g_ptr_array_index (toy->beams, b);

    g_array_append_val (a, tokens[b]);
    toy_logits_after (toy->variant, (const gint32 *) a->data, (int) a->len,
        logits + (gsize) b * TOY_VOCAB);
  }
  return TRUE;
}

static gboolean
toy_reorder (gpointer user, const int *src, int n_beams, GError **error)
{
  ToyModel *toy = user;
  GPtrArray *next =
      g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  int b;

  toy->n_reorders++;
  ensure_beams (toy, n_beams);
  for (b = 0; b < n_beams; b++) {
    GArray *from, *a;

    if (src[b] < 0 || src[b] >= n_beams) {
      g_set_error (error, TOY_ERROR, 1, "reorder: source beam %d out of range",
          src[b]);
      g_ptr_array_unref (next);
      return FALSE;
    }
    from = g_ptr_array_index (toy->beams, src[b]);
    a = g_array_new (FALSE, FALSE, sizeof (gint32));
    g_array_append_vals (a, from->data, from->len);
    g_ptr_array_add (next, a);
  }
  g_ptr_array_unref (toy->beams);
  toy->beams = next;
  return TRUE;
}

ToyModel *
toy_model_new (ToyVariant variant, const gint32 *prompt, int n_prompt,
    IbGenModel *model, float *first_logits)
{
  ToyModel *toy = g_new0 (ToyModel, 1);

  toy->variant = variant;
  toy->prompt = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_array_append_vals (toy->prompt, prompt, n_prompt);
  toy->beams = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  toy->fail_at = -1;

  model->step = toy_step;
  model->reorder = toy_reorder;
  model->user = toy;
  model->vocab = TOY_VOCAB;
  toy_logits_after (variant, prompt, n_prompt, first_logits);
  return toy;
}

void
toy_model_free (ToyModel *toy)
{
  if (toy == NULL)
    return;
  g_ptr_array_unref (toy->beams);
  g_array_unref (toy->prompt);
  g_free (toy);
}

int
toy_model_n_steps (const ToyModel *toy)
{
  return toy->n_steps;
}

int
toy_model_n_reorders (const ToyModel *toy)
{
  return toy->n_reorders;
}

void
toy_model_fail_at (ToyModel *toy, int step, gboolean set_error)
{
  toy->fail_at = step;
  toy->fail_with_error = set_error;
}
