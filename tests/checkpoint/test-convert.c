/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* f32/f16/bf16 conversions match torch bit for bit, special values included. */
#include "ckpt-test-util.h"
#include "half.h"

#include <math.h>
#include <string.h>

static IbSafetensors *
open_cases (void)
{
  gchar *path = g_test_build_filename (G_TEST_DIST, "data", "checkpoint",
      "half-cases", "model.safetensors", NULL);
  GError *error = NULL;
  IbSafetensors *st = ib_safetensors_open_file (path, &error);

  g_assert_no_error (error);
  g_free (path);
  return st;
}

static const IbTensor *
get (IbSafetensors *st, const char *name)
{
  const IbTensor *t = ib_safetensors_get (st, name);

  g_assert_nonnull (t);
  return t;
}

/* Converting @from to f16 (or f32 if @to_f32) gives the bytes of @want,
 * which torch computed. */
static void
check_case (IbSafetensors *st, const char *from, const char *want,
    gboolean to_f32)
{
  const IbTensor *src = get (st, from), *ref = get (st, want);
  GError *error = NULL;
  gsize size = to_f32 ? 4 : 2;
  guint8 *out = g_malloc (src->n_elements * size);
  guint8 *ref_bytes = g_malloc (ref->n_bytes + 1);
  guint64 i;

  g_assert_cmpuint (src->n_elements, ==, ref->n_elements);
  if (to_f32)
    g_assert_true (
        ib_tensor_read_f32 (src, 0, src->n_elements, (float *) out, &error));
  else
    g_assert_true (
        ib_tensor_read_f16 (src, 0, src->n_elements, (guint16 *) out, &error));
  g_assert_true (
      ib_tensor_read_bytes (ref, 0, ref->n_bytes, ref_bytes, &error));
  g_assert_no_error (error);
  for (i = 0; i < src->n_elements; i++) {
    if (memcmp (out + i * size, ref_bytes + i * size, size) != 0)
      g_error ("%s -> %s: element %" G_GUINT64_FORMAT " differs", from, want,
          i);
  }
  g_free (out);
  g_free (ref_bytes);
}

static void
test_vs_torch (void)
{
  IbSafetensors *st = open_cases ();

  check_case (st, "f32", "f32_as_f16", FALSE);
  check_case (st, "bf16", "bf16_as_f32", TRUE);
  check_case (st, "bf16", "bf16_as_f16", FALSE);
  check_case (st, "f16", "f16_as_f32", TRUE);
  /* identity paths */
  check_case (st, "f16", "f16", FALSE);
  check_case (st, "f32", "f32", TRUE);
  ib_safetensors_free (st);
}

static void
test_scalars (void)
{
  g_assert_cmphex (ib_cl_f32_to_f16 (1.0f), ==, 0x3c00);
  g_assert_cmphex (ib_cl_f32_to_f16 (-2.0f), ==, 0xc000);
  g_assert_cmphex (ib_cl_f32_to_f16 (65504.0f), ==, 0x7bff);
  g_assert_cmphex (ib_cl_f32_to_f16 (65519.0f), ==, 0x7bff);
  g_assert_cmphex (ib_cl_f32_to_f16 (65520.0f), ==, 0x7c00);
  g_assert_cmphex (ib_cl_f32_to_f16 (-INFINITY), ==, 0xfc00);
  g_assert_cmphex (ib_cl_f32_to_f16 (NAN) & 0x7fff, ==, 0x7e00);
  g_assert_cmphex (ib_cl_f32_to_f16 (ldexpf (1.0f, -24)), ==, 0x0001);
  g_assert_cmphex (ib_cl_f32_to_f16 (ldexpf (1.0f, -25)), ==, 0x0000);
  g_assert_cmphex (ib_cl_f32_to_f16 (ldexpf (3.0f, -26)), ==, 0x0001);
  g_assert_cmphex (ib_cl_f32_to_f16 (ldexpf (1.0f, -14)), ==, 0x0400);
  g_assert_cmphex (ib_cl_f32_to_f16 (-0.0f), ==, 0x8000);
  /* ties to even: 1 + 2^-11 -> 1, 1 + 3 * 2^-11 -> 1 + 2^-9 */
  g_assert_cmphex (ib_cl_f32_to_f16 (1.0f + ldexpf (1.0f, -11)), ==, 0x3c00);
  g_assert_cmphex (ib_cl_f32_to_f16 (1.0f + ldexpf (3.0f, -11)), ==, 0x3c02);
  g_assert_cmpfloat (ib_cl_f16_to_f32 (0x0001), ==, ldexpf (1.0f, -24));
  g_assert_cmpfloat (ib_cl_f16_to_f32 (0x03ff), ==, ldexpf (1023.0f, -24));
  g_assert_cmpfloat (ib_cl_f16_to_f32 (0x7bff), ==, 65504.0f);
  g_assert_true (isinf (ib_cl_f16_to_f32 (0xfc00)));
  g_assert_true (isnan (ib_cl_f16_to_f32 (0x7e00)));
  g_assert_cmpfloat (ib_cl_bf16_to_f32 (0x3f80), ==, 1.0f);
  g_assert_cmpfloat (ib_cl_bf16_to_f32 (0xc040), ==, -3.0f);
}

