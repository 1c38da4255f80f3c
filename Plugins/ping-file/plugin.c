/*
 * ping-file — the paper's "host ping file" method (after Milz, 1998): the
 * server probes the hosts listed in a file through the slave, and the slave
 * is BAD when fewer than `min_ok` of them answered within `missed_max`
 * intervals. The file (`file` key: one IPv4 or IPv6 host per line, `#`
 * comments, blank lines) is re-read when its inode, size or mtime changes.
 *
 * The probe must never teach a neighbour that the service address lives at a
 * backup slave's MAC, and its answer must come back to *this* slave even
 * while another one is active. That decides the design:
 *
 * - L2 slaves (libpcap on the slave; the capture sees frames before the
 *   nftables netdev ingress hook, so the active slave works too). Every poll
 *   sends each host an RFC 5227 ARP probe (sender IP 0.0.0.0), which resolves
 *   the host's MAC through this slave without announcing anything.
 *     * When the slave has an IPv4 address of its own, an ICMP echo from that
 *       address goes to the resolved MAC; the host counts when its echo reply
 *       (our identifier, from the host, to our address) is captured.
 *     * Without one there is no source address whose answer would come back
 *       to this slave: the service address's replies go to the active slave's
 *       MAC, and 0.0.0.0 is not a valid ICMP source. The host then counts
 *       when it answers the ARP probe, i.e. its network stack is alive and
 *       reachable through this slave; the reason says "ARP" so nobody mistakes
 *       it for ICMP. Give public slaves their own address (`address` in
 *       [[link]]) to probe with ICMP end to end.
 * - IPv6 hosts, on L2 slaves only: every poll sends each a Neighbour
 *   Solicitation from the unspecified address (as DAD does, so no neighbour
 *   learns anything), and the host counts when its Neighbour Advertisement,
 *   validated as RFC 4861 §7.1.2 says, is captured: like the ARP answer above,
 *   it shows the host's stack alive and reachable through this slave.
 * - L3 slaves (no ARP, no neighbours to mislead): a raw ICMP socket bound to
 *   the slave (SO_BINDTODEVICE) sends; a second, unbound raw socket receives,
 *   because on the active slave the reply reaches the IP stack through the
 *   master, not through the slave.
 *
 * Verdicts are reported on change only; a reply that brings the count back to
 * min_ok is reported at the next poll, at most one interval later.
 */
#define _GNU_SOURCE
#include <hanet/plugin-util.h>
#include <hanet_plugin_support.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HOSTS 64

typedef struct ping_host {
    uint32_t ip;             /* network order; 0 for an IPv6 host */
    int v6;
    uint8_t ip6[16];
    char text[INET6_ADDRSTRLEN];
    uint8_t mac[6];
    int mac_known;
    int ever, replied, missed;
} ping_host;

typedef struct ping_instance {
    const hanet_host_api *api;
    hanet_instance_handle *handle;
    char slave[IF_NAMESIZE];
    char path[512];
    int l2;
    uint32_t interval_ms;
    int missed_max, min_ok;
    uint16_t ident;

    ping_host hosts[MAX_HOSTS];
    int nhosts;
    char file_problem[256];  /* why the file gives no hosts, or "" */
    struct stat file_stat;
    int file_seen;
    uint8_t mac[6];
    uint32_t own_ip;         /* 0: the slave has no IPv4 address of its own */
    uint16_t seq;
    uint64_t polls, sent, replies, last_reply_ns;
    int last_health;
    char capture_error[PCAP_ERRBUF_SIZE + 64]; /* why receiving failed, or ""; the next poll reopens it */
    int ifindex;             /* cached; 0 forces a lookup */

    pcap_t *pcap;            /* L2 */
    int rx;                  /* L3: unbound raw ICMP socket */
    int tx;                  /* L2: AF_PACKET; L3: raw ICMP bound to the slave */
    int ioctl_fd;
} ping_instance;

/* ---- the hosts file -------------------------------------------------- */

/* Re-reads the file when it changed. A bad line is logged with its number
 * and skipped: one typo must not blind the detector. */
