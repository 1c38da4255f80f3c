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
 * Why libpcap: the capture tap sees frames before the nftables netdev ingress
 * hook, so the active slave (whose ingress the data plane forwards to the
 * master) still sees its replies. The host's `poll` callback reads the
 * replies the capture ring holds (non-blocking), ages the targets, and sends
 * the next probes through a plain AF_PACKET socket: no thread of its own.
 *
 * A reply counts only when it is an ARP reply whose sender IP is a target,
 * whose target MAC (and Ethernet destination) is this slave's MAC and whose
 * target IP is 0.0.0.0, i.e. an answer to our probe. A target is BAD after
 * `missed_max` polls without such a reply; `all_targets` = "any" (default)
 * keeps the slave GOOD while one target answers, "all" needs every target.
 * Verdicts are reported on change only; a reply that revives a BAD slave is
 * reported at the next poll, at most one interval later.
 */
#define _GNU_SOURCE
#include <hanet/plugin-util.h>
#include <hanet_plugin_support.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_TARGETS 16

typedef struct arp_target {
    uint32_t ip;        /* network order */
    char text[INET_ADDRSTRLEN];
    int ever;           /* a valid reply was ever seen */
    int replied;        /* a valid reply since the last poll */
    int missed;         /* polls in a row without a reply */
} arp_target;

typedef struct arp_instance {
    const hanet_host_api *api;
    hanet_instance_handle *handle;
    char slave[IF_NAMESIZE];
    uint32_t interval_ms;
    int missed_max;
    int need_all;

    arp_target targets[MAX_TARGETS];
    int ntargets;
    uint8_t mac[6];
    uint64_t sent, replies, last_reply_ns;
    int last_health;
    char capture_error[PCAP_ERRBUF_SIZE + 64]; /* why pcap failed, or ""; the next poll reopens it */

    pcap_t *pcap;
    uint64_t polls;
    int ifindex;                 /* cached; 0 forces a lookup */
    int tx;                      /* AF_PACKET socket for sending */
    int ioctl_fd;                /* AF_INET socket for SIOCGIFHWADDR */
} arp_instance;

/* ---- verdicts -------------------------------------------------------- */

/* Combines the targets into a verdict. */
static int evaluate(arp_instance *a, char *reason, size_t size) {
    int good = 0, bad = 0;
    char list[MAX_TARGETS * (INET_ADDRSTRLEN + 2)] = "";
    int worst = 0;
    if (a->capture_error[0] != '\0') {
        snprintf(reason, size, "%s", a->capture_error);
        return HANET_HEALTH_BAD;
    }
    for (int i = 0; i < a->ntargets; i++) {
        arp_target *t = &a->targets[i];
        if (t->missed >= a->missed_max) bad++;
        else if (t->ever) good++;
    }
    int health;
    if (a->need_all) health = bad > 0 ? HANET_HEALTH_BAD : good == a->ntargets ? HANET_HEALTH_GOOD : HANET_HEALTH_UNKNOWN;
    else health = good > 0 ? HANET_HEALTH_GOOD : bad == a->ntargets ? HANET_HEALTH_BAD : HANET_HEALTH_UNKNOWN;
    for (int i = 0; i < a->ntargets; i++) {
        arp_target *t = &a->targets[i];
        int is_bad = t->missed >= a->missed_max;
        if ((health == HANET_HEALTH_BAD) != is_bad) continue;
        if (health == HANET_HEALTH_GOOD && !t->ever) continue;
        if (list[0] != '\0') strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, t->text, sizeof list - strlen(list) - 1);
        if (t->missed > worst) worst = t->missed;
    }
    if (health == HANET_HEALTH_BAD)
        snprintf(reason, size, "no ARP reply from %s for %d intervals of %u ms", list, worst, a->interval_ms);
    else if (health == HANET_HEALTH_GOOD)
        snprintf(reason, size, "ARP replies from %s", list);
    else
        snprintf(reason, size, "waiting for the first ARP replies");
    return health;
}

static void report_counters(arp_instance *a);

/* Reports when the health changed (report only enqueues). */
static void maybe_report(arp_instance *a) {
    char reason[512];
    int health = evaluate(a, reason, sizeof reason);
    if (health == a->last_health) return;
    a->last_health = health;
    a->api->report(a->api, a->handle, health, reason);
    report_counters(a);
}

static void report_counters(arp_instance *a) {
    hanet_util_report_counters(a->api, a->handle, a->sent, a->replies, a->last_reply_ns);
}

/* ---- capture --------------------------------------------------------- */

