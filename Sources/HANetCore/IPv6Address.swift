/// An IPv6 address, 128 bits in network order as two 64-bit halves. Parsing
/// takes every RFC 4291 §2.2 text form ("::" compression, an embedded IPv4
/// address in the last 32 bits) and nothing else: no zone ("%eth0"), no
/// brackets, no prefix. `description` is the RFC 5952 form (lower case,
/// no leading zeros, the longest run of two or more zero groups as "::").
public struct IPv6Address: TextCodable, Hashable, Comparable, Sendable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16, "an IPv6 address has 16 bytes")
        high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    public init?(_ text: String) {
        guard case .success(let a) = Self.parse(text) else { return nil }
        self = a
    }

    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64($0))) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64($0))) }
    }

    /// The eight 16-bit groups.
    public var groups: [UInt16] {
        (0..<4).map { UInt16(truncatingIfNeeded: high >> (48 - 16 * UInt64($0))) }
            + (0..<4).map { UInt16(truncatingIfNeeded: low >> (48 - 16 * UInt64($0))) }
    }

    public init(groups g: [UInt16]) {
        precondition(g.count == 8, "an IPv6 address has 8 groups")
        high = g[0..<4].reduce(0) { $0 << 16 | UInt64($1) }
        low = g[4..<8].reduce(0) { $0 << 16 | UInt64($1) }
    }

    public static func < (a: IPv6Address, b: IPv6Address) -> Bool { (a.high, a.low) < (b.high, b.low) }

    public static let unspecified = IPv6Address(high: 0, low: 0)
    /// ff02::1, every node on the link: where unsolicited NAs go.
    public static let allNodes = IPv6Address(high: 0xff02_0000_0000_0000, low: 1)

    // MARK: classes (RFC 4291 §2.4)

    public var isUnspecified: Bool { high == 0 && low == 0 }
    public var isLoopback: Bool { high == 0 && low == 1 }
    public var isMulticast: Bool { high >> 56 == 0xff }
    /// fe80::/10.
    public var isLinkLocal: Bool { high >> 54 == 0x3fa }
    /// ::ffff:0:0/96, an IPv4 address seen through an IPv6 socket.
    public var isIPv4Mapped: Bool { high == 0 && low >> 32 == 0xffff }

    /// ff02::1:ffXX:XXXX (RFC 4291 §2.7.1): where a Neighbour Solicitation for this address goes.
    public var solicitedNodeMulticast: IPv6Address {
        IPv6Address(high: 0xff02_0000_0000_0000, low: 0x0000_0001_ff00_0000 | (low & 0x00ff_ffff))
    }

    /// 33:33 and the low 32 bits (RFC 2464 §7): the Ethernet destination of a multicast address.
    public var multicastMAC: MACAddress {
        let b = bytes
        return MACAddress([0x33, 0x33, b[12], b[13], b[14], b[15]])
    }

    /// Why this address cannot be a service address (one the master holds and
    /// siblings carry), or nil when it can.
    public var serviceAddressProblem: String? {
        if isUnspecified { return "the unspecified address :: is not an address a host can hold" }
        if isLoopback { return "the loopback address ::1 never leaves the host" }
        if isMulticast { return "\(self) is a multicast address (ff00::/8)" }
        if isLinkLocal { return "\(self) is link-local (fe80::/10): it is valid on one link only, so it cannot move between links or be carried by a sibling" }
        if isIPv4Mapped { return "\(self) is an IPv4-mapped address; write the IPv4 address itself" }
        return nil
    }

    // MARK: text

    /// Parses with a message that says what is wrong with the text.
    public static func parse(_ text: String) -> Result<IPv6Address, ParseProblem> {
        func fail(_ why: String) -> Result<IPv6Address, ParseProblem> { .failure(ParseProblem(message: why)) }
        if text.contains("%") { return fail("a zone index ('%') is not allowed here; the interface is implied") }
        if text.hasPrefix("[") { return fail("write the address without brackets") }
        if text.contains("/") { return fail("expected an address without a prefix length") }
        guard !text.isEmpty else { return fail("expected an IPv6 address, got an empty string") }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return fail("'::' may appear only once") }
        if text.contains(":::") { return fail("':::' is not valid; '::' stands for one or more zero groups") }

        /// The groups of one side of "::"; an IPv4 tail only on the last side.
        func groups(_ part: String, last: Bool) -> Result<[UInt16], ParseProblem> {
            if part.isEmpty { return .success([]) }
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            var out: [UInt16] = []
            for (i, f) in fields.enumerated() {
                if f.isEmpty { return .failure(ParseProblem(message: "empty group (a single ':' at the start or end, or '::' needed)")) }
                if f.contains(".") {
                    guard last, i == fields.count - 1 else {
                        return .failure(ParseProblem(message: "an embedded IPv4 address may only be the last 32 bits"))
                    }
                    guard let v4 = IPv4Address(String(f)) else {
                        return .failure(ParseProblem(message: "embedded IPv4 address \"\(f)\" is not four decimal octets"))
                    }
                    out += [UInt16(v4.value >> 16), UInt16(v4.value & 0xffff)]
                    continue
                }
                guard f.count <= 4 else { return .failure(ParseProblem(message: "group \"\(f)\" has more than 4 hex digits")) }
                guard f.allSatisfy(\.isHexDigit), f.allSatisfy(\.isASCII), let v = UInt16(f, radix: 16) else {
                    return .failure(ParseProblem(message: "group \"\(f)\" is not hexadecimal"))
                }
                out.append(v)
            }
            return .success(out)
        }

        let head: [UInt16]
        let tail: [UInt16]
        switch groups(halves[0], last: halves.count == 1) {
        case .success(let g): head = g
        case .failure(let p): return .failure(p)
        }
        if halves.count == 2 {
            switch groups(halves[1], last: true) {
            case .success(let g): tail = g
            case .failure(let p): return .failure(p)
            }
            guard head.count + tail.count <= 7 else {
                return fail("'::' must stand for at least one zero group, but \(head.count + tail.count) groups are written")
            }
            return .success(IPv6Address(groups: head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail))
        }
        guard head.count == 8 else { return fail("expected 8 groups (or '::' for a run of zeros), got \(head.count)") }
        return .success(IPv6Address(groups: head))
    }

    public struct ParseProblem: Error, Equatable, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// RFC 5952 §4: lower case, no leading zeros, the first longest run of at
    /// least two zero groups compressed; §5: an IPv4-mapped address ends in dotted decimal.
    public var description: String {
        let g = groups
        if isIPv4Mapped {
            return "::ffff:" + IPv4Address(UInt32(truncatingIfNeeded: low)).description
        }
        var bestStart = -1, bestLength = 0, i = 0
        while i < 8 {
            guard g[i] == 0 else { i += 1; continue }
            var j = i
            while j < 8 && g[j] == 0 { j += 1 }
            if j - i > bestLength { bestStart = i; bestLength = j - i }
            i = j
        }
        func hex(_ r: ArraySlice<UInt16>) -> String { r.map { String($0, radix: 16) }.joined(separator: ":") }
        guard bestLength >= 2 else { return hex(g[0..<8]) }
        return hex(g[0..<bestStart]) + "::" + hex(g[(bestStart + bestLength)..<8])
    }
}

