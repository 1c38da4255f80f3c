import XCTest
@testable import HANetCore

/// `[routing]` and the BIRD fragment rendered from it.
final class RoutingConfigTests: XCTestCase {
    /// [routing] starts at line 18.
    /// The service address as a /32: what `announce` takes by default.
    static let base = HotplugPolicyTests.base.replacingOccurrences(of: "198.51.100.11/24", with: "198.51.100.11/32")

    func testRoutingTableIsReadWithDefaults() throws {
        let c = try HANetConfig.parse(Self.base + """
        [routing]
        engine = "bird"
        local_as = 65001
        carry = ["s2"]
        """, file: "r.toml")
        let r = try XCTUnwrap(c.routing)
        XCTAssertEqual(r.engine, .bird)
        XCTAssertEqual(r.controlSocket, "/run/bird/bird.ctl")
        XCTAssertEqual(r.includeFile, "/etc/bird/hanet.conf")
        XCTAssertEqual(r.localAS, 65001)
        XCTAssertEqual(r.lessPreferred, .prepend(count: 3))
        XCTAssertEqual(r.carry, ["s2"])
        XCTAssertEqual(r.configureTimeoutSeconds, 30)
        XCTAssertEqual(r.location.line, 18)
        XCTAssertNil(try HANetConfig.parse(Self.base, file: "r.toml").routing, "no [routing]: no routed mode")
    }

    func testEveryWayOfLessPreferred() throws {
        let cases: [(String, HANetConfig.Routing.LessPreferred)] = [
            ("less_preferred = \"prepend\"\nprepend_count = 5\nlocal_as = 4200000001\n", .prepend(count: 5)),
            ("less_preferred = \"med\"\nmed = 200\n", .med(200)),
            ("less_preferred = \"med\"\n", .med(100)),
            ("less_preferred = \"local_pref\"\nlocal_pref = 20\n", .localPref(20)),
            ("less_preferred = \"community\"\ncommunity = \"65000:666\"\n", .community(65000, 666)),
        ]
        for (extra, expected) in cases {
            let c = try HANetConfig.parse(Self.base + "[routing]\nengine = \"bird\"\ncontrol_socket = \"/run/b.ctl\"\n" + extra, file: "r.toml")
            XCTAssertEqual(c.routing?.lessPreferred, expected, extra)
            XCTAssertEqual(c.routing?.controlSocket, "/run/b.ctl")
        }
    }

    func testBadRoutingConfigNamesFileLineAndField() {
        let head = "[routing]\nengine = \"bird\"\nlocal_as = 65001\n"
        let cases: [(String, String)] = [
            ("[routing]\nlocal_as = 65001\n", "r.toml:18: routing.engine: missing required key 'engine'"),
            ("[routing]\nengine = \"frr\"\n", "r.toml:19: routing.engine: expected one of: \"bird\", got \"frr\""),
            ("[routing]\nengine = \"bird\"\n", "r.toml:18: routing.local_as: less_preferred = \"prepend\" prepends this server's AS"),
            (head + "less_preferred = \"weight\"\n", "r.toml:21: routing.less_preferred: expected one of: \"prepend\", \"med\", \"local_pref\", \"community\", got \"weight\""),
            (head + "med = 10\n", "r.toml:21: routing.med: 'med' applies only with less_preferred = \"med\"; this table uses \"prepend\""),
            (head + "prepend_count = 11\n", "r.toml:21: routing.prepend_count: expected an integer from 1 to 10, got 11"),
            (head + "less_preferred = \"community\"\n", "r.toml:21: routing.community: less_preferred = \"community\" needs community"),
            (head + "less_preferred = \"community\"\ncommunity = \"65536:1\"\n", "r.toml:22: routing.community: expected a standard community"),
            (head + "less_preferred = \"local_pref\"\nlocal_pref = 100\n", "r.toml:22: routing.local_pref: expected an integer from 0 to 99"),
            (head + "local_as = 0\n", "r.toml:21: routing.local_as"),
            (head + "carry = [\"s9\"]\n", "r.toml:21: routing.carry[0]: unknown sibling \"s9\"; configured siblings: s2"),
            (head + "carry = [\"s2\", \"s2\"]\n", "r.toml:21: routing.carry[1]: sibling \"s2\" is listed twice"),
            (head + "carry = \"s2\"\n", "r.toml:21: routing.carry: expected an array of sibling names"),
            (head + "include_file = \"hanet.conf\"\n", "r.toml:21: routing.include_file: expected an absolute path"),
            (head + "control_socket = \"\"\n", "r.toml:21: routing.control_socket: expected a socket path of 1 to 107 bytes"),
            (head + "configure_timeout_s = 1\n", "r.toml:21: routing.configure_timeout_s: expected an integer from 5 to 3600"),
            (head + "announce = [\"198.51.100.99\"]\n", "r.toml:21: routing.announce[0]: 198.51.100.99 is not one of [master] addresses (198.51.100.11)"),
            (head + "announce = [\"198.51.100.11\", \"198.51.100.11\"]\n", "r.toml:21: routing.announce[1]: 198.51.100.11 is listed twice"),
            (head + "bfd_ms = 10\n", "r.toml:21: routing.bfd_ms: unknown key 'bfd_ms' in [routing]"),
            ("[[routing]]\nengine = \"bird\"\n", "r.toml:18: routing: expected a single [routing] table"),
        ]
        for (extra, expected) in cases {
            XCTAssertThrowsError(try HANetConfig.parse(Self.base + extra, file: "r.toml"), extra) { e in
                XCTAssertTrue("\(e)".contains(expected), "expected \(expected) in:\n\(e)")
            }
        }
    }

