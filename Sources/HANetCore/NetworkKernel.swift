/// A network interface as the kernel reports it.
public struct KernelLink: Equatable, Sendable {
    public var name: String
    public var index: Int32
    public var mac: MACAddress?
    public var mtu: UInt32
    public var txQueueLength: UInt32
    /// IFF_* flags (IFF_UP = 0x1, IFF_NOARP = 0x80, IFF_RUNNING = 0x40, IFF_LOWER_UP = 0x10000).
    public var flags: UInt32
    public var arphrd: UInt32
    /// IF_OPER_* (6 = up, 2 = down, 5 = dormant, 0 = unknown).
    public var operState: UInt8

    public init(name: String, index: Int32, mac: MACAddress?, mtu: UInt32, txQueueLength: UInt32,
                flags: UInt32, arphrd: UInt32, operState: UInt8) {
        self.name = name
        self.index = index
        self.mac = mac
        self.mtu = mtu
        self.txQueueLength = txQueueLength
        self.flags = flags
        self.arphrd = arphrd
        self.operState = operState
    }

    public static let flagUp: UInt32 = 0x1
    public static let flagNoARP: UInt32 = 0x80
    public static let flagLowerUp: UInt32 = 0x10000

    public var isUp: Bool { flags & Self.flagUp != 0 }
    public var noARP: Bool { flags & Self.flagNoARP != 0 }
    /// Carrier as netlink reports it: IFF_LOWER_UP, which is what bonding's MII monitor reads.
    public var hasCarrier: Bool { flags & Self.flagLowerUp != 0 }
}

/// A notification that a link changed (RTM_NEWLINK / RTM_DELLINK).
public struct KernelLinkEvent: Sendable {
    public var link: KernelLink
    public var removed: Bool
    /// CLOCK_MONOTONIC when the notification was read, in nanoseconds.
    public var timestampNanos: UInt64

    public init(link: KernelLink, removed: Bool, timestampNanos: UInt64) {
        self.link = link
        self.removed = removed
        self.timestampNanos = timestampNanos
    }
}

/// A route the daemon adds or removes (a host route to a served sibling).
public struct KernelRoute: Hashable, Sendable {
    public var destination: IPv4Prefix
    public var device: String
    public var gateway: IPv4Address?

    public init(destination: IPv4Prefix, device: String, gateway: IPv4Address? = nil) {
        self.destination = destination
        self.device = device
        self.gateway = gateway
    }
}

/// Everything HANetCore asks of the kernel's network configuration. The
/// Linux implementation (HANetSystem.Netlink) uses libnl-route in process;
/// tests of pure logic use a fake. Every call is synchronous and either
/// succeeds or throws a `HANetError` naming the interface and the operation.
public protocol NetworkKernel: AnyObject {
    func links() throws -> [KernelLink]
    func link(named name: String) throws -> KernelLink?

    func createVethPair(_ name: String, peer: String) throws
    func deleteLink(named name: String) throws
    func setUp(_ name: String, _ up: Bool) throws
    func setMAC(_ name: String, _ mac: MACAddress) throws
    func setMTU(_ name: String, _ mtu: UInt32) throws
    func setNoARP(_ name: String, _ noARP: Bool) throws
    func setTxQueueLength(_ name: String, _ length: UInt32) throws

    func addresses(of name: String) throws -> [IPv4Prefix]
    func addAddress(_ prefix: IPv4Prefix, to name: String) throws
    func deleteAddress(_ prefix: IPv4Prefix, from name: String) throws

    /// Removes every dynamic (not permanent) IPv4 neighbour entry on the interface.
    func flushNeighbours(on name: String) throws

    func routes() throws -> [KernelRoute]
    func addRoute(_ route: KernelRoute) throws
    func deleteRoute(_ route: KernelRoute) throws

    /// Proxy ARP entries ("ip neigh add proxy ADDR dev NAME").
    func proxyNeighbours(on name: String) throws -> [IPv4Address]
    func addProxyNeighbour(_ address: IPv4Address, on name: String) throws
    func deleteProxyNeighbour(_ address: IPv4Address, on name: String) throws
}

/// Reads and writes /proc/sys. Paths are relative to /proc/sys, with slashes:
/// "net/ipv4/ip_forward", "net/ipv4/conf/eth0/arp_ignore".
public protocol SysctlStore: AnyObject {
    func read(_ path: String) throws -> String
    func write(_ path: String, _ value: String) throws
}

/// Sends gratuitous ARP so that neighbours and switches learn where an address lives now.
public protocol ARPAnnouncer: AnyObject {
    /// Sends `count` gratuitous ARP requests for `address` owned by `mac` out of
    /// `interface`, `intervalMillis` apart. Returns after the first is sent; the
    /// rest are sent in the background so a switch is not held up by the spacing.
    func announce(address: IPv4Address, mac: MACAddress, on interface: String, count: Int, intervalMillis: Int) throws
    /// Makes the first `announce` on `interface` fast (opens what it needs now).
    func prepare(on interface: String) throws
    /// Lets go of what `prepare` opened: the slave left (unplugged, or removed
    /// by a reload), and a device plugged in later under the same name is new.
    func release(on interface: String)
}

/// Sends unsolicited Neighbour Advertisements (`NDFrame.unsolicitedAdvertisement`:
/// Override set, to ff02::1) so that IPv6 neighbours replace a cached MAC.
public protocol NAAnnouncer: AnyObject {
    /// Like `ARPAnnouncer.announce`: the first now, the rest in the background.
    func announceNA(address: IPv6Address, mac: MACAddress, on interface: String, count: Int, intervalMillis: Int) throws
}

extension ARPAnnouncer {
    public func release(on interface: String) {}
}

/// Monotonic time, injected so that damping, leases and schedules can be tested with a fake clock.
public protocol MonotonicClock: AnyObject {
    func nowNanos() -> UInt64
}

/// A clock that moves only when told: decision tests and the embedded executor.
public final class ManualClock: MonotonicClock {
    public var now: UInt64

    public init(now: UInt64 = 1_000_000_000) {
        self.now = now
    }

    public func nowNanos() -> UInt64 { now }
}
