import CHANetPlugin
import Foundation
@testable import HANetCore
@testable import HANetDaemon
@testable import HANetSystem

/// In-memory stand-ins for what the daemon drives: the kernel's links,
/// addresses, routes and proxy entries; the nftables data plane; sysctls;
/// gratuitous ARP; link types and detectors; the PTA socket; netlink and udev.
/// Each records what was asked of it, for the decision tests to assert.

final class FakeKernel: NetworkKernel {
    var linksByName: [String: KernelLink] = [:]
    var addressesByLink: [String: [IPv4Prefix]] = [:]
    var routeTable: [KernelRoute] = []
    var proxies: [String: [IPv4Address]] = [:]
    var flushed: [String] = []
    var ipv6AddressesByLink: [String: [KernelIPv6Address]] = [:]
    var ipv6Proxies: [String: [IPv6Address]] = [:]
    var ipv6RouteTable: [KernelIPv6Route] = []
    private var nextIndex: Int32 = 10

    /// An interface with carrier (or not), up, with a MAC derived from its index.
    @discardableResult
    func add(_ name: String, carrier: Bool = true, arphrd: UInt32 = 1) -> KernelLink {
        nextIndex += 1
        let l = KernelLink(name: name, index: nextIndex, mac: MACAddress([0x02, 0, 0, 0, 0, UInt8(nextIndex)]), mtu: 1500,
                           txQueueLength: 1000, flags: KernelLink.flagUp | (carrier ? KernelLink.flagLowerUp : 0),
                           arphrd: arphrd, operState: carrier ? 6 : 2)
        linksByName[name] = l
        return l
    }

    /// The link with its carrier set, as a netlink notification would report it.
    func setCarrier(_ name: String, _ up: Bool) -> KernelLink {
        var l = linksByName[name]!
        l.flags = up ? l.flags | KernelLink.flagLowerUp : l.flags & ~KernelLink.flagLowerUp
        l.operState = up ? 6 : 2
        linksByName[name] = l
        return l
    }

    func links() throws -> [KernelLink] { Array(linksByName.values) }
    func link(named name: String) throws -> KernelLink? { linksByName[name] }
    func createVethPair(_ name: String, peer: String) throws {
        add(name)
        add(peer)
    }
    func deleteLink(named name: String) throws { linksByName[name] = nil }
    func setUp(_ name: String, _ up: Bool) throws {
        guard var l = linksByName[name] else { throw HANetError(.notFound, "no link \(name)") }
        l.flags = up ? l.flags | KernelLink.flagUp : l.flags & ~KernelLink.flagUp
        linksByName[name] = l
    }
    func setMAC(_ name: String, _ mac: MACAddress) throws { linksByName[name]?.mac = mac }
    func setMTU(_ name: String, _ mtu: UInt32) throws { linksByName[name]?.mtu = mtu }
    func setNoARP(_ name: String, _ noARP: Bool) throws {
        guard var l = linksByName[name] else { return }
        l.flags = noARP ? l.flags | KernelLink.flagNoARP : l.flags & ~KernelLink.flagNoARP
        linksByName[name] = l
    }
    func setTxQueueLength(_ name: String, _ length: UInt32) throws { linksByName[name]?.txQueueLength = length }
    func addresses(of name: String) throws -> [IPv4Prefix] { addressesByLink[name] ?? [] }
    func addAddress(_ prefix: IPv4Prefix, to name: String) throws { addressesByLink[name, default: []].append(prefix) }
    func deleteAddress(_ prefix: IPv4Prefix, from name: String) throws { addressesByLink[name]?.removeAll { $0 == prefix } }
    func flushNeighbours(on name: String) throws { flushed.append(name) }
    func routes() throws -> [KernelRoute] { routeTable }
    func addRoute(_ route: KernelRoute) throws { routeTable.append(route) }
    func deleteRoute(_ route: KernelRoute) throws { routeTable.removeAll { $0 == route } }
    func proxyNeighbours(on name: String) throws -> [IPv4Address] { proxies[name] ?? [] }
    func addProxyNeighbour(_ address: IPv4Address, on name: String) throws { proxies[name, default: []].append(address) }
    func deleteProxyNeighbour(_ address: IPv4Address, on name: String) throws { proxies[name]?.removeAll { $0 == address } }
}

