/* The ABI is header-only; this file checks the headers compile as C and gives
 * the host the entry symbol's name, which Swift cannot read from a macro. */
#include "hanet/plugin.h"
#include "hanet/plugin-util.h"

_Static_assert(sizeof(hanet_plugin_descriptor) >= 24, "descriptor layout");

/* Hidden: linked into the host and into built-in plugins, exported by neither. */
__attribute__((visibility("hidden"))) const char *hanet_host_entry_symbol(void) { return HANET_PLUGIN_ENTRY_SYMBOL; }
