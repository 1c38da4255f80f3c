/*
 * hanet_probe_monitor.h — the probing monitor arp-monitor and ns-monitor share:
 * every poll reads the answers the capture ring holds, ages the targets, and
 * sends the next probes through a plain AF_PACKET socket; no thread of its own.
 * A plugin supplies a `hanet_pm_protocol` (how to parse a target, build a probe,
 * recognise an answer, and the words its reasons use) and includes this header
 * once: its functions are static, so only the plugins that probe link libpcap
 * (hanet_plugin_support.h stays free of it).
 *
 * Why libpcap: the capture tap sees frames before the nftables netdev ingress
 * hook, so the active slave (whose ingress the data plane forwards to the
 * master) still sees its answers.
 *
 * A target is BAD after `missed_max` polls without an answer; `all_targets` =
 * "any" (default) keeps the slave GOOD while one target answers, "all" needs
 * every target. Verdicts are reported on change only; an answer that revives a
 * BAD slave is reported at the next poll, at most one interval later.
 */
#ifndef HANET_PROBE_MONITOR_H
#define HANET_PROBE_MONITOR_H

#include <hanet/plugin-util.h>
#include <hanet_plugin_support.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HANET_PM_MAX_TARGETS 16

typedef struct hanet_pm_target {
    uint8_t address[16]; /* network order; IPv4 in the first 4 bytes */
    char text[INET6_ADDRSTRLEN];
    int ever;            /* a valid answer was ever seen */
    int replied;         /* a valid answer since the last poll */
    int missed;          /* polls in a row without an answer */
} hanet_pm_target;

typedef struct hanet_pm_protocol {
    const char *plugin;          /* "arp-monitor" */
    const char *answer;          /* "ARP reply": "no ARP reply from ..." */
    const char *answers;         /* "ARP replies": "ARP replies from ..." */
    const char *capture_filter;  /* pcap filter for candidate answers */
    const char *targets_help;    /* what `targets` holds, with an example, for the missing-key error */
    /* Parses TEXT into ADDRESS and its canonical text; NULL on success, else what is wrong. */
    const char *(*parse_target)(const char *text, uint8_t address[16], char canonical[INET6_ADDRSTRLEN]);
    /* Writes the probe for TARGET from the slave's MAC into FRAME (at least 128 bytes); its length,
     * its Ethernet destination in DEST and its EtherType (host order) in ETHERTYPE. */
    size_t (*build_probe)(uint8_t *frame, const uint8_t mac[6], const uint8_t target[16], uint8_t dest[6],
                          uint16_t *ethertype);
    /* The target a captured frame validly answers, or -1. */
    int (*answered)(const uint8_t *frame, size_t length, const uint8_t mac[6], const hanet_pm_target *targets, int ntargets);
} hanet_pm_protocol;

typedef struct hanet_pm_instance {
    const hanet_pm_protocol *proto;
    const hanet_host_api *api;
    hanet_instance_handle *handle;
    char slave[IF_NAMESIZE];
    uint32_t interval_ms;
    int missed_max;
    int need_all;

    hanet_pm_target targets[HANET_PM_MAX_TARGETS];
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
} hanet_pm_instance;

/* ---- verdicts -------------------------------------------------------- */

static int hanet_pm_evaluate(hanet_pm_instance *a, char *reason, size_t size) {
    int good = 0, bad = 0;
    char list[HANET_PM_MAX_TARGETS * (INET6_ADDRSTRLEN + 2)] = "";
    int worst = 0;
    if (a->capture_error[0] != '\0') {
        snprintf(reason, size, "%s", a->capture_error);
        return HANET_HEALTH_BAD;
    }
    for (int i = 0; i < a->ntargets; i++) {
        hanet_pm_target *t = &a->targets[i];
        if (t->missed >= a->missed_max) bad++;
        else if (t->ever) good++;
    }
    int health;
    if (a->need_all) health = bad > 0 ? HANET_HEALTH_BAD : good == a->ntargets ? HANET_HEALTH_GOOD : HANET_HEALTH_UNKNOWN;
    else health = good > 0 ? HANET_HEALTH_GOOD : bad == a->ntargets ? HANET_HEALTH_BAD : HANET_HEALTH_UNKNOWN;
    for (int i = 0; i < a->ntargets; i++) {
        hanet_pm_target *t = &a->targets[i];
        int is_bad = t->missed >= a->missed_max;
        if ((health == HANET_HEALTH_BAD) != is_bad) continue;
        if (health == HANET_HEALTH_GOOD && !t->ever) continue;
        if (list[0] != '\0') strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, t->text, sizeof list - strlen(list) - 1);
        if (t->missed > worst) worst = t->missed;
    }
    if (health == HANET_HEALTH_BAD)
        snprintf(reason, size, "no %s from %s for %d intervals of %u ms", a->proto->answer, list, worst, a->interval_ms);
    else if (health == HANET_HEALTH_GOOD)
        snprintf(reason, size, "%s from %s", a->proto->answers, list);
    else
        snprintf(reason, size, "waiting for the first %s", a->proto->answers);
    return health;
}

