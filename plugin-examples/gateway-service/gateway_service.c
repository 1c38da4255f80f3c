/*
 * gateway-service — a HANet detector written outside the HANet source tree:
 * a slave is BAD when, through it, the upstream gateway stops answering ARP
 * AND a TCP service on the LAN stops accepting connections; GOOD while
 * either works. One device down for maintenance (the router rebooting, the
 * service restarting) does not fail the link over; losing both does. The
 * reason names what failed.
 *
 * Every poll stays within HANET_POLL_BUDGET_MS by never waiting:
 *   - ARP: an RFC 5227 probe (sender IP 0.0.0.0, so no neighbour learns
 *     anything from it) is sent through a raw AF_PACKET socket bound to the
 *     slave; replies wait in that socket, non-blocking, until the next poll
 *     reads them. The socket listens to all protocols (ETH_P_ALL), which
 *     like libpcap sees frames before the nftables netdev ingress hook, so
 *     the active slave hears its replies too; a classic BPF filter keeps
 *     only ARP replies. No libpcap: the plugin needs nothing but libc.
 *   - TCP: a non-blocking connect() from the slave's own IPv4 address, bound
 *     to the slave (SO_BINDTODEVICE), is started in one poll and judged in a
 *     later one (poll(2) with timeout 0, then SO_ERROR); an attempt still in
 *     progress after `connect_timeout_ms` fails. A slave without an address
 *     of its own is not connected from: the kernel would pick the service
 *     address, and its ARP from a backup slave would move the service to the
 *     wrong MAC.
 *
 * Configuration (hanet.toml):
 *   [detector.gateway-service]
 *   gateway = "198.51.100.1"         # required: answers ARP on the slave's LAN
 *   service = "198.51.100.10:443"    # required: IPv4:port that accepts TCP
 *   interval_ms = 500                # default 500: one ARP probe and one connect per interval
 *   missed_max = 3                   # default 3: silent intervals / failed connects before that half fails
 *   connect_timeout_ms = 1000        # default 1000
 */
#define _GNU_SOURCE /* SO_BINDTODEVICE, SOCK_NONBLOCK, struct ifreq under -std=c11 */
#include <hanet/plugin-util.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define PLUGIN "gateway-service"

typedef struct gateway_service {
    hanet_util_reporter reporter;
    const hanet_host_api *api;
    char slave[IF_NAMESIZE];
    uint32_t interval_ms, timeout_ms;
    int missed_max;

    /* ARP half */
    struct in_addr gateway;
    int packet_fd, ioctl_fd, ifindex;
    int bound_ifindex;           /* the index packet_fd listens on */
    uint8_t mac[6];
    int arp_ever, arp_replied, arp_missed;

    /* TCP half */
    struct sockaddr_in service;
    char service_text[32];
    struct in_addr own;          /* the slave's own address, 0 when it has none */
    int tcp_fd;                  /* a connect in progress, or -1 */
    uint64_t tcp_started_ns;
    int tcp_ever, tcp_failed;    /* failed attempts in a row */
    char tcp_error[96];          /* why the last attempt failed */

    uint64_t polls, sent, replies, last_reply_ns;
} gateway_service;

/* ---- the slave's identity ------------------------------------------------ */

/* Re-reads the slave's index, MAC and own IPv4 address (SIOCGIFADDR gives its
 * primary one); they rarely change, so once a second is enough. */
static void refresh_slave(gateway_service *g) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", g->slave);
    g->ifindex = ioctl(g->ioctl_fd, SIOCGIFINDEX, &ifr) == 0 ? ifr.ifr_ifindex : 0;
    if (ioctl(g->ioctl_fd, SIOCGIFHWADDR, &ifr) == 0) memcpy(g->mac, ifr.ifr_hwaddr.sa_data, 6);
    ifr.ifr_addr.sa_family = AF_INET;
    g->own.s_addr = ioctl(g->ioctl_fd, SIOCGIFADDR, &ifr) == 0 ? ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr : 0;
}

static int bind_packet_socket(gateway_service *g);

/* ---- ARP ------------------------------------------------------------------- */

