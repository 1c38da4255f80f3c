import Foundation
@testable import HANetSystem
import SystemPackage
import XCTest

/// posix_spawn and the timed wait that replaced Foundation's Process (hooks),
/// and the pthread lock, condition and thread that replaced NSLock, NSCondition and Thread.
final class ChildProcessTests: XCTestCase {
    func testExitStatusArgumentsAndEnvironment() {
        XCTAssertEqual(ChildProcess.run("/bin/sh", arguments: ["-c", #"[ "$1" = x ] && [ "$HANET_T" = v ] && exit 7"#, "sh", "x"],
                                        environment: ["HANET_T": "v"], timeoutMillis: 5000), .exited(7))
        XCTAssertEqual(ChildProcess.run("/bin/sh", arguments: ["-c", "kill -KILL $$"], environment: [:], timeoutMillis: 5000),
                       .signalled(SIGKILL))
    }

    /// A hook gets standard input, output and error only: none of the daemon's sockets.
    func testNoOtherDescriptorReachesTheChild() throws {
        let out = NSTemporaryDirectory() + "hanet-fds-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let fd = open("/dev/null", O_RDONLY)  // no O_CLOEXEC, like libpcap's sockets
        XCTAssertGreaterThan(fd, 2)
        defer { close(fd) }
        XCTAssertEqual(ChildProcess.run("/bin/sh", arguments: ["-c", "if [ -e /proc/self/fd/\(fd) ]; then echo leaked; else echo closed; fi > \(out)"],
                                        environment: [:], timeoutMillis: 5000), .exited(0))
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "closed\n")
    }

    func testMissingProgramFailsToStart() {
        guard case .failed(let why) = ChildProcess.run("/nonexistent/hook", arguments: [], environment: [:], timeoutMillis: 100) else {
            return XCTFail("expected a failure to start")
        }
        XCTAssertEqual(why, SystemCallError("posix_spawn", .noSuchFileOrDirectory))
        XCTAssertEqual("\(why)", "posix_spawn: " + String(cString: strerror(ENOENT)), "what a hook's failure reads as")
    }

    func testTimeoutTermsThenKills() {
        let start = Date()
        // A SIGTERM the daemon ignores must not stay ignored in the child: plain sleep ends on it.
        XCTAssertEqual(ChildProcess.run("/bin/sleep", arguments: ["10"], environment: [:], timeoutMillis: 100), .timedOut)
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.5, "SIGTERM ended it, no grace period needed")
        XCTAssertEqual(ChildProcess.run("/bin/sh", arguments: ["-c", "trap '' TERM; while :; do sleep 0.05; done"],
                                        environment: [:], timeoutMillis: 100, graceMillis: 200), .timedOut)
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
    }

    func testConditionTimesOutAndWakes() {
        let c = Condition()
        c.lock()
        let t0 = Condition.nowNanos()
        XCTAssertFalse(c.wait(timeout: 0.05))
        XCTAssertGreaterThanOrEqual(Condition.nowNanos() - t0, 50_000_000)
        c.unlock()

        var done = false
        let thread = SystemThread.start(name: "hanet-test") {
            c.lock(); done = true; c.signal(); c.unlock()
        }
        c.lock()
        while !done { XCTAssertTrue(c.wait(timeout: 5), "the thread signals") }
        c.unlock()
        XCTAssertFalse(thread.isCurrent)
    }

    func testThreadKnowsItselfAndHasItsName() {
        let c = Condition()
        var seen: (current: Bool, name: String)?
        var thread: SystemThread?
        c.lock()
        thread = SystemThread.start(name: "hanet-a-very-long-thread-name") {
            c.lock()
            while thread == nil { c.wait() }
            let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
            seen = (thread!.isCurrent, name.trimmingCharacters(in: .whitespacesAndNewlines))
            c.signal()
            c.unlock()
        }
        c.signal()
        while seen == nil { XCTAssertTrue(c.wait(timeout: 5)) }
        c.unlock()
        XCTAssertEqual(seen?.current, true)
        XCTAssertEqual(seen?.name, "hanet-a-very-lo", "the kernel keeps 15 bytes")
    }
}
