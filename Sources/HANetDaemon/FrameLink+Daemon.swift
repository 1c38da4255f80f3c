// Opening a frame link: the TUN and packet pump of a [[link]] whose type moves frames itself (user-space PPP).

import FoundationEssentials
import HANetCore
import HANetSystem

extension Daemon {
    /// A [[link]] with a `device` (a tty) whose link type moves frames itself
    /// (HANET_LINK_FRAME_IO): the daemon creates the TUN named by the link's
    /// `interface`, opens the plugin on the device and pumps packets between
    /// them, so the TUN can then be resolved as an ordinary netdev slave.
    /// Returns nil for every other link (resolved as an existing netdev).
    ///
    /// Nothing here outlives a failed start: the TUN exists only while its
    /// descriptor is open, and the plugin link closes when released.
    func resolveFrameLink(_ link: HANetConfig.Link, order: Int, hot: Bool = false) throws -> Slave? {
        guard case .string(let path)? = link.options["device"] else { return nil }
        let device = DeviceInfo(name: path, subsystem: "tty", devpath: "", properties: Self.udevProperties(of: link))
        let (typeName, attrs) = try claim(link, device: device, what: "the tty \(path)")
        guard attrs.frameIO else { return nil }
        do {
            try NftablesRuleset.checkInterface(link.interface, role: "link")
        } catch {
            throw HANetError(.config, "\(link.location): \(error)")
        }
        if try env.kernel.link(named: link.interface) != nil {
            throw HANetError(.config, "\(link.location): link \(link.interface): an interface of that name exists already; a \(typeName) link creates its own TUN device named by `interface`")
        }
        guard link.address != nil else {
            throw HANetError(.config, "\(link.location): link \(link.interface): type \(typeName) needs `address` (this end of the point-to-point link, such as \"169.254.77.1/30\")")
        }

        let tun: TunDevice
        do {
            tun = try TunDevice(name: link.interface)
        } catch {
            throw HANetError(.kernel, "\(link.location): link \(link.interface): \(error)")
        }
        let opened: LinkInstance
        do {
            opened = try linkTypes.openLink(type: typeName, device: device, config: frameLinkOptions(link, hot: hot),
                                          onFrame: FrameLink.deliver(to: tun))
        } catch {
            throw HANetError(.plugin, "\(link.location): link \(link.interface): type \(typeName) refused to open \(path): \(error)")
        }
        let pump = FrameLink(tun: tun, link: opened)
        // A point-to-point IPv4 link: no IPv6 autoconfiguration chatter for the plugin to drop.
        try? env.sysctl.write("net/ipv6/conf/\(tun.name)/disable_ipv6", "1")
        if attrs.mtu != 0 { try env.kernel.setMTU(tun.name, attrs.mtu) }
        guard let k = try env.kernel.link(named: tun.name) else {
            throw HANetError(.kernel, "\(link.location): link \(link.interface): the TUN device vanished right after it was created")
        }
        pump.start()
        log.info("link \(link.interface): \(typeName) on \(path) through TUN \(tun.name)")
        let slave = Slave(config: link, order: order, typeName: typeName, attributes: attrs, kernel: k, master: config.master)
        slave.link = opened
        slave.frameLink = pump
        return slave
    }

    /// What a frame-I/O plugin needs beyond the [[link]] keys: its netdev's
    /// name (detectors find the link by it) and both ends' addresses (IPCP).
    /// A hot link's far end is not known when it opens (the HELLO finds
    /// out), so IPCP accepts whatever address the far end proposes there.
    func frameLinkOptions(_ link: HANetConfig.Link, hot: Bool = false) -> [String: HANetConfig.Value] {
        var options = link.options
        options["interface"] = .string(link.interface)
        if let a = link.address { options["address"] = .string(a.description) }
        if !hot, let name = link.sibling, let peer = config.siblings.first(where: { $0.name == name })?.address {
            options["peer_address"] = .string(peer.description)
        }
        return options
    }

    /// `udev_properties = ["KEY=VALUE", ...]` of a [[link]]: stands in for
    /// udev's properties of the device (udev does not run in test
    /// namespaces; an admin can also force a link type this way).
    static func udevProperties(of link: HANetConfig.Link) -> [String: String] {
        guard case .array(let items)? = link.options["udev_properties"] else { return [:] }
        var out: [String: String] = [:]
        for case .string(let item) in items {
            guard let eq = item.firstIndex(of: "=") else { continue }
            out[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        return out
    }
}