static void load_file(ping_instance *p) {
    struct stat st;
    if (stat(p->path, &st) != 0) {
        if (!p->file_seen) snprintf(p->file_problem, sizeof p->file_problem, "hosts file %s: %s", p->path, strerror(errno));
        return; /* a file being replaced keeps the last list */
    }
    if (p->file_seen && st.st_ino == p->file_stat.st_ino && st.st_size == p->file_stat.st_size &&
        st.st_mtim.tv_sec == p->file_stat.st_mtim.tv_sec && st.st_mtim.tv_nsec == p->file_stat.st_mtim.tv_nsec)
        return;
    FILE *f = fopen(p->path, "r");
    if (f == NULL) {
        snprintf(p->file_problem, sizeof p->file_problem, "hosts file %s: %s", p->path, strerror(errno));
        return;
    }
    p->file_stat = st;
    p->file_seen = 1;
    ping_host next[MAX_HOSTS];
    int n = 0, lineno = 0;
    char line[256], msg[512];
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        char *e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) *--e = '\0';
        if (*s == '\0') continue;
        struct in_addr in;
        struct in6_addr in6;
        int v6 = strchr(s, ':') != NULL;
        if (v6 && (inet_pton(AF_INET6, s, &in6) != 1 || IN6_IS_ADDR_UNSPECIFIED(&in6) || IN6_IS_ADDR_LOOPBACK(&in6) ||
                   IN6_IS_ADDR_MULTICAST(&in6) || IN6_IS_ADDR_V4MAPPED(&in6))) {
            snprintf(msg, sizeof msg, "%s:%d: \"%s\" is not a unicast IPv6 address (expected one host per line, no zone); line skipped", p->path, lineno, s);
            p->api->log(p->api, HANET_LOG_WARNING, msg);
            continue;
        }
        if (v6 && !p->l2) {
            snprintf(msg, sizeof msg, "%s:%d: IPv6 host %s: IPv6 hosts are probed on Ethernet-like (L2) slaves only, and %s is L3; line skipped", p->path, lineno, s, p->slave);
            p->api->log(p->api, HANET_LOG_WARNING, msg);
            continue;
        }
        if (!v6 && (inet_pton(AF_INET, s, &in) != 1 || in.s_addr == 0)) {
            snprintf(msg, sizeof msg, "%s:%d: \"%s\" is not an IPv4 address (expected one host per line); line skipped", p->path, lineno, s);
            p->api->log(p->api, HANET_LOG_WARNING, msg);
            continue;
        }
        if (n == MAX_HOSTS) {
            snprintf(msg, sizeof msg, "%s:%d: more than %d hosts; the rest are ignored", p->path, lineno, MAX_HOSTS);
            p->api->log(p->api, HANET_LOG_WARNING, msg);
            break;
        }
        ping_host *h = &next[n++];
        memset(h, 0, sizeof *h);
        h->v6 = v6;
        if (v6) {
            memcpy(h->ip6, &in6, 16);
            inet_ntop(AF_INET6, &in6, h->text, sizeof h->text);
        } else {
            h->ip = in.s_addr;
            inet_ntop(AF_INET, &in, h->text, sizeof h->text);
        }
        /* A host that stays in the list keeps its history. */
        for (int i = 0; i < p->nhosts; i++)
            if (p->hosts[i].v6 == h->v6 && p->hosts[i].ip == h->ip && memcmp(p->hosts[i].ip6, h->ip6, 16) == 0) *h = p->hosts[i];
    }
    fclose(f);
    memcpy(p->hosts, next, sizeof next[0] * (size_t)n);
    p->nhosts = n;
    if (n == 0) snprintf(p->file_problem, sizeof p->file_problem, "hosts file %s lists no hosts", p->path);
    else p->file_problem[0] = '\0';
    snprintf(msg, sizeof msg, "%s: %d host(s) from %s", p->slave, n, p->path);
    p->api->log(p->api, HANET_LOG_INFO, msg);
}

/* ---- verdicts -------------------------------------------------------- */

