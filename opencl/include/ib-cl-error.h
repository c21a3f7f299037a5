/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Public: the IB_CL_ERROR domain of the OpenCL device layer (no device,
 * kernel builds, failed OpenCL calls). Installed with instructblip.h. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define IB_CL_ERROR (ib_cl_error_quark ())

typedef enum
{
  IB_CL_ERROR_NO_PLATFORM, /* no OpenCL platform (ICD) is installed */
  IB_CL_ERROR_NO_DEVICE, /* the requested device does not exist */
  IB_CL_ERROR_BUILD, /* a kernel failed to compile */
  IB_CL_ERROR_CALL, /* an OpenCL call failed */
  IB_CL_ERROR_CLBLAST, /* a CLBlast call failed */
  IB_CL_ERROR_NO_MEMORY, /* host or device allocation failed */
  IB_CL_ERROR_INVALID_ARG, /* shapes or arguments that cannot work */
  IB_CL_ERROR_UNSUPPORTED, /* the device lacks what the call needs */
} IbClError;

/* The quark of the "ib-cl-error-quark" domain. */
GQuark ib_cl_error_quark (void);

G_END_DECLS
