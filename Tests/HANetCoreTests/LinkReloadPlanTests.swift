import XCTest
@testable import HANetCore

/// What a reload does to the [[link]]s (Daemon+Reload.swift applies it).
final class LinkReloadPlanTests: XCTestCase {
    /// A config with one [[link]] per entry: (interface, extra lines).
    func links(_ items: [(String, String)], header: String = "") throws -> [HANetConfig.Link] {
        var text = """
        [node]
        name = "s1"
        [master]
        addresses = ["198.51.100.11/24"]
        \(header)
        """
        for (name, extra) in items {
            text += "\n[[link]]\ninterface = \"\(name)\"\n\(extra)\n"
        }
        return try HANetConfig.parse(text, file: "r.toml").links
    }

    func testAddedRemovedKeptAndReopened() throws {
        let old = try links([("eth0", "type = \"ethernet\""), ("eth1", "type = \"ethernet\""),
                             ("ppp0", "type = \"ppp-serial\"\ndevice = \"/dev/ttyS0\"\nbaud = 115200\naddress = \"169.254.9.1/30\""),
                             ("priv0", "address = \"169.254.77.1/30\"")])
        let new = try links([("eth1", "type = \"ethernet\"\npriority = 50"), ("eth2", "type = \"ethernet\""),
                             ("ppp0", "type = \"ppp-serial\"\ndevice = \"/dev/ttyS0\"\nbaud = 57600\naddress = \"169.254.9.1/30\""),
                             ("priv0", "address = \"169.254.77.5/30\"\nslow_link_policy = \"drain\"")])
        let p = LinkReloadPlan(from: old, to: new)
        XCTAssertEqual(p.added.map(\.interface), ["eth2"])
        XCTAssertEqual(p.removed.map(\.interface), ["eth0"])
        XCTAssertEqual(p.kept.map(\.interface), ["eth1"])
        XCTAssertEqual(p.kept.first?.new.priority, 50, "a kept link carries its new settings")
        XCTAssertEqual(p.reopened.map(\.interface), ["ppp0", "priv0"])
        XCTAssertEqual(p.reopened.map(\.keys), [["baud"], ["address"]],
                       "slow_link_policy is the daemon's own: it changes in place, no reopen")
        XCTAssertEqual(p.order, ["eth1": 0, "eth2": 1, "ppp0": 2, "priv0": 3])
        XCTAssertTrue(p.changesLinkSet)
    }

    func testEveryKeyThePluginOpenedWithMeansReopen() throws {
        let base = try links([("eth0", "")])[0]
        var b = base
        b.type = "usbnet"
        XCTAssertEqual(LinkReloadPlan.reopenKeys(from: base, to: b), ["type"])
        b = base
        b.sibling = "s2"
        XCTAssertEqual(LinkReloadPlan.reopenKeys(from: base, to: b), ["sibling"])
        b = base
        b.options["udev_properties"] = .array([.string("HANET_LINK_TYPE=usbnet")])
        b.options["device"] = .string("/dev/ttyUSB0")
        XCTAssertEqual(LinkReloadPlan.reopenKeys(from: base, to: b), ["device", "udev_properties"])
        b = base
        b.priority = 9
        b.role = .private
        b.speedBitsPerSecond = 1000
        b.detectors = ["arp-monitor"]
        b.detectorPolicy = "all"
        b.options["slow_link_policy"] = .string("drain")
        XCTAssertEqual(LinkReloadPlan.reopenKeys(from: base, to: b), [], "settings applied in place")
    }

    func testLinesMovingIsNoChange() throws {
        let old = try links([("eth0", ""), ("eth1", "")])
        let new = try links([("eth0", ""), ("eth1", "")], header: "# a comment\n\n# that moves every line")
        XCTAssertNotEqual(old[1].location, new[1].location)
        let p = LinkReloadPlan(from: old, to: new)
        XCTAssertFalse(p.changesLinkSet)
        XCTAssertEqual(p.kept.map(\.keys), [[], []])
        XCTAssertNil(p.reordered)
    }

