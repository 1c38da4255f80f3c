import FoundationEssentials
import Glibc
import HANetCore
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
    private var fd: Int32 = -1
    private let handler: Handler
    /// The receiving thread's nice value: above 0 it yields the CPU to the
    /// control queue, so a flood that must be read still waits behind a fault.
    private let receiverNice: Int32
    private var stopped = false
    /// SOCK_DGRAM, spelled as its value (see UnixSocketServer.streamType).
    static let datagramType: Int32 = 2

    public init(port: UInt16, receiverNice: Int32 = 0, handler: @escaping Handler) {
        self.port = port
        self.receiverNice = receiverNice
        self.handler = handler
    }

    public func start() throws {
        fd = socket(AF_INET, Self.datagramType, 0)
        guard fd >= 0 else { throw HANetError(.io, "PTA socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard hanet_shim_enable_pktinfo(fd) == 0 else {
            let e = String(cString: strerror(errno)); close(fd); fd = -1
            throw HANetError(.io, "PTA socket: IP_PKTINFO: \(e)")
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = 0
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = String(cString: strerror(errno)); close(fd); fd = -1
            throw HANetError(.io, "PTA socket: bind UDP port \(port): \(e)")
        }
        let nice = receiverNice
        SystemThread.start(name: "hanet-pta") { [weak self] in
            if nice != 0 { _ = hanet_shim_set_thread_nice(nice) }
            self?.receiveLoop()
        }
    }

    public func stop() {
        stopped = true
        if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)); close(fd); fd = -1 }
    }

    public func send(_ bytes: [UInt8], to address: IPv4Address, port: UInt16) throws {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = address.value.bigEndian
        let n = bytes.withUnsafeBytes { buf in
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buf.baseAddress, buf.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard n == bytes.count else {
            throw HANetError(.io, "PTA: send to \(address):\(port): \(String(cString: strerror(errno)))")
        }
    }

    private func receiveLoop() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !stopped {
            var from: UInt32 = 0, fromPort: UInt16 = 0, ifindex: Int32 = 0
            let n = buffer.withUnsafeMutableBytes { hanet_shim_recv_pktinfo(fd, $0.baseAddress, $0.count, &from, &fromPort, &ifindex) }
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            handler(Array(buffer[0..<n]), IPv4Address(from), ifindex)
        }
    }
}
