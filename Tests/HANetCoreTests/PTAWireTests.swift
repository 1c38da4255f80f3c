import XCTest
@testable import HANetCore

final class PTAWireTests: XCTestCase {
    static let key = Array("0123456789abcdef0123456789abcdef".utf8)
    static let sample = PTAMessage(type: .takeover, flags: 0x0102, sender: "s1",
                                   addresses: [IPv4Address("198.51.100.11")!, IPv4Address("203.0.113.5")!],
                                   counter: 0x1122334455667788, bootID: 0x99aabbccddeeff00, leaseMillis: 3000, reason: "")

    static func keyFor(_ name: String) -> [UInt8]? { name == "s1" || name == "s2" ? key : nil }

    private func decode(_ b: [UInt8]) -> Result<PTAMessage, PTAWireError> {
        PTAWire.decode(b, keyFor: Self.keyFor)
    }

    /// Re-signs a datagram after a test edited its body, so that only the edit is under test.
    private func resign(_ b: [UInt8]) -> [UInt8] {
        let body = Array(b.dropLast(32))
        return body + Array(HMACSHA256.mac(body, key: Self.key))
    }

    func testLayoutIsBigEndianAsSpecified() throws {
        let b = try PTAWire.encode(Self.sample, key: Self.key)
        XCTAssertEqual(Array(b[0..<4]), Array("HANT".utf8))
        XCTAssertEqual(b[4], 1)                              // version
        XCTAssertEqual(b[5], 1)                              // TAKEOVER
        XCTAssertEqual(Array(b[6..<8]), [0x01, 0x02])        // flags
        XCTAssertEqual(b[8], 2)                              // sender length
        XCTAssertEqual(Array(b[9..<11]), Array("s1".utf8))
        XCTAssertEqual(b[11], 2)                             // address count
        XCTAssertEqual(Array(b[12..<16]), [198, 51, 100, 11])
        XCTAssertEqual(Array(b[16..<20]), [203, 0, 113, 5])
        XCTAssertEqual(Array(b[20..<28]), [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88])
        XCTAssertEqual(Array(b[28..<36]), [0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00])
        XCTAssertEqual(Array(b[36..<40]), [0, 0, 0x0b, 0xb8])  // 3000
        XCTAssertEqual(Array(b[40..<42]), [0, 0])            // reason length
        XCTAssertEqual(b.count, 42 + 32)
        XCTAssertEqual(Array(b[42...]), HMACSHA256.mac(Array(b[0..<42]), key: Self.key))
    }

    func testRoundTripEveryType() throws {
        for kind in PTAMessage.Kind.allCases {
            var m = Self.sample
            m.type = kind
            m.reason = kind == .refuse ? "no public link up on s2 — désolé" : ""
            let b = try PTAWire.encode(m, key: Self.key)
            XCTAssertEqual(try decode(b).get(), m)
        }
    }

    func testRoundTripLimits() throws {
        let m = PTAMessage(type: .refuse, flags: .max, sender: String(repeating: "n", count: 32),
                           addresses: (0..<16).map { IPv4Address(0xC612_0000 + UInt32($0)) }, counter: .max, bootID: 0,
                           leaseMillis: .max, reason: String(repeating: "r", count: 256))
        let b = try PTAWire.encode(m, key: Self.key)
        XCTAssertLessThanOrEqual(b.count, PTAWire.maxDatagram)
        XCTAssertEqual(PTAWire.decode(b, keyFor: { _ in Self.key }), .success(m))
    }

    func testEncodeRefusesFieldsThatDoNotFit() {
        var m = Self.sample
        m.sender = String(repeating: "x", count: 33)
        XCTAssertThrowsError(try PTAWire.encode(m, key: Self.key)) { XCTAssertEqual($0 as? PTAWireError, .fieldTooLong("sender", 33, 32)) }
        m = Self.sample
        m.addresses = Array(repeating: IPv4Address(1), count: 17)
        XCTAssertThrowsError(try PTAWire.encode(m, key: Self.key)) { XCTAssertEqual($0 as? PTAWireError, .fieldTooLong("addresses", 17, 16)) }
        m = Self.sample
        m.reason = String(repeating: "é", count: 129) // 258 bytes
        XCTAssertThrowsError(try PTAWire.encode(m, key: Self.key)) { XCTAssertEqual($0 as? PTAWireError, .fieldTooLong("reason", 258, 256)) }
    }

