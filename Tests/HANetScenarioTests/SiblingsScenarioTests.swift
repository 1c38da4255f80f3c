import Foundation
import XCTest
import HANetCore
import HANetDaemon

/// Several siblings: three servers, s1 with private links to s2 (preferred)
/// and to s3, each running the daemon, nginx on s1 under 400 keep-alive wrk
/// connections and a 1 kHz UDP probe from the client. In every scenario s1
/// ends up carried by the sibling that can carry it, not one request fails,
/// and a sibling that stops carrying keeps nothing of the service.
final class SiblingsScenarioTests: XCTestCase {
    var net: ScenarioNetwork!
    let s1 = "198.51.100.11", s3 = "198.51.100.13"

    override func setUpWithError() throws {
        net = try ScenarioNetwork(pair: true)
        try sh("source scripts/lib/net.sh && net_server \(net.prefix) s3")
        try veth("s1", "s3", "priv1")
    }

    override func tearDown() {
        net?.down()
    }

    /// A private veth `ifname` between `a` and `b`.
    func veth(_ a: String, _ b: String, _ ifname: String) throws {
        try sh("ip link add \(ifname) netns \(net.ns(a)) type veth peer name \(ifname) netns \(net.ns(b))")
        try net.exec(a, "ip link set \(ifname) up")
        try net.exec(b, "ip link set \(ifname) up")
    }

    func privateLink(_ ifname: String, to sibling: String, mine: String) -> String {
        "\n[[link]]\ninterface = \"\(ifname)\"\ntype = \"ethernet\"\nrole = \"private\"\nsibling = \"\(sibling)\"\naddress = \"\(mine)/30\"\ndetectors = [\"carrier\"]\n"
    }

    func sibling(_ name: String, at address: String, owns service: String, preference: Int? = nil) -> String {
        "\n[[sibling]]\nname = \"\(name)\"\naddress = \"\(address)\"\nkey_file = \"\(net.keyFile)\"\naddresses = [\"\(service)/32\"]\n"
            + (preference.map { "preference = \($0)\n" } ?? "")
    }

    /// s1 knows s2 (preference 10) over priv0 and s3 over priv1; s2 and s3 know s1.
    /// With `s3CarriedByS2`, s3 and s2 are also siblings over priv2.
    func startAll(s3CarriedByS2: Bool = false) throws {
        if s3CarriedByS2 { try veth("s3", "s2", "priv2") }
        let c1 = try net.config("s1") {
            $0.replacingOccurrences(of: "name = \"s2\"\n", with: "name = \"s2\"\npreference = 10\n")
                + self.privateLink("priv1", to: "s3", mine: "169.254.78.1") + self.sibling("s3", at: "169.254.78.2", owns: self.s3)
        }
        let c2 = try net.config("s2") {
            $0 + (s3CarriedByS2 ? self.privateLink("priv2", to: "s3", mine: "169.254.79.2") + self.sibling("s3", at: "169.254.79.1", owns: self.s3) : "")
        }
        let c3 = try net.config("s3") {
            $0 + self.privateLink("priv1", to: "s1", mine: "169.254.78.2") + self.sibling("s1", at: "169.254.78.1", owns: self.s1)
                + (s3CarriedByS2 ? self.privateLink("priv2", to: "s2", mine: "169.254.79.1")
                    + self.sibling("s2", at: "169.254.79.2", owns: "198.51.100.12", preference: 10) : "")
        }
        try net.startDaemon("s2", config: c2)
        try net.startDaemon("s3", config: c3)
        try net.startDaemon("s1", config: c1)
        try waitUntil(5, "s1 to hear that s2 and s3 are ready") {
            try net.status("s1").siblings?.filter(\.ready).map(\.name).sorted() == ["s2", "s3"]
        }
    }

    /// What serving changes in `node`'s kernel (every private link's proxy ARP among it).
    func kernelState(_ node: String) throws -> String {
        let proxy = try net.exec(node, "ip neigh show proxy").out
        let routes = try net.exec(node, "ip -4 route show").out
        let forwarding = try net.exec(node, "sysctl -n net.ipv4.ip_forward").out
        return "proxy:\n\(proxy)routes:\n\(routes)forwarding: \(forwarding)"
    }

    /// nginx and the UDP probe's echo on `address` in `node`; 400 wrk connections and the probe for `seconds`.
    /// Returns a check to call once the scenario is over: 0 failed requests, and the probe's longest gap.
    func traffic(to node: String, _ address: String, seconds: Int, connections: Int = 400) throws -> () throws -> Double {
        try net.serve(node, address)
        return try net.load(node, address, seconds: seconds, connections: connections)
    }

    func cutPublic(_ node: String, up: Bool = false) throws {
        try net.carrier(node, "eth0", up: up)
        try net.carrier(node, "eth1", up: up)
    }

    func waitCarried(by carrier: String, via link: String, _ what: String, seconds: Double = 5) throws {
        try waitUntil(seconds, what) {
            let st = try net.status("s1"), serving = try net.status(carrier).pta.serving.map(\.sibling)
            return st.active == link && st.pta.served_by?.sibling == carrier && st.pta.served_by?.state == "served" && serving == ["s1"]
        }
    }

