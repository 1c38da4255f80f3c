import Dispatch
import FoundationEssentials
import HANetCore
import HANetSystem

public struct DaemonOptions {
    /// The control socket's path (nil: the config's `control_socket`; "": none, as in decision tests).
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

/// The control plane, and the composition root of its parts. It owns no
/// packet path: the kernel forwards, the daemon only rewrites the nftables
/// table and the master's attributes when the switcher picks another slave.
/// So a crash leaves traffic flowing on the last active slave (fail-static),
/// and a restart adopts what it finds.
///
/// The parts, each in files of its own, all on one executor (`ControlExecutor`):
/// - `Switcher`: the slaves, their detectors and health, the active slave, the decisions;
/// - `PTAAgent`: the Packet Transmission Agent, through `PTAHost`;
/// - `Hotplug`: links plugged in at run time, through `HotplugHost`;
/// - `RoutingAgent`: the routed mode's announcements through BIRD, on an executor of its own;
/// - reload (Daemon+Reload.swift): a new config applied live, across the parts;
/// - operations (Daemon+Operations.swift, `DaemonOperations`): control socket, events, hooks, metrics, systemd.
/// This type starts and stops them, opens links (Daemon+Slaves.swift), takes
/// inputs from other threads (`submit`, `DaemonInput`) and connects the parts
/// (`SwitcherDelegate`, `PTAHost`).
public final class Daemon {
    /// Replaced by a reload (Daemon+Reload.swift), on the executor only; the switcher holds the same.
    public internal(set) var config: HANetConfig {
        didSet { switcher.config = config }
    }
    let env: DaemonEnvironment
    let options: DaemonOptions
    public let plugins: PluginHost
    /// Link types, for opening links (the plugin host; fakes in tests).
    let linkTypes: LinkTypeProvider
    let log: DaemonLog
    /// Drop counters and the rate-limited log of refused input (any thread).
    let refusals: Refusals
    let executor: ControlExecutor
    let switcher: Switcher
    /// Events, hooks, metrics, systemd notification (Daemon+Operations.swift).
    let ops = DaemonOperations()

    var adopted = false
    var monitor: EventSource?
    var control: UnixSocketServer?
    var pta: PTAAgent?
    /// The routed mode (RoutingAgent.swift); nil without `[routing]`.
    var routing: RoutingAgent?
    /// Links attached while running (Hotplug.swift).
    private(set) var hotplug: Hotplug!
    let startedAt = Date()

    public var socketPath: String { options.socketPath ?? config.node.controlSocket }

    public convenience init(config: HANetConfig, environment: DaemonEnvironment, options: DaemonOptions = DaemonOptions()) {
        self.init(config: config, environment: environment, options: options, linkTypes: nil, detectors: nil)
    }

    /// `linkTypes` and `detectors`: the plugin host when nil (fakes in tests).
    init(config: HANetConfig, environment: DaemonEnvironment, options: DaemonOptions,
         linkTypes: LinkTypeProvider?, detectors: DetectorFactory?) {
        self.config = config
        self.env = environment
        self.options = options
        let log = DaemonLog(node: config.node.name, minimumLevel: DaemonLog.level(from: options.environment))
        self.log = log
        self.refusals = Refusals(log: log, clock: environment.clock)
        let plugins = PluginHost(logger: log.plugin)
        self.plugins = plugins
        self.linkTypes = linkTypes ?? plugins
        executor = environment.makeExecutor(environment.clock)
        switcher = Switcher(config: config, env: environment, executor: executor, log: log, detectors: detectors ?? plugins)
        switcher.delegate = self
        hotplug = Hotplug(host: self, switcher: switcher, env: environment, executor: executor, log: log, refusals: refusals) {
            [weak self] e in self?.submit(.udev(e))
        }
    }

    // MARK: state the parts share (read-only views of the switcher's)

