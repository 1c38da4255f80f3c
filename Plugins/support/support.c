#define _GNU_SOURCE
#include "hanet_plugin_support.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- link types over a kernel netdev ------------------------------------------- */

int hanet_ps_is_netdev(const hanet_device_info *device) {
    return device != NULL && device->subsystem != NULL && strcmp(device->subsystem, "net") == 0;
}

/* The value of udev property KEY in the device's NULL-terminated "KEY=VALUE" list, or NULL. */
static const char *hanet_ps_property(const hanet_device_info *device, const char *key) {
    if (device->properties == NULL) return NULL;
    size_t klen = strlen(key);
    for (const char *const *p = device->properties; *p != NULL; p++) {
        if (strncmp(*p, key, klen) == 0 && (*p)[klen] == '=') return *p + klen + 1;
    }
    return NULL;
}

int hanet_ps_forced_link_type(const hanet_device_info *device, const char *name) {
    const char *forced = hanet_ps_property(device, "HANET_LINK_TYPE");
    if (forced == NULL) return -1;
    return strcmp(forced, name) == 0 ? 100 : 0;
}

int hanet_ps_speed_property(const char *plugin, const hanet_device_info *device, uint64_t *bps, char *error,
                            size_t error_size) {
    const char *forced = hanet_ps_property(device, "HANET_SPEED_BPS");
    if (forced == NULL) return 0;
    char *end = NULL;
    unsigned long long v = strtoull(forced, &end, 10);
    if (end == forced || *end != '\0' || v == 0) {
        snprintf(error, error_size,
                 "%s: %s: udev property HANET_SPEED_BPS=\"%s\": expected a positive integer (bits per second)",
                 plugin, device->name, forced);
        return -1;
    }
    *bps = v;
    return 1;
}

int hanet_ps_safe_ifname(const char *ifname) {
    return ifname != NULL && ifname[0] != '\0' && strchr(ifname, '/') == NULL && strcmp(ifname, "..") != 0;
}

int hanet_ps_sysfs_read_text(const char *ifname, const char *attr, char *buf, size_t size) {
    if (!hanet_ps_safe_ifname(ifname)) return -1;
    char path[256];
    snprintf(path, sizeof path, "/sys/class/net/%s/%s", ifname, attr);
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    int ok = fgets(buf, (int)size, f) != NULL;
    fclose(f);
    if (!ok) return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

int hanet_ps_sysfs_read_ll(const char *ifname, const char *attr, long long *out) {
    char buf[64];
    if (hanet_ps_sysfs_read_text(ifname, attr, buf, sizeof buf) != 0) return -1;
    char *end = NULL;
    long long v = strtoll(buf, &end, 10);
    if (end == buf) return -1;
    *out = v;
    return 0;
}

uint32_t hanet_ps_sysfs_mtu(const char *ifname, uint32_t dflt) {
    long long v = 0;
    return (hanet_ps_sysfs_read_ll(ifname, "mtu", &v) == 0 && v > 0) ? (uint32_t)v : dflt;
}

void hanet_ps_ethernet_attrs(hanet_link_attrs *out, uint32_t role) {
    out->layer = HANET_LINK_L2;
    out->role = role;
    out->flags = 0;
    out->arphrd = 1u; /* ARPHRD_ETHER */
    out->header_len = 14;
    out->addr_len = 6;
}

int hanet_ps_netdev_open(void *state, const hanet_device_info *device, const hanet_config *config,
                         hanet_link_handle *handle, void **link, char *error, size_t error_size) {
    (void)state; (void)device; (void)config; (void)handle; (void)error; (void)error_size;
    *link = NULL;
    return HANET_OK;
}

void hanet_ps_netdev_close(void *link) { (void)link; }

/* ---- detectors ------------------------------------------------------------------- */

int hanet_ps_check_slave(const char *plugin, const char *slave, size_t max, char *error, size_t error_size) {
    if (slave == NULL || slave[0] == '\0' || strlen(slave) >= max) {
        snprintf(error, error_size, "%s: invalid slave name", plugin);
        return HANET_INVALID;
    }
    return HANET_OK;
}

int hanet_ps_refresh_due(uint32_t interval_ms, uint64_t polls, int ifindex) {
    uint64_t every = interval_ms >= 1000 ? 1 : 1000 / interval_ms;
    return polls % every == 0 || ifindex <= 0;
}

int hanet_ps_read_mac(int fd, const char *ifname, uint8_t mac[6]) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) return -1;
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    return 0;
}

