import CHANetPlugin
import Dispatch
import FoundationEssentials
import HANetCore

/// What `api->host` points at: which plugin is calling, and, while its
/// `init` runs, the types it registers (kept aside until init succeeds, so a
/// failed init leaves nothing behind).
final class PluginContext {
    weak var host: PluginHost?
    let pluginID: String
    var initializing = true
    var linkTypes: [hanet_link_type] = []
    var detectorTypes: [hanet_detector_type] = []
    var problems: [String] = []

    init(host: PluginHost, pluginID: String) {
        self.host = host
        self.pluginID = pluginID
    }
}

/// The host-services table (hanet_host_api) as @convention(c) functions.
/// They only look things up and enqueue, so plugins may call them from any
/// thread and from inside any callback.
enum PluginHostServices {
    /// A table for one plugin. The context is retained for ever: the plugin
    /// may keep the table (and so the context) for the life of the process.
    static func table(context: PluginContext) -> hanet_host_api {
        var api = hanet_host_api()
        api.struct_size = UInt32(MemoryLayout<hanet_host_api>.size)
        api.abi_major = UInt16(HANET_PLUGIN_ABI_MAJOR)
        api.abi_minor = UInt16(HANET_PLUGIN_ABI_MINOR)
        api.host = Unmanaged.passRetained(context).toOpaque()
        api.log = log
        api.register_link_type = registerLinkType
        api.register_detector = registerDetector
        api.report = report
        api.config_get = configGet
        api.monotonic_ns = monotonicNanos
        api.deliver_frame = deliverFrame
        api.report_counters = reportCounters
        api.config_count = configCount
        api.config_get_at = configGetAt
        return api
    }

