import CHANetPlugin
import FoundationEssentials
import HANetCore

/// One configuration object handed to a plugin (`const hanet_config *`):
/// every value and every array element is rendered to a C string once, up
/// front, so the pointers `config_get` and `config_get_at` return stay valid
/// for as long as this object lives (the instance's lifetime for detectors,
/// the link's for open, the call for describe).
final class PluginConfig {
    private let arena: CStringArena
    private let values: [String: UnsafePointer<CChar>]
    /// A scalar is its own one element; an array's elements are never joined.
    private let elements: [String: [UnsafePointer<CChar>]]

    init(_ config: [String: HANetConfig.Value]) {
        let arena = CStringArena()
        self.arena = arena
        values = config.mapValues { arena.make($0.text) }
        elements = config.mapValues { value in
            if case .array(let items) = value { return items.map { arena.make($0.text) } }
            return [arena.make(value.text)]
        }
    }

    func value(_ key: String) -> UnsafePointer<CChar>? {
        values[key]
    }

    func count(_ key: String) -> Int {
        elements[key]?.count ?? 0
    }

    func element(_ key: String, at index: Int) -> UnsafePointer<CChar>? {
        guard let items = elements[key], index >= 0, index < items.count else { return nil }
        return items[index]
    }

    /// The opaque `hanet_config *` for this object (not retained: the owner keeps it alive).
    var pointer: OpaquePointer {
        OpaquePointer(Unmanaged.passUnretained(self).toOpaque())
    }

    static func from(_ pointer: OpaquePointer) -> PluginConfig {
        Unmanaged<PluginConfig>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    }
}

/// C strings that live as long as this object.
final class CStringArena {
    private var strings: [UnsafeMutablePointer<CChar>] = []

    func make(_ s: String) -> UnsafePointer<CChar> {
        let bytes = s.utf8CString
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
        _ = UnsafeMutableBufferPointer(start: p, count: bytes.count).initialize(from: bytes)
        strings.append(p)
        return UnsafePointer(p)
    }

    deinit {
        for p in strings { p.deallocate() }
    }
}

/// A `hanet_device_info` valid for the duration of one call.
enum CDevice {
    static func with<T>(_ d: DeviceInfo, _ body: (UnsafePointer<hanet_device_info>) throws -> T) rethrows -> T {
        let arena = CStringArena()
        let props = d.properties.sorted { $0.key < $1.key }.map { arena.make("\($0.key)=\($0.value)") }
        let list = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: props.count + 1)
        defer { list.deallocate() }
        for (i, p) in props.enumerated() { (list + i).initialize(to: p) }
        (list + props.count).initialize(to: nil)
        var info = hanet_device_info()
        info.struct_size = UInt32(MemoryLayout<hanet_device_info>.size)
        info.name = arena.make(d.name)
        info.subsystem = arena.make(d.subsystem)
        info.ifindex = d.ifindex
        info.arphrd = d.arphrd
        info.driver = arena.make(d.driver)
        info.devpath = arena.make(d.devpath)
        info.properties = UnsafePointer(list)
        return try withExtendedLifetime(arena) { try body(&info) }
    }
}
