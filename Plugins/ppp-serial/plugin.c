/*
 * ppp-serial — PPP over a serial line (RS-232, a USB serial adapter, a pty)
 * as a private link to a sibling: the paper's slowest private link.
 *
 * This kernel-independent implementation runs PPP in user space, so it works
 * where the kernel has no PPP (no /dev/ppp, as on this project's machines):
 *   - RFC 1662 asynchronous HDLC-like framing: flag 0x7E, control escape
 *     0x7D (XOR 0x20), async control character map (ACCM), FCS-16;
 *   - RFC 1661 LCP: Configure-Request/Ack/Nak/Reject with the ACCM and
 *     Magic-Number options, Terminate, Echo-Request/Reply as keepalive;
 *   - RFC 1332 IPCP: the IP-Address option, both ends taken from the
 *     configuration (`address` of the [[link]], the [[sibling]]'s address).
 * The link declares HANET_LINK_FRAME_IO: the host gives it a TUN device and
 * pumps IP packets (TUN read -> send_frame, deliver_frame -> TUN write).
 *
 * The `ppp-echo` detector, from this plugin, reports a ppp-serial slave GOOD
 * while LCP and IPCP are open and Echo-Replies keep coming, BAD otherwise:
 * a sibling that died or a cable that was pulled shows up within
 * echo_interval_ms * echo_failures.
 *
 * Differences from a full implementation, chosen for a link between two
 * HANet servers: negotiation never gives up (a sibling that comes back
 * hours later must be found again), address and protocol field compression
 * are refused, and unescaped control characters on receive are kept rather
 * than discarded (no modem on these links inserts flow-control characters).
 */
#include <hanet/plugin.h>
#include <hanet_plugin_support.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define ARPHRD_PPP_ 512u
#define PPP_MTU 1500u        /* PPP's default MRU (RFC 1661 §6.1) */
#define PPP_DEFAULT_BAUD 115200ull
#define PPP_MAX_FRAME 4096u  /* decoded bytes kept per frame; longer frames are dropped */

#define HDLC_FLAG 0x7Eu
#define HDLC_ESC 0x7Du
#define HDLC_XOR 0x20u
#define FCS_INIT 0xFFFFu
#define FCS_GOOD 0xF0B8u

#define PROTO_IP 0x0021u
#define PROTO_IPCP 0x8021u
#define PROTO_LCP 0xC021u

enum { CODE_CONF_REQ = 1, CODE_CONF_ACK, CODE_CONF_NAK, CODE_CONF_REJ, CODE_TERM_REQ, CODE_TERM_ACK,
       CODE_CODE_REJ, CODE_PROTO_REJ, CODE_ECHO_REQ, CODE_ECHO_REP, CODE_DISCARD_REQ };

enum { LCP_OPT_MRU = 1, LCP_OPT_ACCM = 2, LCP_OPT_MAGIC = 5 };
enum { IPCP_OPT_ADDRESS = 3 };

/* RFC 1661 §4.2's states that a link which never gives up needs. */
enum fsm_state { ST_INITIAL = 0, ST_REQSENT, ST_ACKRCVD, ST_ACKSENT, ST_OPENED };
static const char *const state_names[] = {"initial", "req-sent", "ack-rcvd", "ack-sent", "opened"};

/* ---- FCS-16 (RFC 1662 §C.2) --------------------------------------------- */

static uint16_t fcstab[256];
static pthread_once_t fcstab_once = PTHREAD_ONCE_INIT;

static void fcstab_init(void) {
    for (unsigned b = 0; b < 256; b++) {
        unsigned v = b;
        for (int i = 8; i--;) v = (v & 1) ? (v >> 1) ^ 0x8408u : v >> 1;
        fcstab[b] = (uint16_t)v;
    }
}

static uint16_t fcs16(uint16_t fcs, const uint8_t *p, size_t len) {
    while (len--) fcs = (uint16_t)((fcs >> 8) ^ fcstab[(fcs ^ *p++) & 0xff]);
    return fcs;
}

/* ---- the link ------------------------------------------------------------ */

typedef struct ppp_fsm {
    enum fsm_state state;
    uint8_t id;           /* of our last Configure-Request */
    uint64_t restart_at;  /* monotonic ns of the next Configure-Request resend */
} ppp_fsm;

typedef struct ppp_link {
    struct ppp_link *next;  /* in `links`, for the ppp-echo detector */
    const hanet_host_api *api;
    hanet_link_handle *handle;
    char device[256];
    char interface[64];
    int fd;
    pthread_t reader;
    atomic_int stop;
    pthread_mutex_t write_lock;  /* one frame at a time on the line */
    pthread_mutex_t state_lock;  /* everything below */

    uint32_t local_ip, peer_ip;  /* host byte order; peer 0 = accept what the sibling says */
    uint32_t restart_ms, echo_interval_ms, echo_failures;

    ppp_fsm lcp, ipcp;
    uint32_t magic, peer_magic;
    uint32_t tx_accm;            /* what the sibling asked us to escape, once LCP is open */
    int request_accm, request_magic; /* cleared when the sibling rejects the option */
    uint8_t echo_id;
    uint32_t echo_outstanding;   /* Echo-Requests without a reply since the last reply */
    uint64_t next_echo_at;
    uint64_t echo_sent, echo_replies, last_reply_ns;
    char last_problem[160];
} ppp_link;

