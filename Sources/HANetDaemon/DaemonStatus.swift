import HANetCore

/// A slave's flags in `hanet status` (`links[].flags`), in this order.
/// docs/operations.md lists every one (a test holds the two together).
public enum LinkFlag: String, CaseIterable, Codable, Sendable {
    /// The slave the master forwards on.
    case active = "ACTIVE"
    /// Its effective health is GOOD (after the detector policy and the up/down delays).
    case good = "GOOD"

    /// The flags of a slave, as `links[].flags` lists them.
    public static func names(active: Bool, health: Health) -> [String] {
        var flags: [LinkFlag] = []
        if active { flags.append(.active) }
        if health == .good { flags.append(.good) }
        return flags.map(\.rawValue)
    }
}

/// Everything the daemon believes, as `hanet status --json` prints it (teamd's
/// state dump). Field names are part of the documented interface: append, never rename.
public struct DaemonStatus: Codable, Equatable {
    public struct Master: Codable, Equatable {
        public var name: String
        public var port: String
        public var addresses: [String]
        public var mtu: UInt32
        public var mac: String?
        public var noarp: Bool
        public var txqueuelen: UInt32
        public var layer: String
        /// True while the active slave's `slow_link_policy = "drain"` refuses new connections (paper §5.2).
        public var draining: Bool? = nil
        /// The IFA_F_* flags of each IPv6 address in `addresses` ("nodad";
        /// "tentative" or "dadfailed" would mean the address cannot serve); nil without IPv6 service addresses.
        public var ipv6_flags: [String: [String]]? = nil
    }

    public struct Detector: Codable, Equatable {
        public var name: String
        public var plugin: String
        public var health: String
        public var reason: String
        /// Seconds since the last verdict, nil before the first.
        public var age_s: Double?
        public var interval_ms: Int
        /// Probing detectors only (ABI 1.1 `report_counters`); nil for event-driven ones.
        public var probes_sent: UInt64?
        public var replies: UInt64?
        public var last_reply_age_s: Double?
        /// Polled detectors only (nil for event-driven ones): `poll` calls so
        /// far, those over HANET_POLL_BUDGET_MS, and the longest one.
        public var polls: UInt64?
        public var slow_polls: UInt64?
        public var longest_poll_ms: Double?
    }

    public struct Link: Codable, Equatable {
        public var interface: String
        public var type: String
        public var role: String
        public var layer: String
        public var speed_bps: UInt64
        public var priority: Int
        public var header_len: UInt32
        public var addr_len: UInt32
        public var mtu: UInt32
        public var mac: String?
        public var carrier: Bool
        /// `LinkFlag` raw values (`LinkFlag.names`); text on the wire so a newer
        /// daemon's flag does not break an older client's decoding.
        public var flags: [String]
        public var health: String
        public var reason: String
        public var detectors: [Detector]

        /// The flags this client knows.
        public var linkFlags: [LinkFlag] { flags.compactMap(LinkFlag.init(rawValue:)) }
    }

    public struct Switch: Codable, Equatable {
        public var time: String
        public var from: String?
        public var to: String?
        public var reason: String
        /// From the kernel event (or detector report) that caused it to the new rules in place.
        public var trigger_to_rules_us: Double?
        /// From the trigger to the last step of the switch (MAC, neighbours, first gratuitous ARP).
        public var trigger_to_done_us: Double?
        /// CLOCK_MONOTONIC (ns) of the trigger, to line up events of several daemons on one host.
        public var trigger_monotonic_ns: UInt64?
        /// CLOCK_MONOTONIC (ns) of the old slave's BAD verdict (the paper's end of Td), when it caused the switch.
        public var verdict_monotonic_ns: UInt64? = nil
    }

