import Foundation
import XCTest
import HANetCore
import HANetDaemon
import HANetSystem

/// A reload adds and removes [[link]]s on a live daemon while a
/// client's TCP stream runs through it.
final class ReloadLinksScenarioTests: XCTestCase {
    var net: ScenarioNetwork!

    override func tearDown() {
        net?.down()
    }

    static let eth1Block = "\n[[link]]\ninterface = \"eth1\"\ntype = \"ethernet\"\nrole = \"public\"\ndetectors = [\"carrier\"]\n"
    static let eth0Block = eth1Block.replacingOccurrences(of: "eth1", with: "eth0")

    func reload(_ node: String) throws -> ControlProtocol.Answer {
        let reply = try UnixSocketClient.request(path: net.socket(node), line: #"{"command":"reload"}"#, timeoutMillis: 30_000)
        return try JSONDecoder().decode(ControlProtocol.Answer.self, from: Data(reply.utf8))
    }

    func events(_ node: String) throws -> [DaemonEvent] {
        try ControlProtocol.send(.init(command: "events"), to: net.socket(node)).events ?? []
    }

    func testReloadAddsALinkAndRemovesTheActiveOneUnderTraffic() throws {
        net = try ScenarioNetwork()
        // s1 starts with eth0 only.
        let cfg = try net.config("s1") {
            $0.replacingOccurrences(of: Self.eth1Block, with: "") + "\n[metrics]\nlisten = \"127.0.0.1:9477\"\n"
        }
        let full = try String(contentsOfFile: cfg, encoding: .utf8) + Self.eth1Block
        XCTAssertFalse(try String(contentsOfFile: cfg, encoding: .utf8).contains("eth1"))
        func slaveGauges() throws -> [String] {
            try net.exec("s1", "curl -sf --max-time 3 http://127.0.0.1:9477/metrics").out
                .split(separator: "\n").filter { $0.hasPrefix("hanet_slave_active{") }.map(String.init).sorted()
        }
        try net.startDaemon("s1", config: cfg)
        try waitUntil(5, "eth0 active") { try net.status("s1").active == "eth0" }
        XCTAssertEqual(try net.status("s1").links.map(\.interface), ["eth0"])

        try net.spawn("s1", "iperf3-server", "iperf3 -s -B 198.51.100.11 -1")
        try waitUntil(5, "iperf3 server") { try net.exec("s1", "ss -tlnH 'sport = :5201'", check: false).out.contains("5201") }
        let iperf = try net.spawn("client", "iperf3", "iperf3 -c 198.51.100.11 -t 6 -i 0.5 -J")
        try waitUntil(5, "iperf3 connected") {
            try net.exec("s1", "ss -tnH state established 'sport = :5201'", check: false).out.contains("5201")
        }
        usleep(500_000)

        // Add eth1: it joins as a GOOD backup; nothing switches.
        try full.write(toFile: cfg, atomically: true, encoding: .utf8)
        let added = try net.exec("s1", "\(productsDirectory)/hanet reload --socket \(net.socket("s1"))")
        XCTAssertTrue(added.out.contains("link eth1 added: ethernet, public"), added.out)
        try waitUntil(5, "eth1 GOOD") { try net.status("s1").links.first { $0.interface == "eth1" }?.health == "GOOD" }
        var st = try net.status("s1")
        XCTAssertEqual(st.links.map(\.interface), ["eth0", "eth1"])
        XCTAssertEqual(st.links.first { $0.interface == "eth1" }?.flags, ["GOOD"], "a backup, not active")
        XCTAssertEqual(st.active, "eth0")
        XCTAssertEqual(st.switches, 0)
        XCTAssertEqual(try net.exec("s1", "sysctl -n net.ipv4.conf.eth1.arp_ignore").out, "1\n", "hygiene ran on the new slave")
        XCTAssertEqual(try slaveGauges(), [#"hanet_slave_active{slave="eth0",role="public",type="ethernet"} 1.0"#,
                                           #"hanet_slave_active{slave="eth1",role="public",type="ethernet"} 0.0"#])
        usleep(1_000_000)

        // Remove eth0 while it is active: eth1 takes over in the same step.
        try full.replacingOccurrences(of: Self.eth0Block, with: "").write(toFile: cfg, atomically: true, encoding: .utf8)
        let removed = try reload("s1")
        XCTAssertTrue(removed.ok, "\(String(describing: removed.reload))")
        XCTAssertEqual(removed.reload?.applied.first, "link eth0 removed (it was active; eth1 took over)",
                       "\(String(describing: removed.reload))")
        st = try net.status("s1")
        XCTAssertEqual(st.active, "eth1", "switched before the answer came back")
        XCTAssertEqual(st.links.map(\.interface), ["eth1"])
        XCTAssertEqual(st.switches, 1)
        XCTAssertEqual(st.last_switch?.from, "eth0")
        XCTAssertTrue(st.last_switch?.reason.contains("link eth0 removed by reload") ?? false, "\(String(describing: st.last_switch))")
        let evs = try events("s1")
        XCTAssertTrue(evs.contains { $0.kind.rawValue == "reload" && ($0.changes ?? []).contains { $0.hasPrefix("link eth1 added") } })
        XCTAssertTrue(evs.contains { $0.kind.rawValue == "reload" && ($0.changes ?? []).contains { $0.hasPrefix("link eth0 removed") } })
        XCTAssertTrue(evs.contains { $0.kind.rawValue == "switch" && $0.from == "eth0" && $0.to == "eth1" })
        XCTAssertTrue(try net.exec("s1", "nft list table netdev hanet").out.contains("\"eth1\""), "the rules forward on eth1")
        XCTAssertEqual(try slaveGauges(), [#"hanet_slave_active{slave="eth1",role="public",type="ethernet"} 1.0"#],
                       "a removed slave leaves the gauges")
        XCTAssertEqual(try net.exec("s1", "sysctl -n net.ipv4.conf.eth0.arp_ignore").out, "1\n",
                       "eth0 still sits next to the master: it must not answer ARP for the service address")

        iperf.waitUntilExit()
        let out = net.output("iperf3")
        XCTAssertEqual(iperf.terminationStatus, 0, String(out.suffix(400)) + net.errors("iperf3"))
        XCTAssertFalse(out.contains("\"error\""), String(out.suffix(400)))
        let bytes = PTARestartTests.intervalBytes(out)
        XCTAssertGreaterThanOrEqual(bytes.count, 10, String(out.suffix(400)))
        XCTAssertTrue(bytes.allSatisfy { $0 > 0 }, "an interval without data: the stream was interrupted: \(bytes)")
        XCTAssertGreaterThan(CarrierFailoverTests.iperfReceivedBytes(out) ?? 0, 10_000_000)
        XCTAssertEqual(try net.status("s1").switches, 1, "one switch: the removal")
    }

    /// A reload that adds a link whose interface does not exist is refused
    /// whole: the good link added in the same file is not added either.
    func testReloadAddingAMissingInterfaceIsRefusedWhole() throws {
        net = try ScenarioNetwork()
        let cfg = try net.config("s1") { $0.replacingOccurrences(of: Self.eth1Block, with: "") }
        let one = try String(contentsOfFile: cfg, encoding: .utf8)
        try net.startDaemon("s1", config: cfg)
        try waitUntil(5, "eth0 active") { try net.status("s1").active == "eth0" }

        let bad = one + Self.eth1Block + Self.eth1Block.replacingOccurrences(of: "eth1", with: "eth9")
        try bad.write(toFile: cfg, atomically: true, encoding: .utf8)
        // Problems point at the [[link]] header: the line before `interface = "eth9"` (lines count from 1).
        let eth9Line = try XCTUnwrap(bad.components(separatedBy: "\n").firstIndex { $0.contains("\"eth9\"") })
        let r = try net.exec("s1", "\(productsDirectory)/hanet reload --socket \(net.socket("s1"))", check: false)
        XCTAssertEqual(r.status, 1, r.out)
        XCTAssertTrue(r.out.contains("reload refused"), r.out)
        XCTAssertTrue(r.out.contains("\(cfg):\(eth9Line): link eth9: no such network interface"), r.out)

        let st = try net.status("s1")
        XCTAssertEqual(st.links.map(\.interface), ["eth0"], "eth1 was not added either")
        XCTAssertEqual(st.active, "eth0")
        XCTAssertEqual(st.switches, 0)
        XCTAssertTrue(try events("s1").contains { $0.kind.rawValue == "reload-refused" && ($0.changes ?? []).joined().contains("eth9") })
        XCTAssertFalse(try net.exec("s1", "nft list table netdev hanet").out.contains("\"eth1\""))

        // The same file without eth9 applies.
        try (one + Self.eth1Block).write(toFile: cfg, atomically: true, encoding: .utf8)
        XCTAssertTrue(try reload("s1").ok)
        XCTAssertEqual(try net.status("s1").links.map(\.interface), ["eth0", "eth1"])

        // Removing the active link with no GOOD slave left to take over is refused.
        try net.carrier("s1", "eth1", up: false)
        try waitUntil(5, "eth1 BAD") { try net.status("s1").links.first { $0.interface == "eth1" }?.health == "BAD" }
        try (one.replacingOccurrences(of: Self.eth0Block, with: "") + Self.eth1Block).write(toFile: cfg, atomically: true, encoding: .utf8)
        let refused = try reload("s1")
        XCTAssertFalse(refused.ok)
        XCTAssertTrue(refused.reload?.problems.first?.contains("link eth0: it is the active slave and no other slave that stays (eth1) is GOOD") ?? false,
                      "\(String(describing: refused.reload))")
        XCTAssertEqual(try net.status("s1").links.map(\.interface), ["eth0", "eth1"])
        XCTAssertEqual(try net.status("s1").active, "eth0")
    }

    /// A private link added by reload makes the node able to carry its
    /// sibling (the PTA serves over the link that names the sibling now);
    /// removing it ends the service and takes the link's address along.
    func testReloadAddsAndRemovesAPrivateLinkTheSiblingIsServedOver() throws {
        net = try ScenarioNetwork(pair: true)
        let priv0 = "\n[[link]]\ninterface = \"priv0\"\ntype = \"ethernet\"\nrole = \"private\"\nsibling = \"s1\"\naddress = \"169.254.77.2/30\"\ndetectors = [\"carrier\"]\n"
        let cfg2 = try net.config("s2")
        let full = try String(contentsOfFile: cfg2, encoding: .utf8)
        XCTAssertTrue(full.contains(priv0))
        try full.replacingOccurrences(of: priv0, with: "").write(toFile: cfg2, atomically: true, encoding: .utf8)
        try net.startDaemon("s2", config: cfg2)
        try net.startDaemon("s1", config: try net.config("s1"))
        XCTAssertEqual(try net.status("s2").links.map(\.interface), ["eth0", "eth1"])
        XCTAssertFalse(try net.exec("s2", "ip -4 addr show dev priv0").out.contains("169.254.77.2"))
        let before = try net.ptaKernelState()

        // s1 loses its public links and asks s2, which has no link to it yet.
        try net.carrier("s1", "eth0", up: false)
        try net.carrier("s1", "eth1", up: false)
        try waitUntil(5, "s1 on priv0") { try net.status("s1").active == "priv0" }
        usleep(500_000)
        XCTAssertEqual(try net.status("s2").pta.serving.count, 0)
        XCTAssertNotEqual(try net.status("s1").pta.served_by?.state, "served")

        try full.write(toFile: cfg2, atomically: true, encoding: .utf8)
        let added = try net.exec("s2", "\(productsDirectory)/hanet reload --socket \(net.socket("s2"))")
        XCTAssertTrue(added.out.contains("link priv0 added: ethernet, private"), added.out)
        XCTAssertTrue(try net.exec("s2", "ip -4 addr show dev priv0").out.contains("169.254.77.2/30"))
        try waitUntil(5, "s2 serving s1 over priv0") {
            try net.status("s2").pta.serving.map(\.link) == ["priv0"] && net.status("s1").pta.served_by?.state == "served"
        }
        XCTAssertEqual(try net.status("s2").active, "eth0", "the new private link is a backup")
        _ = try net.exec("client", "ping -c 3 -i 0.2 -W 1 198.51.100.11")

        // Removed again: the service over it ends at once, and what serving changed is undone.
        try full.replacingOccurrences(of: priv0, with: "").write(toFile: cfg2, atomically: true, encoding: .utf8)
        let removed = try net.exec("s2", "\(productsDirectory)/hanet reload --socket \(net.socket("s2"))")
        XCTAssertTrue(removed.out.contains("link priv0 removed"), removed.out)
        let st = try net.status("s2")
        XCTAssertEqual(st.pta.serving.count, 0)
        XCTAssertEqual(st.links.map(\.interface), ["eth0", "eth1"])
        XCTAssertTrue(try events("s2").contains { $0.kind.rawValue == "pta-stopped" && $0.reason == "priv0 was removed" })
        XCTAssertFalse(try net.exec("s2", "ip -4 addr show dev priv0").out.contains("169.254.77.2"), "the link's address left with it")
        XCTAssertEqual(try net.ptaKernelState(), before, "s2 left nothing of the service behind")
    }

    /// A serial link (user-space PPP: a TUN the daemon creates over a tty)
    /// added, reopened with another baud rate, refused a device that does not
    /// exist (and reopened as it was), and removed: its TUN comes and goes with it.
    func testReloadAddsReopensAndRemovesASerialLink() throws {
        net = try ScenarioNetwork()
        let a = "\(net.work)/tty-a", b = "\(net.work)/tty-b"
        let socat = try net.spawn("s1", "socat", "socat pty,raw,echo=0,link=\(a) pty,raw,echo=0,link=\(b)")
        defer { socat.terminate() }
        try waitUntil(5, "socat's ptys") { FileManager.default.fileExists(atPath: a) && FileManager.default.fileExists(atPath: b) }
        let cfg = try net.config("s1")
        let base = try String(contentsOfFile: cfg, encoding: .utf8)
        func ppp(device: String = a, baud: Int = 115200) -> String {
            "\n[[link]]\ninterface = \"ppp0\"\ntype = \"ppp-serial\"\ndevice = \"\(device)\"\nbaud = \(baud)\nrole = \"private\"\naddress = \"169.254.9.1/30\"\ndetectors = [\"ppp-echo\"]\n"
        }
        try net.startDaemon("s1", config: cfg)
        func tun() throws -> String {
            let r = try net.exec("s1", "ip -o link show ppp0", check: false)
            return r.status == 0 ? r.out : ""
        }
        XCTAssertEqual(try tun(), "")

        try (base + ppp()).write(toFile: cfg, atomically: true, encoding: .utf8)
        let added = try reload("s1")
        XCTAssertEqual(added.reload?.applied, ["link ppp0 added: ppp-serial, private, 115200 bit/s, a backup until the interface manager picks it"],
                       "\(String(describing: added))")
        XCTAssertTrue(try tun().contains("POINTOPOINT"), "the TUN exists")
        XCTAssertEqual(try net.status("s1").links.map(\.interface), ["eth0", "eth1", "ppp0"])
        XCTAssertEqual(try net.status("s1").links.last?.speed_bps, 115_200)

        // Another baud rate: the tty is closed and opened again (it is locked while open).
        try (base + ppp(baud: 57600)).write(toFile: cfg, atomically: true, encoding: .utf8)
        let reopened = try reload("s1")
        XCTAssertEqual(reopened.reload?.applied, ["link ppp0 reopened: baud changed"], "\(String(describing: reopened))")
        XCTAssertEqual(try net.status("s1").links.last?.speed_bps, 57_600)
        XCTAssertTrue(try tun().contains("POINTOPOINT"))

        // A device that does not exist: refused, and ppp0 is back as it was.
        try (base + ppp(device: "\(net.work)/no-such-tty", baud: 9600)).write(toFile: cfg, atomically: true, encoding: .utf8)
        let refused = try reload("s1")
        XCTAssertFalse(refused.ok)
        XCTAssertEqual(refused.reload?.problems.count, 1, "\(String(describing: refused.reload))")
        XCTAssertTrue(refused.reload?.problems.first?.contains("link ppp0: type ppp-serial refused to open") ?? false, "\(String(describing: refused.reload))")
        let st = try net.status("s1")
        XCTAssertEqual(st.links.map(\.interface), ["eth0", "eth1", "ppp0"])
        XCTAssertEqual(st.links.last?.speed_bps, 57_600, "the running configuration: baud 57600")
        XCTAssertTrue(try tun().contains("POINTOPOINT"), "reopened as it was")
        XCTAssertEqual(st.active, "eth0")

        try base.write(toFile: cfg, atomically: true, encoding: .utf8)
        XCTAssertEqual(try reload("s1").reload?.applied, ["link ppp0 removed"])
        XCTAssertEqual(try tun(), "", "the TUN left with the link")
        XCTAssertEqual(try net.status("s1").links.map(\.interface), ["eth0", "eth1"])
        XCTAssertEqual(try net.status("s1").switches, 0)
    }
}
