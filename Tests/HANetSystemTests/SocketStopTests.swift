import Foundation
import Glibc
import HANetCore
@testable import HANetSystem
import XCTest

/// `stop()` on the metrics server and the PTA socket while their threads are
/// in a call on the socket: the owner thread closes it, nothing is handed over
/// after the stop, and a TCP port can be bound again at once. On 127.0.0.1, no root.
final class SocketStopTests: XCTestCase {
    /// A TCP connection to 127.0.0.1:`port`.
    func connect(_ port: UInt16) throws -> Int32 {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = IPv4Address("127.0.0.1")!.value.bigEndian
        return try Socket.open(AF_INET, MetricsHTTPServer.streamType) { fd throws(SystemCallError) in
            var tv = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            try Socket.connect(fd, addr)
        }
    }

    func readToEnd(_ fd: Int32) -> String {
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while let n = try? SystemCalls.live.readSome(fd, into: &chunk), n > 0 { out += chunk[0..<n] }
        return String(decoding: out, as: UTF8.self)
    }

    func testMetricsStopWithAClientConnectedThenStartAgainOnTheSamePort() throws {
        let before = UnixSocketServerTests.openDescriptors()
        var port: UInt16 = 0
        for round in 0..<50 {
            let server = MetricsHTTPServer(address: IPv4Address("127.0.0.1")!, port: port) { "up 1\n" }
            // The port of the server stopped a moment ago: bound again at once.
            XCTAssertNoThrow(try server.start(), "round \(round)")
            port = server.port
            let idle = try connect(port)
            let asking = try connect(port)
            try sendAll(asking, Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            XCTAssertTrue(readToEnd(asking).hasSuffix("\r\n\r\nup 1\n"), "round \(round)")
            close(asking)
            server.stop()
            // The idle client's connection is closed by the server's thread as it ends.
            XCTAssertEqual(readToEnd(idle), "", "round \(round)")
            close(idle)
        }
        XCTAssertTrue(waitFor(10) { UnixSocketServerTests.openDescriptors() <= before },
                      "descriptors: \(before) before, \(UnixSocketServerTests.openDescriptors()) after")
    }

    func testMetricsBindFailureNamesTheAddressTheCallAndTheReason() throws {
        let first = MetricsHTTPServer(address: IPv4Address("127.0.0.1")!, port: 0) { "" }
        try first.start()
        defer { first.stop() }
        let second = MetricsHTTPServer(address: IPv4Address("127.0.0.1")!, port: first.port) { "" }
        XCTAssertThrowsError(try second.start()) { e in
            XCTAssertEqual(e as? HANetError, HANetError(.io, "metrics on 127.0.0.1:\(first.port): bind: " + String(cString: strerror(EADDRINUSE)),
                                                       errno: EADDRINUSE))
        }
    }

    /// A free UDP port on all addresses (the PTA socket binds 0.0.0.0).
    func freeUDPPort() throws -> UInt16 {
        let fd = try Socket.open(AF_INET, UDPSocket.datagramType) { fd throws(SystemCallError) in
            try Socket.bind(fd, sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: 0, sin_addr: in_addr(s_addr: 0), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0)))
        }
        defer { close(fd) }
        var a = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return UInt16(bigEndian: a.sin_port)
    }

    func testPTASocketStopWhileDatagramsArriveHandsOverNothingAfterAndClosesIt() throws {
        let port = try freeUDPPort()
        let seen = Lock()
        var datagrams: [[UInt8]] = []
        for round in 0..<50 {
            let sock = UDPSocket(port: port) { bytes, _, _ in seen.withLock { datagrams.append(bytes) } }
            XCTAssertNoThrow(try sock.start(), "round \(round)")
            try sock.send(Array("hello".utf8), to: IPv4Address("127.0.0.1")!, port: port)
            XCTAssertTrue(waitFor(5) { seen.withLock { datagrams.count } > round }, "round \(round): the datagram arrived")
            sock.stop()
            XCTAssertThrowsError(try sock.send([1], to: IPv4Address("127.0.0.1")!, port: port)) { e in
                XCTAssertTrue((e as? HANetError)?.message.hasPrefix("PTA: send to 127.0.0.1:\(port): sendto: ") ?? false, "\(e)")
            }
            XCTAssertTrue(waitFor(5) { !sock.isOpen }, "round \(round): the receiving thread closed the socket")
        }
        // Only what was sent was handed over: no empty datagram from the shutdown.
        XCTAssertEqual(seen.withLock { datagrams }, Array(repeating: Array("hello".utf8), count: 50))
    }
}
