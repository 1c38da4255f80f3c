import FoundationEssentials
import HANetCore
import HANetSystem

/// `hanet check`: everything the daemon would refuse before it touches the
/// kernel, found without touching it. The same checks guard `hanet run` and
/// a reload, so a config that passes `check` is one the daemon accepts
/// (short of interfaces that are missing on this host, which only the daemon sees).
public enum ConfigCheck {
    public struct Report: Codable {
        public struct Problem: Codable, Equatable {
            public var file: String
            public var line: Int
            public var key: String
            public var message: String
        }
        public var file: String
        public var ok: Bool
        public var problems: [Problem]
        /// Valid but almost certainly not what was meant (`ConfigCheck.warnings`); they do not make `ok` false.
        public var warnings: [Problem]
        /// The plugins the names were checked against (nil when the file did not parse that far).
        public var detectors: [String]?
        public var link_types: [String]?
    }

    /// Reads, parses and checks `path`. Plugins are loaded from `search` (as `hanet plugins list` does).
    public static func run(path: String, search: PluginSearchPath?, disabled: Set<String> = []) -> Report {
        var problems: [ConfigProblem] = []
        var detectors: [String]?
        var linkTypes: [String]?
        var warnings: [ConfigProblem] = []
        do {
            let config = try read(path)
            var dTypes: Set<String>?
            var lTypes: Set<String>?
            if let search {
                let host = PluginHost { _, _, _ in }
                let records = host.load(from: search, disabled: disabled)
                if records.contains(where: { $0.state == .enabled }) {
                    dTypes = Set(host.detectorTypeNames())
                    lTypes = Set(host.linkTypeNames())
                    detectors = dTypes!.sorted()
                    linkTypes = lTypes!.sorted()
                } else {
                    problems.append(ConfigProblem(
                        file: path, line: 0, key: "-",
                        message: "no plugin loaded from \(search.directory) (\(search.source.rawValue)), so link types and detector names "
                            + "were not checked; name the plugins directory with --plugins-dir, or skip these checks with --no-plugins"))
                }
            }
            problems += offline(config, detectorTypes: dTypes, linkTypes: lTypes)
            warnings = Self.warnings(config)
        } catch let e as ConfigError {
            problems = e.problems
        } catch let e as HANetError {
            problems = [ConfigProblem(file: path, line: 0, key: "-", message: e.message)]
        } catch {
            problems = [ConfigProblem(file: path, line: 0, key: "-", message: "\(error)")]
        }
        func entries(_ list: [ConfigProblem]) -> [Report.Problem] {
            list.map { .init(file: $0.file, line: $0.line, key: $0.key, message: $0.message) }
        }
        return Report(file: path, ok: problems.isEmpty, problems: entries(problems), warnings: entries(warnings),
                      detectors: detectors, link_types: linkTypes)
    }

    /// The file as text, parsed; a file that cannot be read is a problem like any other.
    public static func read(_ path: String) throws -> HANetConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            let why = FileManager.default.fileExists(atPath: path) ? "cannot read it (permissions?)" : "no such file"
            throw ConfigError(problems: [ConfigProblem(file: path, line: 0, key: "-", message: "\(why)")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(problems: [ConfigProblem(file: path, line: 0, key: "-", message: "expected UTF-8 text")])
        }
        return try HANetConfig.parse(text, file: path)
    }

    /// Checks that need the file system or the plugins but not the kernel:
    /// key files (readable, valid, and root's alone when run as root), hook
    /// scripts, detector and link type names. Nil type sets skip the name checks.
    public static func offline(_ c: HANetConfig, detectorTypes: Set<String>?, linkTypes: Set<String>?) -> [ConfigProblem] {
        var out: [ConfigProblem] = []
        func add(_ loc: HANetConfig.Location?, _ key: String, _ message: String) {
            out.append(ConfigProblem(file: loc?.file ?? c.file, line: loc?.line ?? 0, key: key, message: message))
        }
        for (i, s) in c.siblings.enumerated() {
            do { _ = try PTAKeyFile.read(s.keyFile) } catch {
                add(s.location, "sibling[\(i)].key_file", (error as? HANetError)?.message ?? "\(error)")
            }
        }
        out += hookProblems(c)
        for (i, l) in c.links.enumerated() {
            if let lt = linkTypes, let t = l.type, !lt.contains(t) {
                add(l.location, "link[\(i)].type", "no link plugin provides type '\(t)'; loaded: \(lt.sorted().joined(separator: ", "))")
            }
            if let dt = detectorTypes {
                for (j, d) in l.detectors.enumerated() where !dt.contains(d) {
                    add(l.location, "link[\(i)].detectors[\(j)]", "no detector plugin provides '\(d)'; loaded: \(dt.sorted().joined(separator: ", "))")
                }
            }
        }
        // Hot links are opened long after start: a typo here would surface only when a device is plugged in.
        if c.hotplug.enabled, let loc = c.hotplug.location {
            let lists = [("hotplug.detectors", loc, c.hotplug.detectors)]
                + c.hotplug.allow.enumerated().compactMap { i, r in r.detectors.map { ("hotplug.allow[\(i)].detectors", r.location, $0) } }
            for (key, location, names) in lists {
                guard let dt = detectorTypes else { break }
                for (j, d) in names.enumerated() where !dt.contains(d) {
                    add(location, "\(key)[\(j)]", "no detector plugin provides '\(d)'; loaded: \(dt.sorted().joined(separator: ", "))")
                }
            }
            for (i, r) in c.hotplug.allow.enumerated() {
                if let lt = linkTypes, let t = r.type, !lt.contains(t) {
                    add(r.location, "hotplug.allow[\(i)].type", "no link plugin provides type '\(t)'; loaded: \(lt.sorted().joined(separator: ", "))")
                }
            }
        }
        return out.sorted { ($0.file, $0.line) < ($1.file, $1.line) }
    }

    /// Hook scripts that do not exist or are not executable files (also
    /// checked by the daemon at start, which refuses to run without them).
    public static func hookProblems(_ c: HANetConfig) -> [ConfigProblem] {
        var out: [ConfigProblem] = []
        for (key, script) in [("hooks.on_switch", c.hooks.onSwitch), ("hooks.on_pta", c.hooks.onPTA), ("hooks.on_event", c.hooks.onEvent)] {
            guard let script else { continue }
            var isDir = false
            let message: String
            if !FileManager.default.fileExists(atPath: script, isDirectory: &isDir) {
                message = "hook \(script) does not exist"
            } else if isDir || !FileManager.default.isExecutableFile(atPath: script) {
                message = "hook \(script) is not an executable file"
            } else { continue }
            out.append(ConfigProblem(file: c.hooks.location?.file ?? c.file, line: c.hooks.location?.line ?? 0, key: key, message: message))
        }
        return out
    }

    /// The human form: one `file:line: key: message` per problem, then one
    /// `file:line: key: warning: message` per warning, then the verdict.
    public static func text(_ r: Report) -> String {
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        let lines = r.problems.map { "\($0.file):\($0.line): \($0.key): \($0.message)" }
            + r.warnings.map { "\($0.file):\($0.line): \($0.key): warning: \($0.message)" }
        let verdict = r.ok ? "OK" : plural(r.problems.count, "problem")
        return (lines + ["\(r.file): \(verdict)" + (r.warnings.isEmpty ? "" : ", \(plural(r.warnings.count, "warning"))")])
            .joined(separator: "\n")
    }
}
