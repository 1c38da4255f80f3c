import Foundation
@testable import HANetCore
@testable import HANetDaemon
@testable import HANetSystem
import XCTest

/// Slaves that come and go while the daemon runs, on fakes: reload adding,
/// removing and changing [[link]]s, hot-plug attach (HELLO over the fake
/// private link) and detach, and the choice between siblings.
final class LinkSetDecisionTests: DecisionTestCase {


    // MARK: reload

    func single(extraLinks: String = "") throws -> DecisionNode {
        let n = cluster.add("s1", config: DecisionCluster.pairConfig("s1", dir: cluster.dir, extraLinks: extraLinks, privateLink: false),
                            privateLink: false)
        try cluster.start(["s1"])
        return n
    }

    /// Rewrites the node's config file and reloads it.
    func reload(_ n: DecisionNode, _ edit: (String) -> String) throws -> ReloadResult {
        let file = "\(cluster.dir)/\(n.name).toml"
        let text = try String(contentsOfFile: file, encoding: .utf8)
        try edit(text).write(toFile: file, atomically: true, encoding: .utf8)
        let r = n.daemon.reload()
        cluster.run()
        return r
    }

    static let eth2 = """

    [[link]]
    interface = "eth2"
    type = "ethernet"
    role = "public"
    detectors = ["carrier"]

    """

    func testReloadAddsALinkAsABackupWithItsDetectors() throws {
        let n = try single()
        n.kernel.add("eth2")
        let r = try reload(n) { $0 + Self.eth2 }
        XCTAssertTrue(r.ok, "\(r.problems)")
        XCTAssertEqual(n.switcher.slaves.map(\.name), ["eth0", "eth1", "eth2"])
        XCTAssertEqual(n.detectors.running(on: "eth2"), ["carrier"])
        XCTAssertEqual(n.active, "eth0", "an added link is a backup")
        XCTAssertTrue(n.announcer.prepared.contains("eth2"))
        n.report("eth2", .good)
        n.carrier("eth0", false)
        n.carrier("eth1", false)
        cluster.run()
        XCTAssertEqual(n.active, "eth2")
    }

    func testReloadRemovingTheActiveLinkHandsOverInTheSameStep() throws {
        let n = try single()
        let plansBefore = n.dataPlane.plans.count
        let r = try reload(n) {
            $0.replacingOccurrences(of: "[[link]]\ninterface = \"eth0\"\ntype = \"ethernet\"\nrole = \"public\"\ndetectors = [\"carrier\"]\n", with: "")
        }
        XCTAssertTrue(r.ok, "\(r.problems)")
        XCTAssertEqual(n.switcher.slaves.map(\.name), ["eth1"])
        XCTAssertEqual(n.active, "eth1")
        XCTAssertEqual(Array(n.planned.dropFirst(plansBefore)), ["eth1"], "one transaction: straight to eth1, never to nothing")
        XCTAssertEqual(n.detectors.running(on: "eth0"), [])
        XCTAssertFalse(n.announcer.prepared.contains("eth0"))
        XCTAssertTrue(r.applied.contains { $0.contains("link eth0 removed (it was active; eth1 took over)") }, "\(r.applied)")
    }

    func testAReloadWithAMissingInterfaceIsRefusedAndChangesNothing() throws {
        let n = try single()
        let r = try reload(n) { $0 + Self.eth2 }
        XCTAssertFalse(r.ok)
        XCTAssertTrue(r.problems.contains { $0.contains("eth2") && $0.contains("no such network interface") }, "\(r.problems)")
        XCTAssertEqual(n.switcher.slaves.map(\.name), ["eth0", "eth1"])
        XCTAssertEqual(n.daemon.config.links.count, 2, "the running configuration is kept")
        XCTAssertEqual(n.switcher.config.links.count, 2)
    }

