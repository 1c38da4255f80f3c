import Dispatch
import FoundationEssentials
import HANetCore
import HANetSystem

/// The kernel-facing parts the daemon drives, bundled so tests of the
/// daemon's decisions can swap them for fakes.
public struct DaemonEnvironment {
    public var kernel: NetworkKernel
    public var dataPlane: DataPlane
    public var sysctl: SysctlStore
    public var announcer: ARPAnnouncer
    public var clock: MonotonicClock

    public init(kernel: NetworkKernel, dataPlane: DataPlane, sysctl: SysctlStore, announcer: ARPAnnouncer, clock: MonotonicClock) {
        self.kernel = kernel
        self.dataPlane = dataPlane
        self.sysctl = sysctl
        self.announcer = announcer
        self.clock = clock
    }

    /// The real thing: libnl-route, libnftables, libpcap, /proc/sys.
    public static func linux() throws -> DaemonEnvironment {
        DaemonEnvironment(kernel: try Netlink(), dataPlane: try Nftables(), sysctl: ProcSysctl(),
                          announcer: GratuitousARP(), clock: SystemClock())
    }
}

public struct DaemonOptions {
    public var socketPath: String?
    public var pluginsDir: String?
    public var stateDir: String?
    public var environment: [String: String]

    public init(socketPath: String? = nil, pluginsDir: String? = nil, stateDir: String? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.socketPath = socketPath
        self.pluginsDir = pluginsDir
        self.stateDir = stateDir
        self.environment = environment
    }
}

/// The control plane. It owns no packet path: the kernel forwards, the daemon
/// only rewrites the nftables table and the master's attributes when the
/// interface manager picks another slave. So a crash leaves traffic flowing
/// on the last active slave (fail-static), and a restart adopts what it finds.
///
/// All state lives on one serial queue, `queue`, its one owner: detector
/// reports, kernel events, PTA messages and control requests from other
/// threads are enqueued onto it, and the functions that read or change the
/// state assert that they run there (`assertOwner`).
public final class Daemon {
    /// Replaced by a reload (Daemon+Reload.swift), on the control queue only.
    public internal(set) var config: HANetConfig
    let env: DaemonEnvironment
    let options: DaemonOptions
    public let plugins: PluginHost
    let log: DaemonLog
    /// Drop counters and the rate-limited log of refused input (any thread).
    let refusals: Refusals
    let queue = DispatchQueue(label: "hanet.control")
    let scheduler = DetectorScheduler()
    /// Events, hooks, metrics, systemd notification (Daemon+Operations.swift).
    let ops = DaemonOperations()

    var slaves: [Slave] = []
    var active: String?
    var lastSwitch: DaemonStatus.Switch?
    var switchCount = 0
    var adopted = false
    var running = false
    /// True from start until the first decision (see `settleIfEveryoneReported`).
    var settling = true
    var monitor: LinkMonitor?
    var control: UnixSocketServer?
    var pta: PTAAgent?
    /// Links attached while running (Daemon+Hotplug.swift).
    let hotplug = HotplugState()
    /// When the fault that caused the last switch happened (monotonic ns).
    var lastSwitchTrigger: UInt64?
    let startedAt = Date()

    public var socketPath: String { options.socketPath ?? config.node.controlSocket }

    public init(config: HANetConfig, environment: DaemonEnvironment, options: DaemonOptions = DaemonOptions()) {
        self.config = config
        self.env = environment
        self.options = options
        let log = DaemonLog(node: config.node.name, minimumLevel: DaemonLog.level(from: options.environment))
        self.log = log
        self.refusals = Refusals(log: log, clock: environment.clock)
        self.plugins = PluginHost { plugin, level, message in log.write(level: Int(level), "plugin \(plugin): \(message)") }
    }

    // MARK: start and stop

    /// Brings the daemon up: plugins, links, master, data plane, detectors,
    /// control socket. Everything that can be checked without changing the
    /// kernel is checked first, so a bad config or a missing interface
    /// changes nothing.
    public func start() throws {
        try queue.sync { try startOnQueue() }
    }

