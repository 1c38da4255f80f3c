import FoundationEssentials
import HANetCore
import HANetSystem

/// The IPv6 service addresses on the master and the IPv6 side of the slaves'
/// hygiene (docs/ipv6.md). Nothing here runs for a config without IPv6
/// service addresses: an IPv4-only node's kernel state stays as it was.
extension Daemon {
    /// The IPv6 kernel when this node has IPv6 service addresses; nil for an IPv4-only node.
    func ipv6KernelIfNeeded() throws -> IPv6Kernel? {
        guard !config.master.ipv6Addresses.isEmpty else { return nil }
        guard let k6 = env.ipv6Kernel else {
            throw HANetError(.state, "master.addresses has IPv6 addresses, but this kernel interface cannot manage IPv6 addresses")
        }
        return k6
    }

    /// Before the master comes up: its link-local address from a stable
    /// secret (RFC 7217), so it stays the same whatever MAC the master has.
    func masterIPv6Hygiene() throws {
        guard try ipv6KernelIfNeeded() != nil else { return }
        try env.sysctl.write(IPv6Hygiene.masterSettings(master: config.master.name, node: config.node.name))
    }

    /// The IPv6 service addresses on the master, without DAD. An address
    /// already there but added with DAD (by hand, or a previous kernel state)
    /// may be tentative or `dadfailed`: it is added again with `nodad`.
    func addMasterIPv6Addresses() throws {
        guard let k6 = try ipv6KernelIfNeeded() else { return }
        let m = config.master.name
        let have = try k6.ipv6Addresses(of: m)
        for p in config.master.ipv6Addresses {
            if let cur = have.first(where: { $0.prefix == p }) {
                if cur.isNoDAD, !cur.isTentative, !cur.isDADFailed { continue }
                log.warning("master \(m): \(p) was there with DAD (\(Self.ipv6FlagNames(cur).joined(separator: ","))); adding it again without DAD")
                try k6.deleteIPv6Address(cur.prefix, from: m)
            }
            try k6.addIPv6Address(p, to: m)
        }
    }

    /// A slave neither autoconfigures nor accepts router advertisements, and
    /// holds no IPv6 service address (only the master's answers).
    func slaveIPv6Hygiene(_ s: Slave) throws {
        guard let k6 = try ipv6KernelIfNeeded() else { return }
        try env.sysctl.write(IPv6Hygiene.slaveSettings(slave: s.name))
        let service = Set(config.master.ipv6Addresses.map(\.address))
        for a in try k6.ipv6Addresses(of: s.name) where service.contains(a.prefix.address) {
            try k6.deleteIPv6Address(a.prefix, from: s.name)
            log.warning("removed service address \(a.prefix) from slave \(s.name)")
        }
    }

    /// The master's IPv6 addresses as status shows them, each flag the kernel set on it.
    func masterIPv6Status() -> (addresses: [String], flags: [String: [String]])? {
        guard !config.master.ipv6Addresses.isEmpty, let k6 = env.ipv6Kernel,
              let have = try? k6.ipv6Addresses(of: config.master.name) else { return nil }
        let global = have.filter { !$0.prefix.address.isLinkLocal }
        var flags: [String: [String]] = [:]
        for a in global { flags[a.prefix.description] = Self.ipv6FlagNames(a) }
        return (global.map(\.prefix.description), flags)
    }

    static func ipv6FlagNames(_ a: KernelIPv6Address) -> [String] {
        [(a.isNoDAD, "nodad"), (a.isTentative, "tentative"), (a.isDADFailed, "dadfailed")].filter(\.0).map(\.1)
    }
}
