/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal: the parts of ib_model_config_load(), one per config file or section. */
#pragma once

#include "ib-config.h"
#include "ib-json-private.h"

G_BEGIN_DECLS

/* The activation called @name ("gelu_new", ...), or FALSE. */
gboolean ib_config_activation_from_name (const char *name, IbActivation *out);

/* Reads activation name @key (default @def) into *out; unknown names are
 * IB_ERROR_UNSUPPORTED on the reader. */
void ib_config_read_activation (IbJsonReader *r, const char *key,
    const char *def, IbActivation *out);

/* text_config of @file (NULL: absent). */
gboolean ib_config_parse_text (IbTextConfig *text, const char *file,
    JsonObject *obj, GError **error);

/* generation_config.json at @path; absent: defaults, ids from @text. */
gboolean ib_config_load_generation (IbGenerationConfig *gen,
    const IbTextConfig *text, const char *path, GError **error);

/* preprocessor_config.json-like file at @path; absent: @fallback if not
 * NULL, else BlipImageProcessor defaults with size @image_size. */
gboolean ib_config_load_image_processor (IbImageProcessorConfig *proc,
    const char *path, const IbImageProcessorConfig *fallback, gint image_size,
    GError **error);

G_END_DECLS
