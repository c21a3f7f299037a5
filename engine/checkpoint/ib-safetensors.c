/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One .safetensors file: open it, parse the header, check every tensor's bytes, read them with pread. */
#define _GNU_SOURCE /* O_DIRECT */
#include "ib-safetensors-private.h"
#include "ib-error.h"
#include "ib-json-private.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* the reference implementation's limit (safetensors MAX_HEADER_SIZE) */
#define MAX_HEADER_BYTES 100000000u

/* What a file was when it was opened: reads check it is still that. */
struct _IbTensorFile
{
  gchar *path;
  int fd;
  int direct_fd; /* the same file with O_DIRECT, or -1 */
  guint64 size;
  gint64 mtime_ns;
};

struct _IbSafetensors
{
  gchar *source;
  GPtrArray *sources; /* IbTensorFile, owned */
  GPtrArray *files; /* paths, owned by sources */
  GPtrArray *tensors; /* IbTensor *, owned; sorted by name after finish */
  GHashTable *by_name; /* name -> IbTensor * */
};

static const struct
{
  const char *name;
  gsize size;
} dtypes[] = {
  [IB_DTYPE_F32] = { "F32", 4 },
  [IB_DTYPE_F16] = { "F16", 2 },
  [IB_DTYPE_BF16] = { "BF16", 2 },
  [IB_DTYPE_F64] = { "F64", 8 },
  [IB_DTYPE_F8_E4M3] = { "F8_E4M3", 1 },
  [IB_DTYPE_F8_E5M2] = { "F8_E5M2", 1 },
  [IB_DTYPE_I64] = { "I64", 8 },
  [IB_DTYPE_I32] = { "I32", 4 },
  [IB_DTYPE_I16] = { "I16", 2 },
  [IB_DTYPE_I8] = { "I8", 1 },
  [IB_DTYPE_U64] = { "U64", 8 },
  [IB_DTYPE_U32] = { "U32", 4 },
  [IB_DTYPE_U16] = { "U16", 2 },
  [IB_DTYPE_U8] = { "U8", 1 },
  [IB_DTYPE_BOOL] = { "BOOL", 1 },
};

const char *
ib_dtype_name (IbDtype dtype)
{
  return (guint) dtype < G_N_ELEMENTS (dtypes) ? dtypes[dtype].name : "?";
}

gsize
ib_dtype_size (IbDtype dtype)
{
  return (guint) dtype < G_N_ELEMENTS (dtypes) ? dtypes[dtype].size : 0;
}

gboolean
ib_dtype_is_supported_weight (IbDtype dtype)
{
  return dtype == IB_DTYPE_F32 || dtype == IB_DTYPE_F16 ||
      dtype == IB_DTYPE_BF16;
}

static gboolean
dtype_from_name (const char *name, IbDtype *out)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (dtypes); i++) {
    if (strcmp (name, dtypes[i].name) == 0) {
      *out = (IbDtype) i;
      return TRUE;
    }
  }
  return FALSE;
}

gchar *
ib_shape_to_string (guint n_dims, const gint64 *shape)
{
  GString *s = g_string_new ("[");
  guint i;

  for (i = 0; i < n_dims; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static void
tensor_free (gpointer p)
{
  IbTensor *t = p;

  g_free ((gchar *) t->name);
  g_free (t);
}

static void
tensor_file_free (gpointer p)
{
  IbTensorFile *f = p;

  if (f->fd >= 0)
    close (f->fd);
  if (f->direct_fd >= 0)
    close (f->direct_fd);
  g_free (f->path);
  g_free (f);
}

static gint64
mtime_ns (const struct stat *sb)
{
  return (gint64) sb->st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) +
      sb->st_mtim.tv_nsec;
}

/* Why a read of @f that was to end at byte @end stopped at byte @at: a read
 * error (@got < 0, errno @err) or the end of a file that shrank. */
static void
set_read_error (const IbTensorFile *f, const char *what, gssize got, int err,
    guint64 at, guint64 end, GError **error)
{
  if (got < 0)
    g_set_error (error, IB_ERROR, IB_ERROR_IO,
        "%s: %s: read error at byte %" G_GUINT64_FORMAT ": %s", f->path, what,
        at, g_strerror (err));
  else
    g_set_error (error, IB_ERROR, IB_ERROR_IO,
        "%s: %s: the file ends at byte %" G_GUINT64_FORMAT
        ", before byte %" G_GUINT64_FORMAT
        ": it was truncated or rewritten after it was opened "
        "(%" G_GUINT64_FORMAT " bytes then)",
        f->path, what, at, end, f->size);
}

/* Reads exactly @len bytes at @offset of @f, or says why not. */
static gboolean
read_at (IbTensorFile *f, guint64 offset, gsize len, void *dst,
    const char *what, GError **error)
{
  guint8 *p = dst;
  gsize done = 0;

  while (done < len) {
    /* bounded requests: Linux reads at most 2 GiB per call anyway */
    gsize want = MIN (len - done, (gsize) 1 << 30);
    ssize_t got = pread (f->fd, p + done, want, (off_t) (offset + done));

    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0) {
      set_read_error (f, what, got, errno, offset + done, offset + len, error);
      return FALSE;
    }
    done += (gsize) got;
  }
  return TRUE;
}

