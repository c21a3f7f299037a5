/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The packed-weights cache file: key, writing, checked reading. */
#define _GNU_SOURCE /* O_DIRECT, preadv2 */
#include "weight-cache.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "hash.h"

#define MAGIC "IBWCACH1"
#define END_MAGIC "IBWCEND1"
#define MAGIC_LEN 8
#define FORMAT 1
#define HEADER_LEN 4096
#define FOOTER_LEN 64
#define KEY_LEN 32
/* blocks start at multiples of this (page size: a later reader may use
 * O_DIRECT or mappings on them) */
#define BLOCK_ALIGN 4096
/* unit of checksums and of the parallel reads */
#define CHUNK ((gsize) 4 << 20)
/* an index larger than this is not ours */
#define MAX_INDEX ((gsize) 64 << 20)
/* reads in flight at once: more than the cores, for the disk's queue */
#define READ_THREADS 4
#define SUFFIX ".ibw"

enum
{
  KIND_WEIGHT = 1,
  KIND_BUFFER = 2,
};

typedef struct
{
  guint64 offset, size;
  guint n_chunks;
  guint64 *hashes; /* XXH64 (seed 0) of each CHUNK */
} Block;

typedef struct
{
  char *name;
  guint32 kind;
  GBytes *desc; /* KIND_WEIGHT: ib_cl_weight_export's descriptor */
  guint n_blocks;
  Block blocks[IB_CL_WEIGHT_MAX_BLOCKS];
} Record;

typedef enum
{
  MODE_OFF,
  MODE_READING,
  MODE_WRITING,
} Mode;

struct _IbWeightCache
{
  Mode mode;
  char *dir;
  char *path; /* the entry */
  char *tmp_path; /* writing: the temporary file */
  char *source; /* file-name prefix shared by entries of this source */
  guint8 key[KEY_LEN];
  int fd;
  int direct_fd; /* reading: the entry with O_DIRECT, or -1 */
  guint64 end; /* writing: first free byte */
  GHashTable *records; /* name -> Record * */
  gboolean may_map; /* asked to map entries, on a device that can use them */
  GBytes *map; /* reading: the entry mapped, or NULL (read into memory) */
  GPtrArray *order; /* writing: the records in order */
  gboolean warned;
};

static void
record_free (gpointer p)
{
  Record *r = p;
  guint i;

  for (i = 0; i < r->n_blocks; i++)
    g_free (r->blocks[i].hashes);
  if (r->desc)
    g_bytes_unref (r->desc);
  g_free (r->name);
  g_free (r);
}

/* Stops using the cache: a temporary file is removed. */
static void
stop (IbWeightCache *c)
{
  /* the weights made from the mapping keep their references to it */
  g_clear_pointer (&c->map, g_bytes_unref);
  if (c->fd >= 0)
    close (c->fd);
  if (c->direct_fd >= 0)
    close (c->direct_fd);
  c->fd = c->direct_fd = -1;
  if (c->mode == MODE_WRITING && c->tmp_path)
    g_unlink (c->tmp_path);
  g_clear_pointer (&c->tmp_path, g_free);
  c->mode = MODE_OFF;
}

/* The one warning of a load; the cache is off afterwards. */
static void G_GNUC_PRINTF (2, 3)
    warn_off (IbWeightCache *c, const char *fmt, ...)
{
  va_list ap;
  char *msg;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (!c->warned)
    g_warning ("packed-weights cache %s: %s; the weights are loaded from "
               "the checkpoint",
        c->path ? c->path : c->dir, msg);
  c->warned = TRUE;
  g_free (msg);
  stop (c);
}

/* ---- key ------------------------------------------------------------- */

static void
add_str (GChecksum *sum, const char *s)
{
  /* with its NUL, so that fields cannot run into each other */
  g_checksum_update (sum, (const guchar *) s, strlen (s) + 1);
}

static void
add_u64 (GChecksum *sum, guint64 v)
{
  g_checksum_update (sum, (const guchar *) &v, sizeof (v));
}

/* @path's bytes (or that it is absent). */
static void
add_file (GChecksum *sum, const char *path)
{
  char *data = NULL;
  gsize len = 0;

  add_str (sum, path ? "file" : "none");
  if (path && g_file_get_contents (path, &data, &len, NULL)) {
    add_u64 (sum, len);
    g_checksum_update (sum, (const guchar *) data, len);
  } else {
    add_str (sum, "absent");
  }
  g_free (data);
}

