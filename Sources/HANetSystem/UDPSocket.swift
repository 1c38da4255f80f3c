import FoundationEssentials
import Glibc
import HANetCore
import struct SystemPackage.Errno
import CHANetShim

/// The PTA's transport: one UDP socket on the PTA port, all addresses. UDP
/// because the requester's TCP handshake would be answered over the path
/// that just died (paper §3.6). Datagrams are handed to `handler` on the
/// socket's own thread with the sender's address and the index of the
/// interface they arrived on (IP_PKTINFO), so the receiver can refuse what
/// did not come over a private link before reading a byte of it.
public final class UDPSocket {
    public typealias Handler = (_ bytes: [UInt8], _ from: IPv4Address, _ ifindex: Int32) -> Void
    public let port: UInt16
    private let handler: Handler
    /// The receiving thread's nice value: above 0 it yields the CPU to the
    /// control queue, so a flood that must be read still waits behind a fault.
    private let receiverNice: Int32
    /// SOCK_DGRAM, spelled as its value (see UnixSocketServer.streamType).
    static let datagramType: Int32 = 2

    /// Guards `fd` and `stopped` between the receiving thread, `send` (the
    /// control queue) and `stop()`. The socket's owner is the receiving thread,
    /// the only one that closes it, and it does so under the lock, so neither
    /// it nor `send` ever uses a number that was closed and reused meanwhile.
    private let lock = Lock()
    private var fd: Int32 = -1
    private var stopped = false
    private var receiver: SystemThread?

    public init(port: UInt16, receiverNice: Int32 = 0, handler: @escaping Handler) {
        self.port = port
        self.receiverNice = receiverNice
        self.handler = handler
    }

    public func start() throws {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = 0
        let fd: Int32
        do {
            fd = try Socket.open(AF_INET, Self.datagramType) { fd throws(SystemCallError) in
                var one: Int32 = 1
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
                guard hanet_shim_enable_pktinfo(fd) == 0 else { throw SystemCallError.current("setsockopt IP_PKTINFO") }
                try Socket.bind(fd, addr)
            }
        } catch {
            throw HANetError(.io, "PTA socket on UDP port \(port)", error)
        }
        let nice = receiverNice
        lock.withLock {
            self.fd = fd
            receiver = SystemThread.start(name: "hanet-pta") { [weak self] in
                if nice != 0 { _ = hanet_shim_set_thread_nice(nice) }
                self?.receiveLoop(fd)
            }
        }
    }

    /// True until the receiving thread has closed the socket after `stop()`.
    var isOpen: Bool { lock.withLock { fd >= 0 } }

    /// Stops receiving: a `send` from now on fails, and the receiving thread
    /// wakes (the socket is shut down), hands over nothing more and closes it.
    public func stop() {
        lock.withLock {
            stopped = true
            if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    public func send(_ bytes: [UInt8], to address: IPv4Address, port: UInt16) throws {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = address.value.bigEndian
        do {
            // Under the lock: the descriptor cannot be closed while the datagram goes (a sendto does not wait for a peer).
            try lock.withLock { () throws(SystemCallError) in
                guard fd >= 0, !stopped else { throw SystemCallError("sendto", .badFileDescriptor) }
                let n = try retryingInterrupts("sendto") {
                    bytes.withUnsafeBytes { buf in
                        withUnsafePointer(to: &addr) {
                            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                                sendto(fd, buf.baseAddress, buf.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                            }
                        }
                    }
                }
                // A datagram goes whole or not at all; a short count would be a kernel bug, reported as EMSGSIZE.
                guard n == bytes.count else { throw SystemCallError("sendto", .messageTooLong) }
            }
        } catch {
            throw HANetError(.io, "PTA: send to \(address):\(port)", error)
        }
    }

    /// On the receiving thread: hands over datagrams until `stop()`, then closes the socket.
    private func receiveLoop(_ fd: Int32) {
        defer {
            lock.withLock {
                assert(receiver?.isCurrent != false, "the PTA socket is closed only by its receiving thread")
                close(fd)
                self.fd = -1
            }
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var from: UInt32 = 0, fromPort: UInt16 = 0, ifindex: Int32 = 0
            let n = buffer.withUnsafeMutableBytes { b in
                try? retryingInterrupts("recvmsg") { hanet_shim_recv_pktinfo(fd, b.baseAddress, b.count, &from, &fromPort, &ifindex) }
            }
            // After a shutdown recvmsg returns 0 with no sender: not a datagram to hand over.
            guard let n, !lock.withLock({ stopped }) else { return }
            handler(Array(buffer[0..<n]), IPv4Address(from), ifindex)
        }
    }
}