/* The file must still be the one whose header was checked. */
static gboolean
check_unchanged (IbTensorFile *f, const char *what, GError **error)
{
  struct stat sb;

  if (fstat (f->fd, &sb) != 0) {
    int e = errno;
    g_set_error (error, IB_ERROR, IB_ERROR_IO, "%s: %s: cannot stat: %s",
        f->path, what, g_strerror (e));
    return FALSE;
  }
  if ((guint64) sb.st_size != f->size) {
    g_set_error (error, IB_ERROR, IB_ERROR_IO,
        "%s: %s: the file changed size after it was opened (%" G_GUINT64_FORMAT
        " bytes then, %" G_GUINT64_FORMAT
        " now): it was truncated or rewritten while the model was read",
        f->path, what, f->size, (guint64) sb.st_size);
    return FALSE;
  }
  if (mtime_ns (&sb) != f->mtime_ns) {
    g_set_error (error, IB_ERROR, IB_ERROR_IO,
        "%s: %s: the file was modified after it was opened: it was "
        "rewritten while the model was read",
        f->path, what);
    return FALSE;
  }
  return TRUE;
}

gboolean
ib_tensor_read_bytes (const IbTensor *t, guint64 offset, gsize len, void *dst,
    GError **error)
{
  gchar *what;
  gboolean ok;

  g_return_val_if_fail (t != NULL && t->source != NULL, FALSE);
  g_return_val_if_fail (dst != NULL || len == 0, FALSE);

  if (offset > t->n_bytes || len > t->n_bytes - offset) {
    g_set_error (error, IB_ERROR, IB_ERROR_INVALID_ARG,
        "%s: tensor %s: bytes [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
        ") are outside its %" G_GSIZE_FORMAT " bytes",
        t->file, t->name, offset, offset + (guint64) len, t->n_bytes);
    return FALSE;
  }
  if (len == 0)
    return TRUE;
  what = g_strdup_printf ("tensor %s", t->name);
  ok = check_unchanged (t->source, what, error) &&
      read_at (t->source, t->offset + offset, len, dst, what, error) &&
      check_unchanged (t->source, what, error);
  g_free (what);
  return ok;
}

/* Copies @t into @dst if all of it is in the page cache (a file read
 * moments ago): cheaper than reading the disk again. Never waits for the
 * disk (RWF_NOWAIT); FALSE when some of it is not cached. */
static gboolean
in_page_cache (const IbTensor *t, const guint8 *dst)
{
#ifdef RWF_NOWAIT
  struct iovec v = { (void *) dst, t->n_bytes };

  return t->n_bytes <= ((gsize) 1 << 30) &&
      preadv2 (t->source->fd, &v, 1, (off_t) t->offset, RWF_NOWAIT) ==
      (ssize_t) t->n_bytes;
#else
  (void) t;
  (void) dst;
  return FALSE;
#endif
}

gsize
ib_tensor_direct_size (const IbTensor *t)
{
  const guint64 a = IB_TENSOR_DIRECT_ALIGN;
  guint64 start = t->offset / a * a;
  guint64 end = (t->offset + t->n_bytes + a - 1) / a * a;

  return (gsize) (end - start);
}