    func testACarriedSiblingNeedsItsPrivateLinkAddress() {
        let text = """
        [node]
        name = "s1"
        [master]
        addresses = ["198.51.100.11/24"]
        [[link]]
        interface = "eth0"
        [hotplug]
        enabled = true
        [[hotplug.allow]]
        name = "usb*"
        [[sibling]]
        name = "s3"
        key_file = "/etc/hanet/s3.key"
        addresses = ["198.51.100.13/32"]
        [routing]
        engine = "bird"
        local_as = 65001
        carry = ["s3"]
        """
        XCTAssertThrowsError(try HANetConfig.parse(text, file: "r.toml")) { e in
            XCTAssertTrue("\(e)".contains("r.toml:18: routing.carry[0]: sibling \"s3\" has no 'address'"), "\(e)")
            XCTAssertTrue("\(e)".contains("r.toml:15: routing.announce: [master] addresses has no /32 address"), "\(e)")
        }
    }

    func testFragmentFromConfigWithPrepend() throws {
        let c = try HANetConfig.parse(Self.base + """
        [routing]
        engine = "bird"
        local_as = 65001
        prepend_count = 2
        carry = ["s2"]
        """, file: "r.toml")
        let f = try XCTUnwrap(BIRDFragment(config: c))
        XCTAssertEqual(f.own, [IPv4Address("198.51.100.11")!], "the master's address, announced as a host route")
        XCTAssertEqual(f.render(), """
        # HANet's BIRD fragment: written by hanet and replaced whole on every
        # change; edits here are lost. bird.conf includes it and calls
        # hanet_export() in its BGP export filters and hanet_kernel() in its
        # kernel protocol's export filter (docs/routing.md).
        protocol static hanet_own {
            ipv4;
            disabled no;
            route 198.51.100.11/32 via "lo";
        }
        protocol static hanet_carry_s2 {
            ipv4;
            disabled no;
            route 198.51.100.12/32 via 169.254.77.2 bfd;
        }
        function hanet_export() {
            if proto = "hanet_own" then return true;
            if proto = "hanet_carry_s2" then {
                bgp_path.prepend(65001);
                bgp_path.prepend(65001);
                return true;
            }
            return false;
        }
        function hanet_kernel() {
            return proto = "hanet_carry_s2";
        }

        """)
    }

