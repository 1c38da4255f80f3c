/// Turns the verdicts of a slave's detectors into the slave's GOOD flag: the
/// daemon's one damping stage, on its executor, with one deadline.
///
/// Three steps: each detector's raw verdicts pass its own `DetectorDamper`
/// (`init_wait_ms`, `updelay_ms`, `downdelay_ms` of that detector); the
/// damped verdicts combine by policy, as in teamd and bonding (`any`: GOOD
/// when one says GOOD; `all`: GOOD only when every one says GOOD); then the
/// slave's change is damped with the master's `updelay`/`downdelay` so a
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
    /// Per-detector damping of raw verdicts; a detector without one passes them on as they come.
    public private(set) var dampers: [String: DetectorDamper] = [:]

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

    /// A detector instance started at `now`: its raw verdicts are damped with `settings` from now on.
    public mutating func started(detector: String, damping settings: DetectorDamper.Settings, now: UInt64) {
        dampers[detector] = DetectorDamper(settings: settings, createdAt: now)
    }

    /// `fresh` (new detectors, policy or delays) with the verdicts already
    /// known, so the slave keeps its health until its detectors say otherwise
    /// and a reload alone never switches; and this tracker's dampers when
    /// the detectors keep running.
    public func reconfigured(_ fresh: SlaveHealthTracker, keepingDampers: Bool, now: UInt64) -> SlaveHealthTracker {
        var t = fresh
        for d in t.detectors {
            if let v = verdicts[d] { t.record(detector: d, health: v.health, reason: v.reason, now: now) }
        }
        if keepingDampers { t.dampers = dampers.filter { t.detectors.contains($0.key) } }
        return t
    }

    /// Records a detector's raw verdict. Returns true when the effective health changed now.
    @discardableResult
    public mutating func record(detector: String, health: Health, reason: String, now: UInt64) -> Bool {
        if var d = dampers[detector] {
            let out = d.offer(health, reason, now: now)
            dampers[detector] = d
            if let out { verdicts[detector] = out }
        } else {
            verdicts[detector] = (health, reason)
        }
        return reevaluate(now: now)
    }

    /// Forgets a detector's verdict and damper (its plugin was disabled, or it stopped).
    @discardableResult
    public mutating func forget(detector: String, now: UInt64) -> Bool {
        verdicts[detector] = nil
        dampers[detector] = nil
        return reevaluate(now: now)
    }

    /// Passes on held verdicts and applies a pending change whose delay has
    /// passed. Returns true when the effective health changed.
    @discardableResult
    public mutating func tick(now: UInt64) -> Bool {
        for name in dampers.keys.sorted() {
            if let out = dampers[name]!.tick(now: now) { verdicts[name] = out }
        }
        return reevaluate(now: now)
    }

    /// When `tick` should be called next: the earliest held verdict or pending change.
    public var nextDeadline: UInt64? {
        ([pending?.at] + dampers.values.map(\.deadline)).compactMap { $0 }.min()
    }

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
