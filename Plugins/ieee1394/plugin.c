/*
 * ieee1394 — IP over FireWire (RFC 2734, the kernel's firewire-net) as a
 * private link to a sibling.
 *
 * The kernel netdev does its own 1394 ARP, but its frames are not Ethernet
 * frames, so from the master's view the link is L3: the master forwards IP
 * packets to it and must not ARP itself. The kernel netdev carries the
 * frames, so opening needs nothing; the plugin's job is to claim the device
 * and describe it truthfully: its MTU from sysfs, its speed from the
 * `HANET_SPEED_BPS` udev property when the bus speed is known (S100 = 100M,
 * S400 = 400M, S800 = 800M), S400 otherwise (firewire-net does not report
 * the negotiated bus speed through the netdev).
 */
#include <hanet/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARPHRD_IEEE1394_ 24u
#define FWNET_HLEN 18u     /* 16-byte hardware address + 2-byte ether type (linux/firewire.h) */
#define FWNET_ALEN 16u
#define FWNET_MTU 1500u
#define S400_BPS 400000000ull

/* The value of udev property KEY in a NULL-terminated "KEY=VALUE" list, or NULL. */
static const char *property(const hanet_device_info *device, const char *key) {
    if (device->properties == NULL) return NULL;
    size_t klen = strlen(key);
    for (const char *const *p = device->properties; *p != NULL; p++) {
        if (strncmp(*p, key, klen) == 0 && (*p)[klen] == '=') return *p + klen + 1;
    }
    return NULL;
}

static int safe_ifname(const char *ifname) {
    return ifname != NULL && ifname[0] != '\0' && strchr(ifname, '/') == NULL && strcmp(ifname, "..") != 0;
}

static int fw_probe(void *state, const hanet_device_info *device) {
    (void)state;
    if (device == NULL || device->subsystem == NULL || strcmp(device->subsystem, "net") != 0) return 0;
    const char *forced = property(device, "HANET_LINK_TYPE");
    if (forced != NULL) return strcmp(forced, "ieee1394") == 0 ? 100 : 0;
    return device->arphrd == ARPHRD_IEEE1394_ ? 100 : 0;
}

static int fw_describe(void *state, const hanet_device_info *device, const hanet_config *config,
                       hanet_link_attrs *out, char *error, size_t error_size) {
    (void)state; (void)config;
    if (device == NULL || !safe_ifname(device->name)) {
        snprintf(error, error_size, "ieee1394: invalid device name");
        return HANET_INVALID;
    }
    out->layer = HANET_LINK_L3;
    out->role = HANET_ROLE_PRIVATE;
    out->flags = HANET_LINK_NOARP;
    out->arphrd = ARPHRD_IEEE1394_;
    out->header_len = FWNET_HLEN;
    out->addr_len = FWNET_ALEN;
    out->mtu = FWNET_MTU;
    char path[256], buf[32];
    snprintf(path, sizeof path, "/sys/class/net/%s/mtu", device->name);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        if (fgets(buf, sizeof buf, f) != NULL && atoi(buf) > 0) out->mtu = (uint32_t)atoi(buf);
        fclose(f);
    }
    out->speed_bps = S400_BPS;
    const char *forced = property(device, "HANET_SPEED_BPS");
    if (forced != NULL) {
        char *end = NULL;
        unsigned long long bps = strtoull(forced, &end, 10);
        if (end == forced || *end != '\0' || bps == 0) {
            snprintf(error, error_size,
                     "ieee1394: %s: udev property HANET_SPEED_BPS=\"%s\": expected a positive integer (bits per second)",
                     device->name, forced);
            return HANET_INVALID;
        }
        out->speed_bps = bps;
    }
    return HANET_OK;
}

static int fw_open(void *state, const hanet_device_info *device, const hanet_config *config,
                   hanet_link_handle *handle, void **link, char *error, size_t error_size) {
    (void)state; (void)device; (void)config; (void)handle; (void)error; (void)error_size;
    *link = NULL; /* the kernel netdev carries the frames */
    return HANET_OK;
}

static void fw_close(void *link) { (void)link; }

static const hanet_link_type fw_type = {
    .struct_size = sizeof(hanet_link_type),
    .name = "ieee1394",
    .description = "IP over IEEE 1394 (firewire-net, ARPHRD_IEEE1394): L3 from the master's view, private, "
                   "400 Mbit/s (S400) by default",
    .flags = 0,
    .unavailable_reason = NULL,
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
    .version = "1.0.0",
    .description = "ieee1394 link type (IP over FireWire to a sibling)",
    .init = fw_init,
};

HANET_PLUGIN_EXPORT const hanet_plugin_descriptor *HANET_PLUGIN_ENTRY(void) { return &descriptor; }
