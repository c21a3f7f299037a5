/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Device selection, context creation and the once-per-device kernel build. */
#include "device.h"

#include <stdio.h>
#include <string.h>

#include "cl_sources.h"
#include "device-private.h"
#include "fault-private.h"
#include "program-cache.h"
#include "gemm-priv.h"

struct _IbClDevice
{
  gint refcount;
  cl_platform_id platform;
  cl_device_id id;
  cl_context context;
  cl_program program;
  IbClDeviceInfo info;
  IbClGemmBackend gemm;
};

/* ib_cl_device_pretend_gpu (tests) */
static gboolean pretend_gpu, pretend_no_fp16;

void
ib_cl_device_pretend_gpu (gboolean pretend, gboolean hide_fp16)
{
  pretend_gpu = pretend;
  pretend_no_fp16 = pretend && hide_fp16;
}

void
ib_cl_device_params_init (IbClDeviceParams *params)
{
  memset (params, 0, sizeof (*params));
  params->type = IB_CL_DEVICE_TYPE_AUTO;
  params->platform_index = -1;
  params->device_index = -1;
  params->gemm = IB_CL_GEMM_AUTO;
}

static gboolean
parse_index (const char *s, int *out)
{
  guint64 v;

  if (!g_ascii_string_to_unsigned (s, 10, 0, 4096, &v, NULL))
    return FALSE;
  *out = (int) v;
  return TRUE;
}

gboolean
ib_cl_device_params_parse (IbClDeviceParams *params, const char *spec,
    GError **error)
{
  gboolean ok = TRUE;
  char **parts;

  if (spec == NULL || *spec == '\0' || g_ascii_strcasecmp (spec, "auto") == 0)
    params->type = IB_CL_DEVICE_TYPE_AUTO;
  else if (g_ascii_strcasecmp (spec, "gpu") == 0)
    params->type = IB_CL_DEVICE_TYPE_GPU;
  else if (g_ascii_strcasecmp (spec, "cpu") == 0)
    params->type = IB_CL_DEVICE_TYPE_CPU;
  else if (g_ascii_isdigit (spec[0])) {
    /* "P:D" or "D" */
    parts = g_strsplit (spec, ":", 3);
    if (g_strv_length (parts) == 2)
      ok = parse_index (parts[0], &params->platform_index) &&
          parse_index (parts[1], &params->device_index);
    else if (g_strv_length (parts) == 1)
      ok = parse_index (parts[0], &params->device_index);
    else
      ok = FALSE;
    g_strfreev (parts);
    if (!ok)
      g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_INVALID_ARG,
          "invalid device '%s': expected auto, gpu, cpu, PLATFORM:DEVICE, "
          "DEVICE or part of a device name",
          spec);
  } else
    params->name = spec;
  return ok;
}

/* Every platform and device of the process, enumerated once. The first
 * calls into the ICD loader and the driver initialise process-wide state
 * (PoCL sets up its devices in clGetPlatformIDs/clGetDeviceIDs); two
 * threads doing that at once crash inside PoCL, so the enumeration, and the
 * queries that follow it, run once under g_once and every later device
 * lookup reads this table. Platform and device ids live as long as the
 * process. */
typedef struct
{
  cl_device_id id;
  cl_device_type type;
  char name[256];
} Device;

typedef struct
{
  cl_platform_id id;
  char name[256];
  Device *devices;
  cl_uint n_devices;
} Platform;

typedef struct
{
  cl_int status; /* of clGetPlatformIDs */
  Platform *platforms;
  cl_uint n_platforms;
} Platforms;

static void
enumerate_devices (Platform *p)
{
  cl_device_id *ids;
  cl_uint n = 0, i;

  if (clGetDeviceIDs (p->id, CL_DEVICE_TYPE_ALL, 0, NULL, &n) != CL_SUCCESS ||
      n == 0)
    return;
  ids = g_new0 (cl_device_id, n);
  if (clGetDeviceIDs (p->id, CL_DEVICE_TYPE_ALL, n, ids, NULL) == CL_SUCCESS) {
    p->devices = g_new0 (Device, n);
    p->n_devices = n;
    for (i = 0; i < n; i++) {
      Device *d = &p->devices[i];
      d->id = ids[i];
      clGetDeviceInfo (d->id, CL_DEVICE_TYPE, sizeof (d->type), &d->type, NULL);
      clGetDeviceInfo (d->id, CL_DEVICE_NAME, sizeof (d->name) - 1, d->name,
          NULL);
    }
  }
  g_free (ids);
}

