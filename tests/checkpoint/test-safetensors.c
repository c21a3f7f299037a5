/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every fixture's tensors read back as the manifest written by transformers says. */
#include "ckpt-test-util.h"

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Compares one tensor with its manifest entry: dtype, shape, shard, first
 * values (exact), sum (float64), first values as f16 bits (torch's RNE). */
static void
check_tensor (const IbTensor *t, JsonObject *m)
{
  JsonArray *shape = json_object_get_array_member (m, "s");
  JsonArray *first = json_object_get_array_member (m, "v");
  GError *error = NULL;
  float *values;
  guint16 half[4];
  gdouble sum = 0.0, abs_sum = 0.0;
  gchar *base;
  guint i;

  g_assert_cmpstr (ib_dtype_name (t->dtype), ==,
      json_object_get_string_member (m, "d"));
  g_assert_cmpuint (t->n_dims, ==, json_array_get_length (shape));
  for (i = 0; i < t->n_dims; i++)
    g_assert_cmpint (t->shape[i], ==, json_array_get_int_element (shape, i));
  g_assert_cmpuint (t->n_bytes, ==, t->n_elements * ib_dtype_size (t->dtype));
  base = g_path_get_basename (t->file);
  if (json_object_has_member (m, "f"))
    g_assert_cmpstr (base, ==, json_object_get_string_member (m, "f"));
  else
    g_assert_cmpstr (base, ==, "model.safetensors");
  g_free (base);

  if (!ib_dtype_is_supported_weight (t->dtype))
    return; /* position_ids: compared by shape and dtype only */
  values = g_new (float, t->n_elements + 1);
  ib_tensor_read_f32 (t, 0, t->n_elements, values, &error);
  g_assert_no_error (error);
  for (i = 0; i < json_array_get_length (first); i++)
    g_assert_cmpfloat (values[i], ==,
        (float) json_array_get_double_element (first, i));
  for (i = 0; i < t->n_elements; i++) {
    sum += values[i];
    abs_sum += fabs (values[i]);
  }
  g_assert_cmpfloat_with_epsilon (sum, json_object_get_double_member (m, "sum"),
      1e-9 * (abs_sum + 1.0));

  if (json_object_has_member (m, "h")) {
    JsonArray *h = json_object_get_array_member (m, "h");
    guint n = json_array_get_length (h);

    g_assert_true (ib_tensor_read_f16 (t, 0, n, half, &error));
    g_assert_no_error (error);
    for (i = 0; i < n; i++)
      g_assert_cmphex (half[i], ==, json_array_get_int_element (h, i));
  }
  g_free (values);
}

static void
test_fixture (gconstpointer data)
{
  const char *name = data;
  gchar *dir = ckpt_fixture_path (name);
  gchar *manifest_path = ckpt_path (dir, "manifest.json");
  JsonNode *manifest = ckpt_load_json (manifest_path);
  JsonObject *mo = json_node_get_object (manifest);
  JsonObject *tensors = json_object_get_object_member (mo, "tensors");
  JsonArray *files = json_object_get_array_member (mo, "files");
  GError *error = NULL;
  IbSafetensors *st;
  GList *names, *l;
  guint i;

  st = ib_safetensors_open_dir (dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (st);

  g_assert_cmpuint (ib_safetensors_get_n_tensors (st), ==,
      json_object_get_size (tensors));
  names = json_object_get_members (tensors);
  for (l = names; l != NULL; l = l->next) {
    const IbTensor *t = ib_safetensors_get (st, l->data);

    g_assert_nonnull (t);
    g_assert_cmpstr (t->name, ==, l->data);
    check_tensor (t, json_object_get_object_member (tensors, l->data));
  }
  g_list_free (names);

  /* sorted iteration covers every tensor once */
  for (i = 0; i < ib_safetensors_get_n_tensors (st); i++) {
    const IbTensor *t = ib_safetensors_get_nth (st, i);

    g_assert_true (ib_safetensors_get (st, t->name) == t);
    if (i > 0)
      g_assert_cmpint (strcmp (ib_safetensors_get_nth (st, i - 1)->name,
                           t->name),
          <, 0);
  }
  g_assert_null (ib_safetensors_get (st, "no.such.tensor"));

  g_assert_cmpuint (ib_safetensors_get_n_files (st), ==,
      json_array_get_length (files));
  for (i = 0; i < json_array_get_length (files); i++) {
    gchar *base = g_path_get_basename (ib_safetensors_get_file (st, i));

    g_assert_cmpstr (base, ==, json_array_get_string_element (files, i));
    g_free (base);
  }
  if (json_object_get_boolean_member (mo, "sharded"))
    g_assert_true (g_str_has_suffix (ib_safetensors_get_source (st),
        "model.safetensors.index.json"));
  else
    g_assert_true (
        g_str_has_suffix (ib_safetensors_get_source (st), "model.safetensors"));

  ib_safetensors_free (st);
  json_node_unref (manifest);
  g_free (manifest_path);
  g_free (dir);
}

/* The sharded and single-file F32 fixtures hold the same bytes. */
static void
test_sharded_equals_single (void)
{
  gchar *d1 = ckpt_fixture_path ("llama-f32");
  gchar *d2 = ckpt_fixture_path ("llama-f32-sharded");
  GError *error = NULL;
  IbSafetensors *a = ib_safetensors_open_dir (d1, &error);
  IbSafetensors *b = ib_safetensors_open_dir (d2, &error);
  guint i;

  g_assert_no_error (error);
  g_assert_cmpuint (ib_safetensors_get_n_files (b), >=, 2);
  g_assert_cmpuint (ib_safetensors_get_n_tensors (a), ==,
      ib_safetensors_get_n_tensors (b));
  for (i = 0; i < ib_safetensors_get_n_tensors (a); i++) {
    const IbTensor *x = ib_safetensors_get_nth (a, i);
    const IbTensor *y = ib_safetensors_get (b, x->name);

    guint8 *bx = g_malloc (x->n_bytes + 1), *by = g_malloc (y->n_bytes + 1);

    g_assert_nonnull (y);
    g_assert_true (ib_tensor_read_bytes (x, 0, x->n_bytes, bx, &error));
    g_assert_true (ib_tensor_read_bytes (y, 0, y->n_bytes, by, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (bx, x->n_bytes, by, y->n_bytes);
    g_free (bx);
    g_free (by);
  }
  ib_safetensors_free (a);
  ib_safetensors_free (b);
  g_free (d1);
  g_free (d2);
}

/* f32 -> f16 conversion of every F32 tensor gives the bytes torch wrote
 * for the F16 fixture (the same weights, .to(torch.float16)). */
static void
test_f32_to_f16_matches_torch (void)
{
  gchar *d1 = ckpt_fixture_path ("llama-f32");
  gchar *d2 = ckpt_fixture_path ("llama-f16");
  GError *error = NULL;
  IbSafetensors *a = ib_safetensors_open_dir (d1, &error);
  IbSafetensors *b = ib_safetensors_open_dir (d2, &error);
  guint i;

  g_assert_no_error (error);
  for (i = 0; i < ib_safetensors_get_n_tensors (a); i++) {
    const IbTensor *x = ib_safetensors_get_nth (a, i);
    const IbTensor *y = ib_safetensors_get (b, x->name);
    guint16 *half = g_new (guint16, x->n_elements + 1);
    guint8 *want = g_malloc (y->n_bytes + 1);

    g_assert_nonnull (y);
    g_assert_cmpint (y->dtype, ==, IB_DTYPE_F16);
    g_assert_true (ib_tensor_read_f16 (x, 0, x->n_elements, half, &error));
    g_assert_true (ib_tensor_read_bytes (y, 0, y->n_bytes, want, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (half, x->n_elements * 2, want, y->n_bytes);
    g_free (half);
    g_free (want);
  }
  ib_safetensors_free (a);
  ib_safetensors_free (b);
  g_free (d1);
  g_free (d2);
}

/* Reading a tensor in slices gives the same values as one read. */
static void
test_read_slices (void)
{
  gchar *dir = ckpt_fixture_path ("llama-bf16");
  GError *error = NULL;
  IbSafetensors *st = ib_safetensors_open_dir (dir, &error);
  const IbTensor *t;
  float *all, *part;
  guint16 *hall, *hpart;
  guint64 pos;
  gsize n;

  g_assert_no_error (error);
  t = ib_safetensors_get (st, "vision_model.encoder.layers.1.mlp.fc1.weight");
  g_assert_nonnull (t);
  all = g_new (float, t->n_elements);
  part = g_new (float, t->n_elements);
  hall = g_new (guint16, t->n_elements);
  hpart = g_new (guint16, t->n_elements);
  g_assert_true (ib_tensor_read_f32 (t, 0, t->n_elements, all, NULL));
  g_assert_true (ib_tensor_read_f16 (t, 0, t->n_elements, hall, NULL));
  for (pos = 0; pos < t->n_elements; pos += n) {
    n = MIN (37, t->n_elements - pos);
    g_assert_true (ib_tensor_read_f32 (t, pos, n, part + pos, NULL));
    g_assert_true (ib_tensor_read_f16 (t, pos, n, hpart + pos, NULL));
  }
  g_assert_cmpmem (all, t->n_elements * 4, part, t->n_elements * 4);
  g_assert_cmpmem (hall, t->n_elements * 2, hpart, t->n_elements * 2);
  /* an empty read at the end is fine */
  g_assert_true (ib_tensor_read_f32 (t, t->n_elements, 0, part, NULL));
  g_free (all);
  g_free (part);
  g_free (hall);
  g_free (hpart);
  ib_safetensors_free (st);
  g_free (dir);
}

/* Drops @path from the page cache (advice only; the file is unchanged). */
static void
evict (const char *path)
{
  int fd = open (path, O_RDONLY);

  g_assert_cmpint (fd, >=, 0);
  posix_fadvise (fd, 0, 0, POSIX_FADV_DONTNEED);
  close (fd);
}

/* A direct (O_DIRECT) read of every tensor gives the bytes of a plain
 * read, whatever the tensor's offset inside the aligned span. */
static void
test_read_direct (void)
{
  gchar *dir = ckpt_fixture_path ("llama-f32-sharded");
  GError *error = NULL;
  IbSafetensors *st = ib_safetensors_open_dir (dir, &error);
  guint i;

  g_assert_no_error (error);
  for (i = 0; i < ib_safetensors_get_n_tensors (st); i++) {
    const IbTensor *t = ib_safetensors_get_nth (st, i);
    gsize span = ib_tensor_direct_size (t);
    guint8 *want = g_malloc (t->n_bytes + 1);
    const guint8 *data = NULL;
    void *buf = NULL;

    g_assert_cmpuint (span % IB_TENSOR_DIRECT_ALIGN, ==, 0);
    g_assert_cmpuint (span, >=, t->n_bytes);
    g_assert_cmpint (posix_memalign (&buf, IB_TENSOR_DIRECT_ALIGN,
                         MAX (span, 1)),
        ==, 0);
    g_assert_true (ib_tensor_read_bytes (t, 0, t->n_bytes, want, &error));
    /* once from the page cache, once from the disk */
    g_assert_true (ib_tensor_read_direct (t, buf, &data, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (data, t->n_bytes, want, t->n_bytes);
    evict (t->file);
    memset (buf, 0, span);
    g_assert_true (ib_tensor_read_direct (t, buf, &data, &error));
    g_assert_no_error (error);
    g_assert_true (data >= (const guint8 *) buf &&
        data + t->n_bytes <= (const guint8 *) buf + span);
    g_assert_cmpmem (data, t->n_bytes, want, t->n_bytes);
    free (buf);
    g_free (want);
  }
  ib_safetensors_free (st);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  guint i;

  g_test_init (&argc, &argv, NULL);
  for (i = 0; ckpt_model_fixtures[i] != NULL; i++) {
    gchar *path =
        g_strdup_printf ("/safetensors/fixture/%s", ckpt_model_fixtures[i]);

    g_test_add_data_func (path, ckpt_model_fixtures[i], test_fixture);
    g_free (path);
  }
  g_test_add_func ("/safetensors/sharded-equals-single",
      test_sharded_equals_single);
  g_test_add_func ("/safetensors/f32-to-f16-matches-torch",
      test_f32_to_f16_matches_torch);
  g_test_add_func ("/safetensors/read-slices", test_read_slices);
  g_test_add_func ("/safetensors/read-direct", test_read_direct);
  return g_test_run ();
}