    /// The host's key for an instance or link handle the plugin passes back (see PluginHost's handle maps).
    static func handleKey(_ pointer: OpaquePointer) -> UInt {
        UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(pointer)))
    }

    static func context(_ api: UnsafePointer<hanet_host_api>?) -> PluginContext? {
        guard let raw = api?.pointee.host else { return nil }
        return Unmanaged<PluginContext>.fromOpaque(raw).takeUnretainedValue()
    }

    static let log: @convention(c) (UnsafePointer<hanet_host_api>?, Int32, UnsafePointer<CChar>?) -> Void = { api, level, message in
        guard let ctx = context(api), let host = ctx.host else { return }
        host.logger(ctx.pluginID, level, message.map { String(cString: $0) } ?? "")
    }

    /// Copies a plugin struct whose first field is struct_size, checking the
    /// size first: the host reads only what it knows, and refuses what it does not.
    static func copyStruct<T>(_ pointer: UnsafePointer<T>, zero: T, known: [Int], what: String, ctx: PluginContext) -> T? {
        let raw = UnsafeRawPointer(pointer)
        let size = Int(raw.load(as: UInt32.self))
        if let problem = PluginHost.sizeProblem(size, known: known, minor: PluginHost.abiMinor, what: what) {
            ctx.problems.append(problem)
            return nil
        }
        var value = zero
        withUnsafeMutableBytes(of: &value) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: min(size, dst.count)))
        }
        return value
    }

    static func checkName(_ name: UnsafePointer<CChar>?, kind: String, ctx: PluginContext) -> Bool {
        guard let name else {
            ctx.problems.append("\(kind) with a NULL name")
            return false
        }
        let s = String(cString: name)
        guard PluginHost.isValidTypeName(s) else {
            ctx.problems.append("\(kind) name \"\(s)\" is invalid: expected 1-64 characters from [A-Za-z0-9._-]")
            return false
        }
        let taken = ctx.linkTypes.contains { String(cString: $0.name) == s } || ctx.detectorTypes.contains { String(cString: $0.name) == s }
        if taken {
            ctx.problems.append("\(kind) \"\(s)\" registered twice")
            return false
        }
        return true
    }

    static let registerLinkType: @convention(c) (UnsafePointer<hanet_host_api>?, UnsafePointer<hanet_link_type>?) -> Int32 = { api, type in
        register(api, type, call: "register_link_type", zero: hanet_link_type(), known: PluginHost.linkTypeSizes,
                 lacking: { $0.probe == nil || $0.describe == nil ? "probe or describe" : nil }) { $0.linkTypes.append($1) }
    }

    static let registerDetector: @convention(c) (UnsafePointer<hanet_host_api>?, UnsafePointer<hanet_detector_type>?) -> Int32 = { api, type in
        register(api, type, call: "register_detector", zero: hanet_detector_type(), known: PluginHost.detectorTypeSizes,
                 lacking: { $0.create == nil || $0.destroy == nil ? "create or destroy" : nil }) { $0.detectorTypes.append($1) }
    }

    /// Both registrations: only while the plugin's init runs, a struct of a
    /// size the host knows (copied, since the plugin's may not outlive init),
    /// a valid name not taken yet, and the callbacks the type cannot work
    /// without (`lacking` names them). Every refusal is kept as a problem, so
    /// the plugin is refused with all its reasons.
    private static func register<T: PluginTypeStruct>(_ api: UnsafePointer<hanet_host_api>?, _ type: UnsafePointer<T>?, call: String,
                                                      zero: T, known: [Int], lacking: (T) -> String?,
                                                      store: (PluginContext, T) -> Void) -> Int32 {
        guard let ctx = context(api) else { return HANET_ERROR.rawValue }
        guard ctx.initializing else {
            ctx.host?.logger(ctx.pluginID, Int32(HANET_LOG_ERROR.rawValue), "\(call) called outside init: refused")
            return HANET_ERROR.rawValue
        }
        guard let type else {
            ctx.problems.append("\(call)(NULL)")
            return HANET_INVALID.rawValue
        }
        let kind = T.kind == .link ? "link type" : "detector"
        guard let copy = copyStruct(type, zero: zero, known: known, what: String(describing: T.self), ctx: ctx),
              checkName(copy.name, kind: kind, ctx: ctx) else { return HANET_INVALID.rawValue }
        if let missing = lacking(copy) {
            ctx.problems.append("\(kind) \"\(String(cString: copy.name))\" lacks \(missing)")
            return HANET_INVALID.rawValue
        }
        store(ctx, copy)
        return HANET_OK.rawValue
    }

    static let report: @convention(c) (UnsafePointer<hanet_host_api>?, OpaquePointer?, Int32, UnsafePointer<CChar>?) -> Void = { api, instance, health, reason in
        guard let ctx = context(api), let host = ctx.host, let instance else { return }
        host.enqueueReport(handle: handleKey(instance), health: health, reason: reason.map { String(cString: $0) } ?? "", plugin: ctx.pluginID)
    }

    static let configGet: @convention(c) (UnsafePointer<hanet_host_api>?, OpaquePointer?, UnsafePointer<CChar>?) -> UnsafePointer<CChar>? = { _, config, key in
        guard let config, let key else { return nil }
        return PluginConfig.from(config).value(String(cString: key))
    }

    static let configCount: @convention(c) (UnsafePointer<hanet_host_api>?, OpaquePointer?, UnsafePointer<CChar>?) -> Int = { _, config, key in
        guard let config, let key else { return 0 }
        return PluginConfig.from(config).count(String(cString: key))
    }

    static let configGetAt: @convention(c) (UnsafePointer<hanet_host_api>?, OpaquePointer?, UnsafePointer<CChar>?, Int) -> UnsafePointer<CChar>? = { _, config, key, index in
        guard let config, let key else { return nil }
        return PluginConfig.from(config).element(String(cString: key), at: index)
    }

    static let monotonicNanos: @convention(c) (UnsafePointer<hanet_host_api>?) -> UInt64 = { _ in
        // libdispatch's uptime clock is CLOCK_MONOTONIC on Linux, the clock netlink event timestamps use.
        DispatchTime.now().uptimeNanoseconds
    }

    static let reportCounters: @convention(c) (UnsafePointer<hanet_host_api>?, OpaquePointer?, UInt64, UInt64, UInt64) -> Void = { api, instance, sent, replies, last in
        guard let ctx = context(api), let host = ctx.host, let instance else { return }
        host.storeCounters(handle: handleKey(instance), DetectorCounters(probesSent: sent, replies: replies, lastReplyNanos: last == 0 ? nil : last))
    }

    static let deliverFrame: @convention(c) (UnsafePointer<hanet_host_api>?, OpaquePointer?, UnsafePointer<UInt8>?, Int) -> Void = { api, link, frame, length in
        guard let ctx = context(api), let host = ctx.host, let link, let frame, length > 0 else { return }
        host.enqueueFrame(handle: handleKey(link), frame: Array(UnsafeBufferPointer(start: frame, count: length)))
    }
}