static void on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *f) {
    arp_instance *a = (arp_instance *)user;
    if (h->caplen < 42) return;
    if (f[12] != 0x08 || f[13] != 0x06) return;                      /* ARP */
    const u_char *p = f + 14;
    if (p[0] != 0 || p[1] != 1 || p[2] != 0x08 || p[3] != 0x00 || p[4] != 6 || p[5] != 4) return;
    if (p[6] != 0 || p[7] != 2) return;                               /* reply */
    uint32_t spa, tpa;
    memcpy(&spa, p + 14, 4);
    memcpy(&tpa, p + 24, 4);
    if (tpa != 0) return;                                             /* an answer to a probe */
    if (memcmp(f, a->mac, 6) != 0 || memcmp(p + 18, a->mac, 6) != 0) return; /* to us */
    for (int i = 0; i < a->ntargets; i++) {
        arp_target *t = &a->targets[i];
        if (t->ip != spa) continue;
        t->ever = 1;
        t->replied = 1;
        t->missed = 0;
        a->replies++;
        a->last_reply_ns = a->api->monotonic_ns(a->api);
        maybe_report(a);
        break;
    }
}

/* Replies are read in arp_poll, not by a thread of their own: the capture
 * ring holds them until the next poll, which judges them anyway. One poll
 * per interval then does all the work, instead of a wake-up per reply per
 * slave (measured: the wake-ups were about a fifth of the daemon's idle CPU
 * with 4 slaves probed every 20 ms). */
static void drain_capture(arp_instance *a) {
    if (a->pcap == NULL) return;
    if (pcap_dispatch(a->pcap, -1, on_frame, (u_char *)a) < 0) {
        snprintf(a->capture_error, sizeof a->capture_error, "capture on %s failed: %s", a->slave, pcap_geterr(a->pcap));
    }
}

static void stop_capture(arp_instance *a) {
    if (a->pcap != NULL) {
        pcap_close(a->pcap);
        a->pcap = NULL;
    }
}

static int start_capture(arp_instance *a, char *error, size_t error_size) {
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create(a->slave, errbuf);
    if (p == NULL) {
        snprintf(error, error_size, "capture on %s: %s", a->slave, errbuf);
        return HANET_ERROR;
    }
    pcap_set_snaplen(p, 64);
    pcap_set_immediate_mode(p, 1);
    pcap_set_buffer_size(p, 256 * 1024);
    int rc = pcap_activate(p);
    if (rc < 0) {
        snprintf(error, error_size, "capture on %s: %s", a->slave, pcap_geterr(p));
        pcap_close(p);
        return HANET_ERROR;
    }
    struct bpf_program prog;
    if (pcap_compile(p, &prog, "arp and arp[6:2] = 2", 1, PCAP_NETMASK_UNKNOWN) != 0 ||
        pcap_setfilter(p, &prog) != 0) {
        snprintf(error, error_size, "capture filter on %s: %s", a->slave, pcap_geterr(p));
        pcap_close(p);
        return HANET_ERROR;
    }
    pcap_freecode(&prog);
    pcap_setdirection(p, PCAP_D_IN);
    if (pcap_setnonblock(p, 1, errbuf) != 0 || pcap_get_selectable_fd(p) < 0) {
        snprintf(error, error_size, "capture on %s: cannot poll: %s", a->slave, errbuf);
        pcap_close(p);
        return HANET_ERROR;
    }
    a->pcap = p;
    return HANET_OK;
}

/* ---- sending --------------------------------------------------------- */

/* Leaves a->mac alone when the read fails. */
static int read_mac(arp_instance *a) { return hanet_ps_read_mac(a->ioctl_fd, a->slave, a->mac); }

static void send_probe(arp_instance *a, uint32_t target, int ifindex) {
    uint8_t f[60];
    hanet_ps_arp_probe(f, a->mac, target);
    struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP), .sll_ifindex = ifindex, .sll_halen = 6};
    memset(to.sll_addr, 0xff, 6);
    if (sendto(a->tx, f, sizeof f, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to) == (ssize_t)sizeof f) a->sent++;
    else if (errno == ENXIO || errno == ENODEV) a->ifindex = 0;
}

/* ---- the detector ---------------------------------------------------- */

static void arp_poll(void *instance) {
    arp_instance *a = instance;
    if (a->capture_error[0] != '\0') {
        /* The slave went away and came back: listen again before judging it. */
        char error[PCAP_ERRBUF_SIZE + 64];
        stop_capture(a);
        if (start_capture(a, error, sizeof error) == HANET_OK) {
            a->capture_error[0] = '\0';
        } else {
            snprintf(a->capture_error, sizeof a->capture_error, "%s", error);
        }
    }
    /* The slave's index and MAC rarely change: re-read them about once a
     * second (and after a failed send), not on every poll, to keep a 20 ms
     * monitor on several slaves far below 1% of a core. */
    int refresh = hanet_ps_refresh_due(a->interval_ms, a->polls, a->ifindex);
    if (refresh) {
        read_mac(a);
        a->ifindex = (int)if_nametoindex(a->slave);
    }
    int ifindex = a->ifindex;
    drain_capture(a);
    for (int i = 0; i < a->ntargets; i++) {
        arp_target *t = &a->targets[i];
        if (t->replied) t->replied = 0;
        else if (a->polls > 0 && t->missed < 1000000) t->missed++; /* no probe went out before the first poll */
    }
    a->polls++;
    maybe_report(a);
    if (ifindex > 0)
        for (int i = 0; i < a->ntargets; i++) send_probe(a, a->targets[i].ip, ifindex);
    if (refresh) report_counters(a); /* `hanet status` shows counters at most a second old */
}

