// The PTA agent: the services this node runs for its siblings, its own request, the siblings' readiness, the socket.

import Dispatch
import Glibc
import FoundationEssentials
import HANetCore
import HANetSystem

/// What the PTA agent sees of the rest of the daemon: the switcher's state
/// it needs, hot-plug's peers, and operations' feeds. The daemon implements it.
protocol PTAHost: AnyObject {
    var config: HANetConfig { get }
    /// A GOOD public slave is active: this node can carry a sibling's traffic.
    var canServeSiblings: Bool { get }
    /// The first decision was made (before it, no slave is active and readiness would only flap).
    var hasDecided: Bool { get }
    /// The private slaves.
    var privateSlaves: [Slave] { get }
    /// Hot links waiting for a sibling's HELLO answer (PTA datagrams may arrive over them).
    var pendingHotLinks: [Slave] { get }
    /// When the fault behind the last switch happened.
    var lastSwitchTrigger: UInt64? { get }
    /// Decide again (a sibling's readiness changed).
    func reevaluate(trigger: UInt64, cause: String)
    /// Gratuitous ARP and unsolicited NAs for served addresses on the active public slave, with the master's MAC.
    func announceServed(_ addresses: [IPv4Address], _ ipv6: [IPv6Address])
    /// The sibling and link at the far end of a hot link with this address.
    func hotPeer(at address: IPv4Address) -> (sibling: String, link: String)?
    /// A HELLO answer for a pending hot link; false when it is not one.
    func hotHelloAnswered(_ m: PTAMessage, from: IPv4Address) -> Bool
    func ptaEvent(_ kind: EventKind, sibling: String, addresses: [IPv4Address], ipv6Addresses: [IPv6Address],
                  link: String?, reason: String?)
    func ptaMessage(_ m: PTAMessage, direction: String, peer: String)
}

extension PTAHost {
    func ptaEvent(_ kind: EventKind, sibling: String, addresses: [IPv4Address], link: String?, reason: String?) {
        ptaEvent(kind, sibling: sibling, addresses: addresses, ipv6Addresses: [], link: link, reason: reason)
    }
}

/// The Packet Transmission Agent as the daemon runs it (paper §2.3, §3.5–3.7):
/// both roles in every node. The decisions are in HANetCore's `PTARequester`
/// and `PTAResponder`; this part does their I/O (UDP, the kernel changes
/// that carry a sibling's traffic) on the daemon's executor. It owns the
/// services it runs, its request, the siblings' readiness and the socket.
final class PTAAgent {
    /// What this node does for a sibling it serves, and what it changed to do so.
    struct Service {
        var sibling: String
        var addresses: [IPv4Address]
        var ipv6Addresses: [IPv6Address] = []
        var link: String
        var since: Date
        var sinceNanos: UInt64
        /// When the TAKEOVER that started it arrived: the benchmark's Tmid/Tsib split.
        var receivedNanos: UInt64? = nil
    }

    unowned let host: PTAHost
    let env: DaemonEnvironment
    let executor: ControlExecutor
    let log: DaemonLog
    let refusals: Refusals
    let stateDirectory: String
    let bootID = UInt64.random(in: 1...UInt64.max)
    let counter = PTACounter()
    let keys: [String: [UInt8]]
    var responder: PTAResponder!
    var requester: PTARequester?
    var requesterSince: Date?
    var socket: PTATransport?
    var serving: [String: Service] = [:]
    /// Sysctl values before the first service started, restored when the last one ends.
    var savedSysctls: [String: String] = [:]
    /// The IPv6 sysctls (`IPv6SiblingSysctls`), restored exactly when the last IPv6 service ends.
    var ipv6Sysctls = SysctlChanges()
    /// The gateway addresses (`PTAIPv6Path.gateway`) added to private links while serving IPv6, by link.
    var gateways: [String: IPv6Prefix] = [:]
    /// Whether each sibling said it speaks IPv6 (`PTAMessage.speaksIPv6`) in its last authentic message.
    var speaksIPv6: [String: Bool] = [:]
    /// Requester: the routes via the sibling (`PTAIPv6Path`) while it carries our IPv6 addresses.
    var carriedRoutes: [KernelIPv6Route] = []
    /// The next deadline of the requester, the responder or a sibling's readiness.
    var timer: ScheduledWork?
    var timerDeadline: UInt64?
    var started = false
    /// Monotonic times of the current request (first TAKEOVER sent, ACK received) and of TAKEOVERs
    /// received per sibling: status exposes them so the benchmark can split failover time as the paper does.
    var takeoverSentNanos: UInt64?
    var takeoverAnsweredNanos: UInt64?
    var takeoverReceivedNanos: [String: UInt64] = [:]
    /// Authentic messages on their way from the socket's thread to the executor.
    let inbox = PTAInbox()
    /// Where PTA datagrams may arrive from (`refreshPrivateLinks`).
    let privateLinks = PrivateLinks()
    /// The socket's thread runs at this nice value: a flood it must read
    /// waits behind the executor for the CPU.
    static let receiverNice: Int32 = 5
    /// What each sibling told us of its readiness, and what the daemon last decided on.
    var readiness: SiblingReadiness
    var decidedReadiness: [String: Readiness] = [:]
    private var readinessGuard = PTAReplayGuard()
    /// What this node last told its siblings; nil before the first READINESS.
    var toldReady: Bool?
    var readinessTimer: ScheduledWork?

