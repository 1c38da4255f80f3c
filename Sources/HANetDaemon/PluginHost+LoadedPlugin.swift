import CHANetPlugin
import FoundationEssentials
import HANetSystem

/// A plugin that passed every check and whose init succeeded. Lives forever,
/// like its code: the host never unloads.
final class LoadedPlugin {
    let id: String
    let path: String
    let library: DynamicLibrary
    let descriptor: hanet_plugin_descriptor
    /// The host table handed to `init`; plugins may keep it, so it is never freed.
    let api: UnsafeMutablePointer<hanet_host_api>
    let context: PluginContext
    /// What `init` set in *plugin_state, passed back to every type callback.
    let state: UnsafeMutableRawPointer?
    var enabled: Bool
    var order = 0
    var linkTypes: [LoadedLinkType] = []
    var detectorTypes: [LoadedDetectorType] = []
    /// Instances to destroy when the plugin is disabled (guarded by the host's lock).
    var liveInstances: [ObjectIdentifier: WeakDetector] = [:]

    init(id: String, path: String, library: DynamicLibrary, descriptor: hanet_plugin_descriptor,
         api: UnsafeMutablePointer<hanet_host_api>, context: PluginContext, state: UnsafeMutableRawPointer?, enabled: Bool) {
        self.id = id
        self.path = path
        self.library = library
        self.descriptor = descriptor
        self.api = api
        self.context = context
        self.state = state
        self.enabled = enabled
    }

    func record() -> PluginRecord {
        var kinds: [String] = []
        if !linkTypes.isEmpty { kinds.append("link") }
        if !detectorTypes.isEmpty { kinds.append("detector") }
        return PluginRecord(
            id: id, file: path,
            version: descriptor.version.map { String(cString: $0) },
            abiMajor: Int(descriptor.abi_major), abiMinor: Int(descriptor.abi_minor),
            kinds: kinds, linkTypes: linkTypes.map(\.name), detectorTypes: detectorTypes.map(\.name),
            description: descriptor.description.map { String(cString: $0) },
            state: enabled ? .enabled : .disabled, reason: nil,
            types: linkTypes.map(\.info) + detectorTypes.map(\.info))
    }
}

/// What the host needs from both kinds of type struct a plugin registers.
protocol PluginTypeStruct {
    var name: UnsafePointer<CChar>! { get }
    var description: UnsafePointer<CChar>! { get }
    var flags: UInt32 { get }
    var unavailable_reason: UnsafePointer<CChar>! { get }
    static var kind: PluginTypeInfo.Kind { get }
    /// Detectors: the interval used when the configuration sets none.
    var defaultIntervalMillis: Int? { get }
}

extension hanet_link_type: PluginTypeStruct {
    static var kind: PluginTypeInfo.Kind { .link }
    var defaultIntervalMillis: Int? { nil }
}

extension hanet_detector_type: PluginTypeStruct {
    static var kind: PluginTypeInfo.Kind { .detector }
    var defaultIntervalMillis: Int? { Int(default_interval_ms) }
}

/// A registered link or detector type: the plugin's struct, copied at registration.
struct LoadedType<T: PluginTypeStruct> {
    let type: T
    unowned let plugin: LoadedPlugin
    let name: String

    init(type: T, plugin: LoadedPlugin) {
        self.type = type
        self.plugin = plugin
        self.name = String(cString: type.name)
    }

    var unavailable: Bool { type.flags & HANET_TYPE_UNAVAILABLE != 0 }
    var unavailableReason: String? { type.unavailable_reason.map { String(cString: $0) } }

    var info: PluginTypeInfo {
        PluginTypeInfo(kind: T.kind, name: name, description: type.description.map { String(cString: $0) },
                       flags: PluginTypeInfo.flagNames(type.flags), unavailableReason: unavailable ? unavailableReason : nil,
                       defaultIntervalMillis: type.defaultIntervalMillis)
    }
}

typealias LoadedLinkType = LoadedType<hanet_link_type>
typealias LoadedDetectorType = LoadedType<hanet_detector_type>

extension PluginTypeInfo {
    static func flagNames(_ flags: UInt32) -> [String] {
        var names: [String] = []
        if flags & HANET_TYPE_UNAVAILABLE != 0 { names.append("unavailable") }
        if flags & HANET_DETECTOR_THREAD_SAFE != 0 { names.append("thread-safe") }
        if flags & HANET_DETECTOR_NEEDS_L2 != 0 { names.append("needs-l2") }
        return names
    }
}

/// The host's list of a plugin's instances must not keep them alive.
struct WeakDetector {
    weak var instance: DetectorInstance?
    init(_ instance: DetectorInstance) { self.instance = instance }
}
