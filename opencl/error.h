/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Errors of the OpenCL device layer: one GError domain, CL codes by name. */
#pragma once

#include <glib.h>
#include <CL/cl.h>

#include "ib-cl-error.h" /* the domain and its codes (public) */

G_BEGIN_DECLS

/* The symbolic name of an OpenCL status code ("CL_OUT_OF_RESOURCES"). */
const char *ib_cl_status_name (cl_int status);

/* Sets @error from a failed OpenCL call and returns FALSE. */
gboolean ib_cl_set_error (GError **error, cl_int status, const char *call);

/* Evaluates an OpenCL call that returns cl_int; on failure fills @err (a
 * GError **) and jumps to the function's `out:` label. */
#define IB_CL_CHECK(call, err)                             \
  G_STMT_START                                             \
  {                                                        \
    cl_int ib_cl_check_status_ = (call);                   \
    if (ib_cl_check_status_ != CL_SUCCESS) {               \
      ib_cl_set_error ((err), ib_cl_check_status_, #call); \
      goto out;                                            \
    }                                                      \
  }                                                        \
  G_STMT_END

G_END_DECLS