static void
compute_key (IbWeightCache *c, const char *model_dir, const IbSafetensors *st,
    IbClDevice *dev, IbClDtype storage)
{
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
  GChecksum *src = g_checksum_new (G_CHECKSUM_SHA256);
  char *layout = ib_cl_weight_layout_key (dev, storage);
  char *config = g_build_filename (model_dir, "config.json", NULL);
  char *abs_dir = g_canonicalize_filename (model_dir, NULL);
  const char *source = ib_safetensors_get_source (st);
  gsize len = KEY_LEN;
  guint i, d;

  add_str (sum, MAGIC);
  add_u64 (sum, FORMAT);
  add_str (sum, IB_ENGINE_VERSION);
  add_str (sum, layout);
  for (i = 0; i < ib_safetensors_get_n_files (st); i++) {
    const char *path = ib_safetensors_get_file (st, i);
    GStatBuf sb;
    char *base = g_path_get_basename (path);

    add_str (sum, base);
    g_free (base);
    if (g_stat (path, &sb) == 0) {
      add_u64 (sum, (guint64) sb.st_size);
      add_u64 (sum, (guint64) sb.st_mtim.tv_sec);
      add_u64 (sum, (guint64) sb.st_mtim.tv_nsec);
      add_u64 (sum, (guint64) sb.st_ino);
      add_u64 (sum, (guint64) sb.st_dev);
    } else {
      add_str (sum, "unreadable");
    }
  }
  for (i = 0; i < ib_safetensors_get_n_tensors (st); i++) {
    const IbTensor *t = ib_safetensors_get_nth (st, i);
    char *base = g_path_get_basename (t->file);

    add_str (sum, t->name);
    add_str (sum, base);
    add_u64 (sum, (guint64) t->dtype);
    add_u64 (sum, t->n_dims);
    for (d = 0; d < t->n_dims; d++)
      add_u64 (sum, (guint64) t->shape[d]);
    add_u64 (sum, t->offset);
    add_u64 (sum, t->n_bytes);
    g_free (base);
  }
  add_file (sum, config);
  add_file (sum, g_str_has_suffix (source, ".json") ? source : NULL);
  g_checksum_get_digest (sum, c->key, &len);

  add_str (src, abs_dir);
  add_str (src, layout);
  c->source = g_strndup (g_checksum_get_string (src), 16);
  c->path = g_strdup_printf ("%s%s%s-%s" SUFFIX, c->dir, G_DIR_SEPARATOR_S,
      c->source, g_checksum_get_string (sum));
  g_checksum_free (sum);
  g_checksum_free (src);
  g_free (layout);
  g_free (config);
  g_free (abs_dir);
}

/* ---- file I/O ---------------------------------------------------------- */

static gboolean
pread_full (int fd, void *buf, gsize len, guint64 off, const char **why)
{
  guint8 *p = buf;

  while (len > 0) {
    ssize_t n = pread (fd, p, MIN (len, (gsize) 1 << 30), (off_t) off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      *why = g_strerror (errno);
      return FALSE;
    }
    if (n == 0) {
      *why = "the file ends early (truncated)";
      return FALSE;
    }
    p += n;
    off += (guint64) n;
    len -= (gsize) n;
  }
  return TRUE;
}

static gboolean
pwrite_full (int fd, const void *buf, gsize len, guint64 off, int *err)
{
  const guint8 *p = buf;

  while (len > 0) {
    ssize_t n = pwrite (fd, p, MIN (len, (gsize) 1 << 30), (off_t) off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      *err = n < 0 ? errno : ENOSPC;
      return FALSE;
    }
    p += n;
    off += (guint64) n;
    len -= (gsize) n;
  }
  return TRUE;
}

/* ---- index ------------------------------------------------------------- */

static void
put_u32 (GByteArray *a, guint32 v)
{
  g_byte_array_append (a, (const guint8 *) &v, 4);
}

static void
put_u64 (GByteArray *a, guint64 v)
{
  g_byte_array_append (a, (const guint8 *) &v, 8);
}

static void
put_bytes (GByteArray *a, const void *p, gsize len)
{
  put_u32 (a, (guint32) len);
  g_byte_array_append (a, p, (guint) len);
}

