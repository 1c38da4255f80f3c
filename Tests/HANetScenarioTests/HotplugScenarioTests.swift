import Foundation
import XCTest
import HANetCore
import HANetDaemon

/// Hot-plug: a veth pair created between the two servers while
/// both daemons run becomes a private slave on both sides after an
/// authenticated HELLO; the PTA uses it; deleting it fails over at once.
final class HotplugScenarioTests: XCTestCase {
    var net: ScenarioNetwork!

    override func setUpWithError() throws {
        net = try ScenarioNetwork(pair: true)
    }

    override func tearDown() {
        if let net, (testRun?.totalFailureCount ?? 0) > 0 {
            print("s1:\n\(net.errors("daemon-s1").suffix(3000))\ns2:\n\(net.errors("daemon-s2").suffix(3000))\ns3:\n\(net.errors("daemon-s3").suffix(3000))")
        }
        net?.down()
    }

    static let hotplug: (String) -> String = {
        $0 + "\n[hotplug]\nenabled = true\npriority = 10\n[[hotplug.allow]]\nname = \"hp*\"\n"
    }

    func startPair(s2Edit: @escaping (String) -> String = HotplugScenarioTests.hotplug) throws {
        try net.startDaemon("s2", config: try net.config("s2", edit: s2Edit))
        try net.startDaemon("s1", config: try net.config("s1", edit: Self.hotplug))
        try waitUntil(5, "both active on eth0") {
            try net.status("s1").active == "eth0" && net.status("s2").active == "eth0"
        }
    }

    func addHotLink(_ name: String = "hp0") throws {
        try sh("ip link add \(name) netns \(net.ns("s1")) type veth peer name \(name) netns \(net.ns("s2"))")
    }

    func link(_ node: String, _ name: String) throws -> DaemonStatus.Link? {
        try net.status(node).links.first { $0.interface == name }
    }

    /// An allow rule with `type` claims the device for that link type (a USB
    /// host-to-host link stands in as a veth here): usbnet's attributes
    /// (private, its default speed) reach the slave.
    func testRuleTypeClaimsTheDeviceAsUsbnet() throws {
        let usb: (String) -> String = {
            $0 + "\n[hotplug]\nenabled = true\n[[hotplug.allow]]\nname = \"usb*\"\ntype = \"usbnet\"\n"
        }
        try net.startDaemon("s2", config: try net.config("s2", edit: usb))
        try net.startDaemon("s1", config: try net.config("s1", edit: usb))
        try addHotLink("usbx0")
        try waitUntil(2, "usbx0 GOOD on both sides") {
            try link("s1", "usbx0")?.health == "GOOD" && link("s2", "usbx0")?.health == "GOOD"
        }
        for node in ["s1", "s2"] {
            let l = try XCTUnwrap(link(node, "usbx0"))
            XCTAssertEqual(l.type, "usbnet")
            XCTAssertEqual(l.role, "private")
            XCTAssertEqual(try net.status(node).hotplug?.first { $0.action == "claimed" }?.type, "usbnet")
        }
    }

