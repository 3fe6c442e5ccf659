#include "high.h"

int sippres__high(void)
{
	return 1;
}
