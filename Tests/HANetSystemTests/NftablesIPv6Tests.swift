import Foundation
import HANetCore
@testable import HANetSystem
import XCTest

/// client ns (c0: 2001:db8:1::99, 2001:db8:ff::2) — veth — server ns (e0, a
/// private slave with its own 2001:db8:ff::1; hanet0 2001:db8:1::11 ↔ hanet0p).
final class NftablesIPv6Tests: XCTestCase {
    var spaces = TestNamespaces(prefix: "hnt-v6")

    override func tearDown() {
        spaces.cleanUp()
        super.tearDown()
    }

    func testIPv6ThroughTheMasterAndNDForTheSlavesOwnAddressStaysOnIt() throws {
        let c = try spaces.make("c"), s = try spaces.make("s")
        try spaces.ip(c, "link", "add", "c0", "type", "veth", "peer", "name", "e0", "netns", s)
        for a in ["2001:db8:1::99/64", "2001:db8:ff::2/64"] { try spaces.ip(c, "addr", "add", a, "dev", "c0", "nodad") }
        try spaces.ip(c, "link", "set", "c0", "up")
        let nl = try NetworkNamespace.run(s) { try Netlink() }
        try nl.createVethPair("hanet0", peer: "hanet0p")
        try spaces.ip(s, "addr", "add", "2001:db8:1::11/64", "dev", "hanet0", "nodad")
        try spaces.ip(s, "addr", "add", "2001:db8:ff::1/64", "dev", "e0", "nodad")
        for dev in ["hanet0", "hanet0p", "e0"] { try nl.setUp(dev, true) }

        let nft = try NetworkNamespace.run(s) { try Nftables() }
        let service = [IPv6Address("2001:db8:1::11")!]
        let own = [IPv6Address("2001:db8:ff::1")!]
        // Without the exemption the NS for e0's own address is forwarded to the master, which does not answer it.
        try nft.apply(ForwardingPlan(table: "hnt6", port: "hanet0p", active: "e0", ipv6ServiceAddresses: service))
        XCTAssertTrue(waitFor(10, interval: 0) { spaces.pings6(from: c, to: "2001:db8:1::11") }, "no IPv6 ping to the master through e0")
        XCTAssertFalse(spaces.pings6(from: c, to: "2001:db8:ff::1"), "the slave's own address must be unreachable without its exemption")

        try nft.apply(ForwardingPlan(table: "hnt6", port: "hanet0p", active: "e0", ipv6ServiceAddresses: service,
                                     slaveOwnIPv6Addresses: own))
        try spaces.ip(c, "-6", "neigh", "flush", "dev", "c0")
        XCTAssertTrue(waitFor(10, interval: 0) { spaces.pings6(from: c, to: "2001:db8:ff::1") }, "no IPv6 ping to the slave's own address")
        XCTAssertTrue(spaces.pings6(from: c, to: "2001:db8:1::11"), "the service address must still be reached through the master")
        // The client resolved each address to the side that holds it.
        let neigh = try spaces.ip(c, "-6", "neigh", "show", "dev", "c0")
        let e0MAC = try spaces.ip(s, "-br", "link", "show", "e0").split(separator: " ", omittingEmptySubsequences: true)[2]
        let masterMAC = try spaces.ip(s, "-br", "link", "show", "hanet0").split(separator: " ", omittingEmptySubsequences: true)[2]
        XCTAssertTrue(neigh.contains("2001:db8:ff::1 lladdr \(e0MAC)"), neigh)
        XCTAssertTrue(neigh.contains("2001:db8:1::11 lladdr \(masterMAC)"), neigh)
    }

    func testL3IPv6PlanIsAcceptedByTheKernel() throws {
        let s = try spaces.make("l3")
        let nl = try NetworkNamespace.run(s) { try Netlink() }
        try nl.createVethPair("hanet0", peer: "hanet0p")
        try nl.createVethPair("tun9", peer: "tun9p")
        let nft = try NetworkNamespace.run(s) { try Nftables() }
        try nft.apply(ForwardingPlan(table: "hnt6", port: "hanet0p", active: "tun9", layer: .l3,
                                     serviceAddresses: [IPv4Address("192.0.2.1")!], l3Peer: IPv4Address("169.254.7.2")!,
                                     drainNewConnections: true, ipv6ServiceAddresses: [IPv6Address("2001:db8:1::11")!],
                                     ipv6L3Peer: IPv6Address("2001:db8:ff::2")!, slaveOwnIPv6Addresses: [IPv6Address("2001:db8:ff::1")!]))
        XCTAssertTrue(try XCTUnwrap(nft.installed(table: "hnt6")) == ("hanet0p", "tun9"))
        let listing = try spaces.exec(s, "nft", "list", "table", "netdev", "hnt6")
        XCTAssertTrue(listing.contains("fwd ip6 to 2001:db8:ff::2 device \"tun9\""), listing)
        XCTAssertTrue(listing.contains("fwd ip6 to 2001:db8:1::11 device \"hanet0p\""), listing)
        XCTAssertTrue(listing.contains("ip6 daddr 2001:db8:1::11 tcp flags syn / syn,ack drop"), listing)
    }
}