    func testHotLinkAttachesCarriesThePTAAndFailsOverWhenDeleted() throws {
        try startPair()
        try net.spawn("s1", "iperf3-server", "iperf3 -s -B 198.51.100.11 -1")

        let plugged = Date()
        try addHotLink()
        try waitUntil(1, "hp0 GOOD on both sides") {
            try link("s1", "hp0")?.health == "GOOD" && link("s2", "hp0")?.health == "GOOD"
        }
        let attachSeconds = Date().timeIntervalSince(plugged)
        for node in ["s1", "s2"] {
            let h = try XCTUnwrap(net.status(node).hotplug)
            XCTAssertEqual(h.filter { $0.interface == "hp0" }.map(\.action), ["attached", "claimed", "sibling-learned"], "\(node): \(h)")
            XCTAssertEqual(h.first { $0.action == "sibling-learned" }?.sibling, node == "s1" ? "s2" : "s1")
            XCTAssertEqual(h.first { $0.action == "claimed" }?.type, "ethernet")
            XCTAssertEqual(try link(node, "hp0")?.role, "private")
            XCTAssertTrue(net.errors("daemon-\(node)").contains("hotplug: hp0 leads to"), net.errors("daemon-\(node)"))
        }
        print("hot-attach: hp0 GOOD on both sides \(String(format: "%.0f", attachSeconds * 1000)) ms after ip link add")

        let iperf = try net.spawn("client", "iperf3", "iperf3 -c 198.51.100.11 -t 8 -J")
        try waitUntil(5, "the iperf3 stream") {
            try net.exec("s1", "ss -tnH state established '( sport = :5201 )'", check: false).out.contains(":5201")
        }
        try net.carrier("s1", "eth0", up: false)
        try net.carrier("s1", "eth1", up: false)
        try waitUntil(5, "s1 on hp0, served by s2 over hp0") {
            let st = try net.status("s1")
            return try st.active == "hp0" && st.pta.served_by?.state == "served" && net.status("s2").pta.serving.first?.link == "hp0"
        }
        XCTAssertTrue(try net.exec("s2", "ip route show 198.51.100.11").out.contains("dev hp0"))
        Thread.sleep(forTimeInterval: 1) // the stream runs over hp0 for a while before the cut

        try sh("ip -n \(net.ns("s1")) link del hp0")
        try waitUntil(1, "s1 on priv0") { try net.status("s1").active == "priv0" }
        try waitUntil(3, "s2 serving s1 over priv0") {
            try net.status("s2").pta.serving.first?.link == "priv0" && net.status("s1").pta.served_by?.state == "served"
        }
        XCTAssertTrue(try net.exec("s2", "ip route show 198.51.100.11").out.contains("dev priv0"))
        XCTAssertNil(try link("s1", "hp0"), "a hot link leaves the slaves when its device goes")
        try waitUntil(2, "hp0 detached on s2") { try link("s2", "hp0") == nil }
        XCTAssertTrue(try net.status("s1").hotplug?.contains { $0.interface == "hp0" && $0.action == "detached" } ?? false)

        iperf.waitUntilExit()
        XCTAssertEqual(iperf.terminationStatus, 0, net.output("iperf3").suffix(400) + net.errors("iperf3"))
        XCTAssertFalse(net.output("iperf3").contains("\"error\""), String(net.output("iperf3").suffix(400)))
        XCTAssertGreaterThan(try XCTUnwrap(CarrierFailoverTests.iperfReceivedBytes(net.output("iperf3"))), 10_000_000)
    }

