// What the daemon drives, bundled so the decision tests run it on fakes.

import FoundationEssentials
import HANetCore
import HANetSystem

/// A source of events on a thread of its own (netlink link notifications, udev).
protocol EventSource: AnyObject {
    func start()
    func stop()
}

extension LinkMonitor: EventSource {}
extension UdevMonitor: EventSource {}

/// The PTA's datagram socket: receives on a thread of its own, sends from the executor.
protocol PTATransport: AnyObject {
    func start() throws
    func send(_ bytes: [UInt8], to address: IPv4Address, port: UInt16) throws
    func stop()
}

extension UDPSocket: PTATransport {}

/// Link types, as the daemon opens links (the plugin host; fakes in tests).
protocol LinkTypeProvider: AnyObject {
    func linkTypeNames() -> [String]
    func probe(_ device: DeviceInfo) -> String?
    func describe(linkType: String, device: DeviceInfo, config: [String: HANetConfig.Value],
                  allowUnavailable: Bool) throws -> LinkAttributes
    func openLink(type linkType: String, device: DeviceInfo, config: [String: HANetConfig.Value],
                  onFrame: (([UInt8]) -> Void)?) throws -> LinkInstance
}

extension LinkTypeProvider {
    func describe(linkType: String, device: DeviceInfo, config: [String: HANetConfig.Value]) throws -> LinkAttributes {
        try describe(linkType: linkType, device: device, config: config, allowUnavailable: false)
    }

    func openLink(type linkType: String, device: DeviceInfo, config: [String: HANetConfig.Value]) throws -> LinkInstance {
        try openLink(type: linkType, device: device, config: config, onFrame: nil)
    }
}

extension PluginHost: LinkTypeProvider {}

/// The kernel-facing parts the daemon drives, bundled so tests of the
/// daemon's decisions swap them for in-memory fakes (Tests/HANetDaemonTests/Fakes).
public struct DaemonEnvironment {
    public var kernel: NetworkKernel
    public var dataPlane: DataPlane
    public var sysctl: SysctlStore
    public var announcer: ARPAnnouncer
    public var clock: MonotonicClock
    /// IPv6 addresses, proxy entries and routes; nil when `kernel` does not
    /// speak IPv6 (a config with IPv6 service addresses then refuses to start).
    public var ipv6Kernel: IPv6Kernel?
    /// Unsolicited Neighbour Advertisements; nil when `announcer` cannot send them.
    public var naAnnouncer: NAAnnouncer?

    typealias PTATransportFactory = (_ port: UInt16, _ receiverNice: Int32,
                                     _ receive: @escaping (_ bytes: [UInt8], _ from: IPv4Address, _ ifindex: Int32) -> Void) -> PTATransport
    typealias LinkEventsFactory = (_ onOverrun: @escaping () -> Void, _ handler: @escaping (KernelLinkEvent) -> Void) throws -> EventSource
    typealias DeviceEventsFactory = (_ handler: @escaping (UdevEvent) -> Void) throws -> EventSource
    /// The PTA's UDP socket.
    var ptaTransport: PTATransportFactory
    /// Kernel link notifications (netlink).
    var linkEvents: LinkEventsFactory
    /// Devices plugged in and out (udev), for hot-plug.
    var deviceEvents: DeviceEventsFactory
    /// What the kernel must offer before anything starts.
    var checkKernel: () throws -> Void
    /// The daemon's executor.
    var makeExecutor: (MonotonicClock) -> ControlExecutor
    /// The routed mode's engine for a config with `[routing]` (BIRD).
    var routingEngine: (HANetConfig) -> RoutingEngine?

    /// `ipv6Kernel` and `naAnnouncer` default to `kernel` and `announcer`
    /// when they conform (Netlink and GratuitousARP do).
    public init(kernel: NetworkKernel, dataPlane: DataPlane, sysctl: SysctlStore, announcer: ARPAnnouncer, clock: MonotonicClock,
                ipv6Kernel: IPv6Kernel? = nil, naAnnouncer: NAAnnouncer? = nil) {
        self.kernel = kernel
        self.dataPlane = dataPlane
        self.sysctl = sysctl
        self.announcer = announcer
        self.clock = clock
        self.ipv6Kernel = ipv6Kernel ?? kernel as? IPv6Kernel
        self.naAnnouncer = naAnnouncer ?? announcer as? NAAnnouncer
        ptaTransport = { port, nice, receive in UDPSocket(port: port, receiverNice: nice, handler: receive) }
        linkEvents = { overrun, handler in try LinkMonitor(onOverrun: overrun, handler: handler) }
        deviceEvents = { handler in try UdevMonitor(subsystems: ["net", "tty"], handler: handler) }
        checkKernel = { try KernelSupport.check() }
        makeExecutor = { DispatchExecutor(clock: $0) }
        routingEngine = { BIRDRouting(config: $0) }
    }

    /// The real thing: libnl-route, libnftables, libpcap, /proc/sys.
    public static func linux() throws -> DaemonEnvironment {
        DaemonEnvironment(kernel: try Netlink(), dataPlane: try Nftables(), sysctl: ProcSysctl(),
                          announcer: GratuitousARP(), clock: SystemClock())
    }
}

