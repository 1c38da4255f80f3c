import HANetCore
import XCTest

final class NftablesRulesetTests: XCTestCase {
    func testL2RulesetForwardsBothWays() throws {
        let plan = ForwardingPlan(table: "hanet", port: "hanet0p", active: "eth0")
        try NftablesRuleset.validate(plan)
        XCTAssertEqual(NftablesRuleset.render(plan), """
        table netdev hanet
        delete table netdev hanet
        table netdev hanet {
        \tcomment "hanet port=hanet0p"
        \tchain slave {
        \t\ttype filter hook ingress device "eth0" priority 0;
        \t\tfwd to "hanet0p"
        \t}
        \tchain port {
        \t\ttype filter hook ingress device "hanet0p" priority 0;
        \t\tfwd to "eth0"
        \t}
        }

        """)
    }

    func testNoActiveSlaveLeavesAnEmptyTable() {
        let text = NftablesRuleset.render(ForwardingPlan(table: "t1", port: "p0", active: nil))
        XCTAssertEqual(text, "table netdev t1\ndelete table netdev t1\ntable netdev t1 {\n\tcomment \"hanet port=p0\"\n}\n")
        XCTAssertFalse(text.contains("fwd"))
    }

    func testL3WithDrainUsesServiceAddressAndPeer() throws {
        let plan = ForwardingPlan(table: "hanet", port: "hanet0p", active: "ppp0", layer: .l3,
                                  serviceAddresses: [IPv4Address("192.0.2.1")!, IPv4Address("192.0.2.2")!],
                                  l3Peer: IPv4Address("169.254.1.2")!, drainNewConnections: true)
        try NftablesRuleset.validate(plan)
        let text = NftablesRuleset.render(plan)
        XCTAssertTrue(text.contains("\t\tip daddr { 192.0.2.1, 192.0.2.2 } tcp flags & (syn|ack) == syn drop\n\t\tmeta protocol ip fwd ip to 192.0.2.1 device \"hanet0p\"\n"), text)
        XCTAssertTrue(text.contains("device \"hanet0p\" priority 0;\n\t\tmeta protocol ip fwd ip to 169.254.1.2 device \"ppp0\"\n"), text)
        // The drop must come before the fwd, or the SYN would already have left.
        let drop = try XCTUnwrap(text.range(of: "drop"))
        let fwd = try XCTUnwrap(text.range(of: "fwd ip to 192.0.2.1"))
        XCTAssertLessThan(drop.lowerBound, fwd.lowerBound)
    }

    func testValidationNamesTheBadField() {
        func message(_ plan: ForwardingPlan) -> String {
            do { try NftablesRuleset.validate(plan); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(ForwardingPlan(table: "bad table", port: "p", active: nil)).contains("table name 'bad table'"))
        XCTAssertTrue(message(ForwardingPlan(table: "t", port: "p\"x", active: nil)).contains("port interface name"))
        XCTAssertTrue(message(ForwardingPlan(table: "t", port: "p", active: "averyveryverylongname")).contains("active slave interface name"))
        XCTAssertTrue(message(ForwardingPlan(table: "t", port: "p", active: "p")).contains("same interface"))
        XCTAssertTrue(message(ForwardingPlan(table: "t", port: "p", active: "s", layer: .l3,
                                             serviceAddresses: [IPv4Address("192.0.2.1")!])).contains("needs l3Peer"))
        XCTAssertTrue(message(ForwardingPlan(table: "t", port: "p", active: "s", layer: .l3,
                                             l3Peer: IPv4Address("192.0.2.9")!)).contains("at least one service address"))
    }
}

final class ARPFrameTests: XCTestCase {
    let mac = MACAddress("02:00:00:00:00:0b")!
    let address = IPv4Address("192.0.2.1")!

