// Hot-plug: the udev monitor, links waiting for a sibling's HELLO answer, the attach history.

import Dispatch
import FoundationEssentials
import HANetCore
import HANetSystem

/// What hot-plug asks of the rest of the daemon. The daemon implements it.
protocol HotplugHost: AnyObject {
    var config: HANetConfig { get }
    /// Opens a hot link as a slave (claimed by its link type, cleaned), not yet a candidate.
    func openSlave(_ link: HANetConfig.Link, order: Int, hot: Bool) throws -> Slave
    /// What the link type says of the slave's device now (its speed, once it has carrier).
    func describeNow(_ s: Slave) -> LinkAttributes?
    /// Whether a key is configured for `sibling` (HELLO is signed like every PTA message).
    func hasKey(for sibling: String) -> Bool
    func sendHello(to sibling: String, at address: IPv4Address)
    /// Hot links came or went: PTA datagrams may arrive over other links now.
    func privateLinksChanged()
    /// A record for `hanet status` was added: it becomes a `hotplug` event.
    func hotplugRecorded(_ r: DaemonStatus.HotplugRecord)
}

/// Hot-plug: private links plugged in while the daemon runs become backup
/// slaves once the sibling at the other end answers an authenticated HELLO;
/// a link pulled out leaves the candidate set at once.
///
/// Why a HELLO before the link counts: a cable plugged into the wrong box, or
/// a sibling with another key, must not become a slave the PTA would then
/// send TAKEOVERs over. The HELLO is signed like every PTA message, and the
/// sibling answers it only if it has attached its own end with the same
/// derived addresses.
///
/// It owns the udev monitor, the links waiting for the sibling's answer to
/// HELLO, and the recent history `hanet status` shows; slaves it attaches or
/// detaches go through the switcher's `enlist` and `retire`.
final class Hotplug {
    struct Pending {
        var slave: Slave
        /// Every sibling this link may lead to, each with the pair's /30 held
        /// on the link until one of them answers.
        var candidates: [HotplugCandidate]
        var hellos = 0
        var timer: ScheduledWork
    }

    unowned let host: HotplugHost
    let switcher: Switcher
    let env: DaemonEnvironment
    let executor: ControlExecutor
    let log: DaemonLog
    let refusals: Refusals
    /// Hands a udev event to the executor (`DaemonInput.udev`).
    let submit: (UdevEvent) -> Void

    var monitor: EventSource?
    private(set) var pending: [String: Pending] = [:]
    /// HELLO answers go around the requester (and its replay guard): they get their own.
    var replay = PTAReplayGuard()
    private(set) var history: [DaemonStatus.HotplugRecord] = []
    var nextOrder = 10_000
    static let historyLimit = 20
    static let helloIntervalMillis = 50
    /// After this many unanswered HELLOs the log says so and HELLOs slow to one a second.
    static let helloPatience = 20

    init(host: HotplugHost, switcher: Switcher, env: DaemonEnvironment, executor: ControlExecutor, log: DaemonLog,
         refusals: Refusals, submit: @escaping (UdevEvent) -> Void) {
        self.host = host
        self.switcher = switcher
        self.env = env
        self.executor = executor
        self.log = log
        self.refusals = refusals
        self.submit = submit
    }

    /// Links waiting for a HELLO answer.
    var pendingSlaves: [Slave] { pending.values.map(\.slave) }

    func start() {
        guard host.config.hotplug.enabled else { return }
        do {
            let m = try env.deviceEvents { [weak self] e in self?.submit(e) }
            m.start()
            monitor = m
            let config = host.config
            log.info("hotplug: watching net and tty devices\((m as? UdevMonitor).map { " (udev source \"\($0.source)\")" } ?? ""), \(config.hotplug.allow.count) allow rule(s), " + (config.hotplug.sibling.map { "sibling \($0)" } ?? "siblings discovered by HELLO among \(config.hotplugSiblings.joined(separator: ", "))"))
        } catch {
            log.error("hotplug: \(error); devices plugged in will not be attached")
        }
    }