static void arp_destroy(void *instance) {
    arp_instance *a = instance;
    if (a == NULL) return;
    stop_capture(a);
    if (a->tx >= 0) close(a->tx);
    if (a->ioctl_fd >= 0) close(a->ioctl_fd);
    free(a);
}

static int arp_create(void *state, const hanet_detector_context *ctx, void **instance, char *error, size_t error_size) {
    (void)state;
    *instance = NULL;
    const hanet_host_api *api = ctx->api;
    if (hanet_ps_check_slave("arp-monitor", ctx->slave, IF_NAMESIZE, error, error_size) != HANET_OK) return HANET_INVALID;
    if (ctx->interval_ms == 0) {
        snprintf(error, error_size, "arp-monitor on %s: interval_ms = 0: expected a positive number of milliseconds (the monitor probes on every interval)", ctx->slave);
        return HANET_INVALID;
    }
    arp_instance *a = calloc(1, sizeof *a);
    if (a == NULL) {
        snprintf(error, error_size, "arp-monitor: out of memory");
        return HANET_ERROR;
    }
    a->api = api;
    a->handle = ctx->handle;
    snprintf(a->slave, sizeof a->slave, "%s", ctx->slave);
    a->interval_ms = ctx->interval_ms;
    a->missed_max = 2;
    a->last_health = HANET_HEALTH_UNKNOWN;
    a->tx = a->ioctl_fd = -1;

    if (hanet_util_config_int(api, ctx->config, "missed_max", 1, 1000, &a->missed_max, "arp-monitor", a->slave, error,
                            error_size) < 0)
        goto invalid;
    const char *v = api->config_get(api, ctx->config, "all_targets");
    if (v != NULL) {
        if (strcmp(v, "all") == 0) a->need_all = 1;
        else if (strcmp(v, "any") != 0) {
            snprintf(error, error_size, "arp-monitor on %s: all_targets = \"%s\": expected \"any\" or \"all\"", a->slave, v);
            goto invalid;
        }
    }
    size_t ntargets = hanet_util_config_count(api, ctx->config, "targets");
    if (ntargets == 0) {
        snprintf(error, error_size, "arp-monitor on %s: `targets` is required: IPv4 hosts on the slave's LAN that answer ARP, "
                 "e.g. targets = [\"198.51.100.1\"] in [detector.arp-monitor]", a->slave);
        goto invalid;
    }
    for (size_t i = 0; i < ntargets; i++) {
        char item[64] = "";
        hanet_util_config_item(api, ctx->config, "targets", i, item, sizeof item);
        const char *tok = item;
        while (*tok == ' ') tok++;
        struct in_addr in;
        if (inet_pton(AF_INET, tok, &in) != 1 || in.s_addr == 0) {
            snprintf(error, error_size, "arp-monitor on %s: targets: \"%s\" is not a unicast IPv4 address", a->slave, tok);
            goto invalid;
        }
        if (a->ntargets == MAX_TARGETS) {
            snprintf(error, error_size, "arp-monitor on %s: targets: more than %d addresses", a->slave, MAX_TARGETS);
            goto invalid;
        }
        arp_target *t = &a->targets[a->ntargets++];
        t->ip = in.s_addr;
        inet_ntop(AF_INET, &in, t->text, sizeof t->text);
    }

    if ((a->tx = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)) < 0 ||
        (a->ioctl_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
        snprintf(error, error_size, "arp-monitor on %s: cannot open sockets: %s (needs CAP_NET_RAW)", a->slave, strerror(errno));
        arp_destroy(a);
        return HANET_ERROR;
    }
    if (read_mac(a) != 0) {
        snprintf(error, error_size, "arp-monitor on %s: cannot read the slave's MAC: %s", a->slave, strerror(errno));
        arp_destroy(a);
        return HANET_ERROR;
    }
    if (start_capture(a, error, error_size) != HANET_OK) {
        arp_destroy(a);
        return HANET_ERROR;
    }
    *instance = a;
    return HANET_OK;

invalid:
    arp_destroy(a);
    return HANET_INVALID;
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
    .destroy = arp_destroy,
    .poll = arp_poll,
    .link_event = NULL,
};

HANET_UTIL_DETECTOR_PLUGIN("arp-monitor", "1.0.0", 0, arp_type,
                         "arp-monitor detector (ARP probes to targets, libpcap capture before the data plane)")
