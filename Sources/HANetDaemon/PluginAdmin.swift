import FoundationEssentials
import HANetCore
import HANetSystem

/// The work behind `hanet plugins list|info|enable|disable`, kept out of the
/// executable so that tests can drive it directly as well as through `hanet`.
public struct PluginAdmin {
    public var search: PluginSearchPath
    public var stateFile: PluginStateFile
    public var socketPath: String

    public static let defaultSocketPath = HANetConfig.defaultControlSocket

    public init(search: PluginSearchPath, stateDirectory: String, socketPath: String = PluginAdmin.defaultSocketPath) {
        self.search = search
        self.stateFile = PluginStateFile(directory: stateDirectory)
        self.socketPath = socketPath
    }

    /// Loads every plugin (as the daemon would, with the persisted disabled set) and returns the records.
    /// Plugin log lines go to `log` (nil: dropped), so listing stays quiet.
    public func records(log: PluginHost.Logger? = nil) throws -> [PluginRecord] {
        let disabled = try stateFile.load()
        let host = PluginHost(logger: log ?? { _, _, _ in })
        return host.load(from: search, disabled: disabled)
    }

    /// One plugin by id (or by file name, for plugins refused before their id was known).
    public func info(_ name: String) throws -> PluginRecord {
        let all = try records()
        if let r = all.first(where: { $0.id == name }) ?? all.first(where: { FilePath.lastComponent($0.file) == name || $0.file == name }) {
            return r
        }
        throw HANetError(.notFound, "no plugin \"\(name)\" in \(search.directory) (known: \(Self.knownIDs(all)))")
    }

    /// Persists the choice and tells a running daemon; returns the lines to print.
    public func setEnabled(_ id: String, _ enabled: Bool) throws -> [String] {
        let all = try records()
        guard let r = all.first(where: { $0.id == id }) else {
            throw HANetError(.notFound, "no plugin with id \"\(id)\" in \(search.directory) (known: \(Self.knownIDs(all)))")
        }
        var disabled = try stateFile.load()
        if enabled { disabled.remove(id) } else { disabled.insert(id) }
        try stateFile.save(disabled: disabled)
        var lines = ["plugin \(id) \(enabled ? "enabled" : "disabled") (saved in \(stateFile.path))"]
        if r.state == .incompatible || r.state == .error {
            lines.append("note: \(id) is \(r.state.rawValue) and will not load either way: \(r.reason ?? "")")
        }
        lines.append(notifyDaemon())
        return lines
    }

    /// Asks a running daemon to re-read the state file. No daemon is not an error: the file is read at start.
    public func notifyDaemon() -> String {
        guard FileManager.default.fileExists(atPath: socketPath) else {
            return "no running daemon; applies at next start"
        }
        do {
            _ = try ControlProtocol.send(.init(.pluginsReload), to: socketPath)
            return "running daemon applied it"
        } catch let e as HANetError where e.code == .io || e.code == .notFound {
            return "no running daemon (\(e.message)); applies at next start"
        } catch {
            return "the daemon at \(socketPath) did not apply it (\(error)); applies at next start"
        }
    }

    static func knownIDs(_ records: [PluginRecord]) -> String {
        let ids = records.compactMap(\.id)
        return ids.isEmpty ? "none" : ids.joined(separator: ", ")
    }

    // MARK: output

    public static func json<T: Encodable>(_ value: T) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try enc.encode(value), as: UTF8.self)
    }

    /// `hanet plugins list`: one row per file, refusals explained under their row.
    public static func table(_ records: [PluginRecord], search: PluginSearchPath) -> String {
        // REQUIRES: the oldest host ABI the plugin runs on (its descriptor's major.minor).
        var rows = [["ID", "STATE", "KINDS", "TYPES", "VERSION", "REQUIRES", "FILE"]]
        var notes: [Int: String] = [:]
        for r in records {
            let abi = r.abiMajor.map { "\($0).\(r.abiMinor.map(String.init) ?? "?")" } ?? "-"
            // An unavailable type is registered but refuses to work: say so where it is listed.
            let types = r.types.map { $0.unavailableReason == nil ? $0.name : "\($0.name)(unavailable)" }.joined(separator: ",")
            rows.append([r.id ?? "-", r.state.rawValue, r.kinds.isEmpty ? "-" : r.kinds.joined(separator: ","),
                         types.isEmpty ? "-" : types, r.version ?? "-", abi, FilePath.lastComponent(r.file)])
            if let reason = r.reason { notes[rows.count - 1] = reason }
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        var out = "plugins directory: \(search.directory) (\(search.source.rawValue))\n"
        for (i, row) in rows.enumerated() {
            out += row.enumerated().map { c, cell in c == row.count - 1 ? cell : cell.padded(to: widths[c]) }
                .joined(separator: "  ") + "\n"
            if let n = notes[i] { out += "    reason: \(n)\n" }
        }
        if records.isEmpty { out += "(no plugin files found)\n" }
        return out
    }

    /// `hanet plugins info NAME`.
    public static func details(_ r: PluginRecord) -> String {
        var out = ""
        func line(_ k: String, _ v: String?) { if let v { out += "\(k.padded(to: 12)) \(v)\n" } }
        line("id:", r.id ?? "-")
        line("state:", r.state.rawValue)
        line("reason:", r.reason)
        line("version:", r.version)
        line("requires:", r.abiMajor.map { "plugin ABI \($0).\(r.abiMinor.map(String.init) ?? "?") (this host: \(PluginHost.abiMajor).\(PluginHost.abiMinor))" })
        line("file:", r.file)
        line("description:", r.description)
        line("kinds:", r.kinds.isEmpty ? "-" : r.kinds.joined(separator: ", "))
        for t in r.types {
            out += "\n\(t.kind.rawValue) type \(t.name)\n"
            if let d = t.description { out += "  description: \(d)\n" }
            out += "  flags:       \(t.flags.isEmpty ? "-" : t.flags.joined(separator: ", "))\n"
            if let i = t.defaultIntervalMillis { out += "  interval:    \(i == 0 ? "event-driven (0 ms)" : "\(i) ms") by default\n" }
            if let u = t.unavailableReason { out += "  unavailable: \(u)\n" }
        }
        return out
    }
}