    private func startOnQueue() throws {
        try KernelSupport.check()

        let disabled = (try? PluginStateFile(directory: stateDirectory).load()) ?? []
        let search = PluginHost.defaultPluginsDirectory(
            explicit: options.pluginsDir, environment: options.environment,
            configured: config.node.pluginsDir, executableDirectory: ProcessSignals.executableDirectory)
        for r in plugins.load(from: search, disabled: disabled) where r.state != .enabled {
            log.warning("plugin \(r.file): \(r.state.rawValue): \(r.reason ?? "")")
        }
        // What `hanet check` warns about: valid, so the daemon runs, but the log says what is probably wrong.
        for w in ConfigCheck.warnings(config) { log.warning("config: \(w)") }

        // Read-only resolution first.
        var resolved: [Slave] = []
        for (i, link) in config.links.enumerated() {
            resolved.append(try resolve(link, order: i))
        }
        let detectorTypes = plugins.detectorTypeNames(), known = Set(detectorTypes)
        for s in resolved {
            for d in s.config.detectors where !known.contains(d) {
                throw HANetError(.config, "\(s.config.location): link \(s.name): no detector plugin provides '\(d)' (loaded: \(detectorTypes.sorted().joined(separator: ", ")))")
            }
        }
        slaves = resolved
        let agent = try PTAAgent(daemon: self)
        try checkOperations()

        // Now the kernel.
        let installed = try env.dataPlane.installed(table: config.master.table)
        try setUpMaster()
        for s in slaves { try hygiene(s) }
        try applyPTAGuard()
        if let installed, installed.port == config.master.port,
           let a = installed.active, slaves.contains(where: { $0.name == a }) {
            active = a
            adopted = true
            log.info("adopted data plane: \(a) is active (table netdev \(config.master.table))")
        }

        for s in slaves where s.attributes.layer == .l2 {
            do { try env.announcer.prepare(on: s.name) } catch { log.warning("\(error)") }
        }
        try startDetectors()
        try agent.start()
        pta = agent
        let monitor = try LinkMonitor(onOverrun: { [weak self] in self?.linkNotificationsLost() }) { [weak self] event in
            self?.linkEvent(event)
        }
        self.monitor = monitor
        monitor.start()

        running = true
        startHotplug()
        if active == nil {
            // Nothing forwarded until the first decision: the master is up,
            // the table exists, no slave is bridged yet.
            try env.dataPlane.apply(plan(for: nil))
        }
        // The first decision waits for every slave's first verdict (or for
        // `settleLimit`): deciding on UNKNOWN would move an adopted data plane
        // to whichever slave happened to report first — a blip on restart.
        queue.async { [self] in settleIfEveryoneReported() }
        queue.asyncAfter(deadline: .now() + Self.settleLimit) { [self] in
            if settling { finishSettling(why: "not every slave had a verdict after \(Self.settleLimit)") }
        }

        let server = UnixSocketServer(path: socketPath) { [weak self] line in
            self?.handleControl(line) ?? #"{"ok":false,"error":"daemon stopping"}"#
        }
        server.streamHandler = { [weak self] line in self?.streamControl(line) }
        server.onRefused = { [refusals] reason, source, detail in refusals.refuse(reason, source: source, detail) }
        try server.start()
        control = server
        log.info("running: master \(config.master.name) \(config.master.addresses.map(\.description).joined(separator: ",")), active \(active ?? "none"), control socket \(socketPath)")
        try startOperations()
    }

    /// Stops detectors and the control socket. The data plane stays as it is
    /// (fail-static) unless `teardown`, which removes the table and the master.
    public func stop(teardown: Bool) {
        queue.sync {
            running = false
            pta?.stop()
            scheduler.stop()
            monitor?.stop()
            stopHotplug()
            for s in slaves { closeSlave(s) }
            control?.stop()
            stopOperations()
            if teardown {
                try? env.dataPlane.remove(table: config.master.table)
                try? env.dataPlane.applyGuard(PTAGuard(table: config.master.table, port: config.pta.port, publicSlaves: []))
                try? env.kernel.deleteLink(named: config.master.name)
                log.info("torn down: table and master removed")
            } else {
                log.info("stopped; data plane left forwarding on \(active ?? "nothing")")
            }
        }
    }

    var stateDirectory: String {
        PluginStateFile.resolveDirectory(explicit: options.stateDir, environment: options.environment, configured: config.node.stateDir)
    }

    // MARK: links

