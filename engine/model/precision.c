/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Weight precision: bytes per precision, device memory, the AUTO choice. */
#include "precision.h"

#include <string.h>

#include "ib-error.h"

/* Room kept beside weights and context for the runtime, the tokenizers,
 * the programs and the host side of a stream. */
#define OVERHEAD_BYTES (256u << 20)

static const char *const names[] = { "fp32", "fp16", "bf16", "q8", "auto" };

const char *
ib_precision_to_string (IbPrecision precision)
{
  if ((guint) precision < G_N_ELEMENTS (names))
    return names[precision];
  return "?";
}

gboolean
ib_precision_from_string (const char *name, IbPrecision *precision)
{
  guint i;

  g_return_val_if_fail (precision != NULL, FALSE);
  for (i = 0; name && i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (name, names[i]) == 0) {
      *precision = (IbPrecision) i;
      return TRUE;
    }
  return FALSE;
}

IbClDtype
ib_precision_storage (IbPrecision precision)
{
  switch (precision) {
    case IB_PRECISION_F16:
      return IB_CL_DTYPE_F16;
    case IB_PRECISION_BF16:
      return IB_CL_DTYPE_BF16;
    case IB_PRECISION_Q8:
      return IB_CL_DTYPE_Q8;
    default:
      return IB_CL_DTYPE_F32;
  }
}

/* How the loader stores a tensor, from its name and rank. */
static gboolean
is_table (const char *name)
{
  return strstr (name, "embed_tokens.") || strstr (name, "word_embeddings.") ||
      g_str_has_suffix (name, "shared.weight");
}

static gboolean
is_linear (const IbTensor *t)
{
  return t->n_dims >= 2 && g_str_has_suffix (t->name, ".weight") &&
      !is_table (t->name) && !strstr (t->name, "position") &&
      !strstr (t->name, "relative_attention_bias");
}

guint64
ib_precision_weight_bytes (const IbSafetensors *st, IbPrecision precision)
{
  IbClDtype storage = ib_precision_storage (precision);
  guint64 total = 0;
  guint i, n = ib_safetensors_get_n_tensors (st);

  for (i = 0; i < n; i++) {
    const IbTensor *t = ib_safetensors_get_nth (st, i);
    if (is_linear (t)) {
      total += t->n_elements * ib_cl_dtype_size (storage);
      if (storage == IB_CL_DTYPE_Q8)
        total += (guint64) t->shape[0] * 8;
    } else if (is_table (t->name))
      total += t->n_elements * (storage == IB_CL_DTYPE_F32 ? 4 : 2);
    else
      total += t->n_elements * 4;
  }
  return total;
}

guint64
ib_precision_context_bytes (const IbModelConfig *cfg, const IbContextParams *cp)
{
  const IbTextConfig *t = &cfg->text;
  const IbVisionConfig *v = &cfg->vision;
  guint64 T, n_ctx, kv, act;

  T = (guint64) (v->image_size / MAX (v->patch_size, 1)) *
          (v->image_size / MAX (v->patch_size, 1)) +
      1;
  n_ctx = (guint64) cp->max_frames * cfg->n_query_tokens +
      cp->max_prompt_tokens + cp->max_new_tokens;
  /* keys and values of every layer and beam (T5: self and cross) */
  kv = 2 * (guint64) (t->n_layers + 2 * t->n_decoder_layers) * n_ctx *
      t->n_kv_heads * t->head_dim * cp->max_beams;
  /* the largest activations: ViT over T tokens, the LLM over the prompt,
   * attention scores, the frames' embeddings and the logits */
  act = T * (4 * (guint64) v->hidden_dim + v->intermediate_dim) +
      (guint64) v->n_heads * T * T +
      n_ctx * (4 * (guint64) t->hidden_dim + 2 * t->intermediate_dim) +
      (guint64) t->n_heads * n_ctx * n_ctx +
      (guint64) cp->max_frames * T * v->hidden_dim +
      (guint64) cp->max_beams * t->vocab_size;
  return (kv + act) * 4;
}

static guint64
mem_available (void)
{
  char *text = NULL, *line;
  guint64 kb = 0;

  if (!g_file_get_contents ("/proc/meminfo", &text, NULL, NULL))
    return 0;
  line = strstr (text, "MemAvailable:");
  if (line)
    kb = g_ascii_strtoull (line + strlen ("MemAvailable:"), NULL, 10);
  g_free (text);
  return kb * 1024;
}

static double
gb (guint64 b)
{
  return b / 1e9;
}

guint64
ib_precision_available_bytes (IbClDevice *dev, char **what)
{
  const IbClDeviceInfo *info = ib_cl_device_get_info (dev);
  guint64 avail = info->global_mem, host = 0;

  if (info->is_cpu && (host = mem_available ()) > 0)
    avail = MIN (avail, host);
  if (what)
    *what = host ?
        g_strdup_printf ("%s has %.2f GB, the host %.2f GB "
                         "available (MemAvailable)",
            info->name, gb (info->global_mem), gb (host)) :
        g_strdup_printf ("%s has %.2f GB", info->name, gb (info->global_mem));
  return avail;
}

static gboolean
fits (const IbPrecisionFit *fit, IbPrecision p)
{
  return fit->weights[p] + fit->context + OVERHEAD_BYTES <= fit->available;
}

gboolean
ib_precision_choose (const IbPrecisionFit *fit, IbPrecision asked,
    IbPrecision *chosen, GError **error)
{
  IbPrecision order[3];
  guint i, n = 0;

  if (asked != IB_PRECISION_AUTO) {
    if ((guint) asked >= IB_N_PRECISIONS) {
      g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
          "unknown precision %d", (int) asked);
      return FALSE;
    }
    order[n++] = asked;
  } else {
    order[n++] = IB_PRECISION_F32;
    order[n++] =
        fit->supported[IB_PRECISION_BF16] && fit->native[IB_PRECISION_BF16] ?
        IB_PRECISION_BF16 :
        IB_PRECISION_F16;
    if (fit->supported[IB_PRECISION_Q8])
      order[n++] = IB_PRECISION_Q8;
  }
  if (asked != IB_PRECISION_AUTO && !fit->supported[asked]) {
    g_set_error (error, IB_ERROR, IB_ERROR_UNSUPPORTED,
        "precision %s is not supported on this device",
        ib_precision_to_string (asked));
    return FALSE;
  }
  for (i = 0; i < n; i++)
    if (fit->supported[order[i]] && fits (fit, order[i])) {
      *chosen = order[i];
      return TRUE;
    }
  {
    GString *msg = g_string_new (NULL);
    g_string_append_printf (msg,
        "the model does not fit in %s: its weights need",
        asked == IB_PRECISION_AUTO ? "any precision" :
                                     ib_precision_to_string (asked));
    for (i = 0; i < n; i++)
      g_string_append_printf (msg, "%s %.2f GB in %s", i ? "," : "",
          gb (fit->weights[order[i]]), ib_precision_to_string (order[i]));
    g_string_append_printf (msg,
        ", a context %.2f GB more and %.2f GB for the runtime; %s",
        gb (fit->context), gb (OVERHEAD_BYTES), fit->available_what);
    g_set_error_literal (error, IB_ERROR, IB_ERROR_NO_MEMORY, msg->str);
    g_string_free (msg, TRUE);
  }
  return FALSE;
}
