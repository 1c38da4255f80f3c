/*
 * hanet/plugin-util.h — header-only helpers for writing HANet plugins in C.
 *
 * Everything here is built on hanet/plugin.h alone: static inline functions
 * and macros, no library to link, nothing exported. It covers what nearly
 * every detector needs:
 *
 *   - the descriptor and the entry symbol, with the required ABI minor
 *     stated (HANET_UTIL_PLUGIN, HANET_UTIL_DETECTOR_PLUGIN, ...);
 *   - registration with an error message (hanet_util_register_*);
 *   - reporting only changes (hanet_util_reporter, hanet_util_report);
 *   - reading configuration: integers, milliseconds, booleans, strings and
 *     lists (hanet_util_config_*), with errors that name the key, the value
 *     and what was expected.
 *
 * Every helper works on any 1.x host: services of later minors are used only
 * when HANET_HOST_API_HAS says the host has them, so a plugin using only
 * these helpers can require minor 0.
 *
 * Configuration readers return 1 when KEY is set and valid (stored in *out),
 * 0 when it is not set (*out left alone: set the default first), and -1 when
 * it is invalid, with "PLUGIN on SLAVE: KEY = VALUE: expected ..." in `error`
 * ("PLUGIN: ..." when SLAVE is NULL).
 */
#ifndef HANET_PLUGIN_UTIL_H
#define HANET_PLUGIN_UTIL_H

#include <hanet/plugin.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HANET_UTIL_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define HANET_UTIL_PRINTF(fmt, args)
#endif

/* ---- the descriptor and registration ----------------------------------- */

/**
 * Defines the plugin's descriptor and its one exported symbol. REQUIRES_MINOR
 * is the oldest host minor the plugin needs (see HANET_PLUGIN_DESCRIPTOR_HEADER_REQUIRING);
 * INIT_ is its init function.
 */
#define HANET_UTIL_PLUGIN(id_, version_, requires_minor_, description_, init_)                         \
    _Static_assert((requires_minor_) >= 0 && (requires_minor_) <= HANET_PLUGIN_ABI_MINOR,              \
                   "a plugin cannot require a minor newer than the header it is built with");          \
    static const hanet_plugin_descriptor hanet_util_descriptor = {                                     \
        HANET_PLUGIN_DESCRIPTOR_HEADER_REQUIRING(requires_minor_),                                     \
        .id = id_,                                                                                     \
        .version = version_,                                                                           \
        .description = description_,                                                                   \
        .init = init_,                                                                                 \
    };                                                                                                 \
    HANET_PLUGIN_EXPORT const hanet_plugin_descriptor *HANET_PLUGIN_ENTRY(void);                       \
    HANET_PLUGIN_EXPORT const hanet_plugin_descriptor *HANET_PLUGIN_ENTRY(void) { return &hanet_util_descriptor; }

/** Registers TYPE; on failure writes `could not register detector "NAME"` and returns HANET_ERROR. */
static inline int hanet_util_register_detector(const hanet_host_api *api, const hanet_detector_type *type, char *error,
                                               size_t error_size) {
    if (api->register_detector(api, type) != HANET_OK) {
        snprintf(error, error_size, "could not register detector \"%s\"", type->name);
        return HANET_ERROR;
    }
    return HANET_OK;
}

/** Registers TYPE; on failure writes `could not register link type "NAME"` and returns HANET_ERROR. */
static inline int hanet_util_register_link_type(const hanet_host_api *api, const hanet_link_type *type, char *error,
                                                size_t error_size) {
    if (api->register_link_type(api, type) != HANET_OK) {
        snprintf(error, error_size, "could not register link type \"%s\"", type->name);
        return HANET_ERROR;
    }
    return HANET_OK;
}

/** A plugin that registers one detector (TYPE_, a static hanet_detector_type) and keeps no state. */
#define HANET_UTIL_DETECTOR_PLUGIN(id_, version_, requires_minor_, type_, description_)                 \
    static int hanet_util_plugin_init(const hanet_host_api *api, void **state, char *error, size_t error_size) { \
        *state = NULL;                                                                                 \
        return hanet_util_register_detector(api, &(type_), error, error_size);                         \
    }                                                                                                  \
    HANET_UTIL_PLUGIN(id_, version_, requires_minor_, description_, hanet_util_plugin_init)

