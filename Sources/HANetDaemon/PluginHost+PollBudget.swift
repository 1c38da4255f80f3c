import CHANetPlugin
import FoundationEssentials
import HANetSystem

/// How one detector instance's `poll` calls measure against HANET_POLL_BUDGET_MS.
public struct PollTiming: Equatable, Sendable {
    public var polls: UInt64 = 0
    /// Polls that took longer than the budget.
    public var slowPolls: UInt64 = 0
    /// The longest poll so far, in nanoseconds.
    public var maxNanos: UInt64 = 0
    /// All polls together, in nanoseconds.
    public var totalNanos: UInt64 = 0

    public init() {}
}

/// Decides which slow polls of one instance are logged: the first at once,
/// then at most one line per `every` nanoseconds carrying how many were
/// slow since the last line and the longest of them, so a detector that is
/// always slow costs one line a minute, not one per poll.
struct SlowPollLimiter: Equatable, Sendable {
    var every: UInt64 = 60_000_000_000
    private var lastLogged: UInt64?
    private var suppressed: UInt64 = 0
    private var suppressedMax: UInt64 = 0

    init(every: UInt64 = 60_000_000_000) {
        self.every = every
    }

    /// The line to log for a poll of `nanos` at monotonic time `now`, or nil.
    mutating func offer(nanos: UInt64, now: UInt64, budget: UInt64) -> String? {
        suppressed += 1
        suppressedMax = max(suppressedMax, nanos)
        if let last = lastLogged, now - last < every { return nil }
        let line = suppressed == 1
            ? "poll took \(Self.millis(nanos)), over its budget of \(Self.millis(budget))"
            : "\(suppressed) polls over the budget of \(Self.millis(budget)) since the last report, the longest \(Self.millis(suppressedMax))"
        lastLogged = now
        suppressed = 0
        suppressedMax = 0
        return line
    }

    static func millis(_ nanos: UInt64) -> String {
        let tenths = (nanos + 50_000) / 100_000
        return "\(tenths / 10).\(tenths % 10) ms"
    }
}

/// The poll measurements of one instance, written by the scheduler thread and read by status or `plugins try`.
final class PollTimingBox: @unchecked Sendable {
    private let lock = Lock()
    private var timing = PollTiming()
    private var limiter = SlowPollLimiter()
    let budget: UInt64

    init(budget: UInt64 = PluginHost.pollBudgetNanos) {
        self.budget = budget
    }

    /// Records one poll; returns the line to log when it was slow and the limiter lets it through.
    func record(nanos: UInt64, now: UInt64) -> (slow: Bool, log: String?) {
        lock.lock()
        defer { lock.unlock() }
        timing.polls += 1
        timing.totalNanos &+= nanos
        timing.maxNanos = max(timing.maxNanos, nanos)
        guard nanos > budget else { return (false, nil) }
        timing.slowPolls += 1
        return (true, limiter.offer(nanos: nanos, now: now, budget: budget))
    }

    func load() -> PollTiming {
        lock.lock()
        defer { lock.unlock() }
        return timing
    }
}
