import Foundation
import Glibc
import XCTest
import HANetCore
import HANetSystem
@testable import HANetDaemon

/// The event ring, hooks and sd_notify, without a network.
final class OperationsTests: XCTestCase {
    func testEventRingIsBoundedAndKeepsTheNewestInOrder() {
        var t: UInt64 = 0
        let events = DaemonEvents(node: "s1", capacity: 5, clock: { t += 10; return t })
        for i in 0..<12 { events.emit(.switch) { $0.to = "eth\(i)" } }
        XCTAssertEqual(events.count, 5)
        let all = events.recent()
        XCTAssertEqual(all.map(\.seq), [8, 9, 10, 11, 12])
        XCTAssertEqual(all.map(\.to), ["eth7", "eth8", "eth9", "eth10", "eth11"])
        XCTAssertEqual(events.recent(after: 10).map(\.seq), [11, 12])
        XCTAssertEqual(events.recent(limit: 2).map(\.seq), [11, 12])
        XCTAssertTrue(zip(all, all.dropFirst()).allSatisfy { $0.monotonic_ns < $1.monotonic_ns })
    }

    func testEventRingAfterAndLimitTogether() {
        let events = DaemonEvents(node: "s1", capacity: 4, clock: { 1 })
        XCTAssertEqual(events.recent().count, 0)
        for _ in 0..<9 { events.emit(.verdict) }
        XCTAssertEqual(events.recent().map(\.seq), [6, 7, 8, 9])
        XCTAssertEqual(events.recent(after: 2).map(\.seq), [6, 7, 8, 9], "older than the ring: all it holds")
        XCTAssertEqual(events.recent(after: 6, limit: 2).map(\.seq), [8, 9], "the newest of those after")
        XCTAssertEqual(events.recent(after: 7, limit: 5).map(\.seq), [8, 9])
        XCTAssertEqual(events.recent(after: 9).map(\.seq), [])
        XCTAssertEqual(events.recent(after: 100).map(\.seq), [])
        XCTAssertEqual(events.recent(limit: 0).map(\.seq), [])
        XCTAssertEqual(events.recent(limit: -3).map(\.seq), [], "a negative limit is none, not a crash")
        let one = DaemonEvents(node: "s1", capacity: 1, clock: { 1 })
        for _ in 0..<3 { one.emit(.stop) }
        XCTAssertEqual(one.recent().map(\.seq), [3])
    }

    func testSubscriberGetsLiveEventsAndASlowOneLosesOnlyItsOwnBacklog() {
        let events = DaemonEvents(node: "s1", capacity: 100, clock: { 1 })
        let fast = events.subscribe()
        let slow = events.subscribe(backlog: 3)
        for _ in 0..<10 { events.emit(.verdict) }
        XCTAssertEqual(fast.next(timeout: 1)?.map(\.seq), Array(1...10))
        XCTAssertEqual(slow.next(timeout: 1)?.map(\.seq), [8, 9, 10])
        XCTAssertEqual(slow.dropped, 7)
        XCTAssertEqual(fast.next(timeout: 0.05)?.count, 0, "no event: an empty batch after the timeout")
        events.unsubscribe(fast)
        XCTAssertNil(fast.next(timeout: 1), "closed")
        events.emit(.switch)
        XCTAssertEqual(slow.next(timeout: 1)?.map(\.kind), [.switch])
    }

    func testEventEnvironmentCarriesEveryField() {
        var e = DaemonEvent(seq: 7, kind: .switch, time: "t", monotonic_ns: 42, node: "s1")
        e.from = "eth0"; e.to = "eth1"; e.reason = "eth0 BAD: carrier lost"
        let env = e.environment
        XCTAssertEqual(env["HANET_EVENT"], "switch")
        XCTAssertEqual(env["HANET_FROM"], "eth0")
        XCTAssertEqual(env["HANET_TO"], "eth1")
        XCTAssertEqual(env["HANET_REASON"], "eth0 BAD: carrier lost")
        XCTAssertEqual(env["HANET_SEQ"], "7")
        XCTAssertEqual(env["HANET_MONOTONIC_NS"], "42")
        XCTAssertNil(env["HANET_SIBLING"])
    }

    func script(_ body: String) throws -> String {
        let path = NSTemporaryDirectory() + "hanet-hook-\(UInt32.random(in: 0..<UInt32.max)).sh"
        try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testHookSeesTheEventInItsEnvironment() throws {
        let out = NSTemporaryDirectory() + "hanet-hook-out-\(UInt32.random(in: 0..<UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let s = try script("echo \"$HANET_EVENT $HANET_FROM $HANET_TO $1\" > \(out)")
        var e = DaemonEvent(seq: 1, kind: .switch, time: "t", monotonic_ns: 1, node: "s1")
        e.from = "eth0"; e.to = "priv0"
        let r = Hooks.run(s, event: e, timeoutMillis: 5000)
        XCTAssertEqual(r.status, 0)
        XCTAssertFalse(r.timedOut)
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "switch eth0 priv0 switch\n")
    }

    func testHungHookIsKilledAfterItsTimeoutAndNeverBlocksTheCaller() throws {
        // Ignores SIGTERM, so the SIGKILL after the grace period is what ends it.
        let s = try script("trap '' TERM\nwhile :; do sleep 0.05; done")
        let hooks = Hooks(config: .init(onSwitch: s, timeoutMillis: 200), log: nil)
        let finished = expectation(description: "hook finished")
        var run: Hooks.Run?
        hooks.onFinish = { run = $0; finished.fulfill() }
        let start = Date()
        hooks.handle(DaemonEvent(seq: 1, kind: .switch, time: "t", monotonic_ns: 1, node: "s1"))
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.05, "handle only enqueues")
        wait(for: [finished], timeout: 5)
        XCTAssertEqual(run?.timedOut, true)
        XCTAssertEqual(Hooks.scripts(for: .verdict, in: .init(onSwitch: s)), [], "on_switch runs for switches only")
        XCTAssertEqual(Hooks.scripts(for: .ptaServing, in: .init(onPTA: "/x", onEvent: "/y")), ["/x", "/y"])
    }
}
