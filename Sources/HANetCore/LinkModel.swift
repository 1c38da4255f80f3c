/// How the master must look and forward for a slave: an Ethernet-like link
/// (frames forwarded as they are, ARP works) or a point-to-point IP link.
public enum LinkLayer: String, Codable, Sendable {
    case l2 = "L2"
    case l3 = "L3"
}

/// Public links reach clients; private links reach a sibling server.
/// The interface manager prefers public over private before anything else.
public enum LinkRole: String, Codable, Sendable {
    case `public`
    case `private`
}

/// A detector's verdict, and a slave's aggregated one.
public enum Health: String, Codable, Sendable {
    case unknown = "UNKNOWN"
    case good = "GOOD"
    case bad = "BAD"
}

/// What a link plugin said about a claimed device (hanet_link_attrs).
public struct LinkAttributes: Equatable, Codable, Sendable {
    public var layer: LinkLayer
    public var defaultRole: LinkRole
    public var pointToPoint: Bool
    public var noARP: Bool
    public var frameIO: Bool
    public var arphrd: UInt32
    public var headerLength: UInt32
    public var addressLength: UInt32
    public var mtu: UInt32
    public var speedBitsPerSecond: UInt64

    public init(layer: LinkLayer, defaultRole: LinkRole, pointToPoint: Bool = false, noARP: Bool = false,
                frameIO: Bool = false, arphrd: UInt32 = 1, headerLength: UInt32 = 14, addressLength: UInt32 = 6,
                mtu: UInt32 = 0, speedBitsPerSecond: UInt64 = 0) {
        self.layer = layer
        self.defaultRole = defaultRole
        self.pointToPoint = pointToPoint
        self.noARP = noARP
        self.frameIO = frameIO
        self.arphrd = arphrd
        self.headerLength = headerLength
        self.addressLength = addressLength
        self.mtu = mtu
        self.speedBitsPerSecond = speedBitsPerSecond
    }
}
