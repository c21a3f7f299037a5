/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Device buffers (zero-copy on CPU devices) and a scratch arena. */
#pragma once

#include "device.h"

G_BEGIN_DECLS

typedef struct
{
  cl_mem mem;
  gsize size; /* bytes */
  gpointer host; /* owned zero-copy backing store, or NULL */
  GBytes *keep; /* the mapped file the buffer uses in place, or NULL */
  guint8 *data; /* the bytes in host memory on CPU devices: @host, or
                 * inside the parent buffer for arena allocations; NULL on
                 * other devices. Valid for host code once the queue is
                 * finished. */
} IbClBuffer;

/* Page-aligned host memory for ib_cl_buffer_new_take_host(); NULL when
 * out of memory. Free with ib_cl_host_free() unless handed to a buffer. */
gpointer ib_cl_host_alloc (gsize size);
void ib_cl_host_free (gpointer p);

/* A read-write device buffer of @size bytes; on CPU devices it lives in
 * page-aligned host memory the host can address (@data). (transfer full) */
IbClBuffer *ib_cl_buffer_new (IbClDevice *dev, gsize size, GError **error);

/* A read-only buffer holding @host (from ib_cl_host_alloc, filled by the
 * caller), which the buffer takes over. On devices that share host memory
 * (PoCL and other CPU drivers) the buffer uses @host in place, so the data
 * exists once; elsewhere it is copied to the device and @host is freed at
 * once. On failure @host is freed too. (transfer full) */
IbClBuffer *ib_cl_buffer_new_take_host (IbClDevice *dev, gpointer host,
    gsize size, GError **error);

/* A read-only buffer holding the @size bytes at @offset in @map (a mapped
 * file, page-aligned @offset). On devices that share host memory the
 * buffer uses them in place and keeps a reference to @map: nothing is
 * copied and no memory is allocated for them (they stay in the page cache,
 * shared with every process that maps the same file); elsewhere they are
 * copied to the device. (transfer full) */
IbClBuffer *ib_cl_buffer_new_mapped (IbClDevice *dev, GBytes *map, gsize offset,
    gsize size, GError **error);

/* TRUE when ib_cl_buffer_new_mapped uses the bytes in place on @dev. */
gboolean ib_cl_buffer_maps_in_place (IbClDevice *dev);

void ib_cl_buffer_free (IbClBuffer *buf);

/* A bump allocator over one device buffer: the engine sizes it once per
 * stream and carves every activation tensor out of it up front, so that a
 * forward pass allocates nothing. Allocations are sub-buffers aligned to the
 * device's base address alignment and live until the arena is reset. */
typedef struct _IbClArena IbClArena;

IbClArena *ib_cl_arena_new (IbClDevice *dev, gsize capacity, GError **error);
void ib_cl_arena_free (IbClArena *arena);

/* Bytes @size takes in an arena of @dev, alignment included. */
gsize ib_cl_arena_footprint (const IbClDevice *dev, gsize size);

/* (transfer none): owned by the arena. */
IbClBuffer *ib_cl_arena_alloc (IbClArena *arena, gsize size, GError **error);
void ib_cl_arena_reset (IbClArena *arena);
gsize ib_cl_arena_used (const IbClArena *arena);
gsize ib_cl_arena_capacity (const IbClArena *arena);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (IbClBuffer, ib_cl_buffer_free)

G_END_DECLS
