import Foundation
@testable import HANetCore
@testable import HANetDaemon
@testable import HANetSystem
import XCTest

/// A takeover of a dual-stack pair on the fakes: the sibling carries the
/// IPv6 service address too (proxy NDP, /128 route, its gateway address on
/// the private link, its own NAs), the served node routes its LAN prefix
/// via that gateway, and everything is undone exactly on release and on
/// lease expiry.
final class PTAIPv6DecisionTests: DecisionTestCase {
    var s1: DecisionNode { cluster["s1"] }
    var s2: DecisionNode { cluster["s2"] }
    let served6 = IPv6Address("2001:db8::11")!
    /// fe80:: with s2's private-link address 169.254.77.2 embedded.
    let gateway = IPv6Prefix("fe80::a9fe:4d02/64")!

    static func dualStack(_ text: String) -> String {
        var t = text
        for (v4, v6) in [("198.51.100.11/24", "2001:db8::11/64"), ("198.51.100.12/24", "2001:db8::12/64"),
                         ("198.51.100.11/32", "2001:db8::11/128"), ("198.51.100.12/32", "2001:db8::12/128")] {
            t = t.replacingOccurrences(of: "addresses = [\"\(v4)\"]", with: "addresses = [\"\(v4)\", \"\(v6)\"]")
        }
        return t
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        for n in ["s1", "s2"] {
            let node = cluster.add(n, config: Self.dualStack(DecisionCluster.pairConfig(n, dir: cluster.dir)))
            // Linux 6.1: no per-interface force_forwarding; the master takes RAs.
            node.sysctl.absent = ["net/ipv6/conf/all/force_forwarding"]
            node.sysctl.values = ["net/ipv6/conf/hanet0/accept_ra": "1", "net/ipv6/conf/all/forwarding": "0",
                                  "net/ipv6/neigh/priv0/proxy_delay": "80", "net/ipv6/neigh/hanet0/proxy_delay": "80"]
        }
    }

    func startPair() throws {
        try cluster.start(["s1", "s2"])
        cluster.advance(millis: 250)
        XCTAssertEqual(s1.status.siblings?.first?.readiness, "ready")
    }

    func cutS1() {
        s1.carrier("eth0", false)
        s1.carrier("eth1", false)
        cluster.run()
    }

    /// The sibling's IPv6 state that serving changes.
    func siblingState() -> String {
        let k = s2.kernel
        let devs = ["all", "default", "hanet0", "hanet0p", "eth0", "eth1", "priv0"]
        let keys = devs.map { "net/ipv6/conf/\($0)/forwarding" } + ["net/ipv6/conf/hanet0/accept_ra"]
            + ["hanet0", "priv0"].flatMap { ["net/ipv6/conf/\($0)/proxy_ndp", "net/ipv6/neigh/\($0)/proxy_delay"] }
        return "\(k.ipv6Proxies["hanet0"] ?? []) \(k.ipv6RouteTable) \(k.ipv6AddressesByLink["priv0"] ?? []) "
            + keys.map { "\($0)=\((try? s2.sysctl.read($0)) ?? "-")" }.joined(separator: " ")
    }

