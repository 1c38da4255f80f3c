import CHANetPlugin
import Dispatch
import FoundationEssentials
import HANetCore
import HANetSystem

/// One detector watching one slave. The ABI lets a plugin assume that calls
/// into one instance never overlap (unless it declared THREAD_SAFE) and that
/// nothing is called after `destroy`; this class is where both promises are kept.
public final class DetectorInstance {
    public let typeName: String
    public let pluginID: String
    public let slave: String
    /// How often the daemon should call `poll`; 0 = event-driven only.
    public let intervalMillis: Int

    private let type: hanet_detector_type
    private let state: UnsafeMutableRawPointer?
    private let threadSafe: Bool
    /// Config, C strings and the report queue the plugin may still point into.
    private var keepAlive: [AnyObject]
    private let condition = Condition()
    private var inFlight = 0
    private var destroyed = false
    var onDestroy: (() -> Void)?
    private let countersBox: DetectorCountersBox?
    /// The host's damping for this instance (init_wait_ms, updelay_ms, downdelay_ms).
    public let damping: DetectorDamper.Settings
    private let pollTimingBox = PollTimingBox()
    /// Called after every poll that took longer than HANET_POLL_BUDGET_MS, with
    /// its duration and the line to log (nil when the rate limit holds it back).
    var onSlowPoll: ((_ nanos: UInt64, _ log: String?) -> Void)?

    init(typeName: String, pluginID: String, slave: String, intervalMillis: Int, type: hanet_detector_type,
         state: UnsafeMutableRawPointer?, threadSafe: Bool, keepAlive: [AnyObject],
         counters: DetectorCountersBox? = nil, damping: DetectorDamper.Settings = .init()) {
        self.countersBox = counters
        self.damping = damping
        self.typeName = typeName
        self.pluginID = pluginID
        self.slave = slave
        self.intervalMillis = intervalMillis
        self.type = type
        self.state = state
        self.threadSafe = threadSafe
        self.keepAlive = keepAlive
    }

    deinit {
        destroy()
    }

    /// The plugin's probe counters (ABI 1.1 `report_counters`), nil when it
    /// never reported any (event-driven detectors, 1.0 plugins). Any thread.
    public var counters: DetectorCounters? { countersBox?.load() }

    /// How this instance's polls measure against HANET_POLL_BUDGET_MS. Any thread.
    public var pollTiming: PollTiming { pollTimingBox.load() }

    /// True once `destroy` ran (explicitly, or because the plugin was disabled).
    public var isDestroyed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return destroyed
    }

    private func enter() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !destroyed && !threadSafe && inFlight > 0 { condition.wait() }
        if destroyed { return false }
        inFlight += 1
        return true
    }

    private func leave() {
        condition.lock()
        inFlight -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// One check (the daemon's timer calls this every `intervalMillis`).
    public func poll() {
        guard let poll = type.poll, enter() else { return }
        let start = DispatchTime.now().uptimeNanoseconds
        poll(state)
        let end = DispatchTime.now().uptimeNanoseconds
        let hook = onSlowPoll
        leave()
        let nanos = end &- start
        let (slow, line) = pollTimingBox.record(nanos: nanos, now: end)
        if slow { hook?(nanos, line) }
    }

    /// A netlink notification about this instance's slave. A removed link is
    /// passed with no flags and operstate "notpresent", which is what it is.
    public func linkEvent(_ e: KernelLinkEvent) {
        guard let handler = type.link_event, enter() else { return }
        defer { leave() }
        e.link.name.withCString { name in
            var ev = hanet_link_event()
            ev.struct_size = UInt32(MemoryLayout<hanet_link_event>.size)
            ev.ifindex = e.link.index
            ev.name = name
            ev.flags = e.removed ? 0 : e.link.flags
            ev.operstate = e.removed ? 1 : UInt32(e.link.operState)
            ev.timestamp_ns = e.timestampNanos
            handler(state, &ev)
        }
    }

    /// Waits for calls in progress, then calls the plugin's destroy. Later
    /// calls are no-ops and reports still queued are dropped. Must not be
    /// called from inside this instance's own callback.
    public func destroy() {
        condition.lock()
        if destroyed {
            condition.unlock()
            return
        }
        destroyed = true
        while inFlight > 0 { condition.wait() }
        condition.unlock()
        onDestroy?()
        onDestroy = nil
        type.destroy?(state)
        keepAlive.removeAll()
    }
}

/// Delivers one instance's reports in order on a queue of its own, damped
/// by `DetectorDamper`. It starts suspended so that a verdict reported
/// inside `create` waits until the instance exists, and drops everything once
/// closed (including verdicts still held by the damper).
final class ReportSink {
    private let queue: DispatchQueue
    private let deliver: (Health, String) -> Void
    private let lock = Lock()
    private var closed = false
    private var started = false
    /// Touched only on `queue`.
    private var damper: DetectorDamper
    private let clock: () -> UInt64
    let counters = DetectorCountersBox()

    init(label: String, damping: DetectorDamper.Settings = .init(), clock: @escaping () -> UInt64 = { DispatchTime.now().uptimeNanoseconds },
         deliver: @escaping (Health, String) -> Void) {
        queue = DispatchQueue(label: label, attributes: .initiallyInactive)
        self.deliver = deliver
        self.clock = clock
        damper = DetectorDamper(settings: damping, createdAt: clock())
    }

    func enqueue(_ health: Health, _ reason: String) {
        queue.async { [self] in
            let out = damper.offer(health, reason, now: clock())
            pass(out)
            scheduleTick()
        }
    }

    private func pass(_ verdict: (health: Health, reason: String)?) {
        guard let verdict else { return }
        lock.lock()
        let drop = closed
        lock.unlock()
        if !drop { deliver(verdict.health, verdict.reason) }
    }

    /// A held verdict is re-examined at its deadline; a later report that
    /// cancels or replaces it makes the tick a no-op.
    private func scheduleTick() {
        guard let due = damper.deadline else { return }
        let now = clock()
        let wait = due > now ? due - now : 0
        queue.asyncAfter(deadline: .now() + .nanoseconds(Int(min(wait, UInt64(Int.max))))) { [self] in
            pass(damper.tick(now: clock()))
            scheduleTick()
        }
    }

    func open() {
        lock.lock()
        let start = !started
        started = true
        lock.unlock()
        if start { queue.activate() }
    }

    func close() {
        lock.lock()
        closed = true
        let start = !started
        started = true
        lock.unlock()
        // An inactive queue must be activated before it may be released.
        if start { queue.activate() }
    }
}
