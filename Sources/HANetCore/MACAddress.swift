/// A 48-bit link-layer address.
public struct MACAddress: TextCodable, Hashable, Sendable {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        precondition(bytes.count == 6, "a MAC address has 6 bytes")
        self.bytes = bytes
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var b: [UInt8] = []
        for p in parts {
            guard p.count == 2, let v = UInt8(p, radix: 16) else { return nil }
            b.append(v)
        }
        bytes = b
    }

    public static let broadcast = MACAddress([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
    public static let zero = MACAddress([0, 0, 0, 0, 0, 0])

    public var description: String {
        bytes.map { b in
            let s = String(b, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined(separator: ":")
    }
}

extension MACAddress {
    public init?(text: String) { self.init(text) }
    public static var textKind: String { "a MAC address" }
}
