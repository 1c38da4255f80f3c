import HANetCore

/// One IPv4 neighbour (ARP cache) entry, as `ip neigh` shows it. Not part of
/// `NetworkKernel` (Core decides nothing from it); tests and diagnostics read it.
public struct NeighbourEntry: Equatable, Sendable {
    public var address: IPv4Address
    public var mac: MACAddress?
    /// NUD_* bits: 0x02 REACHABLE, 0x04 STALE, 0x08 DELAY, 0x10 PROBE, 0x20 FAILED, 0x40 NOARP, 0x80 PERMANENT.
    public var state: UInt16
    public var interfaceIndex: Int32

    public init(address: IPv4Address, mac: MACAddress?, state: UInt16, interfaceIndex: Int32) {
        self.address = address
        self.mac = mac
        self.state = state
        self.interfaceIndex = interfaceIndex
    }

    public static let statePermanent: UInt16 = 0x80
    public static let stateNoARP: UInt16 = 0x40

    /// Learned rather than configured: what `flushNeighbours` removes.
    public var isDynamic: Bool { Self.isDynamic(state: state) }
    static func isDynamic(state: UInt16) -> Bool { state & (statePermanent | stateNoARP) == 0 }
}
