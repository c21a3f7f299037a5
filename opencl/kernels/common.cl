/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared prelude of every kernel file: built first, in one program. */

/* Optional-argument flags passed as an int. */
#define IB_HAS_BIAS 1
#define IB_HAS_RESIDUAL 2

/* Storage types of weights. */
#define IB_F32 0
#define IB_F16 1
#define IB_BF16 2
