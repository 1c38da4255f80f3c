import Foundation
@testable import HANetCore
@testable import HANetDaemon
@testable import HANetSystem
import XCTest

/// The routed mode's decisions on fakes: when this server's addresses are
/// announced and withdrawn, what happens while BIRD does not answer, and how
/// a sibling on another LAN carries a server.
final class RoutedDecisionTests: DecisionTestCase {
    var s1: DecisionNode { cluster["s1"] }
    var s2: DecisionNode { cluster["s2"] }
    let own = [IPv4Address("198.51.100.11")!]

    /// The pair on two LANs: each master holds its LAN address (where BGP
    /// runs, not announced) and its service address as a /32 (announced).
    static func routed(_ node: String, dir: String, carry: String) -> String {
        let (service, lan) = node == "s1" ? ("198.51.100.11", "192.0.2.10/26") : ("198.51.100.12", "192.0.2.74/26")
        return DecisionCluster.pairConfig(node, dir: dir, extra: """

        [routing]
        engine = "bird"
        local_as = \(node == "s1" ? 65001 : 65002)
        carry = ["\(carry)"]

        """).replacingOccurrences(of: "addresses = [\"\(service)/24\"]", with: "addresses = [\"\(lan)\", \"\(service)/32\"]")
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        cluster.add("s1", config: Self.routed("s1", dir: cluster.dir, carry: "s2"))
        cluster.add("s2", config: Self.routed("s2", dir: cluster.dir, carry: "s1"))
    }

    func events(_ n: DecisionNode) -> [DaemonEvent] {
        n.daemon.ops.events.recent(after: 0).filter { $0.kind == .routing }
    }

    func testAnnouncedAfterTheFirstDecisionWithdrawnWhenNoPublicLinkIsLeftAndBack() throws {
        try cluster.start(["s1"])
        XCTAssertEqual(s1.routingEngine.calls, [.load(announced: true)],
                       "one load, after the first decision chose a public slave; nothing before it")
        XCTAssertEqual(s1.status.routing?.own_announced, true)
        XCTAssertEqual(s1.status.routing?.state, "ok")

        s1.carrier("eth0", false)
        cluster.run()
        XCTAssertEqual(s1.active, "eth1")
        XCTAssertEqual(s1.routingEngine.calls.count, 1, "a move between public slaves changes nothing in BIRD")

        s1.carrier("eth1", false)
        cluster.run()
        XCTAssertEqual(s1.active, "priv0")
        XCTAssertEqual(s1.routingEngine.calls.last, .withdraw)
        XCTAssertEqual(s1.status.routing?.own_announced, false)

        s1.carrier("eth0", true)
        cluster.run()
        XCTAssertEqual(s1.active, "eth0")
        XCTAssertEqual(s1.routingEngine.calls, [.load(announced: true), .withdraw, .announce(own)])
        XCTAssertEqual(events(s1).compactMap(\.message), ["announced", "withdrawn", "announced"])
        XCTAssertEqual(events(s1)[1].addresses, ["198.51.100.11"])
        XCTAssertEqual(s1.status.routing?.changes, 3)
    }

    func testNoPublicLinkAtStartLoadsTheFragmentWithdrawn() throws {
        try cluster.start(["s1"], down: ["s1.eth0", "s1.eth1"])
        XCTAssertEqual(s1.active, "priv0")
        XCTAssertEqual(s1.routingEngine.calls, [.load(announced: false)])
    }

    func testWhileBIRDDoesNotAnswerTheIntentWaitsAndIsToldOnce() throws {
        s1.routingEngine.failure = .connect(path: "/run/bird/bird.ctl", errno: ECONNREFUSED)
        try cluster.start(["s1"])
        XCTAssertEqual(s1.routingEngine.calls, [])
        let st = try XCTUnwrap(s1.status.routing)
        XCTAssertTrue(st.state.hasPrefix("not answering: BIRD does not answer at /run/bird/bird.ctl"), st.state)
        XCTAssertEqual(st.pending, true)
        XCTAssertFalse(st.own_announced)
        cluster.advance(millis: 3_500)
        XCTAssertGreaterThanOrEqual(s1.routingEngine.statusReads, 3, "polled every second")
        XCTAssertEqual(events(s1).compactMap(\.message), ["engine not answering"], "one event, not one per retry")

        // A fault while BIRD is away: the intent follows, and is what BIRD gets.
        s1.carrier("eth0", false)
        s1.carrier("eth1", false)
        cluster.run()
        s1.routingEngine.failure = nil
        cluster.advance(millis: 1_000)
        XCTAssertEqual(s1.routingEngine.calls, [.load(announced: false)], "the whole fragment, as the intent is now")
        XCTAssertEqual(s1.status.routing?.state, "ok")
        XCTAssertNil(s1.status.routing?.pending)
        XCTAssertEqual(events(s1).compactMap(\.message), ["engine not answering", "withdrawn", "engine answering"])
    }

