import Foundation
import XCTest
import HANetCore
import HANetDaemon
import HANetSystem

/// The routed mode with the real daemon and real BIRD (docs/routing.md), on
/// scripts/lib/routed.sh's "daemon" network: a router running BIRD with BGP
/// + BFD to every server, s1 on LAN A and s2 on LAN B, a client behind the
/// router on 203.0.113.0/24, a private veth pv between s1 and s2. Each
/// server runs the daemon (its master holds the LAN address, BGP's session
/// source, and the service address 198.51.100.1N/32) and BIRD with a
/// bird.conf that includes the daemon's fragment; each carries the other.
/// When s1's public link fails, the router's route to s1 moves to s2 and the
/// traffic goes on over the private link; when it heals, it comes back, and
/// s2 keeps nothing.
final class RoutedScenarioTests: XCTestCase {
    var net: ScenarioNetwork!
    var dir: String { net.work + "/routed" }
    /// BFD at 30 ms x 5, as RoutedTakeoverTests: 10 ms x 3 drops sessions
    /// when 2 loaded cores stall BIRD for more than 30 ms; BIRD at nice -10
    /// (routed.sh's ROUTED_BIRD_NICE).
    static let bfd = "ROUTED_BFD_MS=30 ROUTED_BFD_MULT=5 ROUTED_BIRD_NICE=-10"
    /// Each fault's traffic window (s): long enough for the fault, the move,
    /// the heal and BGP's reconnection (1-2.5 s, docs/routing.md).
    static let window = 6

    override func tearDown() {
        net?.down()
    }

