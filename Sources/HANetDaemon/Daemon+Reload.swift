// Reload: a new configuration validated, then applied across the parts, or refused whole.

import FoundationEssentials
import HANetCore
import HANetSystem

/// The answer to a reload, as the control socket returns it.
public struct ReloadResult: Codable, Equatable {
    public var ok: Bool
    /// What changed and was applied (empty: the file was the same).
    public var applied: [String]
    /// Why it was refused: the config's problems, or the changes that need a restart.
    public var problems: [String]
}

/// SIGHUP and `hanet reload`: re-read the config file, refuse a bad one and
/// keep running on the old, apply what can change live, and refuse (without
/// applying anything) a change that needs a restart. Half a reload would
/// leave a config that matches neither file.
///
/// `[[link]]`s are added, removed and reopened live (`LinkReloadPlan`): every
/// new link is opened first, and only when all of them opened does anything
/// change; an active link that is removed hands its traffic over in the same step.
extension Daemon {
    /// Reads `config.file` again and applies it. Never throws: the answer says what happened.
    public func reload() -> ReloadResult {
        let path = executor.sync { config.file }
        let new: HANetConfig
        do {
            new = try ConfigCheck.read(path)
        } catch let e as ConfigError {
            return executor.sync { refuse(e.problems.map(\.description)) }
        } catch {
            return executor.sync { refuse(["\(path): \(error)"]) }
        }
        let offline = ConfigCheck.offline(new, detectorTypes: Set(switcher.detectorFactory.detectorTypeNames()), linkTypes: Set(linkTypes.linkTypeNames()))
        if !offline.isEmpty {
            return executor.sync { refuse(offline.map(\.description)) }
        }
        return executor.sync { applyOnExecutor(new) }
    }

    private func refuse(_ problems: [String]) -> ReloadResult {
        log.error("reload refused; still running the previous configuration:\n  " + problems.joined(separator: "\n  "))
        ops.events.emit(.reloadRefused) { $0.changes = problems; $0.reason = "kept the running configuration" }
        return ReloadResult(ok: false, applied: [], problems: problems)
    }

    /// Changes that only a restart can apply, each with the reason.
    static func restartNeeded(from old: HANetConfig, to new: HANetConfig) -> [String] {
        var out: [String] = []
        func check<T: Equatable>(_ a: T, _ b: T, _ what: String, _ why: String) {
            if a != b { out.append("\(what) changed (\(why)); restart the daemon to apply it") }
        }
        check(old.node.name, new.node.name, "node.name", "PTA peers know this node by name")
        check(old.node.controlSocket, new.node.controlSocket, "node.control_socket", "the socket this reload came through")
        check(old.node.pluginsDir, new.node.pluginsDir, "node.plugins_dir", "plugins are loaded once")
        check(old.node.stateDir, new.node.stateDir, "node.state_dir", "state files are open")
        check(old.master.name, new.master.name, "master.name", "the master interface is created at start")
        check(old.master.port, new.master.port, "master.port", "the master's veth peer is created at start")
        check(old.master.addresses, new.master.addresses, "master.addresses", "service addresses are what PTA siblings carry")
        check(old.master.ipv6Addresses, new.master.ipv6Addresses, "master.addresses (IPv6)", "service addresses are what PTA siblings carry")
        check(old.master.table, new.master.table, "master.table", "the nftables table is adopted at start")
        check(unplaced(old.siblings), unplaced(new.siblings), "[[sibling]]", "keys and peers are loaded at start")
        check(old.pta, new.pta, "[pta]", "the replay guard and leases are bound to these timers")
        check(old.routing, new.routing, "[routing]", "the routing engine's fragment and its connection are set up at start")
        return out
    }