    var slaves: [Slave] { switcher.slaves }
    var active: String? { switcher.active }
    var activeSlave: Slave? { switcher.activeSlave }
    var running: Bool { switcher.running }

    // MARK: inputs

    /// An input from another thread, handled on the executor in arrival order.
    func submit(_ input: DaemonInput) {
        executor.execute { [weak self] in self?.handle(input) }
    }

    /// Dispatches one input to the part that owns what it changes (on the executor).
    func handle(_ input: DaemonInput) {
        executor.assertOwner()
        switch input {
        case .link(let e): switcher.linkChanged(e)
        case .linkNotificationsLost(let at): switcher.linkNotificationsLost(at: at)
        case .verdict(let v): switcher.verdict(v)
        case .ptaInbox: pta?.drainInbox()
        case .udev(let e): hotplug.event(e)
        }
    }

    // MARK: start and stop

    /// Brings the daemon up: plugins, links, master, data plane, detectors,
    /// control socket. Everything that can be checked without changing the
    /// kernel is checked first, so a bad config or a missing interface
    /// changes nothing.
    public func start() throws {
        try executor.sync { try startOnExecutor() }
    }

    private func startOnExecutor() throws {
        executor.assertOwner()
        try env.checkKernel()

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
        let detectorTypes = switcher.detectorFactory.detectorTypeNames(), known = Set(detectorTypes)
        for s in resolved {
            for d in s.config.detectors where !known.contains(d) {
                throw HANetError(.config, "\(s.config.location): link \(s.name): no detector plugin provides '\(d)' (loaded: \(detectorTypes.sorted().joined(separator: ", ")))")
            }
        }
        let agent = try PTAAgent(host: self, env: env, executor: executor, log: log, refusals: refusals,
                                 stateDirectory: stateDirectory)
        agent.inboxReady = { [weak self] in self?.submit(.ptaInbox) }
        try checkOperations()
        let routing = try makeRoutingAgent()

        // Now the kernel.
        let installed = try env.dataPlane.installed(table: config.master.table)
        try setUpMaster()
        try routedForwarding()
        for s in resolved { try hygiene(s) }
        var adopting: String?
        if let installed, installed.port == config.master.port,
           let a = installed.active, resolved.contains(where: { $0.name == a }) {
            adopting = a
            adopted = true
            log.info("adopted data plane: \(a) is active (table netdev \(config.master.table))")
        }
        switcher.begin(with: resolved, adopting: adopting)
        try applyPTAGuard()

        for s in slaves where s.attributes.layer == .l2 {
            do { try env.announcer.prepare(on: s.name) } catch { log.warning("\(error)") }
        }
        try switcher.startAllDetectors()
        try agent.start()
        pta = agent
        self.routing = routing
        routing?.start()
        let monitor = try env.linkEvents({ [weak self, env] in
            self?.submit(.linkNotificationsLost(at: env.clock.nowNanos()))
        }) { [weak self] event in
            self?.submit(.link(event))
        }
        self.monitor = monitor
        monitor.start()

        switcher.running = true
        hotplug.start()
        if active == nil {
            // Nothing forwarded until the first decision: the master is up,
            // the table exists, no slave is bridged yet.
            try env.dataPlane.apply(switcher.plan(for: nil))
        }
        switcher.armFirstDecision()

        if options.socketPath != "" {
            let server = UnixSocketServer(path: socketPath) { [weak self] line in
                self?.handleControl(line) ?? #"{"ok":false,"error":"daemon stopping"}"#
            }
            server.streamHandler = { [weak self] line in self?.streamControl(line) }
            server.onRefused = { [refusals] reason, source, detail in refusals.refuse(reason, source: source, detail) }
            try server.start()
            control = server
        }
        log.info("running: master \(config.master.name) \((config.master.addresses.map(\.description) + config.master.ipv6Addresses.map(\.description)).joined(separator: ",")), active \(active ?? "none"), control socket \(control == nil ? "off" : socketPath)")
        try startOperations()
    }

