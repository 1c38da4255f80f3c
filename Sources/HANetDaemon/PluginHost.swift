import CHANetPlugin
import FoundationEssentials
import HANetCore
import HANetSystem

/// Loads plugins (C shared objects speaking hanet/plugin.h) and is the only
/// way the daemon reaches their code: probing and describing links, creating
/// detector instances. A plugin is checked completely (file safety, entry
/// symbol, ABI major/minor, struct sizes) before any of its code other than
/// the entry function runs, and a refused plugin becomes a record with a
/// reason instead of an error: one bad file must not keep the daemon down.
///
/// Threading: `load`, `probe`, `describe`, `openLink` and `createDetector`
/// are serialized by one lock (the ABI promises plugins one control call at a
/// time); instance calls are serialized per instance by `DetectorInstance`.
/// No host lock is ever held while plugin code runs, so plugins may call host
/// services from inside any callback.
public final class PluginHost {
    public typealias Logger = (_ plugin: String, _ level: Int32, _ message: String) -> Void

    /// The ABI this host implements; from the header, so they cannot drift.
    public static let abiMajor = Int(HANET_PLUGIN_ABI_MAJOR)
    public static let abiMinor = Int(HANET_PLUGIN_ABI_MINOR)
    /// HANET_PLUGIN_ENTRY_SYMBOL, which the header derives from the major.
    static let entrySymbol = String(cString: hanet_host_entry_symbol())
    /// How long one `poll` may take (HANET_POLL_BUDGET_MS), in nanoseconds.
    public static let pollBudgetNanos = UInt64(HANET_POLL_BUDGET_MS) * 1_000_000

    /// Struct sizes this host knows, per ABI minor: index = minor. A struct is
    /// accepted when its size is one of the known layouts up to the plugin's
    /// minor (minors only append, so older plugins declare smaller sizes).
    /// Minors 1 and 2 only appended to the host's table, so plugin structs keep their 1.0 layout.
    static let descriptorSizes = Array(repeating: MemoryLayout<hanet_plugin_descriptor>.size, count: abiMinor + 1)
    static let linkTypeSizes = Array(repeating: MemoryLayout<hanet_link_type>.size, count: abiMinor + 1)
    static let detectorTypeSizes = Array(repeating: MemoryLayout<hanet_detector_type>.size, count: abiMinor + 1)

    let logger: Logger
    /// Guards every mutable field below. Never held while plugin code runs.
    let lock = Lock()
    /// Serializes control calls into plugins (init, probe, describe, open, create).
    let controlLock = Lock()

    var plugins: [LoadedPlugin] = []
    var refused: [(order: Int, record: PluginRecord)] = []
    var loadOrder = 0
    var sinks: [UInt: ReportSink] = [:]
    var links: [UInt: LinkInstance] = [:]
    var nextHandle: UInt = 1

    public init(logger: @escaping Logger) {
        self.logger = logger
    }

    // MARK: search path

    /// `--plugins-dir`, then HANET_PLUGINS_DIR, then the configured
    /// `plugins_dir`, then /usr/lib/hanet/plugins when it exists; otherwise
    /// the executable's folder, which in a build tree holds the plugins
    /// SwiftPM just built (libhanet-plugin-*.so), so `swift build && .build/debug/hanet`
    /// works without installing.
    public static func defaultPluginsDirectory(explicit: String?, environment: [String: String], configured: String?,
                                               executableDirectory: String) -> PluginSearchPath {
        defaultPluginsDirectory(explicit: explicit, environment: environment, configured: configured,
                                executableDirectory: executableDirectory,
                                installedExists: FileManager.default.fileExists(atPath: PluginSearchPath.installedDirectory))
    }