    var config: HANetConfig { host.config }

    /// Reads every sibling's key file; a missing or malformed key stops the start.
    init(host: PTAHost, env: DaemonEnvironment, executor: ControlExecutor, log: DaemonLog, refusals: Refusals,
         stateDirectory: String) throws {
        self.host = host
        self.env = env
        self.executor = executor
        self.log = log
        self.refusals = refusals
        self.stateDirectory = stateDirectory
        var keys: [String: [UInt8]] = [:]
        for s in host.config.siblings {
            do { keys[s.name] = try PTAKeyFile.read(s.keyFile) } catch {
                throw HANetError(.config, "\(s.location): sibling \(s.name): key_file: \((error as? HANetError)?.message ?? "\(error)")")
            }
        }
        self.keys = keys
        let pta = host.config.pta
        readiness = SiblingReadiness(siblings: host.config.siblings.map(\.name),
                                     staleNanos: UInt64(pta.readinessIntervalMillis * HANetConfig.PTA.readinessStaleIntervals) * 1_000_000,
                                     holdNanos: UInt64(pta.leaseMillis) * 1_000_000)
        responder = PTAResponder(config: host.config, bootID: bootID, counter: counter) { [unowned host] in
            host.canServeSiblings
        }
    }

    func start() throws {
        guard !config.siblings.isEmpty else { return }
        refreshPrivateLinks()
        let sock = env.ptaTransport(config.pta.port, Self.receiverNice) { [weak self] bytes, from, ifindex in
            self?.arrived(bytes, from: from, ifindex: ifindex)
        }
        try sock.start()
        socket = sock
        started = true
        readinessTimer = executor.repeating(every: UInt64(config.pta.readinessIntervalMillis) * 1_000_000,
                                            from: env.clock.nowNanos()) { [weak self] in self?.sendReadiness() }
        adoptPersistedState()
    }

    /// Clean stop: give back what we asked for and stop serving.
    func stop() {
        let now = env.clock.nowNanos()
        if let r = requester {
            removeCarriedRoutes()
            perform(r.stop(now: now))
        }
        perform(responder.stopAll(reason: "daemon stopping"))
        readinessTimer?.cancel()
        sendReadiness(canCarry: false)
        timer?.cancel()
        started = false
        socket?.stop()
    }

    // MARK: requester

