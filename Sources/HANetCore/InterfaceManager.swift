/// One slave as the interface manager sees it.
public struct SlaveCandidate: Equatable, Sendable {
    public var interface: String
    public var role: LinkRole
    public var speedBitsPerSecond: UInt64
    public var priority: Int
    /// Position in the config file: the last tie-breaker, so the choice is deterministic.
    public var order: Int
    public var health: Health
    /// A private link's sibling, whether it can carry us now, and its `[[sibling]] preference`.
    public var sibling: String?
    public var readiness: Readiness?
    public var preference: Int

    public init(interface: String, role: LinkRole, speedBitsPerSecond: UInt64, priority: Int, order: Int, health: Health,
                sibling: String? = nil, readiness: Readiness? = nil, preference: Int = 0) {
        self.interface = interface
        self.role = role
        self.speedBitsPerSecond = speedBitsPerSecond
        self.priority = priority
        self.order = order
        self.health = health
        self.sibling = sibling
        self.readiness = readiness
        self.preference = preference
    }
}

/// The paper's interface manager (§3.3): the policy that picks the active slave.
///
/// The order is public before private (a private link costs the sibling's
/// capacity); between private links, a sibling that can carry us before one
/// whose readiness is unknown before one that cannot, then the siblings'
/// `preference`; then bandwidth, then the configured priority, then config
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
        let ra = a.readiness?.rank ?? Readiness.unknown.rank, rb = b.readiness?.rank ?? Readiness.unknown.rank
        if ra != rb { return ra < rb }
        if a.preference != b.preference { return a.preference > b.preference }
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
    ///   of a better class exists (the public NIC came back). Failback does
    ///   not move a carried server from one sibling to another.
    /// - A GOOD current private slave whose sibling is not known to be ready
    ///   (it cannot carry, refused, let the lease lapse, or fell silent) gives
    ///   way to a GOOD private slave whose sibling's readiness is better,
    ///   failback or not: that is a fault of the path, not a better path.
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
            if cur.role == .private, let c = cur.readiness, c != .ready, let best = good.first, best.role == .private,
               let b = best.readiness, b.rank < c.rank {
                return Decision(active: best.interface,
                                reason: "the sibling behind \(cur.interface) (\(cur.sibling ?? "?")) is \(c.rawValue); \(best.interface)'s (\(best.sibling ?? "?")) is \(b.rawValue)")
            }
            // Failback never moves a carried server between siblings: a sibling
            // that carries it and can go on doing so is kept (a move costs an outage).
            if failback, let best = good.first, best.interface != cur.interface, isBetterClass(best, than: cur),
               cur.role == .public || best.role == .public || best.sibling == cur.sibling {
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
