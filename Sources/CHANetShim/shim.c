#include "hanet_shim.h"
int hanet_shim_placeholder(void) { return 0; }