    /// `hot`: a link being attached at run time, whose sibling is not known yet.
    func resolve(_ link: HANetConfig.Link, order: Int, hot: Bool = false) throws -> Slave {
        if let framed = try resolveFrameLink(link, order: order, hot: hot) { return framed }
        guard let k = try env.kernel.link(named: link.interface) else {
            throw HANetError(.config, "\(link.location): link \(link.interface): no such network interface")
        }
        let device = netDevice(k, link: link)
        let (typeName, attrs) = try claim(link, device: device, what: "this device (arphrd \(k.arphrd))")
        let opened: LinkInstance
        do {
            opened = try plugins.openLink(type: typeName, device: device, config: link.options)
        } catch {
            throw HANetError(.plugin, "\(link.location): link \(link.interface): type \(typeName) refused to open it: \(error)")
        }
        let slave = Slave(config: link, order: order, typeName: typeName, attributes: attrs, kernel: k, master: config.master)
        slave.link = opened
        return slave
    }

    /// What the link plugins are told about the network interface `k` configured as `link`.
    func netDevice(_ k: KernelLink, link: HANetConfig.Link) -> DeviceInfo {
        DeviceInfo(name: k.name, subsystem: "net", ifindex: k.index, arphrd: k.arphrd,
                   driver: UdevMonitor.driverName(k.name), devpath: "/sys/class/net/\(k.name)",
                   properties: Self.udevProperties(of: link))
    }

    /// The link type for a configured link (its `type`, or the plugins'
    /// probe of `device`) and what that type says about the device. `what`
    /// names the device in the error when no plugin claims it.
    func claim(_ link: HANetConfig.Link, device: DeviceInfo, what: String) throws -> (String, LinkAttributes) {
        let typeName: String
        if let t = link.type {
            guard plugins.linkTypeNames().contains(t) else {
                throw HANetError(.config, "\(link.location): link \(link.interface): no link plugin provides type '\(t)' (loaded: \(plugins.linkTypeNames().sorted().joined(separator: ", ")))")
            }
            typeName = t
        } else {
            guard let t = plugins.probe(device) else {
                throw HANetError(.config, "\(link.location): link \(link.interface): no link plugin claims \(what); set `type`")
            }
            typeName = t
        }
        do {
            return (typeName, try plugins.describe(linkType: typeName, device: device, config: link.options))
        } catch {
            throw HANetError(.plugin, "\(link.location): link \(link.interface): type \(typeName): \(error)")
        }
    }

    /// The master is one end of a veth pair; its peer is the port the data plane forwards from.
    private func setUpMaster() throws {
        let m = config.master
        if try env.kernel.link(named: m.name) == nil {
            if try env.kernel.link(named: m.port) != nil {
                throw HANetError(.state, "master \(m.name) is missing but its port \(m.port) exists; delete \(m.port) or rename the master")
            }
            try env.kernel.createVethPair(m.name, peer: m.port)
            log.info("created master \(m.name) with port \(m.port)")
        } else if try env.kernel.link(named: m.port) == nil {
            throw HANetError(.state, "master \(m.name) exists but its port \(m.port) does not; is \(m.name) really a HANet master?")
        }
        try? env.sysctl.write("net/ipv6/conf/\(m.port)/disable_ipv6", "1")
        // Loose reverse-path filtering: with a private link active, replies
        // from the sibling's private address arrive on the master although
        // the route to that address points at the slave.
        try env.sysctl.write("net/ipv4/conf/\(m.name)/rp_filter", "2")
        try env.kernel.setUp(m.port, true)
        try env.kernel.setUp(m.name, true)
        let have = Set(try env.kernel.addresses(of: m.name))
        for a in m.addresses where !have.contains(a) {
            try env.kernel.addAddress(a, to: m.name)
        }
    }

    /// Slaves carry no service address and never answer ARP for one, so only
    /// the active slave's ingress (forwarded to the master) ever answers.
    /// The address it adds is kept in `s.addedAddresses`: a link that leaves
    /// takes it along (`removeAddedAddresses`). The ARP sysctls stay: an
    /// interface next to the master would answer ARP for the service addresses
    /// with the kernel's defaults, whether it is a slave or not.
    func hygiene(_ s: Slave) throws {
        try env.sysctl.write("net/ipv4/conf/\(s.name)/arp_ignore", "1")
        try env.sysctl.write("net/ipv4/conf/\(s.name)/arp_announce", "2")
        let service = Set(config.master.addresses.map(\.address))
        for a in try env.kernel.addresses(of: s.name) where service.contains(a.address) {
            try env.kernel.deleteAddress(a, from: s.name)
            log.warning("removed service address \(a) from slave \(s.name)")
        }
        if let own = s.config.address, !(try env.kernel.addresses(of: s.name)).contains(own) {
            try env.kernel.addAddress(own, to: s.name)
            s.addedAddresses.append(own)
        }
        if let k = s.kernel, !k.isUp { try env.kernel.setUp(s.name, true) }
    }