/** A plugin that registers one link type (TYPE_, a static hanet_link_type) and keeps no state. */
#define HANET_UTIL_LINK_TYPE_PLUGIN(id_, version_, requires_minor_, type_, description_)                \
    static int hanet_util_plugin_init(const hanet_host_api *api, void **state, char *error, size_t error_size) { \
        *state = NULL;                                                                                 \
        return hanet_util_register_link_type(api, &(type_), error, error_size);                        \
    }                                                                                                  \
    HANET_UTIL_PLUGIN(id_, version_, requires_minor_, description_, hanet_util_plugin_init)

/* ---- reporting --------------------------------------------------------- */

/** Reports only changes: the host keeps the last verdict, and a flood of equal ones costs it for nothing. */
typedef struct hanet_util_reporter {
    const hanet_host_api *api;
    hanet_instance_handle *handle;
    int last_health; /* HANET_HEALTH_*, -1 before the first report */
    char last_reason[256];
} hanet_util_reporter;

/** Prepares R for the instance CTX describes; call in `create`. */
static inline void hanet_util_reporter_init(hanet_util_reporter *r, const hanet_detector_context *ctx) {
    r->api = ctx->api;
    r->handle = ctx->handle;
    r->last_health = -1;
    r->last_reason[0] = '\0';
}

/**
 * Reports HEALTH with the reason formatted from FORMAT when either differs
 * from the last report; returns 1 when it reported, 0 otherwise. Reasons are
 * compared up to 255 bytes.
 */
static inline HANET_UTIL_PRINTF(3, 4) int hanet_util_report(hanet_util_reporter *r, int health, const char *format, ...) {
    char reason[256];
    va_list ap;
    va_start(ap, format);
    vsnprintf(reason, sizeof reason, format, ap);
    va_end(ap);
    if (health == r->last_health && strcmp(reason, r->last_reason) == 0) return 0;
    r->last_health = health;
    memcpy(r->last_reason, reason, sizeof reason);
    r->api->report(r->api, r->handle, health, reason);
    return 1;
}

/** report_counters (ABI 1.1) when the host has it; nothing on a 1.0 host. */
static inline void hanet_util_report_counters(const hanet_host_api *api, hanet_instance_handle *handle, uint64_t sent,
                                              uint64_t replies, uint64_t last_reply_ns) {
    if (HANET_HOST_API_HAS(api, report_counters)) api->report_counters(api, handle, sent, replies, last_reply_ns);
}

/* ---- configuration ----------------------------------------------------- */

/** Writes "PLUGIN on SLAVE: KEY = VALUE: expected WHAT" (or "PLUGIN: ..." without a slave); returns -1. */
static inline int hanet_util_config_error(char *error, size_t error_size, const char *plugin, const char *slave,
                                          const char *key, const char *value, const char *what) {
    if (slave != NULL)
        snprintf(error, error_size, "%s on %s: %s = %s: expected %s", plugin, slave, key, value, what);
    else
        snprintf(error, error_size, "%s: %s = %s: expected %s", plugin, key, value, what);
    return -1;
}

