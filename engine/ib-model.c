/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ib_model_load: a checkpoint directory to weights on the device. */
#include "ib-model-private.h"
#include "ib-file-private.h"

#include <string.h>

void
ib_model_params_init (IbModelParams *params)
{
  g_return_if_fail (params != NULL);
  memset (params, 0, sizeof (*params));
  params->device = "auto";
  params->precision = IB_PRECISION_AUTO;
  params->image_resize = IB_IMAGE_RESIZE_AUTO;
  params->gemm = IB_GEMM_AUTO;
  params->weight_cache_map = TRUE;
}

static const char *const gemm_names[] = { "auto", "clblast", "own" };

const char *
ib_gemm_backend_to_string (IbGemmBackend backend)
{
  if ((guint) backend < G_N_ELEMENTS (gemm_names))
    return gemm_names[backend];
  return "?";
}

gboolean
ib_gemm_backend_from_string (const char *name, IbGemmBackend *backend)
{
  guint i;

  g_return_val_if_fail (backend != NULL, FALSE);
  for (i = 0; name && i < G_N_ELEMENTS (gemm_names); i++)
    if (g_ascii_strcasecmp (name, gemm_names[i]) == 0) {
      *backend = (IbGemmBackend) i;
      return TRUE;
    }
  return FALSE;
}

static IbTokenizer *
load_tokenizer (const char *dir, const char *sub, GError **error)
{
  char *path = g_build_filename (dir, sub ? sub : "", "tokenizer.json", NULL);
  IbTokenizer *tok = NULL;
  int exists = ib_file_probe (path, error);

  if (exists == 0)
    g_set_error (error, IB_ERROR, IB_ERROR_IO,
        "%s: missing; a model directory needs the LLM tokenizer (tokenizer."
        "json) and the Q-Former tokenizer (qformer_tokenizer/tokenizer.json)",
        path);
  else if (exists > 0)
    tok = ib_tokenizer_new_from_file (path, error);
  g_free (path);
  return tok;
}

/* The precision to load @st at on @dev: @asked if the device runs it and
 * it fits, for AUTO the choice of ib_precision_choose; refused before
 * anything is packed. */
static gboolean
choose_precision (IbClDevice *dev, const IbSafetensors *st,
    const IbModelConfig *cfg, IbPrecision asked, IbPrecision *chosen,
    GError **error)
{
  IbPrecisionFit fit = { 0 };
  IbContextParams cp;
  char *what = NULL;
  gboolean ok;
  int p;

  for (p = 0; p < IB_N_PRECISIONS; p++) {
    GError *e = NULL;
    fit.supported[p] =
        ib_cl_gemm_supports (dev, ib_precision_storage (p), &fit.native[p], &e);
    if (e && p == (int) asked) {
      g_set_error (error, IB_ERROR, IB_ERROR_UNSUPPORTED, "precision %s: %s",
          ib_precision_to_string (asked), e->message);
      g_error_free (e);
      return FALSE;
    }
    g_clear_error (&e);
    fit.weights[p] = ib_precision_weight_bytes (st, p);
  }
  ib_context_params_init (&cp);
  fit.context = ib_precision_context_bytes (cfg, &cp);
  fit.available = ib_precision_available_bytes (dev, &what);
  fit.available_what = what;
  ok = ib_precision_choose (&fit, asked, chosen, error);
  g_free (what);
  return ok;
}

