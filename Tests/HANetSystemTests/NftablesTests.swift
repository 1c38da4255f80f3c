import Foundation
import HANetCore
@testable import HANetSystem
import XCTest

/// client ns (c0 192.0.2.10) — bridge ns (br0: bc, b0, b1) — server ns (e0, e1 slaves; hanet0 192.0.2.1 ↔ hanet0p).
final class NftablesTests: XCTestCase {
    var spaces = TestNamespaces()

    override func tearDown() {
        spaces.cleanUp()
        super.tearDown()
    }

    func testSwitchingActiveSlaveCarriesTraffic() throws {
        let c = try spaces.make("c"), b = try spaces.make("b"), s = try spaces.make("s")
        try spaces.ip(b, "link", "add", "br0", "type", "bridge")
        try spaces.ip(b, "link", "add", "bc", "type", "veth", "peer", "name", "c0", "netns", c)
        try spaces.ip(b, "link", "add", "b0", "type", "veth", "peer", "name", "e0", "netns", s)
        try spaces.ip(b, "link", "add", "b1", "type", "veth", "peer", "name", "e1", "netns", s)
        for port in ["bc", "b0", "b1"] {
            try spaces.ip(b, "link", "set", port, "master", "br0", "up")
        }
        try spaces.ip(b, "link", "set", "br0", "up")
        try spaces.ip(c, "addr", "add", "192.0.2.10/24", "dev", "c0")
        try spaces.ip(c, "link", "set", "c0", "up")
        let nl = try NetworkNamespace.run(s) { try Netlink() }
        try nl.createVethPair("hanet0", peer: "hanet0p")
        try nl.addAddress(IPv4Prefix("192.0.2.1/24")!, to: "hanet0")
        for dev in ["hanet0", "hanet0p", "e0", "e1"] { try nl.setUp(dev, true) }

        let nft = try NetworkNamespace.run(s) { try Nftables() }
        XCTAssertNil(try nft.installed(table: "hnt"))
        XCTAssertFalse(spaces.pings(from: c, to: "192.0.2.1"), "nothing may be forwarded before a plan")

        // Applied from this thread (root namespace): the Nftables must still act in s.
        try nft.apply(ForwardingPlan(table: "hnt", port: "hanet0p", active: "e0"))
        XCTAssertTrue(waitFor(10, interval: 0) { spaces.pings(from: c, to: "192.0.2.1") }, "no ping through e0")
        XCTAssertTrue(try XCTUnwrap(nft.installed(table: "hnt")) == ("hanet0p", "e0"))
        XCTAssertTrue(try spaces.exec(s, "nft", "list", "table", "netdev", "hnt").contains("fwd to \"e0\""))

        try spaces.ip(b, "link", "set", "b0", "down")
        XCTAssertFalse(spaces.pings(from: c, to: "192.0.2.1"), "the broken slave must cut the path")
        try nft.apply(ForwardingPlan(table: "hnt", port: "hanet0p", active: "e1"))
        XCTAssertTrue(waitFor(10, interval: 0) { spaces.pings(from: c, to: "192.0.2.1") }, "no ping through e1")
        XCTAssertTrue(try XCTUnwrap(nft.installed(table: "hnt")) == ("hanet0p", "e1"))

        try nft.apply(ForwardingPlan(table: "hnt", port: "hanet0p", active: nil))
        XCTAssertTrue(try XCTUnwrap(nft.installed(table: "hnt")) == ("hanet0p", nil))
        XCTAssertFalse(spaces.pings(from: c, to: "192.0.2.1"))

        XCTAssertThrowsError(try nft.apply(ForwardingPlan(table: "hnt", port: "hanet0p", active: "nosuch9"))) { e in
            XCTAssertTrue("\(e)".contains("apply table netdev hnt") && "\(e)".contains("nosuch9"), "\(e)")
        }
        XCTAssertTrue(try XCTUnwrap(nft.installed(table: "hnt")) == ("hanet0p", nil), "a failed apply changes nothing")

        let timing = try NetworkNamespace.run(s) {
            try Nftables.benchmarkSwaps(nft, table: "hntbench", port: "hanet0p", slaves: ["e0", "e1"], count: 50)
        }
        print("Nftables.benchmarkSwaps: \(timing)")
        XCTAssertEqual(timing.count, 50)
        XCTAssertGreaterThan(timing.meanMillis, 0)
        XCTAssertLessThan(timing.meanMillis, 20, "a swap in process must not cost what spawning nft costs")

        try nft.remove(table: "hnt")
        try nft.remove(table: "hntbench")
        XCTAssertNil(try nft.installed(table: "hnt"))
        try nft.remove(table: "hnt")        // removing an absent table is not an error
    }

