import Foundation
import Glibc
import XCTest
import HANetCore
@testable import HANetSystem

/// The control socket's limits, with a plain handler and no daemon: the
/// line limit, the client slots (eviction of the idlest, refusal when all
/// are busy), the idle timeout, stream slots, and what `onRefused` hears.
final class UnixSocketServerTests: XCTestCase {
    var dir = ""
    var server: UnixSocketServer?
    let lock = Lock()
    var refusals: [(RefusalReason, String, String)] = []

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "hanet-uss-\(UInt32.random(in: 0..<UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        server?.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    var path: String { "\(dir)/s.sock" }

    func start(_ limits: UnixSocketServer.Limits, stream: ((String) -> ((UnixSocketServer.StreamSink) -> Void)?)? = nil,
               handler: @escaping (String) -> String = { "echo \($0)" }) throws {
        let s = UnixSocketServer(path: path, limits: limits, handler: handler)
        s.streamHandler = stream
        s.onRefused = { [weak self] reason, source, detail in
            guard let self else { return }
            self.lock.withLock { self.refusals.append((reason, source, detail)) }
        }
        try s.start()
        server = s
    }

    func refused(_ reason: RefusalReason) -> [(RefusalReason, String, String)] {
        lock.withLock { refusals.filter { $0.0 == reason } }
    }

    /// A connected client that has sent `line` (nothing when empty).
    func connect(sending bytes: [UInt8] = []) throws -> Int32 {
        let fd = socket(AF_UNIX, UnixSocketServer.streamType, 0)
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = try UnixSocketServer.address(path)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(rc, 0, String(cString: strerror(errno)))
        if !bytes.isEmpty { try? sendAll(fd, bytes) }
        return fd
    }