static GByteArray *
index_serialize (IbWeightCache *c)
{
  GByteArray *a = g_byte_array_new ();
  guint i, b, k;

  put_u32 (a, c->order->len);
  for (i = 0; i < c->order->len; i++) {
    const Record *r = g_ptr_array_index (c->order, i);
    gsize dlen = 0;
    gconstpointer d = r->desc ? g_bytes_get_data (r->desc, &dlen) : NULL;

    put_u32 (a, r->kind);
    put_bytes (a, r->name, strlen (r->name));
    put_bytes (a, d, dlen);
    put_u32 (a, r->n_blocks);
    for (b = 0; b < r->n_blocks; b++) {
      put_u64 (a, r->blocks[b].offset);
      put_u64 (a, r->blocks[b].size);
      put_u32 (a, r->blocks[b].n_chunks);
      for (k = 0; k < r->blocks[b].n_chunks; k++)
        put_u64 (a, r->blocks[b].hashes[k]);
    }
  }
  return a;
}

typedef struct
{
  const guint8 *p;
  gsize left;
  gboolean bad;
} Cursor;

static const guint8 *
take (Cursor *cur, gsize n)
{
  const guint8 *p = cur->p;

  if (cur->bad || n > cur->left) {
    cur->bad = TRUE;
    return NULL;
  }
  cur->p += n;
  cur->left -= n;
  return p;
}

static guint32
get_u32 (Cursor *cur)
{
  const guint8 *p = take (cur, 4);
  guint32 v = 0;

  if (p)
    memcpy (&v, p, 4);
  return v;
}

static guint64
get_u64 (Cursor *cur)
{
  const guint8 *p = take (cur, 8);
  guint64 v = 0;

  if (p)
    memcpy (&v, p, 8);
  return v;
}

static guint64
n_chunks_of (guint64 size)
{
  return (size + CHUNK - 1) / CHUNK;
}

/* The index into c->records; FALSE if malformed. */
static gboolean
index_parse (IbWeightCache *c, const guint8 *data, gsize len, guint64 limit)
{
  Cursor cur = { data, len, FALSE };
  guint32 n = get_u32 (&cur), i, b, k;

  for (i = 0; i < n && !cur.bad; i++) {
    Record *r = g_new0 (Record, 1);
    guint32 nlen, dlen;
    const guint8 *p;

    r->kind = get_u32 (&cur);
    nlen = get_u32 (&cur);
    p = take (&cur, nlen);
    r->name = p ? g_strndup ((const char *) p, nlen) : NULL;
    dlen = get_u32 (&cur);
    p = take (&cur, dlen);
    r->desc = p && dlen ? g_bytes_new (p, dlen) : NULL;
    r->n_blocks = get_u32 (&cur);
    if (r->name == NULL || r->n_blocks > IB_CL_WEIGHT_MAX_BLOCKS ||
        (r->kind != KIND_WEIGHT && r->kind != KIND_BUFFER)) {
      cur.bad = TRUE;
      r->n_blocks = 0;
    }
    for (b = 0; b < r->n_blocks && !cur.bad; b++) {
      Block *bl = &r->blocks[b];
      bl->offset = get_u64 (&cur);
      bl->size = get_u64 (&cur);
      bl->n_chunks = get_u32 (&cur);
      if (bl->offset < HEADER_LEN || bl->offset % BLOCK_ALIGN != 0 ||
          bl->size > limit || bl->offset > limit - bl->size ||
          bl->n_chunks != n_chunks_of (bl->size) ||
          (gsize) bl->n_chunks * 8 > cur.left) {
        cur.bad = TRUE;
        bl->n_chunks = 0;
        break;
      }
      bl->hashes = g_new (guint64, bl->n_chunks);
      for (k = 0; k < bl->n_chunks; k++)
        bl->hashes[k] = get_u64 (&cur);
    }
    if (cur.bad) {
      record_free (r);
      break;
    }
    g_hash_table_replace (c->records, r->name, r);
  }
  return !cur.bad && cur.left == 0;
}

/* ---- opening ------------------------------------------------------------ */

typedef struct
{
  void *addr;
  gsize len;
} Mapping;

static void
unmap (gpointer data)
{
  Mapping *m = data;

  munmap (m->addr, m->len);
  g_free (m);
}

