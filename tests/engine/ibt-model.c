/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ibt-model.h"

IbModel *
ibt_load_model (const char *dir, IbPrecision precision)
{
  IbModelParams mp;
  GError *error = NULL;
  IbModel *m;

  ib_model_params_init (&mp);
  mp.precision = precision;
  m = ib_model_load (dir, &mp, &error);
  if (m == NULL && g_error_matches (error, IB_ERROR, IB_ERROR_NO_DEVICE)) {
    g_test_skip (error->message);
    g_error_free (error);
    return NULL;
  }
  g_assert_no_error (error);
  return m;
}
