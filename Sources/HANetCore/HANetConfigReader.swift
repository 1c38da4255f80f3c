/// Walks a `TOMLDocument` into a `HANetConfig`, recording problems instead of
/// stopping at the first.
struct HANetConfigReader {
    let file: String
    private(set) var problems: [ConfigProblem] = []

    init(file: String) { self.file = file }

    /// File order; problems on the same line keep the order they were found.
    var sortedProblems: [ConfigProblem] {
        problems.enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }.map(\.element)
    }

    static let nodeKeys = ["name", "control_socket", "plugins_dir", "state_dir"]
    static let masterKeys = ["name", "port", "addresses", "table", "failback", "updelay_ms", "downdelay_ms",
                             "garp_count", "garp_interval_ms", "na_count", "na_interval_ms"]
    static let ptaKeys = ["port", "lease_ms", "retry_initial_ms", "retry_max_ms", "readiness_interval_ms"]
    static let linkKeys = ["interface", "type", "role", "speed", "priority", "detectors", "detector_policy",
                           "sibling", "address", "detector"]
    /// Keys handed to link plugins through `Link.options`.
    static let linkPluginKeys = ["device", "baud", "slow_link_policy", "udev_properties",
                                 "restart_ms", "echo_interval_ms", "echo_failures"]
    static let siblingKeys = ["name", "address", "key_file", "addresses", "preference"]
    static let topLevelTables = ["node", "master", "pta", "link", "sibling", "detector", "hooks", "metrics", "hotplug", "routing"]
    /// The PTA wire format carries at most this many addresses.

    mutating func problem(_ line: Int, _ key: String, _ message: String) {
        problems.append(ConfigProblem(file: file, line: line, key: key, message: message))
    }

    // MARK: top level

    mutating func read(_ root: TOMLTable) -> HANetConfig? {
        var nodeTable: TOMLTable?
        var masterTable: TOMLTable?
        var ptaTable: TOMLTable?
        var linkTables: [TOMLTable]?
        var siblingTables: [TOMLTable] = []
        var detectorTable: TOMLTable?
        var hooksTable: TOMLTable?
        var metricsTable: TOMLTable?
        var hotplugTable: TOMLTable?
        var routingTable: TOMLTable?
        var linkShapeReported = false

        for entry in root.entries {
            let k = entry.key
            switch (k, entry.value.kind) {
            case ("node", .table(let t)): nodeTable = t
            case ("master", .table(let t)): masterTable = t
            case ("pta", .table(let t)): ptaTable = t
            case ("detector", .table(let t)): detectorTable = t
            case ("hooks", .table(let t)): hooksTable = t
            case ("metrics", .table(let t)): metricsTable = t
            case ("hotplug", .table(let t)): hotplugTable = t
            case ("routing", .table(let t)): routingTable = t
            case ("link", .tableArray(let list)): linkTables = list
            case ("sibling", .tableArray(let list)): siblingTables = list
            case ("link", _), ("sibling", _):
                problem(entry.keyLine, k, "expected [[\(k)]] (an array of tables, one per \(k)), got \(entry.value.typeName)")
                if k == "link" { linkShapeReported = true }
            case ("node", _), ("master", _), ("pta", _), ("detector", _), ("hooks", _), ("metrics", _), ("hotplug", _), ("routing", _):
                problem(entry.keyLine, k, "expected a single [\(k)] table, got \(entry.value.typeName)")
            default:
                switch entry.value.kind {
                case .table, .tableArray:
                    problem(entry.keyLine, k, "unknown table [\(k)]\(suggestion(k, Self.topLevelTables)); expected one of: "
                            + Self.topLevelTables.joined(separator: ", "))
                default:
                    problem(entry.keyLine, k, "unknown top-level key '\(k)'; every key belongs in a table such as [node] or [master]")
                }
            }
        }

        let node = readNode(nodeTable)
        let master = readMaster(masterTable)
        let pta = readPTA(ptaTable)
        let siblings = siblingTables.enumerated().compactMap { readSibling($0.element, index: $0.offset, node: node?.name) }
        var links: [HANetConfig.Link] = []
        if let list = linkTables, !list.isEmpty {
            links = list.enumerated().compactMap { readLink($0.element, index: $0.offset) }
        } else if linkShapeReported {
            // Already reported as the wrong shape.
        } else if linkTables == nil {
            problem(1, "link", "missing required [[link]] table: at least one link (a public NIC) is needed")
        } else {
            problem(1, "link", "at least one [[link]] is required")
        }
        let detectors = readDetectors(detectorTable)
        let hooks = readHooks(hooksTable)
        let metrics = readMetrics(metricsTable)
        let hotplug = readHotplug(hotplugTable, siblings: siblings)
        let routing = readRouting(routingTable, siblings: siblings, master: master)
        checkSiblingsReachable(siblings, siblingTables: siblingTables, linkTables: linkTables ?? [], hotplug: hotplug)

        crossCheck(linkTables: linkTables ?? [], siblings: siblings, siblingTables: siblingTables, master: master)

        guard let n = node, let m = master else { return nil }
        return HANetConfig(file: file, node: n, master: m, links: links, siblings: siblings, pta: pta, detectors: detectors,
                           hooks: hooks, metrics: metrics, hotplug: hotplug, routing: routing)
    }

    // MARK: sections

    mutating func readNode(_ t: TOMLTable?) -> HANetConfig.Node? {
        guard let t else {
            problem(1, "node", "missing required table [node] (with at least: name = \"s1\")")
            return nil
        }
        checkKeys(t, allowed: Self.nodeKeys, table: "[node]", path: "node")
        let name = requiredString(t, "name", path: "node", table: "[node]")
        if let (n, line) = name, !Self.isNodeName(n) {
            problem(line, "node.name", "expected a node name of 1 to 32 characters from a-z, 0-9 and '-', got \"\(n)\"")
        }
        let controlSocket = socketPath(t, "control_socket", path: "node") ?? HANetConfig.defaultControlSocket
        let pluginsDir = optionalPath(t, "plugins_dir", path: "node")
        let stateDir = optionalPath(t, "state_dir", path: "node")
        guard let (n, _) = name else { return nil }
        return HANetConfig.Node(name: n, controlSocket: controlSocket, pluginsDir: pluginsDir, stateDir: stateDir)
    }

    mutating func readMaster(_ t: TOMLTable?) -> HANetConfig.Master? {
        guard let t else {
            problem(1, "master", "missing required table [master] (with at least: addresses = [\"198.51.100.11/24\"])")
            return nil
        }
        checkKeys(t, allowed: Self.masterKeys, table: "[master]", path: "master")
        var name = "hanet0"
        if let (n, line) = optionalString(t, "name", path: "master") {
            if let why = Self.ifnameProblem(n) { problem(line, "master.name", why) }
            name = n
        }
        var port = name + "p"
        if let (p, line) = optionalString(t, "port", path: "master") {
            if let why = Self.ifnameProblem(p) { problem(line, "master.port", why) }
            else if p == name { problem(line, "master.port", "the port must differ from the master's name \"\(name)\"") }
            port = p
        } else if port.utf8.count > 15 {
            problem(t["name"]?.keyLine ?? t.line, "master.port",
                    "the default port name \"\(port)\" (master name + \"p\") is longer than 15 characters; set master.port or shorten master.name")
        }
        let (addresses, addresses6) = prefixList(t, "addresses", path: "master", table: "[master]", required: true)
        var table = "hanet"
        if let (s, line) = optionalString(t, "table", path: "master") {
            if !NftablesRuleset.isIdentifier(s) {
                problem(line, "master.table", "expected an nftables table name (a letter or '_', then letters, digits or '_', at most 64), got \"\(s)\"")
            }
            table = s
        }
        let failback = optionalBool(t, "failback", path: "master") ?? true
        let updelay = optionalInt(t, "updelay_ms", path: "master", range: 0...3_600_000) ?? 0
        let downdelay = optionalInt(t, "downdelay_ms", path: "master", range: 0...3_600_000) ?? 0
        let garpCount = optionalInt(t, "garp_count", path: "master", range: 0...100) ?? 3
        let garpInterval = optionalInt(t, "garp_interval_ms", path: "master", range: 0...60_000) ?? 100
        // Unsolicited NAs follow the gratuitous ARP settings unless set (bonding has num_unsol_na beside num_grat_arp).
        let naCount = optionalInt(t, "na_count", path: "master", range: 0...100) ?? garpCount
        let naInterval = optionalInt(t, "na_interval_ms", path: "master", range: 0...60_000) ?? garpInterval
        return HANetConfig.Master(name: name, port: port, addresses: addresses, ipv6Addresses: addresses6, table: table,
                                  failback: failback, updelayMillis: updelay, downdelayMillis: downdelay, garpCount: garpCount,
                                  garpIntervalMillis: garpInterval, naCount: naCount, naIntervalMillis: naInterval,
                                  location: .init(file: file, line: t.line))
    }

    mutating func readPTA(_ t: TOMLTable?) -> HANetConfig.PTA {
        let d = HANetConfig.PTA()
        guard let t else { return d }
        checkKeys(t, allowed: Self.ptaKeys, table: "[pta]", path: "pta")
        let port = optionalInt(t, "port", path: "pta", range: 1...65535) ?? Int(d.port)
        let lease = optionalInt(t, "lease_ms", path: "pta", range: 3...86_400_000) ?? d.leaseMillis
        let initial = optionalInt(t, "retry_initial_ms", path: "pta", range: 1...60_000) ?? d.retryInitialMillis
        let maxRetry = optionalInt(t, "retry_max_ms", path: "pta", range: 1...600_000) ?? d.retryMaxMillis
        if maxRetry < initial, let e = t["retry_max_ms"] ?? t["retry_initial_ms"] {
            problem(e.value.line, "pta.retry_max_ms", "expected retry_max_ms (\(maxRetry)) to be at least retry_initial_ms (\(initial))")
        }
        let readiness = optionalInt(t, "readiness_interval_ms", path: "pta", range: 10...60_000) ?? d.readinessIntervalMillis
        return HANetConfig.PTA(port: UInt16(port), leaseMillis: lease, retryInitialMillis: initial, retryMaxMillis: maxRetry,
                               readinessIntervalMillis: readiness)
    }

    mutating func readLink(_ t: TOMLTable, index: Int) -> HANetConfig.Link? {
        let path = "link[\(index)]"
        checkKeys(t, allowed: Self.linkKeys + Self.linkPluginKeys, table: "[[link]]", path: path)
        var interface: String?
        if t["interface"] == nil, t["device"] != nil {
            // A link on a tty creates its own netdev; without `interface` it is named after the link's position.
            interface = "ppp-\(index)"
        } else if let (name, line) = requiredString(t, "interface", path: path, table: "[[link]] (\(path))") {
            if let why = Self.ifnameProblem(name) { problem(line, path + ".interface", why) } else { interface = name }
        }
        let type = optionalString(t, "type", path: path)?.0
        var role: LinkRole?
        if let (r, line) = optionalString(t, "role", path: path) {
            role = LinkRole(rawValue: r)
            if role == nil { problem(line, path + ".role", "expected \"public\" or \"private\", got \"\(r)\"") }
        }
        var speed: UInt64?
        if let e = t["speed"] {
            speed = Self.speed(e.value)
            if speed == nil {
                problem(e.value.line, path + ".speed",
                        "expected a speed in bit/s: a positive integer or a string with a decimal K/M/G suffix such as \"115200\", \"12M\", \"1G\" or \"2.5G\", got \(e.value.rendered)")
            }
        }
        let priority = optionalInt(t, "priority", path: path, range: -1_000_000...1_000_000) ?? 0
        var detectors = ["carrier"]
        if let e = t["detectors"] {
            if let list = stringList(e.value, path: path + ".detectors", what: "detector names") {
                var seen = Set<String>()
                for (i, item) in list.enumerated() {
                    if !Self.isPluginName(item.0) {
                        problem(item.1, "\(path).detectors[\(i)]", "expected a detector name of a-z, 0-9 and '-', got \"\(item.0)\"")
                    } else if !seen.insert(item.0).inserted {
                        problem(item.1, "\(path).detectors[\(i)]", "detector \"\(item.0)\" is listed twice")
                    }
                }
                detectors = list.map(\.0)
            }
        }
        var policy = "any"
        if let (p, line) = optionalString(t, "detector_policy", path: path) {
            if p != "any" && p != "all" { problem(line, path + ".detector_policy", "expected \"any\" or \"all\", got \"\(p)\"") }
            policy = p
        }
        let sibling = optionalString(t, "sibling", path: path)?.0
        var address: IPv4Prefix?
        if let e = t["address"] {
            if case .string(let text) = e.value.kind, text.contains(":") {
                problem(e.value.line, path + ".address", Self.linkAddressIsIPv4 + ", got \(e.value.rendered)")
            } else {
                address = prefix(e.value, path: path + ".address")
            }
        }
        var options: [String: HANetConfig.Value] = [:]
        if let e = t["device"] {
            if case .string(let s) = e.value.kind, !s.isEmpty { options["device"] = .string(s) }
            else { problem(e.value.line, path + ".device", "expected a device path string such as \"/dev/ttyS0\", got \(e.value.rendered)") }
        }
        if let e = t["baud"] {
            if case .integer(let b) = e.value.kind, b > 0 { options["baud"] = .integer(b) }
            else { problem(e.value.line, path + ".baud", "expected a positive integer baud rate such as 115200, got \(e.value.rendered)") }
        }
        if let (p, line) = optionalString(t, "slow_link_policy", path: path) {
            if p == "serve" || p == "drain" { options["slow_link_policy"] = .string(p) }
            else { problem(line, path + ".slow_link_policy", "expected \"serve\" (keep accepting new connections) or \"drain\" (refuse new connections while this link is active), got \"\(p)\"") }
        }
        if let e = t["udev_properties"], let list = stringList(e.value, path: path + ".udev_properties", what: "\"KEY=VALUE\" udev properties") {
            var ok = true
            for (i, item) in list.enumerated() {
                let parts = item.0.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                if parts.count != 2 || parts[0].isEmpty || !parts[0].unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }) {
                    problem(item.1, "\(path).udev_properties[\(i)]", "expected \"KEY=VALUE\" with KEY of A-Z, 0-9 and '_' (such as \"HANET_LINK_TYPE=usbnet\"), got \"\(item.0)\"")
                    ok = false
                }
            }
            if ok { options["udev_properties"] = .array(list.map { .string($0.0) }) }
        }
        for key in ["restart_ms", "echo_interval_ms", "echo_failures"] {
            if let v = optionalInt(t, key, path: path, range: 1...60_000) { options[key] = .integer(Int64(v)) }
        }
        var overrides: [String: [String: HANetConfig.Value]] = [:]
        if let e = t["detector"] {
            overrides = detectorTables(e.value, path: path + ".detector", table: "[link.detector]")
        }
        guard let interface else { return nil }
        return HANetConfig.Link(interface: interface, type: type, role: role, speedBitsPerSecond: speed, priority: priority,
                                detectors: detectors, detectorPolicy: policy, sibling: sibling, address: address,
                                options: options, detectorOverrides: overrides, location: .init(file: file, line: t.line))
    }

    mutating func readSibling(_ t: TOMLTable, index: Int, node: String?) -> HANetConfig.Sibling? {
        let path = "sibling[\(index)]"
        checkKeys(t, allowed: Self.siblingKeys, table: "[[sibling]]", path: path)
        var name: String?
        if let (n, line) = requiredString(t, "name", path: path, table: "[[sibling]] (\(path))") {
            if !Self.isNodeName(n) {
                problem(line, path + ".name", "expected a node name of 1 to 32 characters from a-z, 0-9 and '-', got \"\(n)\"")
            } else if n == node {
                problem(line, path + ".name", "\"\(n)\" is this node's own name ([node] name); a sibling is another server")
            } else {
                name = n
            }
        }
        // Optional here: required only when a [[link]] names the sibling (crossCheck).
        var address: IPv4Address?
        var addressOK = true
        if let e = t["address"] {
            if case .string(let s) = e.value.kind, let a = IPv4Address(s) { address = a }
            else if case .string(let s) = e.value.kind, s.contains(":") {
                addressOK = false
                problem(e.value.line, path + ".address", Self.linkAddressIsIPv4 + ", got \(e.value.rendered)")
            } else {
                addressOK = false
                problem(e.value.line, path + ".address", "expected an IPv4 address without prefix length such as \"169.254.77.2\", got \(e.value.rendered)")
            }
        }
        var keyFile: String?
        if let (k, line) = requiredString(t, "key_file", path: path, table: "[[sibling]] (\(path))") {
            if k.isEmpty { problem(line, path + ".key_file", "expected the path of the shared key file, got an empty string") }
            else { keyFile = k }
        }
        let (addresses, addresses6) = prefixList(t, "addresses", path: path, table: "[[sibling]] (\(path))", required: true)
        let preference = optionalInt(t, "preference", path: path, range: -1000...1000) ?? 0
        guard let name, addressOK, let keyFile, !(addresses.isEmpty && addresses6.isEmpty) else { return nil }
        return HANetConfig.Sibling(name: name, address: address, keyFile: keyFile, addresses: addresses,
                                   ipv6Addresses: addresses6, location: .init(file: file, line: t.line), preference: preference)
    }

    mutating func readDetectors(_ t: TOMLTable?) -> [String: [String: HANetConfig.Value]] {
        guard let t else { return [:] }
        return detectorTables(TOMLValue(.table(t), line: t.line), path: "detector", table: "[detector]")
    }

    /// `[detector.NAME]` or `[link.detector.NAME]`: one table per detector of free-form plugin settings.
    mutating func detectorTables(_ v: TOMLValue, path: String, table: String) -> [String: [String: HANetConfig.Value]] {
        guard case .table(let t) = v.kind else {
            problem(v.line, path, "expected tables such as [\(path.hasPrefix("link") ? "link." : "")detector.arp-monitor], got \(v.typeName)")
            return [:]
        }
        var out: [String: [String: HANetConfig.Value]] = [:]
        for e in t.entries {
            let p = path + "." + e.key
            guard Self.isPluginName(e.key) else {
                problem(e.keyLine, p, "expected a detector name of a-z, 0-9 and '-', got \"\(e.key)\"")
                continue
            }
            guard case .table(let dt) = e.value.kind else {
                problem(e.keyLine, p, "expected a table [\(p.replacingBracketIndexes())] of settings for detector '\(e.key)', got \(e.value.typeName)")
                continue
            }
            var settings: [String: HANetConfig.Value] = [:]
            for s in dt.entries {
                if let v = pluginValue(s.value, path: p + "." + s.key) { settings[s.key] = v }
            }
            out[e.key] = settings
        }
        return out
    }

    // MARK: cross checks

    /// Every sibling needs a way to reach it: the `address` of its end of a
    /// configured private link when a [[link]] names it, or hot-plug, whose
    /// links derive their addresses. Without either it could never carry us.
    mutating func checkSiblingsReachable(_ siblings: [HANetConfig.Sibling], siblingTables: [TOMLTable],
                                         linkTables: [TOMLTable], hotplug: HANetConfig.Hotplug) {
        for (i, t) in siblingTables.enumerated() {
            guard case .string(let name)? = t["name"]?.value.kind, t["address"] == nil,
                  siblings.contains(where: { $0.name == name }) else { continue }
            let naming = linkTables.first { if case .string(name)? = $0["sibling"]?.value.kind { return true } else { return false } }
            if let link = naming {
                problem(t.line, "sibling[\(i)].address", "missing required key 'address' in [[sibling]] \"\(name)\": the [[link]] on line \(link.line) leads to it, so say its end of that link (such as \"169.254.77.2\")")
            } else if !hotplug.enabled {
                problem(t.line, "sibling[\(i)].address", "sibling \"\(name)\" cannot be reached: no [[link]] names it and [hotplug] is off; add its end of a private link as 'address', or turn hot-plug on")
            }
        }
    }

    mutating func crossCheck(linkTables: [TOMLTable], siblings: [HANetConfig.Sibling],
                             siblingTables: [TOMLTable], master: HANetConfig.Master?) {
        // Interfaces: unique, and not the master or its port.
        var firstInterface: [String: Int] = [:]
        for (i, t) in linkTables.enumerated() {
            guard let e = t["interface"], case .string(let name) = e.value.kind else { continue }
            if let first = firstInterface[name] {
                problem(e.value.line, "link[\(i)].interface", "interface \"\(name)\" is already used by the [[link]] on line \(first); each interface can be one link only")
            } else {
                firstInterface[name] = e.value.line
            }
            if let m = master, name == m.name || name == m.port {
                problem(e.value.line, "link[\(i)].interface", "interface \"\(name)\" is the master\(name == m.port ? "'s port" : ""); a link must be a real interface")
            }
        }
        // The user-space PPP of ppp-serial negotiates IPCP only (no IPV6CP, RFC 5072): IPv6 cannot cross such a link.
        if let m = master, let v6 = m.ipv6Addresses.first {
            for (i, t) in linkTables.enumerated() {
                let type: String? = { if case .string(let s)? = t["type"]?.value.kind { return s } else { return nil } }()
                guard type == "ppp-serial" || (type == nil && t["device"] != nil) else { continue }
                problem(t.line, "link[\(i)]", "a ppp-serial link carries IPv4 only (its PPP negotiates IPCP, not IPV6CP), "
                        + "and [master] addresses include IPv6 (\(v6)) that could not reach this node over it; "
                        + "remove the IPv6 addresses or this link")
            }
        }
        // Sibling names unique.
        var firstSibling: [String: Int] = [:]
        for (i, t) in siblingTables.enumerated() {
            guard let e = t["name"], case .string(let name) = e.value.kind else { continue }
            if let first = firstSibling[name] {
                problem(e.value.line, "sibling[\(i)].name", "sibling \"\(name)\" is already defined on line \(first)")
            } else {
                firstSibling[name] = e.value.line
            }
        }
        // A link's sibling must exist, and its address must share the link's subnet.
        let known = Set(siblingTables.compactMap { t -> String? in
            if case .string(let n)? = t["name"]?.value.kind { return n }
            return nil
        })
        for (i, t) in linkTables.enumerated() {
            guard let e = t["sibling"], case .string(let s) = e.value.kind else { continue }
            if !known.contains(s) {
                problem(e.value.line, "link[\(i)].sibling", Self.unknownSibling(s, known: known))
                continue
            }
            if let a = t["address"], case .string(let text) = a.value.kind, let p = IPv4Prefix(text),
               let sib = siblings.first(where: { $0.name == s }), let sa = sib.address, !p.contains(sa) {
                problem(a.value.line, "link[\(i)].address",
                        "sibling \"\(s)\" has address \(sa), which is outside this link's subnet \(p.network)/\(p.length)")
            }
        }
    }

    // MARK: typed accessors

    mutating func checkKeys(_ t: TOMLTable, allowed: [String], table: String, path: String) {
        for e in t.entries where !allowed.contains(e.key) {
            problem(e.keyLine, path + "." + e.key,
                    "unknown key '\(e.key)' in \(table)\(suggestion(e.key, allowed)); expected one of: " + allowed.joined(separator: ", "))
        }
    }

    mutating func requiredString(_ t: TOMLTable, _ key: String, path: String, table: String) -> (String, Int)? {
        guard t[key] != nil else {
            problem(t.line, path + "." + key, "missing required key '\(key)' in \(table)")
            return nil
        }
        return optionalString(t, key, path: path)
    }

    mutating func optionalString(_ t: TOMLTable, _ key: String, path: String) -> (String, Int)? {
        guard let e = t[key] else { return nil }
        guard case .string(let s) = e.value.kind else {
            problem(e.value.line, path + "." + key, "expected a string, got \(e.value.typeName) \(e.value.rendered)")
            return nil
        }
        return (s, e.value.line)
    }

    /// A Unix socket path: what fits in `sockaddr_un`.
    mutating func socketPath(_ t: TOMLTable, _ key: String, path: String) -> String? {
        guard let (s, line) = optionalString(t, key, path: path) else { return nil }
        if s.isEmpty || s.utf8.count > 107 {
            problem(line, path + "." + key, "expected a socket path of 1 to 107 bytes (the limit of a Unix socket address), got \(s.utf8.count) bytes")
        }
        return s
    }

    mutating func optionalPath(_ t: TOMLTable, _ key: String, path: String) -> String? {
        guard let (s, line) = optionalString(t, key, path: path) else { return nil }
        if s.isEmpty { problem(line, path + "." + key, "expected a directory path, got an empty string"); return nil }
        return s
    }

    mutating func optionalBool(_ t: TOMLTable, _ key: String, path: String) -> Bool? {
        guard let e = t[key] else { return nil }
        guard case .boolean(let b) = e.value.kind else {
            problem(e.value.line, path + "." + key, "expected true or false, got \(e.value.typeName) \(e.value.rendered)")
            return nil
        }
        return b
    }

    mutating func optionalInt(_ t: TOMLTable, _ key: String, path: String, range: ClosedRange<Int>) -> Int? {
        guard let e = t[key] else { return nil }
        guard case .integer(let i) = e.value.kind, let v = Int(exactly: i), range.contains(v) else {
            problem(e.value.line, path + "." + key,
                    "expected an integer from \(range.lowerBound) to \(range.upperBound), got \(e.value.rendered)")
            return nil
        }
        return v
    }

    /// A list of strings with the line of each, or nil after reporting a problem.
    mutating func stringList(_ v: TOMLValue, path: String, what: String) -> [(String, Int)]? {
        guard case .array(let items) = v.kind else {
            problem(v.line, path, "expected an array of \(what), got \(v.typeName) \(v.rendered)")
            return nil
        }
        var out: [(String, Int)] = []
        var ok = true
        for (i, item) in items.enumerated() {
            if case .string(let s) = item.kind { out.append((s, item.line)) }
            else { problem(item.line, "\(path)[\(i)]", "expected a string, got \(item.typeName) \(item.rendered)"); ok = false }
        }
        return ok ? out : nil
    }

    mutating func prefix(_ v: TOMLValue, path: String) -> IPv4Prefix? {
        if case .string(let s) = v.kind, let p = IPv4Prefix(s) { return p }
        problem(v.line, path, "expected an IPv4 address with prefix length such as \"198.51.100.11/24\", got \(v.rendered)")
        return nil
    }

    /// A service address list: IPv4 and IPv6 prefixes in one array, returned
    /// per family in the order written.
    mutating func prefixList(_ t: TOMLTable, _ key: String, path: String, table: String,
                             required: Bool) -> ([IPv4Prefix], [IPv6Prefix]) {
        guard let e = t[key] else {
            if required { problem(t.line, path + "." + key, "missing required key '\(key)' in \(table) (a list such as [\"198.51.100.11/24\", \"2001:db8:1::11/64\"])") }
            return ([], [])
        }
        guard case .array(let items) = e.value.kind else {
            problem(e.value.line, path + "." + key, "expected an array of IPv4 or IPv6 prefixes such as [\"198.51.100.11/24\", \"2001:db8:1::11/64\"], got \(e.value.typeName) \(e.value.rendered)")
            return ([], [])
        }
        if items.isEmpty { problem(e.value.line, path + "." + key, "expected at least one IPv4 or IPv6 prefix, got an empty array") }
        if items.count > PTAWire.maxAddresses {
            problem(e.value.line, path + "." + key, "expected at most \(PTAWire.maxAddresses) addresses (the PTA message limit), got \(items.count)")
        }
        var out: [IPv4Prefix] = []
        var out6: [IPv6Prefix] = []
        var seen = Set<IPAddress>()
        for (i, item) in items.enumerated() {
            let itemPath = "\(path).\(key)[\(i)]"
            let address: IPAddress
            if case .string(let s) = item.kind, s.contains(":") {
                guard let p = prefix6(item, path: itemPath) else { continue }
                out6.append(p)
                address = .v6(p.address)
            } else {
                guard let p = prefix(item, path: itemPath) else { continue }
                out.append(p)
                address = .v4(p.address)
            }
            if !seen.insert(address).inserted {
                problem(item.line, itemPath, "address \(address) is listed twice")
            }
        }
        return (out, out6)
    }

    /// An IPv6 service address with its prefix length; the message says what is wrong.
    mutating func prefix6(_ v: TOMLValue, path: String) -> IPv6Prefix? {
        guard case .string(let s) = v.kind else { return nil }
        let example = "expected an IPv6 address with prefix length such as \"2001:db8:1::11/64\", got \(v.rendered)"
        switch IPv6Prefix.parse(s) {
        case .failure(let why):
            problem(v.line, path, "\(example): \(why)")
            return nil
        case .success(let p):
            if let why = p.address.serviceAddressProblem {
                problem(v.line, path, "expected a service address, got \(v.rendered): \(why)")
                return nil
            }
            return p
        }
    }

    /// The PTA and the sibling's routes run over IPv4 on a private link.
    static let linkAddressIsIPv4 = "expected an IPv4 address: a private link's ends are IPv4 (the PTA runs over IPv4 on the private link, for IPv4 and IPv6 service addresses alike)"

    /// A plugin setting: scalars and arrays of them; plugins read text. A table is a problem at its line.
    mutating func pluginValue(_ v: TOMLValue, path: String) -> HANetConfig.Value? {
        HANetConfig.Value.pluginSetting(v, path: path) { line, path, typeName in
            problem(line, path, "expected a string, number, boolean or array for a plugin setting, got \(typeName)")
        }
    }

    // MARK: value rules

    static func isNodeName(_ s: String) -> Bool {
        (1...32).contains(s.utf8.count) && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }

    static func isPluginName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }

    /// A `sibling = "..."` that names no [[sibling]], and which ones there are.
    static func unknownSibling(_ name: String, known: some Collection<String>) -> String {
        "unknown sibling \"\(name)\"; " + (known.isEmpty ? "no [[sibling]] is configured" : "configured siblings: " + known.sorted().joined(separator: ", "))
    }

    static func ifnameProblem(_ s: String) -> String? {
        NftablesRuleset.isInterfaceName(s) ? nil
            : "expected an interface name of 1 to 15 bytes without '/', ':' or whitespace, got \"\(s)\""
    }

    /// Integer bit/s, or "12M"-style text with decimal suffixes (K = 1000).
    static func speed(_ v: TOMLValue) -> UInt64? {
        switch v.kind {
        case .integer(let i): return i > 0 ? UInt64(i) : nil
        case .string(let s):
            var text = Substring(s)
            var multiplier: UInt64 = 1
            switch text.last {
            case "K", "k": multiplier = 1_000
            case "M": multiplier = 1_000_000
            case "G": multiplier = 1_000_000_000
            default: break
            }
            if multiplier != 1 { text = text.dropLast() }
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
                  parts[0].count <= 12, let whole = UInt64(parts[0]) else { return nil }
            var total = whole.multipliedReportingOverflow(by: multiplier)
            guard !total.overflow else { return nil }
            if parts.count == 2 {
                let frac = parts[1]
                var scale: UInt64 = 1
                for _ in frac { scale *= 10; if scale > multiplier { return nil } }
                guard let f = UInt64(frac), multiplier % scale == 0 else { return nil }
                total = total.partialValue.addingReportingOverflow(f * (multiplier / scale))
                guard !total.overflow else { return nil }
            }
            return total.partialValue > 0 ? total.partialValue : nil
        default:
            return nil
        }
    }

    /// " (did you mean 'x'?)" when a known name is within two edits.
    func suggestion(_ key: String, _ known: [String]) -> String {
        let best = known.map { ($0, Self.editDistance(key, $0)) }.min { $0.1 < $1.1 }
        guard let (name, d) = best, d <= 2, d < key.count else { return "" }
        return " (did you mean '\(name)'?)"
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
}