    /// Stops detectors and the control socket. The data plane stays as it is
    /// (fail-static) unless `teardown`, which removes the table and the master.
    public func stop(teardown: Bool) {
        executor.sync {
            pta?.stop()
            routing?.stop(withdraw: teardown)
            switcher.stop()
            monitor?.stop()
            hotplug.stop()
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
        try masterIPv6Hygiene()
        try env.kernel.setUp(m.port, true)
        try env.kernel.setUp(m.name, true)
        let have = Set(try env.kernel.addresses(of: m.name))
        for a in m.addresses where !have.contains(a) {
            try env.kernel.addAddress(a, to: m.name)
        }
        try addMasterIPv6Addresses()
    }

    /// Installs the switcher's `ptaGuard`; at start a failure stops the start, after a reload it is logged.
    func applyPTAGuard() throws {
        try env.dataPlane.applyGuard(switcher.ptaGuard)
    }

    /// `hanet failover --to IFACE` (see `Switcher.failover`).
    public func failover(to name: String) throws {
        try executor.sync { try switcher.failover(to: name) }
    }

    // MARK: status

    public func status() -> DaemonStatus {
        var (st, table) = executor.sync { (statusOnExecutor(), config.master.table) }
        // Read off the executor: listing a table is a netlink round trip.
        if let dropped = try? env.dataPlane.guardDrops(table: table) {
            st.refused?[RefusalReason.ptaGuardDropped.rawValue] = dropped
        }
        return st
    }

    /// The one state dump: every part's state, read on the executor.
    func statusOnExecutor() -> DaemonStatus {
        executor.assertOwner()
        let m = config.master
        let k = try? env.kernel.link(named: m.name)
        let addrs = (try? env.kernel.addresses(of: m.name)) ?? []
        let v6 = masterIPv6Status()
        var master = DaemonStatus.Master(
            name: m.name, port: m.port, addresses: addrs.map(\.description) + (v6?.addresses ?? []), mtu: k?.mtu ?? 0,
            mac: k?.mac?.description, noarp: k?.noARP ?? false, txqueuelen: k?.txQueueLength ?? 0,
            layer: (activeSlave?.attributes.layer ?? .l2).rawValue, draining: activeSlave?.drainsNewConnections ?? false)
        master.ipv6_flags = v6?.flags
        var st = DaemonStatus(node: config.node.name, pid: ProcessSignals.pid, started: DaemonLog.timestamp(startedAt),
                            master: master, active: active, links: switcher.linkStatus(now: env.clock.nowNanos()),
                            last_switch: switcher.lastSwitch, switches: switcher.switchCount, adopted: adopted,
                            pta: pta?.status ?? DaemonStatus.PTA(serving: [], served_by: nil), hotplug: hotplug.status,
                            siblings: pta?.siblingsStatus, refused: refusals.totals)
        st.routing = routing?.status
        return st
    }

    /// A server that carries siblings in the routed mode forwards all the
    /// time, not only while the PTA serves: BIRD announces the carried
    /// routes whenever BFD over the private link is up, so the routers send
    /// a sibling's traffic here before its TAKEOVER arrives (the router's BFD
    /// notices a fault first) and after its RELEASE (until its own BGP
    /// session is back, 0.2 to 2.5 s measured); forwarding only while
    /// serving would drop that traffic.
    private func routedForwarding() throws {
        guard let r = config.routing, !r.carry.isEmpty else { return }
        let path = "net/ipv4/ip_forward"
        if try env.sysctl.read(path) != "1" {
            try env.sysctl.write(path, "1")
            log.info("routing: IPv4 forwarding turned on: this server carries \(r.carry.joined(separator: ", ")) whenever BIRD's routes say so")
        }
    }

    /// The routed mode's part, when `[routing]` asks for it; nothing is sent to BIRD before the first decision.
    private func makeRoutingAgent() throws -> RoutingAgent? {
        guard let r = config.routing else { return nil }
        guard let engine = env.routingEngine(config), let fragment = BIRDFragment(config: config) else {
            throw HANetError(.config, "\(r.location): routing: no engine for \"\(r.engine.rawValue)\"")
        }
        return RoutingAgent(engine: engine, config: r, own: fragment.own, carried: fragment.carried,
                            io: env.makeExecutor(env.clock), clock: env.clock, log: log) { [ops] n in
            ops.events.emit(.routing) { e in
                e.message = n.message
                e.reason = n.reason
                if !n.addresses.isEmpty { e.addresses = n.addresses.map(\.description) }
            }
        }
    }

    // MARK: plugins

    /// `hanet plugins enable|disable` on a running daemon: a disabled
    /// plugin's detector instances stop (its image stays loaded: a plugin is
    /// never unloaded), an enabled one's start again.
    func reloadPluginState() {
        let disabled = (try? PluginStateFile(directory: stateDirectory).load()) ?? []
        let changed = plugins.applyDisabled(disabled).map { (id: $0, enabled: !disabled.contains($0)) }
        for c in changed { log.info("plugin \(c.id) \(c.enabled ? "enabled" : "disabled")") }
        switcher.pluginStateChanged(changed)
    }
}

// MARK: - connecting the parts

extension Daemon: SwitcherDelegate {
    func activeChanged(to slave: Slave?) { pta?.activeChanged(to: slave) }
    func decided() {
        pta?.readinessMaybeChanged()
        guard let routing, hasDecided else { return }
        if let s = activeSlave, s.role == .public {
            routing.publicActive(true, reason: "\(s.name) is active")
        } else {
            routing.publicActive(false, reason: "no public link is active (active: \(active ?? "none"))")
        }
    }
    func privateLinkFailed(_ name: String) { pta?.linkFailed(name) }
    func readiness(ofSibling name: String, now: UInt64) -> Readiness? { pta?.readiness.readiness(of: name, now: now) }
    func slavesChanged(removed: String?) {
        if let removed { pta?.linkRemoved(removed) }
        pta?.refreshPrivateLinks()
    }
}

extension Daemon: PTAHost {
    var canServeSiblings: Bool { switcher.canServeSiblings }
    var hasDecided: Bool { switcher.running && !switcher.settling }
    var privateSlaves: [Slave] { slaves.filter { $0.role == .private } }
    var pendingHotLinks: [Slave] { hotplug.pendingSlaves }
    var lastSwitchTrigger: UInt64? { switcher.lastSwitchTrigger }

    func reevaluate(trigger: UInt64, cause: String) { switcher.reevaluate(trigger: trigger, cause: cause) }
    func hotPeer(at address: IPv4Address) -> (sibling: String, link: String)? { hotplug.peer(at: address) }
    func hotHelloAnswered(_ m: PTAMessage, from: IPv4Address) -> Bool { hotplug.helloAnswered(m, from: from) }

    func announceServed(_ addresses: [IPv4Address], _ ipv6: [IPv6Address]) {
        guard let s = activeSlave, s.role == .public, let mac = switcher.masterMAC(for: s) else { return }
        switcher.announce(addresses, ipv6, mac: mac, on: s.name, context: "PTA: ")
    }
}

extension Daemon: HotplugHost {
    func describeNow(_ s: Slave) -> LinkAttributes? {
        guard let k = s.kernel else { return nil }
        return try? linkTypes.describe(linkType: s.typeName, device: netDevice(k, link: s.config), config: s.config.options)
    }

    func hasKey(for sibling: String) -> Bool { pta?.keys[sibling] != nil }
    func sendHello(to sibling: String, at address: IPv4Address) { pta?.sendHello(to: sibling, at: address) }
    func privateLinksChanged() { pta?.refreshPrivateLinks() }
}