    /// Called after every switch: a private active slave with a sibling means
    /// ask that sibling; a public one means give back what we asked for.
    func activeChanged(to slave: Slave?) {
        executor.assertOwner()
        let now = env.clock.nowNanos()
        if let s = slave, s.role == .private, let sib = s.config.sibling,
           let sibling = config.siblings.first(where: { $0.name == sib }) {
            if let r = requester, r.sibling != sib {
                removeCarriedRoutes()
                perform(r.stop(now: now))
                requester = nil
                log.info("PTA: moving from \(r.sibling) to \(sib) (\(s.name))")
                host.ptaEvent(.siblingMove, sibling: sib, addresses: r.addresses, link: s.name,
                                reason: "from \(r.sibling) (\(readiness.reason(of: r.sibling, now: now)))")
            }
            guard let address = s.peerAddress ?? sibling.address else {
                log.error("PTA: no address for \(sib) on \(s.name); cannot ask it to carry \(config.node.name)")
                return
            }
            if requester == nil {
                requester = PTARequester(node: config.node.name, bootID: bootID, sibling: sib,
                                         siblingAddress: address,
                                         addresses: carriedAddresses,
                                         ipv6Addresses: config.master.ipv6Addresses.map(\.address),
                                         pta: config.pta, counter: counter)
                requesterSince = Date()
            }
            if !requester!.isServed { takeoverSentNanos = nil; takeoverAnsweredNanos = nil }
            // Another private slave to the same sibling (a hot link came or went): ask over it now.
            perform(requester!.redirect(to: address, now: now))
            perform(requester!.start(now: now))
        } else if let r = requester {
            removeCarriedRoutes()
            perform(r.stop(now: now))
        }
        // Serving a sibling from a private link of our own would only move the black hole.
        if !host.canServeSiblings, !serving.isEmpty {
            perform(responder.stopAll(reason: "\(config.node.name) has no working public link"))
        } else if let s = slave, s.role == .public {
            // We moved to another public slave: tell the LAN where the served addresses are now.
            for svc in serving.values { host.announceServed(svc.addresses, svc.ipv6Addresses) }
        }
        readinessMaybeChanged()
        scheduleTick()
    }

    // MARK: readiness

    /// Tells every sibling, over every path to it, whether this node can carry
    /// traffic now. Best effort: a path that is down is the siblings' problem
    /// to notice (their view of us goes stale), not a log line every interval.
    func sendReadiness(canCarry: Bool? = nil) {
        // Before the first decision there is no active slave yet: saying "unable" then would only flap.
        guard let socket, canCarry != nil || host.hasDecided else { return }
        let can = canCarry ?? host.canServeSiblings
        toldReady = can
        let now = env.clock.nowNanos()
        for s in config.siblings {
            guard let key = keys[s.name] else { continue }
            for to in paths(to: s) {
                let m = PTAMessage(type: .readiness, flags: (can ? PTAMessage.canCarry : 0) | PTAMessage.speaksIPv6, sender: config.node.name,
                                   counter: counter.next(now: now), bootID: bootID)
                guard let datagram = try? PTAWire.encode(m, key: key), (try? socket.send(datagram, to: to, port: config.pta.port)) != nil else { continue }
                host.ptaMessage(m, direction: "sent", peer: s.name)
            }
        }
    }

    /// At once when what this node can do changed (a switch, a verdict), not at the next interval.
    func readinessMaybeChanged() {
        if toldReady != nil, toldReady != host.canServeSiblings { sendReadiness() }
    }

    /// The sibling's ends of the private links that lead to it: the configured
    /// one (when a [[link]] names the sibling) and every hot link's.
    func paths(to s: HANetConfig.Sibling) -> [IPv4Address] {
        var out: [IPv4Address] = config.links.contains { $0.sibling == s.name } ? [s.address].compactMap { $0 } : []
        for slave in host.privateSlaves where slave.hot && slave.config.sibling == s.name {
            if let a = slave.peerAddress, !out.contains(a) { out.append(a) }
        }
        return out
    }

    /// Compares every sibling's readiness with what the daemon last decided
    /// on; a change is logged, becomes an event and makes the daemon decide again.
    func noteReadiness(now: UInt64) {
        let current = readiness.snapshot(now: now)
        let changed = current.keys.sorted().filter { current[$0] != (decidedReadiness[$0] ?? .unknown) }
        decidedReadiness = current
        guard !changed.isEmpty, host.hasDecided else { return }
        for sib in changed {
            let why = readiness.reason(of: sib, now: now)
            log.info("PTA: sibling \(sib) is \(current[sib]!.rawValue): \(why)")
            host.ptaEvent(.siblingReadiness, sibling: sib, addresses: [], link: nil, reason: "\(current[sib]!.rawValue): \(why)")
        }
        host.reevaluate(trigger: now, cause: changed.map { "sibling \($0) \(current[$0]!.rawValue)" }.joined(separator: ", "))
    }

    // MARK: messages

