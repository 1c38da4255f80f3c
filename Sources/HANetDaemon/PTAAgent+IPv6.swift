import FoundationEssentials
import HANetCore
import HANetSystem

/// The IPv6 side of carrying a sibling (docs/ipv6.md), on both ends.
///
/// Responder: the sysctls proxy NDP needs (`IPv6SiblingSysctls`, saved and
/// restored exactly through `SysctlChanges`), a proxy entry on the master and
/// a /128 route over the private link per address, the gateway address the
/// served node routes through (`PTAIPv6Path`), and unsolicited NAs with this
/// node's MAC: the kernel clears the Override flag on proxied answers, so
/// neighbours that cached the dead server's MAC would keep it.
///
/// Requester: while the sibling carries its IPv6 addresses, its LAN
/// prefixes go via the sibling's gateway address (`PTAIPv6Path`).
extension PTAAgent {
    func ipv6Kernel() throws -> IPv6Kernel {
        guard let k6 = env.ipv6Kernel else { throw HANetError(.state, "this kernel interface cannot manage IPv6") }
        return k6
    }

    func startServingIPv6(_ addresses: [IPv6Address], link: String) throws {
        let k6 = try ipv6Kernel()
        let m = config.master.name
        try ipv6Sysctls.apply(try siblingSysctls(link: link), to: env.sysctl)
        if gateways[link] == nil, let end = ownAddress(on: link) {
            let gw = IPv6Prefix(address: PTAIPv6Path.gateway(siblingEnd: end), length: 64)
            if !(try k6.ipv6Addresses(of: link)).contains(where: { $0.prefix == gw }) {
                try k6.addIPv6Address(gw, to: link)
                gateways[link] = gw
            }
        } else if gateways[link] == nil {
            log.warning("PTA: \(link) has no IPv4 address of its own: the served node's own IPv6 traffic has no gateway on it")
        }
        let routes = Set(try k6.ipv6Routes())
        let proxies = Set(try k6.ipv6ProxyNeighbours(on: m))
        for a in addresses {
            let r = KernelIPv6Route(destination: IPv6Prefix(address: a, length: 128), device: link)
            if !routes.contains(r) { try k6.addIPv6Route(r) }
            if !proxies.contains(a) { try k6.addIPv6ProxyNeighbour(a, on: m) }
        }
    }

    /// Undoes `startServingIPv6` for `addresses`; the sysctls and a link's
    /// gateway go when no IPv6 service needs them (`serving` no longer holds this one).
    func stopServingIPv6(_ addresses: [IPv6Address], link: String) throws {
        guard !addresses.isEmpty || !ipv6Sysctls.isEmpty || !gateways.isEmpty else { return }
        let k6 = try ipv6Kernel()
        let m = config.master.name
        var firstError: Error?
        let routes = Set((try? k6.ipv6Routes()) ?? [])
        let proxies = Set((try? k6.ipv6ProxyNeighbours(on: m)) ?? [])
        for a in addresses {
            let r = KernelIPv6Route(destination: IPv6Prefix(address: a, length: 128), device: link)
            do { if routes.contains(r) { try k6.deleteIPv6Route(r) } } catch { firstError = firstError ?? error }
            do { if proxies.contains(a) { try k6.deleteIPv6ProxyNeighbour(a, on: m) } } catch { firstError = firstError ?? error }
        }
        let stillIPv6 = serving.values.filter { !$0.ipv6Addresses.isEmpty }
        for (l, gw) in gateways where !stillIPv6.contains(where: { $0.link == l }) {
            do { try k6.deleteIPv6Address(gw, from: l) } catch { firstError = firstError ?? error }
            gateways[l] = nil
        }
        if stillIPv6.isEmpty {
            do { try ipv6Sysctls.restore(to: env.sysctl) } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }

    /// `IPv6SiblingSysctls` for this kernel: the interfaces whose `forwarding`
    /// the global switch changes, the master's `accept_ra`, and whether
    /// per-interface `force_forwarding` exists.
    func siblingSysctls(link: String) throws -> [SysctlChanges.Setting] {
        let names = (try env.kernel.links().map(\.name) + ["default"]).filter {
            (try? env.sysctl.read("net/ipv6/conf/\($0)/forwarding")) != nil
        }
        return IPv6SiblingSysctls.settings(
            master: config.master.name, link: link, interfaces: names.sorted(),
            acceptRA: try env.sysctl.read("net/ipv6/conf/\(config.master.name)/accept_ra"),
            forceForwarding: (try? env.sysctl.read("net/ipv6/conf/all/force_forwarding")) != nil)
    }

    /// This node's IPv4 end of the private link `link` (its [[link]] address).
    func ownAddress(on link: String) -> IPv4Address? {
        (host.privateSlaves.first { $0.name == link }?.config.address ?? config.links.first { $0.interface == link }?.address)?.address
    }

    // MARK: requester

    /// The sibling carries our IPv6 addresses: our LAN prefixes go via its gateway address.
    func addCarriedRoutes(via sibling: IPv4Address) {
        guard carriedRoutes.isEmpty, let k6 = env.ipv6Kernel else { return }
        let m = config.master.name
        do {
            let have = try k6.ipv6Routes()
            let hasDefault = have.contains { $0.destination.length == 0 && $0.device == m }
            let gw = PTAIPv6Path.gateway(siblingEnd: sibling)
            for p in PTAIPv6Path.routes(service: config.master.ipv6Addresses, hasDefault: hasDefault) {
                let r = KernelIPv6Route(destination: p, device: m, gateway: gw)
                if !have.contains(r) {
                    try k6.addIPv6Route(r)
                    carriedRoutes.append(r)
                }
            }
            log.info("PTA: IPv6 via \(gw) on \(m): \(carriedRoutes.map(\.destination.description).joined(separator: ", "))")
        } catch {
            log.error("PTA: routing IPv6 via the sibling: \(error)")
        }
    }

    /// A public slave is active again (or the sibling stopped carrying us): the on-link routes serve again.
    func removeCarriedRoutes() {
        guard !carriedRoutes.isEmpty, let k6 = env.ipv6Kernel else { return }
        for r in carriedRoutes {
            do { try k6.deleteIPv6Route(r) } catch { log.warning("PTA: removing the IPv6 route \(r.destination) via the sibling: \(error)") }
        }
        carriedRoutes.removeAll()
    }
}
