import Foundation
import HANetCore
@testable import HANetDaemon
import XCTest

/// The host's per-detector damping, driven by a fake clock: every deadline is
/// checked one nanosecond before and at the moment it falls due.
final class DetectorDamperTests: XCTestCase {
    final class FakeClock: MonotonicClock {
        var now: UInt64 = 1_000_000_000
        func nowNanos() -> UInt64 { now }
        func advance(ms: UInt64) { now += ms * 1_000_000 }
    }

    let ms: UInt64 = 1_000_000

    func testNoSettingsPassesEverythingAtOnce() {
        let clock = FakeClock()
        var d = DetectorDamper(settings: .init(), createdAt: clock.now)
        XCTAssertEqual(d.offer(.bad, "down", now: clock.now)?.health, .bad)
        XCTAssertEqual(d.offer(.good, "up", now: clock.now)?.health, .good)
        XCTAssertNil(d.deadline)
    }

    func testInitWaitHoldsAnEarlyBadButNotAGood() {
        let clock = FakeClock()
        var d = DetectorDamper(settings: .init(initWaitMillis: 200), createdAt: clock.now)
        clock.advance(ms: 50)
        XCTAssertNil(d.offer(.bad, "no reply yet", now: clock.now), "BAD inside init_wait must be held")
        XCTAssertEqual(d.deadline, clock.now + 150 * ms)
        clock.advance(ms: 149)
        XCTAssertNil(d.tick(now: clock.now))
        clock.advance(ms: 1)
        let out = d.tick(now: clock.now)
        XCTAssertEqual(out?.health, .bad)
        XCTAssertEqual(out?.reason, "no reply yet")
        XCTAssertEqual(d.delivered, .bad)

        var e = DetectorDamper(settings: .init(initWaitMillis: 200), createdAt: clock.now)
        XCTAssertNil(e.offer(.bad, "no reply yet", now: clock.now))
        clock.advance(ms: 30)
        XCTAssertEqual(e.offer(.good, "reply", now: clock.now)?.health, .good, "the first answer is passed on at once")
        XCTAssertNil(e.deadline, "the held BAD is cancelled")
        clock.advance(ms: 500)
        XCTAssertNil(e.tick(now: clock.now))
    }

    func testBadAfterInitWaitIsImmediate() {
        let clock = FakeClock()
        var d = DetectorDamper(settings: .init(initWaitMillis: 200), createdAt: clock.now)
        clock.advance(ms: 250)
        XCTAssertEqual(d.offer(.bad, "dead", now: clock.now)?.health, .bad)
    }

    func testDowndelayNeedsTheFaultToLast() {
        let clock = FakeClock()
        var d = DetectorDamper(settings: .init(downdelayMillis: 100), createdAt: clock.now)
        XCTAssertEqual(d.offer(.good, "ok", now: clock.now)?.health, .good)
        clock.advance(ms: 10)
        XCTAssertNil(d.offer(.bad, "blip", now: clock.now))
        clock.advance(ms: 50)
        // The fault ends before downdelay: nothing but the (same) GOOD goes out, and the pending BAD is gone.
        XCTAssertEqual(d.offer(.good, "ok again", now: clock.now)?.health, .good)
        clock.advance(ms: 100)
        XCTAssertNil(d.tick(now: clock.now))
        XCTAssertEqual(d.delivered, .good)

        XCTAssertNil(d.offer(.bad, "fault", now: clock.now))
        clock.advance(ms: 40)
        XCTAssertNil(d.offer(.bad, "fault, still", now: clock.now), "a repeated BAD must not restart the delay")
        clock.advance(ms: 59)
        XCTAssertNil(d.tick(now: clock.now))
        clock.advance(ms: 1)
        let out = d.tick(now: clock.now)
        XCTAssertEqual(out?.health, .bad)
        XCTAssertEqual(out?.reason, "fault, still", "the latest reason is the one passed on")
    }

    func testUpdelayHoldsRecovery() {
        let clock = FakeClock()
        var d = DetectorDamper(settings: .init(updelayMillis: 300), createdAt: clock.now)
        XCTAssertEqual(d.offer(.bad, "dead", now: clock.now)?.health, .bad)
        clock.advance(ms: 5)
        XCTAssertNil(d.offer(.good, "back", now: clock.now))
        clock.advance(ms: 299)
        XCTAssertNil(d.tick(now: clock.now))
        clock.advance(ms: 1)
        XCTAssertEqual(d.tick(now: clock.now)?.health, .good)
    }

    func testSettingsFromConfigRejectBadValuesWithTheirKey() throws {
        let ok = try DetectorDamper.Settings(config: ["updelay_ms": .integer(20), "init_wait_ms": .integer(500)], detector: "arp-monitor", slave: "eth0")
        XCTAssertEqual(ok, DetectorDamper.Settings(initWaitMillis: 500, updelayMillis: 20))
        for (key, value) in [("downdelay_ms", HANetConfig.Value.integer(-1)), ("updelay_ms", .string("fast")), ("init_wait_ms", .float(1.5))] {
            XCTAssertThrowsError(try DetectorDamper.Settings(config: [key: value], detector: "arp-monitor", slave: "eth0")) { e in
                let text = "\(e)"
                XCTAssertTrue(text.contains(key) && text.contains("eth0") && text.contains("arp-monitor") && text.contains("milliseconds"), text)
            }
        }
    }
}
