/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Public: the IB_GEN_ERROR domain (generation settings, decoding).
 * Installed with instructblip.h. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define IB_GEN_ERROR (ib_gen_error_quark ())

typedef enum
{
  IB_GEN_ERROR_INVALID_ARG, /* parameters transformers would reject */
  IB_GEN_ERROR_MODEL, /* a model callback failed without saying why */
} IbGenError;

/* The quark of the "ib-gen-error-quark" domain. */
GQuark ib_gen_error_quark (void);

G_END_DECLS
