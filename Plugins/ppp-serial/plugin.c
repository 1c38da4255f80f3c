/*
 * ppp-serial — PPP over an RS-232 line as a private link to a sibling (the
 * paper's slowest private link).
 *
 * Registered and described truthfully so that configuration, `hanet plugins`
 * and probing already know the link's shape, but it is not implemented yet:
 * opening refuses with that reason rather than pretending.
 */
#include <hanet/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARPHRD_PPP_ 512u
#define PPP_DEFAULT_MTU 1500u     /* PPP's default MRU (RFC 1661) */
#define PPP_DEFAULT_BAUD 115200ull

static const char unavailable[] =
    "not implemented yet: PPP over a serial line (pppd via /dev/ppp, or RFC 1662 async HDLC in user space "
    "with a TUN device) is not built";

static int ppp_probe(void *state, const hanet_device_info *device) {
    (void)state;
    if (device == NULL || device->subsystem == NULL) return 0;
    if (strcmp(device->subsystem, "tty") == 0) return 100;
    if (strcmp(device->subsystem, "net") == 0 && device->arphrd == ARPHRD_PPP_) return 100;
    return 0;
}

static int ppp_describe(void *state, const hanet_device_info *device, const hanet_config *config,
                        hanet_link_attrs *out, char *error, size_t error_size) {
    const hanet_host_api *api = state;
    unsigned long long baud = PPP_DEFAULT_BAUD;
    const char *text = config != NULL ? api->config_get(api, config, "baud") : NULL;
    if (text != NULL) {
        char *end = NULL;
        baud = strtoull(text, &end, 10);
        if (end == text || *end != '\0' || baud == 0) {
            snprintf(error, error_size, "ppp-serial: %s: baud = \"%s\": expected a positive integer such as 115200",
                     device && device->name ? device->name : "?", text);
            return HANET_INVALID;
        }
    }
    out->layer = HANET_LINK_L3;
    out->role = HANET_ROLE_PRIVATE;
    out->flags = HANET_LINK_POINT_TO_POINT | HANET_LINK_NOARP;
    out->arphrd = ARPHRD_PPP_;
    out->header_len = 4; /* address, control, 2-byte protocol */
    out->addr_len = 0;
    out->mtu = PPP_DEFAULT_MTU;
    out->speed_bps = baud; /* line rate; async framing costs 2 of every 10 bits */
    return HANET_OK;
}

static int ppp_open(void *state, const hanet_device_info *device, const hanet_config *config,
                    hanet_link_handle *handle, void **link, char *error, size_t error_size) {
    (void)state; (void)device; (void)config; (void)handle;
    *link = NULL;
    snprintf(error, error_size, "%s", unavailable);
    return HANET_UNSUPPORTED;
}

static void ppp_close(void *link) { (void)link; }

static const hanet_link_type ppp_type = {
    .struct_size = sizeof(hanet_link_type),
    .name = "ppp-serial",
    .description = "PPP over a serial line to a sibling: L3 point-to-point, no ARP, private by default; speed = `baud` (default 115200)",
    .flags = HANET_TYPE_UNAVAILABLE,
    .unavailable_reason = unavailable,
    .probe = ppp_probe,
    .describe = ppp_describe,
    .open = ppp_open,
    .close = ppp_close,
    .send_frame = NULL,
};

static int ppp_init(const hanet_host_api *api, void **state, char *error, size_t error_size) {
    *state = (void *)api; /* describe reads `baud` through config_get */
    if (api->register_link_type(api, &ppp_type) != HANET_OK) {
        snprintf(error, error_size, "could not register link type \"ppp-serial\"");
        return HANET_ERROR;
    }
    return HANET_OK;
}

static const hanet_plugin_descriptor descriptor = {
    HANET_PLUGIN_DESCRIPTOR_HEADER,
    .id = "ppp-serial",
    .version = "0.1.0",
    .description = "ppp-serial link type (PPP over RS-232 to a sibling; not implemented yet)",
    .init = ppp_init,
};

HANET_PLUGIN_EXPORT const hanet_plugin_descriptor *HANET_PLUGIN_ENTRY(void) { return &descriptor; }
