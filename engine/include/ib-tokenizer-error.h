/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Public: the IB_TOKENIZER_ERROR domain (tokenizer.json files, text).
 * Installed with instructblip.h. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define IB_TOKENIZER_ERROR (ib_tokenizer_error_quark ())

typedef enum
{
  IB_TOKENIZER_ERROR_IO, /* the file could not be read */
  IB_TOKENIZER_ERROR_FORMAT, /* bad JSON or a bad tokenizer.json */
  IB_TOKENIZER_ERROR_UNSUPPORTED, /* a component type we do not implement */
  IB_TOKENIZER_ERROR_INPUT, /* invalid UTF-8 text, bad arguments */
} IbTokenizerError;

/* The quark of the "ib-tokenizer-error-quark" domain. */
GQuark ib_tokenizer_error_quark (void);

G_END_DECLS
