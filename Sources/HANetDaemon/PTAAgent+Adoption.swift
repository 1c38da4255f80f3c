import FoundationEssentials
import HANetCore
import HANetSystem

/// Restart without a blip, responder side. While it serves a sibling the
/// agent keeps a small state file: which services it runs and the sysctl
/// values it found before the first one. A daemon restarted while serving
/// (upgrade, crash, SIGKILL) reads it, checks each service against the kernel,
/// and adopts those whose routes and proxy entries are all in place: the
/// kernel keeps forwarding throughout, the sibling's next RENEW extends the
/// adopted lease, and the eventual RELEASE restores the values saved by the
/// first instance, not the "1"s that instance wrote. A service only partly in
/// the kernel is not trusted: its leftovers are removed.
extension PTAAgent {
    struct PersistedState: Codable {
        struct Service: Codable {
            var sibling: String
            var addresses: [String]
            var link: String
        }
        var node: String
        var saved_sysctls: [String: String]
        var serving: [Service]
    }

    var stateFile: String { "\(stateDirectory)/pta-\(config.node.name).json" }

    /// Writes the state file, or removes it when there is nothing to remember.
    func persistState() {
        let path = stateFile
        if serving.isEmpty && savedSysctls.isEmpty {
            try? FileManager.default.removeItem(atPath: path)
            return
        }
        let st = PersistedState(
            node: config.node.name, saved_sysctls: savedSysctls,
            serving: serving.values.sorted { $0.sibling < $1.sibling }.map {
                .init(sibling: $0.sibling, addresses: $0.addresses.map(\.description), link: $0.link)
            })
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            // Atomic: a crash mid-write must not leave half a file that loses the saved values.
            try enc.encode(st).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            log.error("PTA: cannot save \(path) (a restart while serving would not restore sysctls): \(error)")
        }
    }

    /// Called once at start, before any datagram is handled.
    func adoptPersistedState() {
        let path = stateFile
        guard let data = FileManager.default.contents(atPath: path) else { return }
        guard let st = try? JSONDecoder().decode(PersistedState.self, from: data), st.node == config.node.name else {
            log.warning("PTA: ignoring \(path): not a state file of node \(config.node.name)")
            return
        }
        let now = env.clock.nowNanos()
        let m = config.master.name
        let routes = Set((try? env.kernel.routes()) ?? [])
        let proxies = Set((try? env.kernel.proxyNeighbours(on: m)) ?? [])
        var leftovers: [(PersistedState.Service, [IPv4Address])] = []
        for svc in st.serving {
            let addrs = svc.addresses.compactMap { IPv4Address($0) }
            let inKernel = !addrs.isEmpty && addrs.count == svc.addresses.count && addrs.allSatisfy { a in
                routes.contains(KernelRoute(destination: IPv4Prefix(address: a, length: 32), device: svc.link)) && proxies.contains(a)
            }
            if inKernel, responder.adopt(sibling: svc.sibling, addresses: addrs, link: svc.link, now: now) {
                serving[svc.sibling] = Service(sibling: svc.sibling, addresses: addrs, link: svc.link, since: Date(), sinceNanos: now)
                log.info("PTA: adopted the service of \(svc.sibling) (\(svc.addresses.joined(separator: ", ")) over \(svc.link)) a previous instance left; it lasts while \(svc.sibling) renews it")
                host.ptaEvent(.ptaServing, sibling: svc.sibling, addresses: addrs, link: svc.link,
                                reason: "adopted from the previous instance")
            } else {
                leftovers.append((svc, addrs))
            }
        }
        // The first instance's saved values are the ones to restore, whatever happens next.
        savedSysctls = st.saved_sysctls
        for (svc, addrs) in leftovers {
            log.warning("PTA: the service of \(svc.sibling) in \(path) is not (wholly) in the kernel; removing what is left of it")
            for a in addrs {
                let r = KernelRoute(destination: IPv4Prefix(address: a, length: 32), device: svc.link)
                if routes.contains(r) { try? env.kernel.deleteRoute(r) }
                if proxies.contains(a) { try? env.kernel.deleteProxyNeighbour(a, on: m) }
            }
        }
        if serving.isEmpty {
            for (p, v) in savedSysctls { try? env.sysctl.write(p, v) }
            if !savedSysctls.isEmpty { log.info("PTA: restored \(savedSysctls.count) sysctls saved by a previous instance") }
            savedSysctls.removeAll()
        }
        persistState()
        scheduleTick()
    }
}
