/// The nftables text for a `ForwardingPlan`, kept pure so the exact ruleset
/// can be unit-tested without a kernel. The text replaces the whole table in
/// one transaction: `table` (so the delete cannot fail on a fresh host),
/// `delete table`, then the new table, all in one `nft_run_cmd_from_buffer`
/// call, so the kernel never sees two active slaves or a half-built table.
public struct NftablesRuleset {
    /// The table comment that records the port, because nftables 1.0.6's JSON
    /// listing shows neither chain devices nor table comments; `installed(table:)`
    /// needs the port even when no slave is active.
    public static let portCommentPrefix = "hanet port="

    /// Checks what the text rendering cannot express: names nftables would
    /// misparse and an L3 plan without its addresses.
    public static func validate(_ plan: ForwardingPlan) throws {
        guard isIdentifier(plan.table) else {
            throw HANetError(.config, "nftables table name '\(plan.table)': expected a letter or '_' followed by letters, digits or '_' (at most 64)")
        }
        try checkInterface(plan.port, role: "port")
        guard let active = plan.active else { return }
        try checkInterface(active, role: "active slave")
        if active == plan.port {
            throw HANetError(.config, "forwarding plan for table \(plan.table): the active slave and the port are the same interface '\(active)'")
        }
        if plan.layer == .l3 {
            guard plan.l3Peer != nil || plan.ipv6L3Peer != nil else {
                throw HANetError(.config, "forwarding plan for table \(plan.table): L3 slave '\(active)' needs l3Peer (the point-to-point peer address)")
            }
            guard !plan.serviceAddresses.isEmpty || !plan.ipv6ServiceAddresses.isEmpty else {
                throw HANetError(.config, "forwarding plan for table \(plan.table): L3 slave '\(active)' needs at least one service address")
            }
            if !plan.serviceAddresses.isEmpty, plan.l3Peer == nil {
                throw HANetError(.config, "forwarding plan for table \(plan.table): L3 slave '\(active)' needs l3Peer (the point-to-point peer's IPv4 address) to forward IPv4")
            }
            if !plan.ipv6ServiceAddresses.isEmpty, plan.ipv6L3Peer == nil {
                throw HANetError(.config, "forwarding plan for table \(plan.table): L3 slave '\(active)' needs ipv6L3Peer (the point-to-point peer's IPv6 address) to forward IPv6")
            }
        }
    }