    /// Several siblings: s1 knows s2 (over priv0) and s3 (no configured link),
    /// s3 knows s1 and s2, and no [hotplug] sibling is pinned. A veth between
    /// s1 and s3 is found to lead to s3 by the HELLO alone; when every other
    /// link of s1 is gone, s3 carries s1's traffic over it and s2 does not.
    /// A sibling no configured link leads to has no `address`: hot-plug derives it.
    func testSiblingIsDiscoveredAmongSeveral() throws {
        try sh("source scripts/lib/net.sh && net_server \(net.prefix) s3")
        let k13 = "\(net.work)/s1-s3.key", k23 = "\(net.work)/s2-s3.key"
        try sh("source scripts/lib/net.sh && net_key \(k13) && net_key \(k23)")
        func sibling(_ name: String, _ key: String, _ service: String) -> String {
            "\n[[sibling]]\nname = \"\(name)\"\nkey_file = \"\(key)\"\naddresses = [\"\(service)/32\"]\n"
        }
        let s3 = "\(net.work)/s3.toml"
        try sh("source scripts/lib/net.sh && net_config \(net.prefix) s3 \(s3)")
        try (String(contentsOfFile: s3, encoding: .utf8)
            + sibling("s1", k13, "198.51.100.11") + sibling("s2", k23, "198.51.100.12")
            + Self.hotplug("")).write(toFile: s3, atomically: true, encoding: .utf8)
        try net.startDaemon("s3", config: s3)
        try net.startDaemon("s2", config: try net.config("s2") { Self.hotplug($0 + sibling("s3", k23, "198.51.100.13")) })
        try net.startDaemon("s1", config: try net.config("s1") { Self.hotplug($0 + sibling("s3", k13, "198.51.100.13")) })
        try waitUntil(5, "all three active on eth0") {
            try ["s1", "s2", "s3"].allSatisfy { try net.status($0).active == "eth0" }
        }

        try sh("ip link add hp0 netns \(net.ns("s1")) type veth peer name hp0 netns \(net.ns("s3"))")
        try waitUntil(2, "hp0 GOOD on s1 and s3") {
            try link("s1", "hp0")?.health == "GOOD" && link("s3", "hp0")?.health == "GOOD"
        }
        for (node, other) in [("s1", "s3"), ("s3", "s1")] {
            let learned = try XCTUnwrap(net.status(node).hotplug?.first { $0.action == "sibling-learned" })
            XCTAssertEqual(learned.sibling, other, "\(node) learned who is at the other end")
            // The other candidate's /30 left the link once the HELLO was answered.
            let pair = HotplugPolicy.addresses(node: node, sibling: other, interface: "hp0")
            XCTAssertEqual(try net.exec(node, "ip -4 -o addr show dev hp0").out.components(separatedBy: "inet ").count - 1, 1)
            XCTAssertTrue(try net.exec(node, "ip -4 -o addr show dev hp0").out.contains(pair.mine.description))
        }
        XCTAssertNil(try link("s2", "hp0"))

        try net.spawn("s1", "iperf3-server", "iperf3 -s -B 198.51.100.11 -1")
        try waitUntil(5, "iperf3 listening on s1") {
            try net.exec("s1", "ss -tlnH '( sport = :5201 )'", check: false).out.contains(":5201")
        }
        let iperf = try net.spawn("client", "iperf3", "iperf3 -c 198.51.100.11 -t 6 -J")
        try waitUntil(5, "the iperf3 stream") {
            try net.exec("s1", "ss -tnH state established '( sport = :5201 )'", check: false).out.contains(":5201")
        }
        try net.exec("s1", "ip link set priv0 down")
        try net.carrier("s1", "eth0", up: false)
        try net.carrier("s1", "eth1", up: false)
        try waitUntil(5, "s1 on hp0, served by s3 over hp0") {
            let st = try net.status("s1")
            return try st.active == "hp0" && st.pta.served_by?.state == "served" && st.pta.served_by?.sibling == "s3"
                && net.status("s3").pta.serving.first?.link == "hp0"
        }
        XCTAssertTrue(try net.exec("s3", "ip route show 198.51.100.11").out.contains("dev hp0"))
        XCTAssertTrue(try net.status("s2").pta.serving.isEmpty, "s2 has no path to s1 and must not serve it")
        iperf.waitUntilExit()
        XCTAssertEqual(iperf.terminationStatus, 0, net.output("iperf3").suffix(400) + net.errors("iperf3"))
        XCTAssertFalse(net.output("iperf3").contains("\"error\""), String(net.output("iperf3").suffix(400)))
        XCTAssertGreaterThan(try XCTUnwrap(CarrierFailoverTests.iperfReceivedBytes(net.output("iperf3"))), 10_000_000)
    }

