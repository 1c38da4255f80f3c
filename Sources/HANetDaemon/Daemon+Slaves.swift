import FoundationEssentials
import HANetCore
import HANetSystem

/// Slaves that come and go while the daemon runs: what hot-plug
/// (Daemon+Hotplug.swift) and reload (Daemon+Reload.swift) share. A slave is
/// opened (its link plugin, its interface cleaned), its detectors started,
/// then enlisted as a candidate; it leaves by being retired, which hands the
/// traffic over first when it is the active one.
extension Daemon {
    /// Opens `link` as a slave that is not a candidate yet: resolved as at
    /// start (its link plugin; the TUN of a frame link) and cleaned
    /// (`hygiene`). Nothing stays open when it throws.
    func openSlave(_ link: HANetConfig.Link, order: Int, hot: Bool = false) throws -> Slave {
        let s = try resolve(link, order: order, hot: hot)
        do {
            try hygiene(s)
        } catch {
            removeAddedAddresses(s)
            closeSlave(s)
            throw HANetError(.kernel, "\(link.location): link \(link.interface): \(error)")
        }
        return s
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

    /// Makes an opened slave a candidate: the interface manager sees it from
    /// its next decision. Slaves stay sorted by `order` (config order, then hot links).
    func enlist(_ s: Slave) {
        if s.attributes.layer == .l2 {
            do { try env.announcer.prepare(on: s.name) } catch { log.warning("\(error)") }
        }
        slaves.append(s)
        slaves.sort { $0.order < $1.order }
        pta?.refreshPrivateLinks()
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

    /// Stops what runs for `s` (detectors, the frame pump; the TUN goes with
    /// it) and closes its link plugin handle. Idempotent.
    func closeSlave(_ s: Slave) {
        stopDetectors(of: s)
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
        closeSlave(s)
        slaves.removeAll { $0 === s }
        pta?.linkRemoved(s.name)
        pta?.refreshPrivateLinks()
    }

    /// Removes the addresses `hygiene` added to `s` (its `address`): they
    /// belong to the [[link]], which is leaving. Failures are logged.
    func removeAddedAddresses(_ s: Slave, keeping keep: IPv4Prefix? = nil) {
        for a in s.addedAddresses where a != keep {
            do { try env.kernel.deleteAddress(a, from: s.name) } catch { log.warning("link \(s.name): removing \(a): \(error)") }
        }
        s.addedAddresses.removeAll { $0 != keep }
    }
}
