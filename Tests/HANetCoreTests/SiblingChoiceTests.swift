import XCTest
@testable import HANetCore

/// Several siblings: the interface manager ranks private links by their
/// sibling's readiness and preference, and `SiblingReadiness` decides what
/// each sibling's readiness is.
final class SiblingChoiceTests: XCTestCase {
    let ms: UInt64 = 1_000_000

    func priv(_ name: String, to sibling: String, _ r: Readiness?, preference: Int = 0, speed: UInt64 = 1_000_000_000,
              order: Int, _ health: Health = .good) -> SlaveCandidate {
        SlaveCandidate(interface: name, role: .private, speedBitsPerSecond: speed, priority: 0, order: order, health: health,
                       sibling: sibling, readiness: r, preference: preference)
    }

    func pub(_ name: String, order: Int, _ health: Health) -> SlaveCandidate {
        SlaveCandidate(interface: name, role: .public, speedBitsPerSecond: 1_000_000_000, priority: 0, order: order, health: health)
    }

    func testADarkPreferredSiblingIsPassedOverForAReadyOne() {
        // priv0 leads to s2: faster and first in the file, but s2 has no public link.
        let c = [pub("eth0", order: 0, .bad), priv("priv0", to: "s2", .unable, speed: 10_000_000_000, order: 1),
                 priv("priv1", to: "s3", .ready, order: 2)]
        XCTAssertEqual(InterfaceManager.choose(c, current: "eth0", failback: true).active, "priv1")
    }

    func testWhenNoSiblingCanCarryTheBestPrivateLinkIsStillTried() {
        let c = [pub("eth0", order: 0, .bad), priv("priv0", to: "s2", .unable, order: 1), priv("priv1", to: "s3", .unable, order: 2)]
        XCTAssertEqual(InterfaceManager.choose(c, current: "eth0", failback: true).active, "priv0")
    }

    func testUnknownRanksBetweenReadyAndUnable() {
        let c = [priv("a", to: "s2", .unable, order: 0), priv("b", to: "s3", nil, order: 1), priv("c", to: "s4", .unknown, order: 2)]
        XCTAssertEqual(InterfaceManager.choose(c, current: nil, failback: true).active, "b")
        let r = c + [priv("d", to: "s5", .ready, order: 3)]
        XCTAssertEqual(InterfaceManager.choose(r, current: nil, failback: true).active, "d")
    }

    func testPreferenceRanksSiblingsBeforeSpeed() {
        let c = [priv("fast", to: "s2", .ready, preference: 0, speed: 10_000_000_000, order: 0),
                 priv("slow", to: "s3", .ready, preference: 10, speed: 12_000_000, order: 1)]
        XCTAssertEqual(InterfaceManager.choose(c, current: nil, failback: true).active, "slow")
    }

    func testTheCarryingSiblingFallingUnableMovesTheServerEvenWithoutFailback() {
        let c = [pub("eth0", order: 0, .bad), priv("priv0", to: "s2", .unable, order: 1), priv("priv1", to: "s3", .ready, order: 2)]
        let d = InterfaceManager.choose(c, current: "priv0", failback: false)
        XCTAssertEqual(d.active, "priv1")
        XCTAssertTrue(d.reason.contains("s2") && d.reason.contains("unable"), d.reason)
        // A silent sibling (unknown) gives way to a ready one too...
        let silent = [priv("priv0", to: "s2", .unknown, order: 1), priv("priv1", to: "s3", .ready, order: 2)]
        XCTAssertEqual(InterfaceManager.choose(silent, current: "priv0", failback: false).active, "priv1")
        // ...but a ready carrier is kept when another ready one with a higher preference appears, failback or not.
        let better = [priv("priv0", to: "s2", .ready, order: 1), priv("priv1", to: "s3", .ready, preference: 5, order: 2)]
        XCTAssertEqual(InterfaceManager.choose(better, current: "priv0", failback: false).active, "priv0")
        XCTAssertEqual(InterfaceManager.choose(better, current: "priv0", failback: true).active, "priv0")
        // Failback still moves to a faster link to the same sibling.
        let sameSibling = [priv("slow", to: "s2", .ready, speed: 12_000_000, order: 1), priv("fast", to: "s2", .ready, order: 2)]
        XCTAssertEqual(InterfaceManager.choose(sameSibling, current: "slow", failback: true).active, "fast")
        // And a public link that returns wins over any sibling.
        let back = [pub("eth0", order: 0, .good), priv("priv1", to: "s3", .ready, order: 2)]
        XCTAssertEqual(InterfaceManager.choose(back, current: "priv1", failback: true).active, "eth0")
    }

    func testReadinessFollowsReportsGoesStaleAndHoldsRefusals() {
        var r = SiblingReadiness(siblings: ["s2", "s3"], staleNanos: 600 * ms, holdNanos: 3000 * ms)
        XCTAssertEqual(r.readiness(of: "s2", now: 0), .unknown)
        XCTAssertTrue(r.heard("s2", canCarry: true, now: 100 * ms))
        XCTAssertEqual(r.readiness(of: "s2", now: 200 * ms), .ready)
        XCTAssertFalse(r.heard("s2", canCarry: true, now: 300 * ms), "the same news is no change")
        XCTAssertEqual(r.nextChange(now: 300 * ms), 900 * ms)
        XCTAssertEqual(r.readiness(of: "s2", now: 900 * ms), .unknown, "silent for 600 ms")
        XCTAssertTrue(r.reason(of: "s2", now: 900 * ms).hasPrefix("not heard for 0.6 s"), r.reason(of: "s2", now: 900 * ms))
        XCTAssertTrue(r.heard("s3", canCarry: false, now: 1000 * ms))
        XCTAssertEqual(r.readiness(of: "s3", now: 1000 * ms), .unable)

        // A refusal holds s2 unable for 3 s whatever it says meanwhile.
        r.heard("s2", canCarry: true, now: 1000 * ms)
        XCTAssertTrue(r.markUnable("s2", reason: "it refused: no [[link]] names s1", now: 1100 * ms))
        r.heard("s2", canCarry: true, now: 1200 * ms)
        XCTAssertEqual(r.readiness(of: "s2", now: 1200 * ms), .unable)
        XCTAssertEqual(r.reason(of: "s2", now: 1200 * ms), "it refused: no [[link]] names s1")
        r.heard("s2", canCarry: true, now: 4000 * ms)
        XCTAssertEqual(r.readiness(of: "s2", now: 4100 * ms), .ready, "after the hold its reports count again")
        XCTAssertFalse(r.heard("s9", canCarry: true, now: 0), "not a configured sibling")
    }

    func testTheReadinessMessageRoundTripsAndOlderTypesStayUnchanged() throws {
        let key = [UInt8](repeating: 7, count: 32)
        let m = PTAMessage(type: .readiness, flags: PTAMessage.canCarry, sender: "s2", counter: 9, bootID: 1)
        let bytes = try PTAWire.encode(m, key: key)
        XCTAssertEqual(bytes[5], 7, "READINESS is type 7 of version 1")
        XCTAssertEqual(try PTAWire.decode(bytes) { _ in key }.get(), m)
    }
}
