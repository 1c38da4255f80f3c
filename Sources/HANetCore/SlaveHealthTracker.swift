/// Turns the verdicts of a slave's detectors into the slave's GOOD flag.
///
/// Two steps, as in teamd and bonding: combine the detectors' latest
/// verdicts by policy (`any`: GOOD when one says GOOD; `all`: GOOD only when
/// every one says GOOD), then damp changes with `updelay`/`downdelay` so a
/// flapping link does not drag traffic back and forth. The first verdict is
/// taken at once: there is nothing to damp before a slave has a state.
public struct SlaveHealthTracker: Sendable {
    public enum Policy: String, Sendable { case any, all }

    public private(set) var verdicts: [String: (health: Health, reason: String)] = [:]
    public private(set) var effective: Health = .unknown
    public private(set) var effectiveReason: String = "no verdict yet"
    /// A pending change and when it takes effect.
    public private(set) var pending: (health: Health, at: UInt64)?

    public let detectors: [String]
    public let policy: Policy
    public let updelayNanos: UInt64
    public let downdelayNanos: UInt64

    public init(detectors: [String], policy: Policy, updelayMillis: Int, downdelayMillis: Int) {
        self.detectors = detectors
        self.policy = policy
        self.updelayNanos = UInt64(max(0, updelayMillis)) * 1_000_000
        self.downdelayNanos = UInt64(max(0, downdelayMillis)) * 1_000_000
    }

    /// The verdict of the detectors together, before damping.
    public var combined: (health: Health, reason: String) {
        let states = detectors.map { verdicts[$0] ?? (.unknown, "no verdict yet") }
        guard !states.isEmpty else { return (.good, "no detectors") }
        switch policy {
        case .any:
            if let g = states.first(where: { $0.health == .good }) { return (.good, g.reason) }
            if let b = states.first(where: { $0.health == .bad }) { return (.bad, b.reason) }
            return (.unknown, "no verdict yet")
        case .all:
            if let b = states.first(where: { $0.health == .bad }) { return (.bad, b.reason) }
            if states.allSatisfy({ $0.health == .good }) { return (.good, states[0].reason) }
            return (.unknown, "waiting for every detector")
        }
    }

    /// Records a detector's verdict. Returns true when the effective health changed now.
    @discardableResult
    public mutating func record(detector: String, health: Health, reason: String, now: UInt64) -> Bool {
        verdicts[detector] = (health, reason)
        return reevaluate(now: now)
    }

    /// Forgets a detector's verdict (its plugin was disabled).
    @discardableResult
    public mutating func forget(detector: String, now: UInt64) -> Bool {
        verdicts[detector] = nil
        return reevaluate(now: now)
    }

    /// Applies a pending change whose delay has passed. Returns true when the effective health changed.
    @discardableResult
    public mutating func tick(now: UInt64) -> Bool {
        reevaluate(now: now)
    }

    /// When `tick` should be called next, if a change is pending.
    public var nextDeadline: UInt64? { pending?.at }

    private mutating func reevaluate(now: UInt64) -> Bool {
        let (target, reason) = combined
        if target == effective {
            pending = nil
            effectiveReason = reason
            return false
        }
        if effective == .unknown || target == .unknown {
            // First verdict, or the detectors were all forgotten: nothing to damp.
            return set(target, reason)
        }
        let delay = target == .good ? updelayNanos : downdelayNanos
        if delay == 0 { return set(target, reason) }
        if let p = pending, p.health == target {
            if now >= p.at { return set(target, reason) }
            return false
        }
        pending = (target, now + delay)
        return false
    }

    private mutating func set(_ h: Health, _ reason: String) -> Bool {
        effective = h
        effectiveReason = reason
        pending = nil
        return true
    }
}