gboolean
ib_tensor_read_direct (const IbTensor *t, void *buf, const guint8 **data,
    GError **error)
{
  const guint64 a = IB_TENSOR_DIRECT_ALIGN;
  IbTensorFile *f;
  guint64 start, need;
  gsize span, done = 0;
  gchar *what;
  gboolean ok = FALSE;

  g_return_val_if_fail (t != NULL && t->source != NULL, FALSE);
  g_return_val_if_fail (buf != NULL && (guintptr) buf % a == 0, FALSE);

  f = t->source;
  start = t->offset / a * a;
  need = t->offset + t->n_bytes - start; /* bytes of the span that matter */
  span = ib_tensor_direct_size (t);
  *data = (const guint8 *) buf + (t->offset - start);
  if (f->direct_fd < 0 || t->n_bytes == 0)
    return ib_tensor_read_bytes (t, 0, t->n_bytes, (guint8 *) *data, error);

  what = g_strdup_printf ("tensor %s", t->name);
  if (!check_unchanged (f, what, error))
    goto out;
  if (in_page_cache (t, *data)) {
    ok = check_unchanged (f, what, error);
    goto out;
  }
  while (done < need) {
    gsize want = MIN (span - done, (gsize) 1 << 30);
    ssize_t got = pread (f->direct_fd, (guint8 *) buf + done, want,
        (off_t) (start + done));

    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0 && errno == EINVAL && done == 0) {
      /* the device wants a larger alignment: read through the cache */
      g_free (what);
      return ib_tensor_read_bytes (t, 0, t->n_bytes, (guint8 *) *data, error);
    }
    if (got <= 0) {
      set_read_error (f, what, got, errno, start + done, start + need, error);
      goto out;
    }
    done += (gsize) got;
  }
  ok = check_unchanged (f, what, error);
out:
  g_free (what);
  return ok;
}

IbSafetensors *
ib_safetensors_new (const char *source)
{
  IbSafetensors *st = g_new0 (IbSafetensors, 1);

  st->source = g_strdup (source);
  st->sources = g_ptr_array_new_with_free_func (tensor_file_free);
  st->files = g_ptr_array_new ();
  st->tensors = g_ptr_array_new_with_free_func (tensor_free);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  return st;
}

void
ib_safetensors_free (IbSafetensors *st)
{
  if (st == NULL)
    return;
  g_hash_table_unref (st->by_name);
  g_ptr_array_unref (st->tensors);
  g_ptr_array_unref (st->files);
  g_ptr_array_unref (st->sources);
  g_free (st->source);
  g_free (st);
}

/* A JSON integer >= 0. */
static gboolean
get_u64 (JsonNode *node, guint64 *out)
{
  gint64 v;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  v = json_node_get_int (node);
  if (v < 0)
    return FALSE;
  *out = (guint64) v;
  return TRUE;
}

/* A tensor entry as parsed, before the tiling check. */
typedef struct
{
  IbTensor *t;
  guint64 begin, end; /* data_offsets */
} Entry;

static gint
entry_cmp (gconstpointer a, gconstpointer b)
{
  const Entry *x = a, *y = b;

  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return 0;
}

