/* The ABI is header-only; this file lets the build check the header compiles as C. */
#include "hanet/plugin.h"
_Static_assert(sizeof(hanet_plugin_descriptor) >= 24, "descriptor layout");
