/// A value written as one string wherever it is encoded (status JSON, the
/// control protocol, state files): "198.51.100.11", "198.51.100.11/24",
/// "02:00:00:00:00:01". Decoding parses with the type's own parser and names
/// what it expected, like a config error does.
public protocol TextCodable: Codable, CustomStringConvertible {
    init?(text: String)
    /// "an IPv4 address", for the error on bad input.
    static var textKind: String { get }
}

extension TextCodable {
    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let v = Self(text: s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not \(Self.textKind): \(s)"))
        }
        self = v
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
