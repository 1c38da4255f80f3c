import CHANetShim
import FoundationEssentials
import Glibc
import HANetCore
import struct SystemPackage.Errno

/// Runs code inside a named network namespace (`ip netns add NAME`).
///
/// The network namespace is a per-thread attribute, so `run` moves only the
/// calling thread: setns() into NAME, the body, setns() back (even when the
/// body throws); no thread hop, so it costs two setns calls. Caveat: a thread
/// created while inside (by the body, or by libdispatch growing its pool on
/// an async call made from the body) starts in NAME and stays there, so keep
/// bodies to synchronous setup. Anything that binds a namespace
/// at creation — a `Netlink`, a `LinkMonitor`, an `Nftables`, a pcap handle,
/// a socket — keeps acting in NAME after `run` returns, from any thread.
/// /proc/sys/net paths resolve against the calling thread's namespace when
/// opened, so `ProcSysctl` must be used inside `run` (or given the namespace).
public enum NetworkNamespace {
    public static let directory = "/var/run/netns"

    public static func run<T>(_ name: String, _ body: () throws -> T) throws -> T {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw HANetError(.usage, "network namespace name '\(name)': expected a name from `ip netns list` (no '/')")
        }
        let path = "\(directory)/\(name)"
        return try whileEntered("enter network namespace \(name)", body) {
            let fd: Int32
            do throws(SystemCallError) {
                fd = try openFile(path, O_RDONLY | O_CLOEXEC)
            } catch {
                throw HANetError(error.errno == .noSuchFileOrDirectory ? .notFound : .kernel,
                                 "enter network namespace \(name): open \(path): \(error.errno)")
            }
            defer { close(fd) }
            try setNamespace(fd, "enter network namespace \(name)")
        }
    }

    /// Enters a namespace on the calling thread (`enter` does the setns), runs
    /// `body`, and always returns the thread to the namespace it was in. Only this thread moves: the network
    /// namespace is per thread, so the rest of the process is unaffected.
    static func whileEntered<T>(_ label: String, _ body: () throws -> T, enter: () throws -> Void) throws -> T {
        let home = try openOwnNamespace(label)
        defer {
            // Returning is a setns to a namespace the thread was just in; if even that
            // fails the thread would act in the wrong namespace from now on.
            if hanet_shim_setns_net(home) != 0 {
                fatalError("\(label): cannot return the thread to its network namespace: \(SystemCallError.current("setns"))")
            }
            close(home)
        }
        try enter()
        return try body()
    }

    /// A descriptor of the calling thread's network namespace.
    static func openOwnNamespace(_ label: String) throws -> Int32 {
        do {
            return try openFile("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        } catch {
            throw HANetError(.kernel, "\(label): \(error.call) /proc/thread-self/ns/net: \(error.errno)")
        }
    }

    /// Moves the calling thread into the network namespace `fd` refers to.
    static func setNamespace(_ fd: Int32, _ label: String) throws {
        guard hanet_shim_setns_net(fd) == 0 else { throw HANetError(.kernel, label, SystemCallError.current("setns")) }
    }

    /// The inode of the calling thread's network namespace: equal inodes mean
    /// the same namespace (used to key per-namespace caches).
    public static func currentIdentifier() -> UInt64 {
        var st = stat()
        guard stat("/proc/thread-self/ns/net", &st) == 0 else { return 0 }
        return UInt64(st.st_ino)
    }
}

/// Pins work to the network namespace that was current when the anchor was
/// made. Some libraries resolve interface names in the *calling thread's*
/// namespace (libnftables turns `fwd to "eth0"` into an ifindex that way), so
/// an object created inside `NetworkNamespace.run` and used from another
/// thread must hop back into its namespace. Same namespace: the body runs in
/// place (one stat, about a microsecond); otherwise the calling thread is moved into the namespace by the kept descriptor.
final class NamespaceAnchor {
    let identifier: UInt64
    private let fd: Int32

    init() throws {
        fd = try NetworkNamespace.openOwnNamespace("network namespace anchor")
        identifier = NetworkNamespace.currentIdentifier()
    }

    deinit { close(fd) }

    func run<T>(_ body: () throws -> T) throws -> T {
        if NetworkNamespace.currentIdentifier() == identifier { return try body() }
        let fd = self.fd
        return try NetworkNamespace.whileEntered("re-enter network namespace", body) {
            try NetworkNamespace.setNamespace(fd, "re-enter network namespace")
        }
    }
}

