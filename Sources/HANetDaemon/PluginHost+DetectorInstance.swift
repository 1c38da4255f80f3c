import CHANetPlugin
import Dispatch
import Glibc
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
    private let sink: ReportSink?
    /// This instance's damping (init_wait_ms, updelay_ms, downdelay_ms), applied by the daemon's `SlaveHealthTracker`.
    public let damping: DetectorDamper.Settings
    private let pollTimingBox = PollTimingBox()
    /// Called after every poll that took longer than HANET_POLL_BUDGET_MS, with
    /// its duration and the line to log (nil when the rate limit holds it back).
    var onSlowPoll: ((_ nanos: UInt64, _ log: String?) -> Void)?

    init(typeName: String, pluginID: String, slave: String, intervalMillis: Int, type: hanet_detector_type,
         state: UnsafeMutableRawPointer?, threadSafe: Bool, keepAlive: [AnyObject],
         sink: ReportSink? = nil, damping: DetectorDamper.Settings = .init()) {
        self.countersBox = sink?.counters
        self.sink = sink
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
        let call = { e.link.name.withCString { name in
            var ev = hanet_link_event()
            ev.struct_size = UInt32(MemoryLayout<hanet_link_event>.size)
            ev.ifindex = e.link.index
            ev.name = name
            ev.flags = e.removed ? 0 : e.link.flags
            ev.operstate = e.removed ? 1 : UInt32(e.link.operState)
            ev.timestamp_ns = e.timestampNanos
            handler(self.state, &ev)
        } }
        if let sink { sink.withCause(e.timestampNanos, call) } else { call() }
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

/// Delivers one instance's reports, each with the monotonic time of what
/// caused it, on the thread that reported. Reports made inside `create` wait
/// until `open` (the instance exists then); nothing is delivered once closed.
/// No damping here: the daemon damps on its executor (`SlaveHealthTracker`).
///
/// A report made while the host passes a link event to the plugin, on that
/// same thread, carries the event's kernel timestamp: the time of the fault,
/// not of the report, is what a switch is measured from.
final class ReportSink {
    typealias Deliver = (_ health: Health, _ reason: String, _ at: UInt64) -> Void
    private let deliver: Deliver
    private let lock = Lock()
    private var closed = false
    private var started = false
    private var early: [(Health, String, UInt64)] = []
    /// The link event being handed to the plugin, and the thread doing it.
    private var cause: (thread: pthread_t, nanos: UInt64)?
    private let clock: () -> UInt64
    let counters = DetectorCountersBox()

    init(clock: @escaping () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }, deliver: @escaping Deliver) {
        self.deliver = deliver
        self.clock = clock
    }

    func enqueue(_ health: Health, _ reason: String) {
        lock.lock()
        let at = cause.flatMap { pthread_equal($0.thread, pthread_self()) != 0 ? $0.nanos : nil } ?? clock()
        if closed {
            lock.unlock()
            return
        }
        if !started {
            early.append((health, reason, at))
            lock.unlock()
            return
        }
        lock.unlock()
        deliver(health, reason, at)
    }

    /// Runs `body` (a call into the plugin for a link event) with `nanos` as the cause of what it reports.
    func withCause(_ nanos: UInt64, _ body: () -> Void) {
        lock.lock()
        cause = (pthread_self(), nanos)
        lock.unlock()
        body()
        lock.lock()
        cause = nil
        lock.unlock()
    }

    func open() {
        lock.lock()
        started = true
        let pending = closed ? [] : early
        early.removeAll()
        lock.unlock()
        for (h, r, at) in pending { deliver(h, r, at) }
    }

    func close() {
        lock.lock()
        closed = true
        started = true
        early.removeAll()
        lock.unlock()
    }
}
