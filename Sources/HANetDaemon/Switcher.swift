// The switcher: the slaves, their detectors and health, the active slave, and the decisions.

import FoundationEssentials
import Glibc
import HANetCore
import HANetSystem

/// What the switcher tells the rest of the daemon (the PTA agent and
/// operations): switches, verdicts, slaves coming and going. The daemon is
/// the delegate and fans these out.
protocol SwitcherDelegate: AnyObject {
    /// The data plane forwards to `to` now (rules committed at `rulesAt`), before the switch is logged.
    func activeChanged(to: Slave?)
    /// After the switch is recorded and logged: events, hooks, metrics.
    func switched(from: String?, to: String?, reason: String, trigger: UInt64, rulesAt: UInt64)
    func verdictChanged(slave: String, detector: String, health: Health, reason: String, effectiveChanged: Bool, effective: Health)
    /// A private slave went BAD.
    func privateLinkFailed(_ name: String)
    /// The switcher decided (whether or not it switched): what this node can do for its siblings may have changed.
    func decided()
    /// What the switcher knows of a sibling's readiness to carry this node.
    func readiness(ofSibling name: String, now: UInt64) -> Readiness?
    /// A slave came or left (`removed`): where PTA datagrams may arrive from changed.
    func slavesChanged(removed: String?)
}

/// Detector instances, as the switcher starts them (the plugin host; fakes in tests).
protocol DetectorFactory: AnyObject {
    func detectorTypeNames() -> [String]
    func createDetector(type: String, slave: String, ifindex: Int32, layer: LinkLayer, intervalMillis: Int?,
                        config: [String: HANetConfig.Value],
                        reportAt: @escaping (Health, String, UInt64) -> Void) throws -> DetectorInstance
}

extension PluginHost: DetectorFactory {}

/// The switcher owns the slaves, their detectors and health, the active
/// slave, and the decisions: verdicts in, `ForwardingPlan` out. Everything
/// runs on the daemon's executor, asserted where state changes.
///
/// Its rules:
/// - A verdict goes through the slave's `SlaveHealthTracker`, the one damping
///   stage (each detector's own delays, the policy, the master's delays),
///   with one timer per slave for the earliest held change.
/// - The first decision waits for every slave's first verdict, or for
///   `settleLimit`: deciding on UNKNOWN would move an adopted data plane to
///   whichever slave happened to report first — a blip on restart.
/// - Then every change of a slave's effective health, every sibling
///   readiness change and every slave that comes or goes asks the
///   `InterfaceManager`, and a different answer is a switch.
/// - A switch commits the forwarding rules first (the path is back the
///   moment they commit), then the master's attributes, then the
///   announcements that move the neighbours' caches.
/// - A slave leaves by `retire`: when it is the active one it hands over
///   first, in the same step, so the data plane never forwards to a slave that is gone.
final class Switcher {
    private(set) var slaves: [Slave] = []
    private(set) var active: String?
    private(set) var lastSwitch: DaemonStatus.Switch?
    private(set) var switchCount = 0
    /// True from start until the first decision.
    private(set) var settling = true
    /// When the fault that caused the last switch happened (monotonic ns).
    private(set) var lastSwitchTrigger: UInt64?
    /// Decisions are made only while running (between start and stop).
    var running = false
    /// Replaced by a reload.
    var config: HANetConfig

    let env: DaemonEnvironment
    let executor: ControlExecutor
    let log: DaemonLog
    let detectorFactory: DetectorFactory
    let scheduler = DetectorScheduler()
    weak var delegate: SwitcherDelegate?
    /// Verdicts reported synchronously while `linkChanged` calls the detectors.
    private let inline = InlineVerdicts()
    /// The damping timer armed per slave (its deadline), so one timer serves each.
    private var dampingTimers: [ObjectIdentifier: (deadline: UInt64, work: ScheduledWork)] = [:]

    static let settleLimitNanos: UInt64 = 2_000_000_000

    init(config: HANetConfig, env: DaemonEnvironment, executor: ControlExecutor, log: DaemonLog, detectors: DetectorFactory) {
        self.config = config
        self.env = env
        self.executor = executor
        self.log = log
        self.detectorFactory = detectors
    }

    var activeSlave: Slave? { slaves.first { $0.name == active } }

    func slave(named name: String) -> Slave? { slaves.first { $0.name == name } }

    // MARK: start