    /// On the socket's thread, for every datagram: refused unless it came
    /// over a private link and carries a valid MAC; only then is it queued.
    /// Reads only what never changes after start (keys, the clock) and the
    /// thread-safe `privateLinks`, `inbox` and `refusals`.
    func arrived(_ bytes: [UInt8], from: IPv4Address, ifindex: Int32) {
        guard privateLinks.contains(ifindex) else {
            refusals.refuse(.ptaNotPrivateLink, source: "\(from)",
                            "PTA: dropped a datagram from \(from): it arrived on \(Self.interfaceName(ifindex)), not on a private link")
            return
        }
        let now = env.clock.nowNanos()
        switch PTAWire.decode(bytes, keyFor: { self.keys[$0] }) {
        case .failure(let e):
            refusals.refuse(Self.reason(for: e), source: "\(from)", "PTA: dropped a datagram from \(from) (\(bytes.count) bytes): \(e)")
        case .success(let m):
            switch inbox.push(.init(message: m, from: from, receivedNanos: now)) {
            case .scheduleDrain:
                inboxReady()
            case .queued:
                break
            case .full:
                refusals.refuse(.ptaInboxFull, source: "\(from)",
                                "PTA: dropped \(m.type) from \(m.sender) at \(from): \(inbox.capacity) messages already wait for the executor")
            }
        }
    }

    /// Tells the executor that the inbox has messages (`DaemonInput.ptaInbox`); set by the daemon.
    var inboxReady: () -> Void = {}

    /// On the executor: one slice of the inbox, then the executor's other work, then the next slice.
    func drainInbox() {
        let (items, more) = inbox.take()
        for i in items { receive(i.message, from: i.from, now: i.receivedNanos) }
        if more { inboxReady() }
    }

    static func reason(for e: PTAWireError) -> RefusalReason {
        switch e {
        case .unknownSender: return .ptaUnknownSender
        case .badMAC: return .ptaBadMAC
        default: return .ptaMalformed
        }
    }

    static func interfaceName(_ index: Int32) -> String {
        var name = [CChar](repeating: 0, count: 16)
        guard index > 0, if_indextoname(UInt32(index), &name) != nil else { return "interface #\(index)" }
        return String(cString: name)
    }

    /// The private links' interface indexes, read again after slaves came,
    /// went or changed (a hot link that was plugged again has a new index).
    func refreshPrivateLinks() {
        privateLinks.set(Set((host.privateSlaves + host.pendingHotLinks).compactMap { s in s.kernel?.index ?? (try? env.kernel.link(named: s.name))?.index }))
    }

    /// An authentic message, on the executor.
    func receive(_ m: PTAMessage, from: IPv4Address, now: UInt64) {
        executor.assertOwner()
        let hot = host.hotPeer(at: from).flatMap { $0.sibling == m.sender ? $0 : nil }
        guard let sib = config.siblings.first(where: { $0.name == m.sender }), sib.address == from || hot != nil else {
            refusals.refuse(.ptaWrongSource, source: "\(from)",
                                   "PTA: dropped \(m.type) claiming to be from \(m.sender): it came from \(from), not the sibling's private-link address")
            return
        }
        host.ptaMessage(m, direction: "received", peer: m.sender)
        // Authentic and from the sibling's address: what it decodes decides what we send it (`forPeer`).
        speaksIPv6[m.sender] = m.flags & PTAMessage.speaksIPv6 != 0
        switch m.type {
        case .readiness:
            if let why = readinessGuard.accept(m) {
                refusals.refuse(.ptaReplay, source: "\(from)", "PTA: dropped: \(why)")
                return
            }
            readiness.heard(m.sender, canCarry: m.flags & PTAMessage.canCarry != 0, now: now)
            noteReadiness(now: now)
        case .ack where m.addresses.isEmpty && host.hotHelloAnswered(m, from: from):
            break
        case .ack, .refuse:
            guard let r = requester else {
                refusals.refuse(.ptaIgnored, source: "\(from)", "PTA: ignoring \(m.type) from \(m.sender): nothing asked")
                return
            }
            let wasServed = r.isServed
            perform(r.receive(m, now: now))
            if !wasServed, r.isServed {
                host.ptaEvent(.ptaServed, sibling: m.sender, addresses: r.addresses, ipv6Addresses: m.ipv6Addresses, link: nil,
                              reason: "the sibling carries this node's addresses")
                takeoverAnsweredNanos = now
                // Entries resolved before the sibling answered point nowhere useful.
                do { try env.kernel.flushNeighbours(on: config.master.name) } catch { log.error("\(error)") }
                log.info("PTA: takeover by \(m.sender) acknowledged \(UTCTimestamp.fixed(Double(now &- (host.lastSwitchTrigger ?? now)) / 1e6, 3)) ms after the fault")
            }
            // Also when a sibling first served our IPv4 addresses only (its
            // `speaksIPv6` came after the TAKEOVER) and a RENEW added the IPv6 ones.
            if r.isServed, m.type == .ack, !m.ipv6Addresses.isEmpty { addCarriedRoutes(via: r.siblingAddress) }
            if m.type == .refuse {
                log.warning("PTA: \(m.sender) refused: \(m.reason)")
                readiness.markUnable(m.sender, reason: "it refused: \(m.reason)", now: now)
                noteReadiness(now: now)
            }
        default:
            if m.type == .takeover, serving[m.sender] == nil { takeoverReceivedNanos[m.sender] = now }
            perform(responder.receive(m, now: now, via: hot.map { (address: from, link: $0.link) }))
        }
        scheduleTick()
    }

