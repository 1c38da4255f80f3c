/// How a served node's own IPv6 traffic leaves through its sibling.
///
/// For IPv4, `proxy_arp` on the sibling's end of the private link answers the
/// served node's ARP for any LAN host. Proxy NDP has no such wildcard: the
/// sibling answers only for addresses in its proxy table. So, while it is
/// carried, the served node routes its IPv6 LAN prefixes via one address of
/// the sibling's on the private link, the only neighbour it then solicits,
/// and the sibling's kernel answers for it as its own:
/// - the address is the link-local one that embeds the sibling's IPv4 end
///   of the private link (`fe80::a9fe:4d02` for 169.254.77.2): both nodes
///   know it from their configs, with no new field on the wire; the sibling
///   adds it (without DAD) while it serves IPv6 and removes it after;
/// - the routes are the two halves of each on-link service prefix (a /64
///   becomes two /65s), so they win over the kernel's on-link route by
///   longest match and leave it untouched, and `::/1` and `8000::/1` when the
///   node has a default route out of the master. Deleting them restores the
///   on-link path exactly.
public enum PTAIPv6Path {
    /// `fe80::` with the IPv4 address in the low 32 bits.
    public static func gateway(siblingEnd: IPv4Address) -> IPv6Address {
        IPv6Address(high: 0xfe80 << 48, low: UInt64(siblingEnd.value))
    }

    /// The routes via the gateway: halves of each on-link prefix of
    /// `service`, and of the default route when `hasDefault`.
    public static func routes(service: [IPv6Prefix], hasDefault: Bool) -> [IPv6Prefix] {
        var out: [IPv6Prefix] = []
        var covered = service.filter { $0.length < 128 }.map { IPv6Prefix(address: $0.network, length: $0.length) }
        if hasDefault { covered.append(IPv6Prefix(address: IPv6Address(high: 0, low: 0), length: 0)) }
        for p in covered {
            for half in halves(p) where !out.contains(half) { out.append(half) }
        }
        return out
    }

    static func halves(_ p: IPv6Prefix) -> [IPv6Prefix] {
        let bit = p.length  // the bit that tells the halves apart, counted from the top
        let upper = bit < 64
            ? IPv6Address(high: p.address.high | (1 << (63 - UInt64(bit))), low: p.address.low)
            : IPv6Address(high: p.address.high, low: p.address.low | (1 << (127 - UInt64(bit))))
        return [IPv6Prefix(address: p.address, length: bit + 1), IPv6Prefix(address: upper, length: bit + 1)]
    }
}
