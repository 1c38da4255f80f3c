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

    public init(table: String, port: String, active: String?, layer: LinkLayer = .l2,
                serviceAddresses: [IPv4Address] = [], l3Peer: IPv4Address? = nil, drainNewConnections: Bool = false,
                slaveOwnAddresses: [IPv4Address] = []) {
        self.table = table
        self.port = port
        self.active = active
        self.layer = layer
        self.serviceAddresses = serviceAddresses
        self.l3Peer = l3Peer
        self.drainNewConnections = drainNewConnections
        self.slaveOwnAddresses = slaveOwnAddresses
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
}