    func testTheSiblingCarriesTheIPv6AddressAndTheServedNodeRoutesViaIt() throws {
        try startPair()
        cutS1()
        XCTAssertEqual(s1.status.pta.served_by?.state, "served")
        XCTAssertEqual(s1.status.pta.served_by?.addresses, ["198.51.100.11", "2001:db8::11"])
        XCTAssertEqual(s2.status.pta.serving.first?.addresses, ["198.51.100.11", "2001:db8::11"])
        XCTAssertEqual(s2.kernel.ipv6Proxies["hanet0"], [served6])
        XCTAssertEqual(s2.kernel.ipv6RouteTable, [KernelIPv6Route(destination: IPv6Prefix(address: served6, length: 128), device: "priv0")])
        XCTAssertEqual(s2.kernel.ipv6AddressesByLink["priv0"]?.map(\.prefix), [gateway])
        XCTAssertEqual(s2.sysctl.values["net/ipv6/conf/all/forwarding"], "1")
        XCTAssertEqual(s2.sysctl.values["net/ipv6/conf/hanet0/accept_ra"], "2", "a forwarding master still takes its router from RAs")
        for dev in ["hanet0", "priv0"] {
            XCTAssertEqual(s2.sysctl.values["net/ipv6/conf/\(dev)/proxy_ndp"], "1", dev)
            XCTAssertEqual(s2.sysctl.values["net/ipv6/neigh/\(dev)/proxy_delay"], "0", dev)
        }
        let mac = try XCTUnwrap(s2.kernel.linksByName["hanet0"]?.mac)
        XCTAssertTrue(s2.announcer.sentNA.contains(.init(address: served6, mac: mac, interface: "eth0", count: 3, intervalMillis: 100)),
                      "\(s2.announcer.sentNA)")
        let gw = PTAIPv6Path.gateway(siblingEnd: IPv4Address("169.254.77.2")!)
        XCTAssertEqual(s1.kernel.ipv6RouteTable, [
            KernelIPv6Route(destination: IPv6Prefix("2001:db8::/65")!, device: "hanet0", gateway: gw),
            KernelIPv6Route(destination: IPv6Prefix("2001:db8:0:0:8000::/65")!, device: "hanet0", gateway: gw),
        ])
    }

    func testHealRestoresBothSidesExactly() throws {
        try startPair()
        let before = siblingState()
        cutS1()
        XCTAssertNotEqual(siblingState(), before)
        s1.carrier("eth0", true)
        cluster.run()
        XCTAssertEqual(s1.active, "eth0")
        XCTAssertEqual(s2.status.pta.serving.count, 0)
        XCTAssertEqual(siblingState(), before)
        XCTAssertEqual(s1.kernel.ipv6RouteTable, [], "the on-link route serves again")
    }

    func testLeaseExpiryRestoresTheSibling() throws {
        try startPair()
        let before = siblingState()
        cutS1()
        XCTAssertEqual(s2.status.pta.serving.count, 1)
        cluster.wire.cut = [IPv4Address("169.254.77.1")!, IPv4Address("169.254.77.2")!]
        cluster.advance(millis: 5000)
        XCTAssertEqual(s2.status.pta.serving.count, 0)
        XCTAssertEqual(siblingState(), before)
    }

    func testEveryMessageSaysItSpeaksIPv6AndTheSiblingIsRemembered() throws {
        try startPair()
        XCTAssertEqual(s1.daemon.executor.sync { s1.daemon.pta?.speaksIPv6 }, ["s2": true])
        XCTAssertEqual(s2.daemon.executor.sync { s2.daemon.pta?.speaksIPv6 }, ["s1": true])
    }

    func testASiblingNotKnownToSpeakIPv6IsAskedForIPv4OnlyAndForBothOnceItSaysSo() throws {
        try startPair()
        // As if s2's READINESS had not come yet: s1 must send it version 1 only.
        s1.daemon.executor.sync { s1.daemon.pta?.speaksIPv6["s2"] = false }
        cutS1()
        XCTAssertEqual(s1.status.pta.served_by?.state, "served")
        XCTAssertEqual(s2.status.pta.serving.first?.addresses, ["198.51.100.11"])
        XCTAssertEqual(s2.kernel.ipv6Proxies["hanet0"] ?? [], [])
        XCTAssertEqual(s1.kernel.ipv6RouteTable, [], "no IPv6 route via a sibling that does not carry IPv6")
        // s2's next READINESS says it speaks IPv6; the next RENEW asks for both.
        cluster.advance(millis: 1500)
        XCTAssertEqual(s2.status.pta.serving.first?.addresses, ["198.51.100.11", "2001:db8::11"])
        XCTAssertEqual(s2.kernel.ipv6Proxies["hanet0"], [served6])
        XCTAssertEqual(s1.kernel.ipv6RouteTable.count, 2)
    }
}