    /// Everything the server sends until it closes (or 5 s pass).
    func readToEnd(_ fd: Int32) -> String {
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    func testALineOverTheLimitGetsOneErrorAndTheConnectionCloses() throws {
        try start(.init(maxLineBytes: 1024))
        let fits = try connect(sending: Array(repeating: UInt8(ascii: "a"), count: 1024) + [10])
        defer { close(fits) }
        shutdown(fits, Int32(SHUT_WR))
        XCTAssertEqual(readToEnd(fits), "echo " + String(repeating: "a", count: 1024) + "\n")

        // Megabytes without a newline: one error line, then the end, long before all is sent.
        let c = try connect()
        defer { close(c) }
        let sent = (try? sendAll(c, Array(repeating: UInt8(ascii: "x"), count: 4 << 20))) != nil
        XCTAssertFalse(sent, "the server read 4 MiB of one line")
        XCTAssertEqual(readToEnd(c), #"{"code":"usage","error":"request line longer than 1024 bytes","ok":false}"# + "\n")
        // A line over the limit that arrives with its newline in one piece is refused too.
        let whole = try connect(sending: Array(repeating: UInt8(ascii: "y"), count: 2000) + [10])
        defer { close(whole) }
        XCTAssertEqual(readToEnd(whole), #"{"code":"usage","error":"request line longer than 1024 bytes","ok":false}"# + "\n")
        let r = refused(.controlLineTooLong)
        XCTAssertEqual(r.count, 2)
        XCTAssertEqual(r.first?.1, "pid \(getpid())")
        XCTAssertTrue(r.first?.2.contains("longer than 1024 bytes") ?? false, "\(r)")
    }

    func testWhenAllSlotsAreTakenTheIdlestClientMakesRoom() throws {
        try start(.init(maxClients: 2))
        let idle1 = try connect(), idle2 = try connect(sending: Array("{\"comm".utf8))
        defer { close(idle1); close(idle2) }
        let c = try connect(sending: Array("{\"command\":\"ping\"}\n".utf8))
        defer { close(c) }
        shutdown(c, Int32(SHUT_WR))
        XCTAssertEqual(readToEnd(c), "echo {\"command\":\"ping\"}\n")
        // The first idle client, waiting longest, was closed to make room; the second keeps its slot.
        XCTAssertEqual(readToEnd(idle1), "")
        var p = pollfd(fd: idle2, events: Int16(POLLIN), revents: 0)
        XCTAssertEqual(poll(&p, 1, 100), 0, "the second idle client was closed too")
        // Reported on the accept thread after the evicted connection is shut down: wait for it.
        XCTAssertTrue(waitFor(5) { !refused(.controlTooManyClients).isEmpty })
        let r = refused(.controlTooManyClients)
        XCTAssertEqual(r.count, 1, "\(r)")
        XCTAssertTrue(r.first?.2.contains("all 2 client slots taken; closed the connection of pid \(getpid())") ?? false, "\(r)")
    }

    func testWhenEverySlotIsAnsweringANewcomerIsRefusedAtOnce() throws {
        let gate = Condition()
        var entered = false, open = false
        try start(.init(maxClients: 1)) { line in
            gate.lock()
            entered = true
            gate.broadcast()
            while !open { gate.wait() }
            gate.unlock()
            return "done \(line)"
        }
        let busy = try connect(sending: Array("{\"command\":\"slow\"}\n".utf8))
        defer { close(busy) }
        gate.lock()
        while !entered { XCTAssertTrue(gate.wait(timeout: 5)) }
        gate.unlock()
        let c = try connect()
        defer { close(c) }
        XCTAssertEqual(readToEnd(c), #"{"code":"state","error":"all 1 control clients are being answered; try again","ok":false}"# + "\n")
        gate.lock(); open = true; gate.broadcast(); gate.unlock()
        shutdown(busy, Int32(SHUT_WR))
        XCTAssertEqual(readToEnd(busy), "done {\"command\":\"slow\"}\n")
        // Reported on the accept thread just after the refused connection is closed: wait for it.
        XCTAssertTrue(waitFor(5) { refused(.controlTooManyClients).contains { $0.2.contains("all 1 client slots are answering requests") } },
                      "\(refused(.controlTooManyClients))")
    }

    func testAClientThatSendsNoLineIsClosedAfterTheIdleTimeout() throws {
        try start(.init(idleTimeoutMillis: 200))
        let c = try connect(sending: Array("{\"command\"".utf8))
        defer { close(c) }
        let t0 = Date()
        XCTAssertEqual(readToEnd(c), "")
        XCTAssertLessThan(Date().timeIntervalSince(t0), 3, "closed by the idle timeout, not the test's 5 s")
    }

    func testALineThatIsNotARequestIsReportedAndStillAnswered() throws {
        try start(.init())
        let c = try connect(sending: Array("hello\n".utf8))
        defer { close(c) }
        shutdown(c, Int32(SHUT_WR))
        XCTAssertEqual(readToEnd(c), "echo hello\n")
        XCTAssertEqual(refused(.controlBadRequest).count, 1)
        XCTAssertTrue(refused(.controlBadRequest).first?.2.contains("a line of 5 bytes that is not a JSON request") ?? false)
    }

    func testStreamsHaveTheirOwnSlotsAndNoReceiveTimeout() throws {
        let ran = Lock()
        var runs = 0
        try start(.init(maxClients: 1, maxStreams: 1, idleTimeoutMillis: 200), stream: { line in
            guard line.contains("subscribe") else { return nil }
            return { sink in
                ran.withLock { runs += 1 }
                guard sink.write("subscribed") else { return }
                while sink.isOpen() { usleep(20_000) }
            }
        })
        let sub = try connect(sending: Array("{\"command\":\"subscribe\"}\n".utf8))
        defer { close(sub) }
        var b = [UInt8](repeating: 0, count: 64)
        XCTAssertEqual(read(sub, &b, b.count), 11)
        // Longer than the idle timeout: a stream is not cut for sending nothing.
        usleep(500_000)
        var p = pollfd(fd: sub, events: Int16(POLLIN), revents: 0)
        XCTAssertEqual(poll(&p, 1, 0), 0, "the stream was closed")
        // The stream left its request slot: a request is answered.
        let c = try connect(sending: Array("{\"command\":\"ping\"}\n".utf8))
        defer { close(c) }
        shutdown(c, Int32(SHUT_WR))
        XCTAssertEqual(readToEnd(c), "echo {\"command\":\"ping\"}\n")
        // A second stream is over the stream limit; its closure still ran (on a closed sink) to release what it holds.
        let second = try connect(sending: Array("{\"command\":\"subscribe\"}\n".utf8))
        defer { close(second) }
        XCTAssertEqual(readToEnd(second), #"{"code":"state","error":"all 1 stream slots are taken; try again","ok":false}"# + "\n")
        XCTAssertEqual(ran.withLock { runs }, 2)
    }

    /// Descriptors this process has open.
    static func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    /// `stop()` races the accept thread and a client that keeps connecting;
    /// a connected client is still answered, nobody new gets in, the listening
    /// socket is closed (by the accept thread) and the path can be served again at once.
    func testStopWhileClientsConnectAndOneIsConnected() throws {
        let before = Self.openDescriptors()
        for round in 0..<100 {
            // Slots enough that the hammering never evicts the held client as the idlest.
            try start(.init(maxClients: 100_000))
            let held = try connect(sending: Array("{\"command\":\"ping\"}\n".utf8))
            var answer = [UInt8](repeating: 0, count: 64)
            XCTAssertGreaterThan(read(held, &answer, answer.count), 0, "round \(round): the held client is answered")
            let hammering = Lock()
            var hammer = true
            var attempts = 0
            let path = self.path
            let done = Condition()
            var finished = false
            SystemThread.start(name: "sy-hammer") {
                while hammering.withLock({ hammer }) {
                    if let c = try? UnixSocketClient.connect(path: path, sending: "{\"command\":\"ping\"}", timeoutMillis: 1000) { close(c) }
                    hammering.withLock { attempts += 1 }
                }
                done.lock(); finished = true; done.signal(); done.unlock()
            }
            XCTAssertTrue(waitFor(5) { hammering.withLock { attempts > 0 } })
            server?.stop()
            hammering.withLock { hammer = false }
            let deadline = Condition.deadline(after: 5)
            done.lock()
            while !finished, done.wait(untilNanos: deadline) {}
            done.unlock()
            XCTAssertThrowsError(try UnixSocketClient.request(path: path, line: "{}", timeoutMillis: 200)) { e in
                XCTAssertEqual((e as? HANetError)?.code, .notFound, "round \(round): \(e)")
            }
            // Still connected: answered after the stop as before it.
            try sendAll(held, Array("{\"command\":\"ping\"}\n".utf8))
            XCTAssertEqual(String(decoding: answer.prefix { $0 != 10 }, as: UTF8.self), "echo {\"command\":\"ping\"}")
            XCTAssertGreaterThan(read(held, &answer, answer.count), 0, "round \(round): answered after stop")
            close(held)
            server = nil
        }
        // Every listening socket and client connection was closed by the threads that own them.
        XCTAssertTrue(waitFor(10) { Self.openDescriptors() <= before }, "descriptors: \(before) before, \(Self.openDescriptors()) after")
    }
}