static pthread_mutex_t links_lock = PTHREAD_MUTEX_INITIALIZER;
static ppp_link *links;

static void logf_(ppp_link *l, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void logf_(ppp_link *l, int level, const char *fmt, ...) {
    char msg[320];
    int n = snprintf(msg, sizeof msg, "%s (%s): ", l->interface, l->device);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    l->api->log(l->api, level, msg);
}

static uint64_t now_ns(ppp_link *l) { return l->api->monotonic_ns(l->api); }

/* Writes all of buf, waiting for the line at most 200 ms in total: a stuck
 * line must not block the host's packet pump forever. A frame cut short is
 * discarded by the receiver (bad FCS) when the next flag arrives. */
static int write_all(int fd, const uint8_t *buf, size_t len) {
    int waited_ms = 0;
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN) return -1;
        if (waited_ms >= 200) return -1;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        poll(&p, 1, 10);
        waited_ms += 10;
    }
    return 0;
}

static size_t put_escaped(uint8_t *out, size_t o, uint8_t b, uint32_t accm) {
    if (b == HDLC_FLAG || b == HDLC_ESC || (b < 0x20 && (accm & (1u << b)))) {
        out[o++] = HDLC_ESC;
        out[o++] = b ^ HDLC_XOR;
    } else {
        out[o++] = b;
    }
    return o;
}

/* Frames `payload` as protocol `proto` (RFC 1662 §3-4) and sends it. LCP
 * always goes out with every control character escaped (§7.1). */
static int send_ppp(ppp_link *l, uint16_t proto, const uint8_t *payload, size_t len, uint32_t accm) {
    if (len > 65535) return HANET_INVALID;
    if (proto == PROTO_LCP) accm = 0xFFFFFFFFu;
    uint8_t stack[2 * 1600 + 16];
    size_t cap = 2 * (len + 6) + 2;
    uint8_t *out = cap <= sizeof stack ? stack : malloc(cap);
    if (out == NULL) return HANET_ERROR;
    uint8_t head[4] = {0xFF, 0x03, (uint8_t)(proto >> 8), (uint8_t)proto};
    uint16_t fcs = fcs16(fcs16(FCS_INIT, head, 4), payload, len) ^ 0xFFFFu;
    size_t o = 0;
    out[o++] = HDLC_FLAG;
    for (int i = 0; i < 4; i++) o = put_escaped(out, o, head[i], accm);
    for (size_t i = 0; i < len; i++) o = put_escaped(out, o, payload[i], accm);
    o = put_escaped(out, o, (uint8_t)(fcs & 0xff), accm); /* least significant octet first */
    o = put_escaped(out, o, (uint8_t)(fcs >> 8), accm);
    out[o++] = HDLC_FLAG;
    pthread_mutex_lock(&l->write_lock);
    int rc = write_all(l->fd, out, o);
    pthread_mutex_unlock(&l->write_lock);
    if (out != stack) free(out);
    return rc == 0 ? HANET_OK : HANET_ERROR;
}

/* The ACCM for frames other than LCP; called with state_lock held. */
static uint32_t current_accm(const ppp_link *l) { return l->lcp.state == ST_OPENED ? l->tx_accm : 0xFFFFFFFFu; }

/* A control packet (LCP, IPCP): code, id, length, data. Called with state_lock held. */
static void send_control(ppp_link *l, uint16_t proto, uint8_t code, uint8_t id, const uint8_t *data, size_t len) {
    uint8_t pkt[1600];
    if (len + 4 > sizeof pkt) return;
    pkt[0] = code;
    pkt[1] = id;
    pkt[2] = (uint8_t)((len + 4) >> 8);
    pkt[3] = (uint8_t)(len + 4);
    if (len) memcpy(pkt + 4, data, len);
    send_ppp(l, proto, pkt, len + 4, current_accm(l));
}

static void put32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* ---- negotiation (called with state_lock held; sends unlock-free paths only) */

static void send_conf_req(ppp_link *l, uint16_t proto) {
    ppp_fsm *f = proto == PROTO_LCP ? &l->lcp : &l->ipcp;
    uint8_t opts[16];
    size_t n = 0;
    if (proto == PROTO_LCP) {
        if (l->request_accm) { opts[n++] = LCP_OPT_ACCM; opts[n++] = 6; put32(opts + n, 0); n += 4; }
        if (l->request_magic) { opts[n++] = LCP_OPT_MAGIC; opts[n++] = 6; put32(opts + n, l->magic); n += 4; }
    } else {
        opts[n++] = IPCP_OPT_ADDRESS; opts[n++] = 6; put32(opts + n, l->local_ip); n += 4;
    }
    f->id++;
    f->restart_at = now_ns(l) + (uint64_t)l->restart_ms * 1000000ull;
    send_control(l, proto, CODE_CONF_REQ, f->id, opts, n);
}

