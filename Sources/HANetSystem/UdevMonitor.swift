import CHANetShim
import CUdev
import FoundationEssentials
import Glibc
import HANetCore

/// One device event as libudev reports it.
public struct UdevEvent: Equatable, Sendable {
    /// add | remove | move | change | bind | unbind ...
    public var action: String
    public var sysname: String
    public var subsystem: String
    public var ifindex: Int32?
    /// The kernel driver: `ethtool -i`'s for a netdev, the nearest parent's
    /// (cdc_acm, ftdi_sio, ...) for a tty; "" when it has none or is gone.
    public var driver: String
    /// The device node of a character device (/dev/ttyUSB0), nil for a netdev.
    public var devnode: String? = nil
    public var properties: [String: String]
    /// CLOCK_MONOTONIC (ns) right after the event was read from the socket.
    public var timestampNanos: UInt64
}

/// Device hot-plug notifications through libudev.
///
/// Where udevd runs (/run/udev/control exists) the monitor listens to the
/// "udev" source, so events arrive after the rules ran and carry their
/// properties (ID_*, a site's HANET_LINK_TYPE). Otherwise, as inside a network
/// namespace, it listens to the "kernel" source: the kernel sends a netdev's
/// uevent to the namespace that owns the device, so a monitor created in the
/// daemon's namespace sees exactly that namespace's devices.
///
/// The monitor is bound in the network namespace of the thread that calls
/// `init`. The handler runs on the monitor thread and should only enqueue.
public final class UdevMonitor {
    public let source: String
    private let udev: OpaquePointer
    private let monitor: OpaquePointer
    private var watcher: ReadableWatcher!
    private let handler: (UdevEvent) -> Void

    public init(subsystems: [String] = ["net", "tty"], source: String? = nil, handler: @escaping (UdevEvent) -> Void) throws {
        let src = source ?? (FileManager.default.fileExists(atPath: "/run/udev/control") ? "udev" : "kernel")
        guard let u = udev_new() else { throw HANetError(.kernel, "udev monitor: udev_new failed") }
        guard let m = udev_monitor_new_from_netlink(u, src) else {
            udev_unref(u)
            throw HANetError(.kernel, "udev monitor: cannot listen to the \(src) source (netlink uevent socket)")
        }
        for s in subsystems { _ = udev_monitor_filter_add_match_subsystem_devtype(m, s, nil) }
        _ = udev_monitor_set_receive_buffer_size(m, 1 << 20)
        let rc = udev_monitor_enable_receiving(m)
        guard rc >= 0 else {
            udev_monitor_unref(m)
            udev_unref(u)
            throw HANetError(.kernel, "udev monitor: enable receiving on the \(src) source", SystemCallError("udev_monitor_enable_receiving", code: rc))
        }
        self.source = src
        self.udev = u
        self.monitor = m
        self.handler = handler
        do {
            watcher = try ReadableWatcher(fd: udev_monitor_get_fd(m), name: "hanet-udev-monitor", what: "udev monitor")
        } catch {
            udev_monitor_unref(m)
            udev_unref(u)
            throw error
        }
    }

    deinit {
        watcher?.stop()
        udev_monitor_unref(monitor)
        udev_unref(udev)
    }

    public func start() {
        watcher.start { [unowned self] in self.receive() }
    }

    /// Stops the reader thread and waits for it (unless called from the handler).
    public func stop() {
        watcher.stop()
    }

    private func receive() {
        // NULL for a message the subsystem filter dropped.
        guard let dev = udev_monitor_receive_device(monitor) else { return }
        let now = hanet_shim_monotonic_nanos()
        let event = Self.event(from: dev, at: now)
        udev_device_unref(dev)
        handler(event)
    }

    private static func event(from dev: OpaquePointer, at now: UInt64) -> UdevEvent {
        func str(_ p: UnsafePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }
        var props: [String: String] = [:]
        var entry = udev_device_get_properties_list_entry(dev)
        while let e = entry {
            props[str(udev_list_entry_get_name(e))] = str(udev_list_entry_get_value(e))
            entry = udev_list_entry_get_next(e)
        }
        let action = str(udev_device_get_action(dev))
        let sysname = str(udev_device_get_sysname(dev))
        let subsystem = str(udev_device_get_subsystem(dev))
        var driver = ""
        if action != "remove" {
            driver = subsystem == "net" ? driverName(sysname) : parentDriver(dev)
        }
        // The kernel source gives DEVNAME relative to /dev, udevd's events give the path.
        let devnode = props["DEVNAME"].map { $0.hasPrefix("/") ? $0 : "/dev/" + $0 }
        return UdevEvent(action: action, sysname: sysname, subsystem: subsystem,
                         ifindex: props["IFINDEX"].flatMap { Int32($0) }, driver: driver,
                         devnode: subsystem == "net" ? nil : devnode, properties: props, timestampNanos: now)
    }

    /// A tty has no driver of its own in sysfs: the USB serial or ACM driver
    /// is bound to a parent (the usb-serial port or the USB interface).
    private static func parentDriver(_ dev: OpaquePointer) -> String {
        var node: OpaquePointer? = dev
        while let d = node {
            if let p = udev_device_get_driver(d) { return String(cString: p) }
            node = udev_device_get_parent(d)  // owned by the child: no unref
        }
        return ""
    }

    /// The driver of a network interface in this thread's namespace, "" when it has none or is gone.
    public static func driverName(_ ifname: String) -> String {
        var buf = [CChar](repeating: 0, count: 64)
        guard hanet_shim_ethtool_driver(ifname, &buf, buf.count) == 0 else { return "" }
        return String(cString: buf)
    }
}
