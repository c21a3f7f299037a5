/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal: building an IbSafetensors from one or more files. */
#pragma once

#include "ib-safetensors.h"

G_BEGIN_DECLS

/* An empty set; @source names it in messages. */
IbSafetensors *ib_safetensors_new (const char *source);

/* Opens and checks @path and adds its tensors; a name already added from
 * another file is IB_ERROR_FORMAT. */
gboolean ib_safetensors_add_file (IbSafetensors *st, const char *path,
    GError **error);

/* Sorts the tensors by name; call once after the last add. */
void ib_safetensors_finish (IbSafetensors *st);

G_END_DECLS
