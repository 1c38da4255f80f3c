import Foundation
import HANetCore
@testable import HANetSystem
import XCTest

final class LinkMonitorTests: XCTestCase {
    var spaces = TestNamespaces()

    override func tearDown() {
        spaces.cleanUp()
        super.tearDown()
    }

    private final class Events: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [KernelLinkEvent] = []
        func add(_ e: KernelLinkEvent) { lock.lock(); list.append(e); lock.unlock() }
        var all: [KernelLinkEvent] { lock.lock(); defer { lock.unlock() }; return list }
    }

    /// More notifications than the socket holds while nobody reads: the
    /// monitor says so once it reads again, so the owner can resynchronise.
    func testOverrunIsReported() throws {
        let ns = try spaces.make("lo")
        final class Count: @unchecked Sendable {
            private let lock = NSLock()
            private var n = 0
            func add() { lock.lock(); n += 1; lock.unlock() }
            var value: Int { lock.lock(); defer { lock.unlock() }; return n }
        }
        let overruns = Count()
        let monitor = try NetworkNamespace.run(ns) { try LinkMonitor(onOverrun: { overruns.add() }) { _ in } }
        defer { monitor.stop() }
        try spaces.ip(ns, "link", "add", "lo0", "type", "veth", "peer", "name", "lo1")
        let batch = NSTemporaryDirectory() + "hanet-overrun-\(getpid()).batch"
        try (0..<3000).map { "link set lo0 \($0 % 2 == 0 ? "up" : "down")" }.joined(separator: "\n")
            .write(toFile: batch, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: batch) }
        try spaces.ip(ns, "-batch", batch)
        monitor.start()
        XCTAssertTrue(waitFor(5) { overruns.value > 0 }, "3000 unread link notifications did not overflow the socket")
    }

    func testCarrierLossOfVethPeerIsReported() throws {
        let ns = try spaces.make("lm")
        let events = Events()
        let (monitor, nl) = try NetworkNamespace.run(ns) { (try LinkMonitor { events.add($0) }, try Netlink()) }
        monitor.start()
        defer { monitor.stop() }
        try nl.createVethPair("lm0", peer: "lm1")
        try nl.setUp("lm0", true)
        try nl.setUp("lm1", true)
        XCTAssertTrue(waitFor(5) { events.all.contains { $0.link.name == "lm0" && $0.link.hasCarrier } },
                      "no carrier-up event for lm0: \(events.all.map(\.link.name))")
        let up = events.all.last { $0.link.name == "lm0" }!
        XCTAssertEqual(up.link.mtu, 1500)
        XCTAssertNotNil(up.link.mac)
        XCTAssertEqual(up.link.operState, 6)
        XCTAssertEqual(up.link.txQueueLength, 1000)

        // The latency floor: from just before the request that drops the peer to the stamped receive.
        var latencies: [Double] = []
        for round in 0..<5 {
            let before = SystemClock().nowNanos()
            try nl.setUp("lm1", false)
            XCTAssertTrue(waitFor(5) { events.all.contains { $0.link.name == "lm0" && !$0.link.hasCarrier && $0.timestampNanos >= before } },
                          "no carrier-loss event for lm0 in round \(round)")
            let down = events.all.first { $0.link.name == "lm0" && !$0.link.hasCarrier && $0.timestampNanos >= before }!
            XCTAssertEqual(down.link.flags & KernelLink.flagLowerUp, 0)
            XCTAssertTrue(down.link.isUp, "lm0 itself stays administratively up")
            XCTAssertFalse(down.removed)
            latencies.append(Double(down.timestampNanos - before) / 1e6)
            let again = SystemClock().nowNanos()
            try nl.setUp("lm1", true)
            XCTAssertTrue(waitFor(5) { events.all.contains { $0.link.name == "lm0" && $0.link.hasCarrier && $0.timestampNanos >= again } })
        }
        print("LinkMonitor: carrier-loss event after the netlink request started: " +
              latencies.map { String(format: "%.3f", $0) }.joined(separator: ", ") + " ms")

        try nl.deleteLink(named: "lm0")
        XCTAssertTrue(waitFor(5) { events.all.contains { $0.link.name == "lm1" && $0.removed } })
        monitor.stop()
        let count = events.all.count
        try nl.createVethPair("lm2", peer: "lm3")
        // Nothing may arrive after stop() returned; give the kernel the same time it needed above.
        XCTAssertFalse(waitFor(0.2) { events.all.count != count })
    }
}