    func stop() {
        monitor?.stop()
        monitor = nil
        for p in pending.values {
            p.timer.cancel()
            switcher.close(p.slave)
        }
        pending.removeAll()
    }

    /// A udev event, on the executor.
    func event(_ e: UdevEvent) {
        guard switcher.running, e.subsystem == "net" || e.subsystem == "tty" else { return }
        switch e.action {
        case "add":
            attach(e)
        case "remove":
            detach(name: e.subsystem == "tty" ? Self.ttyInterface(e.sysname) : e.sysname, at: e.timestampNanos)
        case "move":
            // A rename: the old name is gone, the new one is a new device to us.
            if let old = e.properties["INTERFACE_OLD"] { detach(name: old, at: e.timestampNanos) }
            attach(e)
        default:
            break
        }
    }

    func record(_ action: String, interface: String, type: String? = nil, sibling: String? = nil,
                   reason: String? = nil, uevent: UInt64? = nil) {
        let now = env.clock.nowNanos()
        let r = DaemonStatus.HotplugRecord(time: DaemonLog.timestamp(Date()), monotonic_ns: now, action: action,
                                           interface: interface, type: type, sibling: sibling, reason: reason,
                                           uevent_monotonic_ns: uevent)
        history.append(r)
        if history.count > Hotplug.historyLimit { history.removeFirst(history.count - Hotplug.historyLimit) }
        host.hotplugRecorded(r)
    }

    /// The TUN a hot-plugged tty's frame link gets: "hp" + the tty's name
    /// (hpttyUSB0), at most 15 bytes. Both ends of a null-modem cable usually
    /// see the same tty name, which the derived addresses need.
    static func ttyInterface(_ sysname: String) -> String {
        String(decoding: Array(("hp" + sysname).utf8.prefix(15)), as: UTF8.self)
    }