    func testAReadySiblingCarriesTheServerWhenThePreferredOneIsDark() throws {
        try startAll()
        let clean2 = try kernelState("s2")
        try cutPublic("s2")
        try waitUntil(5, "s1 to hear that s2 cannot carry") {
            try net.status("s1").siblings?.first { $0.name == "s2" }?.readiness == "unable"
        }
        let check = try traffic(to: "s1", s1, seconds: 6)
        try cutPublic("s1")
        try waitCarried(by: "s3", via: "priv1", "s3 to carry s1 over priv1")
        XCTAssertEqual(try kernelState("s2"), clean2, "s2 (dark) must not have been asked")
        let outage = try check()
        print("preferred sibling dark: udp outage \(outage) ms")
        let st = try net.status("s1")
        XCTAssertEqual(st.siblings?.first { $0.name == "s3" }?.serves_us, true)
        XCTAssertEqual(st.siblings?.first { $0.name == "s3" }?.links, ["priv1"])
    }

    func testTheServerMovesWhenItsCarrierLosesItsPublicNIC() throws {
        try startAll()
        let clean2 = try kernelState("s2")
        let check = try traffic(to: "s1", s1, seconds: 8)
        try cutPublic("s1")
        try waitCarried(by: "s2", via: "priv0", "s2 (preferred) to carry s1")
        try cutPublic("s2")
        try waitCarried(by: "s3", via: "priv1", "s1 to move to s3")
        try waitUntil(5, "s2 to give up s1's service") { try kernelState("s2") == clean2 }
        let outage = try check()
        print("carrier lost its public NIC: udp outage \(outage) ms")
        let events = try ControlProtocol.send(.init(command: "events"), to: net.socket("s1")).events ?? []
        XCTAssertTrue(events.contains { $0.kind.rawValue == "sibling-move" && $0.sibling == "s3" }, "no sibling-move event: \(events.map(\.kind))")
        XCTAssertTrue(events.contains { $0.kind.rawValue == "sibling-readiness" && $0.sibling == "s2" })
    }

    func testTheServerMovesWhenItsCarriersDaemonIsKilled() throws {
        try startAll()
        let clean2 = try kernelState("s2")
        let check = try traffic(to: "s1", s1, seconds: 8)
        try cutPublic("s1")
        try waitCarried(by: "s2", via: "priv0", "s2 (preferred) to carry s1")
        let d2 = try XCTUnwrap(net.processes.first { $0.arguments?.last?.contains("daemon-s2") == true })
        kill(d2.processIdentifier, SIGKILL)
        d2.waitUntilExit()
        // s2's kernel goes on carrying (fail-static) while s1 notices the silence and moves.
        try waitCarried(by: "s3", via: "priv1", "s1 to move to s3", seconds: 5)
        let outage = try check()
        print("carrier's daemon killed: udp outage \(outage) ms")
        XCTAssertEqual(try net.status("s1").siblings?.first { $0.name == "s2" }?.readiness, "unknown", "s2 fell silent")
        // A new s2 daemon adopts the service its predecessor left; nobody renews it, so it ends and is undone.
        try net.startDaemon("s2", config: "\(net.work)/s2.toml", name: "daemon-s2-again")
        do {
            try waitUntil(8, "the restarted s2 to undo the service nobody renews") { try kernelState("s2") == clean2 }
        } catch {
            XCTFail("s2 now:\n\(try kernelState("s2"))\nclean:\n\(clean2)\nlog:\n\(net.errors("daemon-s2-again"))\ns1's log:\n\(net.errors("daemon-s1"))")
            throw error
        }
    }

    func testTheServerMovesWhenThePrivateLinkToItsCarrierIsCut() throws {
        try startAll()
        let clean2 = try kernelState("s2")
        let check = try traffic(to: "s1", s1, seconds: 8)
        try cutPublic("s1")
        try waitCarried(by: "s2", via: "priv0", "s2 (preferred) to carry s1")
        try net.exec("s2", "ip link set priv0 down")
        try waitCarried(by: "s3", via: "priv1", "s1 to move to s3")
        let outage = try check()
        print("private link to the carrier cut: udp outage \(outage) ms")
        // The RELEASE cannot cross the cut link: s2's lease runs out (3 s) and it cleans up.
        // The link comes back (its connected route with it); s1 stays with s3, which carries it.
        try net.exec("s2", "ip link set priv0 up")
        try waitUntil(8, "s2 to end the lapsed lease") {
            let state = try kernelState("s2"), serving = try net.status("s2").pta.serving
            return state == clean2 && serving.isEmpty
        }
    }

    func testOneSiblingCarriesTwoServers() throws {
        try startAll(s3CarriedByS2: true)
        let clean2 = try kernelState("s2")
        let check1 = try traffic(to: "s1", s1, seconds: 8, connections: 200)
        let check3 = try traffic(to: "s3", s3, seconds: 8, connections: 200)
        try cutPublic("s3")
        try waitUntil(5, "s2 to carry s3") { try net.status("s2").pta.serving.map(\.sibling) == ["s3"] }
        // s3 is carried now: it has no GOOD public slave, so s1 must not pick it.
        try waitUntil(5, "s1 to hear that s3 cannot carry") {
            try net.status("s1").siblings?.first { $0.name == "s3" }?.readiness == "unable"
        }
        try cutPublic("s1")
        try waitUntil(5, "s2 to carry s1 and s3") {
            let serving = try net.status("s2").pta.serving.map(\.sibling), state = try net.status("s1").pta.served_by?.state
            return serving == ["s1", "s3"] && state == "served"
        }
        XCTAssertEqual(try net.status("s1").active, "priv0")
        let outages = (try check1(), try check3())
        print("one sibling carries two: udp outage s1 \(outages.0) ms, s3 \(outages.1) ms")
        try cutPublic("s1", up: true)
        try cutPublic("s3", up: true)
        try waitUntil(8, "s2 to carry nobody") {
            let state = try kernelState("s2"), serving = try net.status("s2").pta.serving
            return state == clean2 && serving.isEmpty
        }
    }
}
