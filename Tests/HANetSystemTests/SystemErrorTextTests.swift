import Foundation
import Glibc
import HANetCore
@testable import HANetSystem
import XCTest

/// What a person reads when a system call fails: the context, the call where
/// it helps, and the C library's text; the code chosen from the errno value.
final class SystemErrorTextTests: XCTestCase {
    let reason = { (e: Int32) in String(cString: strerror(e)) }
    let missing = "/nonexistent-sy-\(UInt32.random(in: 0..<UInt32.max))"

    func testNoDaemonAtAPathWithoutASocket() {
        XCTAssertThrowsError(try UnixSocketClient.request(path: missing + "/hanet.sock", line: "{}")) { e in
            XCTAssertEqual(e as? HANetError, HANetError(.notFound, "no daemon at \(missing)/hanet.sock: \(reason(ENOENT))"))
        }
    }

    func testAMissingFileIsNotFoundByItsErrno() {
        XCTAssertThrowsError(try DynamicLibrary.status(of: missing)) { e in
            XCTAssertEqual(e as? HANetError, HANetError(.notFound, "\(missing): \(reason(ENOENT))"))
        }
        XCTAssertEqual(DynamicLibrary.trustProblem(missing, expect: .regular), "\(missing): \(reason(ENOENT))")
    }

    func testAMissingNamespaceIsNotFound() {
        let name = "sy-missing-\(UInt32.random(in: 0..<UInt32.max))"
        XCTAssertThrowsError(try NetworkNamespace.run(name) {}) { e in
            XCTAssertEqual(e as? HANetError,
                           HANetError(.notFound, "enter network namespace \(name): open \(NetworkNamespace.directory)/\(name): \(reason(ENOENT))"))
        }
    }

    func testSysctlErrorsSayWhichKeyAndWhy() throws {
        let root = NSTemporaryDirectory() + "sy-sysctl-\(UInt32.random(in: 0..<UInt32.max))"
        try FileManager.default.createDirectory(atPath: root + "/net/ipv4", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let s = ProcSysctl(root: root)
        XCTAssertThrowsError(try s.read("net/ipv4/nosuch")) { e in
            XCTAssertEqual((e as? HANetError)?.code, .notFound)
            XCTAssertEqual((e as? HANetError)?.message, "sysctl net/ipv4/nosuch: no such key (\(root)/net/ipv4/nosuch does not exist; is the interface or module there?)")
        }
        // A directory where a key is expected: the read fails with EISDIR, named with the call and the file.
        XCTAssertThrowsError(try s.read("net/ipv4")) { e in
            XCTAssertEqual(e as? HANetError, HANetError(.kernel, "sysctl net/ipv4: read \(root)/net/ipv4: \(reason(EISDIR))"))
        }
        try "0\n".write(toFile: root + "/net/ipv4/ip_forward", atomically: true, encoding: .utf8)
        try s.write("net/ipv4/ip_forward", "1")
        XCTAssertEqual(try s.read("net/ipv4/ip_forward"), "1")
    }

    func testNotifyToASocketThatIsGone() {
        let n = SystemdNotify(environment: ["NOTIFY_SOCKET": missing + "/notify"])
        XCTAssertEqual(n.send("READY=1"), HANetError(.io, "NOTIFY_SOCKET \(missing)/notify: sendto: \(reason(ENOENT))", errno: ENOENT))
    }
}
