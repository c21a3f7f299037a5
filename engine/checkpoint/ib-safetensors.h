/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Safetensors checkpoints (one file or index + shards), checked on open, read with bounded pread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Usage:
 *
 *   IbSafetensors *st = ib_safetensors_open_dir (dir, &error);
 *   const IbTensor *t = ib_safetensors_get (st, "language_projection.weight");
 *   float row[768];
 *   ib_tensor_read_f32 (t, 0, 768, row, &error);    (ib-convert.h)
 *   ib_tensor_read_bytes (t, 0, t->n_bytes, raw, &error);   (as stored)
 *   ib_safetensors_free (st);
 *
 * The files stay open until ib_safetensors_free(); only the headers are
 * read on open. Tensor data is read on request with pread() into the
 * caller's buffer: nothing is mapped, so a loader holds at most what it
 * asked for, and a file that is truncated or rewritten while it is read
 * gives an error, never SIGBUS.
 *
 * Opening checks every tensor: the 8-byte little-endian header length lies
 * within the file, the header is a JSON object, each entry has a known
 * dtype, a shape and data_offsets [begin, end) inside the data section with
 * end - begin == product (shape) * dtype size, and the tensors tile the data
 * section exactly as the reference implementation requires (no overlap, no
 * gap, no trailing bytes). "__metadata__" is ignored.
 */

#define IB_TENSOR_MAX_DIMS 8

typedef enum
{
  IB_DTYPE_F32,
  IB_DTYPE_F16,
  IB_DTYPE_BF16,
  /* the rest can be mapped and looked up, but not used as weights */
  IB_DTYPE_F64,
  IB_DTYPE_F8_E4M3,
  IB_DTYPE_F8_E5M2,
  IB_DTYPE_I64,
  IB_DTYPE_I32,
  IB_DTYPE_I16,
  IB_DTYPE_I8,
  IB_DTYPE_U64,
  IB_DTYPE_U32,
  IB_DTYPE_U16,
  IB_DTYPE_U8,
  IB_DTYPE_BOOL,
} IbDtype;

/* "F32", "BF16", ... as the header spells it. */
const char *ib_dtype_name (IbDtype dtype);

/* Bytes per element. */
gsize ib_dtype_size (IbDtype dtype);

/* TRUE for the weight dtypes the engine converts: F32, F16, BF16. */
gboolean ib_dtype_is_supported_weight (IbDtype dtype);

/* An open .safetensors file (internal). */
typedef struct _IbTensorFile IbTensorFile;

/* One tensor, owned by its IbSafetensors. */
typedef struct
{
  const char
      *name; /* Hugging Face name, "vision_model.post_layernorm.weight" */
  IbDtype dtype;
  guint n_dims; /* 0 for a scalar */
  gint64 shape[IB_TENSOR_MAX_DIMS]; /* outermost first (row-major) */
  guint64 n_elements; /* product of shape */
  guint64 offset; /* of its first byte in the file */
  gsize n_bytes; /* n_elements * ib_dtype_size (dtype) */
  const char *file; /* path of the .safetensors file holding it */
  IbTensorFile *source; /* read through ib_tensor_read_bytes() */
} IbTensor;

/* "[37, 32]" ("[]" for a scalar); free with g_free(). */
gchar *ib_shape_to_string (guint n_dims, const gint64 *shape);

typedef struct _IbSafetensors IbSafetensors;

/* Opens the weights of a model directory: model.safetensors.index.json and
 * the shards it names if the index exists, else model.safetensors. Every
 * tensor of the index must be in the shard it names. Returns NULL with
 * @error set: IB_ERROR_IO (no weights file, a missing shard, unreadable
 * file), IB_ERROR_FORMAT (any check above), IB_ERROR_UNSUPPORTED (a dtype
 * the format does not define, more than 8 dimensions). Messages name the
 * file and the tensor. */
IbSafetensors *ib_safetensors_open_dir (const char *model_dir, GError **error);

/* Opens one .safetensors file, with the same checks. */
IbSafetensors *ib_safetensors_open_file (const char *path, GError **error);

/* Closes the files; every IbTensor of @st becomes invalid. NULL is a
 * no-op. */
void ib_safetensors_free (IbSafetensors *st);

/* The tensor called @name, or NULL. Valid until ib_safetensors_free(). */
const IbTensor *ib_safetensors_get (const IbSafetensors *st, const char *name);

/* All tensors, sorted by name: index 0 .. n_tensors - 1. */
guint ib_safetensors_get_n_tensors (const IbSafetensors *st);
const IbTensor *ib_safetensors_get_nth (const IbSafetensors *st, guint i);

/* The files, sorted by path. */
guint ib_safetensors_get_n_files (const IbSafetensors *st);
const char *ib_safetensors_get_file (const IbSafetensors *st, guint i);

/* What was opened, for messages: the index file or the single file. */
const char *ib_safetensors_get_source (const IbSafetensors *st);

/* Reads bytes [@offset, @offset + @len) of @t's data, as stored
 * (little-endian), into @dst with pread(). Thread-safe. Fails with
 * IB_ERROR_INVALID_ARG for a range outside the tensor, and with IB_ERROR_IO
 * naming the file and the tensor when the file cannot be read, ends early
 * (it was truncated) or was modified since it was opened: its size or
 * modification time changed, e.g. rewritten while a model loads. */
gboolean ib_tensor_read_bytes (const IbTensor *t, guint64 offset, gsize len,
    void *dst, GError **error);

/* Reading a large tensor without the page cache (O_DIRECT: the disk
 * writes into @buf, no copy, nothing cached) where the file system allows
 * it and the tensor is not already cached, else as ib_tensor_read_bytes(). @buf is aligned to
 * IB_TENSOR_DIRECT_ALIGN and holds ib_tensor_direct_size (@t) bytes: the
 * aligned span of the file around the tensor. On success *@data points at
 * the tensor's first byte inside @buf (not aligned to the element size in
 * general). Errors as ib_tensor_read_bytes(). Thread-safe. */
#define IB_TENSOR_DIRECT_ALIGN 4096
gsize ib_tensor_direct_size (const IbTensor *t);
gboolean ib_tensor_read_direct (const IbTensor *t, void *buf,
    const guint8 **data, GError **error);

G_END_DECLS
