/*
 * A HANet host of plugin ABI 1.1, for the ABI compatibility tests: built
 * against the 1.1 header kept beside it (abi-1.1/hanet/plugin.h, the header
 * HANet 1.1 shipped), it makes the checks the 1.1 host made, in its order,
 * before running any plugin code but the entry function:
 *
 *   entry symbol hanet_plugin_entry_v1; descriptor major == 1; descriptor
 *   minor <= 1; descriptor struct_size one the 1.1 host knows; init with a
 *   1.1 host table (its struct_size ends after report_counters); registered
 *   struct sizes checked the same way.
 *
 * It then creates one detector instance on slave "old0" with the
 * configuration given as KEY=VALUE arguments (arrays given as a,b,c are
 * handed over joined with commas, as the 1.1 host did), polls it once and
 * prints every call the plugin made into the host, one per line:
 *
 *   old-host-1.1 PLUGIN.so [KEY=VALUE...]
 *   -> "loaded ID requires 1.N" | "refused: REASON", then "report HEALTH REASON",
 *      "counters SENT REPLIES", "log LEVEL MESSAGE"
 */
#include <hanet/plugin.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *keys[16], *values[16];
static int nkeys;
static const hanet_detector_type *registered;
static hanet_detector_type copied;

static void host_log(const hanet_host_api *api, int level, const char *message) {
    (void)api;
    printf("log %d %s\n", level, message);
}

static int host_register_link_type(const hanet_host_api *api, const hanet_link_type *type) {
    (void)api; (void)type;
    return HANET_UNSUPPORTED;
}

static int host_register_detector(const hanet_host_api *api, const hanet_detector_type *type) {
    (void)api;
    if (type == NULL || type->struct_size != sizeof(hanet_detector_type)) return HANET_INVALID;
    memcpy(&copied, type, sizeof copied);
    registered = &copied;
    return HANET_OK;
}

static void host_report(const hanet_host_api *api, hanet_instance_handle *instance, int health, const char *reason) {
    (void)api; (void)instance;
    printf("report %d %s\n", health, reason);
}

static const char *host_config_get(const hanet_host_api *api, const hanet_config *config, const char *key) {
    (void)api; (void)config;
    for (int i = 0; i < nkeys; i++) if (strcmp(keys[i], key) == 0) return values[i];
    return NULL;
}

static uint64_t host_monotonic_ns(const hanet_host_api *api) {
    (void)api;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void host_deliver_frame(const hanet_host_api *api, hanet_link_handle *link, const uint8_t *frame, size_t length) {
    (void)api; (void)link; (void)frame; (void)length;
}

static void host_report_counters(const hanet_host_api *api, hanet_instance_handle *instance, uint64_t sent,
                                 uint64_t replies, uint64_t last) {
    (void)api; (void)instance; (void)last;
    printf("counters %llu %llu\n", (unsigned long long)sent, (unsigned long long)replies);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PLUGIN.so [KEY=VALUE...]\n", argv[0]);
        return 2;
    }
    for (int i = 2; i < argc && nkeys < 16; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL) continue;
        *eq = '\0';
        keys[nkeys] = argv[i];
        values[nkeys++] = eq + 1;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) { printf("refused: not a loadable shared object: %s\n", dlerror()); return 1; }
    hanet_plugin_entry_fn entry = (hanet_plugin_entry_fn)dlsym(lib, "hanet_plugin_entry_v1");
    if (entry == NULL) { printf("refused: missing entry symbol hanet_plugin_entry_v1\n"); return 1; }
    const hanet_plugin_descriptor *d = entry();
    if (d == NULL) { printf("refused: entry returned NULL\n"); return 1; }
    if (d->abi_major != HANET_PLUGIN_ABI_MAJOR) { printf("refused: major %u\n", d->abi_major); return 1; }
    if (d->abi_minor > HANET_PLUGIN_ABI_MINOR) {
        printf("refused: built for plugin ABI %u.%u, newer than this host's %d.%d\n", d->abi_major, d->abi_minor,
               HANET_PLUGIN_ABI_MAJOR, HANET_PLUGIN_ABI_MINOR);
        return 1;
    }
    if (d->struct_size != sizeof(hanet_plugin_descriptor)) { printf("refused: descriptor struct_size %u\n", d->struct_size); return 1; }

    static hanet_host_api api = {
        .struct_size = sizeof(hanet_host_api), .abi_major = HANET_PLUGIN_ABI_MAJOR, .abi_minor = HANET_PLUGIN_ABI_MINOR,
        .log = host_log, .register_link_type = host_register_link_type, .register_detector = host_register_detector,
        .report = host_report, .config_get = host_config_get, .monotonic_ns = host_monotonic_ns,
        .deliver_frame = host_deliver_frame, .report_counters = host_report_counters,
    };
    void *state = NULL;
    char error[512] = "";
    if (d->init(&api, &state, error, sizeof error) != HANET_OK || registered == NULL) {
        printf("refused: init failed: %s\n", error);
        return 1;
    }
    printf("loaded %s requires %u.%u\n", d->id, d->abi_major, d->abi_minor);
    fflush(stdout);

    hanet_detector_context ctx = {
        .struct_size = sizeof ctx, .slave = "old0", .ifindex = 0, .layer = HANET_LINK_L2,
        .interval_ms = registered->default_interval_ms, .config = (const hanet_config *)&api,
        .handle = (hanet_instance_handle *)&api, .api = &api,
    };
    void *instance = NULL;
    if (registered->create(state, &ctx, &instance, error, sizeof error) != HANET_OK) {
        printf("create failed: %s\n", error);
        return 1;
    }
    if (registered->poll != NULL) registered->poll(instance);
    registered->destroy(instance);
    return 0;
}
