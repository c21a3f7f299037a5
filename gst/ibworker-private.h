/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test hook of the worker (private: for tests/gst, not for applications).
 * The plugin exports it under GST_INSTRUCTBLIP_WORKER_TEST_DELAY_SYMBOL; the tests look
 * it up in the loaded plugin with GModule. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_INSTRUCTBLIP_WORKER_TEST_DELAY_SYMBOL \
  "gst_instructblip_worker_set_test_delay"
typedef void (*GstInstructBlipWorkerSetTestDelay) (guint ms);

/* Every worker created after this call sleeps @ms before answering each
 * question, so that tests reach "the model is busy" deterministically. */
GST_PLUGIN_EXPORT void gst_instructblip_worker_set_test_delay (guint ms);

#define GST_INSTRUCTBLIP_WORKER_N_SHARED_MODELS_SYMBOL \
  "gst_instructblip_worker_get_n_shared_models"
typedef guint (*GstInstructBlipWorkerGetNSharedModels) (void);

/* How many models the registry holds for elements without a
 * model-instance-id (each loaded once, whatever the number of elements). */
GST_PLUGIN_EXPORT guint gst_instructblip_worker_get_n_shared_models (void);

#define GST_INSTRUCTBLIP_WORKER_MAX_BATCHED_SYMBOL \
  "gst_instructblip_worker_get_max_batched"
typedef int (*GstInstructBlipWorkerGetMaxBatched) (void);
/* The most questions one batched decoding step of a shared model (no
 * model-instance-id) has answered together so far (IbBatchStats
 * max_active; the largest over the registry's models). */
GST_PLUGIN_EXPORT int gst_instructblip_worker_get_max_batched (void);

G_END_DECLS
