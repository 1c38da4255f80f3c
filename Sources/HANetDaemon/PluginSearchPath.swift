import FoundationEssentials

/// The folder plugins are loaded from, and why that one: `hanet plugins list`
/// prints the source so that "my plugin is not listed" has an answer.
public struct PluginSearchPath: Equatable, Codable, Sendable {
    public enum Source: String, Codable, Sendable {
        case option          // --plugins-dir
        case environment     // HANET_PLUGINS_DIR
        case config          // [node] plugins_dir
        case installed       // /usr/lib/hanet/plugins
        case buildTree       // next to the hanet executable
    }

    public static let installedDirectory = "/usr/lib/hanet/plugins"
    /// SwiftPM names a dynamic library product `lib<product>.so`; the products are `hanet-plugin-<id>`.
    public static let buildTreePrefix = "libhanet-plugin-"

    public var directory: String
    public var source: Source

    public init(directory: String, source: Source) {
        self.directory = directory
        self.source = source
    }

    /// Whether a file in `directory` is a candidate. A build products folder
    /// holds unrelated shared objects too, so there only our products count;
    /// a plugins folder is ours, so every `.so` in it is listed (a stray one
    /// shows up with its refusal instead of being silently ignored).
    public func isCandidate(_ fileName: String) -> Bool {
        guard fileName.hasSuffix(".so") else { return false }
        return source != .buildTree || fileName.hasPrefix(Self.buildTreePrefix)
    }
}
