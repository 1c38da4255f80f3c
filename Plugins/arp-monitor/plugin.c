/*
 * arp-monitor — bonding's ARP monitor: a slave is GOOD while ARP requests to
 * configured targets sent through it get replies within the interval. It
 * catches silent faults (carrier up, nothing forwarded) that `carrier` cannot.
 *
 * Registered and described truthfully; not implemented yet, so creating an
 * instance refuses with that reason instead of reporting made-up verdicts.
 */
#include <hanet/plugin.h>

#include <stdio.h>

static const char unavailable[] =
    "not implemented yet: ARP probing of configured targets (raw AF_PACKET send/receive on the slave) is not built";

static int arp_create(void *state, const hanet_detector_context *ctx, void **instance, char *error, size_t error_size) {
    (void)state; (void)ctx;
    *instance = NULL;
    snprintf(error, error_size, "%s", unavailable);
    return HANET_UNSUPPORTED;
}

static void arp_destroy(void *instance) { (void)instance; }

static const hanet_detector_type arp_type = {
    .struct_size = sizeof(hanet_detector_type),
    .name = "arp-monitor",
    .description = "GOOD while ARP requests to the configured `targets` sent on the slave are answered "
                   "within the interval (L2 slaves only)",
    .flags = HANET_TYPE_UNAVAILABLE | HANET_DETECTOR_NEEDS_L2,
    .unavailable_reason = unavailable,
    .default_interval_ms = 100,
    .create = arp_create,
    .destroy = arp_destroy,
    .poll = NULL,
    .link_event = NULL,
};

static int arp_init(const hanet_host_api *api, void **state, char *error, size_t error_size) {
    *state = NULL;
    if (api->register_detector(api, &arp_type) != HANET_OK) {
        snprintf(error, error_size, "could not register detector \"arp-monitor\"");
        return HANET_ERROR;
    }
    return HANET_OK;
}

static const hanet_plugin_descriptor descriptor = {
    HANET_PLUGIN_DESCRIPTOR_HEADER,
    .id = "arp-monitor",
    .version = "0.1.0",
    .description = "arp-monitor detector (ARP replies from targets; not implemented yet)",
    .init = arp_init,
};

HANET_PLUGIN_EXPORT const hanet_plugin_descriptor *HANET_PLUGIN_ENTRY(void) { return &descriptor; }
