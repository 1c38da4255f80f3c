import XCTest
@testable import HANetCore

final class HANetConfigParseTests: XCTestCase {
    static let full = """
    [node]
    name = "s1"
    plugins_dir = "/usr/lib/hanet/plugins"

    [master]
    name = "hanet0"
    addresses = ["198.51.100.11/24", "203.0.113.5/32"]
    failback = false
    garp_count = 5
    updelay_ms = 200

    [pta]
    port = 7400
    lease_ms = 1500

    [[link]]
    interface = "eth0"
    role = "public"
    speed = "10G"
    detectors = ["carrier", "arp-monitor"]
    detector_policy = "all"

    [link.detector.arp-monitor]
    interval_ms = 20
    targets = ["198.51.100.1", "198.51.100.2"]

    [[link]]
    interface = "ttyS0"
    type = "ppp-serial"
    role = "private"
    speed = "115200"
    priority = 3
    sibling = "s2"
    address = "169.254.77.1/30"
    device = "/dev/ttyS0"
    baud = 115200

    [[sibling]]
    name = "s2"
    address = "169.254.77.2"
    key_file = "/etc/hanet/s2.key"
    addresses = ["198.51.100.12/32"]

    [detector.arp-monitor]
    interval_ms = 50
    verbose = true
    ratio = 0.5
    """

    func testFullConfigParsesToTheExpectedModel() throws {
        let c = try HANetConfig.parse(Self.full, file: "/etc/hanet/hanet.toml")
        let f = "/etc/hanet/hanet.toml"
        let expected = HANetConfig(
            file: f,
            node: .init(name: "s1", controlSocket: "/run/hanet/hanet.sock", pluginsDir: "/usr/lib/hanet/plugins", stateDir: nil),
            master: .init(name: "hanet0", port: "hanet0p",
                          addresses: [IPv4Prefix("198.51.100.11/24")!, IPv4Prefix("203.0.113.5/32")!],
                          table: "hanet", failback: false, updelayMillis: 200, downdelayMillis: 0, garpCount: 5,
                          garpIntervalMillis: 100, naCount: 5, naIntervalMillis: 100, location: .init(file: f, line: 5)),
            links: [
                .init(interface: "eth0", type: nil, role: .public, speedBitsPerSecond: 10_000_000_000, priority: 0,
                      detectors: ["carrier", "arp-monitor"], detectorPolicy: "all", sibling: nil, address: nil, options: [:],
                      detectorOverrides: ["arp-monitor": ["interval_ms": .integer(20),
                                                          "targets": .array([.string("198.51.100.1"), .string("198.51.100.2")])]],
                      location: .init(file: f, line: 16)),
                .init(interface: "ttyS0", type: "ppp-serial", role: .private, speedBitsPerSecond: 115_200, priority: 3,
                      detectors: ["carrier"], detectorPolicy: "any", sibling: "s2", address: IPv4Prefix("169.254.77.1/30"),
                      options: ["device": .string("/dev/ttyS0"), "baud": .integer(115200)], detectorOverrides: [:],
                      location: .init(file: f, line: 27)),
            ],
            siblings: [.init(name: "s2", address: IPv4Address("169.254.77.2")!, keyFile: "/etc/hanet/s2.key",
                             addresses: [IPv4Prefix("198.51.100.12/32")!], location: .init(file: f, line: 38))],
            pta: .init(port: 7400, leaseMillis: 1500, retryInitialMillis: 5, retryMaxMillis: 200),
            detectors: ["arp-monitor": ["interval_ms": .integer(50), "verbose": .bool(true), "ratio": .float(0.5)]])
        XCTAssertEqual(c, expected)
        XCTAssertEqual(c.detectorConfig("arp-monitor", on: c.links[0])["interval_ms"], .integer(20))
        XCTAssertEqual(c.detectorConfig("arp-monitor", on: c.links[1])["interval_ms"], .integer(50))
    }

