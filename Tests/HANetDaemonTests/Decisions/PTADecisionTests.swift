import Foundation
@testable import HANetCore
@testable import HANetDaemon
@testable import HANetSystem
import XCTest

/// Takeover, release and lease expiry between two daemons on fakes, joined
/// by a fake private link that carries real, signed PTA datagrams: the
/// sequencing of both sides and what the sibling changes in its kernel.
final class PTADecisionTests: DecisionTestCase {
    var s1: DecisionNode { cluster["s1"] }
    var s2: DecisionNode { cluster["s2"] }

    override func setUpWithError() throws {
        try super.setUpWithError()
        cluster.add("s1")
        cluster.add("s2")
    }

    /// Both nodes up, each told the other's readiness.
    func startPair() throws {
        try cluster.start(["s1", "s2"])
        cluster.advance(millis: 250)
        XCTAssertEqual(s1.status.siblings?.first?.readiness, "ready", "s1 heard s2's READINESS")
    }

    /// s1 loses both public links.
    func cutS1() {
        s1.carrier("eth0", false)
        s1.carrier("eth1", false)
        cluster.run()
    }

    var servedAddress: IPv4Address { IPv4Address("198.51.100.11")! }

    func testAllPublicLinksDownMeansTakeoverBySibling() throws {
        try startPair()
        cutS1()
        XCTAssertEqual(s1.active, "priv0")
        XCTAssertEqual(s1.status.pta.served_by?.state, "served", "TAKEOVER sent, ACK received, in one run of both executors")
        XCTAssertEqual(s2.status.pta.serving.map(\.sibling), ["s1"])
        XCTAssertEqual(cluster.wire.sent.first { $0.type == .takeover }?.from, "s1")
        // What the sibling changed to carry s1 (paper §3.5).
        XCTAssertTrue(s2.kernel.routeTable.contains(KernelRoute(destination: IPv4Prefix(address: servedAddress, length: 32), device: "priv0")))
        XCTAssertEqual(s2.kernel.proxies["hanet0"], [servedAddress])
        XCTAssertEqual(s2.sysctl.values["net/ipv4/ip_forward"], "1")
        XCTAssertEqual(s2.sysctl.values["net/ipv4/conf/priv0/proxy_arp"], "1")
        XCTAssertEqual(s2.sysctl.values["net/ipv4/neigh/priv0/proxy_delay"], "0")
        // The LAN learns s1's address at s2's active public slave, with s2's master MAC.
        let mac = try XCTUnwrap(s2.kernel.linksByName["hanet0"]?.mac)
        XCTAssertTrue(s2.announcer.sent.contains(.init(address: servedAddress, mac: mac, interface: "eth0", count: 3)))
        // s1's master flushed its neighbours when the path became private, and again once served.
        XCTAssertGreaterThanOrEqual(s1.kernel.flushed.filter { $0 == "hanet0" }.count, 2)
    }

    func testHealReleasesAndRestoresTheSiblingExactly() throws {
        s2.sysctl.values = ["net/ipv4/ip_forward": "0", "net/ipv4/conf/priv0/proxy_arp": "0",
                            "net/ipv4/neigh/priv0/proxy_delay": "80", "net/ipv4/neigh/hanet0/proxy_delay": "80"]
        try startPair()
        let before = s2.sysctl.values
        cutS1()
        XCTAssertEqual(s2.status.pta.serving.count, 1)
        s1.carrier("eth0", true)
        cluster.run()
        XCTAssertEqual(s1.active, "eth0", "failback to a public slave")
        XCTAssertNil(s1.status.pta.served_by)
        XCTAssertEqual(cluster.wire.sent.last { $0.from == "s1" && $0.type != .readiness }?.type, .release)
        XCTAssertEqual(s2.status.pta.serving.count, 0)
        XCTAssertEqual(s2.sysctl.values.filter { before[$0.key] != nil }, before, "every sysctl back to what it was")
        XCTAssertEqual(s2.kernel.routeTable, [])
        XCTAssertEqual(s2.kernel.proxies["hanet0"] ?? [], [])
    }

