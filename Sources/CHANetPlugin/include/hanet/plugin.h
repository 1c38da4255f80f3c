/*
 * hanet/plugin.h — the whole contract between the HANet host and its plugins.
 *
 * A plugin is a shared object in the plugins directory. It exports exactly one
 * symbol, HANET_PLUGIN_ENTRY (its name carries the ABI major version), which
 * returns a pointer to a constant `hanet_plugin_descriptor`. The plugin never
 * links against host symbols: everything it may ask of the host is in the
 * `hanet_host_api` table handed to `init`.
 *
 * Versioning (the rule GStreamer and SQLite's extension API use):
 *   - ABI major: must equal the host's. A different major changes the entry
 *     symbol's name, so an old host cannot even find a new plugin's entry.
 *   - ABI minor: the descriptor states the minor the plugin REQUIRES, the
 *     oldest host whose services it calls without checking. The host loads
 *     any plugin whose required minor is <= its own, so a plugin built against
 *     this header that needs only 1.0 services says 0 and runs on every 1.x
 *     host. Services of later minors are then used only after
 *     HANET_HOST_API_HAS (below) says the host has them. Minors only append.
 *   - Every struct starts with `struct_size`. Structs are append-only; the
 *     host copies min(struct_size, what it knows) bytes, and refuses a
 *     struct_size larger than any it knows for the plugin's declared minor
 *     (a plugin that claims fields the host cannot see is refused, not
 *     half-understood). Host tables handed to plugins carry struct_size too:
 *     a plugin must check it before touching a field added in a later minor.
 *
 * Threading rules:
 *   - `init`, `probe`, `describe`, `open`, `close`, detector `create` and
 *     `destroy` are called from the host's control thread, one at a time.
 *   - Calls into one detector instance (`poll`, `link_event`, `destroy`) are
 *     serialized by the host unless the detector type sets
 *     HANET_DETECTOR_THREAD_SAFE. Different instances may be called
 *     concurrently from different threads.
 *   - Host services (`log`, `report`, `monotonic_ns`, `config_get`,
 *     `deliver_frame`) may be called from any thread, including threads the
 *     plugin made. `report` and `deliver_frame` only enqueue; they never call
 *     back into the plugin, so they are safe to call from inside a callback.
 *   - A callback must not block: `poll` runs on a shared scheduler and has
 *     HANET_POLL_BUDGET_MS to return. A detector that must wait (for a reply,
 *     a timeout) sends in `poll` and reports later from its own thread or
 *     from a later `poll`.
 *   - Plugins are never unloaded (the host never dlclose()s). A disabled
 *     plugin's instances are destroyed; its code stays mapped.
 *
 * Strings passed by the host are valid for the duration of the call unless
 * documented otherwise; copy what you keep. Strings a plugin hands the host
 * in descriptors and type structs must stay valid forever (string literals).
 */
#ifndef HANET_PLUGIN_H
#define HANET_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HANET_PLUGIN_ABI_MAJOR 1
/*
 * The minors and what each appended (all to hanet_host_api; the structs a
 * plugin hands the host have kept their 1.0 layout):
 *   1.1 report_counters
 *   1.2 config_count, config_get_at
 */
#define HANET_PLUGIN_ABI_MINOR 2

#define HANET_PLUGIN_ENTRY_NAME_(major) hanet_plugin_entry_v##major
#define HANET_PLUGIN_ENTRY_NAME(major) HANET_PLUGIN_ENTRY_NAME_(major)
/** The one exported symbol: `const hanet_plugin_descriptor *hanet_plugin_entry_v1(void)`. */
#define HANET_PLUGIN_ENTRY HANET_PLUGIN_ENTRY_NAME(HANET_PLUGIN_ABI_MAJOR)
#define HANET_PLUGIN_STRINGIFY_(x) #x
#define HANET_PLUGIN_STRINGIFY(x) HANET_PLUGIN_STRINGIFY_(x)
/** The entry's name as a string, for dlsym: "hanet_plugin_entry_v1". */
#define HANET_PLUGIN_ENTRY_SYMBOL HANET_PLUGIN_STRINGIFY(HANET_PLUGIN_ENTRY)

