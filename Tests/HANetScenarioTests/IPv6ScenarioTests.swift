import Foundation
import XCTest
import HANetCore
import HANetDaemon

/// Dual-stack servers: real namespaces, the daemon process, nginx on the
/// IPv6 service address, wrk, a 1 kHz UDP probe over IPv6 and tcpdump on
/// the client counting the unsolicited Neighbour Advertisements.
final class IPv6ScenarioTests: XCTestCase {
    var net: ScenarioNetwork!
    static let service6 = "2001:db8::11"

    override func tearDown() {
        net?.down()
    }

    /// `na_count` NAs `na_interval_ms` apart after each switch to a public slave.
    static let naCount = 3
    func withNAs(_ text: String) -> String {
        text.replacingOccurrences(of: "[master]\n", with: "[master]\nna_count = \(Self.naCount)\nna_interval_ms = 20\n")
    }

    /// Starts tcpdump on the client for unsolicited NAs with the Override
    /// flag (ICMPv6 type 136, S clear, O set), printing each frame's source MAC.
    func captureNAs() throws {
        try net.spawn("client", "tcpdump-na", "tcpdump -i c0 -n -e -l 'icmp6 and ip6[40] == 136 and ip6[44] & 0x60 == 0x20'")
        try waitUntil(5, "tcpdump to listen") { net.errors("tcpdump-na").contains("listening on") }
    }

    /// The captured NAs for `target`, by source MAC.
    func nasSeen(for target: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for line in net.output("tcpdump-na").split(separator: "\n") where line.contains("tgt is \(target),") {
            if let mac = line.split(separator: " ").dropFirst().first { out[String(mac), default: 0] += 1 }
        }
        return out
    }