static void layer_up(ppp_link *l, uint16_t proto) {
    if (proto == PROTO_LCP) {
        logf_(l, HANET_LOG_INFO, "LCP opened (peer magic %08x); starting IPCP", l->peer_magic);
        l->echo_outstanding = 0;
        l->next_echo_at = now_ns(l) + (uint64_t)l->echo_interval_ms * 1000000ull;
        l->ipcp.state = ST_REQSENT;
        send_conf_req(l, PROTO_IPCP);
    } else {
        logf_(l, HANET_LOG_INFO, "IPCP opened: %u.%u.%u.%u <-> %u.%u.%u.%u", l->local_ip >> 24, (l->local_ip >> 16) & 255,
              (l->local_ip >> 8) & 255, l->local_ip & 255, l->peer_ip >> 24, (l->peer_ip >> 16) & 255,
              (l->peer_ip >> 8) & 255, l->peer_ip & 255);
        l->last_problem[0] = '\0';
    }
}

static void layer_down(ppp_link *l, uint16_t proto, const char *why) {
    if (proto == PROTO_LCP) {
        logf_(l, HANET_LOG_WARNING, "LCP down: %s", why);
        l->ipcp.state = ST_INITIAL;
        l->tx_accm = 0xFFFFFFFFu;
    } else {
        logf_(l, HANET_LOG_WARNING, "IPCP down: %s", why);
    }
    snprintf(l->last_problem, sizeof l->last_problem, "%s down: %s", proto == PROTO_LCP ? "LCP" : "IPCP", why);
}

/* Checks the sibling's Configure-Request options; fills `reply` with the
 * Configure-Ack, -Nak or -Reject to send and returns its code. */
static uint8_t check_request(ppp_link *l, uint16_t proto, const uint8_t *opts, size_t len, uint8_t *reply, size_t *reply_len) {
    size_t nak = 0, rej = 0;
    uint8_t nakbuf[64], rejbuf[256];
    uint32_t accm = 0xFFFFFFFFu, magic = 0;
    size_t i = 0;
    while (i + 2 <= len) {
        uint8_t type = opts[i], olen = opts[i + 1];
        if (olen < 2 || i + olen > len) { /* malformed: reject the remainder */
            if (rej + (len - i) <= sizeof rejbuf) { memcpy(rejbuf + rej, opts + i, len - i); rej += len - i; }
            break;
        }
        const uint8_t *o = opts + i;
        int known = 0;
        if (proto == PROTO_LCP) {
            if (type == LCP_OPT_MRU && olen == 4) known = 1;
            else if (type == LCP_OPT_ACCM && olen == 6) { known = 1; accm = get32(o + 2); }
            else if (type == LCP_OPT_MAGIC && olen == 6) {
                known = 1;
                magic = get32(o + 2);
                if (magic != 0 && magic == l->magic) { /* looped-back line: ask for another number */
                    if (nak + 6 <= sizeof nakbuf) { nakbuf[nak] = LCP_OPT_MAGIC; nakbuf[nak + 1] = 6; put32(nakbuf + nak + 2, magic ^ 0x5a5a5a5au); nak += 6; }
                    snprintf(l->last_problem, sizeof l->last_problem, "the line looks looped back (our own magic number came back)");
                }
            }
        } else if (type == IPCP_OPT_ADDRESS && olen == 6) {
            known = 1;
            uint32_t want = get32(o + 2);
            if (l->peer_ip != 0 && want != l->peer_ip) {
                if (nak + 6 <= sizeof nakbuf) { nakbuf[nak] = IPCP_OPT_ADDRESS; nakbuf[nak + 1] = 6; put32(nakbuf + nak + 2, l->peer_ip); nak += 6; }
                snprintf(l->last_problem, sizeof l->last_problem,
                         "the sibling's IPCP address %u.%u.%u.%u is not the configured sibling address", want >> 24,
                         (want >> 16) & 255, (want >> 8) & 255, want & 255);
            }
        }
        if (!known && rej + olen <= sizeof rejbuf) { memcpy(rejbuf + rej, o, olen); rej += olen; }
        i += olen;
    }
    if (rej) { memcpy(reply, rejbuf, rej); *reply_len = rej; return CODE_CONF_REJ; }
    if (nak) { memcpy(reply, nakbuf, nak); *reply_len = nak; return CODE_CONF_NAK; }
    memcpy(reply, opts, len);
    *reply_len = len;
    if (proto == PROTO_LCP) { l->peer_magic = magic; l->tx_accm = accm; }
    return CODE_CONF_ACK;
}

