/// A Neighbour Discovery message (RFC 4861 §4.3, §4.4) with the Ethernet and
/// IPv6 headers it came in: a Neighbour Solicitation or Advertisement.
public struct NDPacket: Equatable, Sendable {
    public enum Kind: UInt8, Sendable {
        case solicitation = 135
        case advertisement = 136
    }

    public var ethernetDestination: MACAddress
    public var ethernetSource: MACAddress
    public var source: IPv6Address
    public var destination: IPv6Address
    public var hopLimit: UInt8
    public var kind: Kind
    /// NA flags: Router, Solicited, Override (RFC 4861 §4.4); always false in an NS.
    public var router: Bool
    public var solicited: Bool
    public var override: Bool
    public var target: IPv6Address
    /// The Source (NS) or Target (NA) Link-Layer Address option, when present.
    public var linkLayerAddress: MACAddress?

    public init(ethernetDestination: MACAddress, ethernetSource: MACAddress, source: IPv6Address, destination: IPv6Address,
                hopLimit: UInt8 = 255, kind: Kind, router: Bool = false, solicited: Bool = false, override: Bool = false,
                target: IPv6Address, linkLayerAddress: MACAddress?) {
        self.ethernetDestination = ethernetDestination
        self.ethernetSource = ethernetSource
        self.source = source
        self.destination = destination
        self.hopLimit = hopLimit
        self.kind = kind
        self.router = router
        self.solicited = solicited
        self.override = override
        self.target = target
        self.linkLayerAddress = linkLayerAddress
    }
}

/// Why a frame is not a Neighbour Discovery message HANet acts on.
public enum NDProblem: Error, Equatable, Sendable, CustomStringConvertible {
    case notIPv6
    /// ICMPv6 directly after the IPv6 header, no extension headers (ND messages carry none).
    case notICMPv6
    case notND(UInt8)
    case truncated
    /// RFC 4861 §7.1.2: a router or a host more than one hop away could have sent it.
    case hopLimit(UInt8)
    case badCode(UInt8)
    case badChecksum
    /// An option with length 0 or running past the message (RFC 4861 §4.6).
    case badOption
    /// A multicast destination with the Solicited flag set (RFC 4861 §7.1.2).
    case solicitedToMulticast
    /// The advertisement names another address than the one asked for.
    case wrongTarget(IPv6Address)

    public var description: String {
        switch self {
        case .notIPv6: return "not an IPv6 frame"
        case .notICMPv6: return "not ICMPv6 right after the IPv6 header"
        case .notND(let t): return "ICMPv6 type \(t) is not a neighbour solicitation or advertisement"
        case .truncated: return "shorter than its headers say"
        case .hopLimit(let h): return "hop limit \(h), expected 255"
        case .badCode(let c): return "ICMPv6 code \(c), expected 0"
        case .badChecksum: return "bad ICMPv6 checksum"
        case .badOption: return "malformed ND option"
        case .solicitedToMulticast: return "solicited advertisement sent to a multicast address"
        case .wrongTarget(let t): return "advertisement for \(t), not the address asked for"
        }
    }
}

/// Builds and parses Neighbour Discovery frames over Ethernet. Pure, so the
/// announcer's and the detector's encodings are tested against frames the
/// kernel sent (HANetCoreTests/NDFrameTests).
public enum NDFrame {
    /// Ethernet (14) + IPv6 (40) + NS/NA (24) + one link-layer address option (8).
    public static let length = 86
    static let ethernetHeader = 14
    static let ipv6Header = 40

    /// An unsolicited Neighbour Advertisement (RFC 4861 §7.2.6), as the kernel
    /// sends for its own addresses: to all nodes (ff02::1, 33:33:00:00:00:01),
    /// Override set and Solicited clear so that every neighbour replaces a
    /// cached MAC, hop limit 255, the Target Link-Layer Address option = `mac`.
    /// The source is the target itself unless given (the kernel does the same).
    public static func unsolicitedAdvertisement(target: IPv6Address, mac: MACAddress, source: IPv6Address? = nil) -> [UInt8] {
        encode(NDPacket(ethernetDestination: IPv6Address.allNodes.multicastMAC, ethernetSource: mac, source: source ?? target,
                        destination: .allNodes, kind: .advertisement, override: true, target: target, linkLayerAddress: mac))
    }

    /// A Neighbour Solicitation for `target` from `source` (an address of the
    /// probing interface), to the target's solicited-node multicast group, with
    /// the Source Link-Layer Address option so the answer comes straight back.
    public static func solicitation(target: IPv6Address, source: IPv6Address, mac: MACAddress) -> [UInt8] {
        let group = target.solicitedNodeMulticast
        return encode(NDPacket(ethernetDestination: group.multicastMAC, ethernetSource: mac, source: source, destination: group,
                               kind: .solicitation, target: target, linkLayerAddress: mac))
    }

