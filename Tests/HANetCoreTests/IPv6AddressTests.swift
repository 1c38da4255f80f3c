import XCTest
@testable import HANetCore

final class IPv6AddressTests: XCTestCase {
    /// Text in, RFC 5952 text out.
    func testParsesEveryFormAndPrintsRFC5952() {
        let cases: [(String, String)] = [
            ("2001:db8:0:0:0:0:0:1", "2001:db8::1"),
            ("2001:DB8::1", "2001:db8::1"),
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("fe80::1:2", "fe80::1:2"),
            // A single zero group is not compressed (RFC 5952 §4.2.2).
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            // The longest run is compressed; the first of equal runs (§4.2.3).
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            // "::" standing for one group is accepted on input (RFC 4291).
            ("1:2:3:4:5:6::8", "1:2:3:4:5:6:0:8"),
            ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
            // Embedded IPv4 in the last 32 bits.
            ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
            ("::FFFF:c000:0201", "::ffff:192.0.2.1"),
            ("64:ff9b::198.51.100.7", "64:ff9b::c633:6407"),
            ("1:2:3:4:5:6:192.0.2.1", "1:2:3:4:5:6:c000:201"),
        ]
        for (text, canonical) in cases {
            guard let a = IPv6Address(text) else { XCTFail("\(text) did not parse"); continue }
            XCTAssertEqual(a.description, canonical, text)
            XCTAssertEqual(IPv6Address(canonical), a, "round trip of \(canonical)")
            XCTAssertEqual(IPv6Address(bytes: a.bytes), a)
            XCTAssertEqual(IPv6Address(groups: a.groups), a)
        }
        XCTAssertEqual(IPv6Address("2001:db8::1")!.bytes, [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1])
    }

    func testRefusesWithAReason() {
        let cases: [(String, String)] = [
            ("", "empty string"),
            ("1:2:3:4:5:6:7", "expected 8 groups"),
            ("1:2:3:4:5:6:7:8:9", "expected 8 groups"),
            ("1::2::3", "'::' may appear only once"),
            (":::", "':::' is not valid"),
            ("1:::2", "':::' is not valid"),
            (":1:2:3:4:5:6:7", "empty group"),
            ("1:2:3:4:5:6:7:", "empty group"),
            ("1:2:3:4:5:6:7:8::", "at least one zero group"),
            ("12345::", "more than 4 hex digits"),
            ("g::1", "not hexadecimal"),
            ("+1::", "not hexadecimal"),
            ("::1.2.3", "not four decimal octets"),
            ("::192.0.2.1:1", "only be the last 32 bits"),
            ("fe80::1%eth0", "zone index"),
            ("[2001:db8::1]", "without brackets"),
            ("2001:db8::1/64", "without a prefix length"),
        ]
        for (text, reason) in cases {
            switch IPv6Address.parse(text) {
            case .success(let a): XCTFail("\(text) parsed as \(a)")
            case .failure(let p): XCTAssertTrue(p.message.contains(reason), "\(text): \(p.message)")
            }
        }
    }

    func testPrefixes() throws {
        let p = try XCTUnwrap(IPv6Prefix("2001:db8:1::11/64"))
        XCTAssertEqual(p.description, "2001:db8:1::11/64")
        XCTAssertEqual(p.network, IPv6Address("2001:db8:1::"))
        XCTAssertTrue(p.contains(IPv6Address("2001:db8:1::ffff")!))
        XCTAssertFalse(p.contains(IPv6Address("2001:db8:2::11")!))
        XCTAssertEqual(IPv6Prefix("2001:db8:1::12/128")!.network, IPv6Address("2001:db8:1::12"))
        XCTAssertEqual(IPv6Prefix("2001:db8:1:2:3::/70")!.network, IPv6Address("2001:db8:1:2:0::"))
        XCTAssertEqual(IPv6Prefix("2001:db8:1:2:ffff::/66")!.network, IPv6Address("2001:db8:1:2:c000::"))
        XCTAssertEqual(IPv6Prefix("::/0")!.network, .unspecified)
        for bad in ["2001:db8::1", "2001:db8::1/129", "2001:db8::1/", "2001:db8::1/064", "2001:db8::1/6a", "2001:db8::1/64/1"] {
            XCTAssertNil(IPv6Prefix(bad), bad)
        }
    }

    func testClassesAndDerivedAddresses() {
        let a = IPv6Address("2001:db8:1::12:3456")!
        XCTAssertEqual(a.solicitedNodeMulticast.description, "ff02::1:ff12:3456")
        XCTAssertEqual(a.solicitedNodeMulticast.multicastMAC.description, "33:33:ff:12:34:56")
        XCTAssertEqual(IPv6Address.allNodes.description, "ff02::1")
        XCTAssertEqual(IPv6Address.allNodes.multicastMAC.description, "33:33:00:00:00:01")
        XCTAssertTrue(IPv6Address("fe80::1")!.isLinkLocal)
        XCTAssertTrue(IPv6Address("febf::1")!.isLinkLocal)
        XCTAssertFalse(IPv6Address("fec0::1")!.isLinkLocal)
        XCTAssertNil(a.serviceAddressProblem)
        XCTAssertTrue(IPv6Address("fe80::1")!.serviceAddressProblem!.contains("link-local"))
        XCTAssertTrue(IPv6Address("ff02::1")!.serviceAddressProblem!.contains("multicast"))
        XCTAssertTrue(IPv6Address("::")!.serviceAddressProblem!.contains("unspecified"))
        XCTAssertTrue(IPv6Address("::1")!.serviceAddressProblem!.contains("loopback"))
        XCTAssertTrue(IPv6Address("::ffff:192.0.2.1")!.serviceAddressProblem!.contains("IPv4-mapped"))
        XCTAssertEqual(IPAddress("2001:db8::1"), .v6(IPv6Address("2001:db8::1")!))
        XCTAssertEqual(IPAddress("192.0.2.1"), .v4(IPv4Address("192.0.2.1")!))
        XCTAssertNil(IPAddress("192.0.2"))
    }

    func testCodableAsText() throws {
        let p = IPv6Prefix("2001:db8::11/64")!
        let data = try JSONEncoder().encode([p])
        XCTAssertEqual(String(decoding: data, as: UTF8.self), "[\"2001:db8::11\\/64\"]")
        XCTAssertEqual(try JSONDecoder().decode([IPv6Prefix].self, from: data), [p])
        XCTAssertThrowsError(try JSONDecoder().decode([IPv6Address].self, from: Data("[\"1::2::3\"]".utf8)))
    }
}