/* Maps the whole entry (read-only, shared with the page cache): its blocks
 * then become the device buffers in place (ib_cl_weight_new_mapped). A
 * warm start so allocates nothing for the weights: on this project's
 * machine, the first write to each fresh page of 8 GB (host faults behind
 * a VM's free-page reporting) was most of a 6 s start. Entries are only
 * ever replaced by renaming a new file over them, never rewritten, and a
 * removed entry stays valid while mapped; a file truncated in place while
 * a model uses it would raise SIGBUS, which is why mapping can be turned
 * off (IbModelParams.weight_cache_map). A failed mapping reads instead. */
static void
map_entry (IbWeightCache *c, guint64 size)
{
  Mapping *m;
  void *addr;

  if (size > G_MAXSIZE)
    return;
  addr = mmap (NULL, (gsize) size, PROT_READ, MAP_SHARED, c->fd, 0);
  if (addr == MAP_FAILED)
    return;
  madvise (addr, (gsize) size, MADV_WILLNEED);
  m = g_new (Mapping, 1);
  m->addr = addr;
  m->len = (gsize) size;
  c->map = g_bytes_new_with_free_func (addr, (gsize) size, unmap, m);
}

/* Opens an existing entry for reading: TRUE if it is valid; FALSE with
 * *@damaged set when it exists but cannot be used (*@why says why). */