    public static func encode(_ p: NDPacket) -> [UInt8] {
        var icmp: [UInt8] = [p.kind.rawValue, 0, 0, 0]
        let flags: UInt8 = (p.router ? 0x80 : 0) | (p.solicited ? 0x40 : 0) | (p.override ? 0x20 : 0)
        icmp += [p.kind == .advertisement ? flags : 0, 0, 0, 0]
        icmp += p.target.bytes
        if let mac = p.linkLayerAddress {
            icmp += [p.kind == .solicitation ? 1 : 2, 1] + mac.bytes
        }
        let sum = checksum(source: p.source, destination: p.destination, icmp: icmp)
        icmp[2] = UInt8(sum >> 8)
        icmp[3] = UInt8(sum & 0xff)

        var b: [UInt8] = []
        b.reserveCapacity(ethernetHeader + ipv6Header + icmp.count)
        b += p.ethernetDestination.bytes
        b += p.ethernetSource.bytes
        b += [0x86, 0xdd]                                   // EtherType IPv6
        b += [0x60, 0, 0, 0]                                // version 6, traffic class 0, flow label 0
        b += [UInt8(icmp.count >> 8), UInt8(icmp.count & 0xff), 58, p.hopLimit]
        b += p.source.bytes
        b += p.destination.bytes
        return b + icmp
    }

    /// The ICMPv6 checksum (RFC 4443 §2.3) over the pseudo-header (RFC 8200
    /// §8.1) and the message, whose checksum field counts as zero.
    public static func checksum(source: IPv6Address, destination: IPv6Address, icmp: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        func add(_ bytes: [UInt8]) {
            var i = 0
            while i < bytes.count {
                sum &+= UInt32(bytes[i]) << 8 | (i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0)
                i += 2
            }
        }
        add(source.bytes)
        add(destination.bytes)
        add([UInt8(icmp.count >> 24 & 0xff), UInt8(icmp.count >> 16 & 0xff), UInt8(icmp.count >> 8 & 0xff), UInt8(icmp.count & 0xff)])
        add([0, 0, 0, 58])
        var message = icmp
        if message.count >= 4 { message[2] = 0; message[3] = 0 }
        add(message)
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// Parses and validates an Ethernet frame carrying an NS or NA, as RFC 4861
    /// §7.1 has a node validate them: hop limit 255, code 0, a correct checksum,
    /// well-formed options, no Solicited flag to a multicast destination.
    /// Trailing Ethernet padding beyond the IPv6 payload length is ignored.
    public static func parse(_ bytes: [UInt8]) -> Result<NDPacket, NDProblem> {
        guard bytes.count >= ethernetHeader + ipv6Header, bytes[12] == 0x86, bytes[13] == 0xdd,
              bytes[14] >> 4 == 6 else { return .failure(.notIPv6) }
        guard bytes[20] == 58 else { return .failure(.notICMPv6) }
        let payloadLength = Int(bytes[18]) << 8 | Int(bytes[19])
        let start = ethernetHeader + ipv6Header
        guard payloadLength >= 4, bytes.count >= start + payloadLength else { return .failure(.truncated) }
        let icmp = Array(bytes[start..<start + payloadLength])
        guard let kind = NDPacket.Kind(rawValue: icmp[0]) else { return .failure(.notND(icmp[0])) }
        guard icmp.count >= 24 else { return .failure(.truncated) }
        let hopLimit = bytes[21]
        guard hopLimit == 255 else { return .failure(.hopLimit(hopLimit)) }
        guard icmp[1] == 0 else { return .failure(.badCode(icmp[1])) }
        let source = IPv6Address(bytes: Array(bytes[22..<38]))
        let destination = IPv6Address(bytes: Array(bytes[38..<54]))
        let sum = UInt16(icmp[2]) << 8 | UInt16(icmp[3])
        guard checksum(source: source, destination: destination, icmp: icmp) == sum else { return .failure(.badChecksum) }
        let flags = kind == .advertisement ? icmp[4] : 0
        var lla: MACAddress?
        var at = 24
        let wanted: UInt8 = kind == .solicitation ? 1 : 2
        while at < icmp.count {
            guard at + 2 <= icmp.count, icmp[at + 1] > 0 else { return .failure(.badOption) }
            let length = Int(icmp[at + 1]) * 8
            guard at + length <= icmp.count else { return .failure(.badOption) }
            if icmp[at] == wanted, length == 8, lla == nil { lla = MACAddress(Array(icmp[at + 2..<at + 8])) }
            at += length
        }
        let p = NDPacket(ethernetDestination: MACAddress(Array(bytes[0..<6])), ethernetSource: MACAddress(Array(bytes[6..<12])),
                         source: source, destination: destination, hopLimit: hopLimit, kind: kind,
                         router: flags & 0x80 != 0, solicited: flags & 0x40 != 0, override: flags & 0x20 != 0,
                         target: IPv6Address(bytes: Array(icmp[8..<24])), linkLayerAddress: lla)
        if kind == .advertisement, p.solicited, destination.isMulticast { return .failure(.solicitedToMulticast) }
        return .success(p)
    }

    /// An advertisement that answers a solicitation for `target`: a valid NA
    /// (see `parse`) whose target is `target`. A neighbour solicitation or
    /// other ICMPv6 is `.notND`/`.wrongTarget` too, so a detector counts only answers.
    public static func answer(_ bytes: [UInt8], to target: IPv6Address) -> Result<NDPacket, NDProblem> {
        switch parse(bytes) {
        case .failure(let e): return .failure(e)
        case .success(let p):
            guard p.kind == .advertisement else { return .failure(.notND(p.kind.rawValue)) }
            guard p.target == target else { return .failure(.wrongTarget(p.target)) }
            return .success(p)
        }
    }
}
