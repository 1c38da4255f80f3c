/// One Packet Transmission Agent datagram (paper §3.5): a server asks its
/// sibling to carry its service addresses, and the sibling answers. The
/// fields are those of the wire format in `PTAWire`.
public struct PTAMessage: Equatable, Sendable {
    public enum Kind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        case takeover = 1
        case ack = 2
        case renew = 3
        case release = 4
        case refuse = 5
        case hello = 6
        /// Whether the sender can carry traffic now (flag `canCarry`): sent to
        /// every sibling periodically and at once on a change.
        case readiness = 7

        public var description: String {
            switch self {
            case .takeover: return "TAKEOVER"
            case .ack: return "ACK"
            case .renew: return "RENEW"
            case .release: return "RELEASE"
            case .refuse: return "REFUSE"
            case .hello: return "HELLO"
            case .readiness: return "READINESS"
            }
        }
    }

    public var type: Kind
    public var flags: UInt16
    /// READINESS: the sender has a GOOD public slave and serves siblings.
    public static let canCarry: UInt16 = 1
    /// The sender decodes version 2 datagrams (IPv6 addresses); see `PTAWire`.
    /// A node without IPv6 ignores flags it does not know.
    public static let speaksIPv6: UInt16 = 2
    /// The sender's node name; the receiver picks the HMAC key by it.
    public var sender: String
    /// The service addresses the message is about.
    public var addresses: [IPv4Address]
    /// Its IPv6 service addresses; a message with any is version 2 on the wire.
    public var ipv6Addresses: [IPv6Address]
    /// Strictly increasing per (sender, bootID): the replay guard relies on it.
    public var counter: UInt64
    /// Random per daemon start, so counters may restart from zero after a reboot.
    public var bootID: UInt64
    /// Requested (TAKEOVER, RENEW) or granted (ACK) lease.
    public var leaseMillis: UInt32
    /// Why a REFUSE refused; empty otherwise.
    public var reason: String

    public init(type: Kind, flags: UInt16 = 0, sender: String, addresses: [IPv4Address] = [],
                ipv6Addresses: [IPv6Address] = [], counter: UInt64, bootID: UInt64, leaseMillis: UInt32 = 0,
                reason: String = "") {
        self.type = type
        self.flags = flags
        self.sender = sender
        self.addresses = addresses
        self.ipv6Addresses = ipv6Addresses
        self.counter = counter
        self.bootID = bootID
        self.leaseMillis = leaseMillis
        self.reason = reason
    }
}

extension PTAMessage {
    /// The message as it may go to a sibling: unchanged to one that has shown
    /// `speaksIPv6`; to any other, without the IPv6 addresses (which are
    /// returned, so the caller can say they are not carried), so that it
    /// goes out as version 1, which that sibling decodes.
    public func forPeer(speaksIPv6: Bool) -> (message: PTAMessage, withheld: [IPv6Address]) {
        guard !speaksIPv6, !ipv6Addresses.isEmpty else { return (self, []) }
        var m = self
        m.ipv6Addresses = []
        return (m, ipv6Addresses)
    }
}