static gpointer
enumerate (G_GNUC_UNUSED gpointer unused)
{
  Platforms *all = g_new0 (Platforms, 1);
  cl_platform_id *ids = NULL;
  cl_uint n = 0, i;

  all->status = clGetPlatformIDs (0, NULL, &n);
  if (all->status == CL_SUCCESS && n > 0) {
    ids = g_new0 (cl_platform_id, n);
    all->status = clGetPlatformIDs (n, ids, NULL);
  }
  if (all->status == CL_SUCCESS && n > 0) {
    all->platforms = g_new0 (Platform, n);
    all->n_platforms = n;
    for (i = 0; i < n; i++) {
      Platform *p = &all->platforms[i];
      p->id = ids[i];
      clGetPlatformInfo (p->id, CL_PLATFORM_NAME, sizeof (p->name) - 1, p->name,
          NULL);
      enumerate_devices (p);
    }
  }
  g_free (ids);
  return all;
}

/* The process's platforms, or NULL with @error set when there is none.
 * (transfer none) */
static const Platforms *
get_platforms (GError **error)
{
  static GOnce once = G_ONCE_INIT;
  const Platforms *all = g_once (&once, enumerate, NULL);

  if (all->status == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ ||
      (all->status == CL_SUCCESS && all->n_platforms == 0)) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_PLATFORM,
        "no OpenCL platform found: install an OpenCL driver (for a CPU, the "
        "Debian package pocl-opencl-icd) and check /etc/OpenCL/vendors");
    return NULL;
  }
  if (all->status != CL_SUCCESS) {
    ib_cl_set_error (error, all->status, "clGetPlatformIDs");
    return NULL;
  }
  return all;
}

static gboolean
name_matches (const Device *d, const char *needle)
{
  char *a, *b;
  gboolean ok;

  if (needle == NULL)
    return TRUE;
  a = g_ascii_strdown (d->name, -1);
  b = g_ascii_strdown (needle, -1);
  ok = strstr (a, b) != NULL;
  g_free (a);
  g_free (b);
  return ok;
}

static gboolean
type_matches (const Device *d, IbClDeviceType want)
{
  switch (want) {
    case IB_CL_DEVICE_TYPE_GPU:
      return (d->type & CL_DEVICE_TYPE_GPU) != 0;
    case IB_CL_DEVICE_TYPE_CPU:
      return (d->type & CL_DEVICE_TYPE_CPU) != 0;
    default:
      return TRUE;
  }
}

/* Why a platform may list no device, for the "no device" errors. */
static const char *
no_device_hint (const Platforms *all)
{
  cl_uint pi;

  for (pi = 0; pi < all->n_platforms; pi++)
    if (all->platforms[pi].n_devices > 0)
      return "";
  for (pi = 0; pi < all->n_platforms; pi++)
    if (strstr (all->platforms[pi].name, "Portable Computing Language"))
      return "  (none: PoCL lists no device when it cannot create its kernel "
             "cache directory, $POCL_CACHE_DIR or $XDG_CACHE_HOME/pocl/kcache "
             "or ~/.cache/pocl/kcache; check that it is writable)\n";
  return "  (none: the OpenCL platforms list no device)\n";
}

/* Finds the device @params asks for. AUTO takes the first GPU of any
 * platform, else the first CPU, else the first device. */
static gboolean
pick_device (const IbClDeviceParams *params, cl_platform_id *out_p,
    cl_device_id *out_d, GError **error)
{
  const Platforms *all = get_platforms (error);
  cl_uint pi;
  gboolean found = FALSE;
  int pass;

  if (all == NULL)
    return FALSE;

  if (params->platform_index >= (int) all->n_platforms) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_DEVICE,
        "OpenCL platform %d does not exist (%u platform%s found)",
        params->platform_index, all->n_platforms,
        all->n_platforms == 1 ? "" : "s");
    return FALSE;
  }

  /* AUTO: pass 0 looks for GPUs, pass 1 for CPUs, pass 2 for anything. */
  for (pass = 0; pass < 3 && !found; pass++) {
    IbClDeviceType want = params->type;
    if (want == IB_CL_DEVICE_TYPE_AUTO)
      want = pass == 0 ? IB_CL_DEVICE_TYPE_GPU :
          pass == 1    ? IB_CL_DEVICE_TYPE_CPU :
                         IB_CL_DEVICE_TYPE_AUTO;
    else if (pass > 0)
      break;
    for (pi = 0; pi < all->n_platforms && !found; pi++) {
      const Platform *p = &all->platforms[pi];
      cl_uint di;

      if (params->platform_index >= 0 && (int) pi != params->platform_index)
        continue;
      for (di = 0; di < p->n_devices && !found; di++) {
        if (!type_matches (&p->devices[di], want) ||
            !name_matches (&p->devices[di], params->name))
          continue;
        if (params->device_index >= 0) {
          /* An index counts every device of the platform, as clinfo -l. */
          if ((int) di != params->device_index)
            continue;
        }
        *out_p = p->id;
        *out_d = p->devices[di].id;
        found = TRUE;
      }
    }
  }

  if (!found) {
    char *list = ib_cl_device_list (NULL);
    const char *hint = no_device_hint (all);
    const char *what = params->type == IB_CL_DEVICE_TYPE_GPU ? "GPU " :
        params->type == IB_CL_DEVICE_TYPE_CPU                ? "CPU " :
                                                               "";
    if (params->name)
      g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_DEVICE,
          "no OpenCL %sdevice whose name contains '%s'; devices:\n%s%s", what,
          params->name, list ? list : "", hint);
    else if (params->device_index >= 0)
      g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_DEVICE,
          "OpenCL device %d:%d does not exist; devices:\n%s%s",
          MAX (params->platform_index, 0), params->device_index,
          list ? list : "", hint);
    else
      g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_DEVICE,
          "no OpenCL %sdevice found; devices:\n%s%s", what, list ? list : "",
          hint);
    g_free (list);
  }
  return found;
}