    /// The same rule with the existence of the installed folder passed in, for tests.
    public static func defaultPluginsDirectory(explicit: String?, environment: [String: String], configured: String?,
                                               executableDirectory: String, installedExists: Bool) -> PluginSearchPath {
        if let e = explicit, !e.isEmpty { return PluginSearchPath(directory: e, source: .option) }
        if let e = environment["HANET_PLUGINS_DIR"], !e.isEmpty { return PluginSearchPath(directory: e, source: .environment) }
        if let c = configured, !c.isEmpty { return PluginSearchPath(directory: c, source: .config) }
        if installedExists { return PluginSearchPath(directory: PluginSearchPath.installedDirectory, source: .installed) }
        return PluginSearchPath(directory: executableDirectory, source: .buildTree)
    }

    // MARK: loading

    /// Loads every candidate file of `search` in name order. Plugins whose id
    /// is in `disabled` are loaded and initialised (so their types can be
    /// listed and enabled later without a restart) but offer nothing until
    /// enabled. Never throws: each refusal is a record with its reason.
    @discardableResult
    public func load(from search: PluginSearchPath, disabled: Set<String>) -> [PluginRecord] {
        controlLock.lock()
        defer { controlLock.unlock() }
        // A build tree reaches its products through a symlink (.build/debug); the checks apply to the real folder.
        let dir = DynamicLibrary.resolvingSymlinks(search.directory)
        if let problem = DynamicLibrary.trustProblem(dir, expect: .directory) {
            addRefused(PluginRecord(file: dir, state: .error, reason: "plugins directory \(dir): \(problem)"))
            return records
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: dir).filter(search.isCandidate).sorted()
        } catch {
            addRefused(PluginRecord(file: dir, state: .error, reason: "plugins directory \(dir): cannot list: \(SystemError.describe(error))"))
            return records
        }
        let already = Set(records.map(\.file))
        for name in names {
            let path = FilePath.appending(dir, name)
            if already.contains(path) { continue }
            loadFile(path, disabled: disabled)
        }
        return records
    }

    /// Every file seen, in load order, with its current state.
    public var records: [PluginRecord] {
        lock.lock()
        defer { lock.unlock() }
        var all = refused
        all += plugins.map { (order: $0.order, record: $0.record()) }
        return all.sorted { $0.order < $1.order }.map(\.record)
    }

    private func addRefused(_ r: PluginRecord) {
        lock.lock()
        refused.append((loadOrder, r))
        loadOrder += 1
        lock.unlock()
        logger(r.id ?? FilePath.lastComponent(r.file), Int32(HANET_LOG_WARNING.rawValue),
               "refused \(r.file): \(r.reason ?? r.state.rawValue)")
    }

    private func loadFile(_ path: String, disabled: Set<String>) {
        var record = PluginRecord(file: path, state: .error)
        func refuse(_ state: PluginState, _ reason: String) {
            record.state = state
            record.reason = reason
            addRefused(record)
        }
        if let problem = DynamicLibrary.trustProblem(path, expect: .regular) {
            return refuse(.error, "unsafe plugin file: \(problem)")
        }
        let lib: DynamicLibrary
        do {
            lib = try DynamicLibrary.open(path)
        } catch let e as HANetError {
            return refuse(.error, "not a loadable shared object: \(e.message)")
        } catch {
            return refuse(.error, "not a loadable shared object: \(error)")
        }
        guard let entryAddress = lib.symbol(Self.entrySymbol) else {
            // A plugin built for another major exports another name: say which.
            for major in 0...9 where major != Self.abiMajor {
                if lib.symbol("hanet_plugin_entry_v\(major)") != nil {
                    record.abiMajor = major
                    return refuse(.incompatible, "built for plugin ABI major \(major) (exports hanet_plugin_entry_v\(major)); this host speaks major \(Self.abiMajor)")
                }
            }
            return refuse(.error, "missing entry symbol \(Self.entrySymbol): not a HANet plugin (or its entry is not exported)")
        }
        let entry = unsafeBitCast(entryAddress, to: hanet_plugin_entry_fn.self)
        guard let descriptorPointer = entry() else {
            return refuse(.error, "entry \(Self.entrySymbol) returned NULL: the plugin says it cannot run here")
        }
        // The first 8 bytes (struct_size, abi_major, abi_minor) are the same in every layout.
        let raw = UnsafeRawPointer(descriptorPointer)
        let size = Int(raw.load(as: UInt32.self))
        let major = Int(raw.load(fromByteOffset: 4, as: UInt16.self))
        let minor = Int(raw.load(fromByteOffset: 6, as: UInt16.self))
        record.abiMajor = major
        record.abiMinor = minor
        guard major == Self.abiMajor else {
            return refuse(.incompatible, "descriptor declares plugin ABI major \(major); this host speaks major \(Self.abiMajor) (majors must be equal)")
        }
        guard minor <= Self.abiMinor else {
            return refuse(.incompatible, "requires plugin ABI \(major).\(minor), newer than this host's \(Self.abiMajor).\(Self.abiMinor): upgrade HANet, or lower the plugin's required minor if it checks newer services with HANET_HOST_API_HAS")
        }
        if let problem = Self.sizeProblem(size, known: Self.descriptorSizes, minor: minor, what: "hanet_plugin_descriptor") {
            return refuse(.incompatible, problem)
        }
        var d = hanet_plugin_descriptor()
        withUnsafeMutableBytes(of: &d) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: min(size, dst.count)))
        }
        guard let idPointer = d.id else { return refuse(.error, "descriptor has no id") }
        let id = String(cString: idPointer)
        record.id = id
        record.version = d.version.map { String(cString: $0) }
        record.description = d.description.map { String(cString: $0) }
        guard Self.isValidID(id) else {
            return refuse(.error, "descriptor id \"\(id)\" is invalid: expected 1-64 characters from [a-z0-9-]")
        }
        lock.lock()
        let clash = plugins.first { $0.id == id }?.path
        lock.unlock()
        if let clash {
            return refuse(.error, "duplicate plugin id \"\(id)\": already loaded from \(clash)")
        }
        guard let initFunction = d.`init` else { return refuse(.error, "descriptor has no init function") }

        let context = PluginContext(host: self, pluginID: id)
        let api = UnsafeMutablePointer<hanet_host_api>.allocate(capacity: 1)
        api.initialize(to: PluginHostServices.table(context: context))
        var state: UnsafeMutableRawPointer?
        var error = [CChar](repeating: 0, count: 512)
        let rc = initFunction(api, &state, &error, error.count)
        context.initializing = false
        // A refused registration explains an init failure better than its status does.
        if let problem = context.problems.first {
            return refuse(.error, "init registered an invalid type: \(problem)")
        }
        if rc != HANET_OK.rawValue {
            let text = String(cString: error)
            return refuse(.error, "init failed (status \(rc))\(text.isEmpty ? "" : ": \(text)")")
        }
        let plugin = LoadedPlugin(id: id, path: path, library: lib, descriptor: d, api: api, context: context,
                                  state: state, enabled: !disabled.contains(id))
        plugin.linkTypes = context.linkTypes.map { LoadedLinkType(type: $0, plugin: plugin) }
        plugin.detectorTypes = context.detectorTypes.map { LoadedDetectorType(type: $0, plugin: plugin) }
        lock.lock()
        // Type names are global: the first plugin (in name order) keeps a name.
        let taken = Set(plugins.flatMap { $0.linkTypes.map(\.name) + $0.detectorTypes.map(\.name) })
        let duplicates = (plugin.linkTypes.map(\.name) + plugin.detectorTypes.map(\.name)).filter(taken.contains)
        if duplicates.isEmpty {
            plugin.order = loadOrder
            loadOrder += 1
            plugins.append(plugin)
        }
        lock.unlock()
        if !duplicates.isEmpty {
            let owners = duplicates.map { name in "\"\(name)\" (already provided by \(self.pluginOwning(name) ?? "?"))" }
            return refuse(.error, "registers type names already taken: \(owners.joined(separator: ", "))")
        }
        logger(id, Int32(HANET_LOG_INFO.rawValue), "loaded \(path) (\(plugin.enabled ? "enabled" : "disabled"))")
    }

    private func pluginOwning(_ typeName: String) -> String? {
        lock.lock()
        defer { lock.unlock() }
        return plugins.first { $0.linkTypes.contains { $0.name == typeName } || $0.detectorTypes.contains { $0.name == typeName } }?.id
    }

    static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64 && id.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    }

    static func isValidTypeName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 || $0 == 46 }
    }

    /// Why a struct of `size` bytes cannot be accepted from a plugin of ABI
    /// minor `minor`, or nil. Larger than any layout known for that minor means
    /// the plugin has fields the host would ignore: refused, not half-understood.
    static func sizeProblem(_ size: Int, known: [Int], minor: Int, what: String) -> String? {
        let allowed = known.prefix(minor + 1)
        let largest = allowed.max() ?? 0
        if size > largest {
            return "\(what).struct_size is \(size) bytes, larger than the \(largest) this host knows for ABI \(abiMajor).\(minor)"
        }
        if !allowed.contains(size) {
            return "\(what).struct_size is \(size) bytes; ABI \(abiMajor).\(minor) layouts are \(allowed.map(String.init).joined(separator: ", ")) bytes"
        }
        return nil
    }

    // MARK: enabling

    /// Enables or disables a loaded plugin at run time. Disabling destroys the
    /// plugin's live detector instances (its code stays mapped: nothing is
    /// unloaded) and hides its types from probe/describe/createDetector.
    /// Returns false when no loaded plugin has that id or it was refused.
    @discardableResult
    public func setEnabled(_ id: String, _ enabled: Bool) -> Bool {
        lock.lock()
        guard let plugin = plugins.first(where: { $0.id == id }) else {
            lock.unlock()
            return false
        }
        plugin.enabled = enabled
        let victims = enabled ? [] : plugin.liveInstances.values.compactMap(\.instance)
        lock.unlock()
        for v in victims { v.destroy() }
        logger(id, Int32(HANET_LOG_INFO.rawValue), enabled ? "enabled" : "disabled (\(victims.count) detector instance(s) destroyed)")
        return true
    }

    /// Applies a whole disabled set (the state file), as the daemon's
    /// `plugins-reload` does: every loaded plugin not in it is enabled.
    /// Returns the ids whose state changed, in load order.
    @discardableResult
    public func applyDisabled(_ disabled: Set<String>) -> [String] {
        lock.lock()
        let changes = plugins.filter { $0.enabled == disabled.contains($0.id) }.map(\.id)
        lock.unlock()
        for id in changes { setEnabled(id, !disabled.contains(id)) }
        return changes
    }

    // MARK: types

    /// Link type names of enabled plugins.
    public func linkTypeNames() -> [String] { typeNames(\.linkTypes) }

    /// Detector type names of enabled plugins.
    public func detectorTypeNames() -> [String] { typeNames(\.detectorTypes) }

    func findLinkType(_ name: String) throws -> LoadedLinkType { try findType(name, in: \.linkTypes, kind: "link type") }

    func findDetectorType(_ name: String) throws -> LoadedDetectorType { try findType(name, in: \.detectorTypes, kind: "detector") }

    private func typeNames<T>(_ types: KeyPath<LoadedPlugin, [LoadedType<T>]>) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        return plugins.filter(\.enabled).flatMap { $0[keyPath: types].map(\.name) }
    }

    /// The type `name` among `types` of every plugin; `kind` ("link type",
    /// "detector") names it in the errors.
    private func findType<T>(_ name: String, in types: KeyPath<LoadedPlugin, [LoadedType<T>]>, kind: String) throws -> LoadedType<T> {
        lock.lock()
        defer { lock.unlock() }
        for p in plugins {
            if let t = p[keyPath: types].first(where: { $0.name == name }) {
                guard p.enabled else {
                    throw HANetError(.plugin, "\(kind) \(name) is provided by plugin \(p.id), which is disabled (hanet plugins enable \(p.id))")
                }
                return t
            }
        }
        let known = plugins.filter(\.enabled).flatMap { $0[keyPath: types].map(\.name) }
        throw HANetError(.notFound, "no loaded plugin provides \(kind) \"\(name)\" (known: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
    }

    /// Refuses a type its plugin marked unavailable, with the plugin's reason.
    private static func requireAvailable<T>(_ t: LoadedType<T>, _ what: String) throws {
        if t.unavailable {
            throw HANetError(.plugin, "\(what) is unavailable: \(t.unavailableReason ?? "no reason given")")
        }
    }

    // MARK: links

    /// The enabled link type that claims `device` with the highest score; on a
    /// tie the first in load order (file name order) wins. Unavailable types
    /// take part, so a device gets its true type and the refusal says why.
    public func probe(_ device: DeviceInfo) -> String? {
        lock.lock()
        let candidates = plugins.filter(\.enabled).flatMap(\.linkTypes)
        lock.unlock()
        controlLock.lock()
        defer { controlLock.unlock() }
        var best: (name: String, score: Int32)?
        CDevice.with(device) { dev in
            for t in candidates {
                guard let probe = t.type.probe else { continue }
                let score = probe(t.plugin.state, dev)
                if score > 0, score > (best?.score ?? 0) { best = (t.name, score) }
            }
        }
        return best?.name
    }

    /// What link type `linkType` says about `device`. An unavailable type is
    /// refused with its reason (the daemon cannot use it) unless
    /// `allowUnavailable`, which `hanet plugins` and tests use to show the
    /// description the plugin gives anyway.
    public func describe(linkType: String, device: DeviceInfo, config: [String: HANetConfig.Value],
                         allowUnavailable: Bool = false) throws -> LinkAttributes {
        let t = try findLinkType(linkType)
        if !allowUnavailable { try Self.requireAvailable(t, "link type \(linkType)") }
        guard let describe = t.type.describe else {
            throw HANetError(.plugin, "link type \(linkType) (plugin \(t.plugin.id)) has no describe function")
        }
        let store = PluginConfig(config)
        var out = hanet_link_attrs()
        out.struct_size = UInt32(MemoryLayout<hanet_link_attrs>.size)
        var error = [CChar](repeating: 0, count: 512)
        controlLock.lock()
        let rc = CDevice.with(device) { dev in
            withExtendedLifetime(store) { describe(t.plugin.state, dev, store.pointer, &out, &error, error.count) }
        }
        controlLock.unlock()
        guard rc == HANET_OK.rawValue else {
            let text = String(cString: error)
            throw HANetError(.plugin, "link type \(linkType) (plugin \(t.plugin.id)) refused \(device.name): \(text.isEmpty ? "status \(rc)" : text)")
        }
        let layer: LinkLayer
        switch out.layer {
        case UInt32(HANET_LINK_L2.rawValue): layer = .l2
        case UInt32(HANET_LINK_L3.rawValue): layer = .l3
        default:
            throw HANetError(.plugin, "link type \(linkType) (plugin \(t.plugin.id)) described \(device.name) with layer \(out.layer); expected 2 (L2) or 3 (L3)")
        }
        let role: LinkRole
        switch out.role {
        case UInt32(HANET_ROLE_PUBLIC.rawValue): role = .public
        case UInt32(HANET_ROLE_PRIVATE.rawValue): role = .private
        default:
            throw HANetError(.plugin, "link type \(linkType) (plugin \(t.plugin.id)) described \(device.name) with role \(out.role); expected 0 (public) or 1 (private)")
        }
        return LinkAttributes(layer: layer, defaultRole: role,
                              pointToPoint: out.flags & HANET_LINK_POINT_TO_POINT != 0,
                              noARP: out.flags & HANET_LINK_NOARP != 0,
                              frameIO: out.flags & HANET_LINK_FRAME_IO != 0,
                              arphrd: out.arphrd, headerLength: out.header_len, addressLength: out.addr_len,
                              mtu: out.mtu, speedBitsPerSecond: out.speed_bps)
    }

    /// Starts using a device through its link type (`open`). Frames a
    /// FRAME_IO plugin delivers are handed to `onFrame` on a queue of the
    /// link's own; they are dropped when `onFrame` is nil.
    public func openLink(type linkType: String, device: DeviceInfo, config: [String: HANetConfig.Value],
                         onFrame: (([UInt8]) -> Void)? = nil) throws -> LinkInstance {
        let t = try findLinkType(linkType)
        try Self.requireAvailable(t, "link type \(linkType)")
        guard let open = t.type.open else {
            throw HANetError(.plugin, "link type \(linkType) (plugin \(t.plugin.id)) has no open function")
        }
        let store = PluginConfig(config)
        lock.lock()
        let handle = nextHandle
        nextHandle += 1
        let link = LinkInstance(typeName: linkType, pluginID: t.plugin.id, device: device.name, config: store,
                                closeFunction: t.type.close, sendFunction: t.type.send_frame, onFrame: onFrame)
        links[handle] = link
        lock.unlock()
        var state: UnsafeMutableRawPointer?
        var error = [CChar](repeating: 0, count: 512)
        controlLock.lock()
        let rc = CDevice.with(device) { dev in
            open(t.plugin.state, dev, store.pointer, OpaquePointer(bitPattern: handle), &state, &error, error.count)
        }
        controlLock.unlock()
        guard rc == HANET_OK.rawValue else {
            lock.lock()
            links[handle] = nil
            lock.unlock()
            let text = String(cString: error)
            throw HANetError(.plugin, "link type \(linkType) (plugin \(t.plugin.id)) could not open \(device.name): \(text.isEmpty ? "status \(rc)" : text)")
        }
        link.activate(state: state) { [weak self] in
            guard let self else { return }
            self.lock.lock()
            self.links[handle] = nil
            self.lock.unlock()
        }
        return link
    }

    // MARK: detectors

    /// Creates one detector instance watching `slave`. `report` is called
    /// with every raw verdict (undamped: `instance.damping` says how to damp
    /// it) and the monotonic time of its cause, on the thread the plugin
    /// reported from, never after `destroy`. The plugin may report from inside
    /// `create`: that initial verdict is delivered once the instance exists.
    public func createDetector(type: String, slave: String, ifindex: Int32, layer: LinkLayer, intervalMillis: Int?,
                               config: [String: HANetConfig.Value],
                               report: @escaping (Health, String) -> Void) throws -> DetectorInstance {
        try createDetector(type: type, slave: slave, ifindex: ifindex, layer: layer, intervalMillis: intervalMillis,
                           config: config, reportAt: { h, r, _ in report(h, r) })
    }

    /// `createDetector(...report:)` with each verdict's cause time.
    public func createDetector(type: String, slave: String, ifindex: Int32, layer: LinkLayer, intervalMillis: Int?,
                               config: [String: HANetConfig.Value],
                               reportAt: @escaping (Health, String, UInt64) -> Void) throws -> DetectorInstance {
        let t = try findDetectorType(type)
        try Self.requireAvailable(t, "detector \(type)")
        if t.type.flags & UInt32(HANET_DETECTOR_NEEDS_L2) != 0 && layer != .l2 {
            throw HANetError(.plugin, "detector \(type) works only on L2 slaves; \(slave) is \(layer.rawValue)")
        }
        guard let create = t.type.create else {
            throw HANetError(.plugin, "detector \(type) (plugin \(t.plugin.id)) has no create function")
        }
        if let i = intervalMillis, i < 0 || i > Int(UInt32.max) {
            throw HANetError(.config, "detector \(type) on \(slave): interval_ms = \(i): expected 0 or a positive number of milliseconds")
        }
        let interval = intervalMillis ?? Int(t.type.default_interval_ms)
        let damping = try DetectorDamper.Settings(config: config, detector: type, slave: slave)
        let store = PluginConfig(config)
        let sink = ReportSink(deliver: reportAt)
        lock.lock()
        let handle = nextHandle
        nextHandle += 1
        sinks[handle] = sink
        lock.unlock()

        let slaveC = CStringArena()
        var ctx = hanet_detector_context()
        ctx.struct_size = UInt32(MemoryLayout<hanet_detector_context>.size)
        ctx.slave = slaveC.make(slave)
        ctx.ifindex = ifindex
        ctx.layer = UInt32(layer == .l2 ? HANET_LINK_L2.rawValue : HANET_LINK_L3.rawValue)
        ctx.interval_ms = UInt32(interval)
        ctx.config = store.pointer
        ctx.handle = OpaquePointer(bitPattern: handle)
        ctx.api = UnsafePointer(t.plugin.api)
        var state: UnsafeMutableRawPointer?
        var error = [CChar](repeating: 0, count: 512)
        controlLock.lock()
        let rc = create(t.plugin.state, &ctx, &state, &error, error.count)
        controlLock.unlock()
        guard rc == HANET_OK.rawValue else {
            lock.lock()
            sinks[handle] = nil
            lock.unlock()
            sink.close()
            let text = String(cString: error)
            throw HANetError(.plugin, "detector \(type) (plugin \(t.plugin.id)) refused to watch \(slave): \(text.isEmpty ? "status \(rc)" : text)")
        }
        let instance = DetectorInstance(typeName: type, pluginID: t.plugin.id, slave: slave, intervalMillis: interval,
                                        type: t.type, state: state, threadSafe: t.type.flags & UInt32(HANET_DETECTOR_THREAD_SAFE) != 0,
                                        keepAlive: [store, slaveC], sink: sink, damping: damping)
        let pluginID = t.plugin.id
        instance.onSlowPoll = { [weak self] _, line in
            guard let line, let self else { return }
            self.logger(pluginID, Int32(HANET_LOG_WARNING.rawValue), "detector \(type) on \(slave): \(line)")
        }
        instance.onDestroy = { [weak self, weak plugin = t.plugin] in
            sink.close()
            guard let self else { return }
            self.lock.lock()
            self.sinks[handle] = nil
            plugin?.liveInstances[ObjectIdentifier(instance)] = nil
            self.lock.unlock()
        }
        lock.lock()
        t.plugin.liveInstances[ObjectIdentifier(instance)] = WeakDetector(instance)
        lock.unlock()
        sink.open()
        return instance
    }

    // MARK: services (called from PluginHostServices)

    func enqueueReport(handle: UInt, health: Int32, reason: String, plugin: String) {
        lock.lock()
        let sink = sinks[handle]
        lock.unlock()
        guard let sink else { return } // destroyed, or not ours: dropped as the ABI promises
        let h: Health
        switch health {
        case Int32(HANET_HEALTH_GOOD.rawValue): h = .good
        case Int32(HANET_HEALTH_BAD.rawValue): h = .bad
        case Int32(HANET_HEALTH_UNKNOWN.rawValue): h = .unknown
        default:
            logger(plugin, Int32(HANET_LOG_WARNING.rawValue), "report with invalid health \(health) dropped (expected 0, 1 or 2)")
            return
        }
        sink.enqueue(h, reason)
    }

    func storeCounters(handle: UInt, _ counters: DetectorCounters) {
        lock.lock()
        let sink = sinks[handle]
        lock.unlock()
        sink?.counters.store(counters)
    }

    func enqueueFrame(handle: UInt, frame: [UInt8]) {
        lock.lock()
        let link = links[handle]
        lock.unlock()
        link?.enqueue(frame)
    }
}
