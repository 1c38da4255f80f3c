/// Whether a sibling can carry this node's traffic, as far as this node knows.
public enum Readiness: String, Sendable, Codable, CaseIterable {
    /// It said so (READINESS with `canCarry`) within the last few intervals.
    case ready
    /// Not heard from lately (never, or its daemon is gone), or an older
    /// daemon that sends no READINESS: chosen as before readiness existed.
    case unknown
    /// It said it cannot (no GOOD public slave), refused us, or let our lease lapse.
    case unable

    /// Lower is better: the order the interface manager ranks private links by.
    public var rank: Int {
        switch self {
        case .ready: return 0
        case .unknown: return 1
        case .unable: return 2
        }
    }
}

/// What this node knows of each sibling's readiness. Pure: driven with a
/// monotonic time, it answers what each sibling's readiness is now and when
/// that changes by itself (a sibling falls silent, a refusal's hold ends), so
/// the daemon can decide again at that moment.
///
/// Rules:
/// - A READINESS message sets the sibling's state from its flag; it stays
///   for `staleNanos` and becomes `unknown` when nothing newer arrives.
/// - A refusal or a lapsed lease makes the sibling `unable` for `holdNanos`,
///   whatever it says meanwhile: a sibling that says it is ready but refuses
///   (its configuration does not name us, say) must not be chosen again at once.
public struct SiblingReadiness: Sendable {
    public struct Entry: Equatable, Sendable {
        /// What its last READINESS said, and when it arrived.
        public var said: Bool?
        public var heardNanos: UInt64?
        /// Held `unable` until then, and why.
        public var unableUntil: UInt64?
        public var unableReason: String?
    }

    public let staleNanos: UInt64
    public let holdNanos: UInt64
    public private(set) var entries: [String: Entry]

    public init(siblings: [String], staleNanos: UInt64, holdNanos: UInt64) {
        self.staleNanos = staleNanos
        self.holdNanos = holdNanos
        entries = Dictionary(siblings.map { ($0, Entry()) }, uniquingKeysWith: { a, _ in a })
    }

    public func readiness(of sibling: String, now: UInt64) -> Readiness {
        guard let e = entries[sibling] else { return .unknown }
        if let until = e.unableUntil, now < until { return .unable }
        guard let heard = e.heardNanos, let said = e.said, now &- heard < staleNanos else { return .unknown }
        return said ? .ready : .unable
    }

    /// Why `readiness(of:now:)` says what it says, for status and the log.
    public func reason(of sibling: String, now: UInt64) -> String {
        guard let e = entries[sibling] else { return "not a configured sibling" }
        if let until = e.unableUntil, now < until { return e.unableReason ?? "refused" }
        guard let heard = e.heardNanos, let said = e.said else { return "no READINESS heard yet" }
        if now &- heard >= staleNanos { return "not heard for \(UTCTimestamp.fixed(Double(now &- heard) / 1e9, 1)) s" }
        return said ? "it has a GOOD public slave" : "it has no GOOD public slave"
    }

    /// A READINESS from `sibling`. Returns true when its readiness changed.
    @discardableResult
    public mutating func heard(_ sibling: String, canCarry: Bool, now: UInt64) -> Bool {
        guard entries[sibling] != nil else { return false }
        let before = readiness(of: sibling, now: now)
        entries[sibling]!.said = canCarry
        entries[sibling]!.heardNanos = now
        return readiness(of: sibling, now: now) != before
    }

    /// `sibling` refused to carry us, or let our lease lapse. Returns true when its readiness changed.
    @discardableResult
    public mutating func markUnable(_ sibling: String, reason: String, now: UInt64) -> Bool {
        guard entries[sibling] != nil else { return false }
        let before = readiness(of: sibling, now: now)
        entries[sibling]!.unableUntil = now &+ holdNanos
        entries[sibling]!.unableReason = reason
        return readiness(of: sibling, now: now) != before
    }

    /// The next moment some sibling's readiness changes by itself (a hold ends, a report goes stale).
    public func nextChange(now: UInt64) -> UInt64? {
        entries.values.flatMap { e -> [UInt64] in
            var t: [UInt64] = []
            if let until = e.unableUntil, until > now { t.append(until) }
            if let heard = e.heardNanos, heard &+ staleNanos > now { t.append(heard &+ staleNanos) }
            return t
        }.min()
    }

    /// Every sibling's readiness at `now`, to compare with a later one.
    public func snapshot(now: UInt64) -> [String: Readiness] {
        Dictionary(uniqueKeysWithValues: entries.keys.map { ($0, readiness(of: $0, now: now)) })
    }
}
