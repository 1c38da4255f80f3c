/*
 * ns-monitor — arp-monitor for IPv6 (bonding's ns_ip6_target, teamd's
 * nsna_ping): a slave is GOOD while Neighbour Solicitations for the
 * configured IPv6 `targets`, sent through it, are answered with valid
 * Neighbour Advertisements. It catches silent faults that `carrier` cannot
 * see, on the active slave and on the backups alike.
 *
 * Why the unspecified source address (as DAD sends, RFC 4861 §7.2.2): a
 * solicitation from the service address out of a backup slave would teach
 * the target that the service lives at the backup's MAC; with source :: no
 * neighbour learns anything (like arp-monitor's RFC 5227 probes), and the
 * owner of the target still answers, with an advertisement to all nodes
 * (ff02::1, Solicited clear, §7.2.4; Linux's ndisc_recv_ns does so).
 * Link-local targets (a router's fe80::1) work: the slave is the link.
 *
 * An answer counts when it is a Neighbour Advertisement that passes RFC
 * 4861 §7.1.2's checks (hop limit 255, so it was not routed; checksum; code
 * 0; options) and names a target. The polling, capture and verdicts are
 * the probing monitor's it shares with arp-monitor (hanet_probe_monitor.h).
 */
#define _GNU_SOURCE
#include <hanet_probe_monitor.h>

#define ETHERTYPE_IPV6_HOST 0x86dd

static const char *parse_target(const char *text, uint8_t address[16], char canonical[INET6_ADDRSTRLEN]) {
    struct in6_addr in;
    if (strchr(text, '%') != NULL) return "has a zone: write the address alone, the slave is the link";
    if (inet_pton(AF_INET6, text, &in) != 1) return "is not an IPv6 address";
    if (IN6_IS_ADDR_UNSPECIFIED(&in) || IN6_IS_ADDR_LOOPBACK(&in) || IN6_IS_ADDR_MULTICAST(&in) || IN6_IS_ADDR_V4MAPPED(&in))
        return "is not a unicast IPv6 address a neighbour can hold";
    memcpy(address, &in, 16);
    inet_ntop(AF_INET6, &in, canonical, INET6_ADDRSTRLEN);
    return NULL;
}

static size_t build_probe(uint8_t *frame, const uint8_t mac[6], const uint8_t target[16], uint8_t dest[6], uint16_t *ethertype) {
    *ethertype = ETHERTYPE_IPV6_HOST;
    return hanet_ps_ns_probe(frame, mac, target, dest);
}

static int answered(const uint8_t *f, size_t length, const uint8_t mac[6], const hanet_pm_target *targets, int ntargets) {
    (void)mac;
    uint8_t target[16];
    if (hanet_ps_na_target(f, length, target) != 0) return -1;
    for (int i = 0; i < ntargets; i++)
        if (memcmp(targets[i].address, target, 16) == 0) return i;
    return -1;
}

static const hanet_pm_protocol ns_protocol = {
    .plugin = "ns-monitor",
    .answer = "neighbour advertisement",
    .answers = "neighbour advertisements",
    /* ICMPv6 right after the IPv6 header, type 136 (ND messages carry no extension headers). */
    .capture_filter = "ip6 and ip6[6] = 58 and ip6[40] = 136",
    .targets_help = "IPv6 hosts on the slave's LAN that answer Neighbour Solicitations, e.g. targets = [\"2001:db8:1::1\"] "
                    "or [\"fe80::1\"] in [detector.ns-monitor]",
    .parse_target = parse_target,
    .build_probe = build_probe,
    .answered = answered,
};

static int ns_create(void *state, const hanet_detector_context *ctx, void **instance, char *error, size_t error_size) {
    (void)state;
    return hanet_pm_create(&ns_protocol, ctx, instance, error, error_size);
}

static const hanet_detector_type ns_type = {
    .struct_size = sizeof(hanet_detector_type),
    .name = "ns-monitor",
    .description = "GOOD while IPv6 Neighbour Solicitations (source ::, as DAD sends them) sent on the slave for the "
                   "configured `targets` are answered with valid Neighbour Advertisements; BAD after `missed_max` "
                   "intervals without one (`all_targets` = any|all). Works on the active slave and on backups; never "
                   "announces the service address (L2 slaves only)",
    .flags = HANET_DETECTOR_NEEDS_L2,
    .unavailable_reason = NULL,
    .default_interval_ms = 100,
    .create = ns_create,
    .destroy = hanet_pm_destroy,
    .poll = hanet_pm_poll,
    .link_event = NULL,
};

HANET_UTIL_DETECTOR_PLUGIN("ns-monitor", "1.0.0", 0, ns_type,
                         "ns-monitor detector (IPv6 Neighbour Solicitations to targets, libpcap capture before the data plane)")