    /// The Packet Transmission Agent: whom this node carries traffic for, and who carries its own.
    public struct PTA: Codable, Equatable {
        public struct Service: Codable, Equatable {
            public var sibling: String
            public var addresses: [String]
            public var link: String
            public var since: String
            /// CLOCK_MONOTONIC (ns) when the service was in place; comparable across namespaces of one host.
            public var since_monotonic_ns: UInt64
            /// CLOCK_MONOTONIC (ns) when the TAKEOVER that started this service arrived (start of the paper's Tsib).
            public var request_received_monotonic_ns: UInt64? = nil
        }
        public struct ServedBy: Codable, Equatable {
            public var sibling: String
            public var addresses: [String]
            /// requesting | served | releasing
            public var state: String
            public var since: String?
            /// CLOCK_MONOTONIC (ns) when the first TAKEOVER of this request left (end of Tsrv, start of Tmid).
            public var request_sent_monotonic_ns: UInt64? = nil
            /// CLOCK_MONOTONIC (ns) when the sibling's ACK arrived.
            public var answered_monotonic_ns: UInt64? = nil
        }
        public var serving: [Service]
        public var served_by: ServedBy?
    }

    public var node: String
    public var pid: Int32
    public var started: String
    public var master: Master
    public var active: String?
    public var links: [Link]
    public var last_switch: Switch?
    public var switches: Int
    public var adopted: Bool
    public var pta: PTA
    /// Hot-plug history, newest last, at most 20; nil when hot-plug is off.
    public var hotplug: [HotplugRecord]? = nil
    /// Every configured sibling as this node sees it.
    public var siblings: [Sibling]? = nil

    public struct Sibling: Codable, Equatable {
        public var name: String
        /// True when it said within the last few readiness intervals that it can carry traffic.
        public var ready: Bool
        /// ready | unknown | unable
        public var readiness: String
        public var reason: String
        /// This node's private slaves that lead to it.
        public var links: [String]
        /// Since its last READINESS; nil when none arrived yet.
        public var last_heard_s: Double?
        /// It carries (or is being asked to carry) this node's addresses.
        public var serves_us: Bool
        /// This node carries its addresses.
        public var we_serve: Bool
        public var preference: Int
    }

    /// Input refused since start, by reason (`RefusalReason`), every reason listed.
    public var refused: [String: UInt64]? = nil
    /// The routed mode (docs/routing.md); nil without `[routing]`.
    public var routing: Routing? = nil

    public struct Routing: Codable, Equatable {
        public struct Carried: Codable, Equatable {
            public var sibling: String
            /// The sibling's end of the private link.
            public var next_hop: String
            public var addresses: [String]
            /// False while HANet does not announce the sibling's addresses.
            public var enabled: Bool
        }

        public struct RoutingProtocol: Codable, Equatable {
            public var name: String
            /// "BGP", "BFD", "Static", "Kernel", ...
            public var proto: String
            public var table: String
            /// BIRD's state: "up", "down", "start", "stop", "flush".
            public var state: String
            public var since: String
            /// What BIRD adds: for BGP the session state ("Established", "Active") and the last error.
            public var info: String
        }

        public var engine: String
        public var control_socket: String
        public var include_file: String
        /// "ok", "waiting for the first decision", or "not answering: WHY".
        public var state: String
        /// This server's addresses, announced as host routes while a public slave is active.
        public var own: [String]
        /// True while BIRD announces them (as far as HANet's last call told).
        public var own_announced: Bool
        /// True while HANet's intent has not reached BIRD yet (it retries every second).
        public var pending: Bool? = nil
        public var carried: [Carried]
        /// Every protocol BIRD runs, HANet's and the operator's, as of the last poll (every second).
        public var protocols: [RoutingProtocol]
        /// Announcements and withdrawals applied since start.
        public var changes: Int
    }

    public struct HotplugRecord: Codable, Equatable {
        public var time: String
        public var monotonic_ns: UInt64
        /// attached | claimed | sibling-learned | unanswered | detached | ignored | refused
        public var action: String
        public var interface: String
        /// The link type (plugin) that claimed it.
        public var type: String?
        public var sibling: String?
        public var reason: String?
        /// CLOCK_MONOTONIC (ns) when the udev monitor read the device's uevent.
        public var uevent_monotonic_ns: UInt64?
    }
}
