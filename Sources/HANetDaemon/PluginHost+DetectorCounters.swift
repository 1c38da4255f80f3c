import FoundationEssentials
import HANetSystem

/// A probing detector's totals (ABI 1.1 `report_counters`), for `hanet status`.
public struct DetectorCounters: Equatable, Sendable {
    public var probesSent: UInt64
    public var replies: UInt64
    /// CLOCK_MONOTONIC ns of the last valid reply; nil when none came yet.
    public var lastReplyNanos: UInt64?

    public init(probesSent: UInt64, replies: UInt64, lastReplyNanos: UInt64?) {
        self.probesSent = probesSent
        self.replies = replies
        self.lastReplyNanos = lastReplyNanos
    }

    /// Seconds since the last reply at monotonic time `now`, nil when none came.
    public func lastReplyAge(now: UInt64) -> Double? {
        guard let t = lastReplyNanos else { return nil }
        return now >= t ? Double(now - t) / 1e9 : 0
    }
}

/// The latest counters of one instance: written from any plugin thread, read by status.
final class DetectorCountersBox: @unchecked Sendable {
    private let lock = Lock()
    private var value: DetectorCounters?

    func store(_ c: DetectorCounters) {
        lock.lock()
        value = c
        lock.unlock()
    }

    func load() -> DetectorCounters? {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}
