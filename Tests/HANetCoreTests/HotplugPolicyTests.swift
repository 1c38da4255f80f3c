import XCTest
@testable import HANetCore

final class HotplugPolicyTests: XCTestCase {
    static let base = """
    [node]
    name = "s1"
    [master]
    addresses = ["198.51.100.11/24"]
    [[link]]
    interface = "eth0"
    role = "public"
    [[link]]
    interface = "priv0"
    role = "private"
    sibling = "s2"
    address = "169.254.77.1/30"
    [[sibling]]
    name = "s2"
    address = "169.254.77.2"
    key_file = "/etc/hanet/s2.key"
    addresses = ["198.51.100.12/32"]

    """

    func testHotplugTableIsReadWithDefaultsAndRules() throws {
        let c = try HANetConfig.parse(Self.base + """
        [hotplug]
        enabled = true
        priority = 10
        [[hotplug.allow]]
        name = "usb*"
        [[hotplug.allow]]
        driver = "cdc_subset"
        property = "ID_BUS=usb"
        type = "usbnet"
        """, file: "h.toml")
        XCTAssertTrue(c.hotplug.enabled)
        XCTAssertNil(c.hotplug.sibling, "no pinned sibling: the HELLO finds out")
        XCTAssertEqual(c.hotplugSiblings, ["s2"])
        XCTAssertEqual(c.hotplug.priority, 10)
        XCTAssertEqual(c.hotplug.detectors, ["carrier"])
        XCTAssertEqual(c.hotplug.allow.count, 2)
        XCTAssertEqual(c.hotplug.allow[0].name, "usb*")
        XCTAssertEqual(c.hotplug.allow[0].location.line, 22)
        XCTAssertEqual(c.hotplug.allow[1].propertyKey, "ID_BUS")
        XCTAssertEqual(c.hotplug.allow[1].propertyValue, "usb")
        XCTAssertEqual(c.hotplug.allow[1].type, "usbnet")
        XCTAssertFalse(try HANetConfig.parse(Self.base, file: "h.toml").hotplug.enabled)
    }

    func testBadHotplugConfigNamesFileLineAndField() {
        let cases: [(String, String)] = [
            ("[hotplug]\nenabled = true\nsibling = \"s9\"\n[[hotplug.allow]]\nname = \"x*\"\n", "h.toml:20: hotplug.sibling: unknown sibling \"s9\""),
            ("[hotplug]\nenabled = true\n", "h.toml:18: hotplug.allow: hot-plug is enabled but no [[hotplug.allow]] rule"),
            ("[hotplug]\nenabled = true\n[[hotplug.allow]]\nproperty = \"NOEQUALS\"\n", "h.toml:21: hotplug.allow[0].property: expected \"KEY=VALUE\""),
            ("[hotplug]\nenabled = true\n[[hotplug.allow]]\ndriverr = \"veth\"\n", "h.toml:21: hotplug.allow[0].driverr: unknown key 'driverr'"),
            ("[hotplug]\nenabled = yes\n", "h.toml:19: hotplug.enabled"),
            ("[hotplug]\nenabled = true\n[[hotplug.allow]]\nname = \"u*\"\naddress = \"169.254.90.1/24\"\n", "h.toml:22: hotplug.allow[0].address: expected this end of a point-to-point subnet"),
            ("[hotplug]\nenabled = true\n[[hotplug.allow]]\nname = \"u*\"\nsibling = \"s7\"\n", "h.toml:22: hotplug.allow[0].sibling: unknown sibling \"s7\""),
        ]
        for (extra, expected) in cases {
            XCTAssertThrowsError(try HANetConfig.parse(Self.base + extra, file: "h.toml"), extra) { e in
                XCTAssertTrue("\(e)".contains(expected), "expected \(expected) in:\n\(e)")
            }
        }
    }

    /// Each end derives the pair's /30 from both names alone, so the two ends
    /// of s1–s3 agree whatever other siblings each of them has, and every
    /// candidate of one link is a distinct address.
    func testCandidatesAgreeAtBothEndsWhateverOtherSiblingsEachHas() {
        let s1 = HotplugPolicy.candidates(node: "s1", siblings: ["s3", "s2"], interface: "hp0")
        let s3 = HotplugPolicy.candidates(node: "s3", siblings: ["s2", "s1", "s4"], interface: "hp0")
        XCTAssertEqual(s1.map(\.sibling), ["s2", "s3"])
        let fromS1 = try! XCTUnwrap(s1.first { $0.sibling == "s3" })
        let fromS3 = try! XCTUnwrap(s3.first { $0.sibling == "s1" })
        XCTAssertEqual(fromS1.mine.address, fromS3.peer)
        XCTAssertEqual(fromS3.mine.address, fromS1.peer)
        XCTAssertEqual(fromS1.mine.network, fromS3.mine.network)
        XCTAssertEqual(Set(s3.map(\.mine)).count, 3)
        XCTAssertNotEqual(s1[0].mine, s1[1].mine)
    }

