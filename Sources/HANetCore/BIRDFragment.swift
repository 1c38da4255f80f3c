/// The BIRD 2 configuration fragment HANet owns (`[routing] include_file`),
/// rendered from what HANet wants announced. Pure text: tested without BIRD.
///
/// It defines, for the operator's bird.conf to use:
/// - `protocol static hanet_own`: this server's service addresses as host
///   routes (`via "lo"`), `disabled` while HANet withdraws them;
/// - `protocol static hanet_carry_<sibling>` per carried sibling: the
///   sibling's addresses via its end of the private link, each tied to BFD
///   (`bfd`), so the route exists only while the sibling answers BFD there;
/// - `function hanet_export()`: true for those routes, with the carried ones
///   made less preferred; the BGP export filters call it;
/// - `function hanet_kernel()`: true for the carried routes, which the kernel
///   protocol's export filter installs so this server forwards them over the
///   private link.
///
/// The disabled state is in the file as well as set on the control socket
/// (`disable`/`enable`): BIRD re-enables a protocol the CLI disabled on the
/// next `configure` unless its configuration says `disabled` (measured with
/// 2.0.12), so an operator's `birdc configure` keeps HANet's intent.
public struct BIRDFragment: Equatable, Sendable {
    public struct Carried: Equatable, Sendable {
        public var sibling: String
        public var nextHop: IPv4Address
        public var addresses: [IPv4Address]
        public var enabled: Bool
        public init(sibling: String, nextHop: IPv4Address, addresses: [IPv4Address], enabled: Bool = true) {
            self.sibling = sibling
            self.nextHop = nextHop
            self.addresses = addresses
            self.enabled = enabled
        }
    }

    public static let ownProtocol = "hanet_own"

    public var own: [IPv4Address]
    public var ownAnnounced: Bool
    public var carried: [Carried]
    public var lessPreferred: HANetConfig.Routing.LessPreferred
    public var localAS: UInt32?

    public init(own: [IPv4Address], ownAnnounced: Bool = true, carried: [Carried] = [],
                lessPreferred: HANetConfig.Routing.LessPreferred, localAS: UInt32?) {
        self.own = own
        self.ownAnnounced = ownAnnounced
        self.carried = carried
        self.lessPreferred = lessPreferred
        self.localAS = localAS
    }

    /// What a configuration asks for at start: own addresses announced, every
    /// `carry` sibling carried. Nil without `[routing]`.
    public init?(config: HANetConfig) {
        guard let r = config.routing else { return nil }
        let carried = r.carry.compactMap { name -> Carried? in
            guard let s = config.siblings.first(where: { $0.name == name }), let via = s.address else { return nil }
            return Carried(sibling: name, nextHop: via, addresses: Self.hosts(s.addresses))
        }
        self.init(own: r.announce, carried: carried, lessPreferred: r.lessPreferred, localAS: r.localAS)
    }

    /// Service addresses are announced as host routes, whatever their prefix on the master.
    static func hosts(_ prefixes: [IPv4Prefix]) -> [IPv4Address] {
        var seen = Set<IPv4Address>()
        return prefixes.map(\.address).filter { seen.insert($0).inserted }
    }

    /// The static protocol carrying a sibling's addresses: node names are
    /// a-z, 0-9 and '-'; BIRD symbols take '_' where a name has '-'.
    public static func carryProtocol(_ sibling: String) -> String {
        "hanet_carry_" + String(sibling.map { $0 == "-" ? "_" : $0 })
    }

    public func render() -> String {
        var out = """
        # HANet's BIRD fragment: written by hanet and replaced whole on every
        # change; edits here are lost. bird.conf includes it and calls
        # hanet_export() in its BGP export filters and hanet_kernel() in its
        # kernel protocol's export filter (docs/routing.md).

        """
        out += staticProtocol(Self.ownProtocol, disabled: !ownAnnounced, routes: own.map { "route \($0)/32 via \"lo\";" })
        for c in carried {
            out += staticProtocol(Self.carryProtocol(c.sibling), disabled: !c.enabled,
                                  routes: c.addresses.map { "route \($0)/32 via \(c.nextHop) bfd;" })
        }
        let carry = carried.map { "proto = \"\(Self.carryProtocol($0.sibling))\"" }
        out += "function hanet_export() {\n"
        out += ownStatements.map { "    \($0)\n" }.joined()
        if !carry.isEmpty {
            out += "    if \(carry.joined(separator: " || ")) then {\n"
            out += carryStatements.map { "        \($0)\n" }.joined()
            out += "        return true;\n    }\n"
        }
        out += "    return false;\n}\n"
        out += "function hanet_kernel() {\n    return \(carry.isEmpty ? "false" : carry.joined(separator: " || "));\n}\n"
        return out
    }

    private func staticProtocol(_ name: String, disabled: Bool, routes: [String]) -> String {
        "protocol static \(name) {\n    ipv4;\n    disabled \(disabled ? "yes" : "no");\n"
            + routes.map { "    \($0)\n" }.joined() + "}\n"
    }

    /// Own routes leave as they are, except that with MED both sides set it,
    /// so a router compares an explicit 0 with the carried value.
    private var ownStatements: [String] {
        if case .med = lessPreferred {
            return ["if proto = \"\(Self.ownProtocol)\" then { bgp_med = 0; return true; }"]
        }
        return ["if proto = \"\(Self.ownProtocol)\" then return true;"]
    }

    private var carryStatements: [String] {
        switch lessPreferred {
        case .prepend(let count):
            // The reader requires local_as with prepend.
            let asn = localAS ?? 0
            return Array(repeating: "bgp_path.prepend(\(asn));", count: count)
        case .med(let v): return ["bgp_med = \(v);"]
        case .localPref(let v): return ["bgp_local_pref = \(v);"]
        case .community(let a, let b): return ["bgp_community.add((\(a), \(b)));"]
        }
    }
}