char *
ib_cl_device_list (GError **error)
{
  const Platforms *all = get_platforms (error);
  GString *s;
  cl_uint pi, di;

  if (all == NULL)
    return NULL;
  s = g_string_new (NULL);
  for (pi = 0; pi < all->n_platforms; pi++) {
    const Platform *p = &all->platforms[pi];
    for (di = 0; di < p->n_devices; di++) {
      const Device *d = &p->devices[di];
      g_string_append_printf (s, "  %u:%u %s (%s)\n", pi, di, d->name,
          (d->type & CL_DEVICE_TYPE_GPU)     ? "gpu" :
              (d->type & CL_DEVICE_TYPE_CPU) ? "cpu" :
                                               "other");
    }
  }
  return g_string_free (s, FALSE);
}

static void
query_info (IbClDevice *dev)
{
  IbClDeviceInfo *info = &dev->info;
  cl_ulong u64 = 0;
  cl_uint u32 = 0;
  cl_bool b = CL_FALSE;
  cl_device_type type = 0;
  char ext[8192] = "";
  char pver[256] = "";
  const char *pocl;
  int pocl_major = 0;

  clGetDeviceInfo (dev->id, CL_DEVICE_NAME, sizeof (info->name) - 1, info->name,
      NULL);
  clGetDeviceInfo (dev->id, CL_DEVICE_VENDOR, sizeof (info->vendor) - 1,
      info->vendor, NULL);
  clGetDeviceInfo (dev->id, CL_DEVICE_VERSION, sizeof (info->version) - 1,
      info->version, NULL);
  clGetPlatformInfo (dev->platform, CL_PLATFORM_NAME,
      sizeof (info->platform) - 1, info->platform, NULL);
  clGetDeviceInfo (dev->id, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof (u64), &u64,
      NULL);
  info->global_mem = u64;
  clGetDeviceInfo (dev->id, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof (u64), &u64,
      NULL);
  info->max_alloc = u64;
  clGetDeviceInfo (dev->id, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof (u32), &u32,
      NULL);
  info->compute_units = u32;
  clGetDeviceInfo (dev->id, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof (u32), &u32,
      NULL);
  info->mem_base_align = MAX (u32 / 8, 128);
  clGetDeviceInfo (dev->id, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof (b), &b,
      NULL);
  info->host_unified = b == CL_TRUE;
  clGetDeviceInfo (dev->id, CL_DEVICE_EXTENSIONS, sizeof (ext) - 1, ext, NULL);
  info->has_fp16 = strstr (ext, "cl_khr_fp16") != NULL;
  clGetDeviceInfo (dev->id, CL_DEVICE_TYPE, sizeof (type), &type, NULL);
  info->is_cpu = (type & CL_DEVICE_TYPE_CPU) != 0;
  /* PoCL's CPU drivers keep one process-wide cache of compiled work-group
   * functions; before 6.0 a finished kernel gives its entry back by looking
   * it up by kernel and local size only (pocl_release_dlhandle_cache), so
   * with one kernel in flight on several queues at once (different grid
   * sizes make different entries) it can give back another queue's entry
   * and abort on an assertion. Fixed in PoCL 6.0 (upstream commit
   * c9ac4c0c, "fix dlhandle cache"). */
  clGetPlatformInfo (dev->platform, CL_PLATFORM_VERSION, sizeof (pver) - 1,
      pver, NULL);
  pocl = strstr (pver, "PoCL ");
  info->serial_queues = info->is_cpu && pocl != NULL &&
      sscanf (pocl + 5, "%d", &pocl_major) == 1 && pocl_major < 6;
  if (pretend_gpu) {
    info->is_cpu = FALSE;
    info->host_unified = FALSE;
  }
  if (pretend_no_fp16)
    info->has_fp16 = FALSE;
}

