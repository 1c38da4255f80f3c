import XCTest
@testable import HANetCore

/// The requester and the responder with IPv6 service addresses: asked for,
/// checked against the sibling's configured ones, leased and acknowledged.
final class PTAIPv6LeaseTests: XCTestCase {
    let ms: UInt64 = 1_000_000
    let pta = HANetConfig.PTA(port: 7377, leaseMillis: 3000, retryInitialMillis: 5, retryMaxMillis: 40)
    let v4 = IPv4Address("198.51.100.11")!
    let v6 = IPv6Address("2001:db8::11")!
    var counter: UInt64 = 0

    func responder() -> PTAResponder {
        PTAResponder(node: "s2", bootID: 1,
                     peers: [.init(name: "s1", address: IPv4Address("169.254.77.1")!, allowed: [IPv4Prefix("198.51.100.11/32")!],
                                   allowedIPv6: [IPv6Prefix("2001:db8::11/128")!], link: "priv0")],
                     pta: pta, canServe: { true })
    }

    func request(_ ipv6: [IPv6Address]) -> PTAMessage {
        counter += 1
        return PTAMessage(type: .takeover, sender: "s1", addresses: [v4], ipv6Addresses: ipv6, counter: counter, bootID: 7, leaseMillis: 3000)
    }

    func sent(_ actions: [PTAAction]) -> [PTAMessage] {
        actions.compactMap { if case .send(let m, _) = $0 { return m } else { return nil } }
    }

    func testTheResponderLeasesAndAcksTheIPv6AddressesItMayCarry() {
        let r = responder()
        let actions = r.receive(request([v6]), now: 0)
        XCTAssertTrue(actions.contains(.startServing(sibling: "s1", addresses: [v4], ipv6Addresses: [v6], link: "priv0")), "\(actions)")
        XCTAssertEqual(sent(actions).first?.ipv6Addresses, [v6])
        XCTAssertEqual(r.leases["s1"]?.ipv6Addresses, [v6])
        // The lease's end undoes the IPv6 part too.
        XCTAssertEqual(r.tick(now: 3000 * ms), [.stopServing(sibling: "s1", addresses: [v4], ipv6Addresses: [v6], link: "priv0", reason: "lease expired")])
    }

    func testAnIPv6AddressTheSiblingMayNotHaveIsRefused() {
        let r = responder()
        let actions = r.receive(request([IPv6Address("2001:db8::99")!]), now: 0)
        XCTAssertEqual(sent(actions).map(\.type), [.refuse])
        XCTAssertTrue(sent(actions).first?.reason.contains("2001:db8::99") ?? false, "\(actions)")
        XCTAssertNil(r.leases["s1"])
    }

    func testAddingTheIPv6AddressesToALeaseServesTheNewSet() {
        let r = responder()
        _ = r.receive(request([]), now: 0)
        let actions = r.receive(request([v6]), now: 10 * ms)
        XCTAssertEqual(actions.filter { if case .send = $0 { return false } else { return true } }, [
            .stopServing(sibling: "s1", addresses: [v4], link: "priv0", reason: "s1 asked for a different set of addresses"),
            .startServing(sibling: "s1", addresses: [v4], ipv6Addresses: [v6], link: "priv0"),
        ])
    }

    func testTheRequesterAsksForBothAndTakesAnAckWithoutTheWithheldIPv6() {
        for ackIPv6 in [[v6], []] {
            let q = PTARequester(node: "s1", bootID: 7, sibling: "s2", siblingAddress: IPv4Address("169.254.77.2")!,
                                 addresses: [v4], ipv6Addresses: [v6], pta: pta)
            XCTAssertEqual(sent(q.start(now: 0)).first?.ipv6Addresses, [v6])
            counter += 1
            _ = q.receive(PTAMessage(type: .ack, sender: "s2", addresses: [v4], ipv6Addresses: ackIPv6, counter: counter,
                                     bootID: 9, leaseMillis: 3000), now: 1 * ms)
            XCTAssertTrue(q.isServed, "ACK with \(ackIPv6)")
        }
    }

    func testTheRequesterIgnoresAnAckForOtherIPv6Addresses() {
        let q = PTARequester(node: "s1", bootID: 7, sibling: "s2", siblingAddress: IPv4Address("169.254.77.2")!,
                             addresses: [v4], ipv6Addresses: [v6], pta: pta)
        _ = q.start(now: 0)
        _ = q.receive(PTAMessage(type: .ack, sender: "s2", addresses: [v4], ipv6Addresses: [IPv6Address("2001:db8::12")!],
                                 counter: 1, bootID: 9, leaseMillis: 3000), now: 1 * ms)
        XCTAssertFalse(q.isServed)
    }
}