static void hanet_pm_report_counters(hanet_pm_instance *a) {
    hanet_util_report_counters(a->api, a->handle, a->sent, a->replies, a->last_reply_ns);
}

/* Reports when the health changed (report only enqueues). */
static void hanet_pm_maybe_report(hanet_pm_instance *a) {
    char reason[512];
    int health = hanet_pm_evaluate(a, reason, sizeof reason);
    if (health == a->last_health) return;
    a->last_health = health;
    a->api->report(a->api, a->handle, health, reason);
    hanet_pm_report_counters(a);
}

/* ---- capture --------------------------------------------------------- */

static void hanet_pm_on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *f) {
    hanet_pm_instance *a = (hanet_pm_instance *)user;
    int i = a->proto->answered(f, h->caplen, a->mac, a->targets, a->ntargets);
    if (i < 0 || i >= a->ntargets) return;
    hanet_pm_target *t = &a->targets[i];
    t->ever = 1;
    t->replied = 1;
    t->missed = 0;
    a->replies++;
    a->last_reply_ns = a->api->monotonic_ns(a->api);
    hanet_pm_maybe_report(a);
}

/* Answers are read in the poll, not by a thread of their own: the capture
 * ring holds them until the next poll, which judges them anyway. One poll
 * per interval then does all the work, instead of a wake-up per answer per
 * slave (measured: the wake-ups were about a fifth of the daemon's idle CPU
 * with 4 slaves probed every 20 ms). */
static void hanet_pm_drain_capture(hanet_pm_instance *a) {
    if (a->pcap == NULL) return;
    if (pcap_dispatch(a->pcap, -1, hanet_pm_on_frame, (u_char *)a) < 0) {
        snprintf(a->capture_error, sizeof a->capture_error, "capture on %s failed: %s", a->slave, pcap_geterr(a->pcap));
    }
}

static void hanet_pm_stop_capture(hanet_pm_instance *a) {
    if (a->pcap != NULL) {
        pcap_close(a->pcap);
        a->pcap = NULL;
    }
}

static int hanet_pm_start_capture(hanet_pm_instance *a, char *error, size_t error_size) {
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create(a->slave, errbuf);
    if (p == NULL) {
        snprintf(error, error_size, "capture on %s: %s", a->slave, errbuf);
        return HANET_ERROR;
    }
    pcap_set_snaplen(p, 128);
    pcap_set_immediate_mode(p, 1);
    pcap_set_buffer_size(p, 256 * 1024);
    int rc = pcap_activate(p);
    if (rc < 0) {
        snprintf(error, error_size, "capture on %s: %s", a->slave, pcap_geterr(p));
        pcap_close(p);
        return HANET_ERROR;
    }
    struct bpf_program prog;
    if (pcap_compile(p, &prog, a->proto->capture_filter, 1, PCAP_NETMASK_UNKNOWN) != 0 || pcap_setfilter(p, &prog) != 0) {
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

static void hanet_pm_send_probe(hanet_pm_instance *a, const uint8_t target[16], int ifindex) {
    uint8_t f[128];
    uint8_t dest[6];
    uint16_t ethertype = 0;
    size_t n = a->proto->build_probe(f, a->mac, target, dest, &ethertype);
    struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ethertype), .sll_ifindex = ifindex, .sll_halen = 6};
    memcpy(to.sll_addr, dest, 6);
    if (sendto(a->tx, f, n, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to) == (ssize_t)n) a->sent++;
    else if (errno == ENXIO || errno == ENODEV) a->ifindex = 0;
}

/* ---- the detector ---------------------------------------------------- */