    func testGratuitousRequestBytes() {
        let f = ARPFrame.gratuitous(address: address, mac: mac)
        XCTAssertEqual(f.count, 42)
        XCTAssertEqual(Array(f[0..<6]), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        XCTAssertEqual(Array(f[6..<12]), mac.bytes)
        XCTAssertEqual(Array(f[12..<22]), [0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1])
        XCTAssertEqual(Array(f[22..<28]), mac.bytes)
        XCTAssertEqual(Array(f[28..<32]), [192, 0, 2, 1])
        XCTAssertEqual(Array(f[32..<38]), [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(Array(f[38..<42]), [192, 0, 2, 1])
    }

    func testParseRoundTripAndRejects() throws {
        let req = ARPFrame.request(senderMAC: mac, senderAddress: address, target: IPv4Address("192.0.2.7")!)
        let p = try XCTUnwrap(ARPFrame.parse(req + [UInt8](repeating: 0, count: 18)))   // padded to 60
        XCTAssertEqual(p.operation, ARPPacket.request)
        XCTAssertEqual(p.senderMAC, mac)
        XCTAssertEqual(p.senderAddress, address)
        XCTAssertEqual(p.targetAddress, IPv4Address("192.0.2.7")!)
        XCTAssertFalse(p.isGratuitous)
        XCTAssertTrue(ARPFrame.parse(ARPFrame.gratuitous(address: address, mac: mac))!.isGratuitous)
        var ipv4 = req
        ipv4[13] = 0x00                     // EtherType 0x0800
        XCTAssertNil(ARPFrame.parse(ipv4))
        XCTAssertNil(ARPFrame.parse(Array(req.prefix(41))))
    }
}

final class NftablesRulesetIPv6Tests: XCTestCase {
    static let own4 = [IPv4Address("169.254.77.1")!]
    static let own6 = [IPv6Address("2001:db8:ff::1")!, IPv6Address("fe80::1")!]
    static let service4 = [IPv4Address("198.51.100.11")!]
    static let service6 = [IPv6Address("2001:db8:1::11")!, IPv6Address("2001:db8:1::12")!]

    /// The whole transaction for table "hanet" and port "hanet0p", with the
    /// rules of each chain after its hook line.
    static func table(active: String, slave: [String], port: [String]) -> String {
        let head = "table netdev hanet\ndelete table netdev hanet\ntable netdev hanet {\n\tcomment \"hanet port=hanet0p\"\n"
        let slaveChain = "\tchain slave {\n\t\ttype filter hook ingress device \"\(active)\" priority 0;\n"
            + slave.map { "\t\t\($0)\n" }.joined() + "\t}\n"
        let portChain = "\tchain port {\n\t\ttype filter hook ingress device \"hanet0p\" priority 0;\n"
            + port.map { "\t\t\($0)\n" }.joined() + "\t}\n"
        return head + slaveChain + portChain + "}\n"
    }

    /// Every IPv4-only plan renders as it did before IPv6 existed: the new
    /// fields empty add not one byte (the expected texts are what the IPv4-only
    /// renderer printed for these plans).
    func testIPv4OnlyPlansAreByteIdentical() {
        let l2 = ForwardingPlan(table: "hanet", port: "hanet0p", active: "priv0", drainNewConnections: true,
                                slaveOwnAddresses: Self.own4)
        XCTAssertEqual(NftablesRuleset.render(l2), Self.table(active: "priv0", slave: [
            "arp daddr ip { 169.254.77.1 } accept",
            "ip daddr { 169.254.77.1 } accept",
            "meta protocol ip tcp flags & (syn|ack) == syn drop",
            "fwd to \"hanet0p\"",
        ], port: ["fwd to \"priv0\""]))
        let l3 = ForwardingPlan(table: "hanet", port: "hanet0p", active: "ppp0", layer: .l3, serviceAddresses: Self.service4,
                                l3Peer: IPv4Address("169.254.1.2")!, drainNewConnections: true, slaveOwnAddresses: Self.own4)
        XCTAssertEqual(NftablesRuleset.render(l3), Self.table(active: "ppp0", slave: [
            "ip daddr { 169.254.77.1 } accept",
            "ip daddr { 198.51.100.11 } tcp flags & (syn|ack) == syn drop",
            "meta protocol ip fwd ip to 198.51.100.11 device \"hanet0p\"",
        ], port: ["meta protocol ip fwd ip to 169.254.1.2 device \"ppp0\""]))
    }

    func testL2PrivateSlaveKeepsNDAboutItsOwnAddresses() {
        let plan = ForwardingPlan(table: "hanet", port: "hanet0p", active: "priv0", drainNewConnections: true,
                                  slaveOwnAddresses: Self.own4, ipv6ServiceAddresses: Self.service6,
                                  slaveOwnIPv6Addresses: Self.own6)
        XCTAssertEqual(NftablesRuleset.render(plan), Self.table(active: "priv0", slave: [
            "arp daddr ip { 169.254.77.1 } accept",
            "ip daddr { 169.254.77.1 } accept",
            "icmpv6 type { nd-router-solicit, nd-router-advert, nd-redirect } accept",
            "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } @th,64,128 { 0x20010db800ff00000000000000000001, 0xfe800000000000000000000000000001 } accept",
            "ip6 daddr { 2001:db8:ff::1, fe80::1 } accept",
            "ip6 daddr { 2001:db8:1::11, 2001:db8:1::12 } tcp flags & (syn|ack) == syn drop",
            "fwd to \"hanet0p\"",
        ], port: ["fwd to \"priv0\""]))
    }

    func testL3SlaveForwardsIPv6Too() throws {
        let plan = ForwardingPlan(table: "hanet", port: "hanet0p", active: "tun0", layer: .l3, serviceAddresses: Self.service4,
                                  l3Peer: IPv4Address("169.254.1.2")!, ipv6ServiceAddresses: Self.service6,
                                  ipv6L3Peer: IPv6Address("2001:db8:ff::2")!, slaveOwnIPv6Addresses: [Self.own6[0]])
        try NftablesRuleset.validate(plan)
        let text = NftablesRuleset.render(plan)
        XCTAssertTrue(text.contains("""
        \t\tip6 daddr { 2001:db8:ff::1 } accept
        \t\tmeta protocol ip fwd ip to 198.51.100.11 device "hanet0p"
        \t\tmeta protocol ip6 fwd ip6 to 2001:db8:1::11 device "hanet0p"
        \t}
        """), text)
        XCTAssertTrue(text.contains("""
        \t\tmeta protocol ip fwd ip to 169.254.1.2 device "tun0"
        \t\tmeta protocol ip6 fwd ip6 to 2001:db8:ff::2 device "tun0"
        """), text)
        XCTAssertFalse(text.contains("icmpv6"), "a point-to-point slave has no neighbour discovery")
    }

    func testValidationPerFamily() {
        func message(_ plan: ForwardingPlan) -> String {
            do { try NftablesRuleset.validate(plan); return "" } catch { return "\(error)" }
        }
        let v6Only = ForwardingPlan(table: "t", port: "p", active: "s", layer: .l3, ipv6ServiceAddresses: Self.service6,
                                    ipv6L3Peer: IPv6Address("2001:db8:ff::2")!)
        XCTAssertEqual(message(v6Only), "")
        var noPeer6 = v6Only
        noPeer6.ipv6L3Peer = nil
        noPeer6.l3Peer = IPv4Address("169.254.1.2")!
        XCTAssertTrue(message(noPeer6).contains("needs ipv6L3Peer"), message(noPeer6))
        var noPeer4 = v6Only
        noPeer4.serviceAddresses = Self.service4
        XCTAssertTrue(message(noPeer4).contains("to forward IPv4"), message(noPeer4))
    }
}
