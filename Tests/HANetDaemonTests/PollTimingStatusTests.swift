import Foundation
import HANetCore
@testable import HANetDaemon
import HANetPluginTestKit
import XCTest

/// A detector whose `poll` overruns HANET_POLL_BUDGET_MS shows it in the
/// daemon's status: `polls`, `slow_polls` and `longest_poll_ms` on each
/// polled detector, none of them on an event-driven one. `hanet run` in a
/// namespace of the test's own, one veth slave watched by carrier and by
/// `sleepy-20` (PluginsTryTests' detector whose poll sleeps 20 ms).
final class PollTimingStatusTests: XCTestCase {
    var namespace = ""
    var scratch: [String] = []
    var daemon: Process?

    override func tearDownWithError() throws {
        if let d = daemon, d.isRunning {
            d.terminate()
            d.waitUntilExit()
        }
        if !namespace.isEmpty { _ = try? PluginTestKit.run("/usr/sbin/ip", ["netns", "del", namespace]) }
        for d in scratch { try? FileManager.default.removeItem(atPath: d) }
    }

    func ip(_ args: [String]) throws {
        let r = try PluginTestKit.run("/usr/sbin/ip", args)
        guard r.status == 0 else { throw HANetError(.io, "ip \(args.joined(separator: " ")): \(r.stderr)") }
    }

    func testSlowPollsOfADetectorShowInStatus() throws {
        namespace = "hnt-pt-\(String(format: "%06x", UInt32.random(in: 0..<0xffffff)))"
        try ip(["netns", "add", namespace])
        try ip(["-n", namespace, "link", "add", "hv0", "type", "veth", "peer", "name", "hv1"])
        try ip(["-n", namespace, "link", "set", "hv1", "up"])

        // The built-in plugins and the slow one, in a folder the root rules accept.
        let plugins = try PluginTestKit.makeTrustedDirectory("pt-plugins")
        scratch.append(plugins)
        let products = try PluginTestKit.productsDirectory()
        for f in try FileManager.default.contentsOfDirectory(atPath: products) where f.hasPrefix("libhanet-plugin-") && f.hasSuffix(".so") {
            try FileManager.default.copyItem(atPath: products + "/" + f, toPath: plugins + "/" + f)
        }
        try PluginTestKit.compilePlugin(source: PluginsTryTests.slowPlugin(sleepMillis: 20), fileName: "sleepy.so", in: plugins)

        let work = try PluginTestKit.makeTrustedDirectory("pt-work")
        scratch.append(work)
        let socket = "/run/hanet/\(namespace).sock"
        let config = work + "/hanet.toml"
        try """
            [node]
            name = "pt"
            control_socket = "\(socket)"

            [master]
            name = "hanet0"
            addresses = ["198.51.100.11/24"]

            [[link]]
            interface = "hv0"
            type = "ethernet"
            role = "public"
            detectors = ["carrier", "sleepy-20"]
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let d = Process()
        d.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        d.arguments = ["netns", "exec", namespace, products + "/hanet", "run", "--config", config, "--socket", socket, "--plugins-dir", plugins]
        d.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        let errors = Pipe()
        d.standardError = errors
        try d.run()
        daemon = d

        func sleepy() -> DaemonStatus.Detector? {
            guard d.isRunning, let st = try? ControlProtocol.send(.init(command: "status"), to: socket).status else { return nil }
            return st.links.first { $0.interface == "hv0" }?.detectors.first { $0.name == "sleepy-20" }
        }
        let deadline = Date(timeIntervalSinceNow: 15)
        var seen = sleepy()
        while (seen?.slow_polls ?? 0) < 2 && d.isRunning && Date() < deadline {
            usleep(20_000) // between two status requests
            seen = sleepy()
        }
        guard let s = seen, d.isRunning else {
            d.terminate()
            return XCTFail("no slow polls in status: \(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        }
        XCTAssertGreaterThanOrEqual(s.slow_polls ?? 0, 2)
        XCTAssertEqual(s.interval_ms, 50)
        XCTAssertGreaterThanOrEqual(s.polls ?? 0, s.slow_polls ?? 0)
        XCTAssertGreaterThanOrEqual(s.longest_poll_ms ?? 0, 20)
        let st = try XCTUnwrap(ControlProtocol.send(.init(command: "status"), to: socket).status)
        let carrier = st.links.first { $0.interface == "hv0" }?.detectors.first { $0.name == "carrier" }
        XCTAssertNotNil(carrier)
        XCTAssertNil(carrier?.polls, "carrier is event-driven: never polled")
        XCTAssertNil(carrier?.slow_polls)

        // The same fields through the command line, as an operator reads them.
        let json = try PluginTestKit.run(products + "/hanet", ["status", "--json", "--socket", socket])
        XCTAssertTrue(json.stdout.contains("\"slow_polls\""), json.stdout + json.stderr)
        XCTAssertTrue(json.stdout.contains("\"longest_poll_ms\""), json.stdout)
        print("sleepy-20 in status: \(s.polls ?? 0) polls, \(s.slow_polls ?? 0) over the budget, longest \(s.longest_poll_ms ?? 0) ms")
    }
}