    func testMinimalConfigGetsDefaults() throws {
        let c = try HANetConfig.parse("""
        [node]
        name = "a-1"
        [master]
        addresses = ["192.0.2.10/24"]
        [[link]]
        interface = "eth0"
        """, file: "m.toml")
        XCTAssertEqual(c.master.name, "hanet0")
        XCTAssertEqual(c.master.port, "hanet0p")
        XCTAssertEqual(c.master.table, "hanet")
        XCTAssertTrue(c.master.failback)
        XCTAssertEqual(c.master.garpCount, 3)
        XCTAssertEqual(c.node.controlSocket, "/run/hanet/hanet.sock")
        XCTAssertEqual(c.pta, .init(port: 7377, leaseMillis: 3000, retryInitialMillis: 5, retryMaxMillis: 200))
        XCTAssertEqual(c.links[0].detectors, ["carrier"])
        XCTAssertEqual(c.links[0].detectorPolicy, "any")
        XCTAssertNil(c.links[0].speedBitsPerSecond)
        XCTAssertTrue(c.siblings.isEmpty)
    }

    // MARK: failures

    private let base = """
    [node]
    name = "s1"
    [master]
    addresses = ["198.51.100.11/24"]

    """


    func testUnknownKeyInMasterSuggestsAndListsKeys() {
        let p = problems("""
        [node]
        name = "s1"
        [master]
        adresses = ["198.51.100.11/24"]
        [[link]]
        interface = "eth0"
        """)
        XCTAssertEqual(p, [
            "c.toml:3: master.addresses: missing required key 'addresses' in [master] (a list such as [\"198.51.100.11/24\", \"2001:db8:1::11/64\"])",
            "c.toml:4: master.adresses: unknown key 'adresses' in [master] (did you mean 'addresses'?); expected one of: name, port, addresses, table, failback, updelay_ms, downdelay_ms, garp_count, garp_interval_ms, na_count, na_interval_ms",
        ])
    }

    func testUnknownKeyInLinkAndSiblingAndTopLevelTable() {
        let p = problems(base + """
        [[link]]
        interface = "eth0"
        mtu = 1500
        [[sibling]]
        name = "s2"
        address = "169.254.77.2"
        key_file = "/k"
        addresses = ["198.51.100.12/32"]
        colour = "red"
        [hook]
        x = 1
        """)
        XCTAssertEqual(p.count, 3)
        XCTAssertTrue(p[0].hasPrefix("c.toml:7: link[0].mtu: unknown key 'mtu' in [[link]]; expected one of: interface, type,"), p[0])
        XCTAssertTrue(p[1].hasPrefix("c.toml:13: sibling[0].colour: unknown key 'colour' in [[sibling]]"), p[1])
        XCTAssertEqual(p[2], "c.toml:14: hook: unknown table [hook] (did you mean 'hooks'?); expected one of: node, master, pta, link, sibling, detector, hooks, metrics, hotplug, routing")
    }

    func testOptionalTablesOfTheWrongShapeAreErrors() {
        for k in ["hooks", "metrics", "hotplug"] {
            let p = problems("\(k) = 5\n" + base)
            XCTAssertTrue(p.contains { $0.hasPrefix("c.toml:1: \(k): expected a single [\(k)] table, got") }, "\(k): \(p)")
        }
    }

    /// What the config accepts, the data plane can program: table names and
    /// interface names follow NftablesRuleset's rules.
    func testNamesTheDataPlaneWouldRefuseAreConfigErrors() {
        let p = problems(base.replacingOccurrences(of: "[master]\n", with: "[master]\ntable = \"ha-net\"\n")
                         + "[[link]]\ninterface = \"et\\\"h9\"\n")
        XCTAssertTrue(p.contains { $0.contains("master.table: expected an nftables table name") && $0.contains("\"ha-net\"") }, "\(p)")
        XCTAssertTrue(p.contains { $0.contains("link[0].interface: expected an interface name") }, "\(p)")
        XCTAssertThrowsError(try NftablesRuleset.checkInterface("et\"h9", role: "link"))
    }

    func testMissingInterface() {
        XCTAssertEqual(problems(base + "[[link]]\nrole = \"public\"\n"),
                       ["c.toml:5: link[0].interface: missing required key 'interface' in [[link]] (link[0])"])
    }

    func testMissingTables() {
        XCTAssertEqual(problems("[node]\nname = \"s1\"\n"), [
            "c.toml:1: master: missing required table [master] (with at least: addresses = [\"198.51.100.11/24\"])",
            "c.toml:1: link: missing required [[link]] table: at least one link (a public NIC) is needed",
        ])
    }

