import FoundationEssentials
import HANetCore
import HANetSystem

/// What the routing agent tells the daemon: each becomes a `routing` event.
struct RoutingNews: Equatable {
    var message: String
    var reason: String?
    var addresses: [IPv4Address] = []
}

/// The routed mode's part (docs/routing.md): HANet's intent for the routing
/// engine, applied on an executor of its own so that a slow or absent BIRD
/// never delays a switch.
///
/// Its rules:
/// - This server's addresses are announced while a public slave is active
///   and withdrawn while none is (the master then runs over a private link,
///   and the sibling's less preferred announcement takes the traffic). The
///   daemon says which after every decision (`publicActive`); nothing is
///   sent before the first, so a restart does not withdraw an address that
///   the previous instance announced and the first decision keeps.
/// - Carried siblings are in the fragment from the first load on; BFD over
///   the private link makes their routes valid or not, not HANet.
/// - The first load writes the whole fragment and configures BIRD; later
///   changes of the announcement are `enable`/`disable` (0.1 ms). A failed
///   call leaves the intent pending: the next poll (every `pollInterval`)
///   loads everything again, so a BIRD that restarted or was not up yet gets
///   the intent as soon as it answers.
/// - Every poll reads BIRD's protocols; a change of a protocol's state, and
///   BIRD starting or stopping to answer, is news (an event), never a log
///   line per poll.
final class RoutingAgent {
    /// Between polls of BIRD's protocols, and between tries while BIRD does not answer.
    static let pollInterval: UInt64 = 1_000_000_000

    let engine: RoutingEngine
    let config: HANetConfig.Routing
    /// This server's addresses, as announced.
    let own: [IPv4Address]
    private let io: ControlExecutor
    private let clock: MonotonicClock
    private let log: DaemonLog
    private let news: (RoutingNews) -> Void

    // On `io`:
    private var wanted: Bool?
    /// The announcement BIRD has, as far as HANet knows; nil: unknown (not loaded, or a call failed).
    private var applied: Bool?
    private var protocols: [BIRDProtocol] = []
    private var failure: String?
    private var poll: ScheduledWork?
    private var changes = 0

    /// What `status` shows, copied out of `io` under a lock.
    private let lock = Lock()
    private var snapshot: DaemonStatus.Routing

    init(engine: RoutingEngine, config: HANetConfig.Routing, own: [IPv4Address], carried: [BIRDFragment.Carried],
         io: ControlExecutor, clock: MonotonicClock, log: DaemonLog, news: @escaping (RoutingNews) -> Void) {
        self.engine = engine
        self.config = config
        self.own = own
        self.io = io
        self.clock = clock
        self.log = log
        self.news = news
        snapshot = DaemonStatus.Routing(
            engine: config.engine.rawValue, control_socket: config.controlSocket, include_file: config.includeFile,
            state: "waiting for the first decision", own: own.map(\.description), own_announced: false,
            carried: carried.map { .init(sibling: $0.sibling, next_hop: $0.nextHop.description,
                                         addresses: $0.addresses.map(\.description), enabled: $0.enabled) },
            protocols: [], changes: 0)
    }

    func start() {
        io.execute { [self] in
            poll = io.repeating(every: Self.pollInterval, from: clock.nowNanos() &+ Self.pollInterval) { [weak self] in
                self?.tick()
            }
        }
    }

    /// After every decision of the switcher: whether a public slave is active.
    func publicActive(_ yes: Bool, reason: String) {
        io.execute { [self] in
            guard wanted != yes else { return }
            wanted = yes
            apply(reason: reason)
        }
    }

    /// The daemon stops. With `withdraw` (teardown: the master and its
    /// addresses go) the announcement is withdrawn first; otherwise BIRD
    /// keeps announcing what the data plane, left as it is, still serves.
    func stop(withdraw: Bool) {
        io.sync {
            poll?.cancel()
            poll = nil
            if withdraw, applied != false {
                do { try engine.withdraw() } catch { log.warning("routing: withdrawing at stop: \(error)") }
            }
        }
    }

    var status: DaemonStatus.Routing {
        lock.lock(); defer { lock.unlock() }
        return snapshot
    }

    // MARK: on io

    private func tick() {
        if wanted != nil, applied != wanted { apply(reason: "retry") }
        refresh()
    }

    private func apply(reason: String) {
        io.assertOwner()
        guard let want = wanted else { return }
        let start = clock.nowNanos()
        do throws(BIRDControlError) {
            if applied == nil {
                try engine.load(ownAnnounced: want)
            } else if want {
                try engine.announce(own)
            } else {
                try engine.withdraw()
            }
            applied = want
            changes += 1
            let ms = Double(clock.nowNanos() &- start) / 1e6
            log.info("routing: \(want ? "announced" : "withdrew") \(own.map(\.description).joined(separator: ", ")) in \(UTCTimestamp.fixed(ms, 2)) ms (\(reason))")
            news(RoutingNews(message: want ? "announced" : "withdrawn", reason: reason, addresses: own))
            answered()
        } catch {
            applied = nil
            failed(error)
        }
        publish()
    }

    private func refresh() {
        do throws(BIRDControlError) {
            let now = try engine.status().protocols
            let before = Dictionary(protocols.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            for p in now {
                let old = before[p.name]
                if old == nil || old!.state != p.state || old!.info != p.info {
                    news(RoutingNews(message: "\(p.name): \(p.summary)", reason: "was \(old?.summary ?? "not running")"))
                }
            }
            protocols = now
            answered()
        } catch {
            failed(error)
        }
        publish()
    }

    private func answered() {
        guard let was = failure else { return }
        failure = nil
        log.info("routing: BIRD answers again at \(config.controlSocket)")
        news(RoutingNews(message: "engine answering", reason: "after: \(was)"))
    }

    /// Logged and told once per distinct failure, not per retry.
    private func failed(_ error: BIRDControlError) {
        let text = "\(error)"
        guard text != failure else { return }
        failure = text
        log.error("routing: \(text); retrying every \(Self.pollInterval / 1_000_000_000) s")
        news(RoutingNews(message: "engine not answering", reason: text))
    }

    private func publish() {
        lock.lock(); defer { lock.unlock() }
        snapshot.state = failure.map { "not answering: \($0)" } ?? (wanted == nil ? "waiting for the first decision" : "ok")
        snapshot.own_announced = applied ?? false
        snapshot.pending = wanted != nil && applied != wanted ? true : nil
        snapshot.protocols = protocols.map { .init(name: $0.name, proto: $0.proto, table: $0.table, state: $0.state.text,
                                                    since: $0.since, info: $0.info) }
        snapshot.changes = changes
    }
}

extension BIRDProtocol {
    /// "up Established", "start Active", "down": BIRD's state and what it adds.
    var summary: String { info.isEmpty ? state.text : "\(state.text) \(info)" }
}

extension BIRDProtocol.State {
    /// BIRD's own word for the state.
    var text: String {
        switch self {
        case .up: return "up"
        case .down: return "down"
        case .start: return "start"
        case .stop: return "stop"
        case .flush: return "flush"
        case .other(let s): return s
        }
    }
}
