
/// Why a datagram was rejected. Each failure has its own case so that the
/// daemon's counters and logs say exactly what arrived.
public enum PTAWireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Shorter than its own fields say.
    case truncated
    /// Larger than `PTAWire.maxDatagram`.
    case oversized(Int)
    case badMagic
    case badVersion(UInt8)
    case unknownType(UInt8)
    /// No key is configured for this sender name.
    case unknownSender(String)
    case badMAC
    /// Bytes after the MAC.
    case trailingBytes(Int)
    /// A length or count field above its limit (field name, value).
    case lengthOverflow(String, Int)
    /// A text field that is not UTF-8 (field name).
    case badText(String)
    /// Encoding: a field does not fit the format (field name, size, limit).
    case fieldTooLong(String, Int, Int)
    /// Well formed, but not the one encoding of its message (a version 2
    /// datagram without IPv6 addresses, which version 1 carries).
    case nonCanonical(String)

    public var description: String {
        switch self {
        case .truncated: return "truncated PTA datagram"
        case .oversized(let n): return "oversized PTA datagram (\(n) bytes, at most \(PTAWire.maxDatagram))"
        case .badMagic: return "not a PTA datagram (bad magic)"
        case .badVersion(let v): return "unsupported PTA version \(v) (expected \(PTAWire.versions.map(String.init).joined(separator: " or ")))"
        case .unknownType(let t): return "unknown PTA message type \(t)"
        case .unknownSender(let s): return "PTA datagram from unknown sender \"\(s)\""
        case .badMAC: return "PTA datagram with a bad MAC (wrong key or altered)"
        case .trailingBytes(let n): return "PTA datagram with \(n) bytes after the MAC"
        case .lengthOverflow(let f, let v): return "PTA field \(f) length \(v) is over its limit"
        case .badText(let f): return "PTA field \(f) is not UTF-8"
        case .fieldTooLong(let f, let n, let max): return "PTA field \(f) is \(n) long, at most \(max) fit"
        case .nonCanonical(let why): return "non-canonical PTA datagram: \(why)"
        }
    }
}

/// The PTA datagram, big-endian:
///
///     "HANT" | version u8 (1 or 2) | type u8 | flags u16
///     | sender length u8 (≤32) + UTF-8 | address count u8 (≤16) + 4 bytes each
///     | version 2 only: IPv6 address count u8 (1…16) + 16 bytes each
///     | counter u64 | boot id u64 | lease_ms u32
///     | reason length u16 (≤256) + UTF-8 | HMAC-SHA256 (32) over all before it
///
/// UDP rather than TCP because the requester's only working path is the
/// private link and a TCP handshake could answer over the dead one (§3.6).
/// Every length is checked before it is used; the MAC is verified with the
/// constant-time comparison of libcrypto (`Digest`).
///
/// Versions: a message without IPv6 addresses is always encoded as version 1,
/// byte for byte what a node without IPv6 sends, so such a node keeps
/// working with this one; version 2 adds the IPv6 block and is sent only when
/// there are IPv6 addresses. The IPv4 and IPv6 addresses together are at most
/// `maxAddresses`. A node that decodes version 2 says so with the
/// `PTAMessage.speaksIPv6` flag; a node sends IPv6 addresses only to a
/// sibling it heard that flag from (`PTAMessage.forPeer`), because a
/// version 1 node drops a version 2 datagram as malformed and answers nothing.
public enum PTAWire {
    public static let magic: [UInt8] = Array("HANT".utf8)
    /// The version of a message without IPv6 addresses.
    public static let version: UInt8 = 1
    /// The version of a message with IPv6 addresses.
    public static let ipv6Version: UInt8 = 2
    public static let versions: [UInt8] = [version, ipv6Version]
    public static let maxDatagram = 1024
    public static let maxSender = 32
    public static let maxAddresses = 16
    public static let maxReason = 256
    public static let macLength = 32
    /// Header, empty sender/addresses/reason, and MAC.
    public static let minimumLength = 4 + 1 + 1 + 2 + 1 + 1 + 8 + 8 + 4 + 2 + macLength

