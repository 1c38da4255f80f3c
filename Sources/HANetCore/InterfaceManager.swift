/// One slave as the interface manager sees it.
public struct SlaveCandidate: Equatable, Sendable {
    public var interface: String
    public var role: LinkRole
    public var speedBitsPerSecond: UInt64
    public var priority: Int
    /// Position in the config file: the last tie-breaker, so the choice is deterministic.
    public var order: Int
    public var health: Health

    public init(interface: String, role: LinkRole, speedBitsPerSecond: UInt64, priority: Int, order: Int, health: Health) {
        self.interface = interface
        self.role = role
        self.speedBitsPerSecond = speedBitsPerSecond
        self.priority = priority
        self.order = order
        self.health = health
    }
}

/// The paper's interface manager (§3.3): the policy that picks the active slave.
///
/// The order is public before private (a private link costs the sibling's
/// capacity), then bandwidth, then the configured priority, then config
/// order. Only GOOD slaves are eligible. Kept apart from the detectors, like
/// teamd keeps runners apart from link watchers, so the policy can be tested
/// without any kernel.
public enum InterfaceManager {
    /// Whether `a` is strictly preferred over `b`, ignoring health.
    public static func isPreferred(_ a: SlaveCandidate, over b: SlaveCandidate) -> Bool {
        isBetterClass(a, than: b) || (!isBetterClass(b, than: a) && a.order < b.order)
    }

    /// The same ranking without the config-order tie-breaker: two slaves
    /// that differ only in order are equally good, and failback never
    /// moves traffic between equals.
    static func isBetterClass(_ a: SlaveCandidate, than b: SlaveCandidate) -> Bool {
        if a.role != b.role { return a.role == .public }
        if a.speedBitsPerSecond != b.speedBitsPerSecond { return a.speedBitsPerSecond > b.speedBitsPerSecond }
        return a.priority > b.priority
    }

    public struct Decision: Equatable, Sendable {
        /// The slave that should be active, or nil when there is none to use.
        public var active: String?
        /// Why, in words for the log and `hanet status`.
        public var reason: String
    }

    /// Chooses the active slave.
    ///
    /// - A GOOD current slave is kept unless `failback` is on and a GOOD slave
    ///   of a better class exists (the public NIC came back).
    /// - A current slave that is no longer GOOD is replaced by the best GOOD one.
    /// - When nothing is GOOD, the current slave is kept if it still exists:
    ///   a path that might work beats none, and detectors can be wrong in the
    ///   direction of caution. With no current slave, the best UNKNOWN one is
    ///   tried (at start-up, before the first probes have answered).
    public static func choose(_ candidates: [SlaveCandidate], current: String?, failback: Bool) -> Decision {
        let sorted = candidates.sorted { isPreferred($0, over: $1) }
        let good = sorted.filter { $0.health == .good }
        let cur = current.flatMap { name in candidates.first { $0.interface == name } }

        if let cur, cur.health == .good {
            if failback, let best = good.first, best.interface != cur.interface, isBetterClass(best, than: cur) {
                return Decision(active: best.interface, reason: "failback: \(best.interface) (\(best.role.rawValue)) is GOOD and better than \(cur.interface)")
            }
            return Decision(active: cur.interface, reason: "\(cur.interface) is GOOD")
        }
        if let best = good.first {
            let why = cur.map { "\($0.interface) is \($0.health.rawValue)" } ?? "no active slave"
            return Decision(active: best.interface, reason: "\(why); \(best.interface) is the best GOOD slave")
        }
        if let cur {
            return Decision(active: cur.interface, reason: "no GOOD slave; keeping \(cur.interface)")
        }
        if let tryFirst = sorted.first(where: { $0.health == .unknown }) {
            return Decision(active: tryFirst.interface, reason: "no verdict yet; trying \(tryFirst.interface)")
        }
        return Decision(active: nil, reason: "no usable slave")
    }
}
