#include <hanet/plugin.h>