    /// The slaves resolved at start, and the active one of an adopted data plane.
    func begin(with resolved: [Slave], adopting: String?) {
        executor.assertOwner()
        slaves = resolved
        active = adopting
    }

    /// Starts every configured detector of every slave.
    func startAllDetectors() throws {
        for s in slaves {
            for name in s.config.detectors { try startDetector(name, on: s) }
        }
    }

    /// Arms the first decision: at once when every slave has reported, or at the settle limit.
    func armFirstDecision() {
        executor.execute { [weak self] in self?.settleIfEveryoneReported() }
        executor.schedule(at: env.clock.nowNanos() &+ Self.settleLimitNanos) { [weak self] in
            guard let self, self.settling else { return }
            self.finishSettling(why: "not every slave had a verdict after \(Self.settleLimitNanos / 1_000_000_000) s")
        }
    }

    // MARK: detectors

    func startDetector(_ name: String, on s: Slave) throws {
        let cfg = config.detectorConfig(name, on: s.config)
        let interval: Int? = cfg["interval_ms"].flatMap { if case .integer(let i) = $0 { return Int(i) } else { return nil } }
        let slaveName = s.name
        let instance = try detectorFactory.createDetector(
            type: name, slave: s.name, ifindex: s.kernel?.index ?? 0, layer: s.attributes.layer,
            intervalMillis: interval, config: cfg) { [weak self] health, reason, at in
                guard let self else { return }
                let v = DaemonInput.Verdict(slave: slaveName, detector: name, health: health, reason: reason, at: at)
                // Reported from inside `linkChanged`, on the executor: handled in the same step.
                if self.inline.collect(v) { return }
                self.executor.execute { [weak self] in self?.verdict(v) }
            }
        s.tracker.started(detector: name, damping: instance.damping, now: env.clock.nowNanos())
        s.detectors.append(instance)
        scheduler.add(instance)
    }

    /// Starts every detector `s` is configured with; returns those that did
    /// not start, with why (the ones that did keep running).
    func startLinkDetectors(_ s: Slave) -> [(detector: String, error: Error)] {
        var failed: [(String, Error)] = []
        for d in s.config.detectors {
            do { try startDetector(d, on: s) } catch { failed.append((d, error)) }
        }
        return failed
    }

    /// Destroys the detectors of `s` that `matches` selects (all by default),
    /// drops them and their polls; returns the ones stopped.
    @discardableResult
    func stopDetectors(of s: Slave, where matches: (DetectorInstance) -> Bool = { _ in true }) -> [DetectorInstance] {
        let stopped = s.detectors.filter(matches)
        for d in stopped { d.destroy() }
        s.detectors.removeAll(where: matches)
        scheduler.prune()
        return stopped
    }

    // MARK: inputs

    /// A kernel link notification.
    func linkChanged(_ e: KernelLinkEvent) {
        executor.assertOwner()
        guard let s = slaves.first(where: { $0.name == e.link.name || $0.kernel?.index == e.link.index }) else { return }
        let index = s.kernel?.index
        s.kernel = e.removed ? nil : e.link
        if s.role == .private, s.kernel?.index != index { delegate?.slavesChanged(removed: nil) }
        // Detectors are called here, on the executor, in event order. What
        // they report while they are called (the carrier detector's verdict)
        // is handled right after, in this same step, with this event's
        // timestamp as its trigger: no second trip through the executor.
        inline.begin()
        for d in s.detectors { d.linkEvent(e) }
        for v in inline.end() { verdict(v) }
        if e.removed { reevaluate(trigger: e.timestampNanos, cause: "\(s.name) removed") }
    }

    /// The link monitor's socket overflowed: a carrier change may be among the
    /// lost notifications. Each slave's state is read again and goes through
    /// `linkChanged` as if it had been notified, so nothing waits for a detector poll.
    func linkNotificationsLost(at now: UInt64) {
        executor.assertOwner()
        log.warning("link monitor: notifications were lost (socket buffer overrun); reading every slave's link state again")
        for s in slaves {
            if let k = try? env.kernel.link(named: s.name) {
                linkChanged(KernelLinkEvent(link: k, removed: false, timestampNanos: now))
            } else if let gone = s.kernel {
                linkChanged(KernelLinkEvent(link: gone, removed: true, timestampNanos: now))
            }
        }
    }