void hanet_ps_arp_probe(uint8_t frame[60], const uint8_t mac[6], uint32_t target_ip) {
    uint8_t *f = frame;
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x08; f[13] = 0x06;
    uint8_t *p = f + 14;
    p[1] = 1; p[2] = 0x08; p[4] = 6; p[5] = 4; p[7] = 1;   /* Ethernet/IPv4, request */
    memcpy(p + 8, mac, 6);                                  /* sender MAC: this slave */
    /* sender IP 0.0.0.0 (p+14), target MAC 0 (p+18): an RFC 5227 probe */
    memcpy(p + 24, &target_ip, 4);
}


/* ---- IPv6 Neighbour Discovery (HANetCore's NDFrame is the reference; its tests hold kernel frames) ---- */

/* The ICMPv6 checksum (RFC 4443 §2.3) over the pseudo-header and MESSAGE, its checksum field read as 0. */
static uint16_t icmpv6_checksum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *message, size_t length) {
    uint32_t sum = 0;
    for (int i = 0; i < 16; i += 2) sum += (uint32_t)(src[i] << 8 | src[i + 1]) + (uint32_t)(dst[i] << 8 | dst[i + 1]);
    sum += (uint32_t)(length >> 16) + (uint32_t)(length & 0xffff) + 58;
    for (size_t i = 0; i < length; i += 2) {
        if (i == 2) continue;
        sum += (uint32_t)message[i] << 8 | (i + 1 < length ? message[i + 1] : 0);
    }
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

size_t hanet_ps_ns_probe(uint8_t frame[78], const uint8_t mac[6], const uint8_t target[16], uint8_t dest_mac[6]) {
    uint8_t group[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, target[13], target[14], target[15]};
    uint8_t *f = frame;
    memset(f, 0, 78);
    dest_mac[0] = 0x33; dest_mac[1] = 0x33;
    memcpy(dest_mac + 2, group + 12, 4);
    memcpy(f, dest_mac, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x86; f[13] = 0xdd;
    uint8_t *ip = f + 14;
    ip[0] = 0x60;
    ip[5] = 24;                  /* payload length */
    ip[6] = 58;                  /* ICMPv6 */
    ip[7] = 255;                 /* hop limit */
    /* source :: (ip + 8) */
    memcpy(ip + 24, group, 16);
    uint8_t *icmp = ip + 40;
    icmp[0] = 135;               /* Neighbor Solicitation; code 0, reserved 0 */
    memcpy(icmp + 8, target, 16);
    uint16_t c = icmpv6_checksum(ip + 8, ip + 24, icmp, 24);
    icmp[2] = (uint8_t)(c >> 8);
    icmp[3] = (uint8_t)c;
    return 78;
}

int hanet_ps_na_target(const uint8_t *frame, size_t length, uint8_t target[16]) {
    if (length < 14 + 40 + 24 || frame[12] != 0x86 || frame[13] != 0xdd || frame[14] >> 4 != 6) return -1;
    const uint8_t *ip = frame + 14;
    size_t payload = (size_t)ip[4] << 8 | ip[5];
    if (ip[6] != 58 || ip[7] != 255 || payload < 24 || length < 14 + 40 + payload) return -1;
    const uint8_t *icmp = ip + 40;
    if (icmp[0] != 136 || icmp[1] != 0) return -1;
    if (icmpv6_checksum(ip + 8, ip + 24, icmp, payload) != (uint16_t)(icmp[2] << 8 | icmp[3])) return -1;
    if ((icmp[4] & 0x40) && ip[24] == 0xff) return -1;     /* Solicited to a multicast destination */
    for (size_t at = 24; at < payload;) {                  /* options: length > 0, within the message */
        if (at + 2 > payload || icmp[at + 1] == 0 || at + (size_t)icmp[at + 1] * 8 > payload) return -1;
        at += (size_t)icmp[at + 1] * 8;
    }
    memcpy(target, icmp + 8, 16);
    return 0;
}
