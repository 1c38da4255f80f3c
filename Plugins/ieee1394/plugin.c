/*
 * ieee1394 — IP over FireWire (RFC 2734, the kernel's firewire-net) as a
 * private link to a sibling.
 *
 * The kernel netdev does its own 1394 ARP, but its frames are not Ethernet
 * frames, so from the master's view the link is L3: the master forwards IP
 * packets to it and must not ARP itself. Registered and described so that
 * probing and `hanet plugins` know it; opening is not implemented yet.
 */
#include <hanet/plugin.h>

#include <stdio.h>
#include <string.h>

#define ARPHRD_IEEE1394_ 24u
#define FWNET_HLEN 18u     /* 16-byte hardware address + 2-byte ether type (linux/firewire.h) */
#define FWNET_ALEN 16u
#define FWNET_MTU 1500u
#define S400_BPS 400000000ull

static const char unavailable[] =
    "not implemented yet: IEEE 1394 links (firewire-net) are probed and described but opening them is not built";

static int fw_probe(void *state, const hanet_device_info *device) {
    (void)state;
    if (device == NULL || device->subsystem == NULL || strcmp(device->subsystem, "net") != 0) return 0;
    return device->arphrd == ARPHRD_IEEE1394_ ? 100 : 0;
}

static int fw_describe(void *state, const hanet_device_info *device, const hanet_config *config,
                       hanet_link_attrs *out, char *error, size_t error_size) {
    (void)state; (void)device; (void)config; (void)error; (void)error_size;
    out->layer = HANET_LINK_L3;
    out->role = HANET_ROLE_PRIVATE;
    out->flags = HANET_LINK_NOARP;
    out->arphrd = ARPHRD_IEEE1394_;
    out->header_len = FWNET_HLEN;
    out->addr_len = FWNET_ALEN;
    out->mtu = FWNET_MTU;
    out->speed_bps = S400_BPS;
    return HANET_OK;
}

static int fw_open(void *state, const hanet_device_info *device, const hanet_config *config,
                   hanet_link_handle *handle, void **link, char *error, size_t error_size) {
    (void)state; (void)device; (void)config; (void)handle;
    *link = NULL;
    snprintf(error, error_size, "%s", unavailable);
    return HANET_UNSUPPORTED;
}

static void fw_close(void *link) { (void)link; }

static const hanet_link_type fw_type = {
    .struct_size = sizeof(hanet_link_type),
    .name = "ieee1394",
    .description = "IP over IEEE 1394 (firewire-net, ARPHRD_IEEE1394): L3 from the master's view, private, "
                   "400 Mbit/s (S400) by default",
    .flags = HANET_TYPE_UNAVAILABLE,
    .unavailable_reason = unavailable,
    .probe = fw_probe,
    .describe = fw_describe,
    .open = fw_open,
    .close = fw_close,
    .send_frame = NULL,
};

static int fw_init(const hanet_host_api *api, void **state, char *error, size_t error_size) {
    *state = NULL;
    if (api->register_link_type(api, &fw_type) != HANET_OK) {
        snprintf(error, error_size, "could not register link type \"ieee1394\"");
        return HANET_ERROR;
    }
    return HANET_OK;
}

static const hanet_plugin_descriptor descriptor = {
    HANET_PLUGIN_DESCRIPTOR_HEADER,
    .id = "ieee1394",
    .version = "0.1.0",
    .description = "ieee1394 link type (IP over FireWire to a sibling; not implemented yet)",
    .init = fw_init,
};

HANET_PLUGIN_EXPORT const hanet_plugin_descriptor *HANET_PLUGIN_ENTRY(void) { return &descriptor; }