    /// A detector's raw verdict, with the time of its cause.
    func verdict(_ v: DaemonInput.Verdict) {
        executor.assertOwner()
        guard let s = slaves.first(where: { $0.name == v.slave }), s.detectors.contains(where: { $0.typeName == v.detector }) else { return }
        let now = env.clock.nowNanos()
        // When the verdict reached the switcher (the benchmark's detection time); the trigger is its cause.
        s.verdictTimes[v.detector] = now
        let before = s.tracker.effective
        let priorVerdict = s.tracker.verdicts[v.detector]?.health
        let changed = s.tracker.record(detector: v.detector, health: v.health, reason: v.reason, now: now)
        healthMoved(s, from: before, priorVerdict: priorVerdict, detector: v.detector, changed: changed, trigger: v.at)
        armDamping(s)
    }

    /// What follows a slave's verdict or a damped change coming due.
    private func healthMoved(_ s: Slave, from before: Health, priorVerdict: Health?, detector: String?, changed: Bool, trigger: UInt64?) {
        let effective = s.tracker.effective
        if changed {
            log.info("\(s.name): \(before.rawValue) -> \(effective.rawValue) (\(detector.map { "\($0): " } ?? "after delay: ")\(s.tracker.effectiveReason))")
        }
        if let detector, let v = s.tracker.verdicts[detector], changed || priorVerdict != v.health {
            delegate?.verdictChanged(slave: s.name, detector: detector, health: v.health, reason: v.reason,
                                     effectiveChanged: changed, effective: effective)
        }
        if changed, s.role == .private, effective == .bad { delegate?.privateLinkFailed(s.name) }
        guard running, changed else { return }
        if settling {
            settleIfEveryoneReported()
            return
        }
        reevaluate(trigger: trigger, cause: "\(s.name) \(effective.rawValue): \(s.tracker.effectiveReason)")
    }

    /// One timer per slave, at its tracker's earliest deadline.
    func armDamping(_ s: Slave) {
        let id = ObjectIdentifier(s)
        guard let deadline = s.tracker.nextDeadline else {
            dampingTimers.removeValue(forKey: id)?.work.cancel()
            return
        }
        if let armed = dampingTimers[id], armed.deadline == deadline { return }
        dampingTimers[id]?.work.cancel()
        let work = executor.schedule(at: deadline) { [weak self, weak s] in
            guard let self, let s else { return }
            self.dampingTimers[ObjectIdentifier(s)] = nil
            self.dampingDue(s)
        }
        dampingTimers[id] = (deadline, work)
    }

    private func dampingDue(_ s: Slave) {
        executor.assertOwner()
        guard slaves.contains(where: { $0 === s }) else { return }
        let before = s.tracker.effective
        let verdictsBefore = s.tracker.verdicts.mapValues(\.health)
        let changed = s.tracker.tick(now: env.clock.nowNanos())
        // A held verdict passed on is that detector's verdict change.
        let passed = s.tracker.verdicts.keys.sorted().first { verdictsBefore[$0] != s.tracker.verdicts[$0]?.health }
        healthMoved(s, from: before, priorVerdict: passed.flatMap { verdictsBefore[$0] }, detector: passed, changed: changed, trigger: nil)
        armDamping(s)
    }

    func settleIfEveryoneReported() {
        if settling, slaves.allSatisfy({ $0.tracker.effective != .unknown }) {
            finishSettling(why: "every slave has a verdict")
        }
    }

    private func finishSettling(why: String) {
        guard running else { return }
        settling = false
        reevaluate(trigger: nil, cause: "start (\(why))")
    }

    // MARK: switching

    /// Asks the interface manager and switches when it says so.
    func reevaluate(trigger: UInt64?, cause: String) {
        executor.assertOwner()
        // Told after the decision: a slave that failed over to another public one never says "unable".
        defer { delegate?.decided() }
        guard running, !settling else { return }
        let decision = InterfaceManager.choose(candidates, current: active, failback: config.master.failback)
        guard decision.active != active else { return }
        switchTo(decision.active, reason: "\(cause); \(decision.reason)", trigger: trigger ?? env.clock.nowNanos())
    }