static int evaluate(ping_instance *p, char *reason, size_t size) {
    if (p->capture_error[0] != '\0') {
        snprintf(reason, size, "%s", p->capture_error);
        return HANET_HEALTH_BAD;
    }
    if (p->file_problem[0] != '\0') {
        snprintf(reason, size, "%s", p->file_problem);
        return HANET_HEALTH_BAD;
    }
    int ok = 0, lost = 0, need = p->min_ok < p->nhosts ? p->min_ok : p->nhosts;
    for (int i = 0; i < p->nhosts; i++) {
        if (p->hosts[i].missed >= p->missed_max) lost++;
        else if (p->hosts[i].ever) ok++;
    }
    int any6 = 0;
    for (int i = 0; i < p->nhosts; i++) any6 |= p->hosts[i].v6;
    const char *how = !p->l2 ? "ICMP echo"
                      : p->own_ip ? (any6 ? "ICMP echo (IPv6: neighbour advertisements)" : "ICMP echo")
                      : any6 ? "ARP (the slave has no address of its own; IPv6: neighbour advertisements)"
                      : "ARP (the slave has no address of its own)";
    if (ok >= need) {
        snprintf(reason, size, "%d of %d hosts answer %s", ok, p->nhosts, how);
        return HANET_HEALTH_GOOD;
    }
    if (p->nhosts - lost < need) {
        snprintf(reason, size, "%d of %d hosts answered %s within %d intervals of %u ms; need %d", ok, p->nhosts, how,
                 p->missed_max, p->interval_ms, need);
        return HANET_HEALTH_BAD;
    }
    snprintf(reason, size, "waiting for the first answers");
    return HANET_HEALTH_UNKNOWN;
}

static void report_counters(ping_instance *p);

static void maybe_report(ping_instance *p) {
    char reason[512];
    int health = evaluate(p, reason, sizeof reason);
    if (health == p->last_health) return;
    p->last_health = health;
    p->api->report(p->api, p->handle, health, reason);
    report_counters(p);
}

static void report_counters(ping_instance *p) {
    hanet_util_report_counters(p->api, p->handle, p->sent, p->replies, p->last_reply_ns);
}

static void credit(ping_instance *p, ping_host *h) {
    h->ever = h->replied = 1;
    h->missed = 0;
    p->replies++;
    p->last_reply_ns = p->api->monotonic_ns(p->api);
    maybe_report(p);
}

/* A valid answer from IPv4 host `ip`. */
static void answered(ping_instance *p, uint32_t ip, const uint8_t *mac) {
    for (int i = 0; i < p->nhosts; i++) {
        ping_host *h = &p->hosts[i];
        if (h->v6 || h->ip != ip) continue;
        if (mac != NULL) {
            memcpy(h->mac, mac, 6);
            h->mac_known = 1;
            if (p->own_ip != 0) return; /* ARP only resolves; the ICMP reply is the answer */
        }
        credit(p, h);
        return;
    }
}

/* A valid Neighbour Advertisement for IPv6 host `target`. */
static void answered6(ping_instance *p, const uint8_t target[16]) {
    for (int i = 0; i < p->nhosts; i++)
        if (p->hosts[i].v6 && memcmp(p->hosts[i].ip6, target, 16) == 0) {
            credit(p, &p->hosts[i]);
            return;
        }
}

/* ---- receiving ------------------------------------------------------- */

