import HANetCore

/// One configured link at run time: what its plugin said about it, what the
/// kernel says about it now, and what its detectors say.
final class Slave {
    /// `var`: a reload changes priority, role, speed and detector settings in place.
    var config: HANetConfig.Link
    /// Position in the config file (the interface manager's last tie-break); a reload that reorders [[link]]s changes it.
    var order: Int
    let typeName: String
    /// What the link plugin described; hot-plug re-reads the speed once the link has carrier.
    var attributes: LinkAttributes
    var kernel: KernelLink?
    var tracker: SlaveHealthTracker
    var detectors: [DetectorInstance] = []
    /// The link plugin's handle on the device, closed when the daemon stops.
    var link: LinkInstance?
    /// The TUN and packet pump of a link whose plugin moves frames itself (user-space PPP).
    var frameLink: FrameLink?
    /// Last verdict per detector, with when it came (monotonic ns).
    var verdictTimes: [String: UInt64] = [:]
    /// Attached by hot-plug (Daemon+Hotplug.swift): dropped from the slaves when its device goes.
    var hot = false
    /// The sibling's end of this private link: for a hot link the derived address; else nil (the [[sibling]] address).
    var peerAddress: IPv4Address?
    /// Addresses `Daemon.hygiene` added (the link's own `address`): removed with the link.
    var addedAddresses: [IPv4Prefix] = []

    var name: String { config.interface }

    init(config: HANetConfig.Link, order: Int, typeName: String, attributes: LinkAttributes,
         kernel: KernelLink, master: HANetConfig.Master) {
        self.config = config
        self.order = order
        self.typeName = typeName
        self.attributes = attributes
        self.kernel = kernel
        self.tracker = Self.tracker(for: config, master: master)
    }

    /// The configured role, else the link type's default.
    var role: LinkRole { config.role ?? attributes.defaultRole }
    /// The configured speed, else what the link plugin reads from the device.
    var speedBitsPerSecond: UInt64 { config.speedBitsPerSecond ?? attributes.speedBitsPerSecond }

    /// A fresh health tracker for `config`'s detectors and policy, with the master's delays.
    static func tracker(for config: HANetConfig.Link, master: HANetConfig.Master) -> SlaveHealthTracker {
        SlaveHealthTracker(detectors: config.detectors,
                           policy: SlaveHealthTracker.Policy(rawValue: config.detectorPolicy) ?? .any,
                           updelayMillis: master.updelayMillis, downdelayMillis: master.downdelayMillis)
    }

    var candidate: SlaveCandidate {
        SlaveCandidate(interface: name, role: role, speedBitsPerSecond: speedBitsPerSecond,
                       priority: config.priority, order: order,
                       health: kernel == nil ? .bad : tracker.effective)
    }

    /// Whether the master stops accepting new connections while this slave is
    /// active: `slow_link_policy = "drain"` (paper §5.2's clean shutdown on a slow link).
    var drainsNewConnections: Bool {
        guard case .string(let policy)? = config.options["slow_link_policy"] else { return false }
        return policy == "drain"
    }

    /// The MTU the master takes when this slave is active.
    var mtu: UInt32 {
        attributes.mtu != 0 ? attributes.mtu : (kernel?.mtu ?? 1500)
    }
}
