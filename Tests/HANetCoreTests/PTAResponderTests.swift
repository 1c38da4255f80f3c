import XCTest
@testable import HANetCore

final class PTAResponderTests: XCTestCase {
    let ms: UInt64 = 1_000_000
    let pta = HANetConfig.PTA(port: 7377, leaseMillis: 3000, retryInitialMillis: 5, retryMaxMillis: 200)
    let s2 = IPv4Address("169.254.77.2")!
    let svc = IPv4Address("198.51.100.12")!
    var counter: UInt64 = 0
    var publicUp = true

    private func makeResponder() -> PTAResponder {
        PTAResponder(node: "s1", bootID: 1,
                     peers: [.init(name: "s2", address: s2, allowed: [IPv4Prefix("198.51.100.12/32")!, IPv4Prefix("203.0.113.0/28")!], link: "eth1"),
                             .init(name: "s3", address: IPv4Address("169.254.78.2")!, allowed: [IPv4Prefix("198.51.100.13/32")!], link: nil)],
                     pta: pta, canServe: { [unowned self] in self.publicUp })
    }

    private func msg(_ type: PTAMessage.Kind, from sender: String = "s2", addresses: [IPv4Address]? = nil, lease: UInt32 = 3000) -> PTAMessage {
        counter += 1
        return PTAMessage(type: type, sender: sender, addresses: addresses ?? [svc], counter: counter, bootID: 77, leaseMillis: lease)
    }

    private func sent(_ actions: [PTAAction]) -> [PTAMessage] {
        actions.compactMap { if case .send(let m, _) = $0 { return m } else { return nil } }
    }

    private func serving(_ actions: [PTAAction]) -> [PTAAction] {
        actions.filter {
            switch $0 { case .startServing, .stopServing: return true; default: return false }
        }
    }

    func testTakeoverStartsServingAndAcks() {
        let r = makeResponder()
        let actions = r.receive(msg(.takeover), now: 0)
        XCTAssertEqual(serving(actions), [.startServing(sibling: "s2", addresses: [svc], link: "eth1")])
        guard case .send(let ack, let to)? = actions.last else { return XCTFail("no reply") }
        XCTAssertEqual(to, s2)
        XCTAssertEqual(ack.type, .ack)
        XCTAssertEqual(ack.sender, "s1")
        XCTAssertEqual(ack.addresses, [svc])
        XCTAssertEqual(ack.leaseMillis, 3000)
        XCTAssertEqual(r.leases["s2"]?.expiry, 3000 * ms)
        XCTAssertEqual(r.nextDeadline, 3000 * ms)
    }

    func testRetriedTakeoverReAcksWithoutReapplying() {
        let r = makeResponder()
        _ = r.receive(msg(.takeover), now: 0)
        let again = r.receive(msg(.takeover), now: 10 * ms)
        XCTAssertEqual(serving(again), [])
        XCTAssertEqual(sent(again).map(\.type), [.ack])
        XCTAssertEqual(r.leases["s2"]?.expiry, 3010 * ms)
    }

    func testRenewExtendsAndLeaseExpiryStopsServing() {
        let r = makeResponder()
        _ = r.receive(msg(.takeover), now: 0)
        let renew = r.receive(msg(.renew, lease: 10_000), now: 1000 * ms)
        XCTAssertEqual(sent(renew).first?.leaseMillis, 3000, "a longer lease than configured is not granted")
        XCTAssertEqual(r.tick(now: 3999 * ms), [])
        XCTAssertEqual(r.tick(now: 4000 * ms), [.stopServing(sibling: "s2", addresses: [svc], link: "eth1", reason: "lease expired")])
        XCTAssertNil(r.leases["s2"])
        XCTAssertNil(r.nextDeadline)
    }

    func testRenewWithoutLeaseIsServedAsTakeover() {
        let r = makeResponder()
        XCTAssertEqual(serving(r.receive(msg(.renew), now: 0)), [.startServing(sibling: "s2", addresses: [svc], link: "eth1")])
    }

    func testReleaseStopsServingAndIsIdempotent() {
        let r = makeResponder()
        _ = r.receive(msg(.takeover), now: 0)
        let rel = r.receive(msg(.release, lease: 0), now: 5 * ms)
        XCTAssertEqual(serving(rel), [.stopServing(sibling: "s2", addresses: [svc], link: "eth1", reason: "released by s2")])
        XCTAssertEqual(sent(rel).map(\.type), [.ack])
        let again = r.receive(msg(.release, lease: 0), now: 6 * ms)
        XCTAssertEqual(serving(again), [])
        XCTAssertEqual(sent(again).map(\.type), [.ack])
    }

    func testRefusesAddressesOutsideTheSiblingsPrefixes() {
        let r = makeResponder()
        let ok = r.receive(msg(.takeover, addresses: [svc, IPv4Address("203.0.113.15")!]), now: 0)
        XCTAssertEqual(sent(ok).map(\.type), [.ack])
        let bad = r.receive(msg(.takeover, addresses: [IPv4Address("203.0.113.16")!]), now: 1 * ms)
        XCTAssertEqual(sent(bad).map(\.type), [.refuse])
        XCTAssertEqual(sent(bad).first?.reason,
                       "address 203.0.113.16 is not among s2's configured addresses (198.51.100.12/32, 203.0.113.0/28)")
        // The refused request also ends the earlier lease: the sibling no longer wants it.
        XCTAssertEqual(serving(bad).count, 1)
        XCTAssertNil(r.leases["s2"])
    }