    private func attach(_ e: UdevEvent) {
        let tty = e.subsystem == "tty"
        let name = tty ? Self.ttyInterface(e.sysname) : e.sysname
        let config = host.config
        let hp = config.hotplug
        let m = config.master
        if name == "lo" || name == m.name || name == m.port { return }
        if switcher.slaves.contains(where: { $0.name == name }) || config.links.contains(where: { $0.interface == name })
            || pending[name] != nil { return }
        if let node = e.devnode, config.links.contains(where: { $0.options["device"] == .string(node) }) { return }
        let device = HotplugDevice(name: e.sysname, subsystem: e.subsystem, driver: e.driver, properties: e.properties)
        guard let rule = HotplugPolicy.match(device, rules: hp.allow) else {
            let why = "no [[hotplug.allow]] rule matches (driver \(e.driver.isEmpty ? "none" : e.driver), subsystem \(e.subsystem))"
            refusals.refuse(.hotplugRefused, source: e.sysname, "hotplug: ignoring \(e.sysname): \(why)")
            record("ignored", interface: e.sysname, reason: why, uevent: e.timestampNanos)
            return
        }
        if tty, e.devnode == nil {
            log.warning("hotplug: \(e.sysname) matches \(rule.location) but its uevent names no device node; leaving it alone")
            record("ignored", interface: e.sysname, reason: "no device node", uevent: e.timestampNanos)
            return
        }
        // Every keyed sibling: the rule's or the table's pin narrows it in HotplugPolicy.
        let siblings = config.siblings.map(\.name).filter { host.hasKey(for: $0) }
        guard !siblings.isEmpty else {
            log.warning("hotplug: \(name) matches \(rule.location) but no sibling with a key is configured; leaving it alone")
            record("ignored", interface: name, reason: "no sibling to lead to", uevent: e.timestampNanos)
            return
        }
        let avoid = config.links.compactMap(\.address) + switcher.slaves.compactMap { $0.hot ? $0.config.address : nil }
            + pending.values.flatMap { $0.candidates.map(\.mine) }
        let candidates = HotplugPolicy.candidates(node: config.node.name, rule: rule, hotplug: hp, siblings: siblings,
                                                  interface: name, avoid: avoid)
        guard let first = candidates.first else {
            let why = "the sibling \(rule.sibling ?? hp.sibling ?? "") that \(rule.location) leads to has no key"
            log.warning("hotplug: \(name): \(why); leaving it alone")
            record("ignored", interface: name, reason: why, uevent: e.timestampNanos)
            return
        }
        var options: [String: HANetConfig.Value] = [:]
        let props = e.properties.keys.sorted().filter { $0.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" } }
        if !props.isEmpty { options["udev_properties"] = .array(props.map { .string("\($0)=\(e.properties[$0]!)") }) }
        // A tty is opened by a frame-I/O link plugin (ppp-serial) behind a TUN named `name`.
        if tty, let node = e.devnode { options["device"] = .string(node) }
        let link = HANetConfig.Link.hotplugged(interface: name, type: rule.type, hotplug: hp, detectors: rule.detectors, sibling: first.sibling,
                                               address: first.mine, options: options, location: hp.location ?? rule.location)
        let slave: Slave
        do {
            slave = try host.openSlave(link, order: nextOrder, hot: true)
            nextOrder += 1
            slave.hot = true
            slave.peerAddress = first.peer
            do {
                for c in candidates.dropFirst() { try env.kernel.addAddress(c.mine, to: name) }
            } catch {
                switcher.close(slave)
                throw error
            }
        } catch {
            log.error("hotplug: cannot attach \(name): \(error)")
            record("refused", interface: name, sibling: hp.sibling, reason: "\(error)", uevent: e.timestampNanos)
            return
        }
        let plan = candidates.map { "\($0.mine) for \($0.sibling)" }.joined(separator: ", ")
        let pinned = candidates.count == 1 ? first.sibling : nil
        log.info("hotplug: attached \(name) (driver \(e.driver.isEmpty ? "none" : e.driver), rule \(rule.location)) as \(plan); saying HELLO to " + candidates.map { "\($0.sibling) at \($0.peer)" }.joined(separator: ", "))
        record("attached", interface: name, sibling: pinned, reason: "\(plan); driver \(e.driver.isEmpty ? "none" : e.driver)", uevent: e.timestampNanos)
        record("claimed", interface: name, type: slave.typeName, sibling: pinned,
                  reason: "by the \(slave.typeName) link plugin" + (tty ? " on \(e.devnode ?? e.sysname)" : ""))
        startHello(name, slave: slave, candidates: candidates)
    }

    /// HELLOs every 50 ms to each candidate until one answers (hotHelloAnswered).
    func startHello(_ name: String, slave: Slave, candidates: [HotplugCandidate]) {
        let t = executor.repeating(every: UInt64(Hotplug.helloIntervalMillis) * 1_000_000, from: env.clock.nowNanos()) { [weak self] in
            self?.sayHello(name)
        }
        pending[name] = Hotplug.Pending(slave: slave, candidates: candidates, timer: t)
        host.privateLinksChanged()
    }

    private func sayHello(_ name: String) {
        guard var p = pending[name] else { return }
        if p.hellos > 0 {
            // An ARP request sent before the far end had its address (or
            // carrier) leaves the entry INCOMPLETE, and the kernel asks again
            // only after a second: start resolution afresh for each retry.
            try? env.kernel.flushNeighbours(on: name)
        }
        for c in p.candidates { host.sendHello(to: c.sibling, at: c.peer) }
        p.hellos += 1
        if p.hellos == Hotplug.helloPatience {
            let to = p.candidates.map { "\($0.sibling) at \($0.peer)" }.joined(separator: ", ")
            let who = p.candidates.count == 1 ? "\(p.candidates[0].sibling)'s daemon" : "the sibling's daemon"
            let why = "\(p.hellos) HELLOs to \(to) unanswered: is \(who) running with hot-plug on, with the same key, and its end of the link named \(name) too?"
            log.warning("hotplug: \(name): \(why); asking once a second from now on")
            record("unanswered", interface: name, sibling: p.candidates.count == 1 ? p.candidates[0].sibling : nil, reason: why)
            p.timer.cancel()
            p.timer = executor.repeating(every: 1_000_000_000, from: env.clock.nowNanos() + 1_000_000_000) { [weak self] in
                self?.sayHello(name)
            }
        }
        pending[name] = p
    }

    /// The sibling at `from` answered a HELLO (an ACK with no addresses): the
    /// pending link at that address becomes a slave leading to it, and the
    /// other candidates' addresses leave the link.
    func helloAnswered(_ m: PTAMessage, from: IPv4Address) -> Bool {
        let sibling = m.sender
        guard let (name, p) = pending.first(where: { $0.value.candidates.contains { $0.sibling == sibling && $0.peer == from } }),
              let won = p.candidates.first(where: { $0.sibling == sibling && $0.peer == from }) else { return false }
        if let why = replay.accept(m) {
            refusals.refuse(.helloRefused, source: "\(from)", "hotplug: \(name): dropped a HELLO answer from \(from): \(why)")
            return true
        }
        p.timer.cancel()
        pending[name] = nil
        let s = p.slave
        for c in p.candidates where c != won {
            do { try env.kernel.deleteAddress(c.mine, from: name) } catch { log.warning("hotplug: \(name): removing \(c.mine): \(error)") }
        }
        s.config.sibling = won.sibling
        s.config.address = won.mine
        s.addedAddresses = [won.mine]
        s.peerAddress = won.peer
        s.kernel = (try? env.kernel.link(named: name)) ?? s.kernel
        // Described when it was still down: a link without carrier reads no speed,
        // and speed ranks private slaves before priority does.
        if s.config.speedBitsPerSecond == nil, let attrs = host.describeNow(s), attrs.speedBitsPerSecond != 0 {
            s.attributes.speedBitsPerSecond = attrs.speedBitsPerSecond
        }
        switcher.enlist(s)
        record("sibling-learned", interface: name, type: s.typeName, sibling: sibling,
                  reason: "\(sibling) answered HELLO from \(from) after \(p.hellos) HELLO(s)")
        log.info("hotplug: \(name) leads to \(sibling) (HELLO answered from \(from)); it is a backup slave now")
        for (d, error) in switcher.startLinkDetectors(s) { log.error("hotplug: \(name): detector \(d): \(error)") }
        return true
    }

    private func detach(name: String, at nanos: UInt64) {
        if let p = pending.removeValue(forKey: name) {
            p.timer.cancel()
            switcher.close(p.slave)
            host.privateLinksChanged()
            record("detached", interface: name, reason: "removed before a sibling answered")
            log.info("hotplug: \(name) removed before a sibling answered HELLO")
            return
        }
        guard let s = switcher.slaves.first(where: { $0.name == name && $0.hot }) else { return }
        s.kernel = nil
        switcher.retire(s, trigger: nanos, cause: "\(name) removed")
        log.info("hotplug: detached \(name)")
        record("detached", interface: name, type: s.typeName, sibling: s.config.sibling, reason: "device removed", uevent: nanos)
    }

    /// The sibling name and link for a PTA datagram from `address`, when it is
    /// the far end of a hot link (attached or waiting for its HELLO answer).
    func peer(at address: IPv4Address) -> (sibling: String, link: String)? {
        if let s = switcher.slaves.first(where: { $0.hot && $0.peerAddress == address }), let sib = s.config.sibling {
            return (sib, s.name)
        }
        for (name, p) in pending {
            if let c = p.candidates.first(where: { $0.peer == address }) { return (c.sibling, name) }
        }
        return nil
    }

    var status: [DaemonStatus.HotplugRecord]? {
        host.config.hotplug.enabled || !history.isEmpty ? history : nil
    }
}
