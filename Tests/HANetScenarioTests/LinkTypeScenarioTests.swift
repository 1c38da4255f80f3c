import Foundation
import XCTest
import HANetCore
import HANetDaemon

/// Private links that are not NICs. With
/// every public link of s1 down, s2 carries s1's traffic over (a) a serial
/// line running HANet's user-space PPP, two ptys joined by socat, and (b) a
/// veth shaped to USB 1.1's 12 Mbit/s and claimed as `usbnet` through the
/// `udev_properties` override; then s1 fails back to its NIC.
final class LinkTypeScenarioTests: XCTestCase {
    var net: ScenarioNetwork!
    var socat: Process?

    override func setUpWithError() throws {
        net = try ScenarioNetwork(pair: true)
    }

    override func tearDown() {
        if let p = socat, p.isRunning { p.terminate(); p.waitUntilExit() }
        net?.down()
    }

    /// A serial line between s1 and s2: socat's two ptys, whose paths live
    /// in the file system both namespaces see.
    func serialLine() throws -> (s1: String, s2: String) {
        let a = "\(net.work)/tty-s1", b = "\(net.work)/tty-s2"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/socat")
        p.arguments = ["-b", "65536", "pty,raw,echo=0,link=\(a)", "pty,raw,echo=0,link=\(b)"]
        try p.run()
        socat = p
        try waitUntil(5, "socat's ptys") { FileManager.default.fileExists(atPath: a) && FileManager.default.fileExists(atPath: b) }
        return (a, b)
    }

    /// The standard config with the private veth link replaced by `link` (TOML lines).
    func config(_ node: String, privateLink: String) throws -> String {
        try net.config(node) { text in
            guard let start = text.range(of: "[[link]]\ninterface = \"priv0\""),
                  let end = text.range(of: "[[sibling]]") else { return text }
            return text.replacingOccurrences(of: text[start.lowerBound..<end.lowerBound], with: privateLink + "\n\n")
        }
    }

    /// A live iperf3 stream and a keep-alive HTTP client on s1 go through
    /// s2 when s1's NICs die, and back when one returns; nothing they do fails.
    func failOverAndBack(privateLink: String, drains: Bool, check: (DaemonStatus) throws -> Void) throws {
        try net.spawn("s1", "iperf3-server", "iperf3 -s -B 198.51.100.11 -1")
        try net.startNginx("s1", address: "198.51.100.11")
        let iperf = try net.spawn("client", "iperf3", "iperf3 -c 198.51.100.11 -t 8 -b 4M -J")
        let keepalive = try net.spawn("client", "wrk-keepalive", "wrk -t1 -c4 -d8s --timeout 5s http://198.51.100.11:8080/f/512")
        try waitUntil(5, "iperf3 and the keep-alive connections") {
            let ss = try net.exec("s1", "ss -tnH state established '( sport = :8080 or sport = :5201 )'", check: false).out
            return ss.split(separator: "\n").count >= 5 && ss.contains(":5201")
        }

        try net.carrier("s1", "eth0", up: false)
        try net.carrier("s1", "eth1", up: false)
        try waitUntil(5, "s1 served by s2 over \(privateLink)") {
            let st = try net.status("s1")
            return st.active == "ppp0" || st.active == "priv0" ? st.pta.served_by?.state == "served" : false
        }
        let st = try net.status("s1")
        try check(st)
        XCTAssertEqual(st.master.draining ?? false, drains)
        if drains {
            // New connections are refused while in-flight ones go on (paper §5.2).
            XCTAssertNotEqual(try net.exec("client", "curl -sf --max-time 1 -o /dev/null http://198.51.100.11:8080/hello", check: false).status, 0,
                              "a new connection must not be accepted while draining")
        } else {
            XCTAssertEqual(try net.exec("client", "curl -sf --max-time 3 http://198.51.100.11:8080/hello").out, "hanet\n")
        }
        XCTAssertEqual(try net.status("s2").pta.serving.first?.link, st.active)

        try net.carrier("s1", "eth0", up: true)
        try waitUntil(5, "failback to eth0 and release") {
            try net.status("s1").active == "eth0" && net.status("s2").pta.serving.isEmpty
        }
        let back = try net.status("s1")
        XCTAssertEqual(back.master.layer, "L2")
        XCTAssertFalse(back.master.noarp, "ARP again on an Ethernet slave")
        XCTAssertEqual(back.master.draining ?? false, false)
        XCTAssertEqual(try net.exec("client", "curl -sf --max-time 3 http://198.51.100.11:8080/hello").out, "hanet\n")

        for p in [iperf, keepalive] { p.waitUntilExit() }
        XCTAssertEqual(iperf.terminationStatus, 0, net.output("iperf3").suffix(400) + net.errors("iperf3"))
        XCTAssertFalse(net.output("iperf3").contains("\"error\""), String(net.output("iperf3").suffix(400)))
        XCTAssertGreaterThan(try XCTUnwrap(CarrierFailoverTests.iperfReceivedBytes(net.output("iperf3"))), 3_000_000)
        let out = net.output("wrk-keepalive")
        XCTAssertTrue(out.contains("requests in"), "\(out) \(net.errors("wrk-keepalive"))")
        XCTAssertFalse(out.contains("Socket errors"), "the keep-alive client saw errors or resets:\n\(out)")
        XCTAssertFalse(out.contains("Non-2xx"), "the keep-alive client saw failed requests:\n\(out)")
    }

