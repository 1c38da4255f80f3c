import Glibc
import HANetCore
@testable import HANetSystem
import SystemPackage
import XCTest

/// The write-all and EINTR loops against scripted system calls: no kernel, no root.
final class SystemCallTests: XCTestCase {
    /// A script of results for `send`/`write`: a positive count takes at most
    /// that many bytes, a negative one fails with that errno. Records what each call was offered.
    final class Script: @unchecked Sendable {
        let lock = Lock()
        var steps: [Int]
        var offered: [Int] = []
        var written: [UInt8] = []
        var polls = 0
        var now: UInt64 = 1_000_000_000
        /// How far each poll moves the clock (a poll that waits).
        var pollAdvancesNanos: UInt64 = 0

        init(_ steps: [Int]) { self.steps = steps }

        func take(_ p: UnsafeRawPointer?, _ count: Int) -> Int {
            lock.withLock {
                offered.append(count)
                let step = steps.isEmpty ? count : steps.removeFirst()
                if step < 0 {
                    Glibc.errno = Int32(-step)
                    return -1
                }
                let n = min(step, count)
                written += UnsafeRawBufferPointer(start: p, count: n)
                return n
            }
        }

        var calls: SystemCalls {
            SystemCalls(send: { _, p, n, _ in self.take(p, n) },
                        write: { _, p, n in self.take(p, n) },
                        read: { _, _, _ in XCTFail("no read expected"); return -1 },
                        poll: { _, _, _ in
                            self.lock.withLock {
                                self.polls += 1
                                self.now += self.pollAdvancesNanos
                            }
                            return 1
                        },
                        nowNanos: { self.lock.withLock { self.now } })
        }
    }

    let payload = Array("0123456789abcdefghij".utf8)

    func send(_ s: Script, deadline: UInt64? = nil) throws(SystemCallError) {
        try payload.withUnsafeBytes { b in
            Result { () throws(SystemCallError) in try s.calls.sendAll(3, b, deadlineNanos: deadline) }
        }.get()
    }

    func testShortWritesContinueWhereTheyStopped() throws {
        let s = Script([7, 1, 5])
        try send(s)
        XCTAssertEqual(s.written, payload)
        XCTAssertEqual(s.offered, [20, 13, 12, 7], "each call is offered what is left")
    }

    func testEINTRIsRetriedWithoutLosingBytes() throws {
        let s = Script([-Int(EINTR), 4, -Int(EINTR), -Int(EINTR), 100])
        try send(s)
        XCTAssertEqual(s.written, payload)
        XCTAssertEqual(s.offered, [20, 20, 16, 16, 16])
    }

    func testEAGAINWithoutADeadlineFailsAtOnceNamingTheCall() {
        let s = Script([5, -Int(EAGAIN)])
        XCTAssertThrowsError(try send(s)) { e in
            XCTAssertEqual(e as? SystemCallError, SystemCallError("send", .wouldBlock))
            XCTAssertEqual("\(e)", "send: " + String(cString: strerror(EAGAIN)))
        }
        XCTAssertEqual(s.polls, 0)
        XCTAssertEqual(s.written.count, 5)
    }

    func testEAGAINWithADeadlineWaitsForPOLLOUTAndGoesOn() throws {
        let s = Script([3, -Int(EAGAIN), -Int(EAGAIN), 100])
        try send(s, deadline: s.now + 1_000_000_000)
        XCTAssertEqual(s.written, payload)
        XCTAssertEqual(s.polls, 2)
    }

    func testEAGAINPastTheDeadlineFailsWithEAGAIN() {
        let s = Script(Array(repeating: -Int(EAGAIN), count: 100))
        s.pollAdvancesNanos = 300_000_000
        XCTAssertThrowsError(try send(s, deadline: s.now + 1_000_000_000)) { e in
            XCTAssertEqual((e as? SystemCallError)?.errno, .wouldBlock)
        }
        XCTAssertEqual(s.polls, 4, "polls until the deadline, then gives up")
    }

    func testOtherErrorsStopTheLoopWithTheirErrno() {
        let s = Script([2, -Int(EPIPE), 100])
        XCTAssertThrowsError(try send(s)) { e in
            XCTAssertEqual(e as? SystemCallError, SystemCallError("send", .brokenPipe))
        }
        XCTAssertEqual(s.offered, [20, 18])
    }

