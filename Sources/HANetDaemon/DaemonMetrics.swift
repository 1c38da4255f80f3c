import FoundationEssentials
import HANetCore
import HANetSystem
import Prometheus

/// The daemon's Prometheus metrics (swift-prometheus). Counters move with
/// events as they happen (switches, verdicts, PTA messages, reloads); the
/// gauges that describe the present (slave flags, PTA state, detector
/// counters) are refreshed from the daemon's status at each scrape, so a
/// scrape always shows what `hanet status` would.
final class DaemonMetrics {
    let registry = PrometheusCollectorRegistry()
    private let lock = Lock()
    /// Time spent active, per slave, up to the last switch or scrape.
    private var activeSeconds: [String: Double] = [:]
    private var activeName: String?
    private var activeSinceNanos: UInt64
    private let clock: () -> UInt64
    /// Detector totals last seen, to turn the plugins' running totals into counter increments.
    private var lastProbes: [String: (sent: UInt64, replies: UInt64)] = [:]
    /// Refusal totals last seen, to turn them into counter increments.
    private var lastRefused: [String: UInt64] = [:]
    private let switchHistogram: ValueHistogram
    /// Active seconds already added to the counter, per slave (touched only while rendering, under `renderLock`).
    private var emittedActive: [String: Double] = [:]
    private let renderLock = Lock()
    /// The per-slave gauges the last scrape set: a slave a reload or hot-plug
    /// removed loses them (a gauge left behind would describe a slave that is gone).
    private var slaveGauges: [ObjectIdentifier: Gauge] = [:]