extension FakeKernel: IPv6Kernel {
    func ipv6Addresses(of name: String) throws -> [KernelIPv6Address] { ipv6AddressesByLink[name] ?? [] }
    func addIPv6Address(_ prefix: IPv6Prefix, to name: String) throws {
        if ipv6AddressesByLink[name]?.contains(where: { $0.prefix == prefix }) == true {
            throw HANetError(.kernel, "RTM_NEWADDR \(prefix) on \(name): File exists")
        }
        ipv6AddressesByLink[name, default: []].append(KernelIPv6Address(prefix: prefix, flags: KernelIPv6Address.flagNoDAD | KernelIPv6Address.flagPermanent))
    }
    func deleteIPv6Address(_ prefix: IPv6Prefix, from name: String) throws { ipv6AddressesByLink[name]?.removeAll { $0.prefix == prefix } }
    func ipv6ProxyNeighbours(on name: String) throws -> [IPv6Address] { ipv6Proxies[name] ?? [] }
    func addIPv6ProxyNeighbour(_ address: IPv6Address, on name: String) throws { ipv6Proxies[name, default: []].append(address) }
    func deleteIPv6ProxyNeighbour(_ address: IPv6Address, on name: String) throws { ipv6Proxies[name]?.removeAll { $0 == address } }
    func ipv6Routes() throws -> [KernelIPv6Route] { ipv6RouteTable }
    func addIPv6Route(_ route: KernelIPv6Route) throws { ipv6RouteTable.append(route) }
    func deleteIPv6Route(_ route: KernelIPv6Route) throws { ipv6RouteTable.removeAll { $0 == route } }
}

final class FakeDataPlane: DataPlane {
    var plans: [ForwardingPlan] = []
    var guards: [PTAGuard] = []
    var removed: [String] = []
    /// What `installed` reports: a table a previous instance left.
    var leftBehind: (port: String, active: String?)?
    /// When set, `apply` throws (a failed nftables transaction).
    var failing = false

    var current: ForwardingPlan? { plans.last }
    func apply(_ plan: ForwardingPlan) throws {
        if failing { throw HANetError(.kernel, "nftables: transaction refused") }
        plans.append(plan)
    }
    func installed(table: String) throws -> (port: String, active: String?)? { leftBehind }
    func remove(table: String) throws { removed.append(table) }
    func applyGuard(_ g: PTAGuard) throws { guards.append(g) }
    func guardDrops(table: String) throws -> UInt64? { guards.isEmpty ? nil : 0 }
}

final class FakeSysctl: SysctlStore {
    var values: [String: String] = [:]
    /// Paths this kernel does not have: reading them fails.
    var absent: Set<String> = []
    func read(_ path: String) throws -> String {
        if absent.contains(path) { throw HANetError(.io, "\(path): No such file or directory") }
        return values[path] ?? "0"
    }
    func write(_ path: String, _ value: String) throws { values[path] = value }
}

final class FakeAnnouncer: ARPAnnouncer, NAAnnouncer {
    struct Announcement: Equatable {
        var address: IPv4Address
        var mac: MACAddress
        var interface: String
        var count: Int
    }
    struct NA: Equatable {
        var address: IPv6Address
        var mac: MACAddress
        var interface: String
        var count: Int
        var intervalMillis: Int
    }
    var sent: [Announcement] = []
    var sentNA: [NA] = []
    var prepared: Set<String> = []
    func announceNA(address: IPv6Address, mac: MACAddress, on interface: String, count: Int, intervalMillis: Int) throws {
        sentNA.append(.init(address: address, mac: mac, interface: interface, count: count, intervalMillis: intervalMillis))
    }
    func announce(address: IPv4Address, mac: MACAddress, on interface: String, count: Int, intervalMillis: Int) throws {
        sent.append(.init(address: address, mac: mac, interface: interface, count: count))
    }
    func prepare(on interface: String) throws { prepared.insert(interface) }
    func release(on interface: String) { prepared.remove(interface) }
}

/// Link types by name; each describes its devices with fixed attributes.
final class FakeLinkTypes: LinkTypeProvider {
    var types: [String: LinkAttributes] = [
        "ethernet": LinkAttributes(layer: .l2, defaultRole: .public, arphrd: 1, headerLength: 14, addressLength: 6,
                                   mtu: 0, speedBitsPerSecond: 1_000_000_000),
        "usbnet": LinkAttributes(layer: .l2, defaultRole: .private, arphrd: 1, headerLength: 14, addressLength: 6,
                                 mtu: 0, speedBitsPerSecond: 12_000_000),
    ]
    var opened: [String] = []
    func linkTypeNames() -> [String] { Array(types.keys) }
    func probe(_ device: DeviceInfo) -> String? { device.driver == "cdc_ether" ? "usbnet" : nil }
    func describe(linkType: String, device: DeviceInfo, config: [String: HANetConfig.Value], allowUnavailable: Bool) throws -> LinkAttributes {
        guard let a = types[linkType] else { throw HANetError(.plugin, "no link type \(linkType)") }
        return a
    }
    func openLink(type linkType: String, device: DeviceInfo, config: [String: HANetConfig.Value], onFrame: (([UInt8]) -> Void)?) throws -> LinkInstance {
        opened.append(device.name)
        return LinkInstance(typeName: linkType, pluginID: linkType, device: device.name, config: PluginConfig([:]),
                            closeFunction: nil, sendFunction: nil, onFrame: nil)
    }
}