    /// The switch itself, in the order that shortens the outage: the
    /// forwarding rules first, then the master's attributes, then the
    /// announcements that move the neighbours' caches.
    func switchTo(_ name: String?, reason: String, trigger: UInt64) {
        executor.assertOwner()
        let from = active
        let new = name.flatMap { n in slaves.first { $0.name == n } }
        let old = from.flatMap { n in slaves.first { $0.name == n } }
        do {
            try env.dataPlane.apply(plan(for: new))
        } catch {
            log.error("switch \(from ?? "none") -> \(name ?? "none") failed, data plane unchanged: \(error)")
            return
        }
        let rulesAt = env.clock.nowNanos()
        active = name
        // The first activation at start is not a failover.
        if from != nil { switchCount += 1 }
        if let new {
            do {
                try matchMaster(to: new, from: old)
            } catch {
                log.error("master attributes for \(new.name): \(error)")
            }
            if new.role == .public, let mac = masterMAC(for: new) {
                announce(config.master.addresses.map(\.address), config.master.ipv6Addresses.map(\.address),
                         mac: mac, on: new.name, context: "")
            }
        }
        lastSwitchTrigger = trigger
        delegate?.activeChanged(to: new)
        let doneAt = env.clock.nowNanos()
        lastSwitch = DaemonStatus.Switch(
            time: DaemonLog.timestamp(Date()), from: from, to: name, reason: reason,
            trigger_to_rules_us: Double(rulesAt &- trigger) / 1000, trigger_to_done_us: Double(doneAt &- trigger) / 1000,
            trigger_monotonic_ns: trigger,
            verdict_monotonic_ns: old?.verdictTimes.values.max().flatMap { $0 >= trigger ? $0 : nil })
        log.info("switch \(from ?? "none") -> \(name ?? "none"): \(reason) (rules in place \(UTCTimestamp.fixed(Double(rulesAt &- trigger) / 1e6, 3)) ms after the trigger, done \(UTCTimestamp.fixed(Double(doneAt &- trigger) / 1e6, 3)) ms)")
        delegate?.switched(from: from, to: name, reason: reason, trigger: trigger, rulesAt: rulesAt)
    }

    /// Gratuitous ARP for `addresses` (`garp_count` times) and unsolicited
    /// NAs with the Override flag for `ipv6` (`na_count` times), with `mac`
    /// on `interface`; failures are logged, prefixed with `context`.
    func announce(_ addresses: [IPv4Address], _ ipv6: [IPv6Address] = [], mac: MACAddress, on interface: String, context: String) {
        let m = config.master
        for a in addresses {
            do {
                try env.announcer.announce(address: a, mac: mac, on: interface, count: m.garpCount, intervalMillis: m.garpIntervalMillis)
            } catch {
                log.error("\(context)gratuitous ARP for \(a) on \(interface): \(error)")
            }
        }
        guard m.naCount > 0, !ipv6.isEmpty else { return }
        guard let na = env.naAnnouncer else {
            log.error("\(context)no way to send neighbour advertisements for \(ipv6.map(\.description).joined(separator: ", "))")
            return
        }
        for a in ipv6 {
            do {
                try na.announceNA(address: a, mac: mac, on: interface, count: m.naCount, intervalMillis: m.naIntervalMillis)
            } catch {
                log.error("\(context)neighbour advertisement for \(a) on \(interface): \(error)")
            }
        }
    }

    /// `hanet failover --to IFACE`: an operator's choice, refused when the
    /// slave is not GOOD (a manual switch onto a dead link would be an outage).
    func failover(to name: String) throws {
        executor.assertOwner()
        guard let s = slaves.first(where: { $0.name == name }) else {
            throw HANetError(.notFound, "no slave named \(name); slaves: \(slaves.map(\.name).joined(separator: ", "))")
        }
        guard s.tracker.effective == .good else {
            throw HANetError(.state, "\(name) is \(s.tracker.effective.rawValue) (\(s.tracker.effectiveReason)); refusing to switch to it")
        }
        if active == name { return }
        switchTo(name, reason: "manual failover", trigger: env.clock.nowNanos())
    }

    /// The slaves as the interface manager sees them, private ones with their sibling's readiness and preference.
    var candidates: [SlaveCandidate] {
        let now = env.clock.nowNanos()
        return slaves.map { s in
            var c = s.candidate
            if s.role == .private, let sib = s.config.sibling {
                c.sibling = sib
                c.readiness = delegate?.readiness(ofSibling: sib, now: now)
                c.preference = config.siblings.first { $0.name == sib }?.preference ?? 0
            }
            return c
        }
    }

    /// A node carries a sibling's traffic only from a GOOD public slave of its own.
    var canServeSiblings: Bool {
        guard let s = activeSlave else { return false }
        return s.role == .public && s.tracker.effective == .good
    }

