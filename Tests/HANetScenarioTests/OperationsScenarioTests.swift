import Foundation
import Glibc
import XCTest
import HANetCore
import HANetDaemon
import HANetSystem

/// Operations on a live daemon: reload, events, hooks and metrics;
/// the systemd watchdog under a supervising harness; a SIGKILL during a PTA
/// takeover on either side.
final class OperationsScenarioTests: XCTestCase {
    var net: ScenarioNetwork!

    override func tearDown() {
        net?.down()
    }

    func control(_ node: String, _ request: ControlProtocol.Request) throws -> ControlProtocol.Answer {
        let line = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
        let reply = try UnixSocketClient.request(path: net.socket(node), line: line, timeoutMillis: 30_000)
        return try JSONDecoder().decode(ControlProtocol.Answer.self, from: Data(reply.utf8))
    }

    func events(_ node: String) throws -> [DaemonEvent] {
        try control(node, .init(command: "events")).events ?? []
    }

    func scrape(_ node: String, port: Int) throws -> String {
        try net.exec(node, "curl -sf --max-time 3 http://127.0.0.1:\(port)/metrics").out
    }

    /// Every line of the Prometheus text format: a comment, or `name{labels} value`.
    static func parsePrometheus(_ text: String) throws -> [String: Double] {
        let sample = try NSRegularExpression(pattern: #"^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?) (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$"#)
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") { continue }
            let r = NSRange(line.startIndex..., in: line)
            guard let m = sample.firstMatch(in: line, range: r),
                  let k = Range(m.range(at: 1), in: line), let v = Range(m.range(at: 3), in: line) else {
                throw HANetError(.protocolError, "not Prometheus text format: \(line)")
            }
            out[String(line[k])] = Double(line[v]) ?? .nan
        }
        return out
    }

