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
#include <hanet_plugin_support.h>

#include <stdio.h>
#include <string.h>

/* USB 1.1 full speed: what a host-to-host cable of the paper's era gives, and our answer when nothing better is known. */
#define USBNET_DEFAULT_SPEED_BPS 12000000ull

static const char *const usbnet_drivers[] = {
    "cdc_subset", "plusb", "net1080", "cdc_ether", "cdc_ncm", "rndis_host", "cdc_eem", "zaurus", NULL,
};

static int usbnet_probe(void *state, const hanet_device_info *device) {
    (void)state;
    if (!hanet_ps_is_netdev(device)) return 0;
    /* Documented override, used by tests on veth and by admins whose driver is not in the list. */
    int forced = hanet_ps_forced_link_type(device, "usbnet");
    if (forced >= 0) return forced;
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
    if (device == NULL || !hanet_ps_safe_ifname(device->name)) {
        snprintf(error, error_size, "usbnet: invalid device name");
        return HANET_INVALID;
    }
    hanet_ps_ethernet_attrs(out, HANET_ROLE_PRIVATE);
    out->mtu = hanet_ps_sysfs_mtu(device->name, 0);

    out->speed_bps = USBNET_DEFAULT_SPEED_BPS;
    int forced = hanet_ps_speed_property("usbnet", device, &out->speed_bps, error, error_size);
    if (forced < 0) return HANET_INVALID;
    if (forced > 0) return HANET_OK;
    /* device/ is the USB interface; its parent, the USB device, has `speed` in Mb/s (12, 480, 5000). */
    long long v = 0;
    if (hanet_ps_sysfs_read_ll(device->name, "device/../speed", &v) == 0 && v > 0) out->speed_bps = (uint64_t)v * 1000000ull;
    return HANET_OK;
}

HANET_PS_NETDEV_LINK_TYPE_PLUGIN("usbnet", "1.0.0", "usbnet link type (USB host-to-host and USB Ethernet links to a sibling)",
                                 "USB host-to-host / USB Ethernet netdev (cdc_ether, cdc_ncm, rndis_host, plusb, net1080, ...): "
                                 "L2, private by default, 12 Mbit/s unless the USB device reports its speed",
                                 usbnet_probe, usbnet_describe)
