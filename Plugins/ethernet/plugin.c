/*
 * ethernet — the generic link type for any netdev that speaks Ethernet framing.
 *
 * It answers probe with the lowest positive score so that a specific plugin
 * (usbnet, a vendor driver match) always wins a device it also recognises;
 * everything that is ARPHRD_ETHER and unclaimed ends up here.
 */
#include <hanet/plugin.h>
#include <hanet_plugin_support.h>

#include <stdio.h>
#include <string.h>

#define ARPHRD_ETHER_ 1u

static int ethernet_probe(void *state, const hanet_device_info *device) {
    (void)state;
    if (!hanet_ps_is_netdev(device)) return 0;
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
    hanet_ps_ethernet_attrs(out, HANET_ROLE_PUBLIC);
    long long speed = 0;
    /* names with '/' are refused, so a device name can never walk out of sysfs; the speed
     * of a link without carrier reads as EINVAL or "-1": both mean unknown */
    out->mtu = hanet_ps_sysfs_mtu(device->name, 0);
    out->speed_bps = (hanet_ps_sysfs_read_ll(device->name, "speed", &speed) == 0 && speed > 0)
                         ? (uint64_t)speed * 1000000ull : 0;
    return HANET_OK;
}

HANET_PS_NETDEV_LINK_TYPE_PLUGIN("ethernet", "1.0.0", "Ethernet link type (generic fallback for every ARPHRD_ETHER netdev)",
                                 "Any Ethernet netdev (ARPHRD_ETHER): L2, public by default; MTU and speed from sysfs",
                                 ethernet_probe, ethernet_describe)
