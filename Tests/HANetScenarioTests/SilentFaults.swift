import Foundation
import XCTest
import HANetCore
import HANetDaemon

/// Silent faults (carrier up, the LAN bridge port of a slave blocked) and
/// the probing detectors that must find them: shared by the IPv4 detector
/// tests (DetectorScenarioTests) and the IPv6 ones (IPv6ScenarioTests).
extension ScenarioNetwork {
    /// `node`'s config with eth0 preferred (priority 10) so that failback is
    /// to a better class, and both links watched by carrier and `detector`,
    /// both of which must agree.
    func probingConfig(_ node: String = "s1", detector: String, section: String, interval: Int, missedMax: Int) throws -> String {
        try config(node) { text in
            text.replacingOccurrences(of: "interface = \"eth0\"\ntype = \"ethernet\"", with: "interface = \"eth0\"\ntype = \"ethernet\"\npriority = 10")
                .replacingOccurrences(of: "detectors = [\"carrier\"]", with: "detectors = [\"carrier\", \"\(detector)\"]\ndetector_policy = \"all\"")
                + "\n[detector.\(detector)]\ninterval_ms = \(interval)\nmissed_max = \(missedMax)\ninit_wait_ms = 300\n" + section
        }
    }

    /// Sets the LAN bridge port `port` to STP state `state` (0: a silent fault, 3: forwarding).
    func portState(_ port: String, _ state: Int) throws {
        try sh("source scripts/lib/net.sh && net_port_state \(prefix) \(port) \(state)")
    }

    func waitBothGood(_ detector: String, node: String = "s1") throws {
        try waitUntil(5, "eth0 and eth1 GOOD by \(detector)") {
            let st = try status(node)
            return st.active == "eth0" && ["eth0", "eth1"].allSatisfy { st.detector($0, detector)?.health == "GOOD" }
        }
    }

    /// Blocks s1's eth0 port, expects failover within the detection bound
    /// (plus slack for a loaded test machine), `service` (s1's address, IPv4
    /// or IPv6) answering ping and HTTP through eth1, `failedOver` run
    /// then, and failback.
    func silentFaultFailsOverAndBack(_ detector: String, badReason: String, service: String, interval: Int, missedMax: Int,
                                     failedOver: () throws -> Void = {}) throws {
        let http = "curl -gsf -o /dev/null --max-time 3 http://\(service.contains(":") ? "[\(service)]" : service):8080/f/100"
        try exec("client", "ping -c 2 -i 0.2 -W 1 \(service)")
        let blocked = Date()
        try portState("s1e0", 0)
        try waitUntil(5, "failover to eth1") { try status("s1").active == "eth1" }
        let took = Date().timeIntervalSince(blocked)
        // The bound is (missed_max + 1) x interval; the benchmark measures it exactly, this only catches gross regressions.
        XCTAssertLessThan(took, Double((missedMax + 1) * interval) / 1000 + 0.5, "detection took \(took) s")
        let st = try status("s1")
        XCTAssertEqual(st.link("eth0")?.health, "BAD")
        XCTAssertEqual(st.detector("eth0", detector)?.health, "BAD")
        XCTAssertTrue(st.detector("eth0", detector)?.reason.contains(badReason) ?? false, "\(String(describing: st.detector("eth0", detector)))")
        XCTAssertEqual(st.detector("eth0", "carrier")?.health, "GOOD", "the carrier stays up: this is a silent fault")
        try exec("client", "ping -c 3 -i 0.2 -W 1 \(service)")
        try exec("client", http)
        try failedOver()

        try portState("s1e0", 3)
        try waitUntil(5, "failback to eth0") { try status("s1").active == "eth0" }
        try exec("client", "ping -c 3 -i 0.2 -W 1 \(service)")
        try exec("client", http)
        XCTAssertEqual(try status("s1").switches, 2, "one failover and one failback, no flapping")
    }
}

extension DaemonStatus {
    func link(_ name: String) -> Link? { links.first { $0.interface == name } }

    func detector(_ link: String, _ name: String) -> Detector? {
        self.link(link)?.detectors.first { $0.name == name }
    }
}
