/// The daemon's configuration, after parsing and validation (`HANetConfig.parse`).
/// Every value here is already checked; the file and line of each item are kept
/// so that later errors (an interface that vanished, a plugin that refused a
/// detector option) can still point at the line that asked for it.
public struct HANetConfig: Equatable, Sendable {
    /// Where `hanet run` and `hanet check` read the configuration unless told otherwise.
    public static let defaultFile = "/etc/hanet/hanet.toml"
    /// The control socket of `[node] control_socket` unset, and of every client command.
    public static let defaultControlSocket = "/run/hanet/hanet.sock"

    public struct Location: Equatable, Sendable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public init(file: String, line: Int) { self.file = file; self.line = line }
        public var description: String { "\(file):\(line)" }
    }

    /// A configuration value as written, for plugin configuration (`config_get`).
    public enum Value: Equatable, Sendable {
        case string(String)
        case integer(Int64)
        case float(Double)
        case bool(Bool)
        case array([Value])

        /// The text form handed to plugins: arrays joined with ",".
        public var text: String {
            switch self {
            case .string(let s): return s
            case .integer(let i): return String(i)
            case .float(let d): return String(d)
            case .bool(let b): return b ? "true" : "false"
            case .array(let a): return a.map(\.text).joined(separator: ",")
            }
        }
    }

    public struct Node: Equatable, Sendable {
        public var name: String
        public var controlSocket: String
        public var pluginsDir: String?
        public var stateDir: String?
    }

    public struct Master: Equatable, Sendable {
        public var name: String                 // "hanet0"
        public var port: String                 // "hanet0p" unless configured
        public var addresses: [IPv4Prefix]
        /// The IPv6 service addresses, from the same `addresses` array.
        public var ipv6Addresses: [IPv6Prefix] = []
        public var table: String                // nftables netdev table, "hanet" unless configured
        public var failback: Bool               // default true
        public var updelayMillis: Int           // default 0
        public var downdelayMillis: Int         // default 0
        public var garpCount: Int               // default 3
        public var garpIntervalMillis: Int      // default 100
        /// Unsolicited Neighbour Advertisements per IPv6 address after a switch; garp_count unless set.
        public var naCount: Int = 3
        /// Between those NAs; garp_interval_ms unless set.
        public var naIntervalMillis: Int = 100
        public var location: Location
    }

    public struct Link: Equatable, Sendable {
        public var interface: String
        public var type: String?                // nil: chosen by probe
        public var role: LinkRole?              // nil: the link type's default
        public var speedBitsPerSecond: UInt64?  // nil: from the link plugin
        public var priority: Int
        public var detectors: [String]
        public var detectorPolicy: String       // "any" | "all"
        public var sibling: String?
        public var address: IPv4Prefix?         // this end of a private link
        /// Everything else in the [[link]] table, for link plugins (device, baud, ...).
        public var options: [String: Value]
        /// `[link.detector.NAME]` overrides, merged over `[detector.NAME]`.
        public var detectorOverrides: [String: [String: Value]]
        public var location: Location
    }

    public struct Sibling: Equatable, Sendable {
        public var name: String
        /// The sibling's end of the configured private link; nil for a sibling
        /// reached only through hot-plugged links, whose addresses are derived.
        public var address: IPv4Address?
        public var keyFile: String
        public var addresses: [IPv4Prefix]      // service addresses it may ask us to carry
        /// Its IPv6 service addresses, from the same `addresses` array.
        public var ipv6Addresses: [IPv6Prefix] = []
        public var location: Location
        /// Ranks siblings for a takeover: higher first, ahead of the links' speed and priority. 0 when unset.
        public var preference: Int = 0
    }

    /// `[pta]`. No replay window: the replay guard needs no shared clock
    /// (boot id and counter, see PTAReplayGuard).
    public struct PTA: Equatable, Sendable {
        public var port: UInt16                 // UDP
        public var leaseMillis: Int
        public var retryInitialMillis: Int
        public var retryMaxMillis: Int
        /// How often each node tells each sibling whether it can carry traffic
        /// (READINESS); it also tells at once on a change. A sibling not heard
        /// for `readinessStaleIntervals` of these is of unknown readiness.
        public var readinessIntervalMillis: Int
        public static let readinessStaleIntervals = 3

        public init(port: UInt16 = 7377, leaseMillis: Int = 3000, retryInitialMillis: Int = 5, retryMaxMillis: Int = 200,
                    readinessIntervalMillis: Int = 200) {
            self.port = port
            self.leaseMillis = leaseMillis
            self.retryInitialMillis = retryInitialMillis
            self.retryMaxMillis = retryMaxMillis
            self.readinessIntervalMillis = readinessIntervalMillis
        }
    }

    public var file: String
    public var node: Node
    public var master: Master
    public var links: [Link]
    public var siblings: [Sibling]
    public var pta: PTA
    /// `[detector.NAME]` tables.
    public var detectors: [String: [String: Value]]
    /// `[hooks]`: scripts run on events; none by default.
    public var hooks = Hooks()
    /// `[metrics]`: the Prometheus endpoint; off by default.
    public var metrics = Metrics()
    /// `[hotplug]`: links attached while the daemon runs; off by default.
    public var hotplug = Hotplug()
    /// `[routing]`: the routed mode through BIRD; nil when absent.
    public var routing: Routing?

    /// Notify hooks (keepalived's notify scripts): run on a background queue
    /// with the event in `HANET_*` environment variables, killed after `timeoutMillis`.
    public struct Hooks: Equatable, Sendable {
        public var onSwitch: String?
        public var onPTA: String?
        /// Every event, whatever its kind.
        public var onEvent: String?
        public var timeoutMillis: Int
        public var location: Location?
        public init(onSwitch: String? = nil, onPTA: String? = nil, onEvent: String? = nil, timeoutMillis: Int = 5000,
                    location: Location? = nil) {
            self.onSwitch = onSwitch
            self.onPTA = onPTA
            self.onEvent = onEvent
            self.timeoutMillis = timeoutMillis
            self.location = location
        }
    }

    /// Where the Prometheus text endpoint listens; nil address: no endpoint.
    public struct Metrics: Equatable, Sendable {
        public var address: IPv4Address?
        public var port: UInt16
        public init(address: IPv4Address? = nil, port: UInt16 = 9477) {
            self.address = address
            self.port = port
        }
    }

    /// The configuration a detector instance on `link` sees: `[detector.NAME]` with the link's overrides on top.
    public func detectorConfig(_ name: String, on link: Link) -> [String: Value] {
        var merged = detectors[name] ?? [:]
        for (k, v) in link.detectorOverrides[name] ?? [:] { merged[k] = v }
        return merged
    }
}

/// One problem found in a configuration file. `hanet check` prints all of them.
public struct ConfigProblem: Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var key: String
    public var message: String

    public init(file: String, line: Int, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String { "\(file):\(line): \(key): \(message)" }
}

/// Thrown by `HANetConfig.parse` with every problem found, in file order.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var problems: [ConfigProblem]
    public init(problems: [ConfigProblem]) { self.problems = problems }
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