static void fsm_input(ppp_link *l, uint16_t proto, const uint8_t *pkt, size_t len) {
    if (len < 4) return;
    uint8_t code = pkt[0], id = pkt[1];
    size_t plen = (size_t)pkt[2] << 8 | pkt[3];
    if (plen < 4 || plen > len) return; /* RFC 1661 §5: silently discard */
    const uint8_t *data = pkt + 4;
    size_t dlen = plen - 4;
    ppp_fsm *f = proto == PROTO_LCP ? &l->lcp : &l->ipcp;
    if (proto == PROTO_IPCP && l->lcp.state != ST_OPENED) return;
    if (f->state == ST_INITIAL) { f->state = ST_REQSENT; send_conf_req(l, proto); }

    switch (code) {
    case CODE_CONF_REQ: {
        uint8_t reply[256];
        size_t rlen = 0;
        if (dlen > sizeof reply) return;
        uint8_t rc = check_request(l, proto, data, dlen, reply, &rlen);
        if (f->state == ST_OPENED) { layer_down(l, proto, "the sibling renegotiates"); f->state = ST_REQSENT; send_conf_req(l, proto); }
        send_control(l, proto, rc, id, reply, rlen);
        if (rc == CODE_CONF_ACK) {
            if (f->state == ST_ACKRCVD) { f->state = ST_OPENED; layer_up(l, proto); }
            else if (f->state == ST_REQSENT) f->state = ST_ACKSENT;
        } else if (f->state == ST_ACKSENT) {
            f->state = ST_REQSENT;
        }
        break;
    }
    case CODE_CONF_ACK:
        if (id != f->id) return;
        if (f->state == ST_REQSENT) f->state = ST_ACKRCVD;
        else if (f->state == ST_ACKSENT) { f->state = ST_OPENED; layer_up(l, proto); }
        else if (f->state == ST_OPENED) { layer_down(l, proto, "unexpected Configure-Ack"); f->state = ST_REQSENT; send_conf_req(l, proto); }
        else { f->state = ST_REQSENT; send_conf_req(l, proto); }
        break;
    case CODE_CONF_NAK:
    case CODE_CONF_REJ:
        if (id != f->id) return;
        if (proto == PROTO_LCP && code == CODE_CONF_REJ) {
            for (size_t i = 0; i + 2 <= dlen && data[i + 1] >= 2; i += data[i + 1]) {
                if (data[i] == LCP_OPT_ACCM) l->request_accm = 0;
                if (data[i] == LCP_OPT_MAGIC) l->request_magic = 0;
            }
        } else if (proto == PROTO_LCP) {
            l->magic = l->magic * 1103515245u + 12345u; /* a Nak of Magic-Number: pick another */
        } else {
            snprintf(l->last_problem, sizeof l->last_problem,
                     "the sibling refuses our IPCP address (Configure-%s); check `address` on both ends",
                     code == CODE_CONF_NAK ? "Nak" : "Reject");
        }
        if (f->state == ST_OPENED) layer_down(l, proto, "Configure-Nak/Reject while open");
        if (f->state != ST_ACKSENT) f->state = ST_REQSENT;
        send_conf_req(l, proto);
        break;
    case CODE_TERM_REQ:
        send_control(l, proto, CODE_TERM_ACK, id, NULL, 0);
        if (f->state == ST_OPENED) layer_down(l, proto, "the sibling sent Terminate-Request");
        f->state = ST_REQSENT; /* and try again after the restart timer */
        f->restart_at = now_ns(l) + (uint64_t)l->restart_ms * 1000000ull;
        break;
    case CODE_TERM_ACK:
        break;
    case CODE_ECHO_REQ:
        if (proto == PROTO_LCP && l->lcp.state == ST_OPENED && dlen >= 4) {
            uint8_t rep[1600];
            if (dlen > sizeof rep) return;
            memcpy(rep, data, dlen);
            put32(rep, l->request_magic ? l->magic : 0);
            send_control(l, PROTO_LCP, CODE_ECHO_REP, id, rep, dlen);
        }
        break;
    case CODE_ECHO_REP:
        if (proto == PROTO_LCP && l->lcp.state == ST_OPENED) {
            l->echo_replies++;
            l->echo_outstanding = 0;
            l->last_reply_ns = now_ns(l);
        }
        break;
    case CODE_DISCARD_REQ:
    case CODE_CODE_REJ:
    case CODE_PROTO_REJ:
        break;
    default: {
        uint8_t rej[1600];
        size_t n = plen < sizeof rej ? plen : sizeof rej;
        memcpy(rej, pkt, n);
        send_control(l, proto, CODE_CODE_REJ, ++f->id, rej, n);
    }
    }
}

