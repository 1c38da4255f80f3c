/// The requester side of the PTA (paper §3.5): when only private links are
/// left, ask the sibling to carry our service addresses, keep the lease
/// alive, and give it back when a public link returns.
///
/// Pure: it is driven by `start`/`receive`/`tick`/`stop` with a monotonic time
/// in nanoseconds and answers with actions; the daemon sends the datagrams and
/// calls `tick` at `nextDeadline`.
///
/// Requests are retried with exponential backoff (retry_initial doubling up
/// to retry_max) until an ACK, because the private link may have come up a
/// moment ago. The lease is counted from when the oldest unanswered request
/// was sent, so the requester never believes in a lease longer than the one
/// the responder holds.
public final class PTARequester {
    public enum State: Equatable, Sendable {
        case idle
        /// TAKEOVER sent, no ACK yet.
        case requesting
        /// The sibling carries our addresses until `leaseExpiry` unless renewed.
        case served(leaseExpiry: UInt64)
        /// RELEASE sent; waits for the ACK or for the lease to run out.
        case releasing
    }

    public let node: String
    public let bootID: UInt64
    public let sibling: String
    public private(set) var siblingAddress: IPv4Address
    public let addresses: [IPv4Address]
    /// Sent only to a sibling that speaks IPv6 (`PTAMessage.forPeer`, applied by the daemon).
    public let ipv6Addresses: [IPv6Address]
    public private(set) var state: State = .idle

    private let leaseMillis: UInt32
    private let retryInitial: UInt64
    private let retryMax: UInt64
    private let counter: PTACounter
    private var replay = PTAReplayGuard()

    private var delay: UInt64 = 0
    private var nextSend: UInt64 = 0
    /// Send time of the oldest request not yet answered.
    private var pendingSince: UInt64?
    private var leaseExpiry: UInt64 = 0
    private var releaseDeadline: UInt64 = 0

    public init(node: String, bootID: UInt64, sibling: String, siblingAddress: IPv4Address,
                addresses: [IPv4Address], ipv6Addresses: [IPv6Address] = [], pta: HANetConfig.PTA,
                counter: PTACounter = PTACounter()) {
        self.node = node
        self.bootID = bootID
        self.sibling = sibling
        self.siblingAddress = siblingAddress
        self.addresses = addresses
        self.ipv6Addresses = ipv6Addresses
        self.leaseMillis = UInt32(clamping: pta.leaseMillis)
        self.retryInitial = UInt64(pta.retryInitialMillis) * 1_000_000
        self.retryMax = UInt64(Swift.max(pta.retryMaxMillis, pta.retryInitialMillis)) * 1_000_000
        self.counter = counter
    }

    /// When `tick` must be called next, or nil when idle.
    public var nextDeadline: UInt64? {
        switch state {
        case .idle: return nil
        case .requesting: return nextSend
        case .served(let expiry): return Swift.min(nextSend, expiry)
        case .releasing: return Swift.min(nextSend, releaseDeadline)
        }
    }

    public var isServed: Bool {
        if case .served = state { return true }
        return false
    }

    /// Begins asking the sibling. Idempotent while a request or lease is in progress.
    public func start(now: UInt64) -> [PTAAction] {
        switch state {
        case .requesting, .served: return []
        case .idle, .releasing:
            state = .requesting
            pendingSince = nil
            delay = retryInitial
            return [.log("PTA: asking \(sibling) to carry \(list(addresses))"), send(.takeover, now: now)]
        }
    }

    /// The sibling is now reached at another address (the active private
    /// slave changed, such as a hot-plugged link was pulled): ask again there
    /// at once rather than at the next renewal, so the sibling moves the
    /// service to the link we now use.
    public func redirect(to address: IPv4Address, now: UInt64) -> [PTAAction] {
        guard address != siblingAddress else { return [] }
        siblingAddress = address
        switch state {
        case .idle, .releasing:
            return []
        case .requesting:
            delay = retryInitial
            return [send(.takeover, now: now)]
        case .served:
            delay = retryInitial
            return [.log("PTA: asking \(sibling) at \(address) now"), send(.renew, now: now)]
        }
    }

