/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared prelude of every kernel file: built first, in one program. */

/* Constants shared with the host (flags IB_HAS_*, dtypes IB_F32/F16/BF16,
 * GEMM tiles IB_CL_*) come as build options from opencl/kernel-defs.h. */
#ifndef IB_HAS_BIAS
#error "build with ib_cl_kernel_build_options () (opencl/kernel-defs.h)"
#endif
