/// `[hotplug]`: which devices plugged in while the daemon runs become private
/// slaves, and to which sibling they lead.
extension HANetConfig {
    public struct Hotplug: Equatable, Sendable {
        /// One `[[hotplug.allow]]` rule: a device is attached when every field the rule gives matches.
        public struct Rule: Equatable, Sendable {
            public var driver: String?
            /// A glob: `*` matches any run of characters.
            public var name: String?
            public var subsystem: String?
            /// `KEY=VALUE` of a udev property, split.
            public var propertyKey: String?
            public var propertyValue: String?
            /// The link type to open it as; nil: the link plugins' `probe` decides.
            public var type: String?
            /// The slave's detectors; nil: `[hotplug] detectors`. A tty's PPP
            /// link wants `ppp-echo` where a NIC wants `carrier`.
            public var detectors: [String]?
            /// The sibling this rule's links lead to; nil: `[hotplug] sibling`, else discovery.
            public var sibling: String?
            /// This end's address on the link (a /30 or /31: the far end is the
            /// other host), instead of one derived from the node names.
            public var address: IPv4Prefix?
            public var location: Location

            public init(driver: String? = nil, name: String? = nil, subsystem: String? = nil, propertyKey: String? = nil,
                        propertyValue: String? = nil, type: String? = nil, location: Location) {
                self.driver = driver
                self.name = name
                self.subsystem = subsystem
                self.propertyKey = propertyKey
                self.propertyValue = propertyValue
                self.type = type
                self.location = location
            }
        }

        public var enabled: Bool
        /// The sibling every hot link leads to (`sibling = "..."`); nil: the
        /// HELLO discovers which configured sibling is at the other end.
        public var sibling: String?
        public var priority: Int
        public var detectors: [String]
        public var allow: [Rule]
        public var location: Location?

        public init(enabled: Bool = false, sibling: String? = nil, priority: Int = 0, detectors: [String] = ["carrier"],
                    allow: [Rule] = [], location: Location? = nil) {
            self.enabled = enabled
            self.sibling = sibling
            self.priority = priority
            self.detectors = detectors
            self.allow = allow
            self.location = location
        }
    }
}

extension HANetConfig {
    /// The siblings a new hot link may lead to: the pinned one, or every configured sibling.
    public var hotplugSiblings: [String] {
        hotplug.sibling.map { [$0] } ?? siblings.map(\.name).sorted()
    }
}

extension HANetConfig.Link {
    /// The link a hot-plugged device is opened as: private, to the `[hotplug]`
    /// sibling, with the `[hotplug]` table's priority and detectors.
    public static func hotplugged(interface: String, type: String?, hotplug: HANetConfig.Hotplug, detectors: [String]? = nil,
                                  sibling: String, address: IPv4Prefix, options: [String: HANetConfig.Value],
                                  location: HANetConfig.Location) -> HANetConfig.Link {
        HANetConfig.Link(interface: interface, type: type, role: .private, speedBitsPerSecond: nil, priority: hotplug.priority,
                         detectors: detectors ?? hotplug.detectors, detectorPolicy: "any", sibling: sibling, address: address,
                         options: options, detectorOverrides: [:], location: location)
    }
}
