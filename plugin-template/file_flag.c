/*
 * file-flag — a HANet fault detector written outside the HANet source tree.
 *
 * A slave is BAD while a flag file exists, GOOD otherwise. That is a real,
 * useful detector (an operator or a monitoring system can take a link out of
 * service by touching a file, and put it back by removing it), and small
 * enough to show every part of the plugin ABI a detector needs:
 *
 *   - one exported entry symbol returning a constant descriptor;
 *   - init registering a detector type through the host's table;
 *   - create reading its configuration (`path`) and reporting an initial verdict;
 *   - poll checking the file every interval and reporting only changes;
 *   - destroy freeing the instance.
 *
 * Configuration (hanet.toml):
 *   [detector.file-flag]
 *   path = "/run/hanet/fault-eth0"   # default: /run/hanet/fault-<slave>
 *   interval_ms = 100                # default: 100
 */
#define _POSIX_C_SOURCE 200809L /* stat() under -std=c11 */
#include <hanet/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct file_flag {
    const hanet_host_api *api;
    hanet_instance_handle *handle;
    char path[4096];
    int last; /* HANET_HEALTH_* last reported */
} file_flag;

static void check(file_flag *f) {
    struct stat st;
    int present = stat(f->path, &st) == 0;
    int health = present ? HANET_HEALTH_BAD : HANET_HEALTH_GOOD;
    if (health == f->last) return; /* report changes only: the host keeps the last verdict */
    f->last = health;
    char reason[4200];
    snprintf(reason, sizeof reason, present ? "fault flag %s exists" : "no fault flag (%s absent)", f->path);
    f->api->report(f->api, f->handle, health, reason);
}

static int file_flag_create(void *plugin_state, const hanet_detector_context *ctx, void **instance,
                            char *error, size_t error_size) {
    (void)plugin_state;
    file_flag *f = calloc(1, sizeof *f);
    if (f == NULL) {
        snprintf(error, error_size, "file-flag: out of memory");
        return HANET_ERROR;
    }
    f->api = ctx->api;
    f->handle = ctx->handle;
    f->last = HANET_HEALTH_UNKNOWN;
    const char *path = ctx->api->config_get(ctx->api, ctx->config, "path");
    int n = path != NULL ? snprintf(f->path, sizeof f->path, "%s", path)
                         : snprintf(f->path, sizeof f->path, "/run/hanet/fault-%s", ctx->slave);
    if (n <= 0 || (size_t)n >= sizeof f->path || f->path[0] != '/') {
        snprintf(error, error_size, "file-flag on %s: path = \"%s\": expected an absolute file path shorter than %zu bytes",
                 ctx->slave, path ? path : f->path, sizeof f->path);
        free(f);
        return HANET_INVALID;
    }
    check(f); /* the slave has a verdict before the first poll */
    *instance = f;
    return HANET_OK;
}

static void file_flag_destroy(void *instance) { free(instance); }

static void file_flag_poll(void *instance) { check(instance); }

static const hanet_detector_type file_flag_type = {
    .struct_size = sizeof(hanet_detector_type),
    .name = "file-flag",
    .description = "BAD while the file named by `path` (default /run/hanet/fault-<slave>) exists, else GOOD",
    .flags = 0,
    .unavailable_reason = NULL,
    .default_interval_ms = 100,
    .create = file_flag_create,
    .destroy = file_flag_destroy,
    .poll = file_flag_poll,
    .link_event = NULL,
};

static int file_flag_init(const hanet_host_api *api, void **plugin_state, char *error, size_t error_size) {
    *plugin_state = NULL;
    /* Only ABI 1.0 services are used, which every 1.x host has; a plugin using a
     * service added in a later minor must check api->struct_size first. */
    if (api->register_detector(api, &file_flag_type) != HANET_OK) {
        snprintf(error, error_size, "could not register detector \"file-flag\"");
        return HANET_ERROR;
    }
    api->log(api, HANET_LOG_DEBUG, "file-flag detector registered");
    return HANET_OK;
}

static const hanet_plugin_descriptor descriptor = {
    HANET_PLUGIN_DESCRIPTOR_HEADER,
    .id = "file-flag",
    .version = "1.0.0",
    .description = "file-flag detector: take a link out of service by creating a file",
    .init = file_flag_init,
};

HANET_PLUGIN_EXPORT const hanet_plugin_descriptor *HANET_PLUGIN_ENTRY(void) { return &descriptor; }
