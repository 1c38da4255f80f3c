import DequeModule
import FoundationEssentials
import HANetSystem

/// What an event is about. The raw values are the `kind` of `hanet events
/// --json` and `HANET_EVENT` of hooks; docs/operations.md lists every one (a
/// test holds the two together).
public enum EventKind: String, CaseIterable, Codable, Sendable {
    /// The daemon started (`to`: the active slave, adopted or none yet).
    case start
    /// The data plane forwards on its first active slave (also sent to systemd).
    case ready
    /// The active slave changed.
    case `switch`
    /// A detector's verdict changed.
    case verdict
    /// A slave's effective health changed (after the policy and the delays).
    case health
    /// A PTA message sent or received (not RENEW, its ACK or READINESS: too frequent).
    case pta
    /// Our sibling now carries this node.
    case ptaServed = "pta-served"
    /// This node carries a sibling.
    case ptaServing = "pta-serving"
    /// This node stopped carrying a sibling.
    case ptaStopped = "pta-stopped"
    /// A sibling's readiness changed.
    case siblingReadiness = "sibling-readiness"
    /// This node moved from one carrying sibling to another.
    case siblingMove = "sibling-move"
    /// A hot-plug attach, claim, learned sibling, detach or refusal.
    case hotplug
    /// Routed mode: this server's addresses announced or withdrawn, BIRD
    /// answering or not, a BIRD protocol's state changed.
    case routing
    /// A reload was applied.
    case reload
    /// A reload was refused; the running configuration stays.
    case reloadRefused = "reload-refused"
    /// The daemon is stopping.
    case stop
}

/// One thing that happened in the daemon, as `hanet events --json` prints it
/// and as hooks see it (`HANET_*` variables). Field names are part of the
/// documented interface (docs/operations.md): append, never rename.
public struct DaemonEvent: Codable, Equatable {
    /// Increases by one per event for the life of the daemon; a gap seen by a
    /// subscriber means it fell behind and events were dropped for it.
    public var seq: UInt64
    public var kind: EventKind
    /// Wall clock, RFC 3339 with fractions.
    public var time: String
    /// CLOCK_MONOTONIC (ns), comparable with `last_switch.trigger_monotonic_ns` and across namespaces of one host.
    public var monotonic_ns: UInt64
    public var node: String
    public var from: String?
    public var to: String?
    public var reason: String?
    public var slave: String?
    public var detector: String?
    public var health: String?
    public var sibling: String?
    /// PTA: "sent TAKEOVER", "received ACK", ...
    public var message: String?
    public var addresses: [String]?
    /// reload: what was applied; reload-refused: every problem found.
    public var changes: [String]?

    public init(seq: UInt64, kind: EventKind, time: String, monotonic_ns: UInt64, node: String) {
        self.seq = seq
        self.kind = kind
        self.time = time
        self.monotonic_ns = monotonic_ns
        self.node = node
    }

    /// The hook environment: every field that is set, as `HANET_<FIELD>`.
    public var environment: [String: String] {
        var env: [String: String] = [
            "HANET_EVENT": kind.rawValue, "HANET_SEQ": String(seq), "HANET_TIME": time,
            "HANET_MONOTONIC_NS": String(monotonic_ns), "HANET_NODE": node,
        ]
        let optional: [(String, String?)] = [
            ("HANET_FROM", from), ("HANET_TO", to), ("HANET_REASON", reason), ("HANET_SLAVE", slave),
            ("HANET_DETECTOR", detector), ("HANET_HEALTH", health), ("HANET_SIBLING", sibling),
            ("HANET_MESSAGE", message), ("HANET_ADDRESSES", addresses?.joined(separator: ",")),
            ("HANET_CHANGES", changes?.joined(separator: "\n")),
        ]
        for (k, v) in optional { if let v { env[k] = v } }
        return env
    }

    /// One line for a terminal: `hanet events` without --json.
    public var line: String {
        var parts = ["\(time) #\(seq) \(kind.rawValue)"]
        if let slave { parts.append("slave=\(slave)") }
        if let detector { parts.append("detector=\(detector)") }
        if let health { parts.append("health=\(health)") }
        if from != nil || to != nil || kind == .switch { parts.append("\(from ?? "none") -> \(to ?? "none")") }
        if let sibling { parts.append("sibling=\(sibling)") }
        if let message { parts.append(message) }
        if let addresses { parts.append(addresses.joined(separator: ",")) }
        if let reason { parts.append("(\(reason))") }
        var out = parts.joined(separator: " ")
        if let changes { out += changes.map { "\n    \($0)" }.joined() }
        return out
    }
}