private extension String {
    /// "link[0].detector.x" → "link.detector.x", the header a person writes.
    func replacingBracketIndexes() -> String {
        var out = ""
        var skipping = false
        for ch in self {
            if ch == "[" { skipping = true; continue }
            if ch == "]" { skipping = false; continue }
            if !skipping { out.append(ch) }
        }
        return out
    }
}

extension HANetConfig.Value {
    /// A plugin setting as the configuration file and `hanet plugins try
    /// --set` both read it: scalars and arrays of them, since plugins read
    /// text. Nil when `v` is or holds a table, after `rejected` heard the
    /// line, path and TOML type of the first one.
    public static func pluginSetting(_ v: TOMLValue, path: String = "",
                                     rejected: (_ line: Int, _ path: String, _ typeName: String) -> Void = { _, _, _ in }) -> HANetConfig.Value? {
        switch v.kind {
        case .string(let s): return .string(s)
        case .integer(let i): return .integer(i)
        case .float(let d): return .float(d)
        case .boolean(let b): return .bool(b)
        case .array(let items):
            var out: [HANetConfig.Value] = []
            for (i, item) in items.enumerated() {
                guard let x = pluginSetting(item, path: "\(path)[\(i)]", rejected: rejected) else { return nil }
                out.append(x)
            }
            return .array(out)
        case .table, .tableArray:
            rejected(v.line, path, v.typeName)
            return nil
        }
    }
}
