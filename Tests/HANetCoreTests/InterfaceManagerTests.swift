import XCTest
@testable import HANetCore

final class InterfaceManagerTests: XCTestCase {
    func slave(_ name: String, _ role: LinkRole = .public, speed: UInt64 = 1_000_000_000, priority: Int = 0,
               order: Int = 0, _ health: Health = .good) -> SlaveCandidate {
        SlaveCandidate(interface: name, role: role, speedBitsPerSecond: speed, priority: priority, order: order, health: health)
    }

    func testPublicBeatsFasterPrivate() {
        let d = InterfaceManager.choose([slave("priv0", .private, speed: 10_000_000_000, order: 0),
                                         slave("eth0", .public, speed: 100_000_000, order: 1)],
                                        current: nil, failback: true)
        XCTAssertEqual(d.active, "eth0")
    }

    func testSpeedThenPriorityThenOrder() {
        let s = [slave("a", speed: 1_000, priority: 9, order: 0), slave("b", speed: 2_000, order: 1)]
        XCTAssertEqual(InterfaceManager.choose(s, current: nil, failback: true).active, "b")
        let p = [slave("a", priority: 1, order: 1), slave("b", priority: 5, order: 2)]
        XCTAssertEqual(InterfaceManager.choose(p, current: nil, failback: true).active, "b")
        let o = [slave("x", order: 2), slave("y", order: 1)]
        XCTAssertEqual(InterfaceManager.choose(o, current: nil, failback: true).active, "y")
    }

    func testBadActiveIsReplacedByBestGood() {
        let s = [slave("eth0", order: 0, .bad), slave("eth1", order: 1), slave("priv0", .private, order: 2)]
        let d = InterfaceManager.choose(s, current: "eth0", failback: true)
        XCTAssertEqual(d.active, "eth1")
        XCTAssertTrue(d.reason.contains("eth0 is BAD"), d.reason)
    }

    func testAllPublicBadGoesPrivate() {
        let s = [slave("eth0", order: 0, .bad), slave("eth1", order: 1, .bad), slave("priv0", .private, order: 2)]
        XCTAssertEqual(InterfaceManager.choose(s, current: "eth1", failback: true).active, "priv0")
    }

    func testFailbackOnlyToBetterClass() {
        let s = [slave("eth0", order: 0), slave("eth1", order: 1)]
        // eth1 took over; eth0 is GOOD again but of the same class: stay (no needless switch).
        XCTAssertEqual(InterfaceManager.choose(s, current: "eth1", failback: true).active, "eth1")
        let p = [slave("eth0", order: 0), slave("priv0", .private, order: 1)]
        XCTAssertEqual(InterfaceManager.choose(p, current: "priv0", failback: true).active, "eth0")
        XCTAssertEqual(InterfaceManager.choose(p, current: "priv0", failback: false).active, "priv0")
    }

    func testNothingGoodKeepsCurrent() {
        let s = [slave("eth0", order: 0, .bad), slave("eth1", order: 1, .bad)]
        let d = InterfaceManager.choose(s, current: "eth0", failback: true)
        XCTAssertEqual(d.active, "eth0")
        XCTAssertEqual(InterfaceManager.choose(s, current: nil, failback: true).active, nil)
        let u = [slave("eth0", order: 0, .unknown)]
        XCTAssertEqual(InterfaceManager.choose(u, current: nil, failback: true).active, "eth0")
    }
}

final class SlaveHealthTrackerTests: XCTestCase {
    let ms: UInt64 = 1_000_000

    func testFirstVerdictIsImmediateAndDowndelayDamps() {
        var t = SlaveHealthTracker(detectors: ["carrier"], policy: .any, updelayMillis: 200, downdelayMillis: 50)
        XCTAssertTrue(t.record(detector: "carrier", health: .good, reason: "up", now: 0))
        XCTAssertEqual(t.effective, .good)
        XCTAssertFalse(t.record(detector: "carrier", health: .bad, reason: "down", now: 10 * ms))
        XCTAssertEqual(t.effective, .good)
        XCTAssertEqual(t.nextDeadline, 60 * ms)
        XCTAssertFalse(t.tick(now: 59 * ms))
        XCTAssertTrue(t.tick(now: 60 * ms))
        XCTAssertEqual(t.effective, .bad)
        XCTAssertEqual(t.effectiveReason, "down")
    }

    func testFlapShorterThanDelayIsIgnored() {
        var t = SlaveHealthTracker(detectors: ["carrier"], policy: .any, updelayMillis: 0, downdelayMillis: 100)
        t.record(detector: "carrier", health: .good, reason: "up", now: 0)
        t.record(detector: "carrier", health: .bad, reason: "down", now: 1 * ms)
        t.record(detector: "carrier", health: .good, reason: "up", now: 20 * ms)
        XCTAssertNil(t.nextDeadline)
        XCTAssertFalse(t.tick(now: 500 * ms))
        XCTAssertEqual(t.effective, .good)
    }

    func testPolicies() {
        var any = SlaveHealthTracker(detectors: ["a", "b"], policy: .any, updelayMillis: 0, downdelayMillis: 0)
        any.record(detector: "a", health: .bad, reason: "a down", now: 0)
        XCTAssertEqual(any.effective, .bad)
        any.record(detector: "b", health: .good, reason: "b up", now: 0)
        XCTAssertEqual(any.effective, .good)

        var all = SlaveHealthTracker(detectors: ["a", "b"], policy: .all, updelayMillis: 0, downdelayMillis: 0)
        all.record(detector: "a", health: .good, reason: "a up", now: 0)
        XCTAssertEqual(all.effective, .unknown)
        all.record(detector: "b", health: .good, reason: "b up", now: 0)
        XCTAssertEqual(all.effective, .good)
        all.record(detector: "a", health: .bad, reason: "a down", now: 0)
        XCTAssertEqual(all.effective, .bad)
        XCTAssertEqual(all.effectiveReason, "a down")
    }
}