/// The daemon's recent history: a bounded ring (a `Deque`: old events fall
/// off the front, memory stays flat however long the daemon runs) plus live
/// subscribers, each with its own bounded backlog so a slow `hanet events
/// --follow` never holds up the control queue.
public final class DaemonEvents {
    /// What a subscriber reads from: events in order, or nil once closed.
    public final class Subscription {
        private let condition = Condition()
        private var pending = Deque<DaemonEvent>()
        private var closed = false
        let capacity: Int
        /// Events this subscriber lost because it read too slowly.
        public private(set) var dropped = 0

        init(capacity: Int) { self.capacity = capacity }

        func push(_ e: DaemonEvent) {
            condition.lock()
            if !closed {
                if pending.count >= capacity { pending.removeFirst(); dropped += 1 }
                pending.append(e)
                condition.signal()
            }
            condition.unlock()
        }

        /// Waits up to `timeout` seconds; [] on timeout, nil when closed.
        public func next(timeout: Double) -> [DaemonEvent]? {
            condition.lock()
            defer { condition.unlock() }
            let deadline = Condition.deadline(after: timeout)
            while pending.isEmpty && !closed {
                if !condition.wait(untilNanos: deadline) { break }
            }
            if pending.isEmpty { return closed ? nil : [] }
            let out = Array(pending)
            pending.removeAll(keepingCapacity: true)
            return out
        }

        public func close() {
            condition.lock()
            closed = true
            condition.broadcast()
            condition.unlock()
        }
    }

    public let capacity: Int
    let node: String
    private let lock = Lock()
    /// Oldest first; `seq` increases by one from front to back.
    private var ring = Deque<DaemonEvent>()
    private var nextSeq: UInt64 = 1
    private var subscribers: [ObjectIdentifier: Subscription] = [:]
    private let clock: () -> UInt64
    /// Called with every event after it is stored (hooks, metrics).
    var observers: [(DaemonEvent) -> Void] = []

    init(node: String, capacity: Int = 1000, clock: @escaping () -> UInt64) {
        self.node = node
        self.capacity = max(1, capacity)
        self.clock = clock
        ring.reserveCapacity(self.capacity)
    }

    /// Records an event; `fill` sets its kind-specific fields.
    @discardableResult
    func emit(_ kind: EventKind, _ fill: (inout DaemonEvent) -> Void = { _ in }) -> DaemonEvent {
        lock.lock()
        var e = DaemonEvent(seq: nextSeq, kind: kind, time: DaemonLog.timestamp(Date()), monotonic_ns: clock(), node: node)
        nextSeq += 1
        fill(&e)
        if ring.count == capacity { ring.removeFirst() }
        ring.append(e)
        let subs = Array(subscribers.values)
        let obs = observers
        lock.unlock()
        for s in subs { s.push(e) }
        for o in obs { o(e) }
        return e
    }

    /// The stored events with `seq > after`, oldest first, at most `limit` (the newest ones).
    public func recent(after: UInt64 = 0, limit: Int? = nil) -> [DaemonEvent] {
        lock.lock(); defer { lock.unlock() }
        // The ring holds consecutive seqs, so the events after `after` are a suffix of it.
        let newer = ring.count - (ring.firstIndex { $0.seq > after } ?? ring.count)
        return Array(ring.suffix(min(newer, limit.map { max(0, $0) } ?? newer)))
    }

    public var count: Int {
        lock.lock(); defer { lock.unlock() }
        return ring.count
    }

    /// A live feed of every event emitted from now on.
    public func subscribe(backlog: Int = 1000) -> Subscription {
        let s = Subscription(capacity: backlog)
        lock.lock()
        subscribers[ObjectIdentifier(s)] = s
        lock.unlock()
        return s
    }

    public func unsubscribe(_ s: Subscription) {
        lock.lock()
        subscribers[ObjectIdentifier(s)] = nil
        lock.unlock()
        s.close()
    }

    /// Ends every subscription (daemon stopping).
    func closeAll() {
        lock.lock()
        let subs = Array(subscribers.values)
        subscribers.removeAll()
        lock.unlock()
        for s in subs { s.close() }
    }
}
