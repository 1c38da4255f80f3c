import Dispatch
import HANetCore
import HANetSystem

/// Owns the drop counters and the rate-limited log of refused input. Called
/// from any thread (the PTA receiver, control-socket clients, the control
/// queue); one lock guards the counters and the limiter, and the log line
/// itself is built only when the limiter lets it through, so a refusal the
/// log suppresses costs a lock and two increments.
final class Refusals: @unchecked Sendable {
    private let lock = Lock()
    private var counts = [UInt64](repeating: 0, count: RefusalReason.allCases.count)
    private var limiter: RefusalLimiter
    private let log: DaemonLog
    private let clock: MonotonicClock
    /// A flush is scheduled for the end of the current interval.
    private var flushPending = false
    private static let index: [RefusalReason: Int] = Dictionary(
        uniqueKeysWithValues: RefusalReason.allCases.enumerated().map { ($1, $0) })

    init(log: DaemonLog, clock: MonotonicClock, limiter: RefusalLimiter = RefusalLimiter()) {
        self.log = log
        self.clock = clock
        self.limiter = limiter
    }

    /// Counts one refusal and logs `detail` at warning level if the limiter lets it.
    func refuse(_ reason: RefusalReason, source: String, _ detail: @autoclosure () -> String) {
        let now = clock.nowNanos()
        lock.lock()
        counts[Self.index[reason]!] &+= 1
        let (summaries, print) = limiter.admit(reason, source: source, now: now)
        let scheduleAt = flushPending ? nil : limiter.nextFlush
        if scheduleAt != nil { flushPending = true }
        lock.unlock()
        for s in summaries { log.warning(s) }
        if print { log.warning(detail()) }
        if let at = scheduleAt { scheduleFlush(at: at, now: now) }
    }

    /// Every reason's total since start, zeros included, so a script can read any of them.
    var totals: [String: UInt64] {
        lock.withLock {
            Dictionary(uniqueKeysWithValues: RefusalReason.allCases.map { ($0.rawValue, counts[Self.index[$0]!]) })
        }
    }

    /// The last interval of a flood gets its summary even when nothing follows it.
    private func scheduleFlush(at deadline: UInt64, now: UInt64) {
        let wait = deadline > now ? deadline - now : 0
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .nanoseconds(Int(wait))) { [weak self] in
            guard let self else { return }
            let now = self.clock.nowNanos()
            self.lock.lock()
            let lines = self.limiter.flush(now: now)
            let next = self.limiter.nextFlush
            self.flushPending = next != nil
            self.lock.unlock()
            for l in lines { self.log.warning(l) }
            if let next { self.scheduleFlush(at: next, now: now) }
        }
    }
}
