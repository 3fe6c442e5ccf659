/* SPDX-License-Identifier: MIT */
/* Resource lists (RFC 4662). */
#ifndef SIPPRES_LISTS_PRIVATE_H
#define SIPPRES_LISTS_PRIVATE_H

#include "subs/subs-private.h"

#endif