/** TEXT as a whole decimal number from LO to HI followed by SUFFIX (may be ""); 0 on success. */
static inline int hanet_util_parse_ll(const char *text, long long lo, long long hi, const char *suffix, long long *out) {
    if (text == NULL || text[0] == '\0' || text[0] == ' ') return -1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || errno != 0 || strcmp(end, suffix) != 0 || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/** Configuration KEY as a whole number from LO to HI. */
static inline int hanet_util_config_int(const hanet_host_api *api, const hanet_config *config, const char *key, int lo,
                                        int hi, int *out, const char *plugin, const char *slave, char *error,
                                        size_t error_size) {
    const char *v = config != NULL ? api->config_get(api, config, key) : NULL;
    if (v == NULL) return 0;
    long long n;
    if (hanet_util_parse_ll(v, lo, hi, "", &n) != 0) {
        char what[96];
        snprintf(what, sizeof what, "a whole number from %d to %d", lo, hi);
        return hanet_util_config_error(error, error_size, plugin, slave, key, v, what);
    }
    *out = (int)n;
    return 1;
}

/**
 * Configuration KEY as a duration in milliseconds from LO_MS to HI_MS: a
 * whole number of milliseconds (250, "250ms") or of seconds ("2s").
 */
static inline int hanet_util_config_ms(const hanet_host_api *api, const hanet_config *config, const char *key,
                                       uint32_t lo_ms, uint32_t hi_ms, uint32_t *out, const char *plugin,
                                       const char *slave, char *error, size_t error_size) {
    const char *v = config != NULL ? api->config_get(api, config, key) : NULL;
    if (v == NULL) return 0;
    long long n;
    if (hanet_util_parse_ll(v, lo_ms, hi_ms, "", &n) == 0 || hanet_util_parse_ll(v, lo_ms, hi_ms, "ms", &n) == 0) {
        *out = (uint32_t)n;
        return 1;
    }
    if (hanet_util_parse_ll(v, 0, 4294967, "s", &n) == 0 && n * 1000 >= lo_ms && n * 1000 <= hi_ms) {
        *out = (uint32_t)(n * 1000);
        return 1;
    }
    char what[128];
    snprintf(what, sizeof what, "a duration from %u to %u ms (250, \"250ms\" or \"2s\")", (unsigned)lo_ms, (unsigned)hi_ms);
    return hanet_util_config_error(error, error_size, plugin, slave, key, v, what);
}

/** Configuration KEY as a boolean: true/false (also yes/no, on/off, 1/0), stored as 1 or 0. */
static inline int hanet_util_config_bool(const hanet_host_api *api, const hanet_config *config, const char *key,
                                         int *out, const char *plugin, const char *slave, char *error,
                                         size_t error_size) {
    const char *v = config != NULL ? api->config_get(api, config, key) : NULL;
    if (v == NULL) return 0;
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(v, yes[i]) == 0) { *out = 1; return 1; }
        if (strcmp(v, no[i]) == 0) { *out = 0; return 1; }
    }
    return hanet_util_config_error(error, error_size, plugin, slave, key, v, "true or false");
}

/** Configuration KEY as a string copied into BUF of SIZE bytes; too long is invalid. */
static inline int hanet_util_config_string(const hanet_host_api *api, const hanet_config *config, const char *key,
                                           char *buf, size_t size, const char *plugin, const char *slave, char *error,
                                           size_t error_size) {
    const char *v = config != NULL ? api->config_get(api, config, key) : NULL;
    if (v == NULL) return 0;
    if (strlen(v) >= size) {
        char what[64];
        snprintf(what, sizeof what, "at most %zu bytes", size - 1);
        return hanet_util_config_error(error, error_size, plugin, slave, key, v, what);
    }
    memcpy(buf, v, strlen(v) + 1);
    return 1;
}

/**
 * How many values KEY holds: 0 unset, 1 for a scalar, the element count of an
 * array. On a host older than 1.2 the count is read from config_get's joined
 * text, where an element containing a comma counts as several.
 */
static inline size_t hanet_util_config_count(const hanet_host_api *api, const hanet_config *config, const char *key) {
    if (config == NULL) return 0;
    if (HANET_HOST_API_HAS(api, config_count)) return api->config_count(api, config, key);
    const char *v = api->config_get(api, config, key);
    if (v == NULL || v[0] == '\0') return 0;
    size_t n = 1;
    for (const char *p = v; *p != '\0'; p++) n += *p == ',';
    return n;
}

/**
 * Element INDEX of KEY copied into BUF of SIZE bytes: 1 when copied, 0 when
 * there is no such element, -1 when it does not fit. Works on any host (see
 * hanet_util_config_count for hosts older than 1.2).
 */
static inline int hanet_util_config_item(const hanet_host_api *api, const hanet_config *config, const char *key,
                                         size_t index, char *buf, size_t size) {
    if (config == NULL || size == 0) return 0;
    const char *start;
    size_t len;
    if (HANET_HOST_API_HAS(api, config_get_at)) {
        start = api->config_get_at(api, config, key, index);
        if (start == NULL) return 0;
        len = strlen(start);
    } else {
        const char *v = api->config_get(api, config, key);
        if (v == NULL || v[0] == '\0') return 0;
        start = v;
        for (size_t i = 0; i < index; i++) {
            start = strchr(start, ',');
            if (start == NULL) return 0;
            start++;
        }
        len = strcspn(start, ",");
    }
    if (len >= size) return -1;
    memcpy(buf, start, len);
    buf[len] = '\0';
    return 1;
}

#ifdef __cplusplus
}
#endif

#endif /* HANET_PLUGIN_UTIL_H */