/// Detectors that report only when the test says so (`report`), with the
/// damping settings their config gives, as the plugin host parses them.
final class FakeDetectors: DetectorFactory {
    struct Live {
        var slave: String
        var type: String
        var instance: DetectorInstance
        var report: (Health, String, UInt64) -> Void
    }
    var names = ["carrier", "arp-monitor"]
    var live: [Live] = []
    func detectorTypeNames() -> [String] { names }
    func createDetector(type: String, slave: String, ifindex: Int32, layer: LinkLayer, intervalMillis: Int?,
                        config: [String: HANetConfig.Value],
                        reportAt: @escaping (Health, String, UInt64) -> Void) throws -> DetectorInstance {
        let damping = try DetectorDamper.Settings(config: config, detector: type, slave: slave)
        let d = DetectorInstance(typeName: type, pluginID: type, slave: slave, intervalMillis: 0, type: hanet_detector_type(),
                                 state: nil, threadSafe: false, keepAlive: [], damping: damping)
        live.removeAll { $0.instance.isDestroyed }
        live.append(Live(slave: slave, type: type, instance: d, report: reportAt))
        return d
    }

    /// A verdict from the live detector `type` on `slave`, caused at `at`.
    func report(_ slave: String, _ type: String, _ health: Health, _ reason: String, at: UInt64) {
        guard let d = live.last(where: { $0.slave == slave && $0.type == type && !$0.instance.isDestroyed }) else { return }
        d.report(health, reason, at)
    }

    func running(on slave: String) -> [String] {
        live.filter { $0.slave == slave && !$0.instance.isDestroyed }.map(\.type)
    }
}

/// The private links between nodes: a datagram sent to an address arrives
/// at the node whose kernel has that address on a link, on that link's
/// ifindex, from the sender's address in the same subnet.
final class FakeWire {
    struct Attached {
        var kernel: FakeKernel
        weak var socket: FakePTASocket?
    }
    var nodes: [String: Attached] = [:]
    var sent: [(from: String, to: IPv4Address, type: PTAMessage.Kind?)] = []
    /// Datagrams to these addresses are lost (a cut private link).
    var cut: Set<IPv4Address> = []

    func deliver(_ bytes: [UInt8], from node: String, to address: IPv4Address) {
        sent.append((node, address, bytes.count > 5 ? PTAMessage.Kind(rawValue: bytes[5]) : nil))
        guard !cut.contains(address), let sender = nodes[node] else { return }
        for (_, n) in nodes {
            guard let s = n.socket, s.open,
                  let (link, _) = n.kernel.addressesByLink.first(where: { $0.value.contains { $0.address == address } }),
                  let index = n.kernel.linksByName[link]?.index,
                  let from = sender.kernel.addressesByLink.values.joined().first(where: { p in
                      p.contains(address) && p.address != address })
            else { continue }
            s.receive(bytes, from.address, index)
        }
    }
}

final class FakePTASocket: PTATransport {
    let node: String
    let wire: FakeWire
    let receive: ([UInt8], IPv4Address, Int32) -> Void
    var open = false

    init(node: String, wire: FakeWire, receive: @escaping ([UInt8], IPv4Address, Int32) -> Void) {
        self.node = node
        self.wire = wire
        self.receive = receive
    }

    func start() throws { open = true }
    func stop() { open = false }
    func send(_ bytes: [UInt8], to address: IPv4Address, port: UInt16) throws {
        wire.deliver(bytes, from: node, to: address)
    }
}

final class FakeEventSource: EventSource {
    var started = false
    func start() { started = true }
    func stop() { started = false }
}

/// The routing engine (BIRD) as the routing agent drives it: every call
/// recorded, and a failure to throw while `failure` is set.
final class FakeRoutingEngine: RoutingEngine, @unchecked Sendable {
    enum Call: Equatable {
        case load(announced: Bool)
        case announce([IPv4Address])
        case withdraw
    }

    private(set) var calls: [Call] = []
    var failure: BIRDControlError?
    var protocols: [BIRDProtocol] = []
    private(set) var statusReads = 0

    func load(ownAnnounced: Bool) throws(BIRDControlError) {
        if let failure { throw failure }
        calls.append(.load(announced: ownAnnounced))
    }

    func announce(_ own: [IPv4Address]) throws(BIRDControlError) {
        if let failure { throw failure }
        calls.append(.announce(own))
    }

    func withdraw() throws(BIRDControlError) {
        if let failure { throw failure }
        calls.append(.withdraw)
    }

    func status() throws(BIRDControlError) -> RoutingStatus {
        statusReads += 1
        if let failure { throw failure }
        return RoutingStatus(own: [], ownAnnounced: false, carried: [], protocols: protocols)
    }
}