    func testAReloadOfThePolicyKeepsHealthAndSwitchesNothing() throws {
        let n = try single()
        let plans = n.dataPlane.plans.count
        let r = try reload(n) { $0.replacingOccurrences(of: "detectors = [\"carrier\"]", with: "detectors = [\"carrier\"]\ndetector_policy = \"all\"") }
        XCTAssertTrue(r.ok, "\(r.problems)")
        XCTAssertEqual(n.dataPlane.plans.count, plans)
        XCTAssertEqual(n.switcher.slaves.map { $0.tracker.effective }, [.good, .good])
        XCTAssertEqual(n.switcher.slaves.first?.tracker.policy, .all)
    }

    func testAReloadThatChangesDelaysKeepsDampingOfRunningDetectors() throws {
        let n = try single(extraLinks: "[detector.carrier]\ndowndelay_ms = 50\n")
        let r = try reload(n) { $0.replacingOccurrences(of: "name = \"hanet0\"", with: "name = \"hanet0\"\nupdelay_ms = 10") }
        XCTAssertTrue(r.ok, "\(r.problems)")
        n.carrier("eth0", false)
        cluster.advance(millis: 49)
        XCTAssertEqual(n.active, "eth0", "the detector's downdelay still holds the verdict")
        cluster.advance(millis: 1)
        XCTAssertEqual(n.active, "eth1")
    }

    // MARK: hot-plug

    static func hotplug(_ mine: String) -> String {
        """

        [hotplug]
        enabled = true
        sibling = "\(mine == "s1" ? "s2" : "s1")"

        [[hotplug.allow]]
        name = "usb*"
        type = "usbnet"
        address = "198.18.7.\(mine == "s1" ? 1 : 2)/30"

        """
    }

    func startHotPair() throws {
        for name in ["s1", "s2"] {
            cluster.add(name, config: DecisionCluster.pairConfig(name, dir: cluster.dir) + Self.hotplug(name))
        }
        try cluster.start(["s1", "s2"])
        cluster.advance(millis: 250)
    }

    func plug(_ n: DecisionNode, _ name: String, action: String = "add") {
        if action == "add" { n.kernel.add(name) }
        let index = n.kernel.linksByName[name]?.index
        n.daemon.submit(.udev(UdevEvent(action: action, sysname: name, subsystem: "net", ifindex: index, driver: "cdc_ether",
                                        properties: [:], timestampNanos: cluster.clock.now)))
    }

    func testAHotLinkBecomesABackupOnceTheSiblingAnswersHello() throws {
        try startHotPair()
        let s1 = cluster["s1"], s2 = cluster["s2"]
        plug(s1, "usb0")
        cluster.advance(millis: 120)
        XCTAssertFalse(s1.switcher.slaves.contains { $0.name == "usb0" }, "no answer yet: s2 has not attached its end")
        XCTAssertEqual(s1.status.hotplug?.last?.action, "claimed")
        plug(s2, "usb0")
        cluster.advance(millis: 120)
        for n in [s1, s2] {
            let usb = try XCTUnwrap(n.switcher.slave(named: "usb0"), n.name)
            XCTAssertTrue(usb.hot)
            XCTAssertEqual(usb.config.sibling, n.name == "s1" ? "s2" : "s1")
            XCTAssertEqual(n.detectors.running(on: "usb0"), ["carrier"])
            XCTAssertEqual(n.kernel.addressesByLink["usb0"], [IPv4Prefix("198.18.7.\(n.name == "s1" ? 1 : 2)/30")!])
        }
        XCTAssertEqual(s1.active, "eth0", "a hot link is a backup")
    }

    func testUnpluggingTheActiveHotLinkFailsOverAtOnce() throws {
        try startHotPair()
        let s1 = cluster["s1"], s2 = cluster["s2"]
        plug(s1, "usb0")
        plug(s2, "usb0")
        cluster.advance(millis: 120)
        s1.report("usb0", .good)
        s1.carrier("priv0", false)
        s1.carrier("eth0", false)
        s1.carrier("eth1", false)
        cluster.run()
        XCTAssertEqual(s1.active, "usb0")
        XCTAssertEqual(s2.status.pta.serving.first?.link, "usb0", "s2 carries s1 over the hot link")
        let unplugged = cluster.clock.now
        s1.kernel.linksByName["usb0"] = nil
        plug(s1, "usb0", action: "remove")
        cluster.run()
        XCTAssertNotEqual(s1.active, "usb0")
        XCTAssertFalse(s1.switcher.slaves.contains { $0.name == "usb0" })
        XCTAssertEqual(s1.status.last_switch?.trigger_monotonic_ns, unplugged, "measured from the uevent")
        XCTAssertEqual(s1.detectors.running(on: "usb0"), [])
    }

