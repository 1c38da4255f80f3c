import CHANetShim
import FoundationEssentials
import Glibc
import HANetCore
import struct SystemPackage.Errno

/// A TUN device (IFF_TUN | IFF_NO_PI: bare IP packets) that stands in for
/// the kernel netdev a link without a driver lacks (user-space PPP over a
/// tty). It exists while this object holds its descriptor: the kernel
/// deletes a non-persistent TUN when the last descriptor closes, so a daemon
/// that exits, or a start-up that fails half-way, leaves nothing behind.
public final class TunDevice {
    public let name: String
    private let lock = Lock()
    private var fd: Int32

    /// Creates the device. Fails when `name` is taken by another kind of
    /// interface or /dev/net/tun is missing, with the reason.
    public init(name: String) throws {
        guard !name.isEmpty, name.utf8.count <= 15, !name.contains("/") else {
            throw HANetError(.config, "TUN device name '\(name)': expected 1 to 15 characters without '/'")
        }
        var actual = [CChar](repeating: 0, count: 32)
        let rc = hanet_shim_tun_create(name, &actual, actual.count)
        guard rc >= 0 else {
            // The shim returns the negated errno of open("/dev/net/tun") or of the TUNSETIFF ioctl.
            let e = SystemCallError("TUNSETIFF", code: rc)
            if e.errno == .noSuchFileOrDirectory {
                throw HANetError(.kernelUnsupported, "TUN device \(name): /dev/net/tun is missing (load the tun module): \(e.errno)")
            }
            throw HANetError(.kernel, "TUN device \(name)", e)
        }
        fd = rc
        self.name = String(cString: actual)
    }

    deinit { close() }

    /// Waits until a packet can be read, at most `timeoutMillis`.
    public func waitReadable(timeoutMillis: Int32) -> Bool {
        lock.lock()
        let f = fd
        lock.unlock()
        guard f >= 0 else { return false }
        var p = pollfd(fd: f, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, timeoutMillis) > 0 && p.revents & Int16(POLLIN) != 0
    }

    /// Reads one packet into `buffer` without blocking: its length, 0 when
    /// none is waiting, -1 when the device is closed or failed.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        lock.lock()
        let f = fd
        lock.unlock()
        guard f >= 0 else { return -1 }
        let n = Glibc.read(f, buffer.baseAddress, buffer.count)
        if n < 0 { return errno == EAGAIN || errno == EINTR ? 0 : -1 }
        return n
    }

    /// Writes one packet (an IP packet: the device has no link header). A
    /// full queue drops it, as a NIC would; false then.
    @discardableResult
    public func write(_ packet: UnsafeRawBufferPointer) -> Bool {
        lock.lock()
        let f = fd
        lock.unlock()
        guard f >= 0 else { return false }
        return (try? retryingInterrupts("write") { Glibc.write(f, packet.baseAddress, packet.count) }) == packet.count
    }

    /// Closes the descriptor: the kernel removes the device.
    public func close() {
        lock.lock()
        let f = fd
        fd = -1
        lock.unlock()
        if f >= 0 { _ = Glibc.close(f) }
    }
}
