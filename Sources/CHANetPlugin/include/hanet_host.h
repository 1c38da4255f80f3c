/* What the host (not plugins) needs from the CHANetPlugin target. */
#ifndef HANET_HOST_H
#define HANET_HOST_H
/** HANET_PLUGIN_ENTRY_SYMBOL, derived from the major by the preprocessor. */
const char *hanet_host_entry_symbol(void);
#endif