    func testADeviceNoRuleMatchesIsLeftAlone() throws {
        try startHotPair()
        let s1 = cluster["s1"]
        plug(s1, "zz0")
        cluster.run()
        XCTAssertFalse(s1.switcher.slaves.contains { $0.name == "zz0" })
        XCTAssertEqual(s1.linkTypes.opened.filter { $0 == "zz0" }, [])
        XCTAssertEqual(s1.status.refused?[RefusalReason.hotplugRefused.rawValue], 1)
    }

    // MARK: the sibling choice

    /// s1 with a private link to each of s2 and s3.
    func startTriangle(preferS3: Bool) throws {
        let dir = cluster.dir
        var s1 = DecisionCluster.pairConfig("s1", dir: dir)
        s1 += """

        [[link]]
        interface = "priv1"
        type = "ethernet"
        role = "private"
        sibling = "s3"
        address = "169.254.78.1/30"
        detectors = ["carrier"]

        [[sibling]]
        name = "s3"
        address = "169.254.78.2"
        key_file = "\(dir)/pair.key"
        addresses = ["198.51.100.13/32"]
        preference = \(preferS3 ? 10 : 0)

        """
        let n1 = cluster.add("s1", config: s1)
        n1.kernel.add("priv1")
        cluster.add("s2")
        var s3 = DecisionCluster.pairConfig("s3", dir: dir, privateLink: false)
            .replacingOccurrences(of: "198.51.100.12/24", with: "198.51.100.13/24")
        s3 += """

        [[link]]
        interface = "priv0"
        type = "ethernet"
        role = "private"
        sibling = "s1"
        address = "169.254.78.2/30"
        detectors = ["carrier"]

        [[sibling]]
        name = "s1"
        address = "169.254.78.1"
        key_file = "\(dir)/pair.key"
        addresses = ["198.51.100.11/32"]

        """
        cluster.add("s3", config: s3)
        try cluster.start(["s1", "s2", "s3"])
        cluster.advance(millis: 250)
    }

    func testTheMorePreferredReadySiblingCarries() throws {
        try startTriangle(preferS3: true)
        let s1 = cluster["s1"]
        s1.carrier("eth0", false)
        s1.carrier("eth1", false)
        cluster.run()
        XCTAssertEqual(s1.active, "priv1")
        XCTAssertEqual(cluster["s3"].status.pta.serving.map(\.sibling), ["s1"])
        XCTAssertEqual(cluster["s2"].status.pta.serving.count, 0)
    }

    func testASiblingThatCannotCarryIsPassedOver() throws {
        try startTriangle(preferS3: true)
        let s1 = cluster["s1"], s3 = cluster["s3"]
        s3.carrier("eth0", false)
        s3.carrier("eth1", false)
        cluster.advance(millis: 250)
        s1.carrier("eth0", false)
        s1.carrier("eth1", false)
        cluster.run()
        XCTAssertEqual(s1.active, "priv0", "s3 is preferred but unable: s2 carries")
        XCTAssertEqual(cluster["s2"].status.pta.serving.map(\.sibling), ["s1"])
    }

    func testACarryingSiblingThatBecomesUnableHandsOverToTheOther() throws {
        try startTriangle(preferS3: false)
        let s1 = cluster["s1"], s2 = cluster["s2"]
        s1.carrier("eth0", false)
        s1.carrier("eth1", false)
        cluster.run()
        XCTAssertEqual(s1.active, "priv0", "equal preference: config order")
        s2.carrier("eth0", false)
        s2.carrier("eth1", false)
        cluster.advance(millis: 250)
        XCTAssertEqual(s1.active, "priv1", "s2 said it cannot carry any more")
        XCTAssertEqual(cluster["s3"].status.pta.serving.map(\.sibling), ["s1"])
        XCTAssertEqual(s2.status.pta.serving.count, 0)
    }
}
