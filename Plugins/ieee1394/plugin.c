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
#include <hanet_plugin_support.h>

#include <stdio.h>

#define ARPHRD_IEEE1394_ 24u
#define FWNET_HLEN 18u     /* 16-byte hardware address + 2-byte ether type (linux/firewire.h) */
#define FWNET_ALEN 16u
#define FWNET_MTU 1500u
#define S400_BPS 400000000ull

static int fw_probe(void *state, const hanet_device_info *device) {
    (void)state;
    if (!hanet_ps_is_netdev(device)) return 0;
    int forced = hanet_ps_forced_link_type(device, "ieee1394");
    if (forced >= 0) return forced;
    return device->arphrd == ARPHRD_IEEE1394_ ? 100 : 0;
}

static int fw_describe(void *state, const hanet_device_info *device, const hanet_config *config,
                       hanet_link_attrs *out, char *error, size_t error_size) {
    (void)state; (void)config;
    if (device == NULL || !hanet_ps_safe_ifname(device->name)) {
        snprintf(error, error_size, "ieee1394: invalid device name");
        return HANET_INVALID;
    }
    out->layer = HANET_LINK_L3;
    out->role = HANET_ROLE_PRIVATE;
    out->flags = HANET_LINK_NOARP;
    out->arphrd = ARPHRD_IEEE1394_;
    out->header_len = FWNET_HLEN;
    out->addr_len = FWNET_ALEN;
    out->mtu = hanet_ps_sysfs_mtu(device->name, FWNET_MTU);
    out->speed_bps = S400_BPS;
    if (hanet_ps_speed_property("ieee1394", device, &out->speed_bps, error, error_size) < 0) return HANET_INVALID;
    return HANET_OK;
}

HANET_PS_NETDEV_LINK_TYPE_PLUGIN("ieee1394", "1.0.0", "ieee1394 link type (IP over FireWire to a sibling)",
                                 "IP over IEEE 1394 (firewire-net, ARPHRD_IEEE1394): L3 from the master's view, private, "
                                 "400 Mbit/s (S400) by default",
                                 fw_probe, fw_describe)