    func testRefusesWhenItCannotServe() {
        let r = makeResponder()
        publicUp = false
        let a = r.receive(msg(.takeover), now: 0)
        XCTAssertEqual(serving(a), [])
        XCTAssertEqual(sent(a).first?.type, .refuse)
        XCTAssertEqual(sent(a).first?.reason, "s1 has no working public link")
        publicUp = true
        _ = r.receive(msg(.takeover), now: 1 * ms)
        publicUp = false
        let renew = r.receive(msg(.renew), now: 2 * ms)
        XCTAssertEqual(serving(renew), [.stopServing(sibling: "s2", addresses: [svc], link: "eth1", reason: "s1 has no working public link")])
        XCTAssertEqual(sent(renew).first?.type, .refuse)
    }

    func testChangedAddressSetRestartsService() {
        let r = makeResponder()
        _ = r.receive(msg(.takeover), now: 0)
        let other = IPv4Address("203.0.113.1")!
        let a = r.receive(msg(.takeover, addresses: [other]), now: 1 * ms)
        XCTAssertEqual(serving(a), [.stopServing(sibling: "s2", addresses: [svc], link: "eth1", reason: "s2 asked for a different set of addresses"),
                                    .startServing(sibling: "s2", addresses: [other], link: "eth1")])
    }

    func testUnknownSenderSiblingWithoutLinkAndReplay() {
        let r = makeResponder()
        XCTAssertEqual(sent(r.receive(msg(.takeover, from: "s9"), now: 0)), [])
        let noLink = r.receive(msg(.takeover, from: "s3", addresses: [IPv4Address("198.51.100.13")!]), now: 0)
        XCTAssertEqual(sent(noLink).first?.reason, "no [[link]] on s1 names sibling s3")
        let t = msg(.takeover)
        _ = r.receive(t, now: 0)
        _ = r.receive(msg(.release, lease: 0), now: 1 * ms)
        let replay = r.receive(t, now: 2 * ms)
        XCTAssertEqual(serving(replay), [], "a replayed TAKEOVER must not start serving again")
        XCTAssertEqual(sent(replay), [])
    }

    func testHelloIsAnswered() {
        let r = makeResponder()
        let a = sent(r.receive(msg(.hello, addresses: []), now: 0))
        XCTAssertEqual(a.map(\.type), [.ack])
        XCTAssertEqual(a.first?.leaseMillis, 0)
    }

    func testStopAll() {
        let r = makeResponder()
        _ = r.receive(msg(.takeover), now: 0)
        XCTAssertEqual(r.stopAll(reason: "shutdown"), [.stopServing(sibling: "s2", addresses: [svc], link: "eth1", reason: "shutdown")])
        XCTAssertTrue(r.leases.isEmpty)
    }

    /// Requester and responder talk through the real wire format until the lease is held, then released.
    func testRequesterAndResponderOverTheWire() throws {
        let key = Array("shared-secret-for-test-0123456789".utf8)
        let counterS1 = PTACounter()
        let requester = PTARequester(node: "s2", bootID: 5, sibling: "s1", siblingAddress: IPv4Address("169.254.77.1")!,
                                     addresses: [svc], pta: pta, counter: counterS1)
        let responder = makeResponder()
        func deliver(_ actions: [PTAAction], to handler: (PTAMessage) -> [PTAAction]) throws -> [PTAAction] {
            var out: [PTAAction] = []
            for m in sent(actions) {
                let bytes = try PTAWire.encode(m, key: key)
                out += handler(try PTAWire.decode(bytes, keyFor: { _ in key }).get())
            }
            return out
        }
        let fromResponder = try deliver(requester.start(now: 0)) { responder.receive($0, now: 1 * ms) }
        XCTAssertEqual(serving(fromResponder), [.startServing(sibling: "s2", addresses: [svc], link: "eth1")])
        _ = try deliver(fromResponder) { requester.receive($0, now: 2 * ms) }
        XCTAssertEqual(requester.state, .served(leaseExpiry: 3000 * ms))
        let renewReplies = try deliver(requester.tick(now: 1000 * ms)) { responder.receive($0, now: 1000 * ms) }
        _ = try deliver(renewReplies) { requester.receive($0, now: 1001 * ms) }
        XCTAssertEqual(requester.state, .served(leaseExpiry: 4000 * ms))
        let releaseReplies = try deliver(requester.stop(now: 1500 * ms)) { responder.receive($0, now: 1500 * ms) }
        XCTAssertEqual(serving(releaseReplies), [.stopServing(sibling: "s2", addresses: [svc], link: "eth1", reason: "released by s2")])
        _ = try deliver(releaseReplies) { requester.receive($0, now: 1501 * ms) }
        XCTAssertEqual(requester.state, .idle)
    }
}