static void send_arp_probe(gateway_service *g) {
    if (g->ifindex <= 0) return;
    uint8_t f[60] = {0};
    memset(f, 0xff, 6);                       /* broadcast */
    memcpy(f + 6, g->mac, 6);
    f[12] = 0x08, f[13] = 0x06;               /* ARP */
    uint8_t *a = f + 14;
    a[1] = 1, a[2] = 0x08, a[4] = 6, a[5] = 4; /* Ethernet, IPv4 */
    a[7] = 1;                                  /* request */
    memcpy(a + 8, g->mac, 6);                  /* sender MAC; sender IP stays 0.0.0.0 */
    memcpy(a + 24, &g->gateway.s_addr, 4);     /* target IP; target MAC stays 0 */
    struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP), .sll_ifindex = g->ifindex, .sll_halen = 6};
    memset(to.sll_addr, 0xff, 6);
    if (sendto(g->packet_fd, f, sizeof f, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to) == (ssize_t)sizeof f) g->sent++;
}

/* Reads every ARP reply waiting in the socket; one from the gateway, to our
 * MAC, answering a probe (target IP 0.0.0.0) marks the gateway alive. */
static void read_arp_replies(gateway_service *g) {
    uint8_t f[64];
    ssize_t n;
    while ((n = recv(g->packet_fd, f, sizeof f, MSG_DONTWAIT)) >= 0) {
        if (n < 42) continue;
        const uint8_t *a = f + 14;
        uint32_t spa, tpa;
        memcpy(&spa, a + 14, 4);
        memcpy(&tpa, a + 24, 4);
        if (spa != g->gateway.s_addr || tpa != 0 || memcmp(a + 18, g->mac, 6) != 0) continue;
        g->arp_replied = 1;
        g->replies++;
        g->last_reply_ns = g->api->monotonic_ns(g->api);
    }
}

/* A raw socket that receives only ARP replies on the slave. The filter is
 * attached before the socket is bound, so nothing else is ever queued. */
static int open_packet_socket(gateway_service *g) {
    static struct sock_filter arp_replies[] = {
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),            /* EtherType */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_ARP, 0, 3),
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),            /* ARP opcode */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 2, 0, 1),      /* reply */
        BPF_STMT(BPF_RET | BPF_K, 64),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    struct sock_fprog prog = {.len = sizeof arp_replies / sizeof arp_replies[0], .filter = arp_replies};
    g->packet_fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (g->packet_fd < 0) return -1;
    if (setsockopt(g->packet_fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) return -1;
    return bind_packet_socket(g);
}

/* Listens on the slave's current index; 0 on success. */
static int bind_packet_socket(gateway_service *g) {
    struct sockaddr_ll at = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = g->ifindex};
    if (bind(g->packet_fd, (struct sockaddr *)&at, sizeof at) != 0) return -1;
    g->bound_ifindex = g->ifindex;
    return 0;
}

/* ---- TCP ------------------------------------------------------------------- */

static void tcp_close(gateway_service *g) {
    if (g->tcp_fd < 0) return;
    /* Reset instead of FIN: a health check leaves no TIME_WAIT behind. */
    struct linger off = {.l_onoff = 1, .l_linger = 0};
    setsockopt(g->tcp_fd, SOL_SOCKET, SO_LINGER, &off, sizeof off);
    close(g->tcp_fd);
    g->tcp_fd = -1;
}

static void tcp_result(gateway_service *g, int err) {
    tcp_close(g);
    if (err == 0) {
        g->tcp_ever = 1;
        g->tcp_failed = 0;
        g->tcp_error[0] = '\0';
        g->replies++;
        g->last_reply_ns = g->api->monotonic_ns(g->api);
    } else {
        if (g->tcp_failed < 1000000) g->tcp_failed++;
        snprintf(g->tcp_error, sizeof g->tcp_error, "%s", strerror(err));
    }
}

/* Judges the attempt in progress, if any: done, failed, timed out or still waiting. */
static void tcp_check(gateway_service *g) {
    if (g->tcp_fd < 0) return;
    struct pollfd p = {.fd = g->tcp_fd, .events = POLLOUT};
    if (poll(&p, 1, 0) > 0) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(g->tcp_fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        tcp_result(g, err);
    } else if (g->api->monotonic_ns(g->api) - g->tcp_started_ns >= (uint64_t)g->timeout_ms * 1000000u) {
        tcp_result(g, ETIMEDOUT);
    }
}