    func testEachErrorIsDistinct() throws {
        let good = try PTAWire.encode(Self.sample, key: Self.key)

        XCTAssertEqual(decode(Array(good.dropLast())), .failure(.truncated))
        XCTAssertEqual(decode([]), .failure(.truncated))
        XCTAssertEqual(decode(Array(good.prefix(10))), .failure(.truncated))
        XCTAssertEqual(decode(Array(repeating: 0, count: 1025)), .failure(.oversized(1025)))

        var b = good; b[0] = UInt8(ascii: "X")
        XCTAssertEqual(decode(b), .failure(.badMagic))
        b = good; b[4] = 3
        XCTAssertEqual(decode(b), .failure(.badVersion(3)))
        XCTAssertEqual(PTAWireError.badVersion(3).description, "unsupported PTA version 3 (expected 1 or 2)")
        b = good; b[5] = 8
        XCTAssertEqual(decode(b), .failure(.unknownType(8)))
        b = good; b[5] = 0
        XCTAssertEqual(decode(b), .failure(.unknownType(0)))

        var other = Self.sample; other.sender = "s9"
        XCTAssertEqual(decode(try PTAWire.encode(other, key: Self.key)), .failure(.unknownSender("s9")))

        b = good; b[20] ^= 1   // counter altered
        XCTAssertEqual(decode(b), .failure(.badMAC))
        b = good; b[b.count - 1] ^= 0x80  // MAC altered
        XCTAssertEqual(decode(b), .failure(.badMAC))
        XCTAssertEqual(decode(try PTAWire.encode(Self.sample, key: Array("another key".utf8))), .failure(.badMAC))

        XCTAssertEqual(decode(good + [0, 0, 0]), .failure(.trailingBytes(3)))

        b = good; b[8] = 200   // sender length
        XCTAssertEqual(decode(b), .failure(.lengthOverflow("sender", 200)))
        b = good; b[11] = 17   // address count
        XCTAssertEqual(decode(b), .failure(.lengthOverflow("addresses", 17)))
        b = good; b[40] = 0xff; b[41] = 0xff  // reason length
        XCTAssertEqual(decode(b), .failure(.lengthOverflow("reason", 65535)))
        b = good; b[41] = 200  // within the limit but beyond the datagram
        XCTAssertEqual(decode(b), .failure(.truncated))

        b = good; b[9] = 0xff  // sender not UTF-8
        XCTAssertEqual(decode(resign(b)), .failure(.badText("sender")))
        var withReason = Self.sample; withReason.type = .refuse; withReason.reason = "ab"
        b = try PTAWire.encode(withReason, key: Self.key); b[42] = 0xc3; b[43] = 0x28
        XCTAssertEqual(decode(resign(b)), .failure(.badText("reason")))
    }

    // MARK: version 2, IPv6

    static let dualStack = PTAMessage(type: .takeover, flags: PTAMessage.speaksIPv6, sender: "s1",
                                      addresses: [IPv4Address("198.51.100.11")!],
                                      ipv6Addresses: [IPv6Address("2001:db8:1::11")!, IPv6Address("2001:db8:1::12")!],
                                      counter: 7, bootID: 9, leaseMillis: 3000)