cl_program
ib_cl_program_build (IbClDevice *dev, const char *const *sources,
    guint n_sources, const char *options, GError **error)
{
  cl_int st = CL_SUCCESS;
  cl_program prog = NULL;

  if (IB_CL_FAULT (IB_CL_FAULT_BUILD))
    st = CL_OUT_OF_HOST_MEMORY;
  else
    prog = clCreateProgramWithSource (dev->context, n_sources,
        (const char **) sources, NULL, &st);
  if (st != CL_SUCCESS) {
    ib_cl_set_error (error, st, "clCreateProgramWithSource");
    return NULL;
  }
  st = clBuildProgram (prog, 1, &dev->id, options, NULL, NULL);
  if (st != CL_SUCCESS) {
    size_t len = 0;
    char *log;

    clGetProgramBuildInfo (prog, dev->id, CL_PROGRAM_BUILD_LOG, 0, NULL, &len);
    log = g_malloc0 (len + 1);
    clGetProgramBuildInfo (prog, dev->id, CL_PROGRAM_BUILD_LOG, len, log, NULL);
    /* The head of the log names the first error; the rest is noise. */
    if (strlen (log) > 2000)
      strcpy (log + 1990, "\n[...]");
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_BUILD,
        "OpenCL kernel build failed on %s (%s):\n%s", dev->info.name,
        ib_cl_status_name (st), g_strstrip (log));
    g_free (log);
    clReleaseProgram (prog);
    return NULL;
  }
  return prog;
}

IbClDevice *
ib_cl_device_new (const IbClDeviceParams *params, GError **error)
{
  IbClDeviceParams defaults;
  IbClDevice *dev = NULL;
  const char *srcs[IB_CL_N_SOURCES];
  cl_context_properties props[3];
  cl_int st = CL_SUCCESS;
  char *cache_dir;
  guint i;

  if (params == NULL) {
    ib_cl_device_params_init (&defaults);
    params = &defaults;
  }
  dev = g_new0 (IbClDevice, 1);
  dev->refcount = 1;
  if (!pick_device (params, &dev->platform, &dev->id, error))
    goto fail;
  query_info (dev);

  props[0] = CL_CONTEXT_PLATFORM;
  props[1] = (cl_context_properties) dev->platform;
  props[2] = 0;
  if (IB_CL_FAULT (IB_CL_FAULT_BUILD))
    st = CL_OUT_OF_HOST_MEMORY;
  else
    dev->context = clCreateContext (props, 1, &dev->id, NULL, NULL, &st);
  if (st != CL_SUCCESS) {
    ib_cl_set_error (error, st, "clCreateContext");
    goto fail;
  }

  dev->gemm = params->gemm;
  if (dev->gemm == IB_CL_GEMM_AUTO)
    dev->gemm = dev->info.is_cpu ? IB_CL_GEMM_OWN : IB_CL_GEMM_CLBLAST;
  if (dev->gemm == IB_CL_GEMM_CLBLAST && !ib_cl_clblast_setup (dev, error))
    goto fail;

  for (i = 0; i < IB_CL_N_SOURCES; i++)
    srcs[i] = ib_cl_sources[i].source;
  cache_dir = params->cache_dir == NULL ? ib_cl_program_cache_default_dir () :
      *params->cache_dir                ? g_strdup (params->cache_dir) :
                                          NULL;
  dev->program = ib_cl_program_cache_build (dev, cache_dir, srcs,
      IB_CL_N_SOURCES, ib_cl_kernel_build_options (), error);
  g_free (cache_dir);
  if (dev->program == NULL)
    goto fail;
  return dev;

fail:
  ib_cl_device_unref (dev);
  return NULL;
}

IbClDevice *
ib_cl_device_ref (IbClDevice *dev)
{
  g_atomic_int_inc (&dev->refcount);
  return dev;
}

void
ib_cl_device_unref (IbClDevice *dev)
{
  if (dev == NULL || !g_atomic_int_dec_and_test (&dev->refcount))
    return;
  if (dev->program)
    clReleaseProgram (dev->program);
  if (dev->context)
    clReleaseContext (dev->context);
  g_free (dev);
}

const IbClDeviceInfo *
ib_cl_device_get_info (const IbClDevice *dev)
{
  return &dev->info;
}

IbClGemmBackend
ib_cl_device_get_gemm (const IbClDevice *dev)
{
  return dev->gemm;
}

cl_context
ib_cl_device_get_context (const IbClDevice *dev)
{
  return dev->context;
}

cl_device_id
ib_cl_device_get_id (const IbClDevice *dev)
{
  return dev->id;
}

cl_program
ib_cl_device_get_program (const IbClDevice *dev)
{
  return dev->program;
}
