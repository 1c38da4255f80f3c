import Foundation
import Glibc
import XCTest
import HANetCore
import HANetSystem

/// The supervisor's end of NOTIFY_SOCKET, for tests.
enum NotifyListener {
    static func bind(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, 2, 0)
        guard fd >= 0 else { throw HANetError(.io, "socket") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { close(fd); throw HANetError(.io, "bind \(path): \(String(cString: strerror(errno)))") }
        return fd
    }

    static func receive(_ fd: Int32, timeoutMillis: Int) -> String? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(timeoutMillis)) > 0 else { return nil }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buf, buf.count, 0)
        return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : nil
    }
}

final class SystemdNotifyTests: XCTestCase {
    /// A datagram socket standing in for systemd's notify socket.
    func testNotifySendsDatagramsToThePathAndWatchdogIntervalIsRead() throws {
        let path = NSTemporaryDirectory() + "hanet-notify-\(UInt32.random(in: 0..<UInt32.max)).sock"
        let fd = try NotifyListener.bind(path)
        defer { close(fd); unlink(path) }
        let n = SystemdNotify(environment: ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "300000"])
        XCTAssertEqual(n.watchdogMicros, 300000)
        XCTAssertNil(n.send("READY=1\nSTATUS=ok"))
        XCTAssertEqual(NotifyListener.receive(fd, timeoutMillis: 1000), "READY=1\nSTATUS=ok")
        XCTAssertNil(SystemdNotify(environment: ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1", "WATCHDOG_PID": "1"]).watchdogMicros,
                     "a watchdog meant for another process is not ours")
        XCTAssertFalse(SystemdNotify(environment: [:]).enabled)
        XCTAssertNil(SystemdNotify(environment: [:]).send("READY=1"), "no supervisor: a no-op")
    }
}