    func tick() {
        executor.assertOwner()
        let now = env.clock.nowNanos()
        if let r = requester {
            let wasServed = r.isServed
            perform(r.tick(now: now))
            if wasServed, !r.isServed {
                removeCarriedRoutes()
                readiness.markUnable(r.sibling, reason: "it let the lease lapse (no ACK to RENEW)", now: now)
            }
        }
        perform(responder.tick(now: now))
        noteReadiness(now: now)
        scheduleTick()
    }

    /// One timer, at the earliest deadline of the requester, the responder and the siblings' readiness.
    func scheduleTick() {
        guard started else { return }
        let deadlines = [requester?.nextDeadline, responder.nextDeadline,
                         readiness.nextChange(now: env.clock.nowNanos())].compactMap { $0 }
        let next = deadlines.min()
        // Most messages leave the deadline where it was: the armed timer serves.
        if let timer, !timer.cancelled, timerDeadline == next { return }
        timer?.cancel()
        timer = nil
        timerDeadline = next
        guard let next else { return }
        timer = executor.schedule(at: next) { [weak self] in
            self?.timer = nil
            self?.tick()
        }
    }

    func perform(_ actions: [PTAAction]) {
        for a in actions {
            switch a {
            case .log(let text):
                log.info(text)
            case .refused(let reason, let source, let text):
                refusals.refuse(reason, source: source, text)
            case .send(var m, let to):
                guard let name = config.siblings.first(where: { $0.address == to })?.name ?? host.hotPeer(at: to)?.sibling,
                      let key = keys[name] else {
                    log.error("PTA: no sibling with key at \(to)")
                    continue
                }
                m.flags |= PTAMessage.speaksIPv6
                let withheld: [IPv6Address]
                (m, withheld) = m.forPeer(speaksIPv6: speaksIPv6[name] ?? false)
                if !withheld.isEmpty, m.type == .takeover, takeoverSentNanos == nil {
                    log.warning("PTA: \(name) has not said it speaks IPv6: asking it for the IPv4 addresses only; \(withheld.map(\.description).joined(separator: ", ")) stay unreachable while it carries \(config.node.name)")
                }
                do {
                    let datagram = try PTAWire.encode(m, key: key)
                    // Read before the send: on one host the sibling may receive it before send() returns.
                    let sentAt = env.clock.nowNanos()
                    try socket?.send(datagram, to: to, port: config.pta.port)
                    host.ptaMessage(m, direction: "sent", peer: name)
                    if m.type == .takeover, takeoverSentNanos == nil { takeoverSentNanos = sentAt }
                } catch {
                    log.warning("PTA: \(m.type) to \(to): \(error)")
                }
            case .startServing(let sibling, let addresses, let ipv6, let link):
                do {
                    try startServing(sibling: sibling, addresses: addresses, ipv6: ipv6, link: link)
                } catch {
                    log.error("PTA: serving \(sibling) failed, undoing: \(error)")
                    try? stopServing(sibling: sibling, addresses: addresses, ipv6: ipv6, link: link)
                }
            case .stopServing(let sibling, let addresses, let ipv6, let link, let reason):
                do {
                    try stopServing(sibling: sibling, addresses: addresses, ipv6: ipv6, link: link)
                    log.info("PTA: stopped serving \(sibling): \(reason)")
                    host.ptaEvent(.ptaStopped, sibling: sibling, addresses: addresses, ipv6Addresses: ipv6, link: link, reason: reason)
                } catch {
                    log.error("PTA: stop serving \(sibling): \(error)")
                }
            }
        }
    }

