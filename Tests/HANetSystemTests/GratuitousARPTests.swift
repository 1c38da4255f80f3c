import Foundation
import HANetCore
@testable import HANetSystem
import XCTest

final class GratuitousARPTests: XCTestCase {
    var spaces = TestNamespaces()

    override func tearDown() {
        spaces.cleanUp()
        super.tearDown()
    }

    func testAnnouncementUpdatesTheNeighboursEntry() throws {
        let a = try spaces.make("ga"), c = try spaces.make("gc")
        try Shell.run("/usr/sbin/ip", "-n", a, "link", "add", "ga0", "type", "veth", "peer", "name", "gc0", "netns", c)
        try spaces.ip(a, "addr", "add", "192.0.2.1/24", "dev", "ga0")
        try spaces.ip(c, "addr", "add", "192.0.2.10/24", "dev", "gc0")
        try spaces.ip(a, "link", "set", "ga0", "up")
        try spaces.ip(c, "link", "set", "gc0", "up")
        let client = try NetworkNamespace.run(c) { try Netlink() }
        let server = try NetworkNamespace.run(a) { try Netlink() }
        let serverAddress = IPv4Address("192.0.2.1")!
        XCTAssertTrue(waitFor(5) { spaces.pings(from: c, to: "192.0.2.1") })
        let original = try XCTUnwrap(server.link(named: "ga0")?.mac)
        func clientEntry() throws -> MACAddress? {
            try client.neighbours(on: "gc0").first { $0.address == serverAddress }?.mac
        }
        XCTAssertEqual(try clientEntry(), original)

        let moved = MACAddress("02:00:5e:00:53:0b")!
        let garp = GratuitousARP()
        var failures: [HANetError] = []
        garp.backgroundErrorHandler = { failures.append($0) }
        try NetworkNamespace.run(a) {
            try garp.announce(address: serverAddress, mac: moved, on: "ga0", count: 3, intervalMillis: 20)
        }
        XCTAssertTrue(try waitFor(5) { try clientEntry() == moved }, "the client never took the announced MAC")

        // Handles are cached per namespace: inside `a` again, the cached handle is reused.
        try NetworkNamespace.run(a) {
            try garp.announce(address: serverAddress, mac: original, on: "ga0", count: 1, intervalMillis: 0)
        }
        XCTAssertTrue(try waitFor(5) { try clientEntry() == original })
        XCTAssertThrowsError(try NetworkNamespace.run(a) {
            try garp.announce(address: serverAddress, mac: moved, on: "nosuch0", count: 1, intervalMillis: 0)
        }) { e in
            XCTAssertTrue("\(e)".contains("nosuch0"), "\(e)")
        }
        XCTAssertThrowsError(try garp.announce(address: serverAddress, mac: moved, on: "ga0", count: 0, intervalMillis: 0))
        // Outside `a` there is no ga0: the handle is not shared across namespaces.
        XCTAssertThrowsError(try garp.announce(address: serverAddress, mac: moved, on: "ga0", count: 1, intervalMillis: 0)) { e in
            XCTAssertEqual((e as? HANetError)?.code, .notFound, "\(e)")
        }
        XCTAssertTrue(failures.isEmpty, "\(failures)")

        // A slave that leaves gives its handle back: a device plugged in later
        // under the same name gets a fresh one at `prepare`.
        try NetworkNamespace.run(a) {
            XCTAssertEqual(garp.cachedInterfaces, ["ga0"])
            garp.release(on: "ga0")
            XCTAssertEqual(garp.cachedInterfaces, [])
            try garp.prepare(on: "ga0")
            XCTAssertEqual(garp.cachedInterfaces, ["ga0"])
        }
    }
}