/* Parses the header entry of tensor @name into @e. */
static gboolean
parse_entry (const char *path, const char *name, JsonNode *node,
    guint64 data_len, Entry *e, GError **error)
{
  JsonObject *obj;
  JsonNode *dtype_node;
  JsonArray *shape, *offsets;
  IbTensor *t;
  guint64 n = 1, dim, bytes;
  guint i;

  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: tensor %s: the header entry is not an object", path, name);
    return FALSE;
  }
  obj = json_node_get_object (node);
  t = e->t = g_new0 (IbTensor, 1);
  t->name = g_strdup (name);

  dtype_node = json_object_get_member (obj, "dtype");
  if (dtype_node == NULL || !JSON_NODE_HOLDS_VALUE (dtype_node) ||
      json_node_get_value_type (dtype_node) != G_TYPE_STRING) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: tensor %s has no dtype string", path, name);
    return FALSE;
  }
  if (!dtype_from_name (json_node_get_string (dtype_node), &t->dtype)) {
    g_set_error (error, IB_ERROR, IB_ERROR_UNSUPPORTED,
        "%s: tensor %s has unsupported dtype \"%s\"", path, name,
        json_node_get_string (dtype_node));
    return FALSE;
  }

  if (!json_object_has_member (obj, "shape") ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, "shape"))) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: tensor %s has no shape array", path, name);
    return FALSE;
  }
  shape = json_object_get_array_member (obj, "shape");
  if (json_array_get_length (shape) > IB_TENSOR_MAX_DIMS) {
    g_set_error (error, IB_ERROR, IB_ERROR_UNSUPPORTED,
        "%s: tensor %s has %u dimensions; at most %d are supported", path, name,
        json_array_get_length (shape), IB_TENSOR_MAX_DIMS);
    return FALSE;
  }
  t->n_dims = json_array_get_length (shape);
  for (i = 0; i < t->n_dims; i++) {
    if (!get_u64 (json_array_get_element (shape, i), &dim) ||
        dim > G_MAXINT64) {
      g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
          "%s: tensor %s: shape[%u] is not an integer >= 0", path, name, i);
      return FALSE;
    }
    t->shape[i] = (gint64) dim;
    if (dim != 0 && n > G_MAXUINT64 / dim) {
      g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
          "%s: tensor %s: the shape overflows 64 bits", path, name);
      return FALSE;
    }
    n *= dim;
  }
  t->n_elements = n;
  if (n > G_MAXSIZE / ib_dtype_size (t->dtype)) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: tensor %s: the shape is too large", path, name);
    return FALSE;
  }
  bytes = n * ib_dtype_size (t->dtype);

  if (!json_object_has_member (obj, "data_offsets") ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, "data_offsets")) ||
      json_array_get_length (
          offsets = json_object_get_array_member (obj, "data_offsets")) != 2 ||
      !get_u64 (json_array_get_element (offsets, 0), &e->begin) ||
      !get_u64 (json_array_get_element (offsets, 1), &e->end)) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: tensor %s: data_offsets is not a pair of integers >= 0", path,
        name);
    return FALSE;
  }
  if (e->end < e->begin) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: tensor %s: data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
        ") end before they begin",
        path, name, e->begin, e->end);
    return FALSE;
  }
  if (e->end > data_len) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: tensor %s: data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
        ") lie outside the file's data section (%" G_GUINT64_FORMAT
        " bytes): the file is truncated or its header is "
        "wrong",
        path, name, e->begin, e->end, data_len);
    return FALSE;
  }
  if (e->end - e->begin != bytes) {
    gchar *s = ib_shape_to_string (t->n_dims, t->shape);

    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: tensor %s: data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
        ") hold %" G_GUINT64_FORMAT
        " bytes, but dtype %s and shape %s need %" G_GUINT64_FORMAT,
        path, name, e->begin, e->end, e->end - e->begin,
        ib_dtype_name (t->dtype), s, bytes);
    g_free (s);
    return FALSE;
  }
  t->n_bytes = (gsize) bytes;
  return TRUE;
}

/* The tensors must cover the data section exactly, in some order. */
static gboolean
check_tiling (const char *path, GArray *entries, guint64 data_len,
    GError **error)
{
  guint64 pos = 0;
  guint i;

  g_array_sort (entries, entry_cmp);
  for (i = 0; i < entries->len; i++) {
    const Entry *e = &g_array_index (entries, Entry, i);

    if (e->begin < pos) {
      const Entry *prev = &g_array_index (entries, Entry, i - 1);

      g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
          "%s: tensors %s [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
          ") and %s [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") overlap",
          path, prev->t->name, prev->begin, prev->end, e->t->name, e->begin,
          e->end);
      return FALSE;
    }
    if (e->begin > pos) {
      g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
          "%s: %" G_GUINT64_FORMAT " bytes of the data section before "
          "tensor %s (offset %" G_GUINT64_FORMAT ") belong to no tensor",
          path, e->begin - pos, e->t->name, e->begin);
      return FALSE;
    }
    pos = e->end;
  }
  if (pos != data_len) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: %" G_GUINT64_FORMAT " bytes of trailing data after the last "
        "tensor (the tensors end at offset %" G_GUINT64_FORMAT
        " of a %" G_GUINT64_FORMAT "-byte data section)",
        path, data_len - pos, pos, data_len);
    return FALSE;
  }
  return TRUE;
}