    /// HELLO over a hot-plugged link (Daemon+Hotplug.swift): the sibling's
    /// responder answers with an ACK without addresses if our key is its key for us.
    func sendHello(to sibling: String, at address: IPv4Address) {
        guard let key = keys[sibling], let socket else { return }
        let m = PTAMessage(type: .hello, flags: PTAMessage.speaksIPv6, sender: config.node.name, addresses: [], counter: counter.next(now: env.clock.nowNanos()),
                           bootID: bootID, leaseMillis: 0)
        do {
            try socket.send(try PTAWire.encode(m, key: key), to: address, port: config.pta.port)
        } catch {
            log.warning("PTA: HELLO to \(sibling) at \(address): \(error)")
        }
    }

    /// A reload added or removed [[link]]s: a sibling is served over the first link that names it now.
    func linksChanged() {
        responder.relink(config.links)
        refreshPrivateLinks()
    }

    /// A private link went BAD: the siblings served over it cannot be reached
    /// through it, and its proxy entries would go on answering their ARP on
    /// the LAN, competing with the sibling that carries them next. A sibling
    /// that still uses the link after it heals renews, which serves it again.
    func linkFailed(_ link: String) {
        perform(responder.stop(link: link, reason: "\(link) is BAD"))
        scheduleTick()
    }

    /// A hot link was unplugged: services over it end (the kernel already removed its routes).
    func linkRemoved(_ link: String) {
        perform(responder.stop(link: link, reason: "\(link) was removed"))
        scheduleTick()
    }

    // MARK: responder's kernel changes (paper §3.5)

    /// What this node asks a sibling to carry: its service addresses. In the
    /// routed mode those are the announced ones; the master's other
    /// addresses (its address on its LAN, where its BGP sessions run) belong
    /// to a LAN the sibling is not on.
    var carriedAddresses: [IPv4Address] {
        config.routing?.announce ?? config.master.addresses.map(\.address)
    }

    /// A sibling this node carries in the routed mode (`[routing] carry`): its
    /// addresses are not on this node's LAN, so the routers reach them
    /// through BIRD's less preferred route, not through proxy ARP and
    /// gratuitous ARP here. The service keeps the rest: forwarding, the
    /// route over the private link, and proxy ARP on that link, which is the
    /// sibling's way out (its master asks for its gateway there).
    func carriesRouted(_ sibling: String) -> Bool {
        config.routing?.carry.contains(sibling) ?? false
    }

    /// Sysctls the service turns on, with the values that do it.
    func serviceSysctls(link: String) -> [(String, String)] {
        let m = config.master.name
        return [
            ("net/ipv4/ip_forward", "1"),
            // Answer the sibling's ARP for LAN hosts on the private link.
            ("net/ipv4/conf/\(link)/proxy_arp", "1"),
            // The kernel delays proxied ARP answers by up to 0.8 s by default;
            // measured: 764 ms of outage with it, 69 ms without.
            ("net/ipv4/neigh/\(link)/proxy_delay", "0"),
            ("net/ipv4/neigh/\(m)/proxy_delay", "0"),
        ]
    }

