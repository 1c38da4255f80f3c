/// An IPv4 address in host byte order. Parsing is strict (four decimal octets,
/// no leading zeros beyond "0") so that a typo in a config file is an error,
/// not a different address.
public struct IPv4Address: TextCodable, Hashable, Comparable, Sendable {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }),
                  !(p.count > 1 && p.first == "0"), let o = UInt32(p), o <= 255 else { return nil }
            v = v << 8 | o
        }
        value = v
    }

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 4)
        value = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    public var bytes: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    public var description: String { bytes.map(String.init).joined(separator: ".") }

    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}

/// An address with its prefix length, as written in configs: "198.51.100.11/24".
public struct IPv4Prefix: TextCodable, Hashable, Sendable {
    public var address: IPv4Address
    public var length: Int

    public init(address: IPv4Address, length: Int) {
        precondition((0...32).contains(length))
        self.address = address
        self.length = length
    }

    /// Parses "a.b.c.d/len"; a bare address means /32 only when `defaultLength` is given.
    public init?(_ text: String, defaultLength: Int? = nil) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard let a = IPv4Address(String(parts[0])) else { return nil }
        if parts.count == 1 {
            guard let d = defaultLength else { return nil }
            self.init(address: a, length: d)
        } else if parts.count == 2, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), !parts[1].isEmpty,
                  parts[1].count <= 2, let l = Int(parts[1]), (0...32).contains(l) {
            self.init(address: a, length: l)
        } else {
            return nil
        }
    }

    public var mask: UInt32 { length == 0 ? 0 : UInt32.max << UInt32(32 - length) }
    public var network: IPv4Address { IPv4Address(address.value & mask) }
    public func contains(_ a: IPv4Address) -> Bool { a.value & mask == address.value & mask }
    public var description: String { "\(address)/\(length)" }
}

extension IPv4Address {
    public init?(text: String) { self.init(text) }
    public static var textKind: String { "an IPv4 address" }
}

extension IPv4Prefix {
    public init?(text: String) { self.init(text) }
    public static var textKind: String { "an IPv4 prefix" }
}