static uint16_t checksum(const uint8_t *b, size_t n) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (n & 1) sum += (uint32_t)(b[n - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* An IPv4 packet carrying an echo reply with our identifier: the source. */
static int echo_reply_from(ping_instance *p, const uint8_t *ip, size_t len, uint32_t *src) {
    if (len < 20 || (ip[0] >> 4) != 4 || ip[9] != 1) return 0;
    size_t ihl = (size_t)(ip[0] & 0xf) * 4;
    if (ihl < 20 || len < ihl + 8) return 0;
    const uint8_t *icmp = ip + ihl;
    if (icmp[0] != 0 || icmp[1] != 0) return 0;
    if ((uint16_t)(icmp[4] << 8 | icmp[5]) != p->ident) return 0;
    memcpy(src, ip + 12, 4);
    return 1;
}

static void on_frame(u_char *user, const struct pcap_pkthdr *hdr, const u_char *f) {
    ping_instance *p = (ping_instance *)user;
    if (hdr->caplen < 42) return;
    uint8_t target[16];
    /* The answer to a solicitation from :: goes to all nodes, not to our MAC. */
    if (f[12] == 0x86 && f[13] == 0xdd) {
        if (hanet_ps_na_target(f, hdr->caplen, target) == 0) answered6(p, target);
        return;
    }
    if (memcmp(f, p->mac, 6) != 0) return;
    if (f[12] == 0x08 && f[13] == 0x06) {
        const u_char *a = f + 14;
        uint32_t tpa;
        memcpy(&tpa, a + 24, 4);
        /* an answer to our probe: reply, to our MAC, target IP 0.0.0.0 */
        if (a[6] == 0 && a[7] == 2 && tpa == 0 && memcmp(a + 18, p->mac, 6) == 0) {
            uint32_t spa;
            memcpy(&spa, a + 14, 4);
            answered(p, spa, a + 8);
        }
    } else if (f[12] == 0x08 && f[13] == 0x00 && p->own_ip != 0) {
        uint32_t src, dst;
        if (hdr->caplen >= 34) {
            memcpy(&dst, f + 30, 4);
            if (dst == p->own_ip && echo_reply_from(p, f + 14, hdr->caplen - 14, &src)) answered(p, src, NULL);
        }
    }
}

static void fail_capture(ping_instance *p, const char *why) {
    snprintf(p->capture_error, sizeof p->capture_error, "receiving on %s failed: %s", p->slave, why);
}

/* Replies are read at each poll, from the capture ring (L2) or the raw
 * socket's queue (L3), without blocking: the poll judges them anyway, and a
 * thread per slave woken by every reply cost more CPU than the probing. */
static void drain_replies(ping_instance *p) {
    if (p->l2) {
        if (p->pcap != NULL && pcap_dispatch(p->pcap, -1, on_frame, (u_char *)p) < 0)
            fail_capture(p, pcap_geterr(p->pcap));
        return;
    }
    if (p->rx < 0) return;
    uint8_t buf[1500];
    ssize_t len;
    while ((len = recv(p->rx, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
        uint32_t src;
        if (echo_reply_from(p, buf, (size_t)len, &src)) answered(p, src, NULL);
    }
    if (len < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) fail_capture(p, strerror(errno));
}

static void stop_receiver(ping_instance *p) {
    if (p->pcap != NULL) {
        pcap_close(p->pcap);
        p->pcap = NULL;
    }
}

static int start_receiver(ping_instance *p, char *error, size_t error_size) {
    if (p->l2) {
        char errbuf[PCAP_ERRBUF_SIZE] = "";
        pcap_t *c = pcap_create(p->slave, errbuf);
        if (c == NULL) {
            snprintf(error, error_size, "ping-file: capture on %s: %s", p->slave, errbuf);
            return HANET_ERROR;
        }
        pcap_set_snaplen(c, 128);
        pcap_set_immediate_mode(c, 1);
        pcap_set_buffer_size(c, 256 * 1024);
        struct bpf_program prog;
        if (pcap_activate(c) < 0 ||
            pcap_compile(c, &prog, "(arp and arp[6:2] = 2) or (icmp and icmp[icmptype] = icmp-echoreply) or (ip6 and ip6[6] = 58 and ip6[40] = 136)", 1, PCAP_NETMASK_UNKNOWN) != 0 ||
            pcap_setfilter(c, &prog) != 0) {
            snprintf(error, error_size, "ping-file: capture on %s: %s", p->slave, pcap_geterr(c));
            pcap_close(c);
            return HANET_ERROR;
        }
        pcap_freecode(&prog);
        pcap_setdirection(c, PCAP_D_IN);
        if (pcap_setnonblock(c, 1, errbuf) != 0 || pcap_get_selectable_fd(c) < 0) {
            snprintf(error, error_size, "ping-file: capture on %s: cannot poll: %s", p->slave, errbuf);
            pcap_close(c);
            return HANET_ERROR;
        }
        p->pcap = c;
    }
    return HANET_OK;
}

/* ---- sending --------------------------------------------------------- */

/* The slave's MAC and its own IPv4 address (if any), re-read at create and
 * then about once a second (ping_poll's refresh): both may change under us
 * (fail_over_mac, an operator adding an address). */
static void read_identity(ping_instance *p) {
    uint8_t mac[6] = {0};
    if (p->l2) hanet_ps_read_mac(p->ioctl_fd, p->slave, mac);
    uint32_t own = 0;
    if (p->l2) {
        struct ifaddrs *list = NULL;
        if (getifaddrs(&list) == 0) {
            for (struct ifaddrs *i = list; i != NULL; i = i->ifa_next)
                if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && strcmp(i->ifa_name, p->slave) == 0) {
                    own = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
                    break;
                }
            freeifaddrs(list);
        }
    }
    memcpy(p->mac, mac, 6);
    p->own_ip = own;
}

static void send_l2(ping_instance *p, int ifindex, const uint8_t *frame, size_t len, const uint8_t *dst) {
    struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6};
    memcpy(to.sll_addr, dst, 6);
    if (sendto(p->tx, frame, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to) == (ssize_t)len) p->sent++;
    else if (errno == ENXIO || errno == ENODEV) p->ifindex = 0;
}

static void build_echo(ping_instance *p, uint8_t *icmp, uint16_t seq) {
    memset(icmp, 0, 16);
    icmp[0] = 8; /* echo request */
    icmp[4] = (uint8_t)(p->ident >> 8); icmp[5] = (uint8_t)p->ident;
    icmp[6] = (uint8_t)(seq >> 8); icmp[7] = (uint8_t)seq;
    memcpy(icmp + 8, "hanet-pf", 8);
    uint16_t c = checksum(icmp, 16);
    icmp[2] = (uint8_t)(c >> 8); icmp[3] = (uint8_t)c;
}

static void probe_l2(ping_instance *p, const ping_host *h, uint16_t seq, int ifindex) {
    uint8_t f[60];
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (h->v6) {
        uint8_t ns[78], group[6];
        hanet_ps_ns_probe(ns, p->mac, h->ip6, group);
        send_l2(p, ifindex, ns, sizeof ns, group);
        return;
    }
    /* RFC 5227 ARP probe: resolves the host through this slave, announces nothing */
    hanet_ps_arp_probe(f, p->mac, h->ip);
    send_l2(p, ifindex, f, sizeof f, bcast);
    if (p->own_ip == 0 || !h->mac_known) return;
    /* ICMP echo from the slave's own address to the host's MAC */
    uint8_t e[14 + 20 + 16];
    memset(e, 0, sizeof e);
    memcpy(e, h->mac, 6);
    memcpy(e + 6, p->mac, 6);
    e[12] = 0x08; e[13] = 0x00;
    uint8_t *ip = e + 14;
    ip[0] = 0x45; ip[2] = 0; ip[3] = 36; ip[6] = 0x40; ip[8] = 64; ip[9] = 1;
    memcpy(ip + 12, &p->own_ip, 4);
    memcpy(ip + 16, &h->ip, 4);
    uint16_t c = checksum(ip, 20);
    ip[10] = (uint8_t)(c >> 8); ip[11] = (uint8_t)c;
    build_echo(p, ip + 20, seq);
    send_l2(p, ifindex, e, sizeof e, h->mac);
}

static void probe_l3(ping_instance *p, uint32_t host, uint16_t seq) {
    uint8_t icmp[16];
    build_echo(p, icmp, seq);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = host};
    if (sendto(p->tx, icmp, sizeof icmp, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to) == (ssize_t)sizeof icmp) p->sent++;
}

/* ---- the detector ---------------------------------------------------- */

static void ping_poll(void *instance) {
    ping_instance *p = instance;
    if (p->capture_error[0] != '\0') {
        char error[PCAP_ERRBUF_SIZE + 64];
        stop_receiver(p);
        if (start_receiver(p, error, sizeof error) == HANET_OK) p->capture_error[0] = '\0';
        else snprintf(p->capture_error, sizeof p->capture_error, "%s", error);
    }
    /* The slave's index, MAC and address rarely change: re-read them (and
     * stat the hosts file) about once a second, not on every poll. */
    int refresh = hanet_ps_refresh_due(p->interval_ms, p->polls, p->ifindex);
    if (refresh) {
        read_identity(p);
        p->ifindex = (int)if_nametoindex(p->slave);
    }
    int ifindex = p->ifindex;
    drain_replies(p);
    if (refresh) load_file(p);
    for (int i = 0; i < p->nhosts; i++) {
        ping_host *h = &p->hosts[i];
        if (h->replied) h->replied = 0;
        else if (p->polls > 0 && h->missed < 1000000) h->missed++;
    }
    p->polls++;
    maybe_report(p);
    uint16_t seq = ++p->seq;
    if (ifindex > 0)
        for (int i = 0; i < p->nhosts; i++) {
            if (p->l2) probe_l2(p, &p->hosts[i], seq, ifindex);
            else probe_l3(p, p->hosts[i].ip, seq);
        }
    if (refresh) report_counters(p); /* `hanet status` shows counters at most a second old */
}

static void ping_destroy(void *instance) {
    ping_instance *p = instance;
    if (p == NULL) return;
    stop_receiver(p);
    if (p->tx >= 0) close(p->tx);
    if (p->rx >= 0) close(p->rx);
    if (p->ioctl_fd >= 0) close(p->ioctl_fd);
    free(p);
}

static int ping_create(void *state, const hanet_detector_context *ctx, void **instance, char *error, size_t error_size) {
    (void)state;
    *instance = NULL;
    const hanet_host_api *api = ctx->api;
    if (hanet_ps_check_slave("ping-file", ctx->slave, IF_NAMESIZE, error, error_size) != HANET_OK) return HANET_INVALID;
    if (ctx->interval_ms == 0) {
        snprintf(error, error_size, "ping-file on %s: interval_ms = 0: expected a positive number of milliseconds", ctx->slave);
        return HANET_INVALID;
    }
    ping_instance *p = calloc(1, sizeof *p);
    if (p == NULL) {
        snprintf(error, error_size, "ping-file: out of memory");
        return HANET_ERROR;
    }
    p->api = api;
    p->handle = ctx->handle;
    snprintf(p->slave, sizeof p->slave, "%s", ctx->slave);
    p->l2 = ctx->layer == HANET_LINK_L2;
    p->interval_ms = ctx->interval_ms;
    p->missed_max = 3;
    p->min_ok = 1;
    p->last_health = HANET_HEALTH_UNKNOWN;
    p->tx = p->rx = p->ioctl_fd = -1;
    /* The identifier tells our echo replies from other pingers' */
    p->ident = (uint16_t)((uintptr_t)p >> 4 ^ (uint16_t)getpid() ^ (uint16_t)ctx->ifindex * 31);

    if (hanet_util_config_int(api, ctx->config, "missed_max", 1, 1000, &p->missed_max, "ping-file", p->slave, error,
                            error_size) < 0 ||
        hanet_util_config_int(api, ctx->config, "min_ok", 1, MAX_HOSTS, &p->min_ok, "ping-file", p->slave, error,
                            error_size) < 0)
        goto invalid;
    const char *v = api->config_get(api, ctx->config, "file");
    if (v == NULL || v[0] == '\0') {
        snprintf(error, error_size, "ping-file on %s: `file` is required: a file listing one IPv4 or IPv6 host per line, "
                 "e.g. file = \"/etc/hanet/ping-hosts\" in [detector.ping-file]", p->slave);
        goto invalid;
    }
    if (strlen(v) >= sizeof p->path) {
        snprintf(error, error_size, "ping-file on %s: file: path longer than %zu bytes", p->slave, sizeof p->path - 1);
        goto invalid;
    }
    snprintf(p->path, sizeof p->path, "%s", v);
    load_file(p);
    if (!p->file_seen) {
        snprintf(error, error_size, "ping-file on %s: %s", p->slave, p->file_problem);
        goto invalid;
    }

    if ((p->ioctl_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) goto sockets;
    if (p->l2) {
        if ((p->tx = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)) < 0) goto sockets;
    } else {
        if ((p->tx = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP)) < 0 ||
            (p->rx = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMP)) < 0) goto sockets;
        if (setsockopt(p->tx, SOL_SOCKET, SO_BINDTODEVICE, p->slave, (socklen_t)strlen(p->slave)) != 0) goto sockets;
    }
    read_identity(p);
    if (start_receiver(p, error, error_size) != HANET_OK) {
        ping_destroy(p);
        return HANET_ERROR;
    }
    *instance = p;
    return HANET_OK;