static gboolean
open_entry (IbWeightCache *c, gboolean *damaged, char **why)
{
  guint8 header[HEADER_LEN], footer[FOOTER_LEN];
  guint64 index_off, index_len, index_hash, size;
  guint8 *index = NULL;
  const char *err = NULL;
  struct stat sb;
  gboolean ok = FALSE;

  *damaged = FALSE;
  c->fd = open (c->path, O_RDONLY | O_CLOEXEC);
  if (c->fd < 0) {
    if (errno != ENOENT) {
      *damaged = TRUE;
      *why = g_strdup_printf ("cannot be opened: %s", g_strerror (errno));
    }
    return FALSE;
  }
  *damaged = TRUE;
  if (fstat (c->fd, &sb) != 0 ||
      (size = (guint64) sb.st_size) < HEADER_LEN + FOOTER_LEN) {
    *why = g_strdup ("is shorter than a header and a footer (truncated)");
    goto out;
  }
  if (!pread_full (c->fd, header, HEADER_LEN, 0, &err) ||
      !pread_full (c->fd, footer, FOOTER_LEN, size - FOOTER_LEN, &err)) {
    *why = g_strdup_printf ("cannot be read: %s", err);
    goto out;
  }
  if (memcmp (header, MAGIC, MAGIC_LEN) != 0 ||
      memcmp (footer, END_MAGIC, MAGIC_LEN) != 0) {
    *why = g_strdup ("has no valid header or footer (truncated or not a "
                     "cache file)");
    goto out;
  }
  {
    guint32 format;
    memcpy (&format, header + MAGIC_LEN, 4);
    if (format != FORMAT ||
        memcmp (header + MAGIC_LEN + 8, c->key, KEY_LEN) != 0 ||
        memcmp (footer + MAGIC_LEN + 24, c->key, KEY_LEN) != 0) {
      *why = g_strdup ("was written for another checkpoint, device or "
                       "engine (its key differs from its name)");
      goto out;
    }
  }
  memcpy (&index_off, footer + MAGIC_LEN, 8);
  memcpy (&index_len, footer + MAGIC_LEN + 8, 8);
  memcpy (&index_hash, footer + MAGIC_LEN + 16, 8);
  if (index_len > MAX_INDEX || index_off < HEADER_LEN ||
      index_off + index_len + FOOTER_LEN != size) {
    *why = g_strdup ("has an index outside the file");
    goto out;
  }
  index = g_malloc (MAX (index_len, 1));
  if (!pread_full (c->fd, index, index_len, index_off, &err)) {
    *why = g_strdup_printf ("cannot be read: %s", err);
    goto out;
  }
  if (ib_xxh64 (index, index_len, 0) != index_hash ||
      !index_parse (c, index, index_len, index_off)) {
    *why = g_strdup ("has a damaged index (checksum)");
    goto out;
  }
  posix_fadvise (c->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  if (c->may_map)
    map_entry (c, size);
#ifdef O_DIRECT
  c->direct_fd = open (c->path, O_RDONLY | O_CLOEXEC | O_DIRECT);
#endif
  *damaged = FALSE;
  ok = TRUE;
out:
  g_free (index);
  if (!ok) {
    g_hash_table_remove_all (c->records);
    close (c->fd);
    c->fd = -1;
  }
  return ok;
}

static void
start_writing (IbWeightCache *c)
{
  guint8 header[HEADER_LEN] = { 0 };
  guint32 format = FORMAT;
  char *base;
  int err = 0;

  if (g_mkdir_with_parents (c->dir, 0755) != 0) {
    warn_off (c, "cannot create the directory: %s", g_strerror (errno));
    return;
  }
  base = g_path_get_basename (c->path);
  c->tmp_path =
      g_strdup_printf ("%s%s.%s.XXXXXX", c->dir, G_DIR_SEPARATOR_S, base);
  g_free (base);
  c->fd = g_mkstemp_full (c->tmp_path, O_RDWR | O_CLOEXEC, 0644);
  if (c->fd < 0) {
    err = errno;
    g_clear_pointer (&c->tmp_path, g_free);
    warn_off (c, "cannot create a file in %s: %s", c->dir, g_strerror (err));
    return;
  }
  c->mode = MODE_WRITING;
  memcpy (header, MAGIC, MAGIC_LEN);
  memcpy (header + MAGIC_LEN, &format, 4);
  memcpy (header + MAGIC_LEN + 8, c->key, KEY_LEN);
  if (!pwrite_full (c->fd, header, HEADER_LEN, 0, &err)) {
    warn_off (c, "writing %s: %s", c->tmp_path, g_strerror (err));
    return;
  }
  c->end = HEADER_LEN;
  c->order = g_ptr_array_new ();
}

IbWeightCache *
ib_weight_cache_open (const char *dir, const char *model_dir,
    const IbSafetensors *st, IbClDevice *dev, IbClDtype storage, gboolean map)
{
  IbWeightCache *c = g_new0 (IbWeightCache, 1);
  gboolean damaged;
  char *why = NULL;

  c->fd = c->direct_fd = -1;
  c->may_map = map && ib_cl_buffer_maps_in_place (dev) &&
      ib_cl_device_get_info (dev)->is_cpu;
  c->dir = g_strdup (dir);
  c->records =
      g_hash_table_new_full (g_str_hash, g_str_equal, NULL, record_free);
  compute_key (c, model_dir, st, dev, storage);
  if (open_entry (c, &damaged, &why)) {
    c->mode = MODE_READING;
    return c;
  }
  if (damaged) {
    /* reported, removed, and written anew by this load */
    g_warning ("packed-weights cache %s %s; it is ignored, the weights are "
               "loaded from the checkpoint and the entry written anew",
        c->path, why);
    c->warned = TRUE;
    g_unlink (c->path);
    g_free (why);
  }
  start_writing (c);
  return c;
}

void
ib_weight_cache_free (IbWeightCache *c)
{
  if (c == NULL)
    return;
  stop (c);
  if (c->order)
    g_ptr_array_unref (c->order);
  g_hash_table_unref (c->records);
  g_free (c->dir);
  g_free (c->path);
  g_free (c->source);
  g_free (c);
}

gboolean
ib_weight_cache_reading (const IbWeightCache *c)
{
  return c && c->mode == MODE_READING;
}

char *
ib_weight_cache_get_path (const IbWeightCache *c)
{
  return g_strdup (c->path);
}

/* ---- reading ------------------------------------------------------------ */

typedef struct
{
  int fd, direct_fd;
  const Record *r;
  const IbClWeightBlock *dst;
  guint first[IB_CL_WEIGHT_MAX_BLOCKS + 1]; /* first chunk of each block */
  gboolean in_place; /* @dst is the mapped entry: check, do not read */
  gint next; /* next chunk to read (atomic) */
  gint failed; /* atomic */
  GMutex lock;
  const char *why; /* the first failure */
} ReadJob;

static void
job_fail (ReadJob *j, const char *why)
{
  g_mutex_lock (&j->lock);
  if (j->why == NULL)
    j->why = why;
  g_mutex_unlock (&j->lock);
  g_atomic_int_set (&j->failed, 1);
}

/* A chunk from the page cache if all of it is there (a warm start), else
 * from the disk straight into @dst (O_DIRECT: no copy, nothing cached
 * twice) for its page-aligned part; buffered reads otherwise. Chunks
 * start at page-aligned file offsets. */
static gboolean
read_chunk (ReadJob *j, guint8 *dst, gsize len, guint64 off, const char **why)
{
  gsize aligned = len & ~(gsize) (BLOCK_ALIGN - 1);
  ssize_t n = -1;

#ifdef RWF_NOWAIT
  {
    struct iovec v = { dst, len };
    n = preadv2 (j->fd, &v, 1, (off_t) off, RWF_NOWAIT);
    if (n == (ssize_t) len)
      return TRUE;
  }
#endif
  if (n <= 0 && j->direct_fd >= 0 && aligned > 0 &&
      (guintptr) dst % BLOCK_ALIGN == 0 && off % BLOCK_ALIGN == 0) {
    const char *ignored = NULL;
    if (pread_full (j->direct_fd, dst, aligned, off, &ignored))
      return aligned == len ||
          pread_full (j->fd, dst + aligned, len - aligned, off + aligned, why);
    /* O_DIRECT refused (file system): the page cache instead */
  }
  n = MAX (n, 0);
  return pread_full (j->fd, dst + n, len - (gsize) n, off + (guint64) n, why);
}

static gpointer
read_worker (gpointer data)
{
  ReadJob *j = data;
  const guint total = j->first[j->r->n_blocks];
  guint i;

  while (!g_atomic_int_get (&j->failed) &&
      (i = (guint) g_atomic_int_add (&j->next, 1)) < total) {
    const char *why = NULL;
    guint b = 0, ci;
    gsize off, len;
    const Block *bl;

    while (i >= j->first[b + 1])
      b++;
    bl = &j->r->blocks[b];
    ci = i - j->first[b];
    off = (gsize) ci * CHUNK;
    len = MIN (CHUNK, bl->size - off);
    if (!j->in_place &&
        !read_chunk (j, j->dst[b].data + off, len, bl->offset + off, &why)) {
      job_fail (j, why);
      break;
    }
    if (ib_xxh64 (j->dst[b].data + off, len, 0) != bl->hashes[ci]) {
      job_fail (j, "a checksum does not match (damaged)");
      break;
    }
  }
  return NULL;
}

/* @r's blocks into @dst, checked (or, @dst being the mapped entry, only
 * checked); several threads for large records. */
static gboolean
read_record (IbWeightCache *c, const Record *r, const IbClWeightBlock *dst)
{
  ReadJob j = { 0 };
  GThread *threads[READ_THREADS];
  guint b, n_threads = 0, i;

  j.in_place = c->map != NULL;
  j.fd = c->fd;
  j.direct_fd = c->direct_fd;
  j.r = r;
  j.dst = dst;
  g_mutex_init (&j.lock);
  for (b = 0; b < r->n_blocks; b++)
    j.first[b + 1] = j.first[b] + r->blocks[b].n_chunks;
  for (i = 1; i < MIN (READ_THREADS, j.first[r->n_blocks]); i++) {
    threads[n_threads] = g_thread_try_new ("ib-cache", read_worker, &j, NULL);
    if (threads[n_threads])
      n_threads++;
  }
  read_worker (&j);
  for (i = 0; i < n_threads; i++)
    g_thread_join (threads[i]);
  g_mutex_clear (&j.lock);
  if (j.failed) {
    warn_off (c, "record %s: %s; the entry is removed", r->name, j.why);
    g_unlink (c->path);
    return FALSE;
  }
  return TRUE;
}

/* where @bl lies in the mapped entry (index_parse keeps blocks inside it) */
static IbClWeightBlock
mapped_block (IbWeightCache *c, const Block *bl)
{
  const guint8 *base = g_bytes_get_data (c->map, NULL);

  return (IbClWeightBlock){ (guint8 *) base + bl->offset, (gsize) bl->size };
}

static const Record *
find (IbWeightCache *c, const char *name, guint32 kind)
{
  const Record *r;

  if (c->mode != MODE_READING)
    return NULL;
  r = g_hash_table_lookup (c->records, name);
  if (r == NULL || r->kind != kind) {
    warn_off (c, "has no record %s", name);
    return NULL;
  }
  return r;
}

IbClWeight *
ib_weight_cache_get_weight (IbWeightCache *c, IbClDevice *dev, const char *name)
{
  IbClWeightBlock dst[IB_CL_WEIGHT_MAX_BLOCKS];
  const Record *r = find (c, name, KIND_WEIGHT);
  IbClWeight *w = NULL;
  GError *error = NULL;
  guint n = 0, b;

  if (r == NULL)
    return NULL;
  if (r->desc && c->map) {
    IbClWeightBlock mapped[IB_CL_WEIGHT_MAX_BLOCKS];
    for (b = 0; b < r->n_blocks; b++)
      mapped[b] = mapped_block (c, &r->blocks[b]);
    w = ib_cl_weight_new_mapped (dev, g_bytes_get_data (r->desc, NULL),
        g_bytes_get_size (r->desc), c->map, mapped, r->n_blocks, dst, &n,
        &error);
  } else if (r->desc)
    w = ib_cl_weight_new_packed (dev, g_bytes_get_data (r->desc, NULL),
        g_bytes_get_size (r->desc), dst, &n, &error);
  if (w == NULL) {
    warn_off (c, "record %s: %s", name,
        error ? error->message : "no descriptor");
    g_clear_error (&error);
    return NULL;
  }
  for (b = 0; b < n && n == r->n_blocks; b++)
    if (dst[b].size != r->blocks[b].size)
      break;
  if (n != r->n_blocks || b < n) {
    warn_off (c, "record %s does not have the sizes its descriptor says", name);
    ib_cl_weight_free (w);
    return NULL;
  }
  if (!read_record (c, r, dst)) {
    ib_cl_weight_free (w);
    return NULL;
  }
  return w;
}

IbClBuffer *
ib_weight_cache_get_buffer (IbWeightCache *c, IbClDevice *dev, const char *name,
    gsize size)
{
  const Record *r = find (c, name, KIND_BUFFER);
  IbClWeightBlock dst;
  GError *error = NULL;
  IbClBuffer *buf;

  if (r == NULL)
    return NULL;
  if (r->n_blocks != 1 || r->blocks[0].size != size) {
    warn_off (c, "record %s has another size than %" G_GSIZE_FORMAT " bytes",
        name, size);
    return NULL;
  }
  if (c->map) {
    dst = mapped_block (c, &r->blocks[0]);
    buf = ib_cl_buffer_new_mapped (dev, c->map, (gsize) r->blocks[0].offset,
        size, &error);
    if (buf == NULL) {
      warn_off (c, "record %s: %s", name, error->message);
      g_error_free (error);
      return NULL;
    }
    if (!read_record (c, r, &dst)) {
      ib_cl_buffer_free (buf);
      return NULL;
    }
    return buf;
  }
  dst.size = size;
  dst.data = ib_cl_host_alloc (size);
  if (dst.data == NULL) {
    warn_off (c, "out of memory reading %s", name);
    return NULL;
  }
  if (!read_record (c, r, &dst)) {
    ib_cl_host_free (dst.data);
    return NULL;
  }
  buf = ib_cl_buffer_new_take_host (dev, dst.data, size, &error);
  if (buf == NULL) {
    warn_off (c, "record %s: %s", name, error->message);
    g_error_free (error);
  }
  return buf;
}

/* ---- writing ------------------------------------------------------------ */

static void
append (IbWeightCache *c, const char *name, guint32 kind, GBytes *desc,
    const IbClWeightBlock *blocks, guint n_blocks)
{
  Record *r;
  guint b, k;
  int err = 0;

  if (c->mode != MODE_WRITING ||
      g_hash_table_contains (c->records, name)) { /* tied: once */
    if (desc)
      g_bytes_unref (desc);
    return;
  }
  r = g_new0 (Record, 1);
  r->name = g_strdup (name);
  r->kind = kind;
  r->desc = desc;
  r->n_blocks = n_blocks;
  g_hash_table_replace (c->records, r->name, r);
  g_ptr_array_add (c->order, r);
  for (b = 0; b < n_blocks; b++) {
    Block *bl = &r->blocks[b];
    bl->offset = (c->end + BLOCK_ALIGN - 1) / BLOCK_ALIGN * BLOCK_ALIGN;
    bl->size = blocks[b].size;
    bl->n_chunks = (guint) n_chunks_of (bl->size);
    bl->hashes = g_new (guint64, bl->n_chunks);
    for (k = 0; k < bl->n_chunks; k++) {
      gsize off = (gsize) k * CHUNK, len = MIN (CHUNK, bl->size - off);
      bl->hashes[k] = ib_xxh64 (blocks[b].data + off, len, 0);
      if (!pwrite_full (c->fd, blocks[b].data + off, len, bl->offset + off,
              &err)) {
        warn_off (c, "writing %s: %s; nothing is kept", c->tmp_path,
            g_strerror (err));
        return;
      }
    }
    c->end = bl->offset + bl->size;
  }
}

void
ib_weight_cache_put_weight (IbWeightCache *c, const char *name,
    const IbClWeight *w)
{
  IbClWeightBlock blocks[IB_CL_WEIGHT_MAX_BLOCKS];
  GBytes *desc = NULL;
  GError *error = NULL;
  guint n = 0;

  if (c == NULL || c->mode != MODE_WRITING)
    return;
  if (!ib_cl_weight_export (w, &desc, blocks, &n, &error)) {
    warn_off (c, "%s", error->message);
    g_error_free (error);
    return;
  }
  append (c, name, KIND_WEIGHT, desc, blocks, n);
}

void
ib_weight_cache_put_buffer (IbWeightCache *c, const char *name,
    const void *host, gsize size)
{
  IbClWeightBlock block = { (guint8 *) host, size };

  if (c == NULL || c->mode != MODE_WRITING)
    return;
  append (c, name, KIND_BUFFER, NULL, &block, 1);
}

/* Temporary files of a crashed writer older than this are removed. */
#define STALE_TMP_S (24 * 3600)

/* Removes the other entries of the same source (older keys), and its
 * temporary files that no writer can still be using. */
static void
remove_stale (IbWeightCache *c)
{
  GDir *d = g_dir_open (c->dir, 0, NULL);
  char *prefix = g_strconcat (c->source, "-", NULL);
  char *tmp_prefix = g_strconcat (".", c->source, "-", NULL);
  char *base = g_path_get_basename (c->path);
  const gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL) {
    char *other;
    GStatBuf sb;
    gboolean entry = g_str_has_prefix (name, prefix) &&
        g_str_has_suffix (name, SUFFIX) && strcmp (name, base) != 0;
    gboolean tmp = g_str_has_prefix (name, tmp_prefix);

    if (!entry && !tmp)
      continue;
    other = g_build_filename (c->dir, name, NULL);
    if (entry ||
        (g_stat (other, &sb) == 0 && now - (gint64) sb.st_mtime > STALE_TMP_S))
      g_unlink (other);
    g_free (other);
  }
  if (d)
    g_dir_close (d);
  g_free (prefix);
  g_free (tmp_prefix);
  g_free (base);
}

