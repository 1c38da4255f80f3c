/// An IPv6 address on an interface, with the kernel's IFA_F_* flags for it.
public struct KernelIPv6Address: Equatable, Sendable {
    public var prefix: IPv6Prefix
    public var flags: UInt32

    public init(prefix: IPv6Prefix, flags: UInt32) {
        self.prefix = prefix
        self.flags = flags
    }

    public static let flagNoDAD: UInt32 = 0x02
    public static let flagDADFailed: UInt32 = 0x08
    public static let flagTentative: UInt32 = 0x40
    public static let flagPermanent: UInt32 = 0x80

    /// DAD is running: the kernel sends no unsolicited NA for it and drops traffic to it.
    public var isTentative: Bool { flags & Self.flagTentative != 0 }
    /// DAD found a duplicate: the address stays dead until it is removed.
    public var isDADFailed: Bool { flags & Self.flagDADFailed != 0 }
    public var isNoDAD: Bool { flags & Self.flagNoDAD != 0 }
}

/// An IPv6 route the daemon adds or removes (a /128 to a served sibling's address over the private link).
public struct KernelIPv6Route: Hashable, Sendable {
    public var destination: IPv6Prefix
    public var device: String
    public var gateway: IPv6Address?

    public init(destination: IPv6Prefix, device: String, gateway: IPv6Address? = nil) {
        self.destination = destination
        self.device = device
        self.gateway = gateway
    }
}

/// The IPv6 half of `NetworkKernel` (HANetSystem.Netlink in production). A
/// protocol of its own so that `NetworkKernel`'s conformers (tests' fakes)
/// need nothing new until they take part in IPv6.
public protocol IPv6Kernel: AnyObject {
    func ipv6Addresses(of name: String) throws -> [KernelIPv6Address]
    /// Adds with IFA_F_NODAD: an address HANet adds moves between nodes, and
    /// a tentative address gets no unsolicited NA, while DAD during a split
    /// brain could leave it `dadfailed` for good.
    func addIPv6Address(_ prefix: IPv6Prefix, to name: String) throws
    func deleteIPv6Address(_ prefix: IPv6Prefix, from name: String) throws

    /// Proxy NDP entries ("ip -6 neigh add proxy ADDR dev NAME").
    func ipv6ProxyNeighbours(on name: String) throws -> [IPv6Address]
    func addIPv6ProxyNeighbour(_ address: IPv6Address, on name: String) throws
    func deleteIPv6ProxyNeighbour(_ address: IPv6Address, on name: String) throws

    func ipv6Routes() throws -> [KernelIPv6Route]
    func addIPv6Route(_ route: KernelIPv6Route) throws
    func deleteIPv6Route(_ route: KernelIPv6Route) throws
}
