import Foundation
import Glibc
import XCTest
import HANetCore
import HANetDaemon
import HANetSystem

/// Restart and upgrade during a PTA takeover: either daemon killed with
/// SIGKILL while s2 carries s1 and started again. The kernel keeps
/// forwarding meanwhile; the new responder adopts the service it finds in
/// the kernel, the new requester asks again over the adopted private slave,
/// and a later release restores the sysctls the first responder saved.
final class PTARestartTests: XCTestCase {
    var net: ScenarioNetwork!

    override func setUpWithError() throws {
        net = try ScenarioNetwork(pair: true)
    }

    override func tearDown() {
        net?.down()
    }

    /// Each daemon gets a state dir of its own (the saved sysctls live there).
    func config(_ node: String) throws -> String {
        try net.config(node) { $0.replacingOccurrences(of: "name = \"\(node)\"\n", with: "name = \"\(node)\"\nstate_dir = \"\(self.net.work)/state-\(node)\"\n") }
    }

    func kill9(_ p: Process) {
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    /// iperf3's per-interval bytes: an interval with nothing is an interruption.
    static func intervalBytes(_ json: String) -> [Double] {
        guard let o = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let intervals = o["intervals"] as? [[String: Any]] else { return [] }
        return intervals.compactMap { ($0["sum"] as? [String: Any])?["bytes"] as? Double }
    }

    func testSIGKILLDuringTakeoverResumesOnBothSidesWithKernelStateIntact() throws {
        let cfg1 = try config("s1"), cfg2 = try config("s2")
        var s2 = try net.startDaemon("s2", config: cfg2)
        var s1 = try net.startDaemon("s1", config: cfg1)
        let before = try net.ptaKernelState()
        try net.spawn("s1", "iperf3-server", "iperf3 -s -B 198.51.100.11 -1")
        try waitUntil(5, "iperf3 server") { try net.exec("s1", "ss -tlnH 'sport = :5201'", check: false).out.contains("5201") }

        try net.carrier("s1", "eth0", up: false)
        try net.carrier("s1", "eth1", up: false)
        try waitUntil(5, "s1 served by s2") { try net.status("s1").pta.served_by?.state == "served" }
        let serving = try net.ptaKernelState()
        XCTAssertNotEqual(serving, before)

        // The client's stream runs across both restarts.
        let iperf = try net.spawn("client", "iperf3", "iperf3 -c 198.51.100.11 -t 8 -i 0.5 -J")
        try waitUntil(5, "iperf3 connected") { try net.exec("s1", "ss -tnH state established 'sport = :5201'", check: false).out.contains("5201") }

        // The responder dies and comes back: it adopts the service, changes nothing.
        kill9(s2)
        XCTAssertEqual(try net.ptaKernelState(), serving, "the kernel keeps serving without the daemon")
        s2 = try net.startDaemon("s2", config: cfg2, name: "daemon-s2-again")
        let adopted = try net.status("s2")
        XCTAssertEqual(adopted.pta.serving.map(\.sibling), ["s1"], "adopted from the kernel")
        XCTAssertTrue(try control("s2").contains { $0.kind.rawValue == "pta-serving" && $0.reason?.contains("adopted") == true })
        // Renewals keep the adopted lease alive past a whole lease time (3 s).
        try waitUntil(6, "s2 still serving a whole lease time after its restart (renewals reached it)") {
            try self.stillServingAfterALease()
        }
        XCTAssertEqual(try net.ptaKernelState(), serving, "nothing duplicated or removed")

        // The requester dies and comes back: it adopts priv0 and asks again.
        kill9(s1)
        s1 = try net.startDaemon("s1", config: cfg1, name: "daemon-s1-again")
        try waitUntil(5, "s1 served again") {
            let st = try net.status("s1")
            return st.adopted && st.active == "priv0" && st.pta.served_by?.state == "served"
        }
        XCTAssertEqual(try net.status("s2").pta.serving.map(\.sibling), ["s1"])
        XCTAssertEqual(try net.ptaKernelState(), serving)

        iperf.waitUntilExit()
        let out = net.output("iperf3")
        XCTAssertEqual(iperf.terminationStatus, 0, String(out.suffix(400)) + net.errors("iperf3"))
        let bytes = Self.intervalBytes(out)
        XCTAssertGreaterThanOrEqual(bytes.count, 14, String(out.suffix(400)))
        XCTAssertTrue(bytes.allSatisfy { $0 > 0 }, "an interval without data: the stream was interrupted: \(bytes)")

        // Failback: s2 releases and restores what the *first* instance saved.
        try net.carrier("s1", "eth0", up: true)
        try waitUntil(6, "release") { try net.status("s2").pta.serving.isEmpty && net.status("s1").active == "eth0" }
        XCTAssertEqual(try net.ptaKernelState(), before, "the saved sysctls survived the restart")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(net.work)/state-s2/pta-s2.json"), "nothing left to remember")
        _ = s2
    }

    func control(_ node: String) throws -> [DaemonEvent] {
        let reply = try UnixSocketClient.request(path: net.socket(node), line: #"{"command":"events"}"#)
        return try JSONDecoder().decode(ControlProtocol.Answer.self, from: Data(reply.utf8)).events ?? []
    }

    /// The adopted lease outlived the lease time only if renewals reached it:
    /// s2 still serves 3.5 s after its start.
    func stillServingAfterALease() throws -> Bool {
        let st = try net.status("s2")
        guard let started = ISO8601DateFormatter.fractional.date(from: st.started) else { return false }
        return Date().timeIntervalSince(started) > 3.5 && st.pta.serving.map(\.sibling) == ["s1"]
    }
}

extension ISO8601DateFormatter {
    static let fractional: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()
}
