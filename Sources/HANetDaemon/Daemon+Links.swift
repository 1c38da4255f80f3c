import FoundationEssentials
import HANetCore
import HANetSystem

/// Opening links: a [[link]] (or a hot-plugged device) becomes a `Slave`
/// through its link type (claimed, described, opened) and is cleaned
/// (`hygiene`), before the switcher enlists it. What start, hot-plug
/// (Daemon+Hotplug.swift) and reload (Daemon+Reload.swift) share.
extension Daemon {
    /// `hot`: a link being attached at run time, whose sibling is not known yet.
    func resolve(_ link: HANetConfig.Link, order: Int, hot: Bool = false) throws -> Slave {
        if let framed = try resolveFrameLink(link, order: order, hot: hot) { return framed }
        guard let k = try env.kernel.link(named: link.interface) else {
            throw HANetError(.config, "\(link.location): link \(link.interface): no such network interface")
        }
        let device = netDevice(k, link: link)
        let (typeName, attrs) = try claim(link, device: device, what: "this device (arphrd \(k.arphrd))")
        let opened: LinkInstance
        do {
            opened = try linkTypes.openLink(type: typeName, device: device, config: link.options)
        } catch {
            throw HANetError(.plugin, "\(link.location): link \(link.interface): type \(typeName) refused to open it: \(error)")
        }
        let slave = Slave(config: link, order: order, typeName: typeName, attributes: attrs, kernel: k, master: config.master)
        slave.link = opened
        return slave
    }

    /// What the link plugins are told about the network interface `k` configured as `link`.
    func netDevice(_ k: KernelLink, link: HANetConfig.Link) -> DeviceInfo {
        DeviceInfo(name: k.name, subsystem: "net", ifindex: k.index, arphrd: k.arphrd,
                   driver: UdevMonitor.driverName(k.name), devpath: "/sys/class/net/\(k.name)",
                   properties: Self.udevProperties(of: link))
    }

    /// The link type for a configured link (its `type`, or the plugins'
    /// probe of `device`) and what that type says about the device. `what`
    /// names the device in the error when no plugin claims it.
    func claim(_ link: HANetConfig.Link, device: DeviceInfo, what: String) throws -> (String, LinkAttributes) {
        let typeName: String
        if let t = link.type {
            guard linkTypes.linkTypeNames().contains(t) else {
                throw HANetError(.config, "\(link.location): link \(link.interface): no link plugin provides type '\(t)' (loaded: \(linkTypes.linkTypeNames().sorted().joined(separator: ", ")))")
            }
            typeName = t
        } else {
            guard let t = linkTypes.probe(device) else {
                throw HANetError(.config, "\(link.location): link \(link.interface): no link plugin claims \(what); set `type`")
            }
            typeName = t
        }
        do {
            return (typeName, try linkTypes.describe(linkType: typeName, device: device, config: link.options))
        } catch {
            throw HANetError(.plugin, "\(link.location): link \(link.interface): type \(typeName): \(error)")
        }
    }

    /// Slaves carry no service address and never answer ARP for one, so only
    /// the active slave's ingress (forwarded to the master) ever answers.
    /// The address it adds is kept in `s.addedAddresses`: a link that leaves
    /// takes it along (`removeAddedAddresses`). The ARP sysctls stay: an
    /// interface next to the master would answer ARP for the service addresses
    /// with the kernel's defaults, whether it is a slave or not.
    func hygiene(_ s: Slave) throws {
        try env.sysctl.write("net/ipv4/conf/\(s.name)/arp_ignore", "1")
        try env.sysctl.write("net/ipv4/conf/\(s.name)/arp_announce", "2")
        if config.routing != nil, s.role == .private {
            // Routed mode: after a heal the routers keep sending this server's
            // traffic through the sibling until its BGP session is back (2.5 s
            // median, docs/routing.md); it arrives on this backup slave and the
            // replies leave through the master, which strict reverse-path
            // filtering would drop.
            try env.sysctl.write("net/ipv4/conf/\(s.name)/rp_filter", "2")
        }
        let service = Set(config.master.addresses.map(\.address))
        for a in try env.kernel.addresses(of: s.name) where service.contains(a.address) {
            try env.kernel.deleteAddress(a, from: s.name)
            log.warning("removed service address \(a) from slave \(s.name)")
        }
        if let own = s.config.address, !(try env.kernel.addresses(of: s.name)).contains(own) {
            try env.kernel.addAddress(own, to: s.name)
            s.addedAddresses.append(own)
        }
        try slaveIPv6Hygiene(s)
        if let k = s.kernel, !k.isUp { try env.kernel.setUp(s.name, true) }
    }

    /// Opens `link` as a slave that is not a candidate yet: resolved as at
    /// start (its link plugin; the TUN of a frame link) and cleaned
    /// (`hygiene`). Nothing stays open when it throws.
    func openSlave(_ link: HANetConfig.Link, order: Int, hot: Bool = false) throws -> Slave {
        let s = try resolve(link, order: order, hot: hot)
        do {
            try hygiene(s)
        } catch {
            removeAddedAddresses(s)
            switcher.close(s)
            throw HANetError(.kernel, "\(link.location): link \(link.interface): \(error)")
        }
        return s
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