void
ib_weight_cache_commit (IbWeightCache *c)
{
  guint8 footer[FOOTER_LEN] = { 0 };
  GByteArray *index;
  guint64 index_off, index_len, index_hash;
  int err = 0;

  if (c == NULL || c->mode != MODE_WRITING)
    return;
  index = index_serialize (c);
  index_off = c->end;
  index_len = index->len;
  index_hash = ib_xxh64 (index->data, index->len, 0);
  memcpy (footer, END_MAGIC, MAGIC_LEN);
  memcpy (footer + MAGIC_LEN, &index_off, 8);
  memcpy (footer + MAGIC_LEN + 8, &index_len, 8);
  memcpy (footer + MAGIC_LEN + 16, &index_hash, 8);
  memcpy (footer + MAGIC_LEN + 24, c->key, KEY_LEN);
  if (!pwrite_full (c->fd, index->data, index->len, index_off, &err) ||
      !pwrite_full (c->fd, footer, FOOTER_LEN, index_off + index_len, &err)) {
    warn_off (c, "writing %s: %s; nothing is kept", c->tmp_path,
        g_strerror (err));
    goto out;
  }
  /* on disk before the name says it is complete */
  if (fdatasync (c->fd) != 0) {
    err = errno;
    warn_off (c, "syncing %s: %s; nothing is kept", c->tmp_path,
        g_strerror (err));
    goto out;
  }
  if (g_rename (c->tmp_path, c->path) != 0) {
    err = errno;
    warn_off (c, "renaming %s: %s; nothing is kept", c->tmp_path,
        g_strerror (err));
    goto out;
  }
  close (c->fd);
  c->fd = -1;
  g_clear_pointer (&c->tmp_path, g_free);
  c->mode = MODE_OFF;
  remove_stale (c);
out:
  g_byte_array_unref (index);
}
