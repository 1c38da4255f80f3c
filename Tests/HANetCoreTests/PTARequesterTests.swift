import XCTest
@testable import HANetCore

final class PTARequesterTests: XCTestCase {
    let ms: UInt64 = 1_000_000
    let pta = HANetConfig.PTA(port: 7377, leaseMillis: 3000, retryInitialMillis: 5, retryMaxMillis: 40)
    let siblingAddress = IPv4Address("169.254.77.2")!
    let service = [IPv4Address("198.51.100.11")!]
    var responderCounter: UInt64 = 0

    private func makeRequester() -> PTARequester {
        PTARequester(node: "s1", bootID: 42, sibling: "s2", siblingAddress: siblingAddress, addresses: service, pta: pta)
    }

    private func sent(_ actions: [PTAAction]) -> [PTAMessage] {
        actions.compactMap { if case .send(let m, _) = $0 { return m } else { return nil } }
    }

    private func reply(_ type: PTAMessage.Kind, lease: UInt32 = 3000, addresses: [IPv4Address]? = nil, reason: String = "") -> PTAMessage {
        responderCounter += 1
        return PTAMessage(type: type, sender: "s2", addresses: addresses ?? service, counter: responderCounter, bootID: 9,
                          leaseMillis: lease, reason: reason)
    }

    /// Runs `tick` at each deadline up to `until`, collecting the sends and their times.
    private func run(_ r: PTARequester, from: UInt64, until: UInt64) -> [(UInt64, PTAMessage)] {
        var out: [(UInt64, PTAMessage)] = []
        var now = from
        while let d = r.nextDeadline, d <= until {
            XCTAssertGreaterThanOrEqual(d, now, "deadline went backwards")
            now = d
            out += sent(r.tick(now: now)).map { (now, $0) }
        }
        return out
    }

    func testTakeoverIsRetriedWithExponentialBackoffUntilAck() {
        let r = makeRequester()
        let first = sent(r.start(now: 0))
        XCTAssertEqual(first.map(\.type), [.takeover])
        XCTAssertEqual(first[0].addresses, service)
        XCTAssertEqual(first[0].leaseMillis, 3000)
        XCTAssertEqual(first[0].bootID, 42)
        XCTAssertEqual(r.state, .requesting)
        XCTAssertEqual(sent(r.start(now: 1)), [], "start is idempotent")

        let retries = run(r, from: 0, until: 200 * ms)
        // 5, 10, 20, 40 (cap), 40, ... ms apart.
        let times = [0] + retries.map(\.0)
        let gaps = zip(times.dropFirst(), times).map { ($0 - $1) / ms }
        XCTAssertEqual(Array(gaps.prefix(6)), [5, 10, 20, 40, 40, 40])
        XCTAssertTrue(retries.allSatisfy { $0.1.type == .takeover })
        let counters = [first[0].counter] + retries.map(\.1.counter)
        XCTAssertEqual(counters, counters.sorted())
        XCTAssertEqual(Set(counters).count, counters.count, "counters strictly increase")

        _ = r.receive(reply(.ack), now: 201 * ms)
        XCTAssertTrue(r.isServed)
    }

    func testServedLeaseIsRenewedEveryThirdAndCountedFromTheRequest() {
        let r = makeRequester()
        _ = r.start(now: 0)
        _ = r.receive(reply(.ack, lease: 3000), now: 2 * ms)
        // The lease counts from the request (t=0), not from the ACK: never longer than the responder's.
        XCTAssertEqual(r.state, .served(leaseExpiry: 3000 * ms))
        XCTAssertEqual(r.nextDeadline, 1000 * ms)
        XCTAssertEqual(sent(r.tick(now: 999 * ms)), [])
        let renew = sent(r.tick(now: 1000 * ms))
        XCTAssertEqual(renew.map(\.type), [.renew])
        _ = r.receive(reply(.ack, lease: 3000), now: 1001 * ms)
        XCTAssertEqual(r.state, .served(leaseExpiry: 4000 * ms))
        XCTAssertEqual(r.nextDeadline, 2000 * ms)
        // A duplicate ACK does not extend the lease again.
        _ = r.receive(reply(.ack, lease: 3000), now: 1500 * ms)
        XCTAssertEqual(r.state, .served(leaseExpiry: 4000 * ms))
    }

    func testUnansweredRenewalsLoseTheLeaseAndRequestAgain() {
        let r = makeRequester()
        _ = r.start(now: 0)
        _ = r.receive(reply(.ack), now: 1 * ms)
        let sends = run(r, from: 1 * ms, until: 3000 * ms)
        XCTAssertTrue(sends.filter { $0.0 < 3000 * ms }.allSatisfy { $0.1.type == .renew })
        XCTAssertEqual(sends.first?.0, 1000 * ms)
        XCTAssertEqual(r.state, .requesting)
        XCTAssertEqual(sends.last?.0, 3000 * ms)
        XCTAssertEqual(sends.last?.1.type, .takeover)
    }

    func testRefusalBacksOffToTheMaximumAndKeepsAsking() {
        let r = makeRequester()
        _ = r.start(now: 0)
        let actions = r.receive(reply(.refuse, lease: 0, reason: "s2 has no working public link"), now: 1 * ms)
        XCTAssertTrue(actions.contains(.log("PTA: s2 refused 198.51.100.11: s2 has no working public link")))
        XCTAssertEqual(r.state, .requesting)
        XCTAssertEqual(r.nextDeadline, 41 * ms)
        XCTAssertEqual(sent(r.tick(now: 41 * ms)).map(\.type), [.takeover])
    }

    func testStopReleasesAndWaitsForAck() {
        let r = makeRequester()
        _ = r.start(now: 0)
        _ = r.receive(reply(.ack), now: 1 * ms)
        let release = sent(r.stop(now: 10 * ms))
        XCTAssertEqual(release.map(\.type), [.release])
        XCTAssertEqual(r.state, .releasing)
        XCTAssertEqual(sent(r.tick(now: 15 * ms)).map(\.type), [.release], "RELEASE is retried")
        _ = r.receive(reply(.ack, lease: 0), now: 16 * ms)
        XCTAssertEqual(r.state, .idle)
        XCTAssertNil(r.nextDeadline)
    }

    func testReleaseGivesUpWhenTheLeaseMustHaveRunOut() {
        let r = makeRequester()
        _ = r.start(now: 0)
        _ = r.stop(now: 1 * ms)   // ACK to the TAKEOVER may have been lost: release anyway
        _ = run(r, from: 1 * ms, until: 3001 * ms)
        XCTAssertEqual(r.state, .idle)
    }

    func testIgnoresStrangersReplaysAndWrongAddresses() {
        let r = makeRequester()
        _ = r.start(now: 0)
        var stranger = reply(.ack); stranger.sender = "s3"
        _ = r.receive(stranger, now: 1 * ms)
        XCTAssertEqual(r.state, .requesting)
        _ = r.receive(reply(.ack, addresses: [IPv4Address("198.51.100.99")!]), now: 1 * ms)
        XCTAssertEqual(r.state, .requesting)
        let ack = reply(.ack)
        _ = r.receive(ack, now: 2 * ms)
        XCTAssertTrue(r.isServed)
        _ = r.stop(now: 3 * ms)
        let replayed = r.receive(ack, now: 4 * ms)   // the old ACK must not complete the release
        XCTAssertEqual(r.state, .releasing)
        XCTAssertTrue(replayed.contains { if case .refused(.ptaReplay, _, let s) = $0 { return s.contains("replayed") } else { return false } })
    }
}
