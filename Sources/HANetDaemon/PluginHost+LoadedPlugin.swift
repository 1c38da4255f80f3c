import CHANetPlugin
import Foundation
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

/// A registered link type: the plugin's struct, copied at registration.
struct LoadedLinkType {
    let type: hanet_link_type
    unowned let plugin: LoadedPlugin
    let name: String

    init(type: hanet_link_type, plugin: LoadedPlugin) {
        self.type = type
        self.plugin = plugin
        self.name = String(cString: type.name)
    }

    var unavailable: Bool { type.flags & HANET_TYPE_UNAVAILABLE != 0 }
    var unavailableReason: String? { type.unavailable_reason.map { String(cString: $0) } }

    var info: PluginTypeInfo {
        PluginTypeInfo(kind: .link, name: name, description: type.description.map { String(cString: $0) },
                       flags: PluginTypeInfo.flagNames(type.flags), unavailableReason: unavailable ? unavailableReason : nil,
                       defaultIntervalMillis: nil)
    }
}

/// A registered detector type: the plugin's struct, copied at registration.
struct LoadedDetectorType {
    let type: hanet_detector_type
    unowned let plugin: LoadedPlugin
    let name: String

    init(type: hanet_detector_type, plugin: LoadedPlugin) {
        self.type = type
        self.plugin = plugin
        self.name = String(cString: type.name)
    }

    var unavailable: Bool { type.flags & HANET_TYPE_UNAVAILABLE != 0 }
    var unavailableReason: String? { type.unavailable_reason.map { String(cString: $0) } }

    var info: PluginTypeInfo {
        PluginTypeInfo(kind: .detector, name: name, description: type.description.map { String(cString: $0) },
                       flags: PluginTypeInfo.flagNames(type.flags), unavailableReason: unavailable ? unavailableReason : nil,
                       defaultIntervalMillis: Int(type.default_interval_ms))
    }
}

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