    func testReorderIsReportedOnlyWhenTheRelativeOrderChanges() throws {
        let old = try links([("eth0", ""), ("eth1", "")])
        let inserted = LinkReloadPlan(from: old, to: try links([("eth2", ""), ("eth0", ""), ("eth1", "")]))
        XCTAssertNil(inserted.reordered, "a link inserted in front moves positions, not the order")
        XCTAssertEqual(inserted.order["eth0"], 1)
        let swapped = LinkReloadPlan(from: old, to: try links([("eth1", ""), ("eth0", "")]))
        XCTAssertEqual(swapped.reordered?.old, ["eth0", "eth1"])
        XCTAssertEqual(swapped.reordered?.new, ["eth1", "eth0"])
        XCTAssertFalse(swapped.changesLinkSet)
        XCTAssertEqual(swapped.order, ["eth1": 0, "eth0": 1])
    }

    func testRemovingTheActiveSlaveNeedsAGoodSlaveThatStays() throws {
        let old = try links([("eth0", ""), ("eth1", "")])
        let onlyEth1 = LinkReloadPlan(from: old, to: try links([("eth1", "")]))
        XCTAssertEqual(onlyEth1.problems(active: "eth0", good: ["eth0", "eth1"], hot: []), [])
        XCTAssertEqual(onlyEth1.problems(active: "eth1", good: ["eth1"], hot: []), [], "removing a backup is always fine")

        let bad = onlyEth1.problems(active: "eth0", good: ["eth0"], hot: [])
        XCTAssertEqual(bad.count, 1)
        XCTAssertTrue(bad[0].contains("link eth0: it is the active slave and no other slave that stays (eth1) is GOOD"), bad[0])

        // A hot-plugged private link that is GOOD can take the traffic.
        XCTAssertEqual(onlyEth1.problems(active: "eth0", good: ["eth0", "usb0"], hot: ["usb0"]), [])

        // Replacing the only link in one step: the new one has no verdict yet.
        let one = try links([("eth0", "")])
        let replaced = LinkReloadPlan(from: one, to: try links([("eth1", "")]))
        let last = replaced.problems(active: "eth0", good: ["eth0"], hot: [])
        XCTAssertEqual(last.count, 1)
        XCTAssertTrue(last[0].contains("the last one this daemon runs"), last[0])
        XCTAssertTrue(last[0].contains("then remove eth0 in the next"), last[0])
        XCTAssertEqual(replaced.problems(active: nil, good: [], hot: []), [], "nothing is forwarded: nothing to protect")
    }

    func testReopeningTheActiveSlaveIsRefused() throws {
        let old = try links([("eth0", "address = \"10.0.0.1/30\""), ("eth1", "")])
        let p = LinkReloadPlan(from: old, to: try links([("eth0", "address = \"10.0.0.5/30\""), ("eth1", "")]))
        let problems = p.problems(active: "eth0", good: ["eth0", "eth1"], hot: [])
        XCTAssertEqual(problems.count, 1)
        XCTAssertTrue(problems[0].hasPrefix("r.toml:"), problems[0])
        XCTAssertTrue(problems[0].contains("link eth0: address changed"), problems[0])
        XCTAssertTrue(problems[0].contains("fail over first"), problems[0])
        XCTAssertEqual(p.problems(active: "eth1", good: ["eth0", "eth1"], hot: []), [], "a backup is reopened")
    }

    func testALinkHotPlugHoldsCannotBeAdded() throws {
        let old = try links([("eth0", "")])
        let p = LinkReloadPlan(from: old, to: try links([("eth0", ""), ("usb0", "")]))
        XCTAssertTrue(p.problems(active: "eth0", good: ["eth0"], hot: ["usb0"]).first?.contains("usb0 is attached by hot-plug") ?? false)
        XCTAssertEqual(p.problems(active: "eth0", good: ["eth0"], hot: [], pending: ["usb0"]).count, 1)
        XCTAssertEqual(p.problems(active: "eth0", good: ["eth0"], hot: []), [])
    }

    func testResponderFollowsTheLinksThatNameASibling() throws {
        // eth0 and priv0, which names sibling s2.
        let c = try HANetConfig.parse(HotplugPolicyTests.base, file: "r.toml")
        let r = PTAResponder(config: c, bootID: 1) { true }
        XCTAssertEqual(r.peers["s2"]?.link, "priv0")
        r.relink([c.links[0]])
        XCTAssertNil(r.peers["s2"]?.link, "no [[link]] names s2 any more")
        var priv1 = c.links[1]
        priv1.interface = "priv1"
        r.relink([c.links[0], priv1])
        XCTAssertEqual(r.peers["s2"]?.link, "priv1")
    }
}
