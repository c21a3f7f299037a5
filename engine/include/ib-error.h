/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The engine's GError domain, shared by every engine component. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define IB_ERROR (ib_error_quark ())

typedef enum
{
  IB_ERROR_FAILED, /* anything that fits no other code */
  IB_ERROR_IO, /* a file is missing or cannot be read */
  IB_ERROR_FORMAT, /* a file is malformed or contradicts another file */
  IB_ERROR_UNSUPPORTED, /* well-formed, but beyond what the engine handles */
  IB_ERROR_INVALID_ARG, /* the caller passed an argument that cannot work */
  IB_ERROR_NO_MEMORY, /* an allocation failed */
  IB_ERROR_NO_DEVICE, /* no OpenCL platform, or not the device asked for */
} IbError;

/* The quark of the "ib-error-quark" domain. */
GQuark ib_error_quark (void);

G_END_DECLS
