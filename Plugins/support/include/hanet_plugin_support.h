/*
 * hanet_plugin_support.h — helpers the built-in plugins (Plugins/<id>/plugin.c)
 * share. Every plugin target links this static C target into its .so; it is
 * built with -fvisibility=hidden, so none of these functions is exported: a
 * plugin still exports only HANET_PLUGIN_ENTRY.
 *
 * What every plugin needs (the descriptor, registration, reporting changes,
 * reading configuration) is public, in hanet/plugin-util.h; this file keeps
 * what only the built-in link types and probing detectors share (sysfs, udev
 * properties, ARP and ND frames). Nothing here links libpcap, so the plugins that do
 * not capture do not need it.
 */
#ifndef HANET_PLUGIN_SUPPORT_H
#define HANET_PLUGIN_SUPPORT_H

#include <hanet/plugin-util.h>

#include <stddef.h>
#include <stdint.h>

/* ---- a link type over a kernel netdev ------------------------------------ */

/* A plugin whose one link type is a kernel netdev (it carries the frames, so
 * open and close only keep the handle): the type is named like the plugin and
 * only PROBE_ and DESCRIBE_ are its own. It requires ABI minor 0. */
#define HANET_PS_NETDEV_LINK_TYPE_PLUGIN(id_, version_, description_, type_description_, probe_, describe_) \
    static const hanet_link_type hanet_ps_netdev_type = {                                      \
        .struct_size = sizeof(hanet_link_type),                                                 \
        .name = id_,                                                                            \
        .description = type_description_,                                                       \
        .probe = probe_,                                                                        \
        .describe = describe_,                                                                  \
        .open = hanet_ps_netdev_open,                                                           \
        .close = hanet_ps_netdev_close,                                                         \
    };                                                                                          \
    HANET_UTIL_LINK_TYPE_PLUGIN(id_, version_, 0, hanet_ps_netdev_type, description_)

/* ---- link types over a kernel netdev --------------------------------------- */

/* Whether DEVICE is a netdev (subsystem "net"). */
int hanet_ps_is_netdev(const hanet_device_info *device);

/* The documented HANET_LINK_TYPE override: -1 when the property is not set,
 * else 100 when it names NAME and 0 when it names another type. */
int hanet_ps_forced_link_type(const hanet_device_info *device, const char *name);

/* The HANET_SPEED_BPS udev property: 0 when not set, 1 with *bps set, -1 with
 * "PLUGIN: DEV: udev property HANET_SPEED_BPS=...: expected a positive integer ..." in error. */
int hanet_ps_speed_property(const char *plugin, const hanet_device_info *device, uint64_t *bps, char *error,
                            size_t error_size);

/* A device name that cannot walk out of /sys/class/net: non-empty, no '/', not "..". */
int hanet_ps_safe_ifname(const char *ifname);

/* Reads the first line of /sys/class/net/IFNAME/ATTR, without its newline, into BUF of SIZE
 * bytes (IFNAME checked with hanet_ps_safe_ifname); 0 on success, -1 otherwise. */
int hanet_ps_sysfs_read_text(const char *ifname, const char *attr, char *buf, size_t size);

/* Reads /sys/class/net/IFNAME/ATTR as an integer (IFNAME checked with hanet_ps_safe_ifname).
 * A link without carrier reads its speed as EINVAL or "-1": both mean unknown to the callers. */
int hanet_ps_sysfs_read_ll(const char *ifname, const char *attr, long long *out);

/* /sys/class/net/IFNAME/mtu when it reads as a positive number, else DFLT. */
uint32_t hanet_ps_sysfs_mtu(const char *ifname, uint32_t dflt);

/* The attributes of an Ethernet-framed netdev (L2, ARPHRD_ETHER, 14-byte header, 6-byte
 * address, no flags) with default ROLE; mtu and speed_bps are left to the caller. */
void hanet_ps_ethernet_attrs(hanet_link_attrs *out, uint32_t role);

/* open/close of a link type whose kernel netdev carries the frames: nothing to do. */
int hanet_ps_netdev_open(void *state, const hanet_device_info *device, const hanet_config *config,
                         hanet_link_handle *handle, void **link, char *error, size_t error_size);
void hanet_ps_netdev_close(void *link);

/* ---- detectors ----------------------------------------------------------- */

/* A slave name that is set, not empty and shorter than MAX: else "PLUGIN: invalid slave name", HANET_INVALID. */
int hanet_ps_check_slave(const char *plugin, const char *slave, size_t max, char *error, size_t error_size);

/* Whether a poll should re-read the slave's identity (index, MAC, ...): about once a
 * second at INTERVAL_MS, and whenever the cached IFINDEX is unknown. */
int hanet_ps_refresh_due(uint32_t interval_ms, uint64_t polls, int ifindex);

/* The MAC of IFNAME through SIOCGIFHWADDR on socket FD; 0 on success, -1 (errno set) otherwise. */
int hanet_ps_read_mac(int fd, const char *ifname, uint8_t mac[6]);

/* Builds a 60-byte broadcast RFC 5227 ARP probe from MAC for TARGET_IP (network order):
 * sender IP 0.0.0.0, target MAC 0, so no neighbour learns anything from it. */
void hanet_ps_arp_probe(uint8_t frame[60], const uint8_t mac[6], uint32_t target_ip);

/* Builds a 78-byte IPv6 Neighbour Solicitation from MAC for TARGET (16 bytes, network order) with the
 * unspecified source address, as DAD sends it (RFC 4861 §7.2.2, no Source Link-Layer Address option):
 * to TARGET's solicited-node group, whose MAC is written to DEST_MAC. No neighbour learns anything from
 * it; the owner of TARGET answers with a Neighbour Advertisement to ff02::1 (§7.2.4). Returns 78. */
size_t hanet_ps_ns_probe(uint8_t frame[78], const uint8_t mac[6], const uint8_t target[16], uint8_t dest_mac[6]);

/* Validates FRAME (Ethernet) as a Neighbour Advertisement as RFC 4861 §7.1.2 has a node do it (no
 * extension header, hop limit 255, code 0, a correct checksum, well-formed options, no Solicited flag to
 * a multicast destination) and writes its target to TARGET: 0, or -1 when it is not such an NA. */
int hanet_ps_na_target(const uint8_t *frame, size_t length, uint8_t target[16]);

#endif