    func testVersion2CarriesIPv6AfterTheIPv4Block() throws {
        let b = try PTAWire.encode(Self.dualStack, key: Self.key)
        XCTAssertEqual(b[4], 2)                              // version
        XCTAssertEqual(Array(b[6..<8]), [0, 2])              // flags: speaks IPv6
        XCTAssertEqual(b[11], 1)                             // IPv4 count
        XCTAssertEqual(Array(b[12..<16]), [198, 51, 100, 11])
        XCTAssertEqual(b[16], 2)                             // IPv6 count
        XCTAssertEqual(Array(b[17..<33]), IPv6Address("2001:db8:1::11")!.bytes)
        XCTAssertEqual(Array(b[33..<49]), IPv6Address("2001:db8:1::12")!.bytes)
        XCTAssertEqual(Array(b[49..<57]), [0, 0, 0, 0, 0, 0, 0, 7])  // counter
        XCTAssertEqual(b.count, 49 + 8 + 8 + 4 + 2 + 32)
        XCTAssertEqual(try decode(b).get(), Self.dualStack)
    }

    /// What an older node receives is what it always received: a message
    /// without IPv6 addresses is version 1, and its bytes do not depend on
    /// whether this node knows IPv6.
    func testWithoutIPv6TheBytesAreVersion1() throws {
        var m = Self.dualStack
        m.ipv6Addresses = []
        let b = try PTAWire.encode(m, key: Self.key)
        XCTAssertEqual(b[4], 1)
        XCTAssertEqual(b.count, 9 + 2 + 1 + 4 + 8 + 8 + 4 + 2 + 32)
        XCTAssertEqual(try decode(b).get(), m)
    }

    func testForPeerWithholdsIPv6FromASiblingThatHasNotShownIt() throws {
        let (old, withheld) = Self.dualStack.forPeer(speaksIPv6: false)
        XCTAssertEqual(old.addresses, Self.dualStack.addresses)
        XCTAssertTrue(old.ipv6Addresses.isEmpty)
        XCTAssertEqual(withheld, Self.dualStack.ipv6Addresses)
        XCTAssertEqual(try PTAWire.encode(old, key: Self.key)[4], 1)
        let (new, none) = Self.dualStack.forPeer(speaksIPv6: true)
        XCTAssertEqual(new, Self.dualStack)
        XCTAssertTrue(none.isEmpty)
    }

    func testVersion2Limits() throws {
        let m = PTAMessage(type: .refuse, flags: .max, sender: String(repeating: "n", count: 32),
                           ipv6Addresses: (0..<16).map { IPv6Address(high: .max, low: UInt64($0)) }, counter: .max, bootID: 0,
                           leaseMillis: .max, reason: String(repeating: "r", count: 256))
        let b = try PTAWire.encode(m, key: Self.key)
        XCTAssertLessThanOrEqual(b.count, PTAWire.maxDatagram)
        XCTAssertEqual(PTAWire.decode(b, keyFor: { _ in Self.key }), .success(m))
        var over = Self.dualStack
        over.addresses = Array(repeating: IPv4Address(1), count: 15)
        XCTAssertThrowsError(try PTAWire.encode(over, key: Self.key)) { XCTAssertEqual($0 as? PTAWireError, .fieldTooLong("addresses", 17, 16)) }
    }

    func testVersion2Errors() throws {
        let good = try PTAWire.encode(Self.dualStack, key: Self.key)
        var b = good; b[16] = 16   // IPv6 count: 1 + 16 addresses in all
        XCTAssertEqual(decode(b), .failure(.lengthOverflow("addresses", 17)))
        b = good; b[16] = 1        // one fewer than there is: the rest no longer lines up
        if case .success = decode(resign(b)) { XCTFail("a miscounted IPv6 block decoded") }
        b = good; b[16] = 0        // version 2 without IPv6 is version 1's job
        XCTAssertEqual(decode(resign(Array(b[0..<17] + b[49...]))), .failure(.nonCanonical("version 2 without IPv6 addresses")))
        b = good; b[20] ^= 1       // an IPv6 address altered
        XCTAssertEqual(decode(b), .failure(.badMAC))
        XCTAssertEqual(decode(Array(good.prefix(30))), .failure(.truncated))
    }
}
