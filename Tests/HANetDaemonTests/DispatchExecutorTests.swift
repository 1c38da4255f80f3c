import Dispatch
import Foundation
@testable import HANetCore
@testable import HANetDaemon
@testable import HANetSystem
import XCTest

/// The daemon's executor on real time: one-shot timers fire once at their
/// deadline unless cancelled, repeating ones keep their period, work runs in order.
final class DispatchExecutorTests: XCTestCase {
    let clock = SystemClock()

    func testARepeatingTimerKeepsItsPeriodUntilCancelled() {
        let e = DispatchExecutor(clock: clock)
        let lock = NSLock()
        var times: [UInt64] = []
        let start = clock.nowNanos()
        let t = e.repeating(every: 50_000_000, from: start) {
            e.assertOwner()
            lock.lock(); times.append(self.clock.nowNanos()); lock.unlock()
        }
        let done = expectation(description: "ten firings")
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.52) { done.fulfill() }
        wait(for: [done], timeout: 5)
        e.sync { t.cancel() }
        lock.lock(); let n = times.count; lock.unlock()
        XCTAssertGreaterThanOrEqual(n, 9, "fired \(n) times in 520 ms at a 50 ms period")
        XCTAssertLessThanOrEqual(n, 12)
        let after = n
        let quiet = expectation(description: "quiet")
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { quiet.fulfill() }
        wait(for: [quiet], timeout: 5)
        lock.lock(); XCTAssertEqual(times.count, after, "nothing after cancel"); lock.unlock()
    }

    func testAOneShotTimerFiresOnceAndACancelledOneNever() {
        let e = DispatchExecutor(clock: clock)
        let lock = NSLock()
        var fired: [String] = []
        let now = clock.nowNanos()
        e.schedule(at: now + 20_000_000) { lock.lock(); fired.append("kept"); lock.unlock() }
        let c = e.schedule(at: now + 20_000_000) { lock.lock(); fired.append("cancelled"); lock.unlock() }
        e.sync { c.cancel() }
        let done = expectation(description: "past the deadline")
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.15) { done.fulfill() }
        wait(for: [done], timeout: 5)
        lock.lock(); XCTAssertEqual(fired, ["kept"]); lock.unlock()
    }
}