/* Every f16 survives f16 -> f32 -> f16. */
static void
test_roundtrip (void)
{
  guint32 h;

  for (h = 0; h < 0x10000; h++) {
    guint16 back = ib_cl_f32_to_f16 (ib_cl_f16_to_f32 ((guint16) h));

    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0)
      g_assert_cmphex (back & 0x7c00, ==, 0x7c00); /* NaN stays NaN */
    else
      g_assert_cmphex (back, ==, h);
  }
}

static void
test_errors (void)
{
  gchar *dir = ckpt_fixture_path ("t5-legacy-f16");
  GError *error = NULL;
  IbSafetensors *st = ib_safetensors_open_dir (dir, &error);
  const IbTensor *ids, *w;
  float f[20];
  guint16 h[20];

  g_assert_no_error (error);
  ids = ib_safetensors_get (st, "qformer.embeddings.position_ids");
  g_assert_nonnull (ids);
  g_assert_cmpint (ids->dtype, ==, IB_DTYPE_I64);
  g_assert_false (ib_tensor_read_f32 (ids, 0, 1, f, &error));
  ckpt_assert_error (&error, IB_ERROR_UNSUPPORTED, "position_ids",
      "unsupported dtype I64", NULL);
  g_assert_false (ib_tensor_read_f16 (ids, 0, 1, h, &error));
  ckpt_assert_error (&error, IB_ERROR_UNSUPPORTED, "I64", NULL);

  w = ib_safetensors_get (st, "vision_model.post_layernorm.weight");
  g_assert_nonnull (w);
  g_assert_cmpuint (w->n_elements, ==, 12);
  g_assert_true (ib_tensor_read_f32 (w, 10, 2, f, &error));
  g_assert_false (ib_tensor_read_f32 (w, 10, 3, f, &error));
  ckpt_assert_error (&error, IB_ERROR_INVALID_ARG, "post_layernorm", "outside",
      NULL);
  g_assert_false (ib_tensor_read_f16 (w, 13, 0, h, &error));
  ckpt_assert_error (&error, IB_ERROR_INVALID_ARG, "outside", NULL);
  ib_safetensors_free (st);
  g_free (dir);
}

/* NaN/Inf weights gave a silent empty answer: the loader checks what it
 * read (issue 12) */
static void
test_check_finite (void)
{
  IbTensor t = { 0 };
  float f[5] = { 0.0f, -1.5f, 3e38f, 0.0f, 0.0f };
  guint16 h[4] = { 0x0000, 0x3c00, 0x7bff, 0x8001 };
  GError *error = NULL;

  t.name = "w";
  t.file = "/m/model.safetensors";
  g_assert_true (ib_tensor_check_finite_f32 (&t, 0, f, 5, &error));
  g_assert_true (ib_tensor_check_finite_f16 (&t, 0, h, 4, &error));
  g_assert_no_error (error);
  f[3] = NAN;
  g_assert_false (ib_tensor_check_finite_f32 (&t, 100, f, 5, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_FORMAT);
  g_assert_cmpstr (error->message, ==,
      "/m/model.safetensors: tensor w holds a NaN or infinite value at "
      "element 103: the weights are damaged");
  g_clear_error (&error);
  f[3] = 0.0f;
  f[1] = -INFINITY;
  g_assert_false (ib_tensor_check_finite_f32 (&t, 0, f, 5, &error));
  g_assert_nonnull (strstr (error->message, "at element 1:"));
  g_clear_error (&error);
  h[2] = 0x7c00; /* +inf, e.g. 1e5 stored as fp16 */
  g_assert_false (ib_tensor_check_finite_f16 (&t, 7, h, 4, &error));
  g_assert_nonnull (strstr (error->message, "at element 9:"));
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/convert/vs-torch", test_vs_torch);
  g_test_add_func ("/convert/scalars", test_scalars);
  g_test_add_func ("/convert/f16-roundtrip", test_roundtrip);
  g_test_add_func ("/convert/errors", test_errors);
  g_test_add_func ("/convert/check-finite", test_check_finite);
  return g_test_run ();
}
