import Foundation
import XCTest
import HANetCore
import HANetDaemon

/// Public failover: real namespaces, bridge, veth, nftables and the daemon
/// process, with real traffic (iperf3 and wrk) from a client on the LAN.
final class CarrierFailoverTests: XCTestCase {
    var net: ScenarioNetwork!

    override func setUpWithError() throws {
        net = try ScenarioNetwork()
    }

    override func tearDown() {
        net?.down()
    }

    /// eth0 preferred (priority), so that when it comes back the daemon fails back to it.
    func preferEth0(_ text: String) -> String {
        text.replacingOccurrences(of: "interface = \"eth0\"\ntype = \"ethernet\"", with: "interface = \"eth0\"\ntype = \"ethernet\"\npriority = 10")
    }

    func startServers() throws {
        try net.spawn("s1", "iperf3-server", "iperf3 -s -B 198.51.100.11 -1")
        try net.startNginx("s1", address: "198.51.100.11")
    }

    func testTrafficSurvivesCarrierLossAndFailsBack() throws {
        let cfg = try net.config("s1", edit: preferEth0)
        try net.startDaemon("s1", config: cfg)
        XCTAssertEqual(try net.status("s1").active, "eth0")
        try startServers()

        let iperf = try net.spawn("client", "iperf3", "iperf3 -c 198.51.100.11 -t 6 -J")
        let wrk = try net.spawn("client", "wrk", "wrk -t2 -c20 -d6s http://198.51.100.11:8080/f/512")
        // The fault comes while both streams are running.
        try waitUntil(5, "iperf3 and wrk to connect") {
            let ss = try net.exec("s1", "ss -tn state established", check: false).out
            return ss.contains("198.51.100.11:5201") && ss.contains("198.51.100.11:8080")
        }

        try net.carrier("s1", "eth0", up: false)
        try waitUntil(5, "failover to eth1") { try net.status("s1").active == "eth1" }
        let afterFault = try net.status("s1")
        XCTAssertEqual(afterFault.links.first { $0.interface == "eth0" }?.flags, [])
        XCTAssertTrue(afterFault.last_switch?.reason.contains("eth0") ?? false, "\(String(describing: afterFault.last_switch))")

        try net.carrier("s1", "eth0", up: true)
        try waitUntil(5, "failback to eth0") { try net.status("s1").active == "eth0" }

        iperf.waitUntilExit()
        wrk.waitUntilExit()
        let iperfJSON = net.output("iperf3")
        XCTAssertEqual(iperf.terminationStatus, 0, "iperf3 failed: \(iperfJSON.suffix(500)) \(net.errors("iperf3"))")
        XCTAssertFalse(iperfJSON.contains("\"error\""), "iperf3 reported an error: \(iperfJSON.suffix(500))")
        let received = try XCTUnwrap(Self.iperfReceivedBytes(iperfJSON))
        XCTAssertGreaterThan(received, 10_000_000, "the stream carried almost nothing")

        let wrkOut = net.output("wrk")
        XCTAssertEqual(wrk.terminationStatus, 0, wrkOut + net.errors("wrk"))
        XCTAssertFalse(wrkOut.contains("Socket errors"), "wrk saw connection errors or resets:\n\(wrkOut)")
        XCTAssertFalse(wrkOut.contains("Non-2xx"), "wrk saw failed requests:\n\(wrkOut)")
        XCTAssertTrue(wrkOut.contains("requests in"), wrkOut)

        let final = try net.status("s1")
        XCTAssertEqual(final.switches, 2, "expected one failover and one failback")
        XCTAssertEqual(final.links.first { $0.interface == "eth0" }?.flags, ["ACTIVE", "GOOD"])
    }

    func testKilledDaemonLeavesTrafficFlowingAndRestartAdopts() throws {
        let cfg = try net.config("s1")
        let first = try net.startDaemon("s1", config: cfg, name: "daemon-first")
        try startServers()
        let iperf = try net.spawn("client", "iperf3", "iperf3 -c 198.51.100.11 -t 5 -J")
        try waitUntil(5, "the stream") {
            try net.exec("s1", "ss -tn state established '( sport = :5201 )'", check: false).out.contains(":5201")
        }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        // Fail-static: forwarding is the kernel's; the stream goes on without a daemon.
        try net.exec("client", "ping -c 3 -i 0.2 -W 1 198.51.100.11")

        try net.startDaemon("s1", config: cfg, name: "daemon-second")
        let st = try net.status("s1")
        XCTAssertTrue(st.adopted, "the restarted daemon should adopt the running data plane")
        XCTAssertEqual(st.active, "eth0")
        XCTAssertEqual(st.switches, 0, "adoption must not switch")
        XCTAssertEqual(Set(st.links.first { $0.interface == "eth0" }?.flags ?? []), ["ACTIVE", "GOOD"])

        try net.carrier("s1", "eth0", up: false)
        try waitUntil(5, "failover after restart") { try net.status("s1").active == "eth1" }

        iperf.waitUntilExit()
        XCTAssertEqual(iperf.terminationStatus, 0, net.output("iperf3").suffix(500) + net.errors("iperf3"))
        XCTAssertFalse(net.output("iperf3").contains("\"error\""))
    }

    func testBadConfigFailsWithLocationAndChangesNothing() throws {
        let cases: [(String, (String) -> String, String)] = [
            ("unknown key", { $0.replacingOccurrences(of: "addresses =", with: "adresses =") }, "adresses"),
            ("missing interface", { $0.replacingOccurrences(of: "interface = \"eth1\"", with: "interface = \"eth9\"") }, "eth9"),
            ("bad address", { $0.replacingOccurrences(of: "198.51.100.11/24", with: "198.51.100.300/24") }, "198.51.100.300"),
            ("duplicate interface", { $0.replacingOccurrences(of: "interface = \"eth1\"", with: "interface = \"eth0\"") }, "eth0"),
        ]
        for (name, edit, mention) in cases {
            let cfg = try net.config("s1", edit: edit)
            let r = try net.exec("s1", "\(productsDirectory)/hanet run --config \(cfg) --socket \(net.socket("s1")) --plugins-dir \(productsDirectory)", check: false)
            XCTAssertNotEqual(r.status, 0, "\(name): the daemon started")
            XCTAssertTrue(r.out.contains("\(cfg):"), "\(name): no file:line in: \(r.out)")
            XCTAssertTrue(r.out.contains(mention), "\(name): the error does not name \(mention): \(r.out)")
            XCTAssertFalse(try net.exec("s1", "ip link show hanet0", check: false).status == 0, "\(name): master created")
            XCTAssertFalse(try net.exec("s1", "nft list tables", check: false).out.contains("hanet"), "\(name): table created")
        }
    }

    static func iperfReceivedBytes(_ json: String) -> Double? {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let end = obj["end"] as? [String: Any],
              let sum = end["sum_received"] as? [String: Any] else { return nil }
        return sum["bytes"] as? Double ?? (sum["bytes"] as? Int).map(Double.init)
    }
}
