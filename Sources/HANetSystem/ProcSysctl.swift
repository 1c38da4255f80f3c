import FoundationEssentials
import Glibc
import HANetCore
import struct SystemPackage.Errno

/// `SysctlStore` over /proc/sys files.
///
/// /proc/sys/net resolves against the network namespace of the thread that
/// opens the file, so each read and write opens the file anew: inside
/// `NetworkNamespace.run` they act in that namespace. With `namespace:` every
/// call enters that namespace itself (a thread per call, fine for
/// configuration, not for hot paths).
public final class ProcSysctl: SysctlStore {
    public let root: String
    public let namespace: String?

    public init(root: String = "/proc/sys", namespace: String? = nil) {
        self.root = root
        self.namespace = namespace
    }

    public func read(_ path: String) throws -> String {
        try inNamespace { try readHere(path) }
    }

    public func write(_ path: String, _ value: String) throws {
        try inNamespace { try writeHere(path, value) }
    }

    /// The entries of a /proc/sys directory, sorted: `names(under: "net/ipv6/conf")`
    /// gives "all", "default" and every interface (what `conf/all/forwarding` changes).
    public func names(under path: String) throws -> [String] {
        try inNamespace {
            let full = try fullPath(path)
            guard let dir = opendir(full) else { throw failure(path, full, SystemCallError("opendir", Errno(rawValue: errno))) }
            defer { closedir(dir) }
            var out: [String] = []
            while let e = readdir(dir) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { out.append(name) }
            }
            return out.sorted()
        }
    }

    private func inNamespace<T>(_ body: () throws -> T) throws -> T {
        if let ns = namespace { return try NetworkNamespace.run(ns, body) }
        return try body()
    }

    private func fullPath(_ path: String) throws -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("/"), !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw HANetError(.usage, "sysctl '\(path)': expected a path relative to \(root) such as net/ipv4/ip_forward")
        }
        return "\(root)/\(path)"
    }

    /// What a failed open, read or write of `full` means for the sysctl `path`.
    private func failure(_ path: String, _ full: String, _ error: SystemCallError) -> HANetError {
        switch error.errno {
        case .noSuchFileOrDirectory:
            return HANetError(.notFound, "sysctl \(path): no such key (\(full) does not exist; is the interface or module there?)")
        case .permissionDenied, .notPermitted:
            return HANetError(.kernel, "sysctl \(path): \(error.call) \(full): permission denied (HANet must run as root)")
        default:
            return HANetError(.kernel, "sysctl \(path): \(error.call) \(full): \(error.errno)")
        }
    }

    private func readHere(_ path: String) throws -> String {
        let full = try fullPath(path)
        let fd: Int32
        do { fd = try openFile(full, O_RDONLY | O_CLOEXEC) } catch { throw failure(path, full, error) }
        defer { close(fd) }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n: Int
            do { n = try SystemCalls.live.readSome(fd, into: &buffer) } catch { throw failure(path, full, error) }
            if n == 0 { break }
            data += buffer[0..<n]
        }
        var text = String(decoding: data, as: UTF8.self)
        while text.last == "\n" { text.removeLast() }
        return text
    }

    private func writeHere(_ path: String, _ value: String) throws {
        let full = try fullPath(path)
        let fd: Int32
        do { fd = try openFile(full, O_WRONLY | O_CLOEXEC) } catch { throw failure(path, full, error) }
        defer { close(fd) }
        let bytes = Array((value + "\n").utf8)
        // A sysctl write must be one write() call: the kernel parses each call as a whole value.
        let n: Int
        do {
            n = try bytes.withBytes { b throws(SystemCallError) in try retryingInterrupts("write") { Glibc.write(fd, b.baseAddress, b.count) } }
        } catch {
            if error.errno == .invalidArgument {
                throw HANetError(.kernel, "sysctl \(path): the kernel refused the value '\(value)' (\(full): \(error.errno))")
            }
            throw failure(path, full, error)
        }
        if n != bytes.count {
            throw HANetError(.kernel, "sysctl \(path): short write to \(full) (\(n) of \(bytes.count) bytes)")
        }
    }
}
