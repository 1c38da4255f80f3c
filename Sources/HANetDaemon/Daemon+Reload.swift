import Foundation
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
extension Daemon {
    /// Reads `config.file` again and applies it. Never throws: the answer says what happened.
    public func reload() -> ReloadResult {
        let path = queue.sync { config.file }
        let new: HANetConfig
        do {
            new = try ConfigCheck.read(path)
        } catch let e as ConfigError {
            return queue.sync { refuse(e.problems.map(\.description)) }
        } catch {
            return queue.sync { refuse(["\(path): \(error)"]) }
        }
        let offline = ConfigCheck.offline(new, detectorTypes: Set(plugins.detectorTypeNames()), linkTypes: Set(plugins.linkTypeNames()))
        if !offline.isEmpty {
            return queue.sync { refuse(offline.map(\.description)) }
        }
        return queue.sync { applyOnQueue(new) }
    }

    private func refuse(_ problems: [String]) -> ReloadResult {
        log.error("reload refused; still running the previous configuration:\n  " + problems.joined(separator: "\n  "))
        ops.events.emit("reload-refused") { $0.changes = problems; $0.reason = "kept the running configuration" }
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
        check(old.master.table, new.master.table, "master.table", "the nftables table is adopted at start")
        check(old.siblings, new.siblings, "[[sibling]]", "keys and peers are loaded at start")
        check(old.pta, new.pta, "[pta]", "the replay guard and leases are bound to these timers")
        let oldNames = old.links.map(\.interface), newNames = new.links.map(\.interface)
        if oldNames != newNames {
            out.append("the set or order of [[link]] interfaces changed (\(oldNames.joined(separator: ",")) -> \(newNames.joined(separator: ","))); restart the daemon to add or remove links")
        } else {
            for (a, b) in zip(old.links, new.links) {
                let l = "link \(a.interface)"
                check(a.type, b.type, "\(l): type", "the link plugin opened the device at start")
                check(a.address, b.address, "\(l): address", "the private link's address is set at start")
                check(a.sibling, b.sibling, "\(l): sibling", "the PTA peer of a link is fixed at start")
                check(a.options, b.options, "\(l): device/baud", "the link plugin opened the device with them")
            }
        }
        return out
    }

    /// Applies `new` on the control queue and records what changed.
    func applyOnQueue(_ new: HANetConfig) -> ReloadResult {
        let old = config
        let restart = Self.restartNeeded(from: old, to: new)
        if !restart.isEmpty { return refuse(restart) }
        var applied: [String] = []
        let now = env.clock.nowNanos()

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
        if old.hooks != new.hooks {
            ops.hooks?.update(new.hooks)
            applied.append("[hooks]")
        }

        // Commit the new config before restarting detectors: they read it.
        config = new
        var restarted: [(Slave, [String])] = []
        for (s, link) in zip(slaves, new.links) {
            let a = s.config
            if a.priority != link.priority { applied.append("link \(s.name): priority \(a.priority) -> \(link.priority)") }
            if a.role != link.role || a.speedBitsPerSecond != link.speedBitsPerSecond {
                s.role = link.role ?? s.attributes.defaultRole
                s.speedBitsPerSecond = link.speedBitsPerSecond ?? s.attributes.speedBitsPerSecond
                applied.append("link \(s.name): role \(s.role.rawValue), speed \(s.speedBitsPerSecond) bit/s")
            }
            let detectorsChanged = a.detectors != link.detectors
                || a.detectors.contains { old.detectorConfig($0, on: a) != new.detectorConfig($0, on: link) }
            let trackerChanged = a.detectors != link.detectors || a.detectorPolicy != link.detectorPolicy || delaysChanged
            s.config = link
            if trackerChanged {
                // A fresh tracker with the verdicts already known: the slave keeps its
                // health until its detectors say otherwise, so a reload alone never switches.
                let oldVerdicts = s.tracker.verdicts
                var t = SlaveHealthTracker(detectors: link.detectors,
                                           policy: SlaveHealthTracker.Policy(rawValue: link.detectorPolicy) ?? .any,
                                           updelayMillis: m1.updelayMillis, downdelayMillis: m1.downdelayMillis)
                for d in link.detectors {
                    if let v = oldVerdicts[d] { t.record(detector: d, health: v.health, reason: v.reason, now: now) }
                }
                s.tracker = t
                if a.detectorPolicy != link.detectorPolicy {
                    applied.append("link \(s.name): detector_policy \(a.detectorPolicy) -> \(link.detectorPolicy)")
                }
            }
            if detectorsChanged {
                restarted.append((s, link.detectors))
            }
        }
        for (s, names) in restarted {
            for d in s.detectors { d.destroy() }
            s.detectors.removeAll()
            scheduler.prune()
            for name in names {
                do {
                    try startDetector(name, on: s)
                } catch {
                    log.error("reload: link \(s.name): detector \(name) did not start: \(error)")
                    applied.append("link \(s.name): detector \(name) FAILED to start: \(error)")
                }
            }
            applied.append("link \(s.name): detectors restarted with new settings (\(names.joined(separator: ", ")))")
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
        for s in slaves { scheduleDamping(s) }
        log.info(applied.isEmpty ? "reload: configuration unchanged" : "reload applied:\n  " + applied.joined(separator: "\n  "))
        ops.events.emit("reload") { $0.changes = applied }
        reevaluate(trigger: nil, cause: "configuration reloaded")
        return ReloadResult(ok: true, applied: applied, problems: [])
    }
}
