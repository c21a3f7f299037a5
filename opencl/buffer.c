/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Device buffers and the scratch arena. */
#include "buffer.h"
#include "fault-private.h"

#include <stdlib.h>
#include <sys/mman.h>

#define HOST_ALIGN 4096
/* Buffers of a huge page or more (weights, caches) start on a huge page
 * and ask for transparent huge pages: 512 times fewer page faults when
 * they are first written (loading 8-16 GB of weights faulted 4 KiB at a
 * time spent seconds in the kernel) and fewer TLB misses when decode
 * streams them. Advice only: the memory works the same without it. */
#define HUGE_PAGE (2u << 20)

static gpointer
host_alloc (gsize size)
{
  const gsize align = size >= HUGE_PAGE ? HUGE_PAGE : HOST_ALIGN;
  void *p = NULL;

  if (posix_memalign (&p, align, MAX (size, 1)) != 0)
    return NULL;
#ifdef MADV_HUGEPAGE
  if (align == HUGE_PAGE)
    madvise (p, size / HOST_ALIGN * HOST_ALIGN, MADV_HUGEPAGE);
#endif
  return p;
}

gpointer
ib_cl_host_alloc (gsize size)
{
  return IB_CL_FAULT (IB_CL_FAULT_ALLOC) ? NULL : host_alloc (size);
}

void
ib_cl_host_free (gpointer p)
{
  free (p);
}

static gboolean
check_size (IbClDevice *dev, gsize size, GError **error)
{
  const IbClDeviceInfo *info = ib_cl_device_get_info (dev);

  if (size > info->max_alloc) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_MEMORY,
        "buffer of %" G_GSIZE_FORMAT " bytes exceeds the largest allocation "
        "%s allows (%" G_GUINT64_FORMAT " bytes)",
        size, info->name, info->max_alloc);
    return FALSE;
  }
  return TRUE;
}

static gboolean
shares_host_memory (IbClDevice *dev)
{
  const IbClDeviceInfo *info = ib_cl_device_get_info (dev);
  return info->is_cpu || info->host_unified;
}

IbClBuffer *
ib_cl_buffer_new (IbClDevice *dev, gsize size, GError **error)
{
  IbClBuffer *buf;
  cl_int st = CL_SUCCESS;
  gpointer host = NULL;

  if (!check_size (dev, size, error))
    return NULL;
  /* CPU devices only: a GPU with unified memory keeps its own allocations
   * (and its caches). One fault point per buffer: the clCreateBuffer
   * below. */
  if (ib_cl_device_get_info (dev)->is_cpu &&
      (host = host_alloc (MAX (size, 4))) == NULL) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_MEMORY,
        "out of host memory for a buffer of %" G_GSIZE_FORMAT " bytes", size);
    return NULL;
  }
  buf = g_new0 (IbClBuffer, 1);
  buf->size = size;
  if (IB_CL_FAULT (IB_CL_FAULT_ALLOC))
    st = CL_MEM_OBJECT_ALLOCATION_FAILURE;
  else
    buf->mem = clCreateBuffer (ib_cl_device_get_context (dev),
        CL_MEM_READ_WRITE | (host ? CL_MEM_USE_HOST_PTR : 0), MAX (size, 4),
        host, &st);
  if (st != CL_SUCCESS) {
    ib_cl_set_error (error, st, "clCreateBuffer");
    ib_cl_host_free (host);
    g_free (buf);
    return NULL;
  }
  buf->host = host;
  buf->data = host;
  return buf;
}

/* A read-only buffer over the host bytes @host: used in place on devices
 * that share host memory (then *@in_place), copied to the device
 * elsewhere. NULL with @error on failure (@host untouched). */
static IbClBuffer *
new_read_only (IbClDevice *dev, gpointer host, gsize size, gboolean *in_place,
    GError **error)
{
  IbClBuffer *buf;
  cl_int st = CL_SUCCESS;

  *in_place = shares_host_memory (dev);
  if (!check_size (dev, size, error))
    return NULL;
  buf = g_new0 (IbClBuffer, 1);
  buf->size = size;
  if (IB_CL_FAULT (IB_CL_FAULT_ALLOC))
    st = CL_MEM_OBJECT_ALLOCATION_FAILURE;
  else
    buf->mem = clCreateBuffer (ib_cl_device_get_context (dev),
        CL_MEM_READ_ONLY |
            (*in_place ? CL_MEM_USE_HOST_PTR : CL_MEM_COPY_HOST_PTR),
        MAX (size, 4), host, &st);
  if (st != CL_SUCCESS) {
    ib_cl_set_error (error, st, "clCreateBuffer");
    g_free (buf);
    return NULL;
  }
  if (*in_place && ib_cl_device_get_info (dev)->is_cpu)
    buf->data = host;
  return buf;
}