    /// Gives the addresses back (a public link is good again, or shutdown).
    public func stop(now: UInt64) -> [PTAAction] {
        switch state {
        case .idle, .releasing: return []
        case .requesting, .served:
            state = .releasing
            pendingSince = nil
            delay = retryInitial
            // The responder may hold a lease we never heard about (ACK lost): wait that long at most.
            releaseDeadline = now + UInt64(leaseMillis) * 1_000_000
            return [.log("PTA: releasing \(list(addresses)) from \(sibling)"), send(.release, now: now)]
        }
    }

    public func tick(now: UInt64) -> [PTAAction] {
        switch state {
        case .idle:
            return []
        case .requesting:
            guard now >= nextSend else { return [] }
            return [send(.takeover, now: now)]
        case .served(let expiry):
            if now >= expiry {
                state = .requesting
                pendingSince = nil
                delay = retryInitial
                return [.log("PTA: lease from \(sibling) expired without a renewal ACK; asking again"), send(.takeover, now: now)]
            }
            guard now >= nextSend else { return [] }
            return [send(.renew, now: now)]
        case .releasing:
            if now >= releaseDeadline {
                state = .idle
                return [.log("PTA: no ACK for RELEASE from \(sibling); its lease has run out")]
            }
            guard now >= nextSend else { return [] }
            return [send(.release, now: now)]
        }
    }

    public func receive(_ m: PTAMessage, now: UInt64) -> [PTAAction] {
        guard m.sender == sibling else {
            return [.refused(.ptaIgnored, source: m.sender, "PTA: ignoring \(m.type) from \(m.sender); requests go to \(sibling)")]
        }
        guard m.type == .ack || m.type == .refuse else {
            return [.refused(.ptaIgnored, source: m.sender, "PTA: requester ignores \(m.type) from \(m.sender)")]
        }
        if let why = replay.accept(m) { return [.refused(.ptaReplay, source: m.sender, "PTA: dropped: \(why)")] }

        switch (state, m.type) {
        case (.idle, _):
            return [.log("PTA: ignoring \(m.type) from \(sibling) while idle")]
        case (.releasing, .ack), (.releasing, .refuse):
            state = .idle
            return [.log("PTA: \(sibling) released \(list(addresses))")]
        case (.requesting, .ack), (.served, .ack):
            // No IPv6 addresses in the ACK: they were withheld from a sibling
            // that does not speak IPv6, which ACKs what it was sent.
            guard Set(m.addresses) == Set(addresses), m.ipv6Addresses.isEmpty || Set(m.ipv6Addresses) == Set(ipv6Addresses) else {
                return [.log("PTA: ignoring ACK from \(sibling) for \(list(m.addresses)); we asked for \(list(addresses))")]
            }
            guard m.leaseMillis > 0 else { return [.log("PTA: ignoring ACK from \(sibling) with a zero lease")] }
            guard let since = pendingSince else {
                return [.log("PTA: duplicate ACK from \(sibling) ignored")]
            }
            let lease = UInt64(m.leaseMillis) * 1_000_000
            let wasServed = isServed
            leaseExpiry = since + lease
            state = .served(leaseExpiry: leaseExpiry)
            pendingSince = nil
            delay = retryInitial
            nextSend = since + lease / 3
            return wasServed ? [] : [.log("PTA: \(sibling) carries \(list(addresses)) (lease \(m.leaseMillis) ms)")]
        case (.requesting, .refuse), (.served, .refuse):
            let lost = isServed
            state = .requesting
            pendingSince = nil
            delay = retryMax
            nextSend = now + retryMax
            return [.log("PTA: \(sibling) refused\(lost ? " to keep carrying" : "") \(list(addresses)): \(m.reason)")]
        default:
            return []
        }
    }

    private func send(_ type: PTAMessage.Kind, now: UInt64) -> PTAAction {
        if pendingSince == nil { pendingSince = now }
        nextSend = now + delay
        delay = Swift.min(delay * 2, retryMax)
        let m = PTAMessage(type: type, sender: node, addresses: addresses, ipv6Addresses: ipv6Addresses, counter: counter.next(now: now),
                           bootID: bootID, leaseMillis: type == .release ? 0 : leaseMillis)
        return .send(m, to: siblingAddress)
    }

    private func list(_ a: [IPv4Address]) -> String {
        (a.map(\.description) + ipv6Addresses.map(\.description)).joined(separator: ", ")
    }
}
