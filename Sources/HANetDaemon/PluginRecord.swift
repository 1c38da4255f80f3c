import FoundationEssentials

/// Where a plugin file stands after loading. `incompatible` and `error` are
/// the two refusals: the first is a version/layout mismatch (rebuild the
/// plugin), the second anything else (unsafe file, loader error, init failed).
public enum PluginState: String, Codable, Sendable {
    case enabled, disabled, incompatible, error
}

/// One link type or detector type a plugin registered, as `hanet plugins info` shows it.
public struct PluginTypeInfo: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case link, detector }
    public var kind: Kind
    public var name: String
    public var description: String?
    /// "unavailable", "thread-safe", "needs-l2".
    public var flags: [String]
    public var unavailableReason: String?
    /// Detectors only: the interval used when the configuration sets none (0 = events only).
    public var defaultIntervalMillis: Int?

    public init(kind: Kind, name: String, description: String?, flags: [String], unavailableReason: String?,
                defaultIntervalMillis: Int?) {
        self.kind = kind
        self.name = name
        self.description = description
        self.flags = flags
        self.unavailableReason = unavailableReason
        self.defaultIntervalMillis = defaultIntervalMillis
    }
}

/// Everything known about one file in the plugins directory, including the
/// ones that were refused: `hanet plugins list` must explain every file, not
/// only the ones that worked.
public struct PluginRecord: Codable, Equatable, Sendable {
    /// nil when the file was refused before its descriptor could be read.
    public var id: String?
    public var file: String
    public var version: String?
    public var abiMajor: Int?
    public var abiMinor: Int?
    /// "link", "detector" (in that order, only those it registered).
    public var kinds: [String]
    public var linkTypes: [String]
    public var detectorTypes: [String]
    public var description: String?
    public var state: PluginState
    /// Why the plugin is `incompatible` or `error`; nil otherwise.
    public var reason: String?
    public var types: [PluginTypeInfo]

    public init(id: String? = nil, file: String, version: String? = nil, abiMajor: Int? = nil, abiMinor: Int? = nil,
                kinds: [String] = [], linkTypes: [String] = [], detectorTypes: [String] = [],
                description: String? = nil, state: PluginState, reason: String? = nil, types: [PluginTypeInfo] = []) {
        self.id = id
        self.file = file
        self.version = version
        self.abiMajor = abiMajor
        self.abiMinor = abiMinor
        self.kinds = kinds
        self.linkTypes = linkTypes
        self.detectorTypes = detectorTypes
        self.description = description
        self.state = state
        self.reason = reason
        self.types = types
    }
}