    /// Renders the transaction. For L3 only the first service address of each
    /// family is used as the `fwd ip to` / `fwd ip6 to` next hop: the master's
    /// port is a point-to-point stand-in, so every service address lives on
    /// the same master and the next hop only selects the neighbour entry; a
    /// plan for an invalid L3 slave (see `validate`) renders without
    /// forwarding rules.
    ///
    /// IPv6 on a slave with own IPv6 addresses (a private link's end) mirrors
    /// the IPv4 exemptions: traffic to those addresses stays on the slave, and
    /// so does Neighbour Discovery about them (NS/NA whose target is one of
    /// them: `@th,64,128` is the ND target, as nftables 1.0.6 has no `icmpv6
    /// taddr`), like `arp daddr ip`. ND about any other address (a sibling
    /// resolving a service address over the private link) goes to the master.
    /// Router Solicitation and Advertisement and Redirect stay on such a slave:
    /// the master takes its router from the public LAN, never from a private link.
    public static func render(_ plan: ForwardingPlan) -> String {
        let t = plan.table
        var s = "table netdev \(t)\ndelete table netdev \(t)\ntable netdev \(t) {\n"
        s += "\tcomment \"\(portCommentPrefix)\(plan.port)\"\n"
        guard let active = plan.active else {
            return s + "}\n"
        }
        s += "\tchain slave {\n"
        s += "\t\ttype filter hook ingress device \"\(active)\" priority 0;\n"
        if !plan.slaveOwnAddresses.isEmpty {
            let own = list(plan.slaveOwnAddresses)
            if plan.layer == .l2 { s += "\t\tarp daddr ip { \(own) } accept\n" }
            s += "\t\tip daddr { \(own) } accept\n"
        }
        if !plan.slaveOwnIPv6Addresses.isEmpty {
            if plan.layer == .l2 {
                let targets = plan.slaveOwnIPv6Addresses.map(hex128).joined(separator: ", ")
                s += "\t\ticmpv6 type { nd-router-solicit, nd-router-advert, nd-redirect } accept\n"
                s += "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } @th,64,128 { \(targets) } accept\n"
            }
            s += "\t\tip6 daddr { \(list(plan.slaveOwnIPv6Addresses)) } accept\n"
        }
        if plan.drainNewConnections {
            // netdev cannot reject; a dropped SYN makes the client retry elsewhere or later.
            if plan.serviceAddresses.isEmpty && plan.ipv6ServiceAddresses.isEmpty {
                s += "\t\tmeta protocol ip tcp flags & (syn|ack) == syn drop\n"
            }
            if !plan.serviceAddresses.isEmpty {
                s += "\t\tip daddr { \(list(plan.serviceAddresses)) } tcp flags & (syn|ack) == syn drop\n"
            }
            if !plan.ipv6ServiceAddresses.isEmpty {
                s += "\t\tip6 daddr { \(list(plan.ipv6ServiceAddresses)) } tcp flags & (syn|ack) == syn drop\n"
            }
        }
        switch plan.layer {
        case .l2:
            s += "\t\tfwd to \"\(plan.port)\"\n"
        case .l3:
            if let service = plan.serviceAddresses.first {
                s += "\t\tmeta protocol ip fwd ip to \(service) device \"\(plan.port)\"\n"
            }
            if let service = plan.ipv6ServiceAddresses.first {
                s += "\t\tmeta protocol ip6 fwd ip6 to \(service) device \"\(plan.port)\"\n"
            }
        }
        s += "\t}\n"
        s += "\tchain port {\n"
        s += "\t\ttype filter hook ingress device \"\(plan.port)\" priority 0;\n"
        switch plan.layer {
        case .l2:
            s += "\t\tfwd to \"\(active)\"\n"
        case .l3:
            if let peer = plan.l3Peer {
                s += "\t\tmeta protocol ip fwd ip to \(peer) device \"\(active)\"\n"
            }
            if let peer = plan.ipv6L3Peer {
                s += "\t\tmeta protocol ip6 fwd ip6 to \(peer) device \"\(active)\"\n"
            }
        }
        s += "\t}\n}\n"
        return s
    }

    private static func list(_ addresses: [some CustomStringConvertible]) -> String {
        addresses.map(\.description).joined(separator: ", ")
    }

    /// An address as the 128-bit integer a raw payload match compares with.
    private static func hex128(_ a: IPv6Address) -> String {
        "0x" + a.bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// The PTA guard's table: one ingress chain on every public slave that
    /// counts and drops UDP to the PTA port (IPv4 and IPv6 alike: `udp`
    /// matches the transport header whatever the network layer). Priority -10
    /// runs it before the data plane's `fwd`. No public slave: the table goes.
    public static func renderGuard(_ g: PTAGuard) -> String {
        let t = PTAGuard.table(for: g.table)
        var s = "table netdev \(t)\ndelete table netdev \(t)\n"
        guard !g.publicSlaves.isEmpty else { return s }
        let devices = g.publicSlaves.map { "\"\($0)\"" }.joined(separator: ", ")
        s += "table netdev \(t) {\n"
        s += "\tchain pta {\n"
        s += "\t\ttype filter hook ingress devices = { \(devices) } priority -10;\n"
        s += "\t\tudp dport \(g.port) counter drop\n"
        s += "\t}\n}\n"
        return s
    }

    /// nft identifiers HANet accepts for table names.
    public static func isIdentifier(_ s: String) -> Bool {
        guard let f = s.unicodeScalars.first, s.unicodeScalars.count <= 64,
              f == "_" || (f.isASCII && f.properties.isAlphabetic) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    /// The one rule for interface names, used by the config reader and by
    /// every rule set: the kernel's (dev_valid_name: 1 to 15 bytes, not "." or
    /// "..", no '/', ':' or whitespace) and what an nft string can hold
    /// (printable ASCII, no quote or backslash).
    public static func isInterfaceName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 15 && name != "." && name != ".."
            && name.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && $0.value != 0x7f && !"\"\\/:".unicodeScalars.contains($0) }
    }

    public static func checkInterface(_ name: String, role: String) throws {
        guard isInterfaceName(name) else {
            throw HANetError(.config, "\(role) interface name '\(name)': expected 1 to 15 printable ASCII characters without spaces, quotes, '\\', '/' or ':'")
        }
    }
}