    // MARK: detectors

    private func startDetectors() throws {
        for s in slaves {
            for name in s.config.detectors {
                try startDetector(name, on: s)
            }
        }
    }

    func startDetector(_ name: String, on s: Slave) throws {
        let cfg = config.detectorConfig(name, on: s.config)
        let interval: Int? = cfg["interval_ms"].flatMap { if case .integer(let i) = $0 { return Int(i) } else { return nil } }
        let slaveName = s.name
        let instance = try plugins.createDetector(
            type: name, slave: s.name, ifindex: s.kernel?.index ?? 0, layer: s.attributes.layer,
            intervalMillis: interval, config: cfg) { [weak self] health, reason in
                guard let self else { return }
                let now = self.env.clock.nowNanos()
                self.queue.async { self.report(slave: slaveName, detector: name, health: health, reason: reason, at: now) }
            }
        s.detectors.append(instance)
        scheduler.add(instance)
    }

    /// Kernel link notifications, from the monitor thread.
    func linkEvent(_ e: KernelLinkEvent) {
        queue.async { [self] in
            guard let s = slaves.first(where: { $0.name == e.link.name || $0.kernel?.index == e.link.index }) else { return }
            s.lastLinkEventNanos = e.timestampNanos
            let index = s.kernel?.index
            s.kernel = e.removed ? nil : e.link
            if s.role == .private, s.kernel?.index != index { pta?.refreshPrivateLinks() }
            // Detectors are called here, on the control queue, in event order;
            // their reports come back through the queue behind this block.
            for d in s.detectors { d.linkEvent(e) }
            if e.removed { reevaluate(trigger: e.timestampNanos, cause: "\(s.name) removed") }
        }
    }

    /// The link monitor's socket overflowed: a carrier change may be among the
    /// lost notifications. Each slave's state is read again and goes through
    /// `linkEvent` as if it had been notified, so nothing waits for a detector poll.
    func linkNotificationsLost() {
        queue.async { [self] in
            log.warning("link monitor: notifications were lost (socket buffer overrun); reading every slave's link state again")
            let now = env.clock.nowNanos()
            for s in slaves {
                if let k = try? env.kernel.link(named: s.name) {
                    linkEvent(KernelLinkEvent(link: k, removed: false, timestampNanos: now))
                } else if let gone = s.kernel {
                    linkEvent(KernelLinkEvent(link: gone, removed: true, timestampNanos: now))
                }
            }
        }
    }

    func report(slave name: String, detector: String, health: Health, reason: String, at now: UInt64) {
        assertOwner()
        guard let s = slaves.first(where: { $0.name == name }) else { return }
        s.verdictTimes[detector] = now
        let before = s.tracker.effective
        let priorVerdict = s.tracker.verdicts[detector]?.health
        let changed = s.tracker.record(detector: detector, health: health, reason: reason, now: now)
        if changed {
            log.info("\(name): \(before.rawValue) -> \(s.tracker.effective.rawValue) (\(detector): \(reason))")
        }
        if changed || priorVerdict != health {
            verdictChanged(slave: name, detector: detector, health: health, reason: reason, effectiveChanged: changed, effective: s.tracker.effective)
        }
        scheduleDamping(s)
        if changed, s.role == .private, s.tracker.effective == .bad { pta?.linkFailed(s.name) }
        guard running, changed else { return }
        if settling {
            settleIfEveryoneReported()
            return
        }
        let trigger = s.lastLinkEventNanos.flatMap { now >= $0 && now - $0 < 1_000_000_000 ? $0 : nil } ?? now
        reevaluate(trigger: trigger, cause: "\(name) \(s.tracker.effective.rawValue): \(reason)")
    }

    static let settleLimit = DispatchTimeInterval.seconds(2)

    func settleIfEveryoneReported() {
        if settling, slaves.allSatisfy({ $0.tracker.effective != .unknown }) {
            finishSettling(why: "every slave has a verdict")
        }
    }