    /// A serial adapter plugged in at run time. No tty here can be plugged
    /// for real (no USB, no gadget or serial modules), so the test wires it:
    /// each daemon runs in its own mount namespace where /dev/ttyS0 is one
    /// end of a socat pty pair (a null-modem cable), and the kernel sends a
    /// real `add` uevent for ttyS0 when its sysfs `uevent` file is written,
    /// as `udevadm trigger` does. From the uevent on, everything is the
    /// product: the allow rule on subsystem and name, ppp-serial opening the
    /// device node behind a TUN, PPP, the HELLO over it, the PTA over it, and
    /// the detach on `remove`.
    func testSerialLinePluggedInBecomesAPPPSlaveAndCarriesThePTA() throws {
        let a = "\(net.work)/tty-s1", b = "\(net.work)/tty-s2"
        try net.spawn("s1", "socat", "socat -b 65536 pty,raw,echo=0,link=\(a) pty,raw,echo=0,link=\(b)")
        try waitUntil(5, "socat's ptys") { FileManager.default.fileExists(atPath: a) && FileManager.default.fileExists(atPath: b) }
        try net.exec("s1", "ip link del priv0")
        let serial: (String) -> String = { text in
            // No configured private link: the sibling is reached over the serial line only.
            let start = text.range(of: "[[link]]\ninterface = \"priv0\"")!, end = text.range(of: "[[sibling]]")!
            return text.replacingOccurrences(of: text[start.lowerBound..<end.lowerBound], with: "")
                + "\n[hotplug]\nenabled = true\n[[hotplug.allow]]\nsubsystem = \"tty\"\nname = \"ttyS0\"\ntype = \"ppp-serial\"\ndetectors = [\"ppp-echo\"]\n"
        }
        for (node, end) in [("s2", b), ("s1", a)] {
            try net.startDaemon(node, config: try net.config(node, edit: serial), before: "mount --bind $(readlink -f \(end)) /dev/ttyS0")
        }
        try waitUntil(5, "both active on eth0") {
            try net.status("s1").active == "eth0" && net.status("s2").active == "eth0"
        }

        try sh("echo add > /sys/class/tty/ttyS0/uevent")
        try waitUntil(5, "hpttyS0 GOOD on both sides") {
            try link("s1", "hpttyS0")?.health == "GOOD" && link("s2", "hpttyS0")?.health == "GOOD"
        }
        for node in ["s1", "s2"] {
            let h = try XCTUnwrap(net.status(node).hotplug).filter { $0.interface == "hpttyS0" }
            XCTAssertEqual(h.map(\.action), ["attached", "claimed", "sibling-learned"], "\(node): \(h)")
            XCTAssertEqual(h.first { $0.action == "claimed" }?.type, "ppp-serial")
            XCTAssertEqual(h.last?.sibling, node == "s1" ? "s2" : "s1")
            XCTAssertTrue(try net.exec(node, "ip -o link show hpttyS0").out.contains("POINTOPOINT"), "a TUN device")
        }

        try net.spawn("s1", "iperf3-server", "iperf3 -s -B 198.51.100.11 -1")
        try waitUntil(5, "iperf3 listening on s1") {
            try net.exec("s1", "ss -tlnH '( sport = :5201 )'", check: false).out.contains(":5201")
        }
        let iperf = try net.spawn("client", "iperf3", "iperf3 -c 198.51.100.11 -t 6 -b 4M -J")
        try waitUntil(5, "the iperf3 stream") {
            try net.exec("s1", "ss -tnH state established '( sport = :5201 )'", check: false).out.contains(":5201")
        }
        try net.carrier("s1", "eth0", up: false)
        try net.carrier("s1", "eth1", up: false)
        try waitUntil(5, "s1 on hpttyS0, served by s2 over it") {
            let st = try net.status("s1")
            return try st.active == "hpttyS0" && st.pta.served_by?.state == "served" && net.status("s2").pta.serving.first?.link == "hpttyS0"
        }
        iperf.waitUntilExit()
        XCTAssertEqual(iperf.terminationStatus, 0, net.output("iperf3").suffix(400) + net.errors("iperf3"))
        XCTAssertGreaterThan(try XCTUnwrap(CarrierFailoverTests.iperfReceivedBytes(net.output("iperf3"))), 1_000_000)

        try sh("echo remove > /sys/class/tty/ttyS0/uevent")
        try waitUntil(3, "hpttyS0 detached on both sides") {
            try link("s1", "hpttyS0") == nil && link("s2", "hpttyS0") == nil
        }
        for node in ["s1", "s2"] {
            XCTAssertEqual(try net.status(node).hotplug?.last?.action, "detached")
            XCTAssertNotEqual(try net.exec(node, "ip link show hpttyS0", check: false).status, 0, "the TUN is gone")
        }
        XCTAssertTrue(try net.status("s2").pta.serving.isEmpty, "the service over the pulled line ended")
    }