sockets:
    snprintf(error, error_size, "ping-file on %s: cannot open sockets: %s (needs CAP_NET_RAW)", p->slave, strerror(errno));
    ping_destroy(p);
    return HANET_ERROR;
invalid:
    ping_destroy(p);
    return HANET_INVALID;
}

static const hanet_detector_type ping_type = {
    .struct_size = sizeof(hanet_detector_type),
    .name = "ping-file",
    .description = "GOOD while at least `min_ok` of the hosts listed in `file` answered through the slave within "
                   "`missed_max` intervals. L2: ARP probes (sender 0.0.0.0) resolve each host, then ICMP echo from the "
                   "slave's own address when it has one, else the ARP answer counts; IPv6 hosts (L2): Neighbour Solicitations "
                   "from ::, a validated Neighbour Advertisement counts; L3: ICMP echo bound to the slave. "
                   "Never sends the service address",
    .flags = 0,
    .unavailable_reason = NULL,
    .default_interval_ms = 200,
    .create = ping_create,
    .destroy = ping_destroy,
    .poll = ping_poll,
    .link_event = NULL,
};

HANET_UTIL_DETECTOR_PLUGIN("ping-file", "1.0.0", 0, ping_type,
                         "ping-file detector (hosts from a file, probed through the slave without announcing the service address)")
