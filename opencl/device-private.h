/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test hooks of device selection (private: for tests, not installed, not
 * for applications). */
#pragma once

#include "device.h"

G_BEGIN_DECLS

/* Devices opened after this call (ib_cl_device_new) describe themselves as
 * a discrete GPU when @pretend is TRUE: is_cpu and host_unified FALSE, so
 * that a CPU runtime (PoCL, Intel's CPU runtime) runs the GPU code path:
 * the CLBlast backend, the GPU kernels for fp16/bf16/q8 weights
 * (gemm_gpu.cl), GPU work-group shapes and copied (not zero-copy) buffers.
 * @hide_fp16 also reports no cl_khr_fp16 (no HGEMM: the path of NVIDIA's
 * OpenCL, which does not advertise it). Call before opening the devices it
 * should apply to; not thread-safe against ib_cl_device_new. */
void ib_cl_device_pretend_gpu (gboolean pretend, gboolean hide_fp16);

G_END_DECLS
