import FoundationEssentials
import Glibc
import HANetCore

/// sd_notify(3) without libsystemd: one datagram of `KEY=VALUE` lines to the
/// Unix socket named by $NOTIFY_SOCKET (a path, or an abstract name written
/// with a leading '@'). With no $NOTIFY_SOCKET (not started by systemd) every
/// call is a no-op, so the daemon runs the same way under any supervisor.
public final class SystemdNotify {
    /// SOCK_DGRAM, spelled as its value for the reason given in UnixSocketServer.
    static let datagramType: Int32 = 2

    public let socketPath: String?
    /// $WATCHDOG_USEC when it is meant for this process ($WATCHDOG_PID absent or ours).
    public let watchdogMicros: UInt64?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = path
        var wd: UInt64?
        if let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0 {
            if let pidText = environment["WATCHDOG_PID"], let pid = Int32(pidText), pid != getpid() {
                wd = nil
            } else {
                wd = usec
            }
        }
        watchdogMicros = path == nil ? nil : wd
    }

    public var enabled: Bool { socketPath != nil }

    /// Sends `state` (e.g. "READY=1\nSTATUS=…"). Errors are returned, not
    /// thrown at the caller's feet: a supervisor that went away must not stop the daemon.
    @discardableResult
    public func send(_ state: String) -> HANetError? {
        guard let path = socketPath else { return nil }
        let fd: Int32
        do { fd = try Socket.open(AF_UNIX, Self.datagramType | 0o2000000) { _ in } } catch { return HANetError(.io, "NOTIFY_SOCKET", error) }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            return HANetError(.usage, "NOTIFY_SOCKET path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            if !abstract { raw[bytes.count] = 0 }
        }
        // An abstract address is exactly as long as its name; a path includes its NUL.
        let len = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let payload = Array(state.utf8)
        do {
            _ = try payload.withBytes { p throws(SystemCallError) in
                try retryingInterrupts("sendto") {
                    withUnsafePointer(to: &addr) { a in
                        a.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, p.baseAddress, p.count, Int32(MSG_NOSIGNAL), $0, len) }
                    }
                }
            }
        } catch {
            return HANetError(.io, "NOTIFY_SOCKET \(path)", error)
        }
        return nil
    }
}
