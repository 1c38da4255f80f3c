import Foundation
import XCTest
import HANetCore
import HANetDaemon

/// Silent faults (carrier up, the LAN bridge port of a
/// slave blocked) found by the probing detectors, with the daemon process,
/// real namespaces and traffic from the client. The client namespace also
/// plays the probe targets (198.51.100.1 and .2 as extra addresses on c0).
final class DetectorScenarioTests: XCTestCase {
    var net: ScenarioNetwork!
    let interval = 50
    let missedMax = 2

    override func setUpWithError() throws {
        net = try ScenarioNetwork()
        try net.exec("client", "ip addr add 198.51.100.1/24 dev c0")
        try net.exec("client", "ip addr add 198.51.100.2/24 dev c0")
    }

    override func tearDown() {
        net?.down()
    }

    func config(_ detector: String, section: String) throws -> String {
        try net.probingConfig(detector: detector, section: section, interval: interval, missedMax: missedMax)
    }

    func silentFaultFailsOverAndBack(_ detector: String, badReason: String) throws {
        try net.silentFaultFailsOverAndBack(detector, badReason: badReason, service: "198.51.100.11", interval: interval, missedMax: missedMax)
    }

    func startHTTP() throws {
        try net.startNginx("s1", address: "198.51.100.11")
    }

    func testARPMonitorSurvivesADeadTargetAndFailsOverOnASilentFault() throws {
        let cfg = try config("arp-monitor", section: "targets = [\"198.51.100.1\", \"198.51.100.2\"]\nall_targets = \"any\"\n")
        try net.startDaemon("s1", config: cfg)
        try net.waitBothGood("arp-monitor")
        try startHTTP()

        // One target dies while the links are fine: with `any`, nothing moves.
        try net.exec("client", "ip addr del 198.51.100.2/24 dev c0")
        // Absence of a change can only be shown by watching for a while: 10 detection periods.
        let end = Date().addingTimeInterval(Double(10 * (missedMax + 1) * interval) / 1000)
        while Date() < end {
            let st = try net.status("s1")
            XCTAssertEqual(st.switches, 0)
            XCTAssertEqual(st.detector("eth0", "arp-monitor")?.health, "GOOD")
            XCTAssertEqual(st.detector("eth1", "arp-monitor")?.health, "GOOD")
            usleep(50_000)
        }
        try silentFaultFailsOverAndBack("arp-monitor", badReason: "no ARP reply from 198.51.100.1")
        // The service address was never announced from a backup: the client's neighbour entry is the active MAC.
        let neigh = try net.exec("client", "ip neigh show 198.51.100.11").out
        let eth0MAC = try net.exec("s1", "cat /sys/class/net/eth0/address").out.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(neigh.contains(eth0MAC), "client neighbour for the service address: \(neigh); eth0 is \(eth0MAC)")
    }

    func testPingFileFailsOverOnASilentFaultAndRereadsItsFile() throws {
        let hosts = net.work + "/ping-hosts"
        try "# probe targets\n\n198.51.100.1   # the client\n".write(toFile: hosts, atomically: true, encoding: .utf8)
        let cfg = try config("ping-file", section: "file = \"\(hosts)\"\nmin_ok = 1\n")
        try net.startDaemon("s1", config: cfg)
        try net.waitBothGood("ping-file")
        try startHTTP()
        try silentFaultFailsOverAndBack("ping-file", badReason: "0 of 1 hosts answered")

        // The file changes to a host that does not exist: both slaves go BAD by ping-file.
        try "198.51.100.9\n".write(toFile: hosts, atomically: true, encoding: .utf8)
        try waitUntil(5, "both slaves BAD after the file changed") {
            let st = try net.status("s1")
            return ["eth0", "eth1"].allSatisfy { st.detector($0, "ping-file")?.health == "BAD" }
        }
    }

    func testSilentlyDeadBackupIsMarkedBadWhileTheActiveWorks() throws {
        let cfg = try config("arp-monitor", section: "targets = [\"198.51.100.1\"]\n")
        try net.startDaemon("s1", config: cfg)
        try net.waitBothGood("arp-monitor")
        try net.portState("s1e1", 0)
        try waitUntil(3, "eth1 BAD") { try net.status("s1").link("eth1")?.health == "BAD" }
        var st = try net.status("s1")
        XCTAssertEqual(st.active, "eth0")
        XCTAssertEqual(st.link("eth1")?.flags, [])
        XCTAssertEqual(st.detector("eth1", "carrier")?.health, "GOOD")
        // When the active then fails too, the dead backup is not chosen.
        try net.carrier("s1", "eth0", up: false)
        try waitUntil(3, "eth0 BAD") { try net.status("s1").link("eth0")?.health == "BAD" }
        st = try net.status("s1")
        XCTAssertNotEqual(st.active, "eth1", "switched onto a backup known to be dead")
        XCTAssertEqual(st.switches, 0)
        // The backup's path comes back: now it takes over.
        try net.portState("s1e1", 3)
        try waitUntil(5, "failover to the revived eth1") { try net.status("s1").active == "eth1" }
        try net.exec("client", "ping -c 2 -i 0.2 -W 1 198.51.100.11")
    }
}
