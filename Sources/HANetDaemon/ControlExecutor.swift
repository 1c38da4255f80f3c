import Dispatch
import HANetCore
import HANetSystem

/// The one owner of the daemon's state: a serial executor. Link events,
/// verdicts, PTA datagrams, udev events, control requests, reloads and timers
/// from every other thread enter it as work items, in order, and the parts
/// that read or change the state assert that they run on it (`assertOwner`).
///
/// Two implementations: `DispatchExecutor` (the daemon, a serial dispatch
/// queue) and `EmbeddedExecutor` (tests: work runs when the test says so and
/// timers fire when the test's clock passes their deadline), as swift-nio
/// offers its embedded event loop beside the real one.
protocol ControlExecutor: AnyObject {
    /// Runs `work` on the executor after what is queued before it. Any thread.
    func execute(_ work: @escaping () -> Void)
    /// Runs `work` on the executor once the monotonic clock reaches `deadline` (ns).
    @discardableResult
    func schedule(at deadline: UInt64, _ work: @escaping () -> Void) -> ScheduledWork
    /// Runs `work` at `start`, then every `interval` ns, until the returned handle is cancelled.
    @discardableResult
    func repeating(every interval: UInt64, from start: UInt64, _ work: @escaping () -> Void) -> ScheduledWork
    /// Runs `work` on the executor and waits for it. Never from the executor itself.
    func sync<T>(_ work: () throws -> T) rethrows -> T
    /// Traps when called off the executor.
    func assertOwner()
}

/// A timer armed with `ControlExecutor.schedule` or `repeating`; `cancel`
/// (on the executor) keeps it from running again.
final class ScheduledWork {
    private(set) var cancelled = false
    /// What else cancelling this stops (the dispatch timer; a repeating timer's next firing).
    fileprivate var onCancel: (() -> Void)?
    func cancel() {
        cancelled = true
        onCancel?()
        onCancel = nil
    }
}

extension ControlExecutor {
    /// `repeating` as one `schedule` after another, on a fixed grid.
    func repeatingBySchedule(every interval: UInt64, from start: UInt64, _ work: @escaping () -> Void) -> ScheduledWork {
        let handle = ScheduledWork()
        func arm(_ at: UInt64) {
            let next = schedule(at: at) { [weak self] in
                guard !handle.cancelled, self != nil else { return }
                work()
                arm(at &+ interval)
            }
            handle.onCancel = { next.cancel() }
        }
        arm(start)
        return handle
    }
}

/// The daemon's executor: one serial dispatch queue. Deadlines are on the
/// environment's monotonic clock and converted to a delay when armed.
final class DispatchExecutor: ControlExecutor {
    private let queue: DispatchQueue
    private let clock: MonotonicClock

    init(label: String = "hanet.control", clock: MonotonicClock) {
        queue = DispatchQueue(label: label)
        self.clock = clock
    }

    func execute(_ work: @escaping () -> Void) {
        queue.async { work() }
    }

    /// A dispatch timer source per timer, cancelled with its handle: a timer
    /// re-armed before it fires (the PTA's next deadline moves with every
    /// READINESS heard) costs no wake-up, where `asyncAfter` would still fire.
    @discardableResult
    func schedule(at deadline: UInt64, _ work: @escaping () -> Void) -> ScheduledWork {
        timer(at: deadline, repeating: nil, work)
    }

    /// One repeating dispatch timer, with leeway for the kernel to coalesce wake-ups.
    @discardableResult
    func repeating(every interval: UInt64, from start: UInt64, _ work: @escaping () -> Void) -> ScheduledWork {
        timer(at: start, repeating: interval, work)
    }

    private func timer(at deadline: UInt64, repeating interval: UInt64?, _ work: @escaping () -> Void) -> ScheduledWork {
        let handle = ScheduledWork()
        let now = clock.nowNanos()
        let wait = deadline > now ? deadline - now : 0
        let source = DispatchSource.makeTimerSource(queue: queue)
        let start = DispatchTime.now() + .nanoseconds(Int(min(wait, UInt64(Int.max))))
        if let interval {
            source.schedule(deadline: start, repeating: .nanoseconds(Int(interval)), leeway: .nanoseconds(Int(min(interval / 40, 5_000_000))))
        } else {
            source.schedule(deadline: start, leeway: .microseconds(200))
        }
        // The source holds the handle until cancelled (a one-shot cancels itself
        // when it fires), so a timer whose handle the caller dropped still runs.
        source.setEventHandler {
            guard !handle.cancelled else { return }
            if interval == nil { handle.cancel() }
            work()
        }
        handle.onCancel = { source.cancel() }
        source.resume()
        return handle
    }

    func sync<T>(_ work: () throws -> T) rethrows -> T {
        try queue.sync(execute: work)
    }

    /// A check of the current queue, cheap enough for every decision.
    func assertOwner() {
        dispatchPrecondition(condition: .onQueue(queue))
    }
}

/// The test seam: nothing runs until the test calls `run()`: queued work in
/// order (including work that work queues), then the timers the test's clock
/// has passed. `DecisionCluster.advance` moves one clock for several
/// executors and runs them at each deadline. Single-threaded: the test
/// thread is the owner while it runs work.
final class EmbeddedExecutor: ControlExecutor {
    private var queued: [() -> Void] = []
    private var timers: [(deadline: UInt64, seq: Int, handle: ScheduledWork, work: () -> Void)] = []
    private var seq = 0
    private var running = false
    let clock: ManualClock

    init(clock: ManualClock) {
        self.clock = clock
    }

    func execute(_ work: @escaping () -> Void) {
        queued.append(work)
    }

    @discardableResult
    func schedule(at deadline: UInt64, _ work: @escaping () -> Void) -> ScheduledWork {
        let handle = ScheduledWork()
        seq += 1
        timers.append((deadline, seq, handle, work))
        return handle
    }

    @discardableResult
    func repeating(every interval: UInt64, from start: UInt64, _ work: @escaping () -> Void) -> ScheduledWork {
        repeatingBySchedule(every: interval, from: start, work)
    }

    /// Runs `work` at once, as the owner; queued work waits for `run`.
    func sync<T>(_ work: () throws -> T) rethrows -> T {
        let was = running
        running = true
        defer { running = was }
        return try work()
    }

    func assertOwner() {
        precondition(running, "daemon state touched outside the executor")
    }

    /// Work items and timers run so far.
    private(set) var ranCount = 0

    /// The earliest deadline of a timer not cancelled yet.
    var nextDeadline: UInt64? {
        timers.filter { !$0.handle.cancelled }.map(\.deadline).min()
    }

    /// Runs queued work (and timers already due) until nothing is left.
    func run() {
        let was = running
        running = true
        defer { running = was }
        while true {
            if !queued.isEmpty {
                ranCount += 1
                queued.removeFirst()()
                continue
            }
            guard let i = dueTimerIndex(now: clock.nowNanos()) else { return }
            let t = timers.remove(at: i)
            if !t.handle.cancelled {
                ranCount += 1
                t.work()
            }
        }
    }

    /// Timers not cancelled yet.
    var pendingTimers: Int { timers.filter { !$0.handle.cancelled }.count }

    private func dueTimerIndex(now: UInt64) -> Int? {
        var best: Int?
        for (i, t) in timers.enumerated() where t.deadline <= now {
            if let b = best, (timers[b].deadline, timers[b].seq) < (t.deadline, t.seq) { continue }
            best = i
        }
        return best
    }
}
