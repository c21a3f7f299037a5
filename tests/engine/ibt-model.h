/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the engine test programs: load a checkpoint directory for a
 * test, or skip the test where no OpenCL device is present. */
#pragma once

#include "instructblip.h"

/* The model in @dir at @precision; NULL with the test marked skipped when
 * there is no OpenCL device; any other error fails the test. */
IbModel *ibt_load_model (const char *dir, IbPrecision precision);