    func testTheLeaseLapsesWhenTheRequesterFallsSilent() throws {
        try startPair()
        cutS1()
        XCTAssertEqual(s2.status.pta.serving.count, 1)
        // The private link is cut both ways: no RENEW reaches s2.
        cluster.wire.cut = [IPv4Address("169.254.77.1")!, IPv4Address("169.254.77.2")!]
        cluster.advance(millis: 2900)
        XCTAssertEqual(s2.status.pta.serving.count, 1, "the lease (3 s) still runs")
        cluster.advance(millis: 200)
        XCTAssertEqual(s2.status.pta.serving.count, 0, "lease expired")
        XCTAssertEqual(s2.kernel.routeTable, [])
    }

    func testASiblingWithoutAGoodPublicLinkIsNotReadyAndRefuses() throws {
        try startPair()
        s2.carrier("eth0", false)
        s2.carrier("eth1", false)
        cluster.advance(millis: 250)
        XCTAssertEqual(s1.status.siblings?.first?.readiness, "unable")
        cutS1()
        XCTAssertEqual(s1.active, "priv0", "the only GOOD slave left")
        XCTAssertNotEqual(s1.status.pta.served_by?.state, "served")
        XCTAssertEqual(s2.status.pta.serving.count, 0, "s2 cannot carry anyone")
        XCTAssertEqual(s2.kernel.routeTable, [])
    }

    func testServiceEndsWhenTheSiblingLosesItsOwnPublicLinks() throws {
        try startPair()
        cutS1()
        XCTAssertEqual(s2.status.pta.serving.count, 1)
        s2.carrier("eth0", false)
        s2.carrier("eth1", false)
        cluster.run()
        XCTAssertEqual(s2.status.pta.serving.count, 0, "serving from a private link would only move the black hole")
        XCTAssertEqual(s2.kernel.proxies["hanet0"] ?? [], [])
    }

    func testAPrivateLinkGoingBadEndsTheServicesOverIt() throws {
        try startPair()
        cutS1()
        XCTAssertEqual(s2.status.pta.serving.count, 1)
        s2.carrier("priv0", false)
        cluster.run()
        XCTAssertEqual(s2.status.pta.serving.count, 0)
        XCTAssertEqual(s2.kernel.routeTable, [])
    }

    func testAPublicSwitchOnTheSiblingAnnouncesTheServedAddressesAgain() throws {
        try startPair()
        cutS1()
        let announced = s2.announcer.sent.count
        s2.carrier("eth0", false)
        cluster.run()
        XCTAssertEqual(s2.active, "eth1")
        let eth1MAC = try XCTUnwrap(s2.kernel.linksByName["eth1"]?.mac)
        XCTAssertTrue(s2.announcer.sent.dropFirst(announced).contains(.init(address: servedAddress, mac: eth1MAC, interface: "eth1", count: 3)))
        XCTAssertEqual(s2.status.pta.serving.count, 1)
    }

    func testDatagramsFromAPublicLinkAreRefusedBeforeTheExecutor() throws {
        try startPair()
        let ran = s2.executor.ranCount
        // A valid-looking datagram that arrives on eth0 (not a private link).
        let eth0 = try XCTUnwrap(s2.kernel.linksByName["eth0"]?.index)
        s2.socket?.receive([UInt8](repeating: 0, count: 64), IPv4Address("198.51.100.99")!, eth0)
        XCTAssertEqual(s2.executor.ranCount, ran)
        cluster.run()
        XCTAssertEqual(s2.executor.ranCount, ran, "nothing reached the executor")
        XCTAssertEqual(s2.status.refused?[RefusalReason.ptaNotPrivateLink.rawValue], 1)
    }
}