    func finishSettling(why: String) {
        settling = false
        reevaluate(trigger: nil, cause: "start (\(why))")
    }

    func scheduleDamping(_ s: Slave) {
        guard let deadline = s.tracker.nextDeadline else { return }
        let now = env.clock.nowNanos()
        let wait = deadline > now ? deadline - now : 0
        queue.asyncAfter(deadline: .now() + .nanoseconds(Int(wait))) { [weak self, weak s] in
            guard let self, let s else { return }
            if s.tracker.tick(now: self.env.clock.nowNanos()), self.running, !self.settling {
                self.reevaluate(trigger: nil, cause: "\(s.name) \(s.tracker.effective.rawValue) after delay: \(s.tracker.effectiveReason)")
            }
        }
    }

    // MARK: switching

    /// Asks the interface manager and switches when it says so.
    func reevaluate(trigger: UInt64?, cause: String) {
        assertOwner()
        // Told after the decision: a slave that failed over to another public one never says "unable".
        defer { pta?.readinessMaybeChanged() }
        let decision = InterfaceManager.choose(candidates, current: active, failback: config.master.failback)
        guard decision.active != active else { return }
        switchTo(decision.active, reason: "\(cause); \(decision.reason)", trigger: trigger ?? env.clock.nowNanos())
    }

