/*
 * file-flag — a HANet fault detector written outside the HANet source tree.
 *
 * A slave is BAD while a flag file exists, GOOD otherwise: an operator or a
 * monitoring system takes a link out of service with `touch` and puts it
 * back with `rm`. hanet/plugin-util.h provides the descriptor, reporting
 * only changes and reading the configuration; what is left is the detector.
 *
 * Configuration (hanet.toml):
 *   [detector.file-flag]
 *   path = "/run/hanet/fault-eth0"   # default: /run/hanet/fault-<slave>
 *   interval_ms = 100                # default: 100
 */
#define _POSIX_C_SOURCE 200809L /* stat() under -std=c11 */
#include <hanet/plugin-util.h>

#include <sys/stat.h>

typedef struct file_flag {
    hanet_util_reporter reporter;
    char path[4096];
} file_flag;

static void check(file_flag *f) {
    struct stat st;
    if (stat(f->path, &st) == 0)
        hanet_util_report(&f->reporter, HANET_HEALTH_BAD, "fault flag %s exists", f->path);
    else
        hanet_util_report(&f->reporter, HANET_HEALTH_GOOD, "no fault flag (%s absent)", f->path);
}

static int file_flag_create(void *plugin_state, const hanet_detector_context *ctx, void **instance, char *error,
                            size_t error_size) {
    (void)plugin_state;
    file_flag *f = calloc(1, sizeof *f);
    if (f == NULL) {
        snprintf(error, error_size, "file-flag: out of memory");
        return HANET_ERROR;
    }
    hanet_util_reporter_init(&f->reporter, ctx);
    snprintf(f->path, sizeof f->path, "/run/hanet/fault-%.64s", ctx->slave);
    if (hanet_util_config_string(ctx->api, ctx->config, "path", f->path, sizeof f->path, "file-flag", ctx->slave, error,
                                 error_size) < 0 ||
        (f->path[0] != '/' && hanet_util_config_error(error, error_size, "file-flag", ctx->slave, "path", f->path,
                                                      "an absolute file path") < 0)) {
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
    .default_interval_ms = 100,
    .create = file_flag_create,
    .destroy = file_flag_destroy,
    .poll = file_flag_poll,
};

/* Requires ABI minor 0: it runs on every 1.x host. */
HANET_UTIL_DETECTOR_PLUGIN("file-flag", "1.0.0", 0, file_flag_type,
                           "file-flag detector: take a link out of service by creating a file")