/* Retransmissions and keepalive, from the reader thread at least every 50 ms. */
static void timers(ppp_link *l) {
    uint64_t now = now_ns(l);
    pthread_mutex_lock(&l->state_lock);
    ppp_fsm *fsms[2] = {&l->lcp, &l->ipcp};
    uint16_t protos[2] = {PROTO_LCP, PROTO_IPCP};
    for (int i = 0; i < 2; i++) {
        ppp_fsm *f = fsms[i];
        if (i == 1 && l->lcp.state != ST_OPENED) continue;
        if (f->state == ST_INITIAL) { f->state = ST_REQSENT; send_conf_req(l, protos[i]); continue; }
        if (f->state != ST_OPENED && now >= f->restart_at) {
            if (f->state == ST_ACKRCVD) f->state = ST_REQSENT;
            send_conf_req(l, protos[i]);
        }
    }
    if (l->lcp.state == ST_OPENED && now >= l->next_echo_at) {
        if (l->echo_outstanding >= l->echo_failures) {
            char why[96];
            snprintf(why, sizeof why, "no Echo-Reply to %u Echo-Requests %u ms apart", l->echo_outstanding, l->echo_interval_ms);
            layer_down(l, PROTO_LCP, why);
            l->lcp.state = ST_REQSENT;
            send_conf_req(l, PROTO_LCP);
        } else {
            uint8_t magic[4];
            put32(magic, l->request_magic ? l->magic : 0);
            l->echo_outstanding++;
            l->echo_sent++;
            send_control(l, PROTO_LCP, CODE_ECHO_REQ, ++l->echo_id, magic, 4);
        }
        l->next_echo_at = now + (uint64_t)l->echo_interval_ms * 1000000ull;
    }
    pthread_mutex_unlock(&l->state_lock);
}

/* One complete, unescaped frame between two flags. */
static void frame_input(ppp_link *l, const uint8_t *f, size_t len) {
    if (len < 4) return; /* an empty frame between back-to-back flags, or line noise */
    if (fcs16(FCS_INIT, f, len) != FCS_GOOD) return; /* line noise, or a frame cut short */
    len -= 2;
    size_t i = 0;
    if (len >= 2 && f[0] == 0xFF && f[1] == 0x03) i = 2; /* address and control, unless compressed */
    if (i >= len) return;
    uint16_t proto = f[i];
    if ((proto & 1) == 0) { /* two-octet protocol field */
        if (i + 1 >= len) return;
        proto = (uint16_t)(proto << 8 | f[i + 1]);
        i += 2;
    } else {
        i += 1;
    }
    const uint8_t *p = f + i;
    size_t plen = len - i;
    if (proto == PROTO_IP) {
        pthread_mutex_lock(&l->state_lock);
        int open = l->ipcp.state == ST_OPENED;
        pthread_mutex_unlock(&l->state_lock);
        if (open) l->api->deliver_frame(l->api, l->handle, p, plen);
        return;
    }
    pthread_mutex_lock(&l->state_lock);
    if (proto == PROTO_LCP || proto == PROTO_IPCP) {
        fsm_input(l, proto, p, plen);
    } else if (l->lcp.state == ST_OPENED) {
        /* Protocol-Reject (RFC 1661 §5.7): IPv6CP, CCP and friends are not spoken here. */
        uint8_t rej[1600];
        size_t n = plen + 2 < sizeof rej ? plen + 2 : sizeof rej;
        rej[0] = (uint8_t)(proto >> 8);
        rej[1] = (uint8_t)proto;
        memcpy(rej + 2, p, n - 2);
        send_control(l, PROTO_LCP, CODE_PROTO_REJ, ++l->lcp.id, rej, n);
    }
    pthread_mutex_unlock(&l->state_lock);
}

static void *reader_main(void *arg) {
    ppp_link *l = arg;
    uint8_t in[65536];
    uint8_t *frame = malloc(PPP_MAX_FRAME + 2);
    size_t flen = 0;
    int escaped = 0, overflow = 0;
    while (!atomic_load(&l->stop)) {
        timers(l);
        struct pollfd p = {.fd = l->fd, .events = POLLIN};
        int r = poll(&p, 1, 50);
        if (r <= 0) continue;
        ssize_t n = read(l->fd, in, sizeof in);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            /* EIO: the other end of a pty closed, or the adapter was unplugged. Keep trying. */
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        for (ssize_t k = 0; k < n; k++) {
            uint8_t b = in[k];
            if (b == HDLC_FLAG) {
                if (!escaped && !overflow) frame_input(l, frame, flen); /* else aborted or too long: dropped */
                flen = 0;
                escaped = overflow = 0;
                continue;
            }
            if (b == HDLC_ESC) { escaped = 1; continue; }
            if (escaped) { b ^= HDLC_XOR; escaped = 0; }
            if (flen < PPP_MAX_FRAME + 2) frame[flen++] = b;
            else overflow = 1;
        }
    }
    free(frame);
    return NULL;
}

/* ---- configuration --------------------------------------------------------- */

static int parse_ipv4(const char *s, uint32_t *out) {
    unsigned a, b, c, d;
    char tail;
    if (s == NULL || sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) < 4) return -1;
    if (a > 255 || b > 255 || c > 255 || d > 255) return -1;
    *out = a << 24 | b << 16 | c << 8 | d;
    return 0;
}