    func testBadAddress() {
        XCTAssertEqual(problems("""
        [node]
        name = "s1"
        [master]
        addresses = [
          "198.51.100.11/24",
          "198.51.100.300/24",
        ]
        [[link]]
        interface = "eth0"
        """), ["c.toml:6: master.addresses[1]: expected an IPv4 address with prefix length such as \"198.51.100.11/24\", got \"198.51.100.300/24\""])
    }

    func testDuplicateInterfaceNamesBothLines() {
        XCTAssertEqual(problems(base + "[[link]]\ninterface = \"eth0\"\n[[link]]\ninterface = \"eth0\"\n"),
                       ["c.toml:8: link[1].interface: interface \"eth0\" is already used by the [[link]] on line 6; each interface can be one link only"])
    }

    func testBadSpeeds() {
        for bad in ["\"fast\"", "\"10T\"", "0", "-5", "\"1.5\"", "\"M\"", "1.0", "\"1.0001K\""] {
            let p = problems(base + "[[link]]\ninterface = \"eth0\"\nspeed = \(bad)\n")
            XCTAssertEqual(p, ["c.toml:7: link[0].speed: expected a speed in bit/s: a positive integer or a string with a decimal K/M/G suffix such as \"115200\", \"12M\", \"1G\" or \"2.5G\", got \(bad == "1.0" ? "1.0" : bad)"], bad)
        }
    }

    func testGoodSpeeds() throws {
        let cases: [(String, UInt64)] = [("\"100M\"", 100_000_000), ("\"1G\"", 1_000_000_000), ("\"12M\"", 12_000_000),
                                         ("\"115200\"", 115_200), ("\"2.5G\"", 2_500_000_000), ("9600", 9600), ("\"64K\"", 64_000)]
        for (text, value) in cases {
            let c = try HANetConfig.parse(base + "[[link]]\ninterface = \"eth0\"\nspeed = \(text)\n", file: "c.toml")
            XCTAssertEqual(c.links[0].speedBitsPerSecond, value, text)
        }
    }

    func testUnknownSibling() {
        XCTAssertEqual(problems(base + """
        [[link]]
        interface = "eth1"
        sibling = "s3"
        [[sibling]]
        name = "s2"
        address = "169.254.77.2"
        key_file = "/etc/hanet/s2.key"
        addresses = ["198.51.100.12/32"]
        """), ["c.toml:7: link[0].sibling: unknown sibling \"s3\"; configured siblings: s2"])
    }

    func testSiblingOutsideLinkSubnetAndOwnName() {
        XCTAssertEqual(problems(base + """
        [[link]]
        interface = "eth1"
        sibling = "s2"
        address = "169.254.77.1/30"
        [[sibling]]
        name = "s2"
        address = "169.254.78.2"
        key_file = "/etc/hanet/s2.key"
        addresses = ["198.51.100.12/32"]
        [[sibling]]
        name = "s1"
        address = "169.254.78.3"
        key_file = "/k"
        addresses = ["198.51.100.13/32"]
        """), [
            "c.toml:8: link[0].address: sibling \"s2\" has address 169.254.78.2, which is outside this link's subnet 169.254.77.0/30",
            "c.toml:15: sibling[1].name: \"s1\" is this node's own name ([node] name); a sibling is another server",
        ])
    }

    func testASiblingNeedsAnAddressOnlyWhenAConfiguredLinkLeadsToIt() throws {
        let sibling = "[[sibling]]\nname = \"s2\"\nkey_file = \"/k\"\naddresses = [\"198.51.100.12/32\"]\n"
        let link = "[[link]]\ninterface = \"priv0\"\nrole = \"private\"\nsibling = \"s2\"\naddress = \"169.254.77.1/30\"\n"
        XCTAssertEqual(problems(base + link + sibling), [
            "c.toml:10: sibling[0].address: missing required key 'address' in [[sibling]] \"s2\": the [[link]] on line 5 leads to it, so say its end of that link (such as \"169.254.77.2\")",
        ])
        let eth0 = "[[link]]\ninterface = \"eth0\"\n"
        XCTAssertEqual(problems(base + eth0 + sibling), [
            "c.toml:7: sibling[0].address: sibling \"s2\" cannot be reached: no [[link]] names it and [hotplug] is off; add its end of a private link as 'address', or turn hot-plug on",
        ])
        // Reached through hot-plugged links only: their addresses are derived, none is configured.
        let c = try HANetConfig.parse(base + eth0 + sibling + "[hotplug]\nenabled = true\n[[hotplug.allow]]\ndriver = \"cdc_subset\"\n", file: "c.toml")
        XCTAssertNil(c.siblings.first?.address)
    }

