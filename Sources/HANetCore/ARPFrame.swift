/// An ARP packet for IPv4 over Ethernet, with the Ethernet header it came in.
public struct ARPPacket: Equatable, Sendable {
    public static let request: UInt16 = 1
    public static let reply: UInt16 = 2

    public var ethernetDestination: MACAddress
    public var ethernetSource: MACAddress
    public var operation: UInt16
    public var senderMAC: MACAddress
    public var senderAddress: IPv4Address
    public var targetMAC: MACAddress
    public var targetAddress: IPv4Address

    public init(ethernetDestination: MACAddress, ethernetSource: MACAddress, operation: UInt16,
                senderMAC: MACAddress, senderAddress: IPv4Address, targetMAC: MACAddress, targetAddress: IPv4Address) {
        self.ethernetDestination = ethernetDestination
        self.ethernetSource = ethernetSource
        self.operation = operation
        self.senderMAC = senderMAC
        self.senderAddress = senderAddress
        self.targetMAC = targetMAC
        self.targetAddress = targetAddress
    }

    /// Gratuitous: the sender announces its own address (sender == target address).
    public var isGratuitous: Bool { senderAddress == targetAddress }
}

/// Builds and parses Ethernet ARP frames. Pure, so the gratuitous announcer's
/// encoding is tested without a network (the C detectors build their own probes).
public enum ARPFrame {
    /// Ethernet header (14) + ARP for IPv4 (28). Drivers pad to 60 on the wire.
    public static let length = 42

    /// A gratuitous ARP request (RFC 5227 §3 "ARP Announcement"): broadcast,
    /// sender = target = `address`, target MAC zero. A request rather than a
    /// reply because every Linux neighbour updates an existing entry from it.
    public static func gratuitous(address: IPv4Address, mac: MACAddress) -> [UInt8] {
        request(senderMAC: mac, senderAddress: address, target: address)
    }

    /// A broadcast who-has request for `target`.
    public static func request(senderMAC: MACAddress, senderAddress: IPv4Address, target: IPv4Address) -> [UInt8] {
        encode(ARPPacket(ethernetDestination: .broadcast, ethernetSource: senderMAC, operation: ARPPacket.request,
                         senderMAC: senderMAC, senderAddress: senderAddress, targetMAC: .zero, targetAddress: target))
    }

    public static func encode(_ p: ARPPacket) -> [UInt8] {
        var b: [UInt8] = []
        b.reserveCapacity(length)
        b += p.ethernetDestination.bytes
        b += p.ethernetSource.bytes
        b += [0x08, 0x06]                 // EtherType ARP
        b += [0x00, 0x01]                 // hardware type Ethernet
        b += [0x08, 0x00]                 // protocol type IPv4
        b += [6, 4]                       // address lengths
        b += [UInt8(p.operation >> 8), UInt8(p.operation & 0xff)]
        b += p.senderMAC.bytes
        b += p.senderAddress.bytes
        b += p.targetMAC.bytes
        b += p.targetAddress.bytes
        return b
    }

    /// Parses an Ethernet frame; nil unless it is ARP for IPv4 over Ethernet.
    /// Trailing padding is ignored; 802.1Q tags are not unwrapped.
    public static func parse(_ bytes: [UInt8]) -> ARPPacket? {
        guard bytes.count >= length, bytes[12] == 0x08, bytes[13] == 0x06,
              bytes[14] == 0, bytes[15] == 1, bytes[16] == 0x08, bytes[17] == 0,
              bytes[18] == 6, bytes[19] == 4 else { return nil }
        func mac(_ at: Int) -> MACAddress { MACAddress(Array(bytes[at..<at + 6])) }
        func ip(_ at: Int) -> IPv4Address { IPv4Address(bytes: Array(bytes[at..<at + 4])) }
        return ARPPacket(ethernetDestination: mac(0), ethernetSource: mac(6),
                         operation: UInt16(bytes[20]) << 8 | UInt16(bytes[21]),
                         senderMAC: mac(22), senderAddress: ip(28), targetMAC: mac(32), targetAddress: ip(38))
    }
}