/* A second descriptor with O_DIRECT for ib_tensor_read_direct(), if the
 * file system has it and it is still the same file. */
static void
open_direct (IbTensorFile *f, const struct stat *sb)
{
#ifdef O_DIRECT
  struct stat d;

  f->direct_fd = open (f->path, O_RDONLY | O_CLOEXEC | O_DIRECT);
  if (f->direct_fd >= 0 &&
      (fstat (f->direct_fd, &d) != 0 || d.st_ino != sb->st_ino ||
          d.st_dev != sb->st_dev)) {
    close (f->direct_fd);
    f->direct_fd = -1;
  }
#else
  (void) f;
  (void) sb;
#endif
}

/* Opens @path, checks its header length and reads the header: sets
 * *header (free with g_free) and *header_len. */
static IbTensorFile *
open_file (const char *path, guint8 **header, guint64 *header_len,
    GError **error)
{
  IbTensorFile *f = g_new0 (IbTensorFile, 1);
  struct stat sb;
  guint8 len_bytes[8];
  guint64 len, n;

  f->path = g_strdup (path);
  f->direct_fd = -1;
  f->fd = open (path, O_RDONLY | O_CLOEXEC);
  if (f->fd < 0 || fstat (f->fd, &sb) != 0) {
    int e = errno;
    g_set_error (error, IB_ERROR, IB_ERROR_IO, "%s: cannot open: %s", path,
        g_strerror (e));
    goto fail;
  }
  if (!S_ISREG (sb.st_mode)) {
    g_set_error (error, IB_ERROR, IB_ERROR_IO,
        "%s: cannot open: not a regular file", path);
    goto fail;
  }
  f->size = len = (guint64) sb.st_size;
  f->mtime_ns = mtime_ns (&sb);
  if (len < 8) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: truncated: the file is %" G_GUINT64_FORMAT " bytes, too short "
        "for the 8-byte header length",
        path, len);
    goto fail;
  }
  if (!read_at (f, 0, 8, len_bytes, "header length", error))
    goto fail;
  memcpy (&n, len_bytes, 8);
  n = GUINT64_FROM_LE (n);
  if (n > len - 8) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: the header length (%" G_GUINT64_FORMAT " bytes, after the "
        "8-byte length) exceeds the file size (%" G_GUINT64_FORMAT
        " bytes): the file is truncated or not a safetensors file",
        path, n, len);
    goto fail;
  }
  if (n > MAX_HEADER_BYTES) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: the header length (%" G_GUINT64_FORMAT " bytes) exceeds the "
        "safetensors limit of %u bytes",
        path, n, MAX_HEADER_BYTES);
    goto fail;
  }
  *header = g_malloc (MAX (n, 1));
  if (!read_at (f, 8, (gsize) n, *header, "header", error)) {
    g_clear_pointer (header, g_free);
    goto fail;
  }
  if (n < 2 || (*header)[0] != '{') {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: the header is not a JSON object: not a safetensors file", path);
    g_clear_pointer (header, g_free);
    goto fail;
  }
  *header_len = n;
  open_direct (f, &sb);
  return f;

fail:
  tensor_file_free (f);
  return NULL;
}

