/// The responder side of the PTA (paper §3.5): a sibling asks us to carry its
/// service addresses over the private link between us. We check that it is a
/// configured sibling asking only for addresses it is allowed to have, that we
/// can serve at all (a public link of ours is up), and then lease the service.
///
/// Pure, like `PTARequester`: `receive` and `tick` return actions. It is
/// idempotent: a TAKEOVER retried after our ACK was lost is answered again
/// without applying the service twice, and a RENEW for a lease we do not know
/// (we restarted) is treated as a TAKEOVER so the sibling is not dropped.
public final class PTAResponder {
    /// A sibling we may serve: from `[[sibling]]` and the `[[link]]` naming it.
    public struct Peer: Equatable, Sendable {
        public var name: String
        /// Where answers go: the configured private-link address, or the hot link's far end a message came from.
        public var address: IPv4Address?
        public var allowed: [IPv4Prefix]
        public var allowedIPv6: [IPv6Prefix]
        /// The private link to it; nil when no [[link]] names this sibling.
        public var link: String?

        public init(name: String, address: IPv4Address?, allowed: [IPv4Prefix], allowedIPv6: [IPv6Prefix] = [], link: String?) {
            self.name = name
            self.address = address
            self.allowed = allowed
            self.allowedIPv6 = allowedIPv6
            self.link = link
        }

        func allows(_ a: IPv4Address) -> Bool { allowed.contains { $0.contains(a) } }
        func allows(_ a: IPv6Address) -> Bool { allowedIPv6.contains { $0.contains(a) } }
    }

    public struct Lease: Equatable, Sendable {
        public var addresses: [IPv4Address]
        public var ipv6Addresses: [IPv6Address] = []
        public var link: String
        public var expiry: UInt64
    }

    public let node: String
    public let bootID: UInt64
    public private(set) var peers: [String: Peer]
    public private(set) var leases: [String: Lease] = [:]

    private let maxLeaseMillis: UInt32
    private let counter: PTACounter
    private let canServe: () -> Bool
    private var replay = PTAReplayGuard()

