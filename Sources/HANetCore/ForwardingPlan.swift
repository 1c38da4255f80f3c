/// What the kernel data plane must do: which slave is bridged to the master's
/// port, and how. One plan is one nftables `netdev` table, applied in one
/// atomic transaction, so there is never a moment with two active slaves or
/// none.
public struct ForwardingPlan: Equatable, Sendable {
    /// The nftables table name (family netdev).
    public var table: String
    /// The master's peer: frames the master sends appear on its ingress.
    public var port: String
    /// The active slave, or nil: nothing is forwarded.
    public var active: String?
    public var layer: LinkLayer
    /// For L3 slaves: the service addresses to deliver to the master (`fwd ip to ADDR device port`).
    public var serviceAddresses: [IPv4Address]
    /// For L3 slaves: the point-to-point peer the port forwards to (`fwd ip to PEER device slave`).
    public var l3Peer: IPv4Address?
    /// New TCP connections to the service addresses are refused (paper §5.2 clean shutdown on a slow link).
    public var drainNewConnections: Bool
    /// The active slave's own link address (a private link's end). Traffic to
    /// it stays on the slave instead of going to the master, so the PTA
    /// exchange over the private link works the same whether or not that
    /// link is the active slave: the requester's TAKEOVER needs an ARP reply
    /// addressed to the slave, and the slave must get it.
    public var slaveOwnAddresses: [IPv4Address] = []
    /// The IPv6 counterparts of `serviceAddresses`, `l3Peer` and `slaveOwnAddresses`.
    /// All empty or nil: the table is the IPv4-only one, byte for byte.
    public var ipv6ServiceAddresses: [IPv6Address] = []
    public var ipv6L3Peer: IPv6Address?
    public var slaveOwnIPv6Addresses: [IPv6Address] = []

    public init(table: String, port: String, active: String?, layer: LinkLayer = .l2,
                serviceAddresses: [IPv4Address] = [], l3Peer: IPv4Address? = nil, drainNewConnections: Bool = false,
                slaveOwnAddresses: [IPv4Address] = [], ipv6ServiceAddresses: [IPv6Address] = [],
                ipv6L3Peer: IPv6Address? = nil, slaveOwnIPv6Addresses: [IPv6Address] = []) {
        self.table = table
        self.port = port
        self.active = active
        self.layer = layer
        self.serviceAddresses = serviceAddresses
        self.l3Peer = l3Peer
        self.drainNewConnections = drainNewConnections
        self.slaveOwnAddresses = slaveOwnAddresses
        self.ipv6ServiceAddresses = ipv6ServiceAddresses
        self.ipv6L3Peer = ipv6L3Peer
        self.slaveOwnIPv6Addresses = slaveOwnIPv6Addresses
    }
}

/// The kernel data plane (HANetSystem.Nftables in production).
public protocol DataPlane: AnyObject {
    /// Replaces the table with the plan's in one transaction.
    func apply(_ plan: ForwardingPlan) throws
    /// The active slave and port of the table as the kernel has it now, for adoption after a restart.
    func installed(table: String) throws -> (port: String, active: String?)?
    /// Removes the table.
    func remove(table: String) throws
    /// Replaces the PTA guard (`NftablesRuleset.renderGuard`) in one transaction.
    func applyGuard(_ guard: PTAGuard) throws
    /// Datagrams the guard has dropped since it was last applied; nil when it is not installed.
    func guardDrops(table: String) throws -> UInt64?
}

/// The kernel's half of keeping the PTA port closed to the LAN: every
/// datagram to the PTA port that arrives on a public slave, active or not, is
/// dropped at the slave's ingress, before the IP stack or the daemon sees it.
/// Public slaves are the ones to guard because Linux accepts a datagram for
/// any local address on any interface: a backup NIC with no address still
/// delivers to the master's. Private links are not guarded; the daemon checks
/// every datagram's arrival interface as well (IP_PKTINFO), which covers
/// the master and hot-plugged links.
public struct PTAGuard: Equatable, Sendable {
    /// The data plane's table; the guard lives in a table of its own beside it (`guardTable`).
    public var table: String
    public var port: UInt16
    public var publicSlaves: [String]

    public init(table: String, port: UInt16, publicSlaves: [String]) {
        self.table = table
        self.port = port
        self.publicSlaves = publicSlaves
    }

    /// Its own table, so that a switch (which replaces the data plane's table)
    /// neither renders it again nor resets its counter.
    public static func table(for dataPlaneTable: String) -> String {
        String(dataPlaneTable.prefix(58)) + "_guard"
    }
}
