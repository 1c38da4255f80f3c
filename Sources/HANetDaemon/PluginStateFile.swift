import FoundationEssentials
import HANetCore
import HANetSystem

/// The persisted choice of `hanet plugins enable/disable`: which plugin ids
/// are disabled. Only the disabled set is stored so that a plugin installed
/// later is enabled by default, like every other plugin.
public struct PluginStateFile {
    public static let defaultDirectory = "/var/lib/hanet"
    public static let fileName = "plugins.json"

    public let directory: String
    public var path: String { FilePath.appending(directory, Self.fileName) }

    public init(directory: String) {
        self.directory = directory
    }

    /// `--state-dir`, then HANET_STATE_DIR, then the configured `state_dir`, then /var/lib/hanet.
    public static func resolveDirectory(explicit: String?, environment: [String: String], configured: String? = nil) -> String {
        if let e = explicit, !e.isEmpty { return e }
        if let e = environment["HANET_STATE_DIR"], !e.isEmpty { return e }
        if let c = configured, !c.isEmpty { return c }
        return defaultDirectory
    }

    private struct Contents: Codable {
        var disabled: [String]
    }

    /// The disabled plugin ids; empty when the file does not exist yet.
    public func load() throws -> Set<String> {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw HANetError(.io, "\(path): cannot read the plugin state file: \(SystemError.describe(error))")
        }
        do {
            return Set(try JSONDecoder().decode(Contents.self, from: data).disabled)
        } catch {
            throw HANetError(.state, "\(path): not a plugin state file: expected {\"disabled\": [\"plugin-id\", ...]} (\(Self.describe(error)))")
        }
    }

    /// Written to a temporary file and renamed over the old one, so a crash
    /// never leaves a half-written state file that would block the next start.
    public func save(disabled: Set<String>) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try enc.encode(Contents(disabled: disabled.sorted()))
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
            try (data + Data("\n".utf8)).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw HANetError(.io, "\(path): cannot write the plugin state file: \(SystemError.describe(error))")
        }
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c): return c.debugDescription
        case DecodingError.keyNotFound(let k, _): return "missing key \"\(k.stringValue)\""
        case DecodingError.typeMismatch(_, let c): return "wrong type at \(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        default: return "\(error)"
        }
    }
}