/**
 * How long one `poll` call may take, in milliseconds. `poll` runs on a
 * scheduler thread shared by every instance, so a slow poll delays all the
 * others. The host times every call; one that takes longer is counted
 * against the instance and logged (at most once a minute per instance, with
 * the count and the longest since the last line), and `hanet plugins try`
 * prints each one. Work that may take longer (a TCP connect, a DNS lookup)
 * is started non-blocking in one poll and finished in a later one.
 */
#define HANET_POLL_BUDGET_MS 5

#if defined(__GNUC__)
#define HANET_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define HANET_PLUGIN_EXPORT
#endif

/* ---- common values ---------------------------------------------------- */

enum hanet_status {
    HANET_OK = 0,
    HANET_ERROR = -1,        /* generic failure; see the error text */
    HANET_UNSUPPORTED = -2,  /* this plugin cannot do that (yet / here) */
    HANET_INVALID = -3,      /* bad configuration or argument */
};

enum hanet_log_level {
    HANET_LOG_DEBUG = 0,
    HANET_LOG_INFO = 1,
    HANET_LOG_WARNING = 2,
    HANET_LOG_ERROR = 3,
};

enum hanet_health {
    HANET_HEALTH_UNKNOWN = 0, /* no verdict yet (e.g. during init_wait) */
    HANET_HEALTH_GOOD = 1,
    HANET_HEALTH_BAD = 2,
};

enum hanet_link_layer {
    HANET_LINK_L2 = 2, /* frames carry an Ethernet-like header; ARP works */
    HANET_LINK_L3 = 3, /* point-to-point, IP packets only, no ARP */
};

enum hanet_link_role {
    HANET_ROLE_PUBLIC = 0,  /* on the LAN that clients reach */
    HANET_ROLE_PRIVATE = 1, /* a link to a sibling server */
};

/* hanet_link_attrs.flags */
#define HANET_LINK_POINT_TO_POINT 0x1u /* IFF_POINTOPOINT semantics */
#define HANET_LINK_NOARP 0x2u          /* the master must set IFF_NOARP */
#define HANET_LINK_FRAME_IO 0x4u       /* no kernel netdev: the plugin moves frames itself */

/* hanet_link_type.flags and hanet_detector_type.flags */
#define HANET_TYPE_UNAVAILABLE 0x1u /* registered and described, but refuses to open; `unavailable_reason` says why */

/* hanet_detector_type.flags */
#define HANET_DETECTOR_THREAD_SAFE 0x100u /* the host may call one instance from several threads */
#define HANET_DETECTOR_NEEDS_L2 0x200u    /* only meaningful on L2 slaves (e.g. ARP) */

/* ---- opaque handles ---------------------------------------------------- */

/** A configuration section: the plugin's `[detector.NAME]` merged with a link's overrides. */
typedef struct hanet_config hanet_config;
/** The host's handle for one detector instance; pass it to `report`. */
typedef struct hanet_instance_handle hanet_instance_handle;
/** The host's handle for one opened link; pass it to `deliver_frame`. */
typedef struct hanet_link_handle hanet_link_handle;

/* ---- what the host tells plugins about devices ------------------------- */

/** A device the host asks a link type about (from netlink and udev). */
typedef struct hanet_device_info {
    uint32_t struct_size;
    const char *name;        /* "eth0", or "ttyUSB0" for a tty */
    const char *subsystem;   /* "net" or "tty" */
    int32_t ifindex;         /* 0 when not a netdev */
    uint32_t arphrd;         /* ARPHRD_* for netdevs, 0 otherwise */
    const char *driver;      /* kernel driver name or "" */
    const char *devpath;     /* sysfs path or "" */
    /** NULL-terminated array of "KEY=VALUE" udev properties (may be empty, never NULL). */
    const char *const *properties;
} hanet_device_info;

/** What a link type says about one device it claimed. */
typedef struct hanet_link_attrs {
    uint32_t struct_size;
    uint32_t layer;       /* enum hanet_link_layer */
    uint32_t role;        /* enum hanet_link_role: the default when config says nothing */
    uint32_t flags;       /* HANET_LINK_* */
    uint32_t arphrd;      /* ARPHRD_* the master should present */
    uint32_t header_len;  /* link-layer header bytes (14 for Ethernet, 4 for PPP, ...) */
    uint32_t addr_len;    /* link-layer address bytes (6, 0, ...) */
    uint32_t mtu;         /* 0 = take the netdev's */
    uint64_t speed_bps;   /* 0 = unknown */
} hanet_link_attrs;

