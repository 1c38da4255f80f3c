/*
 * carrier — the MII-monitor equivalent: a slave is GOOD while the kernel says
 * it is up and has carrier (IFF_UP and IFF_LOWER_UP), BAD otherwise.
 *
 * It is event-driven: the host forwards every netlink link notification for
 * the slave, which arrives within a fraction of a millisecond of the carrier
 * change, so no polling is needed. When an interval is configured, `poll`
 * re-reads sysfs as a confirmation (a lost notification cannot leave a stale
 * verdict forever). Only changes are reported: the host's tracker keeps the
 * last verdict, and a netlink storm (MTU, address changes) must not flood it.
 */
#include <hanet/plugin-util.h>
#include <hanet_plugin_support.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IFF_UP_ 0x1u
#define IFF_LOWER_UP_ 0x10000u

typedef struct carrier_instance {
    hanet_util_reporter reporter;
    char slave[64];
} carrier_instance;

static const char *operstate_name(uint32_t operstate) {
    /* IF_OPER_* from RFC 2863 as numbered in <linux/if.h> */
    static const char *const names[] = {"unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"};
    return operstate < sizeof names / sizeof names[0] ? names[operstate] : "unknown";
}

static void verdict(carrier_instance *c, int health, const char *reason) {
    hanet_util_report(&c->reporter, health, "%s", reason);
}

/* The verdict for a slave that is UP (IFF_UP) or not, with carrier (LOWER_UP) or not, in operstate OPER. */
static void judge(carrier_instance *c, int up, int lower_up, const char *oper) {
    char reason[128];
    if (!up) {
        snprintf(reason, sizeof reason, "interface down (operstate %s)", oper);
        verdict(c, HANET_HEALTH_BAD, reason);
    } else if (!lower_up) {
        snprintf(reason, sizeof reason, "carrier lost (operstate %s)", oper);
        verdict(c, HANET_HEALTH_BAD, reason);
    } else {
        verdict(c, HANET_HEALTH_GOOD, "carrier up");
    }
}

/* The verdict sysfs gives now: used at create and on poll. */
static void check_sysfs(carrier_instance *c) {
    char flags_text[32], oper[32], carrier[8];
    if (hanet_ps_sysfs_read_text(c->slave, "flags", flags_text, sizeof flags_text) != 0) {
        char reason[128];
        snprintf(reason, sizeof reason, "interface %s not found", c->slave);
        verdict(c, HANET_HEALTH_BAD, reason);
        return;
    }
    if (hanet_ps_sysfs_read_text(c->slave, "operstate", oper, sizeof oper) != 0) snprintf(oper, sizeof oper, "unknown");
    int up = (strtoul(flags_text, NULL, 0) & IFF_UP_) != 0;
    /* `carrier` of an interface that is administratively down fails with EINVAL */
    int lower_up = up && hanet_ps_sysfs_read_text(c->slave, "carrier", carrier, sizeof carrier) == 0 &&
                   strcmp(carrier, "1") == 0;
    judge(c, up, lower_up, oper);
}

static int carrier_create(void *state, const hanet_detector_context *ctx, void **instance,
                          char *error, size_t error_size) {
    (void)state;
    if (hanet_ps_check_slave("carrier", ctx->slave, sizeof(((carrier_instance *)0)->slave), error, error_size) != HANET_OK)
        return HANET_INVALID;
    carrier_instance *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(error, error_size, "carrier: out of memory");
        return HANET_ERROR;
    }
    hanet_util_reporter_init(&c->reporter, ctx);
    snprintf(c->slave, sizeof c->slave, "%s", ctx->slave);
    check_sysfs(c); /* the slave gets a verdict now, not at the next netlink event */
    *instance = c;
    return HANET_OK;
}

static void carrier_destroy(void *instance) { free(instance); }

static void carrier_poll(void *instance) { check_sysfs(instance); }

static void carrier_link_event(void *instance, const hanet_link_event *event) {
    judge(instance, (event->flags & IFF_UP_) != 0, (event->flags & IFF_LOWER_UP_) != 0, operstate_name(event->operstate));
}

static const hanet_detector_type carrier_type = {
    .struct_size = sizeof(hanet_detector_type),
    .name = "carrier",
    .description = "GOOD while the slave is up with carrier (IFF_UP and IFF_LOWER_UP) from netlink events; "
                   "a configured interval re-reads /sys/class/net/NAME/carrier as confirmation",
    .flags = 0,
    .unavailable_reason = NULL,
    .default_interval_ms = 0,
    .create = carrier_create,
    .destroy = carrier_destroy,
    .poll = carrier_poll,
    .link_event = carrier_link_event,
};

HANET_UTIL_DETECTOR_PLUGIN("carrier", "1.0.0", 0, carrier_type,
                         "carrier detector (link up and carrier, from netlink events)")