/* Starts the next attempt when none is in progress. */
static void tcp_start(gateway_service *g) {
    if (g->tcp_fd >= 0) return;
    if (g->own.s_addr == 0) {
        g->tcp_failed = g->missed_max;
        snprintf(g->tcp_error, sizeof g->tcp_error, "%s has no IPv4 address of its own to connect from", g->slave);
        return;
    }
    g->tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (g->tcp_fd < 0) {
        tcp_result(g, errno);
        return;
    }
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_addr = g->own};
    g->tcp_started_ns = g->api->monotonic_ns(g->api);
    g->sent++;
    if (setsockopt(g->tcp_fd, SOL_SOCKET, SO_BINDTODEVICE, g->slave, (socklen_t)strlen(g->slave)) != 0 ||
        bind(g->tcp_fd, (struct sockaddr *)&from, sizeof from) != 0) {
        tcp_result(g, errno);
        return;
    }
    if (connect(g->tcp_fd, (struct sockaddr *)&g->service, sizeof g->service) == 0) tcp_result(g, 0);
    else if (errno != EINPROGRESS) tcp_result(g, errno);
}

/* ---- the verdict ------------------------------------------------------------ */

/* Each half is up from its first success until it fails `missed_max` times
 * in a row, down after that, and pending before either; the slave is GOOD
 * while a half is up, BAD when both are down, UNKNOWN only at the start. */
static void judge(gateway_service *g) {
    char gw[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &g->gateway, gw, sizeof gw);
    int arp_down = g->arp_missed >= g->missed_max, arp_up = g->arp_ever && !arp_down;
    int tcp_down = g->tcp_failed >= g->missed_max, tcp_up = g->tcp_ever && !tcp_down;
    char arp[96], tcp[192];
    if (arp_up) snprintf(arp, sizeof arp, "gateway %s answers ARP", gw);
    else snprintf(arp, sizeof arp, "no ARP reply from gateway %s%s", gw, arp_down ? "" : " yet");
    if (tcp_up) snprintf(tcp, sizeof tcp, "service %s accepts connections", g->service_text);
    else if (tcp_down) snprintf(tcp, sizeof tcp, "service %s: %s", g->service_text, g->tcp_error);
    else snprintf(tcp, sizeof tcp, "service %s: no connection yet", g->service_text);
    if (arp_up || tcp_up)
        hanet_util_report(&g->reporter, HANET_HEALTH_GOOD, "%s; %s", arp_up ? arp : tcp, arp_up ? tcp : arp);
    else if (arp_down && tcp_down)
        hanet_util_report(&g->reporter, HANET_HEALTH_BAD, "%s for %d intervals of %u ms, and %s (%d attempts in a row)",
                          arp, g->missed_max, g->interval_ms, tcp, g->missed_max);
    else
        hanet_util_report(&g->reporter, HANET_HEALTH_UNKNOWN, "waiting: %s; %s", arp, tcp);
}

/* ---- the detector ----------------------------------------------------------- */

static void gateway_service_poll(void *instance) {
    gateway_service *g = instance;
    if (g->ifindex <= 0 || g->polls % (1000 / (g->interval_ms < 1000 ? g->interval_ms : 1000)) == 0) {
        refresh_slave(g);
        /* The slave was removed and came back under a new index: listen there. */
        if (g->ifindex > 0 && g->ifindex != g->bound_ifindex) bind_packet_socket(g);
    }
    read_arp_replies(g);
    if (g->arp_replied) {
        g->arp_ever = 1;
        g->arp_missed = 0;
        g->arp_replied = 0;
    } else if (g->polls > 0 && g->arp_missed < 1000000) {
        g->arp_missed++;
    }
    tcp_check(g);
    g->polls++;
    judge(g);
    send_arp_probe(g);
    tcp_start(g);
    hanet_util_report_counters(g->api, g->reporter.handle, g->sent, g->replies, g->last_reply_ns);
}

static void gateway_service_destroy(void *instance) {
    gateway_service *g = instance;
    if (g == NULL) return;
    tcp_close(g);
    if (g->packet_fd >= 0) close(g->packet_fd);
    if (g->ioctl_fd >= 0) close(g->ioctl_fd);
    free(g);
}