    /// Calls a function of scripts/lib/routed.sh; its output, trimmed.
    @discardableResult
    func routed(_ call: String) throws -> String {
        try sh("source scripts/lib/routed.sh && \(call)").out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func service(_ n: Int) -> String { "198.51.100.1\(n)" }

    /// sN's address on its LAN (its BGP session's source: the router's next hop for its routes).
    func lanAddress(_ n: Int) throws -> String { try routed("routed_addr \(n)") }

    /// The router's next hop for sN's service address, "none" without a route.
    func nextHop(_ n: Int) throws -> String { try routed("routed_next_hop \(net.prefix) \(service(n))") }

    func routerSees(_ text: String, for n: Int) throws -> Bool {
        try BIRDControl(path: dir + "/r/bird.ctl").command("show route \(service(n))/32 all").lines.contains { $0.text.contains(text) }
    }

    /// The `routing` object of `hanet status --json` on `node`.
    func routing(_ node: String) throws -> [String: Any] {
        let out = try sh("\(productsDirectory)/hanet status --json --socket \(net.socket(node))").out
        let st = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        return try XCTUnwrap(st?["routing"] as? [String: Any], "no routing object in the status of \(node): \(out.prefix(2000))")
    }

    func ownAnnounced(_ node: String) throws -> Bool? { try routing(node)["own_announced"] as? Bool }

    func events(_ node: String) throws -> [DaemonEvent] {
        try ControlProtocol.send(.init(command: "events"), to: net.socket(node)).events ?? []
    }

    /// The routing lines of `node`'s metrics (routed_config serves them on 127.0.0.1:9477).
    func routingMetrics(_ node: String) throws -> [String] {
        try net.exec(node, "curl -sf --max-time 3 http://127.0.0.1:9477/metrics").out
            .split(separator: "\n").map(String.init).filter { $0.hasPrefix("hanet_routing_") }
    }

    /// BIRD's state of `proto` in `node`'s status ("up", "down", ...).
    func protocolState(_ node: String, _ proto: String) throws -> String? {
        let protocols = try routing(node)["protocols"] as? [[String: Any]]
        return protocols?.first { $0["name"] as? String == proto }?["state"] as? String
    }

    /// The network of `servers` servers (2 or 4), every daemon and BIRD up,
    /// each server's route at the router via itself and its sibling's less
    /// preferred path beside it. `birdLate`'s BIRD starts only after its
    /// daemon: the daemon runs without it and loads its fragment once it answers.
    func up(_ servers: Int, birdLate: Int? = nil) throws {
        net = try ScenarioNetwork(prefix: "rd", pair: true, client: "c") { p, work in
            "source scripts/lib/routed.sh && \(Self.bfd) routed_up \(p) \(work)/routed \(servers) bfd daemon"
        }
        for n in 1...servers { try routed("routed_config \(net.prefix) \(dir) \(n) \(net.keyFile)") }
        if let n = birdLate { try routed("routed_bird_stop \(net.prefix) \(n) \(dir)") }
        for n in 1...servers {
            try net.startDaemon("s\(n)", config: "\(dir)/s\(n)/hanet.toml")
            try routed("routed_gateway \(net.prefix) \(n)")
        }
        if let n = birdLate {
            try waitUntil(5, "s\(n)'s daemon to find BIRD not answering") {
                (try self.routing("s\(n)")["state"] as? String)?.hasPrefix("not answering") == true
            }
            try routed("routed_bird \(net.prefix) s\(n) \(dir)/s\(n)")
            try waitUntil(5, "s\(n)'s daemon to find BIRD answering") { try self.routing("s\(n)")["state"] as? String == "ok" }
        }
        for n in 1...servers {
            let me = try lanAddress(n), sibling = n % 2 == 1 ? n + 1 : n - 1, asn = 65000 + sibling
            try waitUntil(20, "the router's route to s\(n) via s\(n)") { try self.nextHop(n) == me }
            try waitUntil(20, "s\(sibling)'s less preferred path to s\(n) at the router") {
                try self.routerSees("\(asn) \(asn) \(asn) \(asn)", for: n)
            }
        }
    }

    /// s1 carried by s2: s1's master on the private link and its own
    /// addresses withdrawn; s2 serving it the routed way (forwarding and
    /// proxy ARP on pv for s1's way out, a /32 over pv, no proxy entry on its
    /// LAN side).
    func assertCarried() throws {
        do {
            try waitUntil(5, "s1 carried by s2") {
                let st = try self.net.status("s1"), serving = try self.net.status("s2").pta.serving.map(\.sibling)
                return st.active == "pv" && st.pta.served_by?.state == "served" && serving == ["s1"]
            }
        } catch {
            XCTFail("s1's log:\n\(net.errors("daemon-s1").suffix(3000))\ns2's log:\n\(net.errors("daemon-s2").suffix(3000))")
            throw error
        }
        try waitUntil(3, "s1's own addresses withdrawn") { try self.ownAnnounced("s1") == false }
        // BIRD's protocols as the daemon polls them (every second): hanet_own disabled.
        try waitUntil(3, "s1's status: hanet_own down") { try self.protocolState("s1", "hanet_own") == "down" }
        let r1 = try routing("s1")
        XCTAssertEqual(r1["state"] as? String, "ok", "\(r1)")
        XCTAssertEqual(r1["own"] as? [String], [service(1)], "\(r1)")
        XCTAssertEqual(try ownAnnounced("s2"), true)
        let m = try routingMetrics("s1")
        for line in ["hanet_routing_own_announced 0.0", "hanet_routing_engine_up{engine=\"bird\"} 1.0",
                     "hanet_routing_protocol_up{protocol=\"hanet_own\",proto=\"Static\"} 0.0"] {
            XCTAssertTrue(m.contains(line), "s1's metrics have no \(line): \(m)")
        }
        // The service's own /32 over pv beside BIRD's carried route (via s1's end of pv).
        let routes = try net.exec("s2", "ip route show \(service(1))").out.split(separator: "\n")
        XCTAssertTrue(routes.contains { $0.hasPrefix("\(service(1)) dev pv") }, "s2's routes to s1: \(routes)")
        XCTAssertEqual(try net.exec("s2", "sysctl -n net.ipv4.ip_forward net.ipv4.conf.pv.proxy_arp net.ipv4.neigh.pv.proxy_delay").out
            .split(separator: "\n"), ["1", "1", "0"])
        XCTAssertEqual(try net.exec("s2", "ip neigh show proxy").out, "", "routed: s2 answers ARP for s1 on no LAN")
    }

    /// The BFD and BGP state changes in the router's and the servers' BIRD logs, for a failure's message.
    func birdLogs() -> String {
        ["r", "s1", "s2"].map { who in
            let log = (try? String(contentsOfFile: "\(dir)/\(who)/bird.log", encoding: .utf8)) ?? ""
            let lines = log.split(separator: "\n").filter { $0.contains("State changed") || $0.contains("Session to") || $0.contains("session") }
            return "\(who)'s BIRD:\n" + lines.suffix(20).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// The UDP probe's longest gap (ms) that began in the fault (before the
    /// heal) and the longest that began after the heal, from its gaps on
    /// CLOCK_MONOTONIC (`SystemClock`, Python's time.monotonic). The fault's
    /// is BFD's and arp-monitor's detection; the heal's includes BGP's
    /// reconnection, during which s2 still forwards into s1.
    func outages(_ probe: String, fault: UInt64, heal: UInt64) throws -> (fault: Double, heal: Double) {
        let p = try JSONSerialization.jsonObject(with: Data(probe.utf8)) as? [String: Any]
        let gaps = try XCTUnwrap(p?["gaps_monotonic_s"] as? [[Double]], probe)
        let h = Double(heal) / 1e9, f = Double(fault) / 1e9
        let longest = { (inPhase: ([Double]) -> Bool) in ((gaps.filter(inPhase).map { $0[1] - $0[0] }.max() ?? 0) * 1000).rounded() }
        return (longest { $0[0] < h && $0[1] > f }, longest { $0[0] >= h })
    }

    /// One fault on s1's public link under iperf3, 400 wrk connections and
    /// the UDP probe for `seconds`, and its heal: the route moves to s2 and
    /// back, nothing fails (wrk waits `timeout` s for an answer), s2 keeps
    /// nothing. `during` runs while s2 carries s1. Returns the probe's
    /// outages (ms) in the fault and after the heal.
    func faultAndHeal(_ name: String, fault: String, heal: String, seconds: Int = RoutedScenarioTests.window, timeout: Int = 5,
                      during: () throws -> Void = {}) throws -> (fault: Double, heal: Double) {
        let clean2 = try net.ptaKernelState("s2", link: "pv")
        let s1Address = try lanAddress(1), s2Address = try lanAddress(2)
        let seen = try events("s1").last?.seq ?? 0
        let check = try net.load("s1", service(1), seconds: seconds, iperf: true, tag: "-\(name)", timeout: timeout)
        let start = Date(), faultAt = SystemClock().nowNanos()
        try routed(fault)
        try waitUntil(5, "\(name): the router's route to s1 via s2") { try self.nextHop(1) == s2Address }
        let moved = Date().timeIntervalSince(start)
        try assertCarried()
        try during()
        let healed = Date(), healAt = SystemClock().nowNanos()
        try routed(heal)
        try waitUntil(15, "\(name) healed: the router's route to s1 via s1") { try self.nextHop(1) == s1Address }
        let back = Date().timeIntervalSince(healed)
        try waitUntil(5, "\(name) healed: s1 on eth0, its addresses announced") {
            try self.net.status("s1").active == "eth0" && self.ownAnnounced("s1") == true
        }
        XCTAssertTrue(try routingMetrics("s1").contains("hanet_routing_own_announced 1.0"))
        let news = try events("s1").filter { $0.kind.rawValue == "routing" && $0.seq > seen }.compactMap(\.message)
        XCTAssertEqual(news.filter { ["withdrawn", "announced"].contains($0) }, ["withdrawn", "announced"], "\(name): s1's routing events: \(news)")
        XCTAssertLessThan(Date().timeIntervalSince(start), Double(seconds), "\(name): the heal came after the traffic ended")
        let outage = try check()
        do {
            try waitUntil(5, "\(name) healed: s2 keeps nothing of s1") {
                try self.net.ptaKernelState("s2", link: "pv") == clean2 && self.net.status("s2").pta.serving.isEmpty
            }
        } catch {
            XCTFail("\(name): s2 now:\n\(try net.ptaKernelState("s2", link: "pv"))\nbefore:\n\(clean2)")
            throw error
        }
        let phases = try outages(net.output("probe-s1-\(name)"), fault: faultAt, heal: healAt)
        print("routed \(name) at \(UTCTimestamp.iso8601(secondsSince1970: start.timeIntervalSince1970)): fault -> route via s2 "
              + "\(Int(moved * 1000)) ms, heal -> route via s1 \(Int(back * 1000)) ms; UDP outage \(outage) ms, in the fault "
              + "\(phases.fault) ms, after the heal \(phases.heal) ms")
        return phases
    }

    func testTrafficToS1SurvivesCarrierLossASilentFaultAndABIRDRestartOnItsSibling() throws {
        try up(2)
        try net.serve("s1", service(1), iperf: true)
        let lan = net.ns("lan")

        let carrier = try faultAndHeal("carrier", fault: "ip -n \(lan) link set s1e0 down", heal: "ip -n \(lan) link set s1e0 up")
        XCTAssertLessThan(carrier.fault, 1000, "carrier loss: the client's path was out too long\n\(birdLogs())")

        // Carrier stays up: BFD on the router and the arp-monitor on s1 must notice.
        let s1Address = try lanAddress(1)
        let silent = try faultAndHeal("silent", fault: "net_port_state \(net.prefix) s1e0 0", heal: "net_port_state \(net.prefix) s1e0 3") {
            let eth0 = try XCTUnwrap(net.status("s1").links.first { $0.interface == "eth0" })
            XCTAssertEqual(eth0.detectors.first { $0.name == "arp-monitor" }?.health, "BAD")
            XCTAssertEqual(eth0.detectors.first { $0.name == "carrier" }?.health, "GOOD", "a silent fault keeps the carrier")
            let bfd = try BIRDControl(path: dir + "/r/bird.ctl").command("show bfd sessions").lines.map(\.text)
            XCTAssertTrue(bfd.contains { $0.contains(s1Address) && $0.contains("Down") }, "the router's BFD session to s1: \(bfd)")
        }
        XCTAssertLessThan(silent.fault, 1000, "silent fault: the client's path was out too long\n\(birdLogs())")

        // s2's BIRD restarts while s2 carries s1: BIRD reads the daemon's
        // fragment, the sessions come back, the route to s1 via s2 with them.
        let s2Address = try lanAddress(2)
        // Neither server announces s1 until s2's BIRD is back and its session
        // up again: 1.6-4.4 s measured (BIRD's stop and start, BGP's connect
        // delay and error wait). TCP rides it out; wrk may wait 10 s for an
        // answer here, and the window is longer.
        _ = try faultAndHeal("bird-restart", fault: "ip -n \(lan) link set s1e0 down", heal: "ip -n \(lan) link set s1e0 up",
                               seconds: 9, timeout: 10) {
            try routed("routed_bird_restart \(net.prefix) 2 \(dir)")
            try waitUntil(8, "s2's BIRD restarted: the route to s1 via s2") { try self.nextHop(1) == s2Address }
            try waitUntil(3, "s2's daemon to see BIRD answer") { try self.routing("s2")["state"] as? String == "ok" }
            let carried = try XCTUnwrap(routing("s2")["carried"] as? [[String: Any]])
            XCTAssertEqual(carried.first?["sibling"] as? String, "s1")
            XCTAssertEqual(carried.first?["enabled"] as? Bool, true)
        }
    }

    /// Four servers on two LANs, each carried by its sibling on the other
    /// LAN (s4's BIRD starting after its daemon): both LAN A servers lose
    /// their public links at once, each moves to its own sibling, and back.
    func testFourServersOnTwoLANsEachCarriedByItsOwnSibling() throws {
        try up(4, birdLate: 4)
        for n in [1, 3] { try net.serve("s\(n)", service(n)) }
        let clean = try [2, 4].map { try net.ptaKernelState("s\($0)", link: "pv") }
        let lan = net.ns("lan")
        for n in [1, 3] { try sh("ip -n \(lan) link set s\(n)e0 down") }
        for n in [1, 3] {
            let sibling = try lanAddress(n + 1)
            try waitUntil(5, "s\(n)'s route via s\(n + 1)") { try self.nextHop(n) == sibling }
            try waitUntil(5, "s\(n + 1) serving s\(n)") { try self.net.status("s\(n + 1)").pta.serving.map(\.sibling) == ["s\(n)"] }
            try waitUntil(5, "s\(n) withdrawn") { try self.ownAnnounced("s\(n)") == false }
            for _ in 0..<5 {
                XCTAssertEqual(try net.exec("c", "curl -sf --max-time 2 http://\(service(n)):8080/hello").out, "hanet\n")
            }
        }
        for n in [2, 4] { XCTAssertEqual(try nextHop(n), try lanAddress(n), "the carriers keep their own routes") }
        for n in [1, 3] { try sh("ip -n \(lan) link set s\(n)e0 up") }
        for n in [1, 3] {
            let me = try lanAddress(n)
            try waitUntil(15, "s\(n)'s route back at s\(n)") { try self.nextHop(n) == me }
            XCTAssertEqual(try net.exec("c", "curl -sf --max-time 2 http://\(service(n)):8080/hello").out, "hanet\n")
        }
        for (i, n) in [2, 4].enumerated() {
            do {
                try waitUntil(5, "s\(n) keeps nothing") {
                    try self.net.ptaKernelState("s\(n)", link: "pv") == clean[i] && self.net.status("s\(n)").pta.serving.isEmpty
                }
            } catch {
                XCTFail("s\(n) now:\n\(try net.ptaKernelState("s\(n)", link: "pv"))\nbefore:\n\(clean[i])\n\(birdLogs())")
                throw error
            }
        }
    }
}
