/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The storage precision: AUTO's choice against made-up memory sizes, the
 * refusals and their messages, and the per-precision byte estimates from
 * the safetensors headers against what loading the default model takes. */
#include <string.h>

#include "ib-checkpoint.h"
#include "ibt-model.h"
#include "precision.h"

#define GB 1000000000ull

static void
fit_init (IbPrecisionFit *fit, gboolean bf16_native)
{
  int p;

  memset (fit, 0, sizeof (*fit));
  for (p = 0; p < IB_N_PRECISIONS; p++) {
    fit->supported[p] = TRUE;
    fit->native[p] = p != IB_PRECISION_BF16 || bf16_native;
  }
  /* a 7B-like model: 28 GB fp32, 14 GB 16-bit, 7 GB q8 */
  fit->weights[IB_PRECISION_F32] = 28 * GB;
  fit->weights[IB_PRECISION_F16] = 14 * GB;
  fit->weights[IB_PRECISION_BF16] = 14 * GB;
  fit->weights[IB_PRECISION_Q8] = 7 * GB;
  fit->context = 2 * GB;
  fit->available_what = "test device has made-up memory";
}

static IbPrecision
choose (const IbPrecisionFit *fit, IbPrecision asked)
{
  IbPrecision p = IB_PRECISION_AUTO;
  GError *error = NULL;

  g_assert_true (ib_precision_choose (fit, asked, &p, &error));
  g_assert_no_error (error);
  return p;
}

static void
test_auto (void)
{
  IbPrecisionFit fit;

  fit_init (&fit, TRUE);
  fit.available = 40 * GB;
  g_assert_cmpint (choose (&fit, IB_PRECISION_AUTO), ==, IB_PRECISION_F32);
  /* fp32 does not fit (28 + 2 + 0.25 > 24): bf16 where the CPU has it */
  fit.available = 24 * GB;
  g_assert_cmpint (choose (&fit, IB_PRECISION_AUTO), ==, IB_PRECISION_BF16);
  fit_init (&fit, FALSE);
  fit.available = 24 * GB;
  g_assert_cmpint (choose (&fit, IB_PRECISION_AUTO), ==, IB_PRECISION_F16);
  /* without oneDNN: fp16, never q8 */
  fit.supported[IB_PRECISION_BF16] = fit.supported[IB_PRECISION_Q8] = FALSE;
  g_assert_cmpint (choose (&fit, IB_PRECISION_AUTO), ==, IB_PRECISION_F16);
  fit_init (&fit, TRUE);
  fit.available = 12 * GB;
  g_assert_cmpint (choose (&fit, IB_PRECISION_AUTO), ==, IB_PRECISION_Q8);
  /* an explicit choice that fits is kept */
  fit.available = 40 * GB;
  g_assert_cmpint (choose (&fit, IB_PRECISION_Q8), ==, IB_PRECISION_Q8);
}

static void
test_refused (void)
{
  IbPrecisionFit fit;
  IbPrecision p;
  GError *error = NULL;

  fit_init (&fit, TRUE);
  fit.available = 8 * GB;
  g_assert_false (ib_precision_choose (&fit, IB_PRECISION_AUTO, &p, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_NO_MEMORY);
  /* how much each precision needs and how much there is */
  g_assert_nonnull (strstr (error->message, "28.00 GB in fp32"));
  g_assert_nonnull (strstr (error->message, "14.00 GB in bf16"));
  g_assert_nonnull (strstr (error->message, "7.00 GB in q8"));
  g_assert_nonnull (strstr (error->message, "2.00 GB"));
  g_assert_nonnull (strstr (error->message, "made-up memory"));
  g_clear_error (&error);
  /* an explicit precision that does not fit is refused, not downgraded */
  fit.available = 24 * GB;
  g_assert_false (ib_precision_choose (&fit, IB_PRECISION_F32, &p, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_NO_MEMORY);
  g_clear_error (&error);
  /* one the device cannot run */
  fit.supported[IB_PRECISION_Q8] = FALSE;
  g_assert_false (ib_precision_choose (&fit, IB_PRECISION_Q8, &p, &error));
  g_assert_error (error, IB_ERROR, IB_ERROR_UNSUPPORTED);
  g_clear_error (&error);
}

static void
test_names (void)
{
  IbPrecision p;
  int i;

  for (i = 0; i <= IB_PRECISION_AUTO; i++) {
    g_assert_true (ib_precision_from_string (ib_precision_to_string (i), &p));
    g_assert_cmpint (p, ==, i);
  }
  g_assert_false (ib_precision_from_string ("int4", &p));
  g_assert_false (ib_precision_from_string (NULL, &p));
}

/* The estimate from the headers against the bytes the loaded model takes
 * (oneDNN pads its layouts to whole blocks, the estimate does not). */
static void
test_estimate (void)
{
  char *dir = g_test_build_filename (G_TEST_DIST, "..", "models",
      "instructblip-synthvid-tiny", NULL);
  GError *error = NULL;
  IbCheckpoint *ckpt = ib_checkpoint_open (dir, &error);
  int p;

  g_assert_no_error (error);
  for (p = 0; p < IB_N_PRECISIONS; p++) {
    IbModelParams mp;
    IbModel *m;
    guint64 est =
        ib_precision_weight_bytes (ib_checkpoint_get_safetensors (ckpt), p);
    ib_model_params_init (&mp);
    mp.precision = p;
    m = ib_model_load (dir, &mp, &error);
    if (m == NULL && g_error_matches (error, IB_ERROR, IB_ERROR_NO_DEVICE)) {
      g_test_skip (error->message);
      g_clear_error (&error);
      break;
    }
    if (m == NULL && g_error_matches (error, IB_ERROR, IB_ERROR_UNSUPPORTED)) {
      g_test_message ("%s", error->message);
      g_clear_error (&error);
      continue;
    }
    g_assert_no_error (error);
    g_test_message ("%s: estimated %" G_GUINT64_FORMAT
                    " bytes, loaded %" G_GSIZE_FORMAT,
        ib_precision_to_string (p), est, ib_model_get_weight_bytes (m));
    g_assert_cmpfloat (est, >=, 0.95 * ib_model_get_weight_bytes (m));
    g_assert_cmpfloat (est, <=, 1.05 * ib_model_get_weight_bytes (m));
    ib_model_unref (m);
  }
  ib_checkpoint_free (ckpt);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/precision/auto", test_auto);
  g_test_add_func ("/precision/refused", test_refused);
  g_test_add_func ("/precision/names", test_names);
  g_test_add_func ("/precision/estimate", test_estimate);
  return g_test_run ();
}