/* "169.254.77.1/30" or "169.254.77.1" */
static int parse_address(const char *s, uint32_t *out) {
    char buf[64];
    if (s == NULL || strlen(s) >= sizeof buf) return -1;
    snprintf(buf, sizeof buf, "%s", s);
    char *slash = strchr(buf, '/');
    if (slash) *slash = '\0';
    return parse_ipv4(buf, out);
}

static int config_uint(const hanet_host_api *api, const hanet_config *config, const char *key, unsigned long long dflt,
                       unsigned long long min, unsigned long long max, unsigned long long *out, const char *dev,
                       char *error, size_t error_size) {
    const char *text = config != NULL ? api->config_get(api, config, key) : NULL;
    *out = dflt;
    if (text == NULL) return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0 || v < min || v > max) {
        snprintf(error, error_size, "ppp-serial: %s: %s = \"%s\": expected an integer from %llu to %llu", dev, key, text, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

static speed_t baud_constant(unsigned long long baud) {
    static const struct { unsigned long long rate; speed_t c; } table[] = {
        {9600, B9600}, {19200, B19200}, {38400, B38400}, {57600, B57600}, {115200, B115200}, {230400, B230400},
        {460800, B460800}, {500000, B500000}, {576000, B576000}, {921600, B921600}, {1000000, B1000000},
        {1152000, B1152000}, {1500000, B1500000}, {2000000, B2000000}, {2500000, B2500000}, {3000000, B3000000},
        {3500000, B3500000}, {4000000, B4000000},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) if (table[i].rate == baud) return table[i].c;
    return 0;
}

/* ---- the link type ----------------------------------------------------------- */

static int ppp_probe(void *state, const hanet_device_info *device) {
    (void)state;
    if (device == NULL || device->subsystem == NULL) return 0;
    if (strcmp(device->subsystem, "tty") == 0) return 100;
    if (strcmp(device->subsystem, "net") == 0 && device->arphrd == ARPHRD_PPP_) return 100;
    return 0;
}

static int ppp_describe(void *state, const hanet_device_info *device, const hanet_config *config,
                        hanet_link_attrs *out, char *error, size_t error_size) {
    const hanet_host_api *api = state;
    const char *dev = device && device->name ? device->name : "?";
    unsigned long long baud;
    if (config_uint(api, config, "baud", PPP_DEFAULT_BAUD, 1, 100000000ull, &baud, dev, error, error_size) != 0)
        return HANET_INVALID;
    out->layer = HANET_LINK_L3;
    out->role = HANET_ROLE_PRIVATE;
    out->flags = HANET_LINK_POINT_TO_POINT | HANET_LINK_NOARP;
    /* A tty has no netdev: the plugin frames PPP itself and the host gives it a TUN. */
    if (device != NULL && device->subsystem != NULL && strcmp(device->subsystem, "tty") == 0) out->flags |= HANET_LINK_FRAME_IO;
    out->arphrd = ARPHRD_PPP_;
    out->header_len = 4; /* address, control, 2-byte protocol */
    out->addr_len = 0;
    out->mtu = PPP_MTU;
    out->speed_bps = baud; /* line rate; async framing costs 2 of every 10 bits */
    return HANET_OK;
}

static int ppp_open(void *state, const hanet_device_info *device, const hanet_config *config,
                    hanet_link_handle *handle, void **out, char *error, size_t error_size) {
    const hanet_host_api *api = state;
    *out = NULL;
    if (device == NULL || device->subsystem == NULL || strcmp(device->subsystem, "tty") != 0) {
        snprintf(error, error_size,
                 "ppp-serial: %s: only tty devices are supported (kernel PPP netdevs through pppd are not built); "
                 "set `device` to the serial line", device && device->name ? device->name : "?");
        return HANET_UNSUPPORTED;
    }
    const char *path = config ? api->config_get(api, config, "device") : NULL;
    if (path == NULL) path = device->name;
    if (path == NULL || path[0] != '/') {
        snprintf(error, error_size, "ppp-serial: device = \"%s\": expected an absolute path such as /dev/ttyS0", path ? path : "");
        return HANET_INVALID;
    }
    unsigned long long baud, restart, echo_ms, echo_fail;
    if (config_uint(api, config, "baud", PPP_DEFAULT_BAUD, 1, 100000000ull, &baud, path, error, error_size) != 0 ||
        config_uint(api, config, "restart_ms", 1000, 10, 60000, &restart, path, error, error_size) != 0 ||
        config_uint(api, config, "echo_interval_ms", 200, 10, 60000, &echo_ms, path, error, error_size) != 0 ||
        config_uint(api, config, "echo_failures", 3, 1, 1000, &echo_fail, path, error, error_size) != 0)
        return HANET_INVALID;
    uint32_t local_ip = 0, peer_ip = 0;
    const char *a = config ? api->config_get(api, config, "address") : NULL;
    const char *p = config ? api->config_get(api, config, "peer_address") : NULL;
    if (a == NULL || parse_address(a, &local_ip) != 0) {
        snprintf(error, error_size, "ppp-serial: %s: address = \"%s\": expected this end's IPv4 address such as \"169.254.77.1/30\" (IPCP needs it)",
                 path, a ? a : "");
        return HANET_INVALID;
    }
    if (p != NULL && parse_address(p, &peer_ip) != 0) {
        snprintf(error, error_size, "ppp-serial: %s: sibling address \"%s\": expected an IPv4 address", path, p);
        return HANET_INVALID;
    }
    const char *ifname = config ? api->config_get(api, config, "interface") : NULL;

    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(error, error_size, "ppp-serial: open %s: %s", path, strerror(errno));
        return HANET_ERROR;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(error, error_size, "ppp-serial: %s is in use by another process (flock: %s)", path, strerror(errno));
        close(fd);
        return HANET_ERROR;
    }
    struct termios t;
    if (tcgetattr(fd, &t) != 0) {
        snprintf(error, error_size, "ppp-serial: %s is not a terminal (tcgetattr: %s)", path, strerror(errno));
        close(fd);
        return HANET_INVALID;
    }
    cfmakeraw(&t);
    t.c_cflag |= CLOCAL | CREAD;
    t.c_cflag &= ~(tcflag_t)CRTSCTS;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    speed_t sp = baud_constant(baud);
    if (sp != 0) { cfsetispeed(&t, sp); cfsetospeed(&t, sp); }
    if (tcsetattr(fd, TCSANOW, &t) != 0) {
        snprintf(error, error_size, "ppp-serial: %s: tcsetattr: %s", path, strerror(errno));
        close(fd);
        return HANET_ERROR;
    }
    if (sp == 0) api->log(api, HANET_LOG_WARNING, "ppp-serial: baud rate is not a standard termios rate; the line keeps its speed");

    ppp_link *l = calloc(1, sizeof *l);
    if (l == NULL) { close(fd); snprintf(error, error_size, "ppp-serial: out of memory"); return HANET_ERROR; }
    l->api = api;
    l->handle = handle;
    l->fd = fd;
    snprintf(l->device, sizeof l->device, "%s", path);
    snprintf(l->interface, sizeof l->interface, "%s", ifname ? ifname : path);
    pthread_mutex_init(&l->write_lock, NULL);
    pthread_mutex_init(&l->state_lock, NULL);
    l->local_ip = local_ip;
    l->peer_ip = peer_ip;
    l->restart_ms = (uint32_t)restart;
    l->echo_interval_ms = (uint32_t)echo_ms;
    l->echo_failures = (uint32_t)echo_fail;
    l->request_accm = l->request_magic = 1;
    l->tx_accm = 0xFFFFFFFFu;
    uint64_t seed = api->monotonic_ns(api) ^ ((uint64_t)(uintptr_t)l << 16) ^ (uint64_t)getpid();
    l->magic = (uint32_t)(seed ^ (seed >> 32)) | 1u; /* never 0: 0 means "no magic number" */
    snprintf(l->last_problem, sizeof l->last_problem, "LCP negotiating (no answer from the sibling yet)");
    pthread_mutex_lock(&l->state_lock);
    l->lcp.state = ST_REQSENT;
    send_conf_req(l, PROTO_LCP);
    pthread_mutex_unlock(&l->state_lock);
    if (pthread_create(&l->reader, NULL, reader_main, l) != 0) {
        snprintf(error, error_size, "ppp-serial: cannot start the reader thread");
        close(fd);
        free(l);
        return HANET_ERROR;
    }
    pthread_mutex_lock(&links_lock);
    l->next = links;
    links = l;
    pthread_mutex_unlock(&links_lock);
    *out = l;
    return HANET_OK;
}

static void ppp_close(void *link) {
    ppp_link *l = link;
    if (l == NULL) return;
    pthread_mutex_lock(&links_lock);
    for (ppp_link **pp = &links; *pp; pp = &(*pp)->next) {
        if (*pp == l) { *pp = l->next; break; }
    }
    pthread_mutex_unlock(&links_lock);
    pthread_mutex_lock(&l->state_lock);
    if (l->lcp.state == ST_OPENED) send_control(l, PROTO_LCP, CODE_TERM_REQ, ++l->lcp.id, NULL, 0);
    pthread_mutex_unlock(&l->state_lock);
    atomic_store(&l->stop, 1);
    pthread_join(l->reader, NULL);
    close(l->fd);
    pthread_mutex_destroy(&l->write_lock);
    pthread_mutex_destroy(&l->state_lock);
    free(l);
}

/* An IP packet from the host's TUN. Anything but IPv4 is not carried (no IPV6CP). */
static int ppp_send_frame(void *link, const uint8_t *frame, size_t length) {
    ppp_link *l = link;
    if (l == NULL || frame == NULL || length == 0) return HANET_INVALID;
    if ((frame[0] >> 4) != 4 || length > PPP_MTU) return HANET_INVALID;
    pthread_mutex_lock(&l->state_lock);
    int open = l->ipcp.state == ST_OPENED;
    uint32_t accm = current_accm(l);
    pthread_mutex_unlock(&l->state_lock);
    if (!open) return HANET_ERROR;
    return send_ppp(l, PROTO_IP, frame, length, accm);
}

static const hanet_link_type ppp_type = {
    .struct_size = sizeof(hanet_link_type),
    .name = "ppp-serial",
    .description = "PPP over a serial line to a sibling, in user space (RFC 1662 async HDLC, LCP, IPCP) with a TUN "
                   "device from the host: L3 point-to-point, no ARP, private by default; speed = `baud` (default 115200)",
    .flags = 0,
    .unavailable_reason = NULL,
    .probe = ppp_probe,
    .describe = ppp_describe,
    .open = ppp_open,
    .close = ppp_close,
    .send_frame = ppp_send_frame,
};

/* ---- the ppp-echo detector --------------------------------------------------- */

typedef struct echo_instance {
    hanet_util_reporter reporter;
    char slave[64];
} echo_instance;

static int echo_create(void *state, const hanet_detector_context *ctx, void **instance, char *error, size_t error_size) {
    (void)state;
    if (hanet_ps_check_slave("ppp-echo", ctx->slave, sizeof(((echo_instance *)0)->slave), error, error_size) != HANET_OK)
        return HANET_INVALID;
    pthread_mutex_lock(&links_lock);
    int found = 0;
    for (ppp_link *l = links; l; l = l->next) if (strcmp(l->interface, ctx->slave) == 0) found = 1;
    pthread_mutex_unlock(&links_lock);
    if (!found) {
        snprintf(error, error_size, "ppp-echo: %s is not an open ppp-serial link (the detector reads the link's LCP state)", ctx->slave);
        return HANET_INVALID;
    }
    echo_instance *e = calloc(1, sizeof *e);
    if (e == NULL) return HANET_ERROR;
    hanet_util_reporter_init(&e->reporter, ctx);
    snprintf(e->slave, sizeof e->slave, "%s", ctx->slave);
    *instance = e;
    return HANET_OK;
}

static void echo_destroy(void *instance) { free(instance); }

static void echo_poll(void *instance) {
    echo_instance *e = instance;
    int health = HANET_HEALTH_BAD;
    char reason[200];
    uint64_t sent = 0, replies = 0, last = 0;
    pthread_mutex_lock(&links_lock);
    ppp_link *l = links;
    while (l && strcmp(l->interface, e->slave) != 0) l = l->next;
    if (l == NULL) {
        snprintf(reason, sizeof reason, "link closed");
    } else {
        pthread_mutex_lock(&l->state_lock);
        sent = l->echo_sent;
        replies = l->echo_replies;
        last = l->last_reply_ns;
        if (l->lcp.state != ST_OPENED) {
            snprintf(reason, sizeof reason, "LCP %s: %s", state_names[l->lcp.state], l->last_problem);
        } else if (l->ipcp.state != ST_OPENED) {
            snprintf(reason, sizeof reason, "IPCP %s%s%s", state_names[l->ipcp.state], l->last_problem[0] ? ": " : "", l->last_problem);
        } else if (l->echo_outstanding >= 2) {
            snprintf(reason, sizeof reason, "%u LCP Echo-Requests unanswered", l->echo_outstanding);
        } else {
            health = HANET_HEALTH_GOOD;
            snprintf(reason, sizeof reason, "LCP and IPCP open, echo answered");
        }
        pthread_mutex_unlock(&l->state_lock);
    }
    pthread_mutex_unlock(&links_lock);
    hanet_util_report_counters(e->reporter.api, e->reporter.handle, sent, replies, last);
    hanet_util_report(&e->reporter, health, "%s", reason);
}

static const hanet_detector_type echo_type = {
    .struct_size = sizeof(hanet_detector_type),
    .name = "ppp-echo",
    .description = "ppp-serial slaves: GOOD while LCP and IPCP are open and LCP Echo-Requests are answered",
    .flags = HANET_DETECTOR_THREAD_SAFE,
    .unavailable_reason = NULL,
    .default_interval_ms = 50,
    .create = echo_create,
    .destroy = echo_destroy,
    .poll = echo_poll,
    .link_event = NULL,
};

static int ppp_init(const hanet_host_api *api, void **state, char *error, size_t error_size) {
    pthread_once(&fcstab_once, fcstab_init);
    *state = (void *)api; /* describe and open read the configuration through config_get */
    if (hanet_util_register_link_type(api, &ppp_type, error, error_size) != HANET_OK) return HANET_ERROR;
    return hanet_util_register_detector(api, &echo_type, error, error_size);
}

HANET_UTIL_PLUGIN("ppp-serial", "1.0.0", 0,
                "ppp-serial link type (PPP over a serial line to a sibling, in user space) and the ppp-echo detector",
                ppp_init)
