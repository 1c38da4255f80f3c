/*
 * usbnet — USB host-to-host cables and USB Ethernet gadgets used as a private
 * link to a sibling server (the paper's "usbnet" slave).
 *
 * The kernel's usbnet minidrivers give us an Ethernet-framed netdev, so the
 * link is L2; what makes it different from `ethernet` is its default role
 * (private: it reaches a sibling, not clients) and its modest speed, which
 * the interface manager uses to rank it below a Fast Ethernet private link.
 */
#include <hanet/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARPHRD_ETHER_ 1u
/* USB 1.1 full speed: what a host-to-host cable of the paper's era gives, and our answer when nothing better is known. */
#define USBNET_DEFAULT_SPEED_BPS 12000000ull

static const char *const usbnet_drivers[] = {
    "cdc_subset", "plusb", "net1080", "cdc_ether", "cdc_ncm", "rndis_host", "cdc_eem", "zaurus", NULL,
};

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

static int read_ll(const char *path, long long *out) {
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    char buf[64];
    int ok = fgets(buf, sizeof buf, f) != NULL;
    fclose(f);
    if (!ok) return -1;
    char *end = NULL;
    long long v = strtoll(buf, &end, 10);
    if (end == buf) return -1;
    *out = v;
    return 0;
}

static int usbnet_probe(void *state, const hanet_device_info *device) {
    (void)state;
    if (device == NULL || device->subsystem == NULL || strcmp(device->subsystem, "net") != 0) return 0;
    /* Documented override, used by tests on veth and by admins whose driver is not in the list. */
    const char *forced = property(device, "HANET_LINK_TYPE");
    if (forced != NULL) return strcmp(forced, "usbnet") == 0 ? 100 : 0;
    if (device->driver == NULL) return 0;
    for (const char *const *d = usbnet_drivers; *d != NULL; d++) {
        if (strcmp(device->driver, *d) == 0) return 100;
    }
    return 0;
}

static int usbnet_describe(void *state, const hanet_device_info *device, const hanet_config *config,
                           hanet_link_attrs *out, char *error, size_t error_size) {
    (void)state;
    (void)config;
    if (device == NULL || !safe_ifname(device->name)) {
        snprintf(error, error_size, "usbnet: invalid device name");
        return HANET_INVALID;
    }
    out->layer = HANET_LINK_L2;
    out->role = HANET_ROLE_PRIVATE;
    out->flags = 0;
    out->arphrd = ARPHRD_ETHER_;
    out->header_len = 14;
    out->addr_len = 6;

    char path[256];
    long long v = 0;
    snprintf(path, sizeof path, "/sys/class/net/%s/mtu", device->name);
    out->mtu = (read_ll(path, &v) == 0 && v > 0) ? (uint32_t)v : 0;

    out->speed_bps = USBNET_DEFAULT_SPEED_BPS;
    const char *forced = property(device, "HANET_SPEED_BPS");
    if (forced != NULL) {
        char *end = NULL;
        unsigned long long bps = strtoull(forced, &end, 10);
        if (end == forced || *end != '\0' || bps == 0) {
            snprintf(error, error_size,
                     "usbnet: %s: udev property HANET_SPEED_BPS=\"%s\": expected a positive integer (bits per second)",
                     device->name, forced);
            return HANET_INVALID;
        }
        out->speed_bps = bps;
        return HANET_OK;
    }
    /* device/ is the USB interface; its parent, the USB device, has `speed` in Mb/s (12, 480, 5000). */
    snprintf(path, sizeof path, "/sys/class/net/%s/device/../speed", device->name);
    if (read_ll(path, &v) == 0 && v > 0) out->speed_bps = (uint64_t)v * 1000000ull;
    return HANET_OK;
}

static int usbnet_open(void *state, const hanet_device_info *device, const hanet_config *config,
                       hanet_link_handle *handle, void **link, char *error, size_t error_size) {
    (void)state; (void)device; (void)config; (void)handle; (void)error; (void)error_size;
    *link = NULL; /* the kernel netdev carries the frames */
    return HANET_OK;
}

static void usbnet_close(void *link) { (void)link; }

static const hanet_link_type usbnet_type = {
    .struct_size = sizeof(hanet_link_type),
    .name = "usbnet",
    .description = "USB host-to-host / USB Ethernet netdev (cdc_ether, cdc_ncm, rndis_host, plusb, net1080, ...): "
                   "L2, private by default, 12 Mbit/s unless the USB device reports its speed",
    .flags = 0,
    .unavailable_reason = NULL,
    .probe = usbnet_probe,
    .describe = usbnet_describe,
    .open = usbnet_open,
    .close = usbnet_close,
    .send_frame = NULL,
};

static int usbnet_init(const hanet_host_api *api, void **state, char *error, size_t error_size) {
    *state = NULL;
    if (api->register_link_type(api, &usbnet_type) != HANET_OK) {
        snprintf(error, error_size, "could not register link type \"usbnet\"");
        return HANET_ERROR;
    }
    return HANET_OK;
}

static const hanet_plugin_descriptor descriptor = {
    HANET_PLUGIN_DESCRIPTOR_HEADER,
    .id = "usbnet",
    .version = "1.0.0",
    .description = "usbnet link type (USB host-to-host and USB Ethernet links to a sibling)",
    .init = usbnet_init,
};

HANET_PLUGIN_EXPORT const hanet_plugin_descriptor *HANET_PLUGIN_ENTRY(void) { return &descriptor; }