    func testSiblingCarriesTrafficOverUserSpacePPPOnASerialLineThenFailsBack() throws {
        let tty = try serialLine()
        try net.exec("s1", "ip link del priv0")
        func ppp(_ node: String, _ device: String, _ mine: String) -> String {
            """
            [[link]]
            interface = "ppp0"
            type = "ppp-serial"
            device = "\(device)"
            baud = 115200
            role = "private"
            sibling = "\(node == "s1" ? "s2" : "s1")"
            address = "\(mine)/30"
            detectors = ["ppp-echo"]
            """
        }
        try net.startDaemon("s2", config: try config("s2", privateLink: ppp("s2", tty.s2, "169.254.77.2")))
        try net.startDaemon("s1", config: try config("s1", privateLink: ppp("s1", tty.s1, "169.254.77.1")))
        try waitUntil(10, "PPP up on both ends") {
            try net.status("s1").links.first { $0.interface == "ppp0" }?.health == "GOOD"
                && net.status("s2").links.first { $0.interface == "ppp0" }?.health == "GOOD"
        }
        let link = try XCTUnwrap(try net.status("s1").links.first { $0.interface == "ppp0" })
        XCTAssertEqual(link.type, "ppp-serial")
        XCTAssertEqual(link.layer, "L3")
        XCTAssertEqual(link.header_len, 4)
        XCTAssertEqual(link.addr_len, 0)
        XCTAssertEqual(link.mtu, 1500)
        XCTAssertEqual(link.speed_bps, 115_200)
        XCTAssertTrue(try net.exec("s1", "ip -o link show ppp0").out.contains("POINTOPOINT"), "a TUN device")
        XCTAssertTrue(try net.exec("s1", "ping -c 1 -W 2 169.254.77.2", check: false).status == 0, "IP over the PPP link")

        try failOverAndBack(privateLink: "ppp0", drains: false) { st in
            XCTAssertEqual(st.active, "ppp0")
            XCTAssertEqual(st.master.layer, "L3")
            XCTAssertTrue(st.master.noarp, "IFF_NOARP on the master with a point-to-point slave")
            XCTAssertEqual(st.master.mtu, 1500)
            let port = try net.exec("s1", "ip -o link show hanet0p").out
            XCTAssertTrue(port.contains("NOARP"), port)
            XCTAssertTrue(port.contains(try XCTUnwrap(st.master.mac)), "the port's MAC is the master's: \(port)")
        }
    }

    func testSiblingCarriesTrafficOverA12MbitUsbnetLinkThatDrainsThenFailsBack() throws {
        for node in ["s1", "s2"] {
            try net.exec(node, "tc qdisc add dev priv0 root tbf rate 12mbit burst 16kb latency 50ms")
        }
        let usbnet: (String) -> String = { text in
            text.replacingOccurrences(of: "interface = \"priv0\"\ntype = \"ethernet\"",
                                      with: "interface = \"priv0\"\nudev_properties = [\"HANET_LINK_TYPE=usbnet\"]\nslow_link_policy = \"drain\"")
        }
        try net.startDaemon("s2", config: try net.config("s2", edit: usbnet))
        try net.startDaemon("s1", config: try net.config("s1", edit: usbnet))
        let link = try XCTUnwrap(try net.status("s1").links.first { $0.interface == "priv0" })
        XCTAssertEqual(link.type, "usbnet", "claimed through the udev property override")
        XCTAssertEqual(link.layer, "L2")
        XCTAssertEqual(link.role, "private")
        XCTAssertEqual(link.speed_bps, 12_000_000)
        try failOverAndBack(privateLink: "priv0", drains: true) { st in
            XCTAssertEqual(st.active, "priv0")
            XCTAssertEqual(st.master.layer, "L2")
        }
    }
}