    /// `canServe` answers whether one of our own public links is GOOD: serving
    /// without one would only move the black hole.
    public init(node: String, bootID: UInt64, peers: [Peer], pta: HANetConfig.PTA,
                counter: PTACounter = PTACounter(), canServe: @escaping () -> Bool) {
        self.node = node
        self.bootID = bootID
        self.peers = Dictionary(peers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.maxLeaseMillis = UInt32(clamping: pta.leaseMillis)
        self.counter = counter
        self.canServe = canServe
    }

    /// Peers from the configuration: each sibling with the first link that names it.
    public convenience init(config: HANetConfig, bootID: UInt64, counter: PTACounter = PTACounter(),
                            canServe: @escaping () -> Bool) {
        let peers = config.siblings.map { Peer(name: $0.name, address: $0.address, allowed: $0.addresses, allowedIPv6: $0.ipv6Addresses, link: nil) }
        self.init(node: config.node.name, bootID: bootID, peers: peers, pta: config.pta, counter: counter, canServe: canServe)
        relink(config.links)
    }

    /// A reload added or removed `[[link]]`s: each sibling's private link is
    /// again the first link that names it (as at start). Leases over a link
    /// that is gone are ended by `stop(link:reason:)`, not here.
    public func relink(_ links: [HANetConfig.Link]) {
        for name in peers.keys {
            peers[name]?.link = links.first { $0.sibling == name }?.interface
        }
    }

    /// The earliest lease expiry, when `tick` must run.
    public var nextDeadline: UInt64? { leases.values.map(\.expiry).min() }

    /// `via` is the path the message came over when it is not the configured
    /// one (a hot-plugged private link): the answer goes back to that address
    /// and a lease it starts is served over that link.
    public func receive(_ m: PTAMessage, now: UInt64, via: (address: IPv4Address, link: String)? = nil) -> [PTAAction] {
        guard var peer = peers[m.sender] else {
            return [.refused(.ptaUnknownSender, source: m.sender, "PTA: ignoring \(m.type) from \(m.sender): not a configured sibling")]
        }
        switch m.type {
        case .ack, .refuse, .readiness:
            return [.refused(.ptaIgnored, source: m.sender, "PTA: responder ignores \(m.type) from \(m.sender)")]
        case .takeover, .renew, .release, .hello:
            break
        }
        if let why = replay.accept(m) { return [.refused(.ptaReplay, source: m.sender, "PTA: dropped: \(why)")] }
        if let via {
            peer.address = via.address
            peer.link = via.link
        }

        switch m.type {
        case .hello:
            return [reply(.ack, to: peer, addresses: [], lease: 0, now: now)]
        case .release:
            return [end(peer.name, reason: "released by \(peer.name)"),
                    reply(.ack, to: peer, addresses: m.addresses, ipv6: m.ipv6Addresses, lease: 0, now: now)].compactMap { $0 }
        case .takeover, .renew:
            return request(m, from: peer, now: now)
        case .ack, .refuse, .readiness:
            return []
        }
    }

    /// Ends leases that were not renewed in time.
    public func tick(now: UInt64) -> [PTAAction] {
        endAll(where: { now >= $0.expiry }, reason: "lease expired")
    }

    /// Ends `name`'s lease, if it has one: the action that undoes the service.
    private func end(_ name: String, reason: String) -> PTAAction? {
        guard let lease = leases.removeValue(forKey: name) else { return nil }
        return .stopServing(sibling: name, addresses: lease.addresses, ipv6Addresses: lease.ipv6Addresses, link: lease.link, reason: reason)
    }

    /// Ends every lease that `matches`, in sibling-name order.
    private func endAll(where matches: (Lease) -> Bool, reason: String) -> [PTAAction] {
        leases.keys.sorted().filter { matches(leases[$0]!) }.compactMap { end($0, reason: reason) }
    }

    /// A restarted daemon found this service in the kernel (routes and proxy
    /// entries a previous instance left): hold it as a full lease, so the
    /// sibling's next RENEW extends it and, if none comes, it ends and is undone.
    /// False when the configuration no longer allows it.
    @discardableResult
    public func adopt(sibling: String, addresses: [IPv4Address], ipv6Addresses: [IPv6Address] = [], link: String, now: UInt64) -> Bool {
        guard let peer = peers[sibling], peer.link == link, !addresses.isEmpty || !ipv6Addresses.isEmpty,
              addresses.allSatisfy(peer.allows), ipv6Addresses.allSatisfy(peer.allows) else { return false }
        leases[sibling] = Lease(addresses: addresses, ipv6Addresses: ipv6Addresses, link: link,
                                expiry: now + UInt64(maxLeaseMillis) * 1_000_000)
        return true
    }

    /// Stops the leases served over `link` (it was unplugged: the kernel already
    /// dropped its routes; the proxy entries and the record must go too).
    public func stop(link: String, reason: String) -> [PTAAction] {
        endAll(where: { $0.link == link }, reason: reason)
    }

    /// Stops every lease (daemon shutdown, or our last public link failed).
    public func stopAll(reason: String) -> [PTAAction] {
        endAll(where: { _ in true }, reason: reason)
    }

    private func request(_ m: PTAMessage, from peer: Peer, now: UInt64) -> [PTAAction] {
        let existing = leases[peer.name]
        func refuse(_ reason: String) -> [PTAAction] {
            [end(peer.name, reason: reason), .log("PTA: refusing \(m.type) from \(peer.name): \(reason)"),
             reply(.refuse, to: peer, addresses: m.addresses, ipv6: m.ipv6Addresses, lease: 0, now: now, reason: reason)].compactMap { $0 }
        }
        guard let link = peer.link else {
            return refuse("no [[link]] on \(node) names sibling \(peer.name)")
        }
        guard !m.addresses.isEmpty || !m.ipv6Addresses.isEmpty else { return refuse("no addresses in the request") }
        let bad = m.addresses.first { !peer.allows($0) }?.description ?? m.ipv6Addresses.first { !peer.allows($0) }?.description
        if let bad {
            return refuse("address \(bad) is not among \(peer.name)'s configured addresses ("
                          + (peer.allowed.map(\.description) + peer.allowedIPv6.map(\.description)).joined(separator: ", ") + ")")
        }
        guard canServe() else { return refuse("\(node) has no working public link") }

        let granted = m.leaseMillis == 0 ? maxLeaseMillis : Swift.min(m.leaseMillis, maxLeaseMillis)
        let expiry = now + UInt64(granted) * 1_000_000
        var actions: [PTAAction] = []
        let wanted = m.addresses, wanted6 = m.ipv6Addresses
        if let lease = existing, Set(lease.addresses) == Set(wanted), Set(lease.ipv6Addresses) == Set(wanted6), lease.link == link {
            leases[peer.name]?.expiry = expiry
        } else {
            if let lease = existing {
                actions.append(.stopServing(sibling: peer.name, addresses: lease.addresses, ipv6Addresses: lease.ipv6Addresses,
                                            link: lease.link, reason: "\(peer.name) asked for a different set of addresses"))
            } else if m.type == .renew {
                actions.append(.log("PTA: RENEW from \(peer.name) without a lease (restart?); serving it as a TAKEOVER"))
            }
            leases[peer.name] = Lease(addresses: wanted, ipv6Addresses: wanted6, link: link, expiry: expiry)
            actions.append(.startServing(sibling: peer.name, addresses: wanted, ipv6Addresses: wanted6, link: link))
        }
        actions.append(reply(.ack, to: peer, addresses: wanted, ipv6: wanted6, lease: granted, now: now))
        return actions
    }

    private func reply(_ type: PTAMessage.Kind, to peer: Peer, addresses: [IPv4Address], ipv6: [IPv6Address] = [], lease: UInt32,
                       now: UInt64, reason: String = "") -> PTAAction {
        // The wire format carries at most 256 bytes of reason; cut on a character boundary.
        var r = reason
        while r.utf8.count > PTAWire.maxReason { r.removeLast() }
        let v4 = Array(addresses.prefix(PTAWire.maxAddresses))
        let m = PTAMessage(type: type, sender: node, addresses: v4,
                           ipv6Addresses: Array(ipv6.prefix(PTAWire.maxAddresses - v4.count)),
                           counter: counter.next(now: now), bootID: bootID, leaseMillis: lease, reason: r)
        guard let to = peer.address else { return .log("PTA: no address to answer \(peer.name) at (no [[link]] and no hot link leads to it)") }
        return .send(m, to: to)
    }
}