    /// Applies `new` on the executor and records what changed.
    func applyOnExecutor(_ new: HANetConfig) -> ReloadResult {
        executor.assertOwner()
        let old = config
        let restart = Self.restartNeeded(from: old, to: new)
        if !restart.isEmpty { return refuse(restart) }
        let links = LinkReloadPlan(from: old.links, to: new.links)
        let problems = links.problems(
            active: active, good: Set(slaves.filter { $0.kernel != nil && $0.tracker.effective == .good }.map(\.name)),
            hot: Set(slaves.filter(\.hot).map(\.name)), pending: Set(hotplug.pending.keys))
        if !problems.isEmpty { return refuse(problems) }

        // The new config is committed first: new links, their detectors and
        // restarted detectors read it. `openLinks` puts the old one back if it fails.
        config = new
        let opened: [String: Slave]
        do {
            opened = try openLinks(links, previous: old)
        } catch let r as Refusal {
            return refuse(r.problems)
        } catch {
            return refuse(["\(error)"])
        }
        // Nothing below refuses: from here on the reload is applied.
        var applied: [String] = []
        let now = env.clock.nowNanos()
        let activeBefore = active
        let planBefore = switcher.plan(for: activeSlave)
        let guardBefore = switcher.ptaGuard

        let m0 = old.master, m1 = new.master
        if m0.failback != m1.failback { applied.append("master.failback: \(m0.failback) -> \(m1.failback)") }
        if m0.garpCount != m1.garpCount { applied.append("master.garp_count: \(m0.garpCount) -> \(m1.garpCount)") }
        if m0.garpIntervalMillis != m1.garpIntervalMillis {
            applied.append("master.garp_interval_ms: \(m0.garpIntervalMillis) -> \(m1.garpIntervalMillis)")
        }
        let delaysChanged = m0.updelayMillis != m1.updelayMillis || m0.downdelayMillis != m1.downdelayMillis
        if delaysChanged {
            applied.append("master.updelay_ms/downdelay_ms: \(m0.updelayMillis)/\(m0.downdelayMillis) -> \(m1.updelayMillis)/\(m1.downdelayMillis)")
        }
        if Self.unplaced(old.hooks) != Self.unplaced(new.hooks) {
            ops.hooks?.update(new.hooks)
            applied.append("[hooks]")
        }

        applied += applyLinkSet(links, opened: opened, now: now)
        applied += applyLinkSettings(links.kept, old: old, delaysChanged: delaysChanged, now: now)
        for s in slaves where !s.hot {
            if let i = links.order[s.name] { s.order = i }
        }
        switcher.reorder()
        if let r = links.reordered {
            applied.append("[[link]] order: \(r.old.joined(separator: ", ")) -> \(r.new.joined(separator: ", ")) (the interface manager's last tie-break)")
        }
        pta?.linksChanged()
        if switcher.ptaGuard != guardBefore {
            do {
                try applyPTAGuard()
                applied.append("PTA guard: port \(config.pta.port) closed on \(switcher.ptaGuard.publicSlaves.joined(separator: ", "))")
            } catch {
                applied.append("PTA guard FAILED to update: \(error)")
                log.error("reload: PTA guard: \(error)")
            }
        }
        // A setting of the active slave the rules carry (slow_link_policy) changed.
        if active == activeBefore, switcher.plan(for: activeSlave) != planBefore {
            do {
                try env.dataPlane.apply(switcher.plan(for: activeSlave))
            } catch {
                applied.append("forwarding rules for \(active ?? "no slave") FAILED to update: \(error)")
                log.error("reload: forwarding rules: \(error)")
            }
        }

        if Self.unplaced(old.hotplug) != Self.unplaced(new.hotplug) {
            // Rules, siblings, priority and detectors are read at each uevent: they
            // apply to devices plugged in from now on; attached hot links stay as they are.
            if old.hotplug.enabled != new.hotplug.enabled {
                if new.hotplug.enabled { hotplug.start() } else { hotplug.stop() }
            }
            applied.append("[hotplug]: " + (new.hotplug.enabled
                ? "\(new.hotplug.allow.count) allow rule(s), for devices plugged in from now on"
                : "off; hot links already attached stay until removed"))
        }
        if old.metrics != new.metrics {
            do {
                try startMetricsServer()
                applied.append("[metrics] listen: \(new.metrics.address.map { "\($0):\(new.metrics.port)" } ?? "off")")
            } catch {
                applied.append("[metrics] listen FAILED: \(error)")
                log.error("reload: metrics endpoint: \(error)")
            }
        }
        for s in slaves { switcher.armDamping(s) }
        log.info(applied.isEmpty ? "reload: configuration unchanged" : "reload applied:\n  " + applied.joined(separator: "\n  "))
        ops.events.emit(.reload) { $0.changes = applied }
        switcher.reevaluate(trigger: nil, cause: "configuration reloaded")
        return ReloadResult(ok: true, applied: applied, problems: [])
    }

