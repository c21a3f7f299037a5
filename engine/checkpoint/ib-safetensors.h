/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Memory-mapped safetensors checkpoints (one file or index + shards), checked on open. */
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
 *   ib_safetensors_free (st);
 *
 * The files stay mapped (read-only, shared with the page cache) until
 * ib_safetensors_free(); tensor data is never copied here, so a loader can
 * convert and upload tensor by tensor without a second copy of the model
 * in host memory.
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

/* One tensor, owned by its IbSafetensors. */
typedef struct
{
  const char
      *name; /* Hugging Face name, "vision_model.post_layernorm.weight" */
  IbDtype dtype;
  guint n_dims; /* 0 for a scalar */
  gint64 shape[IB_TENSOR_MAX_DIMS]; /* outermost first (row-major) */
  guint64 n_elements; /* product of shape */
  const void *data; /* into the mapping, little-endian; NOT aligned in
                     * general: read with memcpy or ib_tensor_read_*() */
  gsize n_bytes; /* n_elements * ib_dtype_size (dtype) */
  const char *file; /* path of the .safetensors file holding it */
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

/* Unmaps the files; every IbTensor of @st becomes invalid. NULL is a
 * no-op. */
void ib_safetensors_free (IbSafetensors *st);

/* The tensor called @name, or NULL. Valid until ib_safetensors_free(). */
const IbTensor *ib_safetensors_get (const IbSafetensors *st, const char *name);

/* All tensors, sorted by name: index 0 .. n_tensors - 1. */
guint ib_safetensors_get_n_tensors (const IbSafetensors *st);
const IbTensor *ib_safetensors_get_nth (const IbSafetensors *st, guint i);

/* The mapped files, sorted by path. */
guint ib_safetensors_get_n_files (const IbSafetensors *st);
const char *ib_safetensors_get_file (const IbSafetensors *st, guint i);

/* What was opened, for messages: the index file or the single file. */
const char *ib_safetensors_get_source (const IbSafetensors *st);

G_END_DECLS