/* `service` as IPv4:port into G; 0 on success. */
static int parse_service(gateway_service *g, const char *text) {
    char host[INET_ADDRSTRLEN];
    const char *colon = strrchr(text, ':');
    long long port;
    if (colon == NULL || (size_t)(colon - text) >= sizeof host) return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    if (inet_pton(AF_INET, host, &g->service.sin_addr) != 1 || hanet_util_parse_ll(colon + 1, 1, 65535, "", &port) != 0)
        return -1;
    g->service.sin_family = AF_INET;
    g->service.sin_port = htons((uint16_t)port);
    snprintf(g->service_text, sizeof g->service_text, "%s:%lld", host, port);
    return 0;
}

static int gateway_service_create(void *plugin_state, const hanet_detector_context *ctx, void **instance, char *error,
                                  size_t error_size) {
    (void)plugin_state;
    *instance = NULL;
    if (ctx->interval_ms == 0 || ctx->layer != HANET_LINK_L2) {
        snprintf(error, error_size, PLUGIN " on %s: needs an Ethernet slave and interval_ms > 0", ctx->slave);
        return HANET_INVALID;
    }
    gateway_service *g = calloc(1, sizeof *g);
    if (g == NULL) {
        snprintf(error, error_size, PLUGIN ": out of memory");
        return HANET_ERROR;
    }
    g->packet_fd = g->ioctl_fd = g->tcp_fd = -1;
    hanet_util_reporter_init(&g->reporter, ctx);
    g->api = ctx->api;
    snprintf(g->slave, sizeof g->slave, "%s", ctx->slave);
    g->interval_ms = ctx->interval_ms;
    g->missed_max = 3;
    g->timeout_ms = 1000;
    char gateway[64] = "", service[64] = "";
    const hanet_host_api *api = ctx->api;
    if (hanet_util_config_int(api, ctx->config, "missed_max", 1, 1000, &g->missed_max, PLUGIN, ctx->slave, error, error_size) < 0 ||
        hanet_util_config_ms(api, ctx->config, "connect_timeout_ms", 10, 60000, &g->timeout_ms, PLUGIN, ctx->slave, error, error_size) < 0 ||
        hanet_util_config_string(api, ctx->config, "gateway", gateway, sizeof gateway, PLUGIN, ctx->slave, error, error_size) < 0 ||
        hanet_util_config_string(api, ctx->config, "service", service, sizeof service, PLUGIN, ctx->slave, error, error_size) < 0)
        goto invalid;
    if (inet_pton(AF_INET, gateway, &g->gateway) != 1 || g->gateway.s_addr == 0) {
        hanet_util_config_error(error, error_size, PLUGIN, ctx->slave, "gateway", gateway[0] ? gateway : "(not set)",
                                "the IPv4 address of the upstream gateway, e.g. gateway = \"198.51.100.1\"");
        goto invalid;
    }
    if (parse_service(g, service) != 0) {
        hanet_util_config_error(error, error_size, PLUGIN, ctx->slave, "service", service[0] ? service : "(not set)",
                                "IPv4:port of a TCP service on the LAN, e.g. service = \"198.51.100.10:443\"");
        goto invalid;
    }
    g->ifindex = ctx->ifindex;
    if ((g->ioctl_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 || open_packet_socket(g) != 0) {
        snprintf(error, error_size, PLUGIN " on %s: cannot open sockets: %s (needs CAP_NET_RAW)", ctx->slave, strerror(errno));
        gateway_service_destroy(g);
        return HANET_ERROR;
    }
    refresh_slave(g);
    /* Probe and connect at once: the first poll already has answers to judge. */
    send_arp_probe(g);
    tcp_start(g);
    judge(g);
    *instance = g;
    return HANET_OK;

invalid:
    gateway_service_destroy(g);
    return HANET_INVALID;
}

static const hanet_detector_type gateway_service_type = {
    .struct_size = sizeof(hanet_detector_type),
    .name = "gateway-service",
    .description = "BAD when, through the slave, the `gateway` stops answering ARP and the TCP `service` (IPv4:port) "
                   "stops accepting connections, each for `missed_max` intervals; GOOD while either works",
    .flags = HANET_DETECTOR_NEEDS_L2,
    .default_interval_ms = 500,
    .create = gateway_service_create,
    .destroy = gateway_service_destroy,
    .poll = gateway_service_poll,
};

/* Requires ABI minor 0: report_counters (1.1) is called only where the host has it. */
HANET_UTIL_DETECTOR_PLUGIN("gateway-service", "1.0.0", 0, gateway_service_type,
                           "gateway-service detector: BAD when the upstream gateway and a LAN service both stop answering")