    /// A reload refused after it started opening links.
    private struct Refusal: Error {
        var problems: [String]
    }

    /// Where an item stands in the file is no change to it (a [[link]] added above moves every line below).
    static func unplaced(_ siblings: [HANetConfig.Sibling]) -> [HANetConfig.Sibling] {
        siblings.map { var s = $0; s.location = HANetConfig.Location(file: "", line: 0); return s }
    }

    static func unplaced(_ h: HANetConfig.Hotplug) -> HANetConfig.Hotplug {
        var h = h
        h.location = nil
        h.allow = h.allow.map { var r = $0; r.location = HANetConfig.Location(file: "", line: 0); return r }
        return h
    }

    static func unplaced(_ hooks: HANetConfig.Hooks) -> HANetConfig.Hooks {
        var h = hooks
        h.location = nil
        return h
    }

    /// Opens the links `plan` adds and reopens, and starts their detectors:
    /// all of them, or none and a `Refusal` that says which link failed and
    /// why. A frame link (a TUN over a tty the plugin locks) cannot be open
    /// twice, so one that is reopened is closed first and, when the reload
    /// fails after that, opened again as it was.
    private func openLinks(_ plan: LinkReloadPlan, previous old: HANetConfig) throws -> [String: Slave] {
        var opened: [Slave] = []
        var released: [Slave] = []
        func exclusive(_ c: LinkReloadPlan.Change) -> Bool {
            c.new.options["device"] != nil || slaves.contains { $0.name == c.interface && !$0.hot && $0.frameLink != nil }
        }
        func open(_ link: HANetConfig.Link) throws {
            let s = try openSlave(link, order: plan.order[link.interface] ?? 0)
            opened.append(s)
            if let (d, error) = switcher.startLinkDetectors(s).first {
                throw HANetError(.plugin, "\(link.location): link \(link.interface): detector \(d) did not start: \(error)")
            }
        }
        do {
            for link in plan.added + plan.reopened.filter({ !exclusive($0) }).map(\.new) { try open(link) }
            for c in plan.reopened where exclusive(c) {
                if let s = slaves.first(where: { $0.name == c.interface && !$0.hot }) {
                    switcher.close(s)
                    released.append(s)
                }
                try open(c.new)
            }
        } catch {
            for s in opened.reversed() {
                if s.frameLink == nil { removeAddedAddresses(s) }
                switcher.close(s)
            }
            config = old
            var problems = ["\(error)"]
            for s in released {
                if let p = reopen(s) { problems.append(p) }
            }
            throw Refusal(problems: problems)
        }
        return Dictionary(opened.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// A frame link `openLinks` had closed, opened again as it was (with its
    /// old config); nil when that worked, else what is lost.
    private func reopen(_ s: Slave) -> String? {
        switcher.forget(s)
        do {
            let again = try openSlave(s.config, order: s.order)
            for (d, error) in switcher.startLinkDetectors(again) { log.error("reload: link \(s.name): detector \(d): \(error)") }
            switcher.enlist(again)
            return nil
        } catch {
            pta?.linkRemoved(s.name)
            log.error("reload: link \(s.name) could not be opened again as it was: \(error)")
            return "link \(s.name): closed to be reopened, and could not be opened again as it was: \(error); it is not a slave any more"
        }
    }

    /// Commits the link set of `plan` with what `openLinks` opened: removed
    /// links leave (an active one hands its traffic over first, in the same
    /// step), reopened ones swap the old instance for the new, added ones
    /// become backup candidates.
    private func applyLinkSet(_ plan: LinkReloadPlan, opened: [String: Slave], now: UInt64) -> [String] {
        var applied: [String] = []
        func configured(_ name: String) -> Slave? { slaves.first { $0.name == name && !$0.hot } }
        for link in plan.removed {
            guard let s = configured(link.interface) else { continue }
            let wasActive = active == s.name
            switcher.retire(s, trigger: now, cause: "link \(s.name) removed by reload")
            if s.frameLink == nil { removeAddedAddresses(s) }
            log.info("reload: link \(s.name) removed")
            applied.append("link \(s.name) removed" + (wasActive ? " (it was active; \(active ?? "no slave") took over)" : ""))
        }
        for c in plan.reopened {
            guard let fresh = opened[c.interface] else { continue }
            if let s = configured(c.interface) {
                switcher.retire(s, trigger: now, cause: "link \(s.name) reopened by reload")
                if s.frameLink == nil {
                    // An address the link keeps stays (the new instance found it
                    // there, so it counts it as the old one's); another one goes.
                    removeAddedAddresses(s, keeping: fresh.config.address)
                    fresh.addedAddresses += s.addedAddresses.filter { !fresh.addedAddresses.contains($0) }
                }
            }
            switcher.enlist(fresh)
            log.info("reload: link \(c.interface) reopened (\(c.keys.joined(separator: ", ")) changed)")
            applied.append("link \(c.interface) reopened: \(c.keys.joined(separator: ", ")) changed")
        }
        for link in plan.added {
            guard let s = opened[link.interface] else { continue }
            switcher.enlist(s)
            log.info("reload: link \(s.name) added (\(s.typeName), \(s.role.rawValue))")
            applied.append("link \(s.name) added: \(s.typeName), \(s.role.rawValue), \(s.speedBitsPerSecond) bit/s, a backup until the interface manager picks it")
        }
        return applied
    }

    /// Priority, role, speed, detectors and `slow_link_policy` of the links
    /// that stay, applied in place.
    private func applyLinkSettings(_ kept: [LinkReloadPlan.Change], old: HANetConfig, delaysChanged: Bool, now: UInt64) -> [String] {
        var applied: [String] = []
        var restarted: [Slave] = []
        for c in kept {
            guard let s = slaves.first(where: { $0.name == c.interface && !$0.hot }) else { continue }
            let a = s.config, link = c.new
            s.config = link
            if a.priority != link.priority { applied.append("link \(s.name): priority \(a.priority) -> \(link.priority)") }
            if a.role != link.role || a.speedBitsPerSecond != link.speedBitsPerSecond {
                applied.append("link \(s.name): role \(s.role.rawValue), speed \(s.speedBitsPerSecond) bit/s")
            }
            for k in LinkReloadPlan.liveOptionKeys.sorted() where a.options[k] != link.options[k] {
                applied.append("link \(s.name): \(k) \(a.options[k]?.text ?? "unset") -> \(link.options[k]?.text ?? "unset")")
            }
            let detectorsChanged = a.detectors != link.detectors
                || a.detectors.contains { old.detectorConfig($0, on: a) != config.detectorConfig($0, on: link) }
            let trackerChanged = a.detectors != link.detectors || a.detectorPolicy != link.detectorPolicy || delaysChanged
            if trackerChanged {
                // A fresh tracker with the verdicts already known: the slave keeps its
                // health until its detectors say otherwise, so a reload alone never switches.
                // The detectors that keep running keep their damping.
                s.tracker = s.tracker.reconfigured(Slave.tracker(for: link, master: config.master),
                                                   keepingDampers: !detectorsChanged, now: now)
                if a.detectorPolicy != link.detectorPolicy {
                    applied.append("link \(s.name): detector_policy \(a.detectorPolicy) -> \(link.detectorPolicy)")
                }
            }
            if detectorsChanged { restarted.append(s) }
        }
        for s in restarted {
            switcher.stopDetectors(of: s)
            for (name, error) in switcher.startLinkDetectors(s) {
                log.error("reload: link \(s.name): detector \(name) did not start: \(error)")
                applied.append("link \(s.name): detector \(name) FAILED to start: \(error)")
            }
            applied.append("link \(s.name): detectors restarted with new settings (\(s.config.detectors.joined(separator: ", ")))")
        }
        return applied
    }
}