gboolean
ib_safetensors_add_file (IbSafetensors *st, const char *path, GError **error)
{
  IbTensorFile *file = NULL, *stored;
  JsonNode *root_node = NULL;
  GArray *entries = NULL;
  GList *members = NULL, *l;
  GError *local = NULL;
  guint8 *header = NULL;
  guint64 header_len = 0, data_start, data_len;
  JsonObject *root;
  gboolean ok = FALSE;
  guint i;

  file = open_file (path, &header, &header_len, error);
  if (file == NULL)
    goto out;
  data_start = 8 + header_len;
  data_len = file->size - data_start;

  /* depth-checked before json-glib's recursive parse */
  root_node = ib_json_parse ((const gchar *) header, header_len, &local);
  if (root_node == NULL) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: the header is not valid JSON: %s", path, local->message);
    goto out;
  }
  if (!JSON_NODE_HOLDS_OBJECT (root_node)) {
    g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
        "%s: the header is not a JSON object", path);
    goto out;
  }
  root = json_node_get_object (root_node);

  stored = g_steal_pointer (&file);
  g_ptr_array_add (st->sources, stored);
  g_ptr_array_add (st->files, stored->path);

  entries = g_array_new (FALSE, TRUE, sizeof (Entry));
  members = json_object_get_members (root);
  for (l = members; l != NULL; l = l->next) {
    const char *name = l->data;
    Entry e = { NULL, 0, 0 };

    if (strcmp (name, "__metadata__") == 0)
      continue;
    if (!parse_entry (path, name, json_object_get_member (root, name), data_len,
            &e, error)) {
      if (e.t)
        tensor_free (e.t);
      goto out;
    }
    e.t->file = stored->path;
    e.t->source = stored;
    e.t->offset = data_start + e.begin;
    g_array_append_val (entries, e);
  }
  ok = check_tiling (path, entries, data_len, error);

  for (i = 0; ok && i < entries->len; i++) {
    IbTensor *t = g_array_index (entries, Entry, i).t;
    const IbTensor *other = g_hash_table_lookup (st->by_name, t->name);

    if (other != NULL) {
      g_set_error (error, IB_ERROR, IB_ERROR_FORMAT,
          "tensor %s is in both %s and %s", t->name, other->file, path);
      ok = FALSE;
    }
  }
  for (i = 0; ok && i < entries->len; i++) {
    IbTensor *t = g_array_index (entries, Entry, i).t;

    g_array_index (entries, Entry, i).t = NULL;
    g_ptr_array_add (st->tensors, t);
    g_hash_table_insert (st->by_name, (gpointer) t->name, t);
  }

out:
  if (entries != NULL) {
    for (i = 0; i < entries->len; i++)
      if (g_array_index (entries, Entry, i).t)
        tensor_free (g_array_index (entries, Entry, i).t);
    g_array_unref (entries);
  }
  g_list_free (members);
  g_clear_error (&local);
  if (root_node)
    json_node_unref (root_node);
  g_free (header);
  if (file)
    tensor_file_free (file);
  return ok;
}

static gint
tensor_name_cmp (gconstpointer a, gconstpointer b)
{
  const IbTensor *x = *(const IbTensor **) a;
  const IbTensor *y = *(const IbTensor **) b;

  return strcmp (x->name, y->name);
}

static gint
path_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

void
ib_safetensors_finish (IbSafetensors *st)
{
  g_ptr_array_sort (st->tensors, tensor_name_cmp);
  /* the sources are only held, never indexed: sorting the paths alone
   * is fine */
  g_ptr_array_sort (st->files, path_cmp);
}

IbSafetensors *
ib_safetensors_open_file (const char *path, GError **error)
{
  IbSafetensors *st;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  st = ib_safetensors_new (path);
  if (!ib_safetensors_add_file (st, path, error)) {
    ib_safetensors_free (st);
    return NULL;
  }
  ib_safetensors_finish (st);
  return st;
}

const IbTensor *
ib_safetensors_get (const IbSafetensors *st, const char *name)
{
  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return g_hash_table_lookup (st->by_name, name);
}

guint
ib_safetensors_get_n_tensors (const IbSafetensors *st)
{
  g_return_val_if_fail (st != NULL, 0);

  return st->tensors->len;
}

const IbTensor *
ib_safetensors_get_nth (const IbSafetensors *st, guint i)
{
  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (i < st->tensors->len, NULL);

  return g_ptr_array_index (st->tensors, i);
}

guint
ib_safetensors_get_n_files (const IbSafetensors *st)
{
  g_return_val_if_fail (st != NULL, 0);

  return st->files->len;
}

const char *
ib_safetensors_get_file (const IbSafetensors *st, guint i)
{
  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (i < st->files->len, NULL);

  return g_ptr_array_index (st->files, i);
}

const char *
ib_safetensors_get_source (const IbSafetensors *st)
{
  g_return_val_if_fail (st != NULL, NULL);

  return st->source;
}
