import CHANetShim
import CLibNL
import FoundationEssentials
import Glibc
import HANetCore

/// Delivers RTM_NEWLINK/RTM_DELLINK notifications as `KernelLinkEvent`s.
///
/// A carrier fault must reach the interface manager within a fraction of a
/// millisecond, so the monitor owns a raw NETLINK_ROUTE socket subscribed to
/// RTNLGRP_LINK, reads it on a dedicated thread, stamps CLOCK_MONOTONIC right
/// after recv, and parses the ifinfomsg by hand (no libnl cache objects).
/// The handler runs on that thread: it must be quick and should only enqueue.
///
/// The socket is bound in the network namespace of the thread that calls
/// `init`. If the socket's buffer overflows (ENOBUFS) notifications were lost:
/// `overrunHandler` is called so the owner can re-read every link's state.
public final class LinkMonitor {
    private let fd: Int32
    private var watcher: ReadableWatcher!
    private let handler: (KernelLinkEvent) -> Void
    /// Called on the monitor thread after notifications were lost.
    private let overrunHandler: () -> Void

    public init(onOverrun: @escaping () -> Void = {}, handler: @escaping (KernelLinkEvent) -> Void) throws {
        self.handler = handler
        overrunHandler = onOverrun
        var addr = sockaddr_nl()
        addr.nl_family = sa_family_t(AF_NETLINK)
        addr.nl_groups = 1          // RTMGRP_LINK
        let s: Int32
        do {
            s = try Socket.open(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), protocol: NETLINK_ROUTE) { s throws(SystemCallError) in
                var size: Int32 = 1 << 20
                _ = setsockopt(s, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
                try Socket.bind(s, addr)
            }
        } catch {
            throw HANetError(.kernel, "link monitor: netlink route socket for RTNLGRP_LINK", error)
        }
        do {
            watcher = try ReadableWatcher(fd: s, name: "hanet-link-monitor", what: "link monitor")
        } catch {
            close(s)
            throw error
        }
        fd = s
    }

    deinit {
        watcher.stop()
        close(fd)
    }

    /// Starts the reader thread; a second call while running does nothing.
    public func start() {
        watcher.start { [unowned self] in self.readAvailable() }
    }

    /// Stops the reader thread and waits for it; no handler call happens after it returns
    /// (unless stop is called from the handler itself, which returns at once).
    public func stop() {
        watcher.stop()
    }

    private func readAvailable() {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        let now = hanet_shim_monotonic_nanos()
        if n < 0 {
            if errno == ENOBUFS { overrunHandler() }
            return
        }
        let events = buffer.withUnsafeBytes { LinkMonitor.parse(UnsafeRawBufferPointer(rebasing: $0[0..<n]), timestamp: now) }
        for e in events { handler(e) }
    }

    /// Only the watcher's thread touches it.
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    /// Parses a datagram of netlink messages; anything but RTM_NEWLINK(16)/RTM_DELLINK(17) is skipped.
    static func parse(_ data: UnsafeRawBufferPointer, timestamp: UInt64) -> [KernelLinkEvent] {
        guard let base = data.baseAddress else { return [] }
        var events: [KernelLinkEvent] = []
        var offset = 0
        while offset + 16 <= data.count {
            let len = Int(base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            let type = base.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self)
            guard len >= 16, offset + len <= data.count else { break }
            if (type == 16 || type == 17), len >= 16 + 16 {
                let ifi = base + offset + 16
                var link = KernelLink(name: "", index: ifi.loadUnaligned(fromByteOffset: 4, as: Int32.self), mac: nil,
                                      mtu: 0, txQueueLength: 0,
                                      flags: ifi.loadUnaligned(fromByteOffset: 8, as: UInt32.self),
                                      arphrd: UInt32(ifi.loadUnaligned(fromByteOffset: 2, as: UInt16.self)), operState: 0)
                for (attr, payload) in RouteAttributes(ifi + 16, length: len - 32) {
                    switch attr {
                    case 1 where payload.count == 6:                       // IFLA_ADDRESS
                        link.mac = MACAddress(Array(payload))
                    case 3:                                                // IFLA_IFNAME
                        let bytes = payload.prefix { $0 != 0 }
                        link.name = String(decoding: bytes, as: UTF8.self)
                    case 4 where payload.count >= 4:                       // IFLA_MTU
                        link.mtu = payload.loadUnaligned(as: UInt32.self)
                    case 13 where payload.count >= 4:                      // IFLA_TXQLEN
                        link.txQueueLength = payload.loadUnaligned(as: UInt32.self)
                    case 16 where payload.count >= 1:                      // IFLA_OPERSTATE
                        link.operState = payload[0]
                    default:
                        break
                    }
                }
                events.append(KernelLinkEvent(link: link, removed: type == 17, timestampNanos: timestamp))
            }
            offset += (len + 3) & ~3
        }
        return events
    }
}