    func mac(_ node: String, _ ifname: String) throws -> String {
        try net.exec(node, "cat /sys/class/net/\(ifname)/address").out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The client's neighbour entry for `address` (its MAC), if any.
    func clientNeighbour(_ address: String) throws -> String? {
        let words = try net.exec("client", "ip -6 neigh show \(address) dev c0").out.split(separator: " ")
        return words.firstIndex(of: "lladdr").flatMap { words.index(after: $0) < words.endIndex ? String(words[words.index(after: $0)]) : nil }
    }

    /// Samples the master's IPv6 addresses every 10 ms for `seconds` (bounded), into `name`.out.
    func watchMasterAddresses(_ node: String, name: String, seconds: Int) throws {
        try net.spawn(node, name, "bash -c 'for i in $(seq \(seconds * 100)); do ip -6 -o addr show dev hanet0; sleep 0.01; done'")
    }

    func startIPv6Servers(_ node: String, address: String) throws {
        try net.startNginx(node, address: "[\(address)]")
        try net.spawn(node, "probe-server", "python3 tools/probe.py server --bind \(address)")
        try waitUntil(5, "the probe server") { net.output("probe-server").contains("ready") }
    }

    struct LoadRun {
        let wrk: Process
        let udp: Process
    }

    /// wrk with 400 keep-alive connections and the 1 kHz UDP probe, both over IPv6.
    func startLoad(to address: String, seconds: Int) throws -> LoadRun {
        let wrk = try net.spawn("client", "wrk", "wrk -t2 -c400 -d\(seconds)s --timeout 5s http://[\(address)]:8080/hello")
        let udp = try net.spawn("client", "udp", "python3 tools/probe.py udp --say-answered --to \(address) --duration \(seconds - 1)")
        try waitUntil(5, "the UDP probe's first answer") { net.errors("udp").contains("answered") }
        try waitUntil(5, "wrk's connections") {
            let ss = try net.exec("s1", "ss -Htn state established '( sport = :8080 )'", check: false).out
            return ss.split(separator: "\n").count >= 400
        }
        return LoadRun(wrk: wrk, udp: udp)
    }

    /// Waits for both, asserts no failed request, and returns the UDP probe's result.
    func finish(_ run: LoadRun) throws -> [String: Any] {
        run.wrk.waitUntilExit()
        run.udp.waitUntilExit()
        let wrkOut = net.output("wrk")
        XCTAssertEqual(run.wrk.terminationStatus, 0, wrkOut + net.errors("wrk"))
        XCTAssertFalse(wrkOut.contains("Socket errors"), "wrk saw connection errors or timeouts:\n\(wrkOut)")
        XCTAssertFalse(wrkOut.contains("Non-2xx"), "wrk saw failed requests:\n\(wrkOut)")
        XCTAssertTrue(wrkOut.contains("requests in"), wrkOut)
        let udp = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(net.output("udp").utf8)) as? [String: Any],
                                net.output("udp") + net.errors("udp"))
        print("IPv6 wrk: \(wrkOut.split(separator: "\n").filter { $0.contains("requests in") }.joined())")
        print("IPv6 UDP probe: \(net.output("udp").prefix(300))")
        return udp
    }

    /// The probe's longest gap that begins from 20 ms before `trigger`
    /// (CLOCK_MONOTONIC ns, as the daemon reports a switch's cause) to 200 ms
    /// after it: the path outage the fault caused, in ms, at most that plus
    /// the scheduling noise of a loaded machine; nil when no gap of 2 ms or more begins then.
    static func outage(_ udp: [String: Any], around trigger: UInt64) -> Double? {
        let t = Double(trigger) / 1e9
        let span = (udp["replies_monotonic_s"] as? [Double]) ?? []
        XCTAssertTrue(span.count == 2 && span[0] < t && t < span[1], "the fault at \(t) s is outside the probe's replies \(span)")
        let gaps = (udp["gaps_monotonic_s"] as? [[Double]]) ?? []
        return gaps.filter { $0[0] >= t - 0.02 && $0[0] <= t + 0.2 }.map { ($0[1] - $0[0]) * 1000 }.max()
    }

    func testDualStackPublicFailover() throws {
        net = try ScenarioNetwork(ipv6: true, prefix: "w6")
        let cfg = try net.config("s1", edit: withNAs)
        try captureNAs()
        try net.startDaemon("s1", config: cfg)
        try waitUntil(5, "eth0 active") { try net.status("s1").active == "eth0" }
        let st = try net.status("s1")
        XCTAssertEqual(st.master.addresses, ["198.51.100.11/24", "\(Self.service6)/64"])
        XCTAssertEqual(st.master.ipv6_flags, ["\(Self.service6)/64": ["nodad"]])
        XCTAssertEqual(try net.exec("s1", "sysctl -n net.ipv6.conf.eth1.accept_ra net.ipv6.conf.eth1.autoconf").out, "0\n0\n")
        let text = try net.exec("s1", "\(productsDirectory)/hanet status --socket \(net.socket("s1"))").out
        XCTAssertTrue(text.contains("master hanet0  198.51.100.11/24 \(Self.service6)/64  mtu"), text)
        // A change of the IPv6 service addresses needs a restart: reload refuses it and keeps the address.
        let original = try String(contentsOfFile: cfg, encoding: .utf8)
        try original.replacingOccurrences(of: "\(Self.service6)/64", with: "2001:db8::13/64").write(toFile: cfg, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ControlProtocol.send(.init(command: "reload"), to: net.socket("s1"))) { error in
            XCTAssertTrue("\(error)".contains("master.addresses (IPv6) changed"), "\(error)")
        }
        XCTAssertEqual(try net.status("s1").master.addresses, ["198.51.100.11/24", "\(Self.service6)/64"])
        try original.write(toFile: cfg, atomically: true, encoding: .utf8)
        try startIPv6Servers("s1", address: Self.service6)
        // IPv4 is served as before, beside IPv6.
        try net.exec("client", "ping -c 1 -W 2 198.51.100.11")

        try watchMasterAddresses("s1", name: "addr-watch", seconds: 12)
        let load = try startLoad(to: Self.service6, seconds: 8)
        try net.carrier("s1", "eth0", up: false)
        try waitUntil(5, "failover to eth1") { try net.status("s1").active == "eth1" }
        let trigger = try XCTUnwrap(net.status("s1").last_switch?.trigger_monotonic_ns)
        let udp = try finish(load)
        let outage = Self.outage(udp, around: trigger)
        print("IPv6 public failover: UDP outage around the fault \(outage.map { String(format: "%.1f ms", $0) } ?? "under 2 ms (no gap)"), lost \(udp["lost"] ?? "?")")

        let sent = try XCTUnwrap(udp["sent"] as? Int), received = try XCTUnwrap(udp["received"] as? Int)
        let gap = try XCTUnwrap(udp["longest_gap_ms"] as? Double)
        XCTAssertGreaterThan(received, sent * 9 / 10, "the probe lost most of its answers: \(udp)")
        XCTAssertLessThan(gap, 500, "the IPv6 outage is far longer than a switch: \(udp)")

        let eth0 = try mac("s1", "eth0"), eth1 = try mac("s1", "eth1")
        try waitUntil(5, "the NAs of both switches") { nasSeen(for: Self.service6).values.reduce(0, +) >= 2 * Self.naCount }
        XCTAssertEqual(nasSeen(for: Self.service6), [eth0: Self.naCount, eth1: Self.naCount],
                       "one burst of na_count per switch, with the master's MAC:\n\(net.output("tcpdump-na"))")
        XCTAssertEqual(try clientNeighbour(Self.service6), eth1)

        let watched = net.output("addr-watch").split(separator: "\n").filter { $0.contains("\(Self.service6)/64") }
        XCTAssertGreaterThan(watched.count, 100, "the sampler saw the service address too rarely:\n\(net.output("addr-watch").suffix(500))")
        XCTAssertEqual(watched.filter { $0.contains("tentative") || $0.contains("dadfailed") }, [],
                       "the moved address was tentative or dadfailed at some point")
        print("IPv6 master addresses other than the service address seen tentative: \(net.output("addr-watch").split(separator: "\n").filter { $0.contains("tentative") }.prefix(3))")
    }

    /// A silent fault found over IPv6 alone: `ns-monitor`, probing the
    /// client's IPv6 address, is each public slave's only detector besides
    /// carrier. eth0's LAN bridge port is blocked with its carrier up; the
    /// daemon moves to eth1, whose NAs move the client's entry, the client
    /// keeps reaching the IPv6 service address, and after the heal s1 comes
    /// back to eth0. A 1 kHz UDP probe over IPv6 runs throughout.
    func testNSMonitorFindsASilentFaultAndTheIPv6ServiceFollows() throws {
        net = try ScenarioNetwork(ipv6: true, prefix: "v6f")
        let interval = 50, missedMax = 2
        let cfg = try net.probingConfig(detector: "ns-monitor", section: "targets = [\"2001:db8::50\"]\n",
                                        interval: interval, missedMax: missedMax)
        try net.startDaemon("s1", config: cfg)
        try net.waitBothGood("ns-monitor")
        let st = try net.status("s1")
        XCTAssertEqual(["eth0", "eth1"].map { st.link($0)?.detectors.map(\.name) }, [["carrier", "ns-monitor"], ["carrier", "ns-monitor"]])
        try startIPv6Servers("s1", address: Self.service6)
        let udp = try net.spawn("client", "udp", "python3 tools/probe.py udp --say-answered --to \(Self.service6) --duration 30")
        try waitUntil(5, "the UDP probe's first answer") { net.errors("udp").contains("answered") }

        let eth1 = try mac("s1", "eth1")
        try net.silentFaultFailsOverAndBack("ns-monitor", badReason: "no neighbour advertisement from 2001:db8::50",
                                            service: Self.service6, interval: interval, missedMax: missedMax) {
            XCTAssertEqual(try clientNeighbour(Self.service6), eth1, "the NAs after the switch name eth1's MAC")
        }
        XCTAssertEqual(try clientNeighbour(Self.service6), try mac("s1", "eth0"))
        udp.interrupt()
        udp.waitUntilExit()
        let result = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(net.output("udp").utf8)) as? [String: Any],
                                   net.output("udp") + net.errors("udp"))
        let gap = try XCTUnwrap(result["longest_gap_ms"] as? Double), lost = try XCTUnwrap(result["lost"] as? Int)
        let sent = try XCTUnwrap(result["sent"] as? Int)
        print("IPv6 silent fault by ns-monitor: UDP outage \(gap) ms, \(lost) of \(sent) probes unanswered")
        // The outage is the detection, at most (missed_max + 1) x interval, plus the switch and a loaded machine's slack.
        XCTAssertLessThan(gap, Double((missedMax + 1) * interval) + 500, "\(result)")
        XCTAssertGreaterThan(sent, 1000, "the probe ran through the fault and the heal: \(result)")
        XCTAssertLessThan(lost, sent / 10, "\(result)")
    }

    /// What carrying a sibling's IPv6 address changes in `node`'s kernel:
    /// proxy entries, routes, addresses on the private link, and the IPv6
    /// forwarding, proxy NDP and RA sysctls of every interface.
    func ipv6KernelState(_ node: String) throws -> String {
        let proxy = try net.exec(node, "ip -6 neigh show proxy").out
        let routes = try net.exec(node, "ip -6 route show").out
        let priv = try net.exec(node, "ip -6 -o addr show dev priv0").out
        let sysctls = try net.exec(node, #"bash -c "sysctl -a 2>/dev/null | grep -E '^net\.ipv6\.(conf\.[^.]+\.(forwarding|proxy_ndp|accept_ra)|neigh\.[^.]+\.proxy_delay) '""#).out
        XCTAssertTrue(sysctls.contains("net.ipv6.conf.all.forwarding"), sysctls)
        return "proxy:\n\(proxy)routes:\n\(routes)priv0:\n\(priv)sysctls:\n\(sysctls)"
    }

    func testDualStackTakeoverAndBack() throws {
        net = try ScenarioNetwork(pair: true, ipv6: true, prefix: "w6")
        try net.startDaemon("s2", config: try net.config("s2", edit: withNAs))
        try net.startDaemon("s1", config: try net.config("s1", edit: withNAs))
        try waitUntil(5, "both on eth0, s1 knowing s2 ready") {
            try net.status("s1").active == "eth0" && net.status("s2").active == "eth0" && net.status("s1").siblings?.first?.ready == true
        }
        // The private link's own link-local address finishes DAD (about 1-2 s after the link came up) before the snapshot.
        try waitUntil(5, "s2's priv0 link-local address out of DAD") {
            !(try net.exec("s2", "ip -6 -o addr show dev priv0").out.contains("tentative"))
        }
        let before = try ipv6KernelState("s2") + net.ptaKernelState()
        try startIPv6Servers("s1", address: Self.service6)
        try captureNAs()
        let s1eth0 = try mac("s1", "eth0")
        let s2mac = try XCTUnwrap(net.status("s2").master.mac)

        let load = try startLoad(to: Self.service6, seconds: 10)
        try net.carrier("s1", "eth0", up: false)
        try net.carrier("s1", "eth1", up: false)
        try waitUntil(5, "s1 served by s2") {
            let st = try net.status("s1")
            return st.active == "priv0" && st.pta.served_by?.state == "served"
        }
        let takeover = try XCTUnwrap(net.status("s1").last_switch?.trigger_monotonic_ns)
        XCTAssertEqual(try net.status("s2").pta.serving.first?.addresses, ["198.51.100.11", Self.service6])
        XCTAssertTrue(try net.exec("s2", "ip -6 neigh show proxy dev hanet0").out.contains(Self.service6))
        XCTAssertTrue(try net.exec("s2", "ip -6 route show \(Self.service6)").out.contains("dev priv0"))
        // The NAs of s2 moved the client's entry to s2's MAC.
        try waitUntil(3, "the client's entry for \(Self.service6) at s2 (\(s2mac))") { try clientNeighbour(Self.service6) == s2mac }
        XCTAssertEqual(try net.exec("client", "curl -gsf --max-time 3 http://[\(Self.service6)]:8080/hello").out, "hanet\n")
        // s1's own IPv6 traffic leaves through s2: its LAN prefix goes via s2's gateway address.
        XCTAssertTrue(try net.exec("s1", "ip -6 route show").out.contains("via fe80::a9fe:4d02 dev hanet0"))
        try net.exec("s1", "ping -6 -c 1 -W 2 2001:db8::50")

        try net.carrier("s1", "eth0", up: true)
        try waitUntil(5, "failback to eth0 and release") {
            try net.status("s1").active == "eth0" && net.status("s2").pta.serving.isEmpty
        }
        let heal = try XCTUnwrap(net.status("s1").last_switch?.trigger_monotonic_ns)
        try waitUntil(3, "the client's entry for \(Self.service6) back at s1 (\(s1eth0))") { try clientNeighbour(Self.service6) == s1eth0 }
        XCTAssertFalse(try net.exec("s1", "ip -6 route show").out.contains("via fe80::a9fe:4d02"), "the on-link route serves again")

        let udp = try finish(load)
        let out1 = Self.outage(udp, around: takeover), out2 = Self.outage(udp, around: heal)
        print("IPv6 takeover: UDP outage around the fault \(out1.map { String(format: "%.1f ms", $0) } ?? "under 2 ms"); around the heal \(out2.map { String(format: "%.1f ms", $0) } ?? "under 2 ms"); lost \(udp["lost"] ?? "?")")
        XCTAssertLessThan(out1 ?? 0, 1000, "\(udp)")
        XCTAssertLessThan(out2 ?? 0, 1000, "\(udp)")

        try waitUntil(5, "the NAs of s2 and of s1's failback") { nasSeen(for: Self.service6).values.reduce(0, +) >= 2 * Self.naCount }
        // s1 fails over to eth1 first, for the few ms until eth1 loses its carrier too: its
        // burst with eth1's MAC may be cut short. s2's burst and s1's at the failback are whole.
        var seen = nasSeen(for: Self.service6)
        let s1eth1 = try mac("s1", "eth1")
        XCTAssertLessThanOrEqual(seen.removeValue(forKey: s1eth1) ?? 0, Self.naCount, net.output("tcpdump-na"))
        XCTAssertEqual(seen, [s2mac: Self.naCount, s1eth0: Self.naCount], net.output("tcpdump-na"))
        XCTAssertEqual(try ipv6KernelState("s2") + net.ptaKernelState(), before, "s2 must leave nothing behind")
    }
}