    /// A rule may pin its sibling and configure this end's address; the far
    /// end is the other host of the /30 or /31.
    func testRuleWithConfiguredAddressAndSibling() throws {
        let c = try HANetConfig.parse(Self.base + """
        [hotplug]
        enabled = true
        [[hotplug.allow]]
        name = "usb0"
        sibling = "s2"
        address = "169.254.90.2/30"
        """, file: "h.toml")
        let rule = c.hotplug.allow[0]
        XCTAssertEqual(rule.sibling, "s2")
        let cands = HotplugPolicy.candidates(node: "s1", rule: rule, hotplug: c.hotplug, siblings: ["s2", "s3"], interface: "usb0")
        XCTAssertEqual(cands, [HotplugCandidate(sibling: "s2", mine: IPv4Prefix("169.254.90.2/30")!, peer: IPv4Address("169.254.90.1")!)])
        XCTAssertEqual(HotplugPolicy.peer(of: IPv4Prefix("198.18.0.7/31")!), IPv4Address("198.18.0.6"))
        XCTAssertNil(HotplugPolicy.peer(of: IPv4Prefix("169.254.90.3/30")!), "the broadcast address of a /30 is no host")
        // A pinned rule without an address derives one /30, for its sibling only.
        var pinned = rule
        pinned.address = nil
        XCTAssertEqual(HotplugPolicy.candidates(node: "s1", rule: pinned, hotplug: c.hotplug, siblings: ["s2", "s3"], interface: "usb0").map(\.sibling), ["s2"])
        XCTAssertEqual(HotplugPolicy.candidates(node: "s1", rule: HANetConfig.Hotplug.Rule(name: "x", location: rule.location), hotplug: c.hotplug,
                                                siblings: ["s2", "s3"], interface: "usb0").map(\.sibling), ["s2", "s3"])
    }

    func testRulesMatchEveryGivenField() {
        let loc = HANetConfig.Location(file: "f", line: 1)
        let rules = [HANetConfig.Hotplug.Rule(driver: "cdc_subset", subsystem: "net", location: loc),
                     HANetConfig.Hotplug.Rule(name: "hp*", propertyKey: "HANET", propertyValue: "1", location: loc)]
        let usb = HotplugDevice(name: "usb0", subsystem: "net", driver: "cdc_subset")
        XCTAssertEqual(HotplugPolicy.match(usb, rules: rules), rules[0])
        XCTAssertNil(HotplugPolicy.match(HotplugDevice(name: "usb0", subsystem: "net", driver: "veth"), rules: rules))
        XCTAssertNil(HotplugPolicy.match(HotplugDevice(name: "hp0", subsystem: "net", driver: "veth"), rules: rules),
                     "the property is missing")
        XCTAssertEqual(HotplugPolicy.match(HotplugDevice(name: "hp0", subsystem: "net", driver: "veth", properties: ["HANET": "1"]),
                                           rules: rules), rules[1])
    }

    func testGlob() {
        XCTAssertTrue(HotplugPolicy.glob("hp*", "hp0"))
        XCTAssertTrue(HotplugPolicy.glob("hp*", "hp"))
        XCTAssertTrue(HotplugPolicy.glob("*0", "usb0"))
        XCTAssertTrue(HotplugPolicy.glob("u*b*", "usb0"))
        XCTAssertFalse(HotplugPolicy.glob("hp*", "zz0"))
        XCTAssertFalse(HotplugPolicy.glob("hp0", "hp01"))
        XCTAssertTrue(HotplugPolicy.glob("*", ""))
    }

    func testAddressesAgreeOnBothEndsAndAvoidConfiguredLinks() {
        let a = HotplugPolicy.addresses(node: "s1", sibling: "s2", interface: "hp0")
        let b = HotplugPolicy.addresses(node: "s2", sibling: "s1", interface: "hp0")
        XCTAssertEqual(a.peer, b.mine.address)
        XCTAssertEqual(b.peer, a.mine.address)
        XCTAssertEqual(a.mine.length, 30)
        XCTAssertEqual(a.mine.address.bytes[3] % 4, 1, "s1 sorts first and takes .1")
        XCTAssertEqual(b.mine.address.bytes[3] % 4, 2)
        XCTAssertEqual(a.mine.address.bytes[0...1], [169, 254])
        XCTAssertNotEqual(a.mine.address.bytes[2], 0)
        XCTAssertNotEqual(a.mine.address.bytes[2], 255)
        XCTAssertNotEqual(a.mine.network, HotplugPolicy.addresses(node: "s1", sibling: "s2", interface: "hp1").mine.network)
        // A configured link on the derived /30 pushes the hot link elsewhere, the same way on both ends.
        let taken = IPv4Prefix(address: a.mine.network, length: 30)
        let c = HotplugPolicy.addresses(node: "s1", sibling: "s2", interface: "hp0", avoid: [taken])
        let d = HotplugPolicy.addresses(node: "s2", sibling: "s1", interface: "hp0", avoid: [taken])
        XCTAssertFalse(taken.contains(c.mine.address))
        XCTAssertEqual(c.peer, d.mine.address)
        XCTAssertEqual(c.mine.address.bytes[0...1], [169, 254])
    }
}

/// Addresses travel as strings in status JSON and state files.
final class TextCodableTests: XCTestCase {
    func testAddressesRoundTripAsStringsAndBadOnesNameWhatWasExpected() throws {
        struct Box: Codable, Equatable { var a: IPv4Address; var p: IPv4Prefix; var m: MACAddress }
        let box = Box(a: IPv4Address("198.51.100.11")!, p: IPv4Prefix("169.254.90.1/30")!, m: MACAddress("02:00:00:00:00:01")!)
        let json = String(decoding: try JSONEncoder().encode(box), as: UTF8.self)
        XCTAssertTrue(json.contains("\"198.51.100.11\"") && json.contains("\"169.254.90.1\\/30\"") && json.contains("\"02:00:00:00:00:01\""), json)
        XCTAssertEqual(try JSONDecoder().decode(Box.self, from: Data(json.utf8)), box)
        let bad = json.replacingOccurrences(of: "02:00:00:00:00:01", with: "02:00:zz")
        XCTAssertThrowsError(try JSONDecoder().decode(Box.self, from: Data(bad.utf8))) { e in
            XCTAssertTrue("\(e)".contains("not a MAC address: 02:00:zz"), "\(e)")
        }
    }
}