    /// An allow rule can configure the link's addresses instead of deriving them.
    func testRuleWithConfiguredAddress() throws {
        func rule(_ sibling: String, _ mine: String) -> (String) -> String {
            { $0 + "\n[hotplug]\nenabled = true\n[[hotplug.allow]]\nname = \"cf*\"\nsibling = \"\(sibling)\"\naddress = \"\(mine)\"\n" }
        }
        try net.startDaemon("s2", config: try net.config("s2", edit: rule("s1", "169.254.90.2/30")))
        try net.startDaemon("s1", config: try net.config("s1", edit: rule("s2", "169.254.90.1/30")))
        try addHotLink("cf0")
        try waitUntil(2, "cf0 GOOD on both sides") {
            try link("s1", "cf0")?.health == "GOOD" && link("s2", "cf0")?.health == "GOOD"
        }
        XCTAssertTrue(try net.exec("s1", "ip -4 -o addr show dev cf0").out.contains("169.254.90.1/30"))
        XCTAssertEqual(try net.status("s2").hotplug?.last?.sibling, "s1")
    }

    /// `[hotplug]` turned on by a reload watches devices from then on.
    func testReloadTurnsHotplugOn() throws {
        try net.startDaemon("s2", config: try net.config("s2", edit: Self.hotplug))
        let path = try net.config("s1")
        try net.startDaemon("s1", config: path)
        try Self.hotplug(try String(contentsOfFile: path, encoding: .utf8)).write(toFile: path, atomically: true, encoding: .utf8)
        let r = try XCTUnwrap(try ControlProtocol.send(.init(command: "reload"), to: net.socket("s1")).reload)
        XCTAssertTrue(r.ok, "\(r)")
        XCTAssertTrue(r.applied.contains { $0.hasPrefix("[hotplug]: 1 allow rule(s)") }, "\(r.applied)")
        try addHotLink()
        try waitUntil(2, "hp0 GOOD on both sides") {
            try link("s1", "hp0")?.health == "GOOD" && link("s2", "hp0")?.health == "GOOD"
        }
    }

    func testDeviceNoRuleMatchesIsLeftAlone() throws {
        try startPair()
        try addHotLink("zz0")
        try waitUntil(2, "s1 to say why zz0 is ignored") {
            net.errors("daemon-s1").contains("hotplug: ignoring zz0: no [[hotplug.allow]] rule matches (driver veth, subsystem net)")
        }
        XCTAssertNil(try link("s1", "zz0"))
        XCTAssertEqual(try net.status("s1").hotplug?.last?.action, "ignored")
        XCTAssertEqual(try net.exec("s1", "ip -4 -o addr show dev zz0").out, "", "nothing was configured on zz0")
    }

    func testHelloWithABadKeyAttachesNothing() throws {
        let otherKey = "\(net.work)/other.key"
        try sh("source scripts/lib/net.sh && net_key \(otherKey)")
        try startPair(s2Edit: { Self.hotplug($0.replacingOccurrences(of: self.net.keyFile, with: otherKey)) })
        try addHotLink()
        try waitUntil(3, "s2 to drop s1's HELLO and s1 to give up waiting") {
            net.errors("daemon-s2").contains("bad MAC") && net.errors("daemon-s1").contains("hotplug: hp0: 20 HELLOs to s2")
        }
        for node in ["s1", "s2"] {
            XCTAssertNil(try link(node, "hp0"), "\(node) must not make hp0 a slave")
            XCTAssertFalse(try net.status(node).hotplug?.contains { $0.action == "sibling-learned" } ?? true)
        }
    }
}
