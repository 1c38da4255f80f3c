/// `[routing]`: the routed mode (docs/routing.md).
extension HANetConfigReader {
    static let routingKeys = ["engine", "control_socket", "include_file", "local_as", "less_preferred",
                              "prepend_count", "med", "local_pref", "community", "carry", "configure_timeout_s", "announce"]
    /// The key that gives each way of "less preferred" its value; the others must be absent.
    static let lessPreferredValueKeys = ["prepend": "prepend_count", "med": "med", "local_pref": "local_pref",
                                         "community": "community"]

    mutating func readRouting(_ t: TOMLTable?, siblings: [HANetConfig.Sibling], master: HANetConfig.Master?) -> HANetConfig.Routing? {
        guard let t else { return nil }
        checkKeys(t, allowed: Self.routingKeys, table: "[routing]", path: "routing")
        var r = HANetConfig.Routing(location: .init(file: file, line: t.line))
        if let (e, line) = optionalString(t, "engine", path: "routing") {
            if let engine = HANetConfig.Routing.Engine(rawValue: e) { r.engine = engine }
            else {
                problem(line, "routing.engine", "expected one of: " + HANetConfig.Routing.Engine.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ") + ", got \"\(e)\"")
            }
        } else {
            problem(t.line, "routing.engine", "missing required key 'engine' in [routing] (engine = \"bird\")")
        }
        if let s = socketPath(t, "control_socket", path: "routing") { r.controlSocket = s }
        if let (f, line) = optionalString(t, "include_file", path: "routing") {
            if !f.hasPrefix("/") || f.contains("\"") || f.contains("\n") {
                problem(line, "routing.include_file", "expected an absolute path without '\"' (bird.conf includes it by that path), got \"\(f)\"")
            } else {
                r.includeFile = f
            }
        }
        if let asn = optionalInt(t, "local_as", path: "routing", range: 1...4_294_967_294) { r.localAS = UInt32(asn) }
        r.lessPreferred = readLessPreferred(t, localAS: r.localAS)
        r.configureTimeoutSeconds = optionalInt(t, "configure_timeout_s", path: "routing", range: 5...3600) ?? 30
        if let e = t["carry"], let names = stringList(e.value, path: "routing.carry", what: "sibling names") {
            var seen = Set<String>()
            for (i, (name, line)) in names.enumerated() {
                let key = "routing.carry[\(i)]"
                guard let s = siblings.first(where: { $0.name == name }) else {
                    problem(line, key, Self.unknownSibling(name, known: siblings.map(\.name)))
                    continue
                }
                if !seen.insert(name).inserted {
                    problem(line, key, "sibling \"\(name)\" is listed twice")
                } else if s.address == nil {
                    problem(line, key, "sibling \"\(name)\" has no 'address' (its end of the private link): carried routes need it as their next hop")
                } else {
                    r.carry.append(name)
                }
            }
        }
        r.announce = readAnnounce(t, master: master)
        return r
    }

    /// `announce`: each one of the master's IPv4 addresses; by default its /32 ones.
    private mutating func readAnnounce(_ t: TOMLTable, master: HANetConfig.Master?) -> [IPv4Address] {
        guard let master else { return [] }
        let own = master.addresses.map(\.address)
        guard let e = t["announce"] else {
            let hosts = master.addresses.filter { $0.length == 32 }.map(\.address)
            if hosts.isEmpty {
                problem(t.line, "routing.announce", "[master] addresses has no /32 address, so nothing would be announced: "
                        + "give the service addresses as /32 or list them in announce = [\"\(own.first.map(\.description) ?? "198.51.100.11")\"]")
            }
            return hosts
        }
        guard let items = stringList(e.value, path: "routing.announce", what: "IPv4 addresses") else { return [] }
        var out: [IPv4Address] = []
        for (i, (text, line)) in items.enumerated() {
            let key = "routing.announce[\(i)]"
            guard let a = IPv4Address(text) else {
                problem(line, key, "expected an IPv4 address such as \"198.51.100.11\", got \"\(text)\"")
                continue
            }
            if !own.contains(a) {
                problem(line, key, "\(a) is not one of [master] addresses (\(own.map(\.description).joined(separator: ", "))): only the master's addresses can be announced")
            } else if out.contains(a) {
                problem(line, key, "\(a) is listed twice")
            } else {
                out.append(a)
            }
        }
        if items.isEmpty { problem(e.keyLine, "routing.announce", "expected at least one address to announce") }
        return out
    }

    private mutating func readLessPreferred(_ t: TOMLTable, localAS: UInt32?) -> HANetConfig.Routing.LessPreferred {
        var way = "prepend"
        var wayLine = t.line
        if let (w, line) = optionalString(t, "less_preferred", path: "routing") {
            if Self.lessPreferredValueKeys[w] != nil { way = w; wayLine = line }
            else {
                problem(line, "routing.less_preferred", "expected one of: " + HANetConfig.Routing.LessPreferred.names.map { "\"\($0)\"" }.joined(separator: ", ") + ", got \"\(w)\"")
            }
        }
        for (other, key) in Self.lessPreferredValueKeys where other != way {
            if let e = t[key] {
                problem(e.keyLine, "routing." + key, "'\(key)' applies only with less_preferred = \"\(other)\"; this table uses \"\(way)\"")
            }
        }
        switch way {
        case "med":
            return .med(UInt32(optionalInt(t, "med", path: "routing", range: 1...4_294_967_295) ?? 100))
        case "local_pref":
            return .localPref(UInt32(optionalInt(t, "local_pref", path: "routing", range: 0...99) ?? 50))
        case "community":
            guard let (c, line) = optionalString(t, "community", path: "routing") else {
                problem(wayLine, "routing.community", "less_preferred = \"community\" needs community = \"ASN:VALUE\" (such as \"65000:666\"), the community the routers' import filters act on")
                return .prepend(count: 3)
            }
            let parts = c.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let a = UInt16(parts[0]), let b = UInt16(parts[1]) else {
                problem(line, "routing.community", "expected a standard community \"ASN:VALUE\", each 0 to 65535, such as \"65000:666\", got \"\(c)\"")
                return .prepend(count: 3)
            }
            return .community(a, b)
        default:
            let count = optionalInt(t, "prepend_count", path: "routing", range: 1...10) ?? 3
            if localAS == nil {
                problem(wayLine, "routing.local_as", "less_preferred = \"prepend\" prepends this server's AS: set local_as (the AS of its BGP sessions, such as 65002)")
            }
            return .prepend(count: count)
        }
    }
}
