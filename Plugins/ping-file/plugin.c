/*
 * ping-file — the paper's "host ping file" method (after Milz, 1998): the
 * server pings the hosts listed in a file through the slave, and the slave is
 * BAD when none of them answers. Works on broadcast and point-to-point links
 * alike, at the cost of a slower detection.
 *
 * Registered and described truthfully; not implemented yet, so creating an
 * instance refuses with that reason instead of reporting made-up verdicts.
 */
#include <hanet/plugin.h>

#include <stdio.h>

static const char unavailable[] =
    "not implemented yet: ICMP echo to the hosts listed in `file` through the slave (SO_BINDTODEVICE) is not built";

static int ping_create(void *state, const hanet_detector_context *ctx, void **instance, char *error, size_t error_size) {
    (void)state; (void)ctx;
    *instance = NULL;
    snprintf(error, error_size, "%s", unavailable);
    return HANET_UNSUPPORTED;
}

static void ping_destroy(void *instance) { (void)instance; }

static const hanet_detector_type ping_type = {
    .struct_size = sizeof(hanet_detector_type),
    .name = "ping-file",
    .description = "GOOD while at least one host listed in `file` answers ICMP echo sent through the slave "
                   "(the paper's host ping file; L2 and L3 slaves)",
    .flags = HANET_TYPE_UNAVAILABLE,
    .unavailable_reason = unavailable,
    .default_interval_ms = 1000,
    .create = ping_create,
    .destroy = ping_destroy,
    .poll = NULL,
    .link_event = NULL,
};

static int ping_init(const hanet_host_api *api, void **state, char *error, size_t error_size) {
    *state = NULL;
    if (api->register_detector(api, &ping_type) != HANET_OK) {
        snprintf(error, error_size, "could not register detector \"ping-file\"");
        return HANET_ERROR;
    }
    return HANET_OK;
}

static const hanet_plugin_descriptor descriptor = {
    HANET_PLUGIN_DESCRIPTOR_HEADER,
    .id = "ping-file",
    .version = "0.1.0",
    .description = "ping-file detector (the paper's host ping file; not implemented yet)",
    .init = ping_init,
};

HANET_PLUGIN_EXPORT const hanet_plugin_descriptor *HANET_PLUGIN_ENTRY(void) { return &descriptor; }