    func testLinkCannotBeTheMasterOrItsPort() {
        XCTAssertEqual(problems(base + "[[link]]\ninterface = \"hanet0p\"\n"),
                       ["c.toml:6: link[0].interface: interface \"hanet0p\" is the master's port; a link must be a real interface"])
    }

    func testSyntaxErrorWithLine() {
        XCTAssertEqual(problems(base + "[[link]]\ninterface = \"eth0\n"),
                       ["c.toml:6: link.interface: unterminated string: a basic string ends on its line (use \"\"\" for several lines)"])
    }

    func testSeveralProblemsReportedTogetherInFileOrder() {
        let p = problems("""
        [node]
        name = "S1"
        [master]
        name = "this-name-is-too-long"
        addresses = ["198.51.100.11"]
        garp_count = 1000
        [pta]
        port = 0
        [[link]]
        interface = "eth0"
        role = "backup"
        detectors = ["carrier", "Bad_Name"]
        detector_policy = "most"
        [[link]]
        interface = "eth0"
        [[sibling]]
        name = "s2"
        address = "169.254.77.2/30"
        key_file = "/k"
        addresses = []
        """)
        XCTAssertEqual(p, [
            "c.toml:2: node.name: expected a node name of 1 to 32 characters from a-z, 0-9 and '-', got \"S1\"",
            "c.toml:4: master.name: expected an interface name of 1 to 15 bytes without '/', ':' or whitespace, got \"this-name-is-too-long\"",
            "c.toml:4: master.port: the default port name \"this-name-is-too-longp\" (master name + \"p\") is longer than 15 characters; set master.port or shorten master.name",
            "c.toml:5: master.addresses[0]: expected an IPv4 address with prefix length such as \"198.51.100.11/24\", got \"198.51.100.11\"",
            "c.toml:6: master.garp_count: expected an integer from 0 to 100, got 1000",
            "c.toml:8: pta.port: expected an integer from 1 to 65535, got 0",
            "c.toml:11: link[0].role: expected \"public\" or \"private\", got \"backup\"",
            "c.toml:12: link[0].detectors[1]: expected a detector name of a-z, 0-9 and '-', got \"Bad_Name\"",
            "c.toml:13: link[0].detector_policy: expected \"any\" or \"all\", got \"most\"",
            "c.toml:15: link[1].interface: interface \"eth0\" is already used by the [[link]] on line 10; each interface can be one link only",
            "c.toml:18: sibling[0].address: expected an IPv4 address without prefix length such as \"169.254.77.2\", got \"169.254.77.2/30\"",
            "c.toml:20: sibling[0].addresses: expected at least one IPv4 or IPv6 prefix, got an empty array",
        ])
    }

    func testWrongTypes() {
        XCTAssertEqual(problems(base + """
        [[link]]
        interface = 5
        priority = "high"
        [pta]
        lease_ms = 2.5
        [master.x]
        """), [
            "c.toml:6: link[0].interface: expected a string, got an integer 5",
            "c.toml:7: link[0].priority: expected an integer from -1000000 to 1000000, got \"high\"",
            "c.toml:9: pta.lease_ms: expected an integer from 3 to 86400000, got 2.5",
            "c.toml:10: master.x: unknown key 'x' in [master]; expected one of: name, port, addresses, table, failback, updelay_ms, downdelay_ms, garp_count, garp_interval_ms, na_count, na_interval_ms",
        ])
    }

    func testLinkAsSingleTableIsAnError() {
        XCTAssertEqual(problems(base + "[link]\ninterface = \"eth0\"\n"),
                       ["c.toml:5: link: expected [[link]] (an array of tables, one per link), got a table"])
    }
}