    init(clock: @escaping () -> UInt64, startedAt: Date) {
        self.clock = clock
        activeSinceNanos = clock()
        switchHistogram = registry.makeValueHistogram(
            descriptor: Self.name("switch_duration", "seconds",
                                  "From the fault (kernel event or detector report) to the new forwarding rules in place."),
            buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5])
        registry.makeGauge(descriptor: Self.name("start_time", "seconds", "When the daemon started (Unix time).")).set(to: startedAt.timeIntervalSince1970)
    }

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "hanet", metricName: metric, unitName: unit, helpText: help)
    }

    private func counter(_ metric: String, _ help: String, _ labels: [(String, String)]) -> Counter {
        registry.makeCounter(descriptor: Self.name(metric, "total", help), labels: labels)
    }

    private func gauge(_ metric: String, _ unit: String, _ help: String, _ labels: [(String, String)]) -> Gauge {
        registry.makeGauge(descriptor: Self.name(metric, unit, help), labels: labels)
    }

    // MARK: events

    /// Every event moves its counters.
    func observe(_ e: DaemonEvent) {
        counter("events", "Events recorded, by kind (see `hanet events`).", [("kind", e.kind.rawValue)]).increment()
        switch e.kind {
        case .switch:
            lock.lock()
            accrue(now: e.monotonic_ns)
            activeName = e.to
            lock.unlock()
            if e.from != nil {
                counter("switches", "Changes of the active slave (the first activation at start is not counted).",
                        [("from", e.from ?? "none"), ("to", e.to ?? "none")]).increment()
            }
        case .verdict:
            counter("detector_verdicts", "Detector verdict changes, by the new health.",
                    [("slave", e.slave ?? ""), ("detector", e.detector ?? ""), ("health", e.health ?? "")]).increment()
        case .routing where e.message == "announced" || e.message == "withdrawn":
            counter("routing_changes", "This server's addresses announced or withdrawn through the routing engine.",
                    [("action", e.message ?? "")]).increment()
        case .reload, .reloadRefused:
            counter("reloads", "Configuration reloads, applied or refused.",
                    [("result", e.kind == .reload ? "applied" : "refused")]).increment()
        default:
            break
        }
    }

    /// Counts a PTA message without an event (RENEW and its ACK are too frequent for the event ring).
    func ptaMessage(direction: String, type: String) {
        counter("pta_messages", "PTA messages sent and received (RENEW and its ACK included).",
                [("direction", direction), ("type", type)]).increment()
    }

    func switched(ruleSeconds: Double?) {
        if let s = ruleSeconds { switchHistogram.record(s) }
    }

    /// The active slave at start (adopted or first choice) starts its clock without counting a switch.
    func setActive(_ name: String?, now: UInt64) {
        lock.lock()
        accrue(now: now)
        activeName = name
        lock.unlock()
    }

    private func accrue(now: UInt64) {
        if let a = activeName, now > activeSinceNanos {
            activeSeconds[a, default: 0] += Double(now - activeSinceNanos) / 1e9
        }
        activeSinceNanos = now
    }

    // MARK: scrape

    /// Refreshes the gauges from `status` and renders the text format.
    func render(_ st: DaemonStatus) -> String {
        renderLock.lock()
        defer { renderLock.unlock() }
        lock.lock()
        if activeName != st.active { activeName = st.active }
        accrue(now: clock())
        let seconds = activeSeconds
        lock.unlock()
        for (slave, s) in seconds {
            let delta = s - (emittedActive[slave] ?? 0)
            emittedActive[slave] = s
            if delta > 0 {
                registry.makeCounter(descriptor: Self.name("slave_active", "seconds_total",
                                                           "Time each slave has been the active one since the daemon started."),
                                     labels: [("slave", slave)]).increment(by: delta)
            }
        }
        gauge("up", "", "1 while the daemon answers.", []).set(to: 1)
        gauge("switches_observed", "", "Switches since start, as `hanet status` counts them.", []).set(to: Double(st.switches))
        gauge("adopted", "", "1 when this daemon adopted a data plane a previous instance left.", []).set(to: st.adopted ? 1 : 0)
        var live: [ObjectIdentifier: Gauge] = [:]
        func slaveGauge(_ metric: String, _ unit: String, _ help: String, _ labels: [(String, String)]) -> Gauge {
            let g = gauge(metric, unit, help, labels)
            live[ObjectIdentifier(g)] = g
            return g
        }
        for l in st.links {
            let labels = [("slave", l.interface), ("role", l.role), ("type", l.type)]
            slaveGauge("slave_active", "", "1 for the active slave.", labels).set(to: l.linkFlags.contains(.active) ? 1 : 0)
            slaveGauge("slave_good", "", "1 while the slave's detectors say GOOD.", labels).set(to: l.health == Health.good.rawValue ? 1 : 0)
            slaveGauge("slave_carrier", "", "The kernel's carrier flag of the slave.", labels).set(to: l.carrier ? 1 : 0)
            for d in l.detectors {
                let dl = [("slave", l.interface), ("detector", d.name)]
                if let sent = d.probes_sent, let replies = d.replies {
                    let key = "\(l.interface)/\(d.name)"
                    lock.lock()
                    let last = lastProbes[key] ?? (0, 0)
                    lastProbes[key] = (sent, replies)
                    lock.unlock()
                    // A restarted detector instance starts its totals again from zero.
                    counter("detector_probes", "Probes sent by probing detectors.", dl)
                        .increment(by: Int64(sent >= last.sent ? sent - last.sent : sent))
                    counter("detector_replies", "Replies received by probing detectors.", dl)
                        .increment(by: Int64(replies >= last.replies ? replies - last.replies : replies))
                }
                if let age = d.last_reply_age_s {
                    slaveGauge("detector_last_reply_age", "seconds", "Since the detector's last probe reply (its detection latency bound).", dl).set(to: age)
                }
                if let age = d.age_s {
                    slaveGauge("detector_verdict_age", "seconds", "Since the detector's last verdict.", dl).set(to: age)
                }
                slaveGauge("detector_good", "", "1 when the detector's last verdict is GOOD.", dl).set(to: d.health == Health.good.rawValue ? 1 : 0)
            }
        }
        if let r = st.routing {
            gauge("routing_engine_up", "", "1 while the routing engine (BIRD) answers HANet.", [("engine", r.engine)])
                .set(to: r.state.hasPrefix("not answering") ? 0 : 1)
            gauge("routing_own_announced", "", "1 while this server's addresses are announced.", []).set(to: r.own_announced ? 1 : 0)
            // Per protocol, like the slaves: a protocol the operator removed loses its gauge.
            for p in r.protocols {
                slaveGauge("routing_protocol_up", "", "1 while the BIRD protocol is up (BGP sessions, BFD, HANet's static protocols).",
                           [("protocol", p.name), ("proto", p.proto)]).set(to: p.state == "up" ? 1 : 0)
            }
        }
        for (id, g) in slaveGauges where live[id] == nil { registry.unregisterGauge(g) }
        slaveGauges = live
        if let s = st.last_switch?.trigger_to_rules_us {
            gauge("last_switch_rules", "seconds", "The last switch: from the trigger to the rules in place.", []).set(to: s / 1e6)
        }
        let p = st.pta
        let servedState = p.served_by?.state ?? "idle"
        for state in ["idle", "requesting", "served", "releasing"] {
            gauge("pta_requester_state", "", "1 for the requester's current state (this node asking a sibling to carry it).",
                  [("state", state)]).set(to: state == servedState ? 1 : 0)
        }
        for sib in st.siblings ?? [] {
            gauge("sibling_ready", "", "1 while the sibling says it can carry this node's traffic.", [("sibling", sib.name)]).set(to: sib.ready ? 1 : 0)
            gauge("sibling_serves_us", "", "1 while the sibling carries (or is asked to carry) this node's addresses.",
                  [("sibling", sib.name)]).set(to: sib.serves_us ? 1 : 0)
        }
        for (reason, total) in st.refused ?? [:] {
            lock.lock()
            let last = lastRefused[reason] ?? 0
            lastRefused[reason] = total
            lock.unlock()
            counter("refused", "Input refused (PTA datagrams, HELLO answers, control-socket clients, devices), by reason.",
                    [("reason", reason)]).increment(by: Int64(total >= last ? total - last : total))
        }
        gauge("pta_serving_siblings", "", "How many siblings this node carries now.", []).set(to: Double(p.serving.count))
        return registry.emitToString()
    }
}
