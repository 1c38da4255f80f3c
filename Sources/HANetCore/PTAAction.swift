/// What a PTA state machine asks the daemon to do. The machines do no I/O, so
/// that every decision can be tested with a fake clock.
public enum PTAAction: Equatable, Sendable {
    /// Encode, sign and send `message` by UDP to `to` (the peer's private-link address).
    case send(PTAMessage, to: IPv4Address)
    /// Responder: carry the sibling's addresses (forwarding, proxy ARP and
    /// proxy NDP, host routes over `link`, gratuitous ARP and unsolicited NAs on the public LAN).
    case startServing(sibling: String, addresses: [IPv4Address], ipv6Addresses: [IPv6Address] = [], link: String)
    /// Responder: undo `startServing`.
    case stopServing(sibling: String, addresses: [IPv4Address], ipv6Addresses: [IPv6Address] = [], link: String, reason: String)
    case log(String)
    /// An authentic message the machine will not act on: counted under
    /// `reason` and logged through the rate limit, so a replayed flood costs no log line each.
    case refused(RefusalReason, source: String, String)
}
