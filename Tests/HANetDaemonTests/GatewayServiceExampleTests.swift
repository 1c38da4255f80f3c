import Foundation
import HANetCore
@testable import HANetDaemon
import HANetPluginTestKit
import XCTest

/// The out-of-tree example plugin-examples/gateway-service, built with its
/// own Makefile and run by `hanet plugins try` on a veth between two
/// namespaces of the test's own: the slave side (hv0, 198.51.100.2) and the
/// LAN side (hv1) holding the service address 198.51.100.10 with a TCP
/// listener on port 8080 and the gateway address 198.51.100.1.
final class GatewayServiceExampleTests: XCTestCase {
    var slaveSide = ""
    var lanSide = ""
    var scratch: [String] = []
    var listener: Process?

    override func tearDownWithError() throws {
        if let l = listener, l.isRunning {
            l.terminate()
            l.waitUntilExit()
        }
        for ns in [slaveSide, lanSide] where !ns.isEmpty { _ = try? PluginTestKit.run("/usr/sbin/ip", ["netns", "del", ns]) }
        for d in scratch { try? FileManager.default.removeItem(atPath: d) }
    }

    func ip(_ args: [String]) throws {
        let r = try PluginTestKit.run("/usr/sbin/ip", args)
        guard r.status == 0 else { throw HANetError(.io, "ip \(args.joined(separator: " ")): \(r.stderr)") }
    }

    func makeNetwork() throws {
        let tag = String(format: "%06x", UInt32.random(in: 0..<0xffffff))
        slaveSide = "hnt-gs-\(tag)-s"
        try ip(["netns", "add", slaveSide])
        lanSide = "hnt-gs-\(tag)-l"
        try ip(["netns", "add", lanSide])
        try ip(["-n", slaveSide, "link", "add", "hv0", "type", "veth", "peer", "name", "hv1", "netns", lanSide])
        try ip(["-n", slaveSide, "addr", "add", "198.51.100.2/24", "dev", "hv0"])
        // The service address first: removing the gateway's (secondary) address then leaves it in place.
        try ip(["-n", lanSide, "addr", "add", "198.51.100.10/24", "dev", "hv1"])
        try ip(["-n", lanSide, "addr", "add", "198.51.100.1/24", "dev", "hv1"])
        try ip(["-n", slaveSide, "link", "set", "hv0", "up"])
        try ip(["-n", lanSide, "link", "set", "hv1", "up"])
    }

    /// A TCP listener on 198.51.100.10:8080 in the LAN namespace that accepts and closes every connection.
    func startListener() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", lanSide, "/usr/bin/python3", "-c", """
            import socket
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("198.51.100.10", 8080))
            s.listen(64)
            while True:
                c, _ = s.accept()
                c.close()
            """]
        try p.run()
        listener = p
    }

    /// Copies the example out of the tree, builds it with its Makefile and
    /// returns a plugins folder holding only its .so.
    func buildExample() throws -> String {
        let work = try PluginTestKit.makeTrustedDirectory("gs-src")
        scratch.append(work)
        let plugins = try PluginTestKit.makeTrustedDirectory("gs-plugins")
        scratch.append(plugins)
        try FileManager.default.copyItem(atPath: PluginTestKit.examplesDirectory + "/gateway-service", toPath: work + "/gateway-service")
        try? FileManager.default.removeItem(atPath: work + "/gateway-service/build")
        let make = try PluginTestKit.run("/usr/bin/make", ["HANET_CFLAGS=-I\(PluginTestKit.headerDirectory)"], directory: work + "/gateway-service")
        XCTAssertEqual(make.status, 0, make.stdout + make.stderr)
        let so = "hanet-plugin-gateway-service.so"
        try FileManager.default.copyItem(atPath: work + "/gateway-service/build/" + so, toPath: plugins + "/" + so)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: plugins + "/" + so)
        return plugins
    }

    func testGoodWhileGatewayOrServiceAnswersBadWhenBothStopAndBack() throws {
        try makeNetwork()
        let plugins = try buildExample()
        try startListener()
        let interval = 0.1, missedMax = 2
        let p = try PluginsTryTests.TryProcess(namespace: slaveSide, arguments: [
            "gateway-service", "--slave", "hv0", "--plugins-dir", plugins,
            "--set", "gateway=198.51.100.1", "--set", "service=198.51.100.10:8080",
            "--set", "interval_ms=100", "--set", "missed_max=\(missedMax)",
        ])
        defer { p.stop() }
        var figures: [String] = []

        // Both answer (the listener may take a moment to start: wait for the verdict that says so).
        guard let both = p.next(after: 0, { $0.event == .verdict && $0.health == .good && ($0.reason ?? "").contains("accepts connections")
            && ($0.reason ?? "").contains("gateway 198.51.100.1 answers ARP") }) else {
            return XCTFail("never GOOD with both answering: \(p.all) \(p.stderr)")
        }
        var index = both.index + 1

        /// Runs `flip`, waits for the first verdict after it that `match`es and checks it came within `bound` seconds.
        func expect(_ what: String, within bound: Double, _ flip: () throws -> Void, _ match: @escaping (TrialEvent) -> Bool) throws {
            let t0 = Date()
            try flip()
            guard let v = p.next(after: index, timeout: 5, { $0.event == .verdict && match($0) }) else {
                return XCTFail("\(what): no such verdict: \(p.all.suffix(5)) \(p.stderr)")
            }
            let took = v.at.timeIntervalSince(t0)
            XCTAssertLessThanOrEqual(took, bound, "\(what): \(v.event)")
            figures.append("\(what) \(Int(took * 1000)) ms")
            index = v.index + 1
        }
        // Detection bound of one half: missed_max silent intervals, plus one to notice, plus slack for a loaded machine.
        let bound = Double(missedMax + 1) * interval + 0.3

        try expect("gateway gone, still GOOD by the service", within: bound, {
            try ip(["-n", lanSide, "addr", "del", "198.51.100.1/24", "dev", "hv1"])
        }) { $0.health == .good && ($0.reason ?? "").hasPrefix("service 198.51.100.10:8080 accepts connections; no ARP reply from gateway 198.51.100.1") }

        try expect("service gone too, BAD", within: bound, {
            listener?.terminate()
            listener?.waitUntilExit()
        }) { $0.health == .bad }
        let bad = p.all.last { $0.event == .verdict && $0.health == .bad }
        XCTAssertTrue(bad?.reason?.contains("no ARP reply from gateway 198.51.100.1 for \(missedMax) intervals") ?? false, "\(String(describing: bad))")
        XCTAssertTrue(bad?.reason?.contains("service 198.51.100.10:8080: Connection refused") ?? false, "\(String(describing: bad))")

        try expect("gateway back, GOOD", within: interval + 0.3, {
            try ip(["-n", lanSide, "addr", "add", "198.51.100.1/24", "dev", "hv1"])
        }) { $0.health == .good && ($0.reason ?? "").hasPrefix("gateway 198.51.100.1 answers ARP; service 198.51.100.10:8080: Connection refused") }

        let slow = p.all.filter { $0.event == .slowPoll }.count
        print("gateway-service via plugins try: \(figures.joined(separator: ", ")); \(slow) slow polls")
    }
}
