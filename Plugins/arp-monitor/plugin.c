/*
 * arp-monitor — bonding's ARP monitor, done safely for HANet: a slave is GOOD
 * while ARP requests to the configured `targets`, sent through it, are
 * answered. It catches silent faults (carrier up, nothing forwarded) that
 * `carrier` cannot see, on the active slave and on the backups alike.
 *
 * Why ARP *probes* (RFC 5227, sender IP 0.0.0.0): a request carrying the
 * service address from a backup slave would teach every neighbour that the
 * service lives at the backup's MAC, and traffic would go where nothing
 * forwards it. With sender IP 0 no neighbour cache learns anything, and
 * Linux still answers (arp_process's sip == 0 case replies to the sender's
 * hardware address), as do RFC 5227 hosts.
 *
 * The polling, capture and verdicts are the probing monitor's it shares with
 * ns-monitor (hanet_probe_monitor.h). A reply counts only when it is an ARP
 * reply whose sender IP is a target, whose target MAC (and Ethernet
 * destination) is this slave's MAC and whose target IP is 0.0.0.0, i.e. an
 * answer to our probe.
 */
#define _GNU_SOURCE
#include <hanet_probe_monitor.h>

#include <net/ethernet.h>

static const char *parse_target(const char *text, uint8_t address[16], char canonical[INET6_ADDRSTRLEN]) {
    struct in_addr in;
    if (inet_pton(AF_INET, text, &in) != 1 || in.s_addr == 0) return "is not a unicast IPv4 address";
    memset(address, 0, 16);
    memcpy(address, &in.s_addr, 4);
    inet_ntop(AF_INET, &in, canonical, INET6_ADDRSTRLEN);
    return NULL;
}

static size_t build_probe(uint8_t *frame, const uint8_t mac[6], const uint8_t target[16], uint8_t dest[6], uint16_t *ethertype) {
    uint32_t ip;
    memcpy(&ip, target, 4);
    hanet_ps_arp_probe(frame, mac, ip);
    memset(dest, 0xff, 6);
    *ethertype = ETH_P_ARP;
    return 60;
}

static int answered(const uint8_t *f, size_t length, const uint8_t mac[6], const hanet_pm_target *targets, int ntargets) {
    if (length < 42) return -1;
    if (f[12] != 0x08 || f[13] != 0x06) return -1;                   /* ARP */
    const uint8_t *p = f + 14;
    if (p[0] != 0 || p[1] != 1 || p[2] != 0x08 || p[3] != 0x00 || p[4] != 6 || p[5] != 4) return -1;
    if (p[6] != 0 || p[7] != 2) return -1;                            /* reply */
    uint32_t tpa;
    memcpy(&tpa, p + 24, 4);
    if (tpa != 0) return -1;                                          /* an answer to a probe */
    if (memcmp(f, mac, 6) != 0 || memcmp(p + 18, mac, 6) != 0) return -1; /* to us */
    for (int i = 0; i < ntargets; i++)
        if (memcmp(targets[i].address, p + 14, 4) == 0) return i;
    return -1;
}

static const hanet_pm_protocol arp_protocol = {
    .plugin = "arp-monitor",
    .answer = "ARP reply",
    .answers = "ARP replies",
    .capture_filter = "arp and arp[6:2] = 2",
    .targets_help = "IPv4 hosts on the slave's LAN that answer ARP, e.g. targets = [\"198.51.100.1\"] in [detector.arp-monitor]",
    .parse_target = parse_target,
    .build_probe = build_probe,
    .answered = answered,
};

static int arp_create(void *state, const hanet_detector_context *ctx, void **instance, char *error, size_t error_size) {
    (void)state;
    return hanet_pm_create(&arp_protocol, ctx, instance, error, error_size);
}

static const hanet_detector_type arp_type = {
    .struct_size = sizeof(hanet_detector_type),
    .name = "arp-monitor",
    .description = "GOOD while ARP probes (sender IP 0.0.0.0, RFC 5227) sent on the slave to the configured `targets` "
                   "are answered; BAD after `missed_max` intervals without a valid reply (`all_targets` = any|all). "
                   "Works on the active slave and on backups; never announces the service address (L2 slaves only)",
    .flags = HANET_DETECTOR_NEEDS_L2,
    .unavailable_reason = NULL,
    .default_interval_ms = 100,
    .create = arp_create,
    .destroy = hanet_pm_destroy,
    .poll = hanet_pm_poll,
    .link_event = NULL,
};

HANET_UTIL_DETECTOR_PLUGIN("arp-monitor", "1.0.0", 0, arp_type,
                         "arp-monitor detector (ARP probes to targets, libpcap capture before the data plane)")