typedef struct hanet_link_event {
    uint32_t struct_size;
    int32_t ifindex;
    const char *name;
    uint32_t flags;        /* IFF_* from the kernel, including IFF_LOWER_UP and IFF_RUNNING */
    uint32_t operstate;    /* IF_OPER_* */
    uint64_t timestamp_ns; /* monotonic, when the host read the notification */
} hanet_link_event;

/* ---- the host's services ----------------------------------------------- */

typedef struct hanet_host_api hanet_host_api;
typedef struct hanet_link_type hanet_link_type;
typedef struct hanet_detector_type hanet_detector_type;

struct hanet_host_api {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    void *host; /* the host's context; pass `api` back, never touch this */

    void (*log)(const hanet_host_api *api, int level, const char *message);
    /** Register a link type. `type` must stay valid forever. Returns HANET_OK or an error. */
    int (*register_link_type)(const hanet_host_api *api, const hanet_link_type *type);
    /** Register a detector type. `type` must stay valid forever. */
    int (*register_detector)(const hanet_host_api *api, const hanet_detector_type *type);
    /** A detector's verdict. Any thread; only enqueues. `reason` is copied. */
    void (*report)(const hanet_host_api *api, hanet_instance_handle *instance, int health, const char *reason);
    /**
     * A configuration value as text, or NULL when `key` is not set.
     * Lifetime: the string belongs to the host and stays valid, unchanged, as
     * long as `config` does: for a detector until its `destroy` returns, for a
     * link from `open` until `close` returns, for `describe` during the call.
     * Encoding: NUL-terminated UTF-8. Strings as written, without quotes and
     * with escapes resolved; integers in decimal ("50"); floats in decimal;
     * booleans "true" or "false"; an array's elements joined with ","
     * ("198.51.100.1,198.51.100.2"), which is ambiguous when an element
     * contains a comma: read arrays with config_count and config_get_at.
     */
    const char *(*config_get)(const hanet_host_api *api, const hanet_config *config, const char *key);
    /** CLOCK_MONOTONIC in nanoseconds. */
    uint64_t (*monotonic_ns)(const hanet_host_api *api);
    /** For HANET_LINK_FRAME_IO links: a frame received from the wire, handed to the host. Copied. */
    void (*deliver_frame)(const hanet_host_api *api, hanet_link_handle *link, const uint8_t *frame, size_t length);

    /* ---- since ABI 1.1 (check with HANET_HOST_API_HAS before calling) ---- */

    /**
     * A detector's probe counters, shown by `hanet status` so that an operator
     * can tell "no replies" from "never probed". Totals since the instance was
     * created; `last_reply_ns` is monotonic_ns() of the last valid reply, 0 for
     * none. Any thread; only stores. Event-driven detectors need not call it.
     */
    void (*report_counters)(const hanet_host_api *api, hanet_instance_handle *instance,
                            uint64_t probes_sent, uint64_t replies, uint64_t last_reply_ns);

    /* ---- since ABI 1.2 (check with HANET_HOST_API_HAS before calling) ---- */

    /**
     * How many values `key` holds: 0 when it is not set (or is an empty
     * array), 1 for a scalar, the number of elements for an array.
     */
    size_t (*config_count)(const hanet_host_api *api, const hanet_config *config, const char *key);
    /**
     * Element `index` of `key` as text (encoded as config_get encodes a
     * scalar; a scalar is its own element 0), or NULL when `index` is out of
     * range. Never joined: an element may contain commas. Same lifetime as
     * config_get's result.
     */
    const char *(*config_get_at)(const hanet_host_api *api, const hanet_config *config, const char *key, size_t index);
};

/**
 * True when the host's table has `field`: a plugin built against a newer
 * header may run on an older host whose table ends earlier.
 */
#define HANET_HOST_API_HAS(api, field) \
    ((api)->struct_size >= offsetof(hanet_host_api, field) + sizeof((api)->field) && (api)->field != NULL)

/* ---- link types -------------------------------------------------------- */

struct hanet_link_type {
    uint32_t struct_size;
    const char *name;        /* "ethernet": the `type` users write in [[link]] */
    const char *description;
    uint32_t flags;          /* HANET_TYPE_* */
    const char *unavailable_reason; /* with HANET_TYPE_UNAVAILABLE */