    /// The PTA port closed on every public slave (`PTAGuard`), when this node has siblings to speak PTA with.
    var ptaGuard: PTAGuard {
        PTAGuard(table: config.master.table, port: config.pta.port,
                 publicSlaves: config.siblings.isEmpty ? [] : slaves.filter { $0.role == .public }.map(\.name))
    }

    /// The rules for `slave` active. IPv6 service addresses go into the plan
    /// of an L2 slave only: an L3 slave forwards IPv6 only to an IPv6 peer
    /// (`fwd ip6 to`), which no link type reports, so IPv6 over L3 slaves is not carried.
    func plan(for slave: Slave?) -> ForwardingPlan {
        ForwardingPlan(table: config.master.table, port: config.master.port, active: slave?.name,
                       layer: slave?.attributes.layer ?? .l2,
                       serviceAddresses: config.master.addresses.map(\.address),
                       l3Peer: slave?.peerAddress ?? slave?.config.sibling.flatMap { sib in config.siblings.first { $0.name == sib }?.address },
                       drainNewConnections: slave?.drainsNewConnections ?? false,
                       slaveOwnAddresses: slave?.config.address.map { [$0.address] } ?? [],
                       ipv6ServiceAddresses: slave?.attributes.layer == .l3 ? [] : config.master.ipv6Addresses.map(\.address))
    }

    /// The master follows an L2 active slave's MAC (bonding's
    /// `fail_over_mac=active`): frames then leave with the address the
    /// switch and the neighbours will learn for the service address.
    func masterMAC(for s: Slave) -> MACAddress? {
        s.attributes.layer == .l2 ? s.kernel?.mac : nil
    }

    /// The paper's §3.4: the master takes the link-layer attributes of its
    /// active slave. Neighbour entries are flushed when the kind of path
    /// changes (public to private, L2 to L3), since the old entries point at
    /// hosts the new path cannot reach directly.
    private func matchMaster(to s: Slave, from old: Slave?) throws {
        let m = config.master
        guard let cur = try env.kernel.link(named: m.name) else {
            throw HANetError(.state, "master \(m.name) vanished")
        }
        let noARP = s.attributes.layer == .l3 || s.attributes.noARP
        if cur.noARP != noARP {
            try env.kernel.setNoARP(m.name, noARP)
            try env.kernel.setNoARP(m.port, noARP)
        }
        if let mac = masterMAC(for: s), cur.mac != mac {
            try env.kernel.setMAC(m.name, mac)
        }
        if s.attributes.layer == .l3, let mac = cur.mac, try env.kernel.link(named: m.port)?.mac != mac {
            try env.kernel.setMAC(m.port, mac)
        }
        if cur.mtu != s.mtu { try env.kernel.setMTU(m.name, s.mtu) }
        if let q = s.kernel?.txQueueLength, cur.txQueueLength != q { try env.kernel.setTxQueueLength(m.name, q) }
        if old == nil || old!.role != s.role || old!.attributes.layer != s.attributes.layer {
            try env.kernel.flushNeighbours(on: m.name)
        }
    }

    // MARK: slaves that come and go

    /// Makes an opened slave a candidate: the interface manager sees it from
    /// its next decision. Slaves stay sorted by `order` (config order, then hot links).
    func enlist(_ s: Slave) {
        executor.assertOwner()
        if s.attributes.layer == .l2 {
            do { try env.announcer.prepare(on: s.name) } catch { log.warning("\(error)") }
        }
        slaves.append(s)
        reorder()
        delegate?.slavesChanged(removed: nil)
    }

    /// Sorts the slaves by `order` after a reload changed it.
    func reorder() {
        slaves.sort { $0.order < $1.order }
    }

    /// Stops what runs for `s` (detectors, the frame pump; the TUN goes with
    /// it) and closes its link plugin handle. Idempotent.
    func close(_ s: Slave) {
        stopDetectors(of: s)
        dampingTimers.removeValue(forKey: ObjectIdentifier(s))?.work.cancel()
        s.frameLink?.stop()
        s.link?.close()
        env.announcer.release(on: s.name)
    }