    func testFragmentWithdrawnAndOtherWays() {
        let via = IPv4Address("169.254.12.1")!
        var f = BIRDFragment(own: [IPv4Address("198.51.100.12")!], ownAnnounced: false,
                             carried: [.init(sibling: "rack-1a", nextHop: via, addresses: [IPv4Address("198.51.100.11")!], enabled: false),
                                       .init(sibling: "s3", nextHop: IPv4Address("169.254.34.1")!, addresses: [])],
                             lessPreferred: .med(100), localAS: nil)
        var text = f.render()
        XCTAssertTrue(text.contains("protocol static hanet_own {\n    ipv4;\n    disabled yes;\n    route 198.51.100.12/32 via \"lo\";\n}"), text)
        XCTAssertTrue(text.contains("protocol static hanet_carry_rack_1a {\n    ipv4;\n    disabled yes;\n    route 198.51.100.11/32 via 169.254.12.1 bfd;\n}"), text)
        XCTAssertTrue(text.contains("if proto = \"hanet_own\" then { bgp_med = 0; return true; }"), text)
        XCTAssertTrue(text.contains("if proto = \"hanet_carry_rack_1a\" || proto = \"hanet_carry_s3\" then {\n        bgp_med = 100;\n"), text)
        XCTAssertTrue(text.contains("return proto = \"hanet_carry_rack_1a\" || proto = \"hanet_carry_s3\";"), text)
        f.lessPreferred = .localPref(50)
        XCTAssertTrue(f.render().contains("bgp_local_pref = 50;"))
        f.lessPreferred = .community(65000, 666)
        XCTAssertTrue(f.render().contains("bgp_community.add((65000, 666));"))
        f.carried = []
        text = f.render()
        XCTAssertFalse(text.contains("hanet_carry"), text)
        XCTAssertTrue(text.contains("function hanet_kernel() {\n    return false;\n}"), text)
    }

    /// docs/routing.md shows every key of [routing] in its example.
    func testEveryRoutingKeyIsDocumented() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/routing.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        for key in HANetConfigReader.routingKeys {
            XCTAssertTrue(text.contains("\n\(key) = ") || text.contains("\n# \(key) = "), "docs/routing.md does not show '\(key) = …'")
        }
    }
}

/// BIRD's control-socket replies, parsed without BIRD.
final class BIRDReplyTests: XCTestCase {
    func feed(_ lines: [String]) throws -> [BIRDReply] {
        var p = BIRDReply.Parser()
        return try lines.compactMap { try p.feed($0) }
    }

    func testContinuationLinesAndTypedProtocols() throws {
        // `show protocols` as BIRD 2.0.12 sends it: the code once, then lines that start with a space.
        let replies = try feed([
            "0001 BIRD 2.0.12 ready.",
            "2002-Name       Proto      Table      State  Since         Info",
            "1002-device1    Device     ---        up     03:40:30.253  ",
            " hanet_carry_s2 Static     master4    down   03:40:30.253  ",
            " uplink     BGP        ---        start  2026-12-02 03:40:38  Idle          Error: BFD session down",
            "0000 ",
        ])
        XCTAssertEqual(replies.count, 2)
        XCTAssertEqual(replies[0].code, 1)
        XCTAssertEqual(replies[0].message, "BIRD 2.0.12 ready.")
        let list = BIRDProtocol.list(replies[1])
        XCTAssertEqual(list.map(\.name), ["device1", "hanet_carry_s2", "uplink"])
        XCTAssertEqual(list[1].state, .down)
        XCTAssertEqual(list[2].state, .start)
        XCTAssertEqual(list[2].since, "2026-12-02 03:40:38")
        XCTAssertEqual(list[2].bgpState, "Idle")
        XCTAssertEqual(list[2].info, "Idle Error: BFD session down")
        XCTAssertNil(list[0].bgpState)
        XCTAssertFalse(replies[1].isError)
    }

    func testErrorsAndMalformedLines() throws {
        let r = try feed(["0002-Reading configuration from /etc/bird/bird.conf",
                          "8002 /etc/bird/hanet.conf:3:31 syntax error, unexpected ';'"])
        XCTAssertEqual(r.first?.code, 8002)
        XCTAssertTrue(r.first?.isError ?? false)
        XCTAssertEqual(r.first?.message, "/etc/bird/hanet.conf:3:31 syntax error, unexpected ';'")
        for bad in ["", "hello", "12345 x", "000 short", " continuation first", "0000x"] {
            var p = BIRDReply.Parser()
            XCTAssertThrowsError(try p.feed(bad), bad)
        }
        XCTAssertEqual(BIRDProtocol.State("weird"), .other("weird"))
    }
}
