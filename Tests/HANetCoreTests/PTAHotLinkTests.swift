import XCTest
@testable import HANetCore

/// The PTA over a hot-plugged private link: the responder answers over the
/// link a message came by, and a requester whose active private slave changed
/// asks the sibling at the new address at once.
final class PTAHotLinkTests: XCTestCase {
    let ms: UInt64 = 1_000_000
    let pta = HANetConfig.PTA(port: 7377, leaseMillis: 3000, retryInitialMillis: 5, retryMaxMillis: 200)
    let priv = IPv4Address("169.254.77.2")!
    let hot = IPv4Address("169.254.9.6")!
    let svc = IPv4Address("198.51.100.12")!
    var counter: UInt64 = 0

    private func responder() -> PTAResponder {
        PTAResponder(node: "s1", bootID: 1,
                     peers: [.init(name: "s2", address: priv, allowed: [IPv4Prefix("198.51.100.12/32")!], link: "priv0")],
                     pta: pta, canServe: { true })
    }

    private func msg(_ type: PTAMessage.Kind, addresses: [IPv4Address]? = nil) -> PTAMessage {
        counter += 1
        return PTAMessage(type: type, sender: "s2", addresses: addresses ?? [svc], counter: counter, bootID: 77, leaseMillis: 3000)
    }

    func testHelloOverAHotLinkIsAnsweredThere() {
        let r = responder()
        let actions = r.receive(msg(.hello, addresses: []), now: 0, via: (hot, "hp0"))
        guard case .send(let ack, let to)? = actions.last else { return XCTFail("no reply: \(actions)") }
        XCTAssertEqual(ack.type, .ack)
        XCTAssertEqual(ack.addresses, [])
        XCTAssertEqual(to, hot)
    }

    func testTakeoverOverAHotLinkIsServedThereAndMovesWithTheRenew() {
        let r = responder()
        let first = r.receive(msg(.takeover), now: 0, via: (hot, "hp0"))
        XCTAssertTrue(first.contains(.startServing(sibling: "s2", addresses: [svc], link: "hp0")), "\(first)")
        XCTAssertEqual(r.leases["s2"]?.link, "hp0")
        // The hot link is pulled; the sibling renews over the configured link.
        let moved = r.receive(msg(.renew), now: 100 * ms)
        XCTAssertTrue(moved.contains(.stopServing(sibling: "s2", addresses: [svc], link: "hp0",
                                                  reason: "s2 asked for a different set of addresses")), "\(moved)")
        XCTAssertTrue(moved.contains(.startServing(sibling: "s2", addresses: [svc], link: "priv0")), "\(moved)")
        guard case .send(_, let to)? = moved.last else { return XCTFail("no reply") }
        XCTAssertEqual(to, priv)
    }

    func testStoppingALinkEndsOnlyItsLeases() {
        let r = responder()
        _ = r.receive(msg(.takeover), now: 0, via: (hot, "hp0"))
        XCTAssertEqual(r.stop(link: "priv0", reason: "x"), [])
        XCTAssertEqual(r.stop(link: "hp0", reason: "hp0 was removed"),
                       [.stopServing(sibling: "s2", addresses: [svc], link: "hp0", reason: "hp0 was removed")])
        XCTAssertNil(r.leases["s2"])
    }

    func testRequesterRedirectAsksAtTheNewAddressAtOnce() {
        let q = PTARequester(node: "s1", bootID: 5, sibling: "s2", siblingAddress: hot, addresses: [svc], pta: pta)
        _ = q.start(now: 0)
        XCTAssertEqual(q.redirect(to: hot, now: 1), [], "same address: nothing to do")
        let ack = PTAMessage(type: .ack, sender: "s2", addresses: [svc], counter: 1, bootID: 9, leaseMillis: 3000)
        _ = q.receive(ack, now: 2 * ms)
        XCTAssertTrue(q.isServed)
        let actions = q.redirect(to: priv, now: 10 * ms)
        let sends = actions.compactMap { a -> (PTAMessage, IPv4Address)? in if case .send(let m, let to) = a { return (m, to) } else { return nil } }
        XCTAssertEqual(sends.map(\.0.type), [.renew])
        XCTAssertEqual(sends.map(\.1), [priv])
        XCTAssertEqual(q.siblingAddress, priv)
    }
}