    /// Takes `s` out of the slaves. When it is the active one it hands over
    /// first, in the same step, to the slave the interface manager picks
    /// among the others, so the data plane never forwards to a slave that is
    /// gone. Then its detectors stop, its link closes and the PTA services
    /// over it end.
    func retire(_ s: Slave, trigger: UInt64, cause: String) {
        executor.assertOwner()
        if active == s.name {
            let candidates = self.candidates.filter { $0.interface != s.name }
            // The interface manager's choice without `s`; when nothing is GOOD
            // or untried, the best that is left: a path that might work beats none.
            let to = InterfaceManager.choose(candidates, current: nil, failback: config.master.failback).active
                ?? candidates.min { InterfaceManager.isPreferred($0, over: $1) }?.interface
            let health = candidates.first { $0.interface == to }?.health
            let why = to.map { health == .good ? "\($0) is the best GOOD slave left" : "no GOOD slave left; trying \($0)" }
                ?? "no slave left"
            switchTo(to, reason: "\(cause); \(why)", trigger: trigger)
        }
        close(s)
        slaves.removeAll { $0 === s }
        delegate?.slavesChanged(removed: s.name)
    }

    /// Drops `s` without a hand-over: a link a reload closed to reopen it.
    func forget(_ s: Slave) {
        executor.assertOwner()
        slaves.removeAll { $0 === s }
    }

    /// `hanet plugins enable|disable` on a running daemon: a disabled
    /// plugin's detector instances stop, an enabled one's start again.
    func pluginStateChanged(_ changes: [(id: String, enabled: Bool)]) {
        executor.assertOwner()
        let now = env.clock.nowNanos()
        for (id, enabled) in changes {
            for s in slaves {
                if !enabled {
                    for d in stopDetectors(of: s, where: { $0.pluginID == id }) {
                        s.tracker.forget(detector: d.typeName, now: now)
                    }
                } else {
                    for name in s.config.detectors where !s.detectors.contains(where: { $0.typeName == name }) {
                        try? startDetector(name, on: s)
                    }
                }
            }
        }
        reevaluate(trigger: nil, cause: "plugin state changed")
    }

    /// Stops every slave's detectors and closes its link (the daemon stops).
    func stop() {
        running = false
        scheduler.stop()
        for s in slaves { close(s) }
    }

    // MARK: status

    /// The links as `hanet status` shows them.
    func linkStatus(now: UInt64) -> [DaemonStatus.Link] {
        slaves.map { s -> DaemonStatus.Link in
            let flags = LinkFlag.names(active: s.name == active, health: s.tracker.effective)
            let dets = s.detectors.map { d -> DaemonStatus.Detector in
                let v = s.tracker.verdicts[d.typeName]
                let age = s.verdictTimes[d.typeName].map { Double(now &- $0) / 1e9 }
                let c = d.counters
                let t = d.intervalMillis > 0 ? d.pollTiming : nil
                return DaemonStatus.Detector(name: d.typeName, plugin: d.pluginID, health: (v?.health ?? .unknown).rawValue,
                                             reason: v?.reason ?? "no verdict yet", age_s: age, interval_ms: d.intervalMillis,
                                             probes_sent: c?.probesSent, replies: c?.replies,
                                             last_reply_age_s: c?.lastReplyAge(now: now),
                                             polls: t?.polls, slow_polls: t?.slowPolls,
                                             longest_poll_ms: t.map { Double($0.maxNanos) / 1e6 })
            }
            return DaemonStatus.Link(
                interface: s.name, type: s.typeName, role: s.role.rawValue, layer: s.attributes.layer.rawValue,
                speed_bps: s.speedBitsPerSecond, priority: s.config.priority,
                header_len: s.attributes.headerLength, addr_len: s.attributes.addressLength, mtu: s.mtu,
                mac: s.kernel?.mac?.description, carrier: s.kernel?.hasCarrier ?? false, flags: flags,
                health: s.tracker.effective.rawValue, reason: s.tracker.effectiveReason, detectors: dets)
        }
    }
}

/// Verdicts a detector reports on the executor's own thread while the
/// switcher hands it a link event: kept to be handled in the same step.
/// Reports from any other thread (a detector's poll) are not collected.
private final class InlineVerdicts: @unchecked Sendable {
    private let lock = Lock()
    private var thread: pthread_t?
    private var collected: [DaemonInput.Verdict] = []

    func begin() {
        lock.withLock { thread = pthread_self() }
    }

    /// True when `v` was collected (reported on the collecting thread).
    func collect(_ v: DaemonInput.Verdict) -> Bool {
        lock.withLock {
            guard let t = thread, pthread_equal(t, pthread_self()) != 0 else { return false }
            collected.append(v)
            return true
        }
    }

    func end() -> [DaemonInput.Verdict] {
        lock.withLock {
            thread = nil
            defer { collected.removeAll() }
            return collected
        }
    }
}