    public static func encode(_ m: PTAMessage, key: [UInt8]) throws -> [UInt8] {
        let sender = Array(m.sender.utf8)
        let reason = Array(m.reason.utf8)
        guard sender.count <= maxSender else { throw PTAWireError.fieldTooLong("sender", sender.count, maxSender) }
        let total = m.addresses.count + m.ipv6Addresses.count
        guard total <= maxAddresses else { throw PTAWireError.fieldTooLong("addresses", total, maxAddresses) }
        guard reason.count <= maxReason else { throw PTAWireError.fieldTooLong("reason", reason.count, maxReason) }
        var out: [UInt8] = []
        out.reserveCapacity(minimumLength + 1 + sender.count + reason.count + 4 * m.addresses.count + 16 * m.ipv6Addresses.count)
        out += magic
        out.append(m.ipv6Addresses.isEmpty ? version : ipv6Version)
        out.append(m.type.rawValue)
        append(&out, UInt64(m.flags), bytes: 2)
        out.append(UInt8(sender.count))
        out += sender
        out.append(UInt8(m.addresses.count))
        for a in m.addresses { out += a.bytes }
        if !m.ipv6Addresses.isEmpty {
            out.append(UInt8(m.ipv6Addresses.count))
            for a in m.ipv6Addresses {
                append(&out, a.high, bytes: 8)
                append(&out, a.low, bytes: 8)
            }
        }
        append(&out, m.counter, bytes: 8)
        append(&out, m.bootID, bytes: 8)
        append(&out, UInt64(m.leaseMillis), bytes: 4)
        append(&out, UInt64(reason.count), bytes: 2)
        out += reason
        out += Digest.hmacSHA256(out, key: key)
        return out
    }

    /// Decodes and authenticates a datagram. `keyFor` maps a sender name to its shared key.
    public static func decode(_ bytes: [UInt8], keyFor: (String) -> [UInt8]?) -> Result<PTAMessage, PTAWireError> {
        guard bytes.count <= maxDatagram else { return .failure(.oversized(bytes.count)) }
        var r = Reader(bytes: bytes)
        do {
            guard try r.take(4).elementsEqual(magic) else { return .failure(.badMagic) }
            let v = try r.u8()
            guard versions.contains(v) else { return .failure(.badVersion(v)) }
            let t = try r.u8()
            guard let type = PTAMessage.Kind(rawValue: t) else { return .failure(.unknownType(t)) }
            let flags = UInt16(try r.uint(2))
            let senderLength = Int(try r.u8())
            guard senderLength <= maxSender else { return .failure(.lengthOverflow("sender", senderLength)) }
            let senderBytes = try r.take(senderLength)
            let count = Int(try r.u8())
            guard count <= maxAddresses else { return .failure(.lengthOverflow("addresses", count)) }
            var addresses: [IPv4Address] = []
            for _ in 0..<count { addresses.append(IPv4Address(UInt32(try r.uint(4)))) }
            var ipv6Addresses: [IPv6Address] = []
            if v == ipv6Version {
                let count6 = Int(try r.u8())
                guard count + count6 <= maxAddresses else { return .failure(.lengthOverflow("addresses", count + count6)) }
                guard count6 > 0 else { return .failure(.nonCanonical("version 2 without IPv6 addresses")) }
                for _ in 0..<count6 { ipv6Addresses.append(IPv6Address(high: try r.uint(8), low: try r.uint(8))) }
            }
            let counter = try r.uint(8)
            let bootID = try r.uint(8)
            let lease = UInt32(try r.uint(4))
            let reasonLength = Int(try r.uint(2))
            guard reasonLength <= maxReason else { return .failure(.lengthOverflow("reason", reasonLength)) }
            let reasonBytes = try r.take(reasonLength)
            let signedLength = r.offset
            let mac = try r.take(macLength)
            guard r.remaining == 0 else { return .failure(.trailingBytes(r.remaining)) }

            guard let sender = String(validating: senderBytes, as: UTF8.self) else { return .failure(.badText("sender")) }
            guard let key = keyFor(sender) else { return .failure(.unknownSender(sender)) }
            guard Digest.isValidHMACSHA256(mac, for: bytes[0..<signedLength], key: key) else {
                return .failure(.badMAC)
            }
            guard let reason = String(validating: reasonBytes, as: UTF8.self) else { return .failure(.badText("reason")) }
            return .success(PTAMessage(type: type, flags: flags, sender: sender, addresses: addresses,
                                       ipv6Addresses: ipv6Addresses, counter: counter, bootID: bootID, leaseMillis: lease,
                                       reason: reason))
        } catch {
            return .failure(.truncated)
        }
    }

    private static func append(_ out: inout [UInt8], _ v: UInt64, bytes n: Int) {
        for i in stride(from: n - 1, through: 0, by: -1) { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }

    /// A bounds-checked cursor: every read either fits or throws.
    private struct Reader {
        struct OutOfBytes: Error {}
        let bytes: [UInt8]
        var offset = 0
        var remaining: Int { bytes.count - offset }

        mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
            guard n >= 0, n <= remaining else { throw OutOfBytes() }
            defer { offset += n }
            return bytes[offset..<offset + n]
        }

        mutating func u8() throws -> UInt8 {
            guard remaining >= 1 else { throw OutOfBytes() }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func uint(_ n: Int) throws -> UInt64 {
            guard n >= 0, n <= remaining else { throw OutOfBytes() }
            var v: UInt64 = 0
            for i in offset..<offset + n { v = v << 8 | UInt64(bytes[i]) }
            offset += n
            return v
        }
    }
}
