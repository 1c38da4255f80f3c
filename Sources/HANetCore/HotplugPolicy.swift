
/// What a device plugged in at run time looks like to the allow rules.
public struct HotplugDevice: Equatable, Sendable {
    public var name: String
    public var subsystem: String
    public var driver: String
    public var properties: [String: String]

    public init(name: String, subsystem: String, driver: String, properties: [String: String] = [:]) {
        self.name = name
        self.subsystem = subsystem
        self.driver = driver
        self.properties = properties
    }
}

/// One sibling a new hot link may lead to, with the /30 the pair would use on it.
public struct HotplugCandidate: Equatable, Sendable {
    public var sibling: String
    public var mine: IPv4Prefix
    public var peer: IPv4Address

    public init(sibling: String, mine: IPv4Prefix, peer: IPv4Address) {
        self.sibling = sibling
        self.mine = mine
        self.peer = peer
    }
}

/// The pure decisions of hot-plug: does a rule allow this device, and which
/// addresses does a hot link get. Both ends compute the same addresses from
/// the same inputs, so no address has to be configured or exchanged before
/// the first HELLO.
public enum HotplugPolicy {
    /// Discovery among several siblings: a new link holds one /30 per sibling
    /// it may lead to, each derived from this node's and that sibling's name,
    /// and says HELLO to each candidate peer. Only the pair that is really at
    /// both ends holds matching addresses, so only that HELLO is answered;
    /// the other candidates' addresses are then removed.
    ///
    /// Why not a broadcast from a provisional address: the answer would still
    /// need a per-link address plan agreed afterwards, and broadcasts from
    /// 0.0.0.0 need packet sockets; a /30 per candidate reuses the unicast
    /// PTA path unchanged and costs one address per configured sibling for
    /// the few milliseconds until the answer.
    ///
    /// Each candidate is derived independently of the others (they avoid only
    /// `avoid`), so both ends of a pair compute the same /30 whatever other
    /// siblings either end has.
    public static func candidates(node: String, siblings: [String], interface: String,
                                  avoid: [IPv4Prefix] = []) -> [HotplugCandidate] {
        siblings.sorted().map { sib in
            let (mine, peer) = addresses(node: node, sibling: sib, interface: interface, avoid: avoid)
            return HotplugCandidate(sibling: sib, mine: mine, peer: peer)
        }
    }

    /// The first rule that matches every field it gives, or nil.
    public static func match(_ d: HotplugDevice, rules: [HANetConfig.Hotplug.Rule]) -> HANetConfig.Hotplug.Rule? {
        rules.first { r in
            if let v = r.driver, v != d.driver { return false }
            if let v = r.subsystem, v != d.subsystem { return false }
            if let v = r.name, !glob(v, d.name) { return false }
            if let k = r.propertyKey, d.properties[k] != (r.propertyValue ?? "") { return false }
            return true
        }
    }

    /// What a new link that `rule` allowed may lead to: the rule's configured
    /// address (one candidate, to the rule's or the table's sibling), else one
    /// derived /30 per sibling in `siblings` (the rule's or the table's pinned
    /// one, or every configured sibling with a key).
    public static func candidates(node: String, rule: HANetConfig.Hotplug.Rule, hotplug: HANetConfig.Hotplug,
                                  siblings: [String], interface: String, avoid: [IPv4Prefix] = []) -> [HotplugCandidate] {
        let pinned = rule.sibling ?? hotplug.sibling
        if let mine = rule.address, let sib = pinned ?? (siblings.count == 1 ? siblings[0] : nil), let peer = peer(of: mine) {
            return siblings.contains(sib) ? [HotplugCandidate(sibling: sib, mine: mine, peer: peer)] : []
        }
        let names = pinned.map { p in siblings.filter { $0 == p } } ?? siblings
        return candidates(node: node, siblings: names, interface: interface, avoid: avoid)
    }

    /// The far end of a point-to-point subnet: the other host of a /30, the other address of a /31.
    public static func peer(of p: IPv4Prefix) -> IPv4Address? {
        let host = p.address.value & ~p.mask
        switch p.length {
        case 31: return IPv4Address(p.network.value + (1 - host))
        case 30 where host == 1 || host == 2: return IPv4Address(p.network.value + (3 - host))
        default: return nil
        }
    }

    /// `*` matches any run of characters (also none); everything else matches itself.
    public static func glob(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] != "*", p[pi] == t[ti] { pi += 1; ti += 1 }
            else if pi < p.count, p[pi] == "*" { star = pi; mark = ti; pi += 1 }
            else if star >= 0 { pi = star + 1; mark += 1; ti = mark }
            else { return false }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    /// The /30 of a hot link between `node` and `sibling` on `interface`,
    /// inside 169.254.0.0/16: SHA-256 of "hanet-hotplug|min|max|ifname"
    /// (with "|n" appended on the n-th retry) picks the third octet
    /// 1 + h[0] % 254 and the fourth (h[1] % 64) * 4. The node whose name sorts
    /// first takes .1, the other .2. A /30 that overlaps `avoid` (configured
    /// link addresses) is skipped.
    public static func addresses(node: String, sibling: String, interface: String,
                                 avoid: [IPv4Prefix] = []) -> (mine: IPv4Prefix, peer: IPv4Address) {
        let a = min(node, sibling), b = max(node, sibling)
        var attempt = 0
        while true {
            var input = "hanet-hotplug|\(a)|\(b)|\(interface)"
            if attempt > 0 { input += "|\(attempt)" }
            let h = Digest.sha256(Array(input.utf8))
            let base = IPv4Address(bytes: [169, 254, 1 + h[0] % 254, (h[1] % 64) * 4])
            let net = IPv4Prefix(address: base, length: 30)
            let overlaps = avoid.contains { p in
                let shorter = min(p.length, 30)
                let m = IPv4Prefix(address: base, length: shorter).mask
                return base.value & m == p.address.value & m
            }
            if !overlaps || attempt >= 1000 {
                let mine = IPv4Prefix(address: IPv4Address(net.network.value + (node <= sibling ? 1 : 2)), length: 30)
                return (mine, peer(of: mine)!)
            }
            attempt += 1
        }
    }
}