static void hanet_pm_poll(void *instance) {
    hanet_pm_instance *a = instance;
    if (a->capture_error[0] != '\0') {
        /* The slave went away and came back: listen again before judging it. */
        char error[PCAP_ERRBUF_SIZE + 64];
        hanet_pm_stop_capture(a);
        if (hanet_pm_start_capture(a, error, sizeof error) == HANET_OK) {
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
        hanet_ps_read_mac(a->ioctl_fd, a->slave, a->mac);
        a->ifindex = (int)if_nametoindex(a->slave);
    }
    int ifindex = a->ifindex;
    hanet_pm_drain_capture(a);
    for (int i = 0; i < a->ntargets; i++) {
        hanet_pm_target *t = &a->targets[i];
        if (t->replied) t->replied = 0;
        else if (a->polls > 0 && t->missed < 1000000) t->missed++; /* no probe went out before the first poll */
    }
    a->polls++;
    hanet_pm_maybe_report(a);
    if (ifindex > 0)
        for (int i = 0; i < a->ntargets; i++) hanet_pm_send_probe(a, a->targets[i].address, ifindex);
    if (refresh) hanet_pm_report_counters(a); /* `hanet status` shows counters at most a second old */
}

static void hanet_pm_destroy(void *instance) {
    hanet_pm_instance *a = instance;
    if (a == NULL) return;
    hanet_pm_stop_capture(a);
    if (a->tx >= 0) close(a->tx);
    if (a->ioctl_fd >= 0) close(a->ioctl_fd);
    free(a);
}

/* Reads `missed_max`, `all_targets` and `targets`, opens the sockets and the capture. */
static int hanet_pm_create(const hanet_pm_protocol *proto, const hanet_detector_context *ctx, void **instance, char *error,
                           size_t error_size) {
    *instance = NULL;
    const hanet_host_api *api = ctx->api;
    const char *id = proto->plugin;
    if (hanet_ps_check_slave(id, ctx->slave, IF_NAMESIZE, error, error_size) != HANET_OK) return HANET_INVALID;
    if (ctx->interval_ms == 0) {
        snprintf(error, error_size, "%s on %s: interval_ms = 0: expected a positive number of milliseconds (the monitor probes on every interval)", id, ctx->slave);
        return HANET_INVALID;
    }
    hanet_pm_instance *a = calloc(1, sizeof *a);
    if (a == NULL) {
        snprintf(error, error_size, "%s: out of memory", id);
        return HANET_ERROR;
    }
    a->proto = proto;
    a->api = api;
    a->handle = ctx->handle;
    snprintf(a->slave, sizeof a->slave, "%s", ctx->slave);
    a->interval_ms = ctx->interval_ms;
    a->missed_max = 2;
    a->last_health = HANET_HEALTH_UNKNOWN;
    a->tx = a->ioctl_fd = -1;

    if (hanet_util_config_int(api, ctx->config, "missed_max", 1, 1000, &a->missed_max, id, a->slave, error, error_size) < 0)
        goto invalid;
    const char *v = api->config_get(api, ctx->config, "all_targets");
    if (v != NULL) {
        if (strcmp(v, "all") == 0) a->need_all = 1;
        else if (strcmp(v, "any") != 0) {
            snprintf(error, error_size, "%s on %s: all_targets = \"%s\": expected \"any\" or \"all\"", id, a->slave, v);
            goto invalid;
        }
    }
    size_t ntargets = hanet_util_config_count(api, ctx->config, "targets");
    if (ntargets == 0) {
        snprintf(error, error_size, "%s on %s: `targets` is required: %s", id, a->slave, proto->targets_help);
        goto invalid;
    }
    for (size_t i = 0; i < ntargets; i++) {
        char item[128] = "";
        hanet_util_config_item(api, ctx->config, "targets", i, item, sizeof item);
        const char *tok = item;
        while (*tok == ' ') tok++;
        if (a->ntargets == HANET_PM_MAX_TARGETS) {
            snprintf(error, error_size, "%s on %s: targets: more than %d addresses", id, a->slave, HANET_PM_MAX_TARGETS);
            goto invalid;
        }
        hanet_pm_target *t = &a->targets[a->ntargets];
        const char *why = proto->parse_target(tok, t->address, t->text);
        if (why != NULL) {
            snprintf(error, error_size, "%s on %s: targets: \"%s\" %s", id, a->slave, tok, why);
            goto invalid;
        }
        a->ntargets++;
    }

    if ((a->tx = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)) < 0 ||
        (a->ioctl_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
        snprintf(error, error_size, "%s on %s: cannot open sockets: %s (needs CAP_NET_RAW)", id, a->slave, strerror(errno));
        hanet_pm_destroy(a);
        return HANET_ERROR;
    }
    if (hanet_ps_read_mac(a->ioctl_fd, a->slave, a->mac) != 0) {
        snprintf(error, error_size, "%s on %s: cannot read the slave's MAC: %s", id, a->slave, strerror(errno));
        hanet_pm_destroy(a);
        return HANET_ERROR;
    }
    if (hanet_pm_start_capture(a, error, error_size) != HANET_OK) {
        hanet_pm_destroy(a);
        return HANET_ERROR;
    }
    *instance = a;
    return HANET_OK;

invalid:
    hanet_pm_destroy(a);
    return HANET_INVALID;
}

#endif
