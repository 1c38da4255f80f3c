import HANetCore
@testable import HANetSystem
import XCTest

final class NetlinkTests: XCTestCase {
    var spaces = TestNamespaces()

    override func tearDown() {
        spaces.cleanUp()
        super.tearDown()
    }

    func testLinkAttributesAddressesRoutesAndProxyEntries() throws {
        let ns = try spaces.make("nl")
        let nl = try NetworkNamespace.run(ns) { try Netlink() }
        try nl.createVethPair("hv0", peer: "hv1")
        XCTAssertThrowsError(try nl.createVethPair("hv0", peer: "hv2")) { e in
            XCTAssertTrue("\(e)".contains("create veth pair hv0/hv2"), "\(e)")
        }
        // The pair must be in the namespace the socket was opened in, not the caller's.
        XCTAssertTrue(try spaces.ip(ns, "link", "show", "hv1").contains("hv1@hv0"))
        try nl.setUp("hv0", true)
        try nl.setUp("hv1", true)

        let mac = MACAddress("02:00:5e:00:53:01")!
        try nl.setMTU("hv0", 9000)
        try nl.setMAC("hv0", mac)           // live change on an UP veth
        try nl.setNoARP("hv0", true)
        try nl.setTxQueueLength("hv0", 77)
        var l = try XCTUnwrap(nl.link(named: "hv0"))
        XCTAssertEqual(l.mtu, 9000)
        XCTAssertEqual(l.mac, mac)
        XCTAssertTrue(l.noARP)
        XCTAssertTrue(l.isUp)
        XCTAssertEqual(l.txQueueLength, 77)
        try nl.setNoARP("hv0", false)
        l = try XCTUnwrap(nl.link(named: "hv0"))
        XCTAssertFalse(l.noARP)
        XCTAssertTrue(try spaces.ip(ns, "link", "show", "hv0").contains("mtu 9000"))
        XCTAssertTrue(try nl.links().contains { $0.name == "hv1" && $0.index > 0 })
        XCTAssertNil(try nl.link(named: "nosuch0"))
        XCTAssertThrowsError(try nl.setMTU("nosuch0", 1500)) { e in
            XCTAssertEqual((e as? HANetError)?.code, .notFound)
            XCTAssertTrue("\(e)".contains("set MTU of nosuch0 to 1500"), "\(e)")
        }
        XCTAssertThrowsError(try nl.setMTU("hv0", 10)) { e in
            XCTAssertTrue("\(e)".hasPrefix("set MTU of hv0 to 10: "), "\(e)")
        }

        let p = IPv4Prefix("192.0.2.1/24")!
        try nl.addAddress(p, to: "hv0")
        XCTAssertEqual(try nl.addresses(of: "hv0"), [p])
        XCTAssertTrue(try spaces.ip(ns, "addr", "show", "dev", "hv0").contains("192.0.2.1/24"))

        let r = KernelRoute(destination: IPv4Prefix("198.51.100.0/24")!, device: "hv0", gateway: IPv4Address("192.0.2.2")!)
        let host = KernelRoute(destination: IPv4Prefix("203.0.113.9/32")!, device: "hv1")
        try nl.addRoute(r)
        try nl.addRoute(host)
        let routes = try nl.routes()
        XCTAssertTrue(routes.contains(r), "\(routes)")
        XCTAssertTrue(routes.contains(host), "\(routes)")
        XCTAssertTrue(routes.contains(KernelRoute(destination: IPv4Prefix("192.0.2.0/24")!, device: "hv0")), "\(routes)")
        XCTAssertTrue(try spaces.ip(ns, "route", "show").contains("198.51.100.0/24 via 192.0.2.2 dev hv0"))
        try nl.deleteRoute(r)
        try nl.deleteRoute(host)
        XCTAssertFalse(try nl.routes().contains(r))
        XCTAssertFalse(try nl.routes().contains(host))

        let a1 = IPv4Address("203.0.113.5")!, a2 = IPv4Address("203.0.113.6")!
        try nl.addProxyNeighbour(a1, on: "hv0")
        try nl.addProxyNeighbour(a2, on: "hv0")
        try nl.addProxyNeighbour(a2, on: "hv1")
        XCTAssertEqual(Set(try nl.proxyNeighbours(on: "hv0")), [a1, a2])
        XCTAssertEqual(try nl.proxyNeighbours(on: "hv1"), [a2])
        XCTAssertTrue(try spaces.ip(ns, "neigh", "show", "proxy").contains("203.0.113.5 dev hv0"))
        try nl.deleteProxyNeighbour(a1, on: "hv0")
        XCTAssertEqual(try nl.proxyNeighbours(on: "hv0"), [a2])

        try nl.deleteAddress(p, from: "hv0")
        XCTAssertEqual(try nl.addresses(of: "hv0"), [])
        try nl.deleteLink(named: "hv0")
        XCTAssertNil(try nl.link(named: "hv1"))
        XCTAssertThrowsError(try nl.deleteLink(named: "hv0")) { e in
            XCTAssertEqual((e as? HANetError)?.code, .notFound)
        }
    }

    func testFlushNeighboursRemovesLearnedEntries() throws {
        let a = try spaces.make("fa"), b = try spaces.make("fb")
        try Shell.run("/usr/sbin/ip", "-n", a, "link", "add", "fa0", "type", "veth", "peer", "name", "fb0", "netns", b)
        try spaces.ip(a, "addr", "add", "192.0.2.1/24", "dev", "fa0")
        try spaces.ip(b, "addr", "add", "192.0.2.2/24", "dev", "fb0")
        try spaces.ip(a, "link", "set", "fa0", "up")
        try spaces.ip(b, "link", "set", "fb0", "up")
        try spaces.ip(a, "neigh", "add", "192.0.2.99", "lladdr", "02:00:00:00:00:99", "dev", "fa0", "nud", "permanent")
        let nl = try NetworkNamespace.run(a) { try Netlink() }
        XCTAssertTrue(waitFor(5) { self.spaces.pings(from: a, to: "192.0.2.2") })
        let learned = try nl.neighbours(on: "fa0").first { $0.address == IPv4Address("192.0.2.2")! }
        XCTAssertNotNil(learned?.mac)
        XCTAssertEqual(learned?.isDynamic, true)
        try nl.flushNeighbours(on: "fa0")
        let after = try nl.neighbours(on: "fa0")
        XCTAssertFalse(after.contains { $0.address == IPv4Address("192.0.2.2")! && $0.mac != nil }, "\(after)")
        XCTAssertTrue(after.contains { $0.address == IPv4Address("192.0.2.99")! }, "permanent entries stay: \(after)")
    }
}
