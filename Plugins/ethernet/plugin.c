/*
 * ethernet — the generic link type for any netdev that speaks Ethernet framing.
 *
 * It answers probe with the lowest positive score so that a specific plugin
 * (usbnet, a vendor driver match) always wins a device it also recognises;
 * everything that is ARPHRD_ETHER and unclaimed ends up here.
 */
#include <hanet/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARPHRD_ETHER_ 1u

/* Reads /sys/class/net/NAME/ATTR as an integer; names with '/' are refused so a
 * device name can never walk out of the sysfs directory. */
static int sysfs_read_ll(const char *ifname, const char *attr, long long *out) {
    if (ifname == NULL || ifname[0] == '\0' || strchr(ifname, '/') != NULL || strcmp(ifname, "..") == 0) return -1;
    char path[256];
    snprintf(path, sizeof path, "/sys/class/net/%s/%s", ifname, attr);
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    char buf[64];
    /* speed of a link without carrier reads as EINVAL or "-1": both mean unknown */
    int ok = fgets(buf, sizeof buf, f) != NULL;
    fclose(f);
    if (!ok) return -1;
    char *end = NULL;
    long long v = strtoll(buf, &end, 10);
    if (end == buf) return -1;
    *out = v;
    return 0;
}

static int ethernet_probe(void *state, const hanet_device_info *device) {
    (void)state;
    if (device == NULL || device->subsystem == NULL || strcmp(device->subsystem, "net") != 0) return 0;
    return device->arphrd == ARPHRD_ETHER_ ? 1 : 0;
}

static int ethernet_describe(void *state, const hanet_device_info *device, const hanet_config *config,
                             hanet_link_attrs *out, char *error, size_t error_size) {
    (void)state;
    (void)config;
    if (device == NULL || device->arphrd != ARPHRD_ETHER_) {
        snprintf(error, error_size, "ethernet: %s is not an Ethernet device (ARPHRD %u, expected 1)",
                 device && device->name ? device->name : "?", device ? device->arphrd : 0u);
        return HANET_INVALID;
    }
    out->layer = HANET_LINK_L2;
    out->role = HANET_ROLE_PUBLIC;
    out->flags = 0;
    out->arphrd = ARPHRD_ETHER_;
    out->header_len = 14;
    out->addr_len = 6;
    long long mtu = 0, speed = 0;
    out->mtu = (sysfs_read_ll(device->name, "mtu", &mtu) == 0 && mtu > 0) ? (uint32_t)mtu : 0;
    out->speed_bps = (sysfs_read_ll(device->name, "speed", &speed) == 0 && speed > 0)
                         ? (uint64_t)speed * 1000000ull : 0;
    return HANET_OK;
}

/* A kernel netdev needs nothing from us to carry frames: open only records that it was opened. */
static int ethernet_open(void *state, const hanet_device_info *device, const hanet_config *config,
                         hanet_link_handle *handle, void **link, char *error, size_t error_size) {
    (void)state; (void)device; (void)config; (void)handle; (void)error; (void)error_size;
    *link = NULL;
    return HANET_OK;
}

static void ethernet_close(void *link) { (void)link; }

static const hanet_link_type ethernet_type = {
    .struct_size = sizeof(hanet_link_type),
    .name = "ethernet",
    .description = "Any Ethernet netdev (ARPHRD_ETHER): L2, public by default; MTU and speed from sysfs",
    .flags = 0,
    .unavailable_reason = NULL,
    .probe = ethernet_probe,
    .describe = ethernet_describe,
    .open = ethernet_open,
    .close = ethernet_close,
    .send_frame = NULL,
};

static int ethernet_init(const hanet_host_api *api, void **state, char *error, size_t error_size) {
    *state = NULL;
    if (api->register_link_type(api, &ethernet_type) != HANET_OK) {
        snprintf(error, error_size, "could not register link type \"ethernet\"");
        return HANET_ERROR;
    }
    return HANET_OK;
}

static const hanet_plugin_descriptor descriptor = {
    HANET_PLUGIN_DESCRIPTOR_HEADER,
    .id = "ethernet",
    .version = "1.0.0",
    .description = "Ethernet link type (generic fallback for every ARPHRD_ETHER netdev)",
    .init = ethernet_init,
};

HANET_PLUGIN_EXPORT const hanet_plugin_descriptor *HANET_PLUGIN_ENTRY(void) { return &descriptor; }
