import HANetCore

/// Configurations that are valid but almost certainly not what was meant.
/// `hanet check` prints them as warnings (exit status 0) and the daemon logs
/// them at start; neither refuses the file.
extension ConfigCheck {
    /// The udev subsystems hot-plug listens to (Daemon+Hotplug): a rule for any other never fires.
    static let hotplugSubsystems = ["net", "tty"]
    /// The detector that reports only the link's carrier; every other detector probes something further.
    static let carrierDetector = "carrier"

    public static func warnings(_ c: HANetConfig) -> [ConfigProblem] {
        var out: [ConfigProblem] = []
        func add(_ loc: HANetConfig.Location?, _ key: String, _ message: String) {
            out.append(ConfigProblem(file: loc?.file ?? c.file, line: loc?.line ?? 0, key: key, message: message))
        }
        for (i, l) in c.links.enumerated() {
            if l.detectorPolicy == "any", let masked = masked(by: l.detectors) {
                add(l.location, "link[\(i)].detectors", "with detector_policy = \"any\" the link stays GOOD while its carrier is up, so "
                    + "\(masked) can never mark it BAD (a silent fault goes unseen); set detector_policy = \"all\", or list \(masked) alone")
            }
            for name in l.detectorOverrides.keys.sorted() where !l.detectors.contains(name) {
                add(l.location, "link[\(i)].detector.\(name)", "settings for detector '\(name)', which this link does not run "
                    + "(detectors = [\(l.detectors.map { "\"\($0)\"" }.joined(separator: ", "))]); they are ignored")
            }
            if l.role == .private, l.sibling == nil {
                add(l.location, "link[\(i)].sibling", "a private link that names no sibling: when it becomes active no sibling is asked "
                    + "to carry this node's addresses, so traffic through it goes nowhere; name the [[sibling]] at its other end")
            } else if l.role == .public, let s = l.sibling {
                add(l.location, "link[\(i)].sibling", "sibling \"\(s)\" on a public link is ignored: only a private link leads to a "
                    + "sibling; set role = \"private\" if \(l.interface) is the cable to \(s)")
            }
        }
        out += detectorTableWarnings(c)
        out += siblingWarnings(c)
        out += hotplugWarnings(c)
        return out.sorted { ($0.file, $0.line) < ($1.file, $1.line) }
    }

    /// The probing detectors that `carrier` hides under "any", or nil when there is no such pair.
    static func masked(by detectors: [String]) -> String? {
        let probing = detectors.filter { $0 != carrierDetector }
        guard detectors.contains(carrierDetector), !probing.isEmpty else { return nil }
        return probing.map { "'\($0)'" }.joined(separator: ", ")
    }

    /// `[detector.NAME]` tables no link, hot link or hot-plug rule runs: a typo, or a detector left out of `detectors`.
    static func detectorTableWarnings(_ c: HANetConfig) -> [ConfigProblem] {
        var used = Set(c.links.flatMap(\.detectors))
        if c.hotplug.enabled {
            used.formUnion(c.hotplug.detectors)
            used.formUnion(c.hotplug.allow.flatMap { $0.detectors ?? [] })
        }
        return c.detectors.keys.sorted().filter { !used.contains($0) }.map { name in
            ConfigProblem(file: c.file, line: 0, key: "detector.\(name)",
                          message: "settings for detector '\(name)', which no link runs; they are ignored")
        }
    }

    /// A sibling allowed to hand over this node's own service addresses: usually a config copied from the sibling and not swapped.
    static func siblingWarnings(_ c: HANetConfig) -> [ConfigProblem] {
        var out: [ConfigProblem] = []
        for (i, s) in c.siblings.enumerated() {
            let own = s.addresses.filter { a in c.master.addresses.contains { $0.address == a.address } }
            if !own.isEmpty {
                out.append(ConfigProblem(file: s.location.file, line: s.location.line, key: "sibling[\(i)].addresses",
                                         message: "\(own.map(\.description).joined(separator: ", ")) \(own.count == 1 ? "is" : "are") this node's own "
                                             + "[master] addresses; a sibling's addresses are the ones it serves (copied from the sibling's config?)"))
            }
        }
        return out
    }

    /// Hot-plug settings that can never attach a device.
    static func hotplugWarnings(_ c: HANetConfig) -> [ConfigProblem] {
        let h = c.hotplug
        var out: [ConfigProblem] = []
        func add(_ loc: HANetConfig.Location?, _ key: String, _ message: String) {
            out.append(ConfigProblem(file: loc?.file ?? c.file, line: loc?.line ?? 0, key: key, message: message))
        }
        if !h.enabled {
            if !h.allow.isEmpty {
                add(h.location, "hotplug.enabled", "[[hotplug.allow]] rules are given but hot-plug is off; set enabled = true for them to attach devices")
            }
            return out
        }
        // Hot links always combine their detectors with "any".
        if let masked = masked(by: h.detectors) {
            add(h.location, "hotplug.detectors", "hot links combine detectors with \"any\": they stay GOOD while their carrier is up, "
                + "so \(masked) can never mark them BAD; list \(masked) alone")
        }
        let taken = Set(c.links.map(\.interface) + ["lo", c.master.name, c.master.port])
        for (i, r) in h.allow.enumerated() {
            let key = "hotplug.allow[\(i)]"
            if let d = r.detectors, let masked = masked(by: d) {
                add(r.location, key + ".detectors", "hot links combine detectors with \"any\": \(masked) can never mark this rule's links BAD "
                    + "while their carrier is up; list \(masked) alone")
            }
            if let s = r.subsystem, !hotplugSubsystems.contains(s) {
                add(r.location, key + ".subsystem", "hot-plug listens to the subsystems \(hotplugSubsystems.joined(separator: " and ")) only; "
                    + "subsystem = \"\(s)\" never matches")
            } else if let n = r.name, !n.contains("*"), r.subsystem != "tty", taken.contains(n) {
                add(r.location, key + ".name", "\"\(n)\" is \(c.links.contains { $0.interface == n } ? "a configured [[link]]" : "never hot-plugged") "
                    + "(hot-plug leaves it alone), so this rule never matches")
            } else if let j = h.allow[..<i].firstIndex(where: { covers($0, r) }) {
                add(r.location, key, "every device this rule allows is already matched by hotplug.allow[\(j)] (line \(h.allow[j].location.line)), "
                    + "and the first matching rule wins, so this rule never applies")
            }
        }
        return out
    }

    /// Whether every device `later` matches is matched by `earlier` (each field `earlier` gives, `later` gives at least as narrowly).
    static func covers(_ earlier: HANetConfig.Hotplug.Rule, _ later: HANetConfig.Hotplug.Rule) -> Bool {
        if let d = earlier.driver, d != later.driver { return false }
        if let s = earlier.subsystem, s != later.subsystem { return false }
        if let k = earlier.propertyKey, k != later.propertyKey || earlier.propertyValue != later.propertyValue { return false }
        // A pattern that matches the later pattern read literally matches every name the later one does.
        if let n = earlier.name, !(later.name.map { HotplugPolicy.glob(n, $0) } ?? false) { return false }
        return true
    }
}
