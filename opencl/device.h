/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* OpenCL device selection: one context and the compiled kernel program for
 * one device, shared by every queue (stream) that uses it. */
#pragma once

#include <glib.h>
#include <CL/cl.h>

#include "error.h"

G_BEGIN_DECLS

typedef enum
{
  IB_CL_DEVICE_TYPE_AUTO, /* first GPU, else first CPU, else any */
  IB_CL_DEVICE_TYPE_GPU,
  IB_CL_DEVICE_TYPE_CPU,
} IbClDeviceType;

/* Which GEMM implementation a device uses. AUTO picks CLBlast on GPUs and
 * accelerators, and the project's own CPU-shaped kernels on CPU devices. */
typedef enum
{
  IB_CL_GEMM_AUTO,
  IB_CL_GEMM_CLBLAST,
  IB_CL_GEMM_OWN,
} IbClGemmBackend;

typedef struct
{
  IbClDeviceType type;
  int platform_index; /* -1: any platform */
  int device_index; /* -1: first matching device */
  const char *name; /* substring of the device name; NULL: any */
  IbClGemmBackend gemm;
  /* Where compiled kernel programs are kept (program-cache.h); NULL:
   * $XDG_CACHE_HOME/gst-instructblip/kernels; "": no cache. A directory
   * that cannot be created or written only means compiling at every start
   * (one message per process). The process environment is never changed. */
  const char *cache_dir;
} IbClDeviceParams;

typedef struct
{
  char name[256];
  char vendor[256];
  char platform[256];
  char version[256];
  guint64 global_mem; /* bytes */
  guint64 max_alloc; /* bytes, largest single buffer */
  guint32 compute_units;
  guint32 mem_base_align; /* bytes, alignment of sub-buffer origins */
  gboolean is_cpu;
  gboolean has_fp16; /* cl_khr_fp16: half arithmetic */
  gboolean host_unified; /* device memory is host memory (zero copy) */
  /* the driver must not run kernels of several queues at once (PoCL's CPU
   * drivers before 6.0, see queue.c) */
  gboolean serial_queues;
} IbClDeviceInfo;

typedef struct _IbClDevice IbClDevice;

void ib_cl_device_params_init (IbClDeviceParams *params);

/* Parses a device string into @params: "auto", "gpu", "cpu", "P:D" (platform
 * and device index), "D" (device index on the first platform that has it), or
 * any other text, matched as a case-insensitive substring of the name. */
gboolean ib_cl_device_params_parse (IbClDeviceParams *params, const char *spec,
    GError **error);

/* Opens the device, creates its context and compiles every embedded kernel
 * once (or loads them from the kernel cache). Thread-safe, also for the
 * first device of the process. Returns NULL with @error set when there is no OpenCL platform, no
 * matching device, or a kernel fails to build. (transfer full) */
IbClDevice *ib_cl_device_new (const IbClDeviceParams *params, GError **error);

IbClDevice *ib_cl_device_ref (IbClDevice *dev);
void ib_cl_device_unref (IbClDevice *dev);

const IbClDeviceInfo *ib_cl_device_get_info (const IbClDevice *dev);
IbClGemmBackend ib_cl_device_get_gemm (const IbClDevice *dev);
cl_context ib_cl_device_get_context (const IbClDevice *dev);
cl_device_id ib_cl_device_get_id (const IbClDevice *dev);
/* The program holding every embedded kernel (built once per device). */
cl_program ib_cl_device_get_program (const IbClDevice *dev);

/* Lists every device of every platform, one line each ("P:D name (type)"),
 * for --list-devices style output. (transfer full) */
char *ib_cl_device_list (GError **error);

/* Compiles @n_sources OpenCL C strings into a program for @dev. On failure
 * the error message carries the head of the build log. (transfer full) */
cl_program ib_cl_program_build (IbClDevice *dev, const char *const *sources,
    guint n_sources, const char *options, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (IbClDevice, ib_cl_device_unref)

G_END_DECLS
