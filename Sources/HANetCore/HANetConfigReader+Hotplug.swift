/// `[hotplug]` and its `[[hotplug.allow]]` rules.
extension HANetConfigReader {
    static let hotplugKeys = ["enabled", "sibling", "priority", "detectors", "allow"]
    static let hotplugRuleKeys = ["driver", "name", "subsystem", "property", "type", "detectors", "sibling", "address"]

    mutating func readHotplug(_ t: TOMLTable?, siblings: [HANetConfig.Sibling]) -> HANetConfig.Hotplug {
        guard let t else { return HANetConfig.Hotplug() }
        checkKeys(t, allowed: Self.hotplugKeys, table: "[hotplug]", path: "hotplug")
        var h = HANetConfig.Hotplug(location: .init(file: file, line: t.line))
        h.enabled = optionalBool(t, "enabled", path: "hotplug") ?? false
        h.priority = optionalInt(t, "priority", path: "hotplug", range: -1_000_000...1_000_000) ?? 0
        if let d = readHotplugDetectors(t, path: "hotplug") { h.detectors = d }
        let known = siblings.map(\.name)
        if let (s, line) = optionalString(t, "sibling", path: "hotplug") {
            if known.contains(s) { h.sibling = s }
            else {
                problem(line, "hotplug.sibling", Self.unknownSibling(s, known: known))
            }
        } else if h.enabled, known.isEmpty {
            problem(t.line, "hotplug.sibling", "hot-plugged links lead to a sibling, and no [[sibling]] is configured")
        }
        if let e = t["allow"] {
            if case .tableArray(let rules) = e.value.kind {
                h.allow = rules.enumerated().compactMap { readHotplugRule($0.element, index: $0.offset, siblings: known, pinned: h.sibling) }
            } else {
                problem(e.value.line, "hotplug.allow", "expected [[hotplug.allow]] (an array of tables, one per rule), got \(e.value.typeName)")
            }
        }
        if h.enabled, h.allow.isEmpty, t["allow"] == nil {
            problem(t.line, "hotplug.allow", "hot-plug is enabled but no [[hotplug.allow]] rule says which devices may be attached (such as name = \"usb*\" or driver = \"cdc_subset\")")
        }
        return h
    }

    private mutating func readHotplugRule(_ t: TOMLTable, index: Int, siblings known: [String], pinned: String?) -> HANetConfig.Hotplug.Rule? {
        let path = "hotplug.allow[\(index)]"
        checkKeys(t, allowed: Self.hotplugRuleKeys, table: "[[hotplug.allow]]", path: path)
        // A rule is located at its first key (what a reader looks for), not at its header line.
        var rule = HANetConfig.Hotplug.Rule(location: .init(file: file, line: t.entries.first?.keyLine ?? t.line))
        rule.driver = optionalString(t, "driver", path: path)?.0
        rule.subsystem = optionalString(t, "subsystem", path: path)?.0
        rule.type = optionalString(t, "type", path: path)?.0
        rule.detectors = readHotplugDetectors(t, path: path)
        if let (sib, line) = optionalString(t, "sibling", path: path) {
            if known.contains(sib) { rule.sibling = sib }
            else { problem(line, path + ".sibling", Self.unknownSibling(sib, known: known)) }
        }
        if let e = t["address"], let a = prefix(e.value, path: path + ".address") {
            if HotplugPolicy.peer(of: a) == nil {
                problem(e.value.line, path + ".address", "expected this end of a point-to-point subnet, a /30 (host .1 or .2) or a /31, such as \"169.254.90.1/30\", got \"\(a)\"")
            } else if rule.sibling == nil, pinned == nil, known.count != 1, t["sibling"] == nil {
                problem(e.value.line, path + ".address", "a configured address leads to one sibling: say which (sibling = \"\(known.sorted().first ?? "s2")\") in this rule or in [hotplug]")
            }
            rule.address = a
        }
        if let (n, line) = optionalString(t, "name", path: path) {
            if n.isEmpty || n.utf8.count > 15 { problem(line, path + ".name", "expected an interface name pattern of 1 to 15 bytes (`*` matches any run of characters), got \"\(n)\"") }
            rule.name = n
        }
        if let (p, line) = optionalString(t, "property", path: path) {
            let parts = p.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count != 2 || parts[0].isEmpty {
                problem(line, path + ".property", "expected \"KEY=VALUE\" of a udev property (such as \"ID_USB_DRIVER=cdc_subset\"), got \"\(p)\"")
            } else {
                rule.propertyKey = String(parts[0])
                rule.propertyValue = String(parts[1])
            }
        }
        if rule.driver == nil, rule.name == nil, rule.subsystem == nil, rule.propertyKey == nil, t["property"] == nil, t.entries.allSatisfy({ Self.hotplugRuleKeys.contains($0.key) }) {
            problem(t.line, path, "an allow rule needs at least one of driver, name, subsystem or property (a rule with none would attach every device)")
            return nil
        }
        return rule
    }

    private mutating func readHotplugDetectors(_ t: TOMLTable, path: String) -> [String]? {
        guard let e = t["detectors"], let list = stringList(e.value, path: path + ".detectors", what: "detector names") else { return nil }
        for (i, item) in list.enumerated() where !Self.isPluginName(item.0) {
            problem(item.1, "\(path).detectors[\(i)]", "expected a detector name of a-z, 0-9 and '-', got \"\(item.0)\"")
        }
        return list.map(\.0)
    }
}
