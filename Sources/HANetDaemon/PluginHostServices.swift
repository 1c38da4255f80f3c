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
        return api
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
        guard let ctx = context(api) else { return HANET_ERROR.rawValue }
        guard ctx.initializing else {
            ctx.host?.logger(ctx.pluginID, Int32(HANET_LOG_ERROR.rawValue), "register_link_type called outside init: refused")
            return HANET_ERROR.rawValue
        }
        guard let type else {
            ctx.problems.append("register_link_type(NULL)")
            return HANET_INVALID.rawValue
        }
        guard let copy = copyStruct(type, zero: hanet_link_type(), known: PluginHost.linkTypeSizes, what: "hanet_link_type", ctx: ctx),
              checkName(copy.name, kind: "link type", ctx: ctx) else { return HANET_INVALID.rawValue }
        if copy.probe == nil || copy.describe == nil {
            ctx.problems.append("link type \"\(String(cString: copy.name))\" lacks probe or describe")
            return HANET_INVALID.rawValue
        }
        ctx.linkTypes.append(copy)
        return HANET_OK.rawValue
    }

    static let registerDetector: @convention(c) (UnsafePointer<hanet_host_api>?, UnsafePointer<hanet_detector_type>?) -> Int32 = { api, type in
        guard let ctx = context(api) else { return HANET_ERROR.rawValue }
        guard ctx.initializing else {
            ctx.host?.logger(ctx.pluginID, Int32(HANET_LOG_ERROR.rawValue), "register_detector called outside init: refused")
            return HANET_ERROR.rawValue
        }
        guard let type else {
            ctx.problems.append("register_detector(NULL)")
            return HANET_INVALID.rawValue
        }
        guard let copy = copyStruct(type, zero: hanet_detector_type(), known: PluginHost.detectorTypeSizes, what: "hanet_detector_type", ctx: ctx),
              checkName(copy.name, kind: "detector", ctx: ctx) else { return HANET_INVALID.rawValue }
        if copy.create == nil || copy.destroy == nil {
            ctx.problems.append("detector \"\(String(cString: copy.name))\" lacks create or destroy")
            return HANET_INVALID.rawValue
        }
        ctx.detectorTypes.append(copy)
        return HANET_OK.rawValue
    }

    static let report: @convention(c) (UnsafePointer<hanet_host_api>?, OpaquePointer?, Int32, UnsafePointer<CChar>?) -> Void = { api, instance, health, reason in
        guard let ctx = context(api), let host = ctx.host, let instance else { return }
        let handle = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(instance)))
        host.enqueueReport(handle: handle, health: health, reason: reason.map { String(cString: $0) } ?? "", plugin: ctx.pluginID)
    }

    static let configGet: @convention(c) (UnsafePointer<hanet_host_api>?, OpaquePointer?, UnsafePointer<CChar>?) -> UnsafePointer<CChar>? = { _, config, key in
        guard let config, let key else { return nil }
        return PluginConfig.from(config).value(String(cString: key))
    }

    static let monotonicNanos: @convention(c) (UnsafePointer<hanet_host_api>?) -> UInt64 = { _ in
        // libdispatch's uptime clock is CLOCK_MONOTONIC on Linux, the clock netlink event timestamps use.
        DispatchTime.now().uptimeNanoseconds
    }

    static let reportCounters: @convention(c) (UnsafePointer<hanet_host_api>?, OpaquePointer?, UInt64, UInt64, UInt64) -> Void = { api, instance, sent, replies, last in
        guard let ctx = context(api), let host = ctx.host, let instance else { return }
        let handle = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(instance)))
        host.storeCounters(handle: handle, DetectorCounters(probesSent: sent, replies: replies, lastReplyNanos: last == 0 ? nil : last))
    }

    static let deliverFrame: @convention(c) (UnsafePointer<hanet_host_api>?, OpaquePointer?, UnsafePointer<UInt8>?, Int) -> Void = { api, link, frame, length in
        guard let ctx = context(api), let host = ctx.host, let link, let frame, length > 0 else { return }
        let handle = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(link)))
        host.enqueueFrame(handle: handle, frame: Array(UnsafeBufferPointer(start: frame, count: length)))
    }
}
