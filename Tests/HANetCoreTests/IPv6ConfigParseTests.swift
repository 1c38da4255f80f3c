import XCTest
@testable import HANetCore

final class IPv6ConfigParseTests: XCTestCase {
    private func config(master: String, sibling: String = "[\"198.51.100.12/32\", \"2001:db8:1::12/128\"]",
                        extra: String = "") -> String {
        """
        [node]
        name = "s1"
        [master]
        addresses = \(master)
        \(extra)
        [[link]]
        interface = "eth0"
        [[link]]
        interface = "priv0"
        sibling = "s2"
        address = "169.254.77.1/30"
        [[sibling]]
        name = "s2"
        address = "169.254.77.2"
        key_file = "/k"
        addresses = \(sibling)
        """
    }

    func testDualStackAddressesSplitPerFamilyInOrder() throws {
        let c = try HANetConfig.parse(config(master: "[\"198.51.100.11/24\", \"2001:db8:1::11/64\", \"203.0.113.5/32\", \"2001:DB8:2:0::5/128\"]"),
                                      file: "c.toml")
        XCTAssertEqual(c.master.addresses, [IPv4Prefix("198.51.100.11/24")!, IPv4Prefix("203.0.113.5/32")!])
        XCTAssertEqual(c.master.ipv6Addresses.map(\.description), ["2001:db8:1::11/64", "2001:db8:2::5/128"])
        XCTAssertEqual(c.siblings[0].addresses, [IPv4Prefix("198.51.100.12/32")!])
        XCTAssertEqual(c.siblings[0].ipv6Addresses, [IPv6Prefix("2001:db8:1::12/128")!])
        // NAs follow the gratuitous ARP settings unless set.
        XCTAssertEqual(c.master.naCount, 3)
        XCTAssertEqual(c.master.naIntervalMillis, 100)
    }

    func testIPv6OnlyAddressesAreAccepted() throws {
        let c = try HANetConfig.parse(config(master: "[\"2001:db8:1::11/64\"]", sibling: "[\"2001:db8:1::12/128\"]"), file: "c.toml")
        XCTAssertTrue(c.master.addresses.isEmpty)
        XCTAssertEqual(c.master.ipv6Addresses.count, 1)
        XCTAssertTrue(c.siblings[0].addresses.isEmpty)
        XCTAssertEqual(c.siblings[0].ipv6Addresses.count, 1)
    }

    func testNASettings() throws {
        let c = try HANetConfig.parse(config(master: "[\"2001:db8:1::11/64\"]", extra: "garp_count = 2\nna_count = 5\nna_interval_ms = 20"),
                                      file: "c.toml")
        XCTAssertEqual(c.master.garpCount, 2)
        XCTAssertEqual(c.master.naCount, 5)
        XCTAssertEqual(c.master.naIntervalMillis, 20)
        let inherited = try HANetConfig.parse(config(master: "[\"2001:db8:1::11/64\"]", extra: "garp_count = 7\ngarp_interval_ms = 30"),
                                              file: "c.toml")
        XCTAssertEqual(inherited.master.naCount, 7)
        XCTAssertEqual(inherited.master.naIntervalMillis, 30)
        XCTAssertEqual(problems(config(master: "[\"2001:db8:1::11/64\"]", extra: "na_count = 101\nna_interval_ms = -1")), [
            "c.toml:5: master.na_count: expected an integer from 0 to 100, got 101",
            "c.toml:6: master.na_interval_ms: expected an integer from 0 to 60000, got -1",
        ])
    }

    func testBadIPv6AddressesNameLineAndReason() {
        XCTAssertEqual(problems(config(master: """
        ["2001:db8::11", "2001:db8::1::2/64", "fe80::1/64",
          "2001:db8::11/64", "2001:0db8::0011/128", "ff02::1/128", "2001:db8::5/129"]
        """)), [
            "c.toml:4: master.addresses[0]: expected an IPv6 address with prefix length such as \"2001:db8:1::11/64\", got \"2001:db8::11\": expected a prefix length after '/', such as /64 or /128",
            "c.toml:4: master.addresses[1]: expected an IPv6 address with prefix length such as \"2001:db8:1::11/64\", got \"2001:db8::1::2/64\": '::' may appear only once",
            "c.toml:4: master.addresses[2]: expected a service address, got \"fe80::1/64\": fe80::1 is link-local (fe80::/10): it is valid on one link only, so it cannot move between links or be carried by a sibling",
            "c.toml:5: master.addresses[4]: address 2001:db8::11 is listed twice",
            "c.toml:5: master.addresses[5]: expected a service address, got \"ff02::1/128\": ff02::1 is a multicast address (ff00::/8)",
            "c.toml:5: master.addresses[6]: expected an IPv6 address with prefix length such as \"2001:db8:1::11/64\", got \"2001:db8::5/129\": prefix length \"129\" is not a number from 0 to 128",
        ])
    }

    func testPrivateLinkEndsStayIPv4() {
        let text = config(master: "[\"2001:db8:1::11/64\"]")
            .replacingOccurrences(of: "address = \"169.254.77.1/30\"", with: "address = \"2001:db8:ff::1/64\"")
            .replacingOccurrences(of: "address = \"169.254.77.2\"", with: "address = \"2001:db8:ff::2\"")
        let why = "expected an IPv4 address: a private link's ends are IPv4 (the PTA runs over IPv4 on the private link, for IPv4 and IPv6 service addresses alike)"
        XCTAssertEqual(problems(text), [
            "c.toml:11: link[1].address: \(why), got \"2001:db8:ff::1/64\"",
            "c.toml:14: sibling[0].address: \(why), got \"2001:db8:ff::2\"",
        ])
    }

    func testTooManyAddressesCountBothFamilies() {
        let list = (1...9).map { "\"198.51.100.\($0)/32\"" } + (1...8).map { "\"2001:db8::\($0)/128\"" }
        XCTAssertEqual(problems(config(master: "[" + list.joined(separator: ", ") + "]")),
                       ["c.toml:4: master.addresses: expected at most 16 addresses (the PTA message limit), got 17"])
    }

    func testPPPSerialLinksRefuseIPv6ServiceAddresses() throws {
        let ppp = """

        [[link]]
        interface = "ppp9"
        type = "ppp-serial"
        device = "/dev/ttyS0"
        """
        XCTAssertEqual(problems(config(master: "[\"198.51.100.11/24\", \"2001:db8:1::11/64\"]") + ppp), [
            "c.toml:17: link[2]: a ppp-serial link carries IPv4 only (its PPP negotiates IPCP, not IPV6CP), and [master] addresses include IPv6 (2001:db8:1::11/64) that could not reach this node over it; remove the IPv6 addresses or this link",
        ])
        // A tty link is ppp-serial even without its type; IPv4-only masters keep such links.
        XCTAssertEqual(problems(config(master: "[\"2001:db8:1::11/64\"]") + ppp.replacingOccurrences(of: "type = \"ppp-serial\"\n", with: "")).count, 1)
        XCTAssertNoThrow(try HANetConfig.parse(config(master: "[\"198.51.100.11/24\"]") + ppp, file: "c.toml"))
    }
}
