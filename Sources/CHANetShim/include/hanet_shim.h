/* Small C helpers for what Swift cannot express directly (variadic ioctls, macros). */
#ifndef HANET_SHIM_H
#define HANET_SHIM_H
#include <stdint.h>
#include <stddef.h>
int hanet_shim_placeholder(void);
#endif