    func testL3PlanIsAcceptedByTheKernel() throws {
        let s = try spaces.make("l3")
        let nl = try NetworkNamespace.run(s) { try Netlink() }
        try nl.createVethPair("hanet0", peer: "hanet0p")
        try nl.createVethPair("tun9", peer: "tun9p")
        let nft = try NetworkNamespace.run(s) { try Nftables() }
        try nft.apply(ForwardingPlan(table: "hnt", port: "hanet0p", active: "tun9", layer: .l3,
                                     serviceAddresses: [IPv4Address("192.0.2.1")!], l3Peer: IPv4Address("169.254.7.2")!,
                                     drainNewConnections: true))
        XCTAssertTrue(try XCTUnwrap(nft.installed(table: "hnt")) == ("hanet0p", "tun9"))
        let listing = try spaces.exec(s, "nft", "list", "table", "netdev", "hnt")
        XCTAssertTrue(listing.contains("fwd ip to 169.254.7.2 device \"tun9\""), listing)
        XCTAssertTrue(listing.contains("drop"), listing)
    }

    /// A missing table is told from the tables that exist, never from error
    /// text: other netdev tables (one of them a prefix of the name) do not count,
    /// a table of that name that HANet did not make is reported as such, and
    /// the guard's counter reads nil, then 0.
    func testAMissingTableIsNilAmongOtherTables() throws {
        let s = try spaces.make("sy")
        let nl = try NetworkNamespace.run(s) { try Netlink() }
        try nl.createVethPair("hanet0", peer: "hanet0p")
        try nl.createVethPair("e0", peer: "e0p")
        let nft = try NetworkNamespace.run(s) { try Nftables() }
        try spaces.exec(s, "nft", "add", "table", "netdev", "hntx")
        try spaces.exec(s, "nft", "add", "table", "inet", "hnt")
        XCTAssertNil(try nft.installed(table: "hnt"))
        XCTAssertNil(try nft.guardDrops(table: "hnt"))

        try spaces.exec(s, "nft", "add", "table", "netdev", "hnt")
        XCTAssertThrowsError(try nft.installed(table: "hnt")) { e in
            XCTAssertEqual((e as? HANetError)?.code, .state, "\(e)")
        }
        try nft.remove(table: "hnt")
        try nft.apply(ForwardingPlan(table: "hnt", port: "hanet0p", active: "e0"))
        XCTAssertTrue(try XCTUnwrap(nft.installed(table: "hnt")) == ("hanet0p", "e0"))
        try nft.applyGuard(PTAGuard(table: "hnt", port: 7405, publicSlaves: ["e0"]))
        XCTAssertEqual(try nft.guardDrops(table: "hnt"), 0)
        XCTAssertTrue(try XCTUnwrap(nft.installed(table: "hnt")) == ("hanet0p", "e0"), "the guard's rules are not the table's")
    }

    func testKernelSupportCheckPasses() throws {
        let s = try spaces.make("ks")
        try NetworkNamespace.run(s) { try KernelSupport.check() }
        XCTAssertFalse(try spaces.ip(s, "link", "show").contains("hnchk"), "the probe veth pair must be deleted")
    }
}

/// The swap timing the test prints (a figure, not a goal): only tests use it.
extension Nftables {
    struct SwapTiming: Sendable, CustomStringConvertible {
        var count: Int
        var meanMillis: Double
        var maxMillis: Double
        var minMillis: Double
        var description: String {
            "\(count) swaps: mean \(UTCTimestamp.fixed(meanMillis, 3)) ms, min \(UTCTimestamp.fixed(minMillis, 3)) ms, max \(UTCTimestamp.fixed(maxMillis, 3)) ms"
        }
    }

    /// Times `count` switches of the active slave, alternating over `slaves`
    /// (the first apply, which builds libnftables' caches, is not counted).
    /// The interfaces must exist in this `Nftables`' namespace; the table is
    /// left with the last plan applied.
    static func benchmarkSwaps(_ nft: Nftables, table: String, port: String, slaves: [String],
                                      count: Int = 50) throws -> SwapTiming {
        guard !slaves.isEmpty, count > 0 else {
            throw HANetError(.usage, "benchmarkSwaps: expected at least one slave and a positive count")
        }
        let clock = SystemClock()
        try nft.apply(ForwardingPlan(table: table, port: port, active: slaves[0]))
        var total: UInt64 = 0, worst: UInt64 = 0, best = UInt64.max
        for i in 0..<count {
            let plan = ForwardingPlan(table: table, port: port, active: slaves[(i + 1) % slaves.count])
            let t0 = clock.nowNanos()
            try nft.apply(plan)
            let dt = clock.nowNanos() - t0
            total += dt
            worst = max(worst, dt)
            best = min(best, dt)
        }
        return SwapTiming(count: count, meanMillis: Double(total) / Double(count) / 1e6,
                          maxMillis: Double(worst) / 1e6, minMillis: Double(best) / 1e6)
    }
}
