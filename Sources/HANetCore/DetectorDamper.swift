/// Per-detector damping of every plugin's reports, so that no plugin has to
/// implement it (and none can get it wrong). It is the first half of the one
/// damping stage, `SlaveHealthTracker`, which holds one per detector:
///
/// - `init_wait_ms`: a BAD reported before this much time has passed since the
///   instance was created is held until then. A probing detector cannot have
///   an answer before its first probe's round trip, and a slave must not be
///   declared BAD (and skipped by the interface manager) for that.
/// - `downdelay_ms` / `updelay_ms`: a change from GOOD to BAD (BAD to GOOD) is
///   passed on only once it has lasted this long; a change back in between
///   cancels it. This is the detector's own damping, before the slave-level
///   policy and delays.
///
/// Pure and clock-free: callers pass `now` (CLOCK_MONOTONIC ns), so tests
/// drive it with a fake clock.
public struct DetectorDamper: Sendable {
    public struct Settings: Equatable, Sendable {
        public var initWaitNanos: UInt64 = 0
        public var updelayNanos: UInt64 = 0
        public var downdelayNanos: UInt64 = 0

        public init(initWaitMillis: Int = 0, updelayMillis: Int = 0, downdelayMillis: Int = 0) {
            initWaitNanos = UInt64(max(0, initWaitMillis)) * 1_000_000
            updelayNanos = UInt64(max(0, updelayMillis)) * 1_000_000
            downdelayNanos = UInt64(max(0, downdelayMillis)) * 1_000_000
        }

        /// Reads the three keys from a detector's merged configuration. A key
        /// that is not a whole number of milliseconds in 0...3_600_000 is an
        /// error naming the detector, the slave and the key.
        public init(config: [String: HANetConfig.Value], detector: String, slave: String) throws {
            func millis(_ key: String) throws -> Int {
                guard let v = config[key] else { return 0 }
                guard case .integer(let i) = v, i >= 0, i <= 3_600_000 else {
                    throw HANetError(.config, "[detector.\(detector)] on \(slave): \(key) = \(v.text): expected a whole number of milliseconds from 0 to 3600000")
                }
                return Int(i)
            }
            self.init(initWaitMillis: try millis("init_wait_ms"), updelayMillis: try millis("updelay_ms"),
                      downdelayMillis: try millis("downdelay_ms"))
        }
    }

    public let settings: Settings
    public let createdAt: UInt64
    /// What was last passed on.
    public private(set) var delivered: Health = .unknown
    /// The plugin's latest verdict and, when it differs from `delivered`, when it may be passed on.
    private var latest: (health: Health, reason: String)?
    public private(set) var deadline: UInt64?

    public init(settings: Settings, createdAt: UInt64) {
        self.settings = settings
        self.createdAt = createdAt
    }

    /// A verdict from the plugin. Returns what to pass on now, if anything.
    public mutating func offer(_ health: Health, _ reason: String, now: UInt64) -> (health: Health, reason: String)? {
        let wasPending = deadline != nil && latest?.health == health
        latest = (health, reason)
        if health == delivered || health == .unknown {
            // Same state with a new reason, or "no verdict": nothing to damp.
            deadline = nil
            delivered = health
            return (health, reason)
        }
        if !wasPending {
            let due: UInt64
            switch (delivered, health) {
            case (.unknown, .bad): due = createdAt &+ settings.initWaitNanos
            case (.unknown, _): due = now
            case (_, .bad): due = now &+ settings.downdelayNanos
            default: due = now &+ settings.updelayNanos
            }
            deadline = due
        }
        return tick(now: now)
    }

    /// Passes on a held verdict whose time has come.
    public mutating func tick(now: UInt64) -> (health: Health, reason: String)? {
        guard let due = deadline, now >= due, let v = latest else { return nil }
        deadline = nil
        delivered = v.health
        return v
    }
}