    /**
     * Is this device mine? Return 0 for "no", or a positive score: the host
     * gives the device to the highest score (a generic fallback such as
     * `ethernet` answers 1, a specific driver match 100).
     */
    int (*probe)(void *plugin_state, const hanet_device_info *device);
    /** Fill `out` for a device this type claimed. */
    int (*describe)(void *plugin_state, const hanet_device_info *device, const hanet_config *config,
                    hanet_link_attrs *out, char *error, size_t error_size);
    /** Start using the device (e.g. bring up PPP). `link` receives the plugin's per-link state. */
    int (*open)(void *plugin_state, const hanet_device_info *device, const hanet_config *config,
                hanet_link_handle *handle, void **link, char *error, size_t error_size);
    void (*close)(void *link);
    /** HANET_LINK_FRAME_IO only: send one frame. May be NULL otherwise. */
    int (*send_frame)(void *link, const uint8_t *frame, size_t length);
};

/* ---- detectors --------------------------------------------------------- */

/** Everything a detector instance is created with. */
typedef struct hanet_detector_context {
    uint32_t struct_size;
    const char *slave;            /* interface name of the watched slave */
    int32_t ifindex;
    uint32_t layer;               /* enum hanet_link_layer of the slave */
    uint32_t interval_ms;         /* from config, or the type's default */
    const hanet_config *config;   /* valid for the instance's lifetime */
    hanet_instance_handle *handle; /* pass to api->report; valid for the instance's lifetime */
    const hanet_host_api *api;    /* same table as init's */
} hanet_detector_context;

struct hanet_detector_type {
    uint32_t struct_size;
    const char *name;         /* "carrier": the name used in a link's `detectors` list */
    const char *description;
    uint32_t flags;           /* HANET_TYPE_*, HANET_DETECTOR_* */
    const char *unavailable_reason;
    uint32_t default_interval_ms; /* 0: purely event-driven, `poll` never called unless configured */

    int (*create)(void *plugin_state, const hanet_detector_context *context, void **instance,
                  char *error, size_t error_size);
    void (*destroy)(void *instance);
    /** Called every interval_ms. Must return within HANET_POLL_BUDGET_MS. May be NULL. */
    void (*poll)(void *instance);
    /** Called on every netlink link notification for this slave. May be NULL. */
    void (*link_event)(void *instance, const hanet_link_event *event);
};

/* ---- the plugin itself ------------------------------------------------- */

typedef struct hanet_plugin_descriptor {
    uint32_t struct_size;
    uint16_t abi_major;      /* HANET_PLUGIN_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor;      /* the oldest host minor the plugin needs (<= the header's) */
    const char *id;          /* unique, [a-z0-9-]+: what `hanet plugins enable ID` takes */
    const char *version;     /* the plugin's own version, e.g. "1.0.0" */
    const char *description;
    /**
     * Register link types and detectors through `api`. Set *plugin_state to
     * anything the plugin wants back in its callbacks. Return HANET_OK, or an
     * error with a message in `error`: the plugin is then refused.
     */
    int (*init)(const hanet_host_api *api, void **plugin_state, char *error, size_t error_size);
} hanet_plugin_descriptor;

/**
 * Fill the versioning fields of a descriptor for a plugin that requires host
 * minor `minor`: the highest minor whose services it calls without checking
 * HANET_HOST_API_HAS. 0 when it uses only 1.0 services or checks the rest.
 */
#define HANET_PLUGIN_DESCRIPTOR_HEADER_REQUIRING(minor) \
    .struct_size = sizeof(hanet_plugin_descriptor), \
    .abi_major = HANET_PLUGIN_ABI_MAJOR, .abi_minor = (minor)

/*
 * The required minor HANET_PLUGIN_DESCRIPTOR_HEADER states: define
 * HANET_PLUGIN_REQUIRED_MINOR before including this header to lower it.
 * Without it a plugin is assumed to use every service of this header.
 */
#ifndef HANET_PLUGIN_REQUIRED_MINOR
#define HANET_PLUGIN_REQUIRED_MINOR HANET_PLUGIN_ABI_MINOR
#endif
#define HANET_PLUGIN_DESCRIPTOR_HEADER HANET_PLUGIN_DESCRIPTOR_HEADER_REQUIRING(HANET_PLUGIN_REQUIRED_MINOR)

/** The entry symbol's type. Returns NULL when the plugin cannot run at all. */
typedef const hanet_plugin_descriptor *(*hanet_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* HANET_PLUGIN_H */