    func testAZeroCountIsAFailureNotASpin() {
        let s = Script([0, 100])
        XCTAssertThrowsError(try payload.withUnsafeBytes { b in try s.calls.writeAll(1, b) }) { e in
            XCTAssertEqual(e as? SystemCallError, SystemCallError("write", .ioError))
        }
        XCTAssertEqual(s.offered, [20])
    }

    func testRetryingInterruptsRetriesOnlyEINTR() {
        var results: [(Int, Int32)] = [(-1, EINTR), (-1, EINTR), (42, 0)]
        var calls = 0
        XCTAssertEqual(try retryingInterrupts("accept") { () -> Int in
            calls += 1
            let (r, e) = results.removeFirst()
            Glibc.errno = e
            return r
        }, 42)
        XCTAssertEqual(calls, 3)

        results = [(-1, EBADF), (7, 0)]
        XCTAssertThrowsError(try retryingInterrupts("accept") { () -> Int32 in
            let (r, e) = results.removeFirst()
            Glibc.errno = e
            return Int32(r)
        }) { e in
            XCTAssertEqual(e as? SystemCallError, SystemCallError("accept", .badFileDescriptor))
        }
        XCTAssertEqual(results.count, 1, "EBADF is not retried")
    }

    func testErrorTextIsTheCallAndTheCLibrarysReason() {
        XCTAssertEqual(SystemCallError("bind", code: EADDRINUSE).description, "bind: " + String(cString: strerror(EADDRINUSE)))
        XCTAssertEqual(SystemCallError("nl_connect", code: -ENOENT).errno, .noSuchFileOrDirectory, "a negated errno counts as the errno")
        let e = HANetError(.io, "control socket /x", SystemCallError("listen", .addressInUse))
        XCTAssertEqual(e.message, "control socket /x: listen: " + String(cString: strerror(EADDRINUSE)))
        XCTAssertEqual(e.errno, EADDRINUSE, "the errno travels with the error past HANetSystem")
    }

    /// A real bind to an address this host does not have: the caller can
    /// decide on EADDRNOTAVAIL without reading the text.
    func testABindThatFailsCarriesItsErrnoOnTheHANetError() throws {
        let server = MetricsHTTPServer(address: IPv4Address("203.0.113.77")!, port: 9477) { "" }
        XCTAssertThrowsError(try server.start()) { e in
            XCTAssertEqual((e as? HANetError)?.errno, EADDRNOTAVAIL, "\(e)")
        }
    }

    /// The live calls on real socket pairs whose send buffer is small: EAGAIN
    /// without a deadline; with one, waits for the reader and delivers every byte.
    func testLiveSendAllOnANonBlockingSocket() throws {
        func pair() -> (Int32, Int32) {
            var fds: [Int32] = [0, 0]
            XCTAssertEqual(socketpair(AF_UNIX, UnixSocketServer.streamType, 0, &fds), 0)
            _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
            var small: Int32 = 4096
            setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            return (fds[0], fds[1])
        }
        let big = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }

        let (a, b) = pair()
        defer { close(a); close(b) }
        XCTAssertThrowsError(try sendAll(a, big)) { e in
            XCTAssertEqual((e as? SystemCallError)?.errno, .wouldBlock, "a full buffer and no deadline")
        }

        let (w, r) = pair()
        defer { close(w); close(r) }
        let done = Condition()
        var received: [UInt8] = []
        var finished = false
        SystemThread.start(name: "sy-drain") {
            var chunk = [UInt8](repeating: 0, count: 65536)
            var got: [UInt8] = []
            while let n = try? SystemCalls.live.readSome(r, into: &chunk), n > 0 { got += chunk[0..<n] }
            done.lock(); received = got; finished = true; done.signal(); done.unlock()
        }
        try sendAll(w, big, deadlineNanos: Condition.deadline(after: 10))
        shutdown(w, Int32(SHUT_WR))
        let deadline = Condition.deadline(after: 10)
        done.lock()
        while !finished, done.wait(untilNanos: deadline) {}
        let all = received
        done.unlock()
        XCTAssertEqual(all.count, big.count)
        XCTAssertTrue(all == big, "bytes arrive whole and in order")
    }
}