    func testAFailedCallLoadsEverythingAgainOnTheNextPoll() throws {
        try cluster.start(["s1"])
        s1.routingEngine.failure = .closed(command: "disable")
        s1.carrier("eth0", false)
        s1.carrier("eth1", false)
        cluster.run()
        XCTAssertEqual(s1.status.routing?.pending, true)
        s1.routingEngine.failure = nil
        cluster.advance(millis: 1_000)
        XCTAssertEqual(s1.routingEngine.calls, [.load(announced: true), .load(announced: false)],
                       "after a failure BIRD's state is unknown: the whole fragment again")
    }

    func testAProtocolStateChangeIsAnEventAndAGauge() throws {
        s1.routingEngine.protocols = [BIRDProtocol(name: "uplink", proto: "BGP", table: "---", state: .up, since: "10:00:00", info: "Established")]
        try cluster.start(["s1"])
        cluster.advance(millis: 1_000)
        s1.routingEngine.protocols[0].state = .start
        s1.routingEngine.protocols[0].info = "Active"
        cluster.advance(millis: 1_000)
        cluster.advance(millis: 1_000)
        let msgs = events(s1).compactMap(\.message)
        XCTAssertEqual(msgs.filter { $0.hasPrefix("uplink") }, ["uplink: up Established", "uplink: start Active"], "\(msgs)")
        XCTAssertEqual(events(s1).last?.reason, "was up Established")
        XCTAssertEqual(s1.status.routing?.protocols.first?.state, "start")
    }

    func testASiblingOnAnotherLANIsCarriedWithoutProxyARPOnTheLAN() throws {
        s2.sysctl.values["net/ipv4/ip_forward"] = "0"
        try cluster.start(["s1", "s2"])
        XCTAssertEqual(s2.sysctl.values["net/ipv4/ip_forward"], "1",
                       "a carrier forwards from the start: BIRD's carried routes bring traffic before a TAKEOVER and after a RELEASE")
        cluster.advance(millis: 250)
        s1.carrier("eth0", false)
        s1.carrier("eth1", false)
        cluster.run()
        XCTAssertEqual(s1.status.pta.served_by?.state, "served")
        XCTAssertEqual(s2.status.pta.serving.first?.addresses, ["198.51.100.11"],
                       "asked for the announced addresses only: s1's LAN address is on a LAN s2 is not on")
        XCTAssertEqual(s1.routingEngine.calls.last, .withdraw)
        let route = KernelRoute(destination: IPv4Prefix(address: own[0], length: 32), device: "priv0")
        XCTAssertTrue(s2.kernel.routeTable.contains(route), "the sibling forwards over the private link")
        XCTAssertEqual(s2.sysctl.values["net/ipv4/conf/priv0/proxy_arp"], "1", "s1's way out: its master asks for its gateway on the private link")
        XCTAssertEqual(s2.kernel.proxies["hanet0"] ?? [], [], "s1's address is not on s2's LAN: no proxy entry there")
        XCTAssertFalse(s2.announcer.sent.contains { $0.address == own[0] }, "nor gratuitous ARP for it")
        XCTAssertEqual(s2.routingEngine.calls, [.load(announced: true)], "the sibling's own announcement is untouched")

        s1.carrier("eth0", true)
        cluster.run()
        XCTAssertEqual(s2.status.pta.serving.count, 0)
        XCTAssertEqual(s2.kernel.routeTable, [])
        XCTAssertEqual(s2.sysctl.values["net/ipv4/ip_forward"], "1", "still forwarding after the release")
        XCTAssertEqual(s2.sysctl.values["net/ipv4/conf/priv0/proxy_arp"], "0", "proxy ARP was the service's, and is gone")
        XCTAssertEqual(s1.routingEngine.calls.last, .announce(own))
    }
}
