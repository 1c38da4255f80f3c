import Foundation
import XCTest
import HANetCore
import HANetDaemon

/// The PTA takeover: two servers each running the daemon, a private veth
/// link between them, a client on the LAN. When every public link of s1 loses
/// carrier, s2 carries s1's traffic; nothing the client does fails.
final class PTATakeoverTests: XCTestCase {
    var net: ScenarioNetwork!

    override func setUpWithError() throws {
        net = try ScenarioNetwork(pair: true)
    }

    override func tearDown() {
        net?.down()
    }

    /// s2's kernel state that serving s1 changes: proxy entries, routes, forwarding, proxy ARP.

    func startPair(edit: @escaping (String) -> String = { $0 }) throws {
        try net.startDaemon("s2", config: try net.config("s2", edit: edit))
        try net.startDaemon("s1", config: try net.config("s1", edit: edit))
        XCTAssertEqual(try net.status("s1").active, "eth0")
        XCTAssertEqual(try net.status("s2").active, "eth0")
    }

    func testSiblingCarriesTrafficWhenAllPublicLinksFailThenReleases() throws {
        try startPair()
        let before = try net.ptaKernelState()
        try net.spawn("s1", "iperf3-server", "iperf3 -s -B 198.51.100.11 -1")
        try net.startNginx("s1", address: "198.51.100.11")

        let iperf = try net.spawn("client", "iperf3", "iperf3 -c 198.51.100.11 -t 8 -J")
        let keepalive = try net.spawn("client", "wrk-keepalive", "wrk -t1 -c4 -d8s http://198.51.100.11:8080/f/512")
        let load = try net.spawn("client", "wrk-400", "wrk -t2 -c400 -d8s --timeout 5s http://198.51.100.11:8080/f/4096")
        try waitUntil(5, "iperf3 and 400 HTTP connections") {
            let ss = try net.exec("s1", "ss -tnH state established '( sport = :8080 or sport = :5201 )'", check: false).out
            return ss.split(separator: "\n").count >= 400 && ss.contains(":5201")
        }

        try net.carrier("s1", "eth0", up: false)
        try net.carrier("s1", "eth1", up: false)
        try waitUntil(5, "s1 served by s2") {
            let st = try net.status("s1")
            return st.active == "priv0" && st.pta.served_by?.state == "served"
        }
        let s2 = try net.status("s2")
        XCTAssertEqual(s2.pta.serving.map(\.sibling), ["s1"])
        XCTAssertEqual(s2.pta.serving.first?.addresses, ["198.51.100.11"])
        XCTAssertEqual(s2.pta.serving.first?.link, "priv0")
        XCTAssertTrue(try net.exec("s2", "ip neigh show proxy dev hanet0").out.contains("198.51.100.11"))
        XCTAssertTrue(try net.exec("s2", "ip route show 198.51.100.11").out.contains("dev priv0"))
        XCTAssertEqual(try net.exec("s2", "sysctl -n net.ipv4.ip_forward").out.trimmingCharacters(in: .whitespacesAndNewlines), "1")
        // The client reaches s1 now only through s2.
        let curl = try net.exec("client", "curl -sf --max-time 3 http://198.51.100.11:8080/hello").out
        XCTAssertEqual(curl, "hanet\n")
        let neigh = try net.exec("client", "ip neigh show 198.51.100.11").out
        let s2mac = try XCTUnwrap(s2.master.mac)
        XCTAssertTrue(neigh.contains(s2mac), "the client should send s1's traffic to s2 (\(s2mac)): \(neigh)")

        try net.carrier("s1", "eth0", up: true)
        try waitUntil(5, "failback to eth0 and release") {
            try net.status("s1").active == "eth0" && net.status("s2").pta.serving.isEmpty
        }
        try waitUntil(5, "s1's requester idle") { try net.status("s1").pta.served_by == nil }

        for p in [iperf, keepalive, load] { p.waitUntilExit() }
        XCTAssertEqual(iperf.terminationStatus, 0, net.output("iperf3").suffix(400) + net.errors("iperf3"))
        XCTAssertFalse(net.output("iperf3").contains("\"error\""), String(net.output("iperf3").suffix(400)))
        XCTAssertGreaterThan(try XCTUnwrap(CarrierFailoverTests.iperfReceivedBytes(net.output("iperf3"))), 10_000_000)
        for name in ["wrk-keepalive", "wrk-400"] {
            let out = net.output(name)
            XCTAssertTrue(out.contains("requests in"), "\(name): \(out) \(net.errors(name))")
            XCTAssertFalse(out.contains("Socket errors"), "\(name) saw errors or resets:\n\(out)")
            XCTAssertFalse(out.contains("Non-2xx"), "\(name) saw failed requests:\n\(out)")
        }
        XCTAssertEqual(try net.ptaKernelState(), before, "s2 must leave nothing behind")
    }

    func testResponderCleansUpWhenTheLeaseExpires() throws {
        let shortLease: (String) -> String = { $0 + "\n[pta]\nlease_ms = 1000\n" }
        try net.startDaemon("s2", config: try net.config("s2", edit: shortLease))
        let s1 = try net.startDaemon("s1", config: try net.config("s1", edit: shortLease))
        let before = try net.ptaKernelState()
        try net.carrier("s1", "eth0", up: false)
        try net.carrier("s1", "eth1", up: false)
        try waitUntil(5, "s2 serving s1") { try net.status("s2").pta.serving.map(\.sibling) == ["s1"] }
        XCTAssertNotEqual(try net.ptaKernelState(), before)

        kill(s1.processIdentifier, SIGKILL)
        s1.waitUntilExit()
        try waitUntil(4, "the lease to expire on s2") { try net.status("s2").pta.serving.isEmpty }
        XCTAssertEqual(try net.ptaKernelState(), before, "s2 must undo everything when the lease runs out")
    }
}