    /// The switch itself, in the order that shortens the outage: the
    /// forwarding rules first (the path is back the moment they commit), then
    /// the master's attributes, then the announcements that move the
    /// neighbours' caches.
    func switchTo(_ name: String?, reason: String, trigger: UInt64) {
        assertOwner()
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
            if new.role == .public, new.attributes.layer == .l2, let mac = masterMAC(for: new) {
                for a in config.master.addresses {
                    do {
                        try env.announcer.announce(address: a.address, mac: mac, on: new.name,
                                                   count: config.master.garpCount, intervalMillis: config.master.garpIntervalMillis)
                    } catch {
                        log.error("gratuitous ARP for \(a.address) on \(new.name): \(error)")
                    }
                }
            }
        }
        lastSwitchTrigger = trigger
        pta?.activeChanged(to: new)
        let doneAt = env.clock.nowNanos()
        lastSwitch = DaemonStatus.Switch(
            time: DaemonLog.timestamp(Date()), from: from, to: name, reason: reason,
            trigger_to_rules_us: Double(rulesAt &- trigger) / 1000, trigger_to_done_us: Double(doneAt &- trigger) / 1000,
            trigger_monotonic_ns: trigger,
            verdict_monotonic_ns: old?.verdictTimes.values.max().flatMap { $0 >= trigger ? $0 : nil })
        log.info("switch \(from ?? "none") -> \(name ?? "none"): \(reason) (rules in place \(UTCTimestamp.fixed(Double(rulesAt &- trigger) / 1e6, 3)) ms after the trigger, done \(UTCTimestamp.fixed(Double(doneAt &- trigger) / 1e6, 3)) ms)")
        switched(from: from, to: name, reason: reason, trigger: trigger, rulesAt: rulesAt)
    }

    var activeSlave: Slave? { slaves.first { $0.name == active } }

    /// Traps when called off the control queue: the daemon's state has one owner.
    /// A check of the current queue, cheap enough for every decision.
    func assertOwner() {
        dispatchPrecondition(condition: .onQueue(queue))
    }

    /// The slaves as the interface manager sees them, private ones with their sibling's readiness and preference.
    var candidates: [SlaveCandidate] {
        let now = env.clock.nowNanos()
        return slaves.map { s in
            var c = s.candidate
            if s.role == .private, let sib = s.config.sibling {
                c.sibling = sib
                c.readiness = pta?.readiness.readiness(of: sib, now: now)
                c.preference = config.siblings.first { $0.name == sib }?.preference ?? 0
            }
            return c
        }
    }

    /// The PTA port closed on every public slave (`PTAGuard`), when this node has siblings to speak PTA with.
    var ptaGuard: PTAGuard {
        PTAGuard(table: config.master.table, port: config.pta.port,
                 publicSlaves: config.siblings.isEmpty ? [] : slaves.filter { $0.role == .public }.map(\.name))
    }

    /// Installs `ptaGuard`; at start a failure stops the start, after a reload it is logged.
    func applyPTAGuard() throws {
        try env.dataPlane.applyGuard(ptaGuard)
    }

    /// A node carries a sibling's traffic only from a GOOD public slave of its own.
    var canServeSiblings: Bool {
        guard let s = activeSlave else { return false }
        return s.role == .public && s.tracker.effective == .good
    }

    func plan(for slave: Slave?) -> ForwardingPlan {
        ForwardingPlan(table: config.master.table, port: config.master.port, active: slave?.name,
                       layer: slave?.attributes.layer ?? .l2,
                       serviceAddresses: config.master.addresses.map(\.address),
                       l3Peer: slave?.peerAddress ?? slave?.config.sibling.flatMap { sib in config.siblings.first { $0.name == sib }?.address },
                       drainNewConnections: drains(slave),
                       slaveOwnAddresses: slave?.config.address.map { [$0.address] } ?? [])
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

    /// `hanet failover --to IFACE`: an operator's choice, refused when the
    /// slave is not GOOD (a manual switch onto a dead link would be an outage).
    public func failover(to name: String) throws {
        try queue.sync {
            guard let s = slaves.first(where: { $0.name == name }) else {
                throw HANetError(.notFound, "no slave named \(name); slaves: \(slaves.map(\.name).joined(separator: ", "))")
            }
            guard s.tracker.effective == .good else {
                throw HANetError(.state, "\(name) is \(s.tracker.effective.rawValue) (\(s.tracker.effectiveReason)); refusing to switch to it")
            }
            if active == name { return }
            switchTo(name, reason: "manual failover", trigger: env.clock.nowNanos())
        }
    }

    // MARK: status

    public func status() -> DaemonStatus {
        var (st, table) = queue.sync { (statusOnQueue(), config.master.table) }
        // Read off the control queue: listing a table is a netlink round trip.
        if let dropped = try? env.dataPlane.guardDrops(table: table) {
            st.refused?[RefusalReason.ptaGuardDropped.rawValue] = dropped
        }
        return st
    }

    func statusOnQueue() -> DaemonStatus {
        assertOwner()
        let m = config.master
        let k = try? env.kernel.link(named: m.name)
        let addrs = (try? env.kernel.addresses(of: m.name)) ?? []
        let now = env.clock.nowNanos()
        let master = DaemonStatus.Master(
            name: m.name, port: m.port, addresses: addrs.map(\.description), mtu: k?.mtu ?? 0,
            mac: k?.mac?.description, noarp: k?.noARP ?? false, txqueuelen: k?.txQueueLength ?? 0,
            layer: (activeSlave?.attributes.layer ?? .l2).rawValue, draining: drains(activeSlave))
        let links = slaves.map { s -> DaemonStatus.Link in
            var flags: [String] = []
            if s.name == active { flags.append("ACTIVE") }
            if s.tracker.effective == .good { flags.append("GOOD") }
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
        return DaemonStatus(node: config.node.name, pid: ProcessSignals.pid, started: DaemonLog.timestamp(startedAt),
                            master: master, active: active, links: links, last_switch: lastSwitch,
                            switches: switchCount, adopted: adopted,
                            pta: pta?.status ?? DaemonStatus.PTA(serving: [], served_by: nil), hotplug: hotplugStatus,
                            siblings: pta?.siblingsStatus, refused: refusals.totals)
    }

    // MARK: plugins

    /// `hanet plugins enable|disable` on a running daemon: a disabled
    /// plugin's detector instances stop (its image stays loaded: a plugin is
    /// never unloaded), an enabled one's start again.
    func reloadPluginState() {
        let disabled = (try? PluginStateFile(directory: stateDirectory).load()) ?? []
        let now = env.clock.nowNanos()
        for id in plugins.applyDisabled(disabled) {
            let enable = !disabled.contains(id)
            for s in slaves {
                if !enable {
                    for d in stopDetectors(of: s, where: { $0.pluginID == id }) {
                        s.tracker.forget(detector: d.typeName, now: now)
                    }
                } else {
                    for name in s.config.detectors where !s.detectors.contains(where: { $0.typeName == name }) {
                        try? startDetector(name, on: s)
                    }
                }
            }
            log.info("plugin \(id) \(enable ? "enabled" : "disabled")")
        }
        reevaluate(trigger: nil, cause: "plugin state changed")
    }
}