    private func startServing(sibling: String, addresses: [IPv4Address], ipv6: [IPv6Address], link: String) throws {
        let m = config.master.name
        for (path, value) in serviceSysctls(link: link) {
            if savedSysctls[path] == nil { savedSysctls[path] = try env.sysctl.read(path) }
            try env.sysctl.write(path, value)
        }
        let routes = Set(try env.kernel.routes())
        let proxies = Set(try env.kernel.proxyNeighbours(on: m))
        let onThisLAN = !carriesRouted(sibling)
        for a in addresses {
            let r = KernelRoute(destination: IPv4Prefix(address: a, length: 32), device: link)
            if !routes.contains(r) { try env.kernel.addRoute(r) }
            if onThisLAN, !proxies.contains(a) { try env.kernel.addProxyNeighbour(a, on: m) }
        }
        if !ipv6.isEmpty { try startServingIPv6(ipv6, link: link) }
        if onThisLAN { host.announceServed(addresses, ipv6) }
        let old = serving[sibling]
        serving[sibling] = Service(sibling: sibling, addresses: addresses, ipv6Addresses: ipv6, link: link, since: old?.since ?? Date(),
                                   sinceNanos: old?.sinceNanos ?? env.clock.nowNanos(),
                                   receivedNanos: old?.receivedNanos ?? takeoverReceivedNanos[sibling])
        log.info("PTA: serving \(sibling): \((addresses.map(\.description) + ipv6.map(\.description)).joined(separator: ", ")) over \(link)")
        persistState()
        host.ptaEvent(.ptaServing, sibling: sibling, addresses: addresses, ipv6Addresses: ipv6, link: link, reason: nil)
    }

    private func stopServing(sibling: String, addresses: [IPv4Address], ipv6: [IPv6Address], link: String) throws {
        let m = config.master.name
        serving[sibling] = nil
        var firstError: Error?
        do { try stopServingIPv6(ipv6, link: link) } catch { firstError = error }
        let routes = Set(try env.kernel.routes())
        let proxies = Set(try env.kernel.proxyNeighbours(on: m))
        for a in addresses {
            let r = KernelRoute(destination: IPv4Prefix(address: a, length: 32), device: link)
            do { if routes.contains(r) { try env.kernel.deleteRoute(r) } } catch { firstError = firstError ?? error }
            do { if proxies.contains(a) { try env.kernel.deleteProxyNeighbour(a, on: m) } } catch { firstError = firstError ?? error }
        }
        if serving.isEmpty {
            for (path, value) in savedSysctls {
                do { try env.sysctl.write(path, value) } catch { firstError = firstError ?? error }
            }
            savedSysctls.removeAll()
        }
        persistState()
        if let firstError { throw firstError }
    }

    // MARK: status

    /// Every configured sibling: its readiness, the links that lead to it, and who carries whom.
    var siblingsStatus: [DaemonStatus.Sibling] {
        let now = env.clock.nowNanos()
        return config.siblings.map { s in
            let r = readiness.readiness(of: s.name, now: now)
            let heard = readiness.entries[s.name]?.heardNanos
            return DaemonStatus.Sibling(
                name: s.name, ready: r == .ready, readiness: r.rawValue, reason: readiness.reason(of: s.name, now: now),
                links: host.privateSlaves.filter { $0.config.sibling == s.name }.map(\.name),
                last_heard_s: heard.map { Double(now &- $0) / 1e9 },
                serves_us: requester.map { $0.sibling == s.name && $0.state != .idle } ?? false,
                we_serve: serving[s.name] != nil, preference: s.preference)
        }
    }

    var status: DaemonStatus.PTA {
        let serving = self.serving.values.sorted { $0.sibling < $1.sibling }.map {
            DaemonStatus.PTA.Service(sibling: $0.sibling, addresses: $0.addresses.map(\.description) + $0.ipv6Addresses.map(\.description), link: $0.link,
                                     since: DaemonLog.timestamp($0.since), since_monotonic_ns: $0.sinceNanos,
                                     request_received_monotonic_ns: $0.receivedNanos)
        }
        var servedBy: DaemonStatus.PTA.ServedBy?
        if let r = requester {
            let state: String
            switch r.state {
            case .idle: state = "idle"
            case .requesting: state = "requesting"
            case .served: state = "served"
            case .releasing: state = "releasing"
            }
            if state != "idle" {
                servedBy = .init(sibling: r.sibling, addresses: r.addresses.map(\.description) + r.ipv6Addresses.map(\.description), state: state,
                                 since: requesterSince.map(DaemonLog.timestamp),
                                 request_sent_monotonic_ns: takeoverSentNanos, answered_monotonic_ns: takeoverAnsweredNanos)
            }
        }
        return DaemonStatus.PTA(serving: serving, served_by: servedBy)
    }
}