IbClBuffer *
ib_cl_buffer_new_take_host (IbClDevice *dev, gpointer host, gsize size,
    GError **error)
{
  gboolean in_place;
  IbClBuffer *buf = new_read_only (dev, host, size, &in_place, error);

  if (buf && in_place)
    buf->host = host;
  else
    ib_cl_host_free (host);
  return buf;
}

gboolean
ib_cl_buffer_maps_in_place (IbClDevice *dev)
{
  return shares_host_memory (dev);
}

IbClBuffer *
ib_cl_buffer_new_mapped (IbClDevice *dev, GBytes *map, gsize offset, gsize size,
    GError **error)
{
  gsize map_size;
  const guint8 *base = g_bytes_get_data (map, &map_size);
  gboolean in_place;
  IbClBuffer *buf;

  g_return_val_if_fail (offset <= map_size && size <= map_size - offset, NULL);
  buf = new_read_only (dev, (gpointer) (base + offset), size, &in_place, error);
  if (buf && in_place)
    buf->keep = g_bytes_ref (map);
  return buf;
}

void
ib_cl_buffer_free (IbClBuffer *buf)
{
  if (buf == NULL)
    return;
  if (buf->mem)
    clReleaseMemObject (buf->mem);
  ib_cl_host_free (buf->host);
  if (buf->keep)
    g_bytes_unref (buf->keep);
  g_free (buf);
}

struct _IbClArena
{
  IbClDevice *dev;
  IbClBuffer *base;
  gsize used;
  GPtrArray *allocs; /* IbClBuffer sub-buffers */
};

gsize
ib_cl_arena_footprint (const IbClDevice *dev, gsize size)
{
  gsize align = ib_cl_device_get_info (dev)->mem_base_align;
  return (MAX (size, 4) + align - 1) / align * align;
}

static void
sub_buffer_free (gpointer p)
{
  IbClBuffer *b = p;
  clReleaseMemObject (b->mem);
  g_free (b);
}

IbClArena *
ib_cl_arena_new (IbClDevice *dev, gsize capacity, GError **error)
{
  IbClArena *arena;
  IbClBuffer *base = ib_cl_buffer_new (dev, capacity, error);

  if (base == NULL)
    return NULL;
  arena = g_new0 (IbClArena, 1);
  arena->dev = ib_cl_device_ref (dev);
  arena->base = base;
  arena->allocs = g_ptr_array_new_with_free_func (sub_buffer_free);
  return arena;
}

void
ib_cl_arena_free (IbClArena *arena)
{
  if (arena == NULL)
    return;
  g_ptr_array_unref (arena->allocs);
  ib_cl_buffer_free (arena->base);
  ib_cl_device_unref (arena->dev);
  g_free (arena);
}

IbClBuffer *
ib_cl_arena_alloc (IbClArena *arena, gsize size, GError **error)
{
  gsize need = ib_cl_arena_footprint (arena->dev, size);
  cl_buffer_region region;
  IbClBuffer *sub;
  cl_int st = CL_SUCCESS;

  if (need > arena->base->size - arena->used) {
    g_set_error (error, IB_CL_ERROR, IB_CL_ERROR_NO_MEMORY,
        "scratch arena full: %" G_GSIZE_FORMAT
        " bytes requested, %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " used",
        size, arena->used, arena->base->size);
    return NULL;
  }
  region.origin = arena->used;
  region.size = MAX (size, 4);
  sub = g_new0 (IbClBuffer, 1);
  sub->size = size;
  if (IB_CL_FAULT (IB_CL_FAULT_ALLOC))
    st = CL_MEM_OBJECT_ALLOCATION_FAILURE;
  else
    sub->mem = clCreateSubBuffer (arena->base->mem, CL_MEM_READ_WRITE,
        CL_BUFFER_CREATE_TYPE_REGION, &region, &st);
  if (st != CL_SUCCESS) {
    ib_cl_set_error (error, st, "clCreateSubBuffer");
    g_free (sub);
    return NULL;
  }
  if (arena->base->data)
    sub->data = arena->base->data + region.origin;
  arena->used += need;
  g_ptr_array_add (arena->allocs, sub);
  return sub;
}

void
ib_cl_arena_reset (IbClArena *arena)
{
  g_ptr_array_set_size (arena->allocs, 0);
  arena->used = 0;
}

gsize
ib_cl_arena_used (const IbClArena *arena)
{
  return arena->used;
}

gsize
ib_cl_arena_capacity (const IbClArena *arena)
{
  return arena->base->size;
}
