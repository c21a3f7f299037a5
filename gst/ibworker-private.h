/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test hook of the worker (private: for tests/gst, not for applications).
 * The plugin exports it under IB_WORKER_TEST_DELAY_SYMBOL; the tests look
 * it up in the loaded plugin with GModule. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define IB_WORKER_TEST_DELAY_SYMBOL "ib_worker_set_test_delay"
typedef void (*IbWorkerSetTestDelay) (guint ms);

/* Every worker created after this call sleeps @ms before answering each
 * question, so that tests reach "the model is busy" deterministically. */
GST_PLUGIN_EXPORT void ib_worker_set_test_delay (guint ms);

G_END_DECLS
