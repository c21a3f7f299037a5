/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The packed-weights cache: after a load from the checkpoint, the weights
 * as the device holds them (packed, converted, in oneDNN's blocked layout)
 * are written to one file; a later load with the same key reads them
 * straight into the device buffers, with no conversion.
 *
 * Key (SHA-256): the cache format, the engine version, the device
 * (platform, name, OpenCL and driver versions), the storage precision and
 * the packed layout (ib_cl_weight_layout_key), and the checkpoint's
 * content as far as it can be known without reading the weights: every
 * safetensors file's size, modification time and inode, every tensor's
 * name, dtype, shape and offset (the headers), and config.json and the
 * shard index byte for byte.
 *
 * File: <dir>/<source>-<key>.ibw, <source> naming the checkpoint
 * directory, device and precision (a new entry replaces the older ones of
 * the same source). A 4 KiB header (magic, format, key), the records'
 * blocks at 4 KiB-aligned offsets, an index (name, kind, descriptor, and
 * per block offset, size and XXH64 of every 4 MiB chunk), and a 64-byte
 * footer (magic, index offset, size and XXH64, key). Written to a
 * temporary file in the same directory while the model loads, synced and
 * renamed into place only after the load succeeded; any failure (a full
 * disk among them) removes the temporary file.
 *
 * Reading checks the footer, the key and the index before using the entry,
 * and every chunk's XXH64: on CPU devices the entry is mapped and its
 * blocks are the device buffers, checked in place (nothing allocated for
 * the weights: a warm start is bounded by hashing the page cache); else,
 * or with mapping off, bounded pread on several threads into new memory,
 * each chunk checked as it arrives. A missing or stale entry is a miss (no message); an
 * unusable directory, a damaged or truncated entry or a failed write is
 * reported once per load with g_warning, and the weights are then read
 * from the checkpoint as without the cache (a damaged entry is removed, so
 * the next load writes a new one). */
#pragma once

#include "gemm.h"
#include "ib-safetensors.h"

G_BEGIN_DECLS

typedef struct _IbWeightCache IbWeightCache;

/* The entry for loading @st (from @model_dir) as @storage on @dev, in
 * @dir (created if missing). With @map, a valid entry is mapped and its
 * weights used in place on CPU devices (map_entry); else, and on other
 * devices, they are read into new memory. Never fails: without a usable
 * directory the cache is off (one warning). (transfer full) */
IbWeightCache *ib_weight_cache_open (const char *dir, const char *model_dir,
    const IbSafetensors *st, IbClDevice *dev, IbClDtype storage, gboolean map);
void ib_weight_cache_free (IbWeightCache *c);

/* TRUE while the weights come from a valid entry. */
gboolean ib_weight_cache_reading (const IbWeightCache *c);

/* The linear layer or buffer recorded as @name, read into new device
 * memory; NULL when the entry cannot give it (then reading stops, with one
 * warning: the caller loads from the checkpoint). */
IbClWeight *ib_weight_cache_get_weight (IbWeightCache *c, IbClDevice *dev,
    const char *name);
IbClBuffer *ib_weight_cache_get_buffer (IbWeightCache *c, IbClDevice *dev,
    const char *name, gsize size);

/* Records a product of the normal load (no-op unless writing). @host:
 * the buffer's bytes in host memory. */
void ib_weight_cache_put_weight (IbWeightCache *c, const char *name,
    const IbClWeight *w);
void ib_weight_cache_put_buffer (IbWeightCache *c, const char *name,
    const void *host, gsize size);

/* The load succeeded: a new entry is completed and renamed into place. */
void ib_weight_cache_commit (IbWeightCache *c);

/* The file an entry for this load has (tests). (transfer full) */
char *ib_weight_cache_get_path (const IbWeightCache *c);

G_END_DECLS