IbModel *
ib_model_load (const char *dir, const IbModelParams *params, GError **error)
{
  IbModelParams defaults;
  IbClDeviceParams dp;
  IbCheckpoint *ckpt = NULL;
  IbModel *m = NULL;
  IbLoader loader = { 0 };
  GError *cl_error = NULL;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (params == NULL) {
    ib_model_params_init (&defaults);
    params = &defaults;
  }
  if ((guint) params->precision > IB_PRECISION_AUTO) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "precision %d is not an IbPrecision value", (int) params->precision);
    return NULL;
  }
  ib_cl_device_params_init (&dp);
  if (!ib_cl_device_params_parse (&dp, params->device, error))
    return NULL;
  switch (params->gemm) {
    case IB_GEMM_AUTO:
      dp.gemm = IB_CL_GEMM_AUTO;
      break;
    case IB_GEMM_CLBLAST:
      dp.gemm = IB_CL_GEMM_CLBLAST;
      break;
    case IB_GEMM_OWN:
      dp.gemm = IB_CL_GEMM_OWN;
      break;
    default:
      g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
          "gemm %d is not an IbGemmBackend value", (int) params->gemm);
      return NULL;
  }

  ckpt = ib_checkpoint_open (dir, error);
  if (ckpt == NULL)
    return NULL;

  m = g_new0 (IbModel, 1);
  m->refcount = 1;
  m->dir = g_strdup (dir);
  m->cfg = g_memdup2 (ib_checkpoint_get_config (ckpt), sizeof (IbModelConfig));
  switch (params->image_resize) {
    case IB_IMAGE_RESIZE_AUTO:
      m->image_resize = m->cfg->image_processor.pil_backend ?
          IB_IMAGE_RESIZE_PILLOW :
          IB_IMAGE_RESIZE_TORCHVISION;
      break;
    case IB_IMAGE_RESIZE_TORCHVISION:
    case IB_IMAGE_RESIZE_PILLOW:
    case IB_IMAGE_RESIZE_PILLOW12:
      m->image_resize = params->image_resize;
      break;
    default:
      g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
          "image_resize %d is not an IbImageResize value",
          (int) params->image_resize);
      goto fail;
  }
  if (!(m->tok = load_tokenizer (dir, NULL, error)) ||
      !(m->qtok = load_tokenizer (dir, "qformer_tokenizer", error)))
    goto fail;

  m->dev = ib_cl_device_new (&dp, &cl_error);
  if (m->dev == NULL) {
    /* callers of the public API see one domain for "no such device" */
    if (g_error_matches (cl_error, IB_CL_ERROR, IB_CL_ERROR_NO_PLATFORM) ||
        g_error_matches (cl_error, IB_CL_ERROR, IB_CL_ERROR_NO_DEVICE)) {
      g_set_error_literal (error, IB_ERROR, IB_ERROR_NO_DEVICE,
          cl_error->message);
      g_error_free (cl_error);
    } else
      g_propagate_error (error, cl_error);
    goto fail;
  }

  if (!choose_precision (m->dev, ib_checkpoint_get_safetensors (ckpt), m->cfg,
          params->precision, &m->precision, error))
    goto fail;
  loader.dev = m->dev;
  loader.st = ib_checkpoint_get_safetensors (ckpt);
  loader.storage = ib_precision_storage (m->precision);
  loader.cfg = m->cfg;
  if (params->weight_cache_dir)
    loader.cache = ib_weight_cache_open (params->weight_cache_dir, dir,
        loader.st, m->dev, loader.storage, params->weight_cache_map);
  /* from a valid cache entry nothing is read from the checkpoint */
  if (!ib_weight_cache_reading (loader.cache))
    ib_loader_read_ahead (&loader, m->cfg);
  if (!(m->vit = ib_vit_new (&loader, &m->cfg->vision, &cl_error)) ||
      !(m->qformer = ib_qformer_new (&loader, &m->cfg->qformer,
            m->cfg->n_query_tokens, m->cfg->text.hidden_dim, &cl_error)))
    goto weights_fail;
  if (m->cfg->text.arch == IB_TEXT_ARCH_LLAMA)
    m->llama = ib_llama_new (&loader, &m->cfg->text, &cl_error);
  else
    m->t5 = ib_t5_new (&loader, &m->cfg->text, &cl_error);
  if (m->llama == NULL && m->t5 == NULL)
    goto weights_fail;
  m->weight_bytes = loader.bytes;
  m->weights_from_cache = ib_weight_cache_reading (loader.cache);
  ib_weight_cache_commit (loader.cache);
  ib_weight_cache_free (loader.cache);
  ib_loader_clear (&loader);
  ib_checkpoint_free (ckpt);
  return m;

weights_fail:
  /* one code for "out of memory" (RESOURCE/NO_SPACE_LEFT in the element) */
  if (g_error_matches (cl_error, IB_CL_ERROR, IB_CL_ERROR_NO_MEMORY)) {
    g_set_error (error, IB_ERROR, IB_ERROR_NO_MEMORY,
        "%s: not enough device memory for the weights: %s", dir,
        cl_error->message);
    g_clear_error (&cl_error);
  } else if (cl_error != NULL) {
    g_propagate_error (error, cl_error);
  }
fail:
  ib_weight_cache_free (loader.cache); /* an unfinished entry is removed */
  ib_loader_clear (&loader);
  ib_checkpoint_free (ckpt);
  ib_model_unref (m);
  return NULL;
}

IbModel *
ib_model_ref (IbModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_atomic_int_inc (&model->refcount);
  return model;
}

void
ib_model_unref (IbModel *m)
{
  if (m == NULL || !g_atomic_int_dec_and_test (&m->refcount))
    return;
  ib_vit_free (m->vit);
  ib_qformer_free (m->qformer);
  ib_llama_free (m->llama);
  ib_t5_free (m->t5);
  ib_tokenizer_free (m->tok);
  ib_tokenizer_free (m->qtok);
  if (m->dev)
    ib_cl_device_unref (m->dev);
  ib_model_config_free (m->cfg);
  g_free (m->dir);
  g_free (m);
}

const char *
ib_model_get_device_name (const IbModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);

  return ib_cl_device_get_info (model->dev)->name;
}

int
ib_model_get_image_size (const IbModel *model)
{
  g_return_val_if_fail (model != NULL, 0);

  return model->cfg->vision.image_size;
}

gsize
ib_model_get_weight_bytes (const IbModel *model)
{
  g_return_val_if_fail (model != NULL, 0);

  return model->weight_bytes;
}

IbPrecision
ib_model_get_precision (const IbModel *model)
{
  g_return_val_if_fail (model != NULL, IB_PRECISION_AUTO);

  return model->precision;
}