    func testReloadEventsHooksAndMetricsOnALiveDaemon() throws {
        net = try ScenarioNetwork()
        let hookOut = "\(net.work)/hook.log"
        let hook = "\(net.work)/hook.sh"
        try "#!/bin/sh\necho \"$HANET_EVENT $HANET_FROM $HANET_TO\" >> \(hookOut)\n".write(toFile: hook, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hook)
        let ops = "\n[hooks]\non_switch = \"\(hook)\"\n\n[metrics]\nlisten = \"127.0.0.1:9477\"\n"
        let cfg = try net.config("s1") { $0 + ops }
        let original = try String(contentsOfFile: cfg, encoding: .utf8)
        let daemon = try net.startDaemon("s1", config: cfg)
        XCTAssertEqual(try net.status("s1").active, "eth0")
        try waitUntil(5, "the ready event") { try events("s1").contains { $0.kind.rawValue == "ready" } }

        let m0 = try Self.parsePrometheus(try scrape("s1", port: 9477))
        XCTAssertEqual(m0["hanet_up"], 1)
        XCTAssertEqual(m0[#"hanet_slave_active{slave="eth0",role="public",type="ethernet"}"#], 1)
        XCTAssertNil(m0[#"hanet_switches_total{from="eth0",to="eth1"}"#])

        // A carrier failover moves the counters, runs the hook and is an event.
        try net.carrier("s1", "eth0", up: false)
        try waitUntil(5, "failover to eth1") { try net.status("s1").active == "eth1" }
        try waitUntil(5, "the on_switch hook") {
            ((try? String(contentsOfFile: hookOut, encoding: .utf8)) ?? "").contains("switch eth0 eth1")
        }
        let m1 = try Self.parsePrometheus(try scrape("s1", port: 9477))
        XCTAssertEqual(m1[#"hanet_switches_total{from="eth0",to="eth1"}"#], 1)
        XCTAssertEqual(m1[#"hanet_slave_active{slave="eth1",role="public",type="ethernet"}"#], 1)
        XCTAssertEqual(m1[#"hanet_slave_good{slave="eth0",role="public",type="ethernet"}"#], 0)
        XCTAssertGreaterThan(m1[#"hanet_slave_active_seconds_total{slave="eth0"}"#] ?? 0, 0)
        XCTAssertEqual(m1["hanet_switch_duration_seconds_count"], 1)
        let evs = try events("s1")
        XCTAssertTrue(evs.contains { $0.kind.rawValue == "switch" && $0.from == "eth0" && $0.to == "eth1" }, "\(evs.map(\.line))")
        XCTAssertTrue(evs.contains { $0.kind.rawValue == "verdict" && $0.slave == "eth0" && $0.health == "BAD" })
        try net.carrier("s1", "eth0", up: true)
        try waitUntil(5, "eth0 GOOD again") { try net.status("s1").links.first { $0.interface == "eth0" }?.health == "GOOD" }

        // A live change: eth1 preferred now (failback is on), applied by `hanet reload`.
        let preferEth1 = original.replacingOccurrences(of: "interface = \"eth1\"\ntype = \"ethernet\"", with: "interface = \"eth1\"\ntype = \"ethernet\"\npriority = 50")
        try preferEth1.write(toFile: cfg, atomically: true, encoding: .utf8)
        let r = try net.exec("s1", "\(productsDirectory)/hanet reload --socket \(net.socket("s1"))")
        XCTAssertTrue(r.out.contains("link eth1: priority 0 -> 50"), r.out)
        XCTAssertEqual(try net.status("s1").links.first { $0.interface == "eth1" }?.priority, 50)

        // SIGHUP with a broken file: refused, the old config keeps running.
        try (preferEth1 + "\n[master]\nbogus = 1\n").write(toFile: cfg, atomically: true, encoding: .utf8)
        kill(daemon.processIdentifier, SIGHUP)
        try waitUntil(5, "the refused reload") { try events("s1").contains { $0.kind.rawValue == "reload-refused" } }
        let refused = try XCTUnwrap(try events("s1").last { $0.kind.rawValue == "reload-refused" })
        XCTAssertTrue(refused.changes?.joined().contains("master") ?? false, "\(refused)")
        XCTAssertTrue(daemon.isRunning)
        XCTAssertEqual(try net.status("s1").links.first { $0.interface == "eth1" }?.priority, 50)

        // A change only a restart can apply is refused as a whole, nothing half-applied.
        try preferEth1.replacingOccurrences(of: "198.51.100.11/24", with: "198.51.100.13/24")
            .replacingOccurrences(of: "priority = 50", with: "priority = 7").write(toFile: cfg, atomically: true, encoding: .utf8)
        let a = try control("s1", .init(command: "reload"))
        XCTAssertFalse(a.ok)
        XCTAssertTrue(a.reload?.problems.contains { $0.contains("master.addresses changed") } ?? false, "\(String(describing: a.reload))")
        XCTAssertEqual(try net.status("s1").links.first { $0.interface == "eth1" }?.priority, 50, "nothing applied")
        XCTAssertEqual(try net.status("s1").master.addresses, ["198.51.100.11/24"])

        let m2 = try Self.parsePrometheus(try scrape("s1", port: 9477))
        XCTAssertEqual(m2[#"hanet_reloads_total{result="applied"}"#], 1)
        XCTAssertEqual(m2[#"hanet_reloads_total{result="refused"}"#], 2)
    }

    /// `hanet events --follow` streams events as they happen.
    func testEventsFollowStreamsLiveEvents() throws {
        net = try ScenarioNetwork()
        try net.startDaemon("s1", config: try net.config("s1"))
        let follow = try net.spawn("s1", "events", "\(productsDirectory)/hanet events --follow --json --socket \(net.socket("s1"))")
        try waitUntil(5, "the stored events") { net.output("events").contains("\"kind\":\"start\"") }
        try net.carrier("s1", "eth0", up: false)
        try waitUntil(5, "the switch streamed") { net.output("events").contains("\"kind\":\"switch\"") && net.output("events").contains("\"to\":\"eth1\"") }
        XCTAssertTrue(follow.isRunning)
        follow.terminate()
    }

    /// systemd's side played by the test: NOTIFY_SOCKET and WATCHDOG_USEC in
    /// the daemon's environment, a datagram socket to read READY=1 and the
    /// pings. A SIGSTOPped daemon stops pinging; the harness then does what
    /// systemd would (kill, start again) and the new daemon adopts the data plane.
    func testWatchdogPingsStopWhenTheDaemonHangsAndARestartAdopts() throws {
        net = try ScenarioNetwork()
        let path = "\(net.work)/notify.sock"
        let fd = try NotifyListener.bind(path)
        defer { close(fd) }
        let cfg = try net.config("s1")
        func start(_ name: String) throws -> Process {
            let p = try net.spawn("s1", name, "env NOTIFY_SOCKET=\(path) WATCHDOG_USEC=200000 \(productsDirectory)/hanet run --config \(cfg) --socket \(net.socket("s1")) --plugins-dir \(productsDirectory)")
            return p
        }
        func messages(for seconds: Double) -> [String] {
            var out: [String] = []
            let end = Date().addingTimeInterval(seconds)
            while Date() < end {
                if let m = NotifyListener.receive(fd, timeoutMillis: 50) { out.append(m) }
            }
            return out
        }
        var daemon = try start("daemon-1")
        var got = messages(for: 3)
        XCTAssertTrue(got.contains { $0.hasPrefix("READY=1") && $0.contains("forwarding on eth0") }, "\(got)")
        let pings = got.filter { $0 == "WATCHDOG=1" }.count
        XCTAssertGreaterThanOrEqual(pings, 10, "a ping every 100 ms: \(got)")

        kill(daemon.processIdentifier, SIGSTOP)
        _ = messages(for: 0.15)  // a ping already in flight
        got = messages(for: 1)
        XCTAssertEqual(got.filter { $0 == "WATCHDOG=1" }.count, 0, "a stopped daemon must not ping")
        // The supervisor's move: the watchdog expired, kill and start again.
        kill(daemon.processIdentifier, SIGKILL)
        daemon.waitUntilExit()
        try net.startNginx("s1", address: "198.51.100.11")
        daemon = try start("daemon-2")
        got = messages(for: 2)
        XCTAssertTrue(got.contains { $0.hasPrefix("READY=1") }, "\(got)")
        XCTAssertTrue(got.contains("WATCHDOG=1"))
        let st = try net.status("s1")
        XCTAssertTrue(st.adopted)
        XCTAssertEqual(st.active, "eth0")
        XCTAssertEqual(try net.exec("client", "curl -sf --max-time 3 http://198.51.100.11:8080/hello").out, "hanet\n")
    }
}