/// An IPv6 address with its prefix length, as written in configs: "2001:db8:1::11/64".
public struct IPv6Prefix: TextCodable, Hashable, Sendable {
    public var address: IPv6Address
    public var length: Int

    public init(address: IPv6Address, length: Int) {
        precondition((0...128).contains(length))
        self.address = address
        self.length = length
    }

    public init?(_ text: String) {
        guard case .success(let p) = Self.parse(text) else { return nil }
        self = p
    }

    /// "ADDRESS/LENGTH" with 0 ≤ LENGTH ≤ 128, with a message on failure.
    public static func parse(_ text: String) -> Result<IPv6Prefix, IPv6Address.ParseProblem> {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .failure(.init(message: "expected a prefix length after '/', such as /64 or /128")) }
        let l = parts[1]
        guard !l.isEmpty, l.count <= 3, l.allSatisfy({ $0.isASCII && $0.isNumber }), !(l.count > 1 && l.first == "0"),
              let length = Int(l), (0...128).contains(length) else {
            return .failure(.init(message: "prefix length \"\(l)\" is not a number from 0 to 128"))
        }
        return IPv6Address.parse(String(parts[0])).map { IPv6Prefix(address: $0, length: length) }
    }

    public var network: IPv6Address {
        func mask(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : bits >= 64 ? .max : UInt64.max << UInt64(64 - bits) }
        return IPv6Address(high: address.high & mask(length), low: address.low & mask(length - 64))
    }

    public func contains(_ a: IPv6Address) -> Bool { IPv6Prefix(address: a, length: length).network == network }
    public var description: String { "\(address)/\(length)" }
}

extension IPv6Address {
    public init?(text: String) { self.init(text) }
    public static var textKind: String { "an IPv6 address" }
}

extension IPv6Prefix {
    public init?(text: String) { self.init(text) }
    public static var textKind: String { "an IPv6 prefix" }
}

/// An address of either family, for what carries both (the PTA message, detector targets).
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// An IPv6 text has a ':'; anything else is read as IPv4.
    public init?(_ text: String) {
        if text.contains(":") {
            guard let a = IPv6Address(text) else { return nil }
            self = .v6(a)
        } else {
            guard let a = IPv4Address(text) else { return nil }
            self = .v4(a)
        }
    }

    public var description: String {
        switch self {
        case .v4(let a): return a.description
        case .v6(let a): return a.description
        }
    }
}
