/* A lower layer that reaches up: layers-check.py must refuse this tree. */
#include "subs/high.h"

int sippres__low(void)
{
	return sippres__high();
}
