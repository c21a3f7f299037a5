/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IEEE half and bfloat16 conversions on the host. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Round to nearest even, with infinities, NaN and subnormals. */
guint16 ib_cl_f32_to_f16 (float f);
float ib_cl_f16_to_f32 (guint16 h);
float ib_cl_bf16_to_f32 (guint16 b);

G_END_DECLS
