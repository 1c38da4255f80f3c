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
            var ipv6_addresses: [String]? = nil
            var link: String
        }
        var node: String
        var saved_sysctls: [String: String]
        var serving: [Service]
        /// The IPv6 sysctls' values before the first IPv6 service, in the order changed.
        var ipv6_sysctls: SysctlChanges? = nil
        /// The gateway address added to each private link (`PTAIPv6Path`).
        var gateways: [String: String]? = nil
    }

    var stateFile: String { "\(stateDirectory)/pta-\(config.node.name).json" }

    /// Writes the state file, or removes it when there is nothing to remember.
    func persistState() {
        let path = stateFile
        if serving.isEmpty && savedSysctls.isEmpty && ipv6Sysctls.isEmpty && gateways.isEmpty {
            try? FileManager.default.removeItem(atPath: path)
            return
        }
        let st = PersistedState(
            node: config.node.name, saved_sysctls: savedSysctls,
            serving: serving.values.sorted { $0.sibling < $1.sibling }.map {
                .init(sibling: $0.sibling, addresses: $0.addresses.map(\.description),
                      ipv6_addresses: $0.ipv6Addresses.isEmpty ? nil : $0.ipv6Addresses.map(\.description), link: $0.link)
            },
            ipv6_sysctls: ipv6Sysctls.isEmpty ? nil : ipv6Sysctls,
            gateways: gateways.isEmpty ? nil : gateways.mapValues(\.description))
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
        let routes6 = Set((try? env.ipv6Kernel?.ipv6Routes()) ?? [])
        let proxies6 = Set((try? env.ipv6Kernel?.ipv6ProxyNeighbours(on: m)) ?? [])
        var leftovers: [(PersistedState.Service, [IPv4Address], [IPv6Address])] = []
        for svc in st.serving {
            let addrs = svc.addresses.compactMap { IPv4Address($0) }
            let texts6 = svc.ipv6_addresses ?? []
            let addrs6 = texts6.compactMap { IPv6Address($0) }
            let inKernel = !(addrs.isEmpty && addrs6.isEmpty) && addrs.count == svc.addresses.count && addrs6.count == texts6.count
                && addrs.allSatisfy { a in
                    routes.contains(KernelRoute(destination: IPv4Prefix(address: a, length: 32), device: svc.link))
                        && (proxies.contains(a) || carriesRouted(svc.sibling))
                } && addrs6.allSatisfy { a in
                    routes6.contains(KernelIPv6Route(destination: IPv6Prefix(address: a, length: 128), device: svc.link)) && proxies6.contains(a)
                }
            if inKernel, responder.adopt(sibling: svc.sibling, addresses: addrs, ipv6Addresses: addrs6, link: svc.link, now: now) {
                serving[svc.sibling] = Service(sibling: svc.sibling, addresses: addrs, ipv6Addresses: addrs6, link: svc.link,
                                               since: Date(), sinceNanos: now)
                log.info("PTA: adopted the service of \(svc.sibling) (\(svc.addresses.joined(separator: ", ")) over \(svc.link)) a previous instance left; it lasts while \(svc.sibling) renews it")
                host.ptaEvent(.ptaServing, sibling: svc.sibling, addresses: addrs, ipv6Addresses: addrs6, link: svc.link,
                                reason: "adopted from the previous instance")
            } else {
                leftovers.append((svc, addrs, addrs6))
            }
        }
        // The first instance's saved values are the ones to restore, whatever happens next.
        savedSysctls = st.saved_sysctls
        ipv6Sysctls = st.ipv6_sysctls ?? SysctlChanges()
        gateways = (st.gateways ?? [:]).compactMapValues { IPv6Prefix($0) }
        for (svc, addrs, addrs6) in leftovers {
            log.warning("PTA: the service of \(svc.sibling) in \(path) is not (wholly) in the kernel; removing what is left of it")
            for a in addrs {
                let r = KernelRoute(destination: IPv4Prefix(address: a, length: 32), device: svc.link)
                if routes.contains(r) { try? env.kernel.deleteRoute(r) }
                if proxies.contains(a) { try? env.kernel.deleteProxyNeighbour(a, on: m) }
            }
            // The sysctls and gateways go below, when no adopted IPv6 service needs them.
            try? stopServingIPv6(addrs6, link: svc.link)
        }
        if serving.values.allSatisfy({ $0.ipv6Addresses.isEmpty }) {
            do { try stopServingIPv6([], link: "") } catch { log.warning("PTA: restoring the IPv6 state a previous instance left: \(error)") }
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
