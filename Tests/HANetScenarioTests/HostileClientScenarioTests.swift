import Foundation
import Glibc
import XCTest
import HANetCore
import HANetDaemon
import HANetSystem

/// A running daemon against hostile local clients: a user who is not root,
/// megabyte request lines, a thousand connections at once, and slowloris
/// clients on the metrics endpoint. The daemon keeps answering, its memory,
/// threads and log stay bounded, and every refusal is counted.
final class HostileClientScenarioTests: XCTestCase {
    var net: ScenarioNetwork!

    override func tearDown() {
        net?.down()
    }

    var socket: String { net.socket("s1") }

    func startDaemon(metricsPort: Int? = nil) throws -> Int32 {
        net = try ScenarioNetwork()
        let cfg = try net.config("s1") { text in
            text + (metricsPort.map { "\n[metrics]\nlisten = \"127.0.0.1:\($0)\"\n" } ?? "")
        }
        try net.startDaemon("s1", config: cfg)
        return Int32(try net.status("s1").pid)
    }

    func refused(_ reason: RefusalReason) throws -> UInt64 {
        try XCTUnwrap(try net.status("s1").refused?[reason.rawValue], "status has no refused[\(reason.rawValue)]")
    }

    /// A field of /proc/PID/status, as a number (VmRSS in kB, Threads).
    /// The daemon's threads by name ("hanet-client: 40, ..."), for a failure message.
    static func threadNames(_ pid: Int32) -> String {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var count: [String: Int] = [:]
        for t in tasks {
            let name = (try? String(contentsOfFile: "/proc/\(pid)/task/\(t)/comm", encoding: .utf8)) ?? "?"
            count[name.trimmingCharacters(in: .whitespacesAndNewlines), default: 0] += 1
        }
        return count.sorted { $0.value > $1.value }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
    }

    static func procStatus(_ pid: Int32, _ field: String) throws -> Int {
        let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
              let n = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap({ Int($0) }) else {
            throw HANetError(.notFound, "no \(field) in /proc/\(pid)/status")
        }
        return n
    }

    var logLines: Int { net.errors("daemon-s1").split(separator: "\n").count }

    /// Seconds a `status` takes.
    func timedStatus() throws -> Double {
        let t0 = Date()
        _ = try net.status("s1")
        return Date().timeIntervalSince(t0)
    }

    /// A Python script in the work directory, run with the system's python3
    /// (the one `nobody` can run too).
    func script(_ name: String, _ text: String) throws -> String {
        let path = "\(net.work)/\(name).py"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: net.work)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        return "/usr/bin/python3 \(path)"
    }

    /// Connects as `nobody`, sends a status request and prints what came back.
    static let asNobody = """
    import socket, sys
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(sys.argv[1])
    except OSError as e:
        print("connect:", e.strerror); sys.exit(3)
    print("connected")
    try:
        s.sendall(b'{"command":"status"}\\n')
        print("answer=" + s.recv(65536).decode())
    except OSError as e:
        print("answer error:", e.strerror)
    """

    func testAUserWhoIsNotRootCannotUseTheControlSocket() throws {
        _ = try startDaemon()
        let run = "runuser -u nobody -- \(try script("nobody", Self.asNobody)) \(socket)"
        // Mode 0600 keeps the user out.
        let denied = try sh(run, check: false)
        XCTAssertEqual(denied.status, 3, denied.out)
        XCTAssertTrue(denied.out.contains("connect: Permission denied"), denied.out)
        XCTAssertNotNil(try net.status("s1").active)

        // With the mode opened up, SO_PEERCRED still refuses the user: no answer, a count, one log line.
        let before = try refused(.controlNotRoot)
        XCTAssertEqual(chmod(socket, 0o666), 0)
        let refusedRun = try sh(run, check: false)
        XCTAssertTrue(refusedRun.out.contains("connected"), refusedRun.out)
        XCTAssertFalse(refusedRun.out.contains("\"ok\""), "the daemon answered a user who is not root: \(refusedRun.out)")
        XCTAssertEqual(try refused(.controlNotRoot), before + 1)
        XCTAssertTrue(net.errors("daemon-s1").contains("refused uid 65534"), net.errors("daemon-s1"))
        XCTAssertNotNil(try net.status("s1").active, "root is still answered")
    }

    /// Clients that each send megabytes without a newline.
    static let longLines = """
    import socket, sys, threading
    answers = []
    def one():
        s = socket.socket(socket.AF_UNIX)
        s.connect(sys.argv[1])
        try:
            s.sendall(b"x" * (int(sys.argv[3]) << 20))
        except OSError:
            pass
        try:
            answers.append(s.recv(4096).decode())
        except OSError as e:
            answers.append("error: " + e.strerror)
        s.close()
    ts = [threading.Thread(target=one) for _ in range(int(sys.argv[2]))]
    for t in ts: t.start()
    for t in ts: t.join()
    for a in answers: print(repr(a))
    """

    /// Holds `argv[2]` connections open until the file `argv[3]` exists.
    static let connectionFlood = """
    import os, resource, socket, sys, time
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held = []
    for _ in range(int(sys.argv[2])):
        s = socket.socket(socket.AF_UNIX)
        s.connect(sys.argv[1])
        held.append(s)
    print("held", len(held), flush=True)
    end = time.time() + 60
    while not os.path.exists(sys.argv[3]) and time.time() < end:
        time.sleep(0.05)
    for s in held: s.close()
    print("closed", flush=True)
    """

    func testFloodsOfLongLinesAndConnectionsLeaveTheDaemonAnswering() throws {
        let pid = try startDaemon()
        _ = try net.status("s1")
        let rss0 = try Self.procStatus(pid, "VmRSS"), threads0 = try Self.procStatus(pid, "Threads"), log0 = logLines

        // 20 clients × 8 MiB without a newline: each gets the error, nothing is buffered beyond the limit.
        let long = try sh("\(try script("long", Self.longLines)) \(socket) 20 8")
        let answers = long.out.split(separator: "\n")
        XCTAssertEqual(answers.count, 20, long.out)
        for a in answers {
            XCTAssertEqual(a, #"'{"code":"usage","error":"request line longer than 65536 bytes","ok":false}\n'"#)
        }
        let statusAfterLong = try timedStatus()
        let rss1 = try Self.procStatus(pid, "VmRSS")
        XCTAssertEqual(try refused(.controlLineTooLong), 20)

        // 1000 connections at once, held: a status still gets through, and threads stay bounded.
        let release = "\(net.work)/release-flood"
        let flood = try net.spawn("s1", "flood", "\(try script("flood", Self.connectionFlood)) \(socket) 1000 \(release)")
        try waitUntil(60, "1000 connections held") { net.output("flood").contains("held 1000") || !flood.isRunning }
        XCTAssertTrue(net.output("flood").contains("held 1000"), net.errors("flood"))
        let statusDuringFlood = try timedStatus()
        XCTAssertLessThan(statusDuringFlood, 2, "status took \(statusDuringFlood) s while 1000 connections were held")
        let threadsDuringFlood = try Self.procStatus(pid, "Threads")
        XCTAssertLessThan(threadsDuringFlood, threads0 + UnixSocketServer.Limits().maxClients + 8,
                          "threads: \(threads0) before the flood, \(threadsDuringFlood) during it (\(Self.threadNames(pid)))")
        FileManager.default.createFile(atPath: release, contents: nil)
        try waitUntil(10, "the flood to let go") { !flood.isRunning }
        XCTAssertGreaterThanOrEqual(try refused(.controlTooManyClients), 900)
        let statusAfterFlood = try timedStatus()
        XCTAssertLessThan(statusAfterFlood, 1)
        let rss2 = try Self.procStatus(pid, "VmRSS")

        // The log says so in a bounded number of lines (rate-limited), not one per refusal.
        let logged = logLines - log0
        XCTAssertLessThan(logged, 80, net.errors("daemon-s1"))
        XCTAssertLessThan(rss1 - rss0, 6 * 1024, "VmRSS \(rss0) kB before 20 × 8 MiB lines, \(rss1) kB after")
        XCTAssertLessThan(rss2 - rss0, 8 * 1024, "VmRSS \(rss0) kB before the floods, \(rss2) kB after")
        print("control socket floods: VmRSS \(rss0) kB -> \(rss1) kB after 20 x 8 MiB lines -> \(rss2) kB after 1000 connections; "
              + "threads \(threads0) -> \(threadsDuringFlood) during; status \(UTCTimestamp.fixed(statusAfterLong * 1000, 1)) ms after the lines, "
              + "\(UTCTimestamp.fixed(statusDuringFlood * 1000, 1)) ms during the connection flood, \(UTCTimestamp.fixed(statusAfterFlood * 1000, 1)) ms after; "
              + "\(logged) log lines")
    }

    /// Slowloris against the metrics endpoint: `argv[2]` connections that send
    /// a request header a byte every 500 ms and `argv[2]` that send nothing,
    /// each reconnecting when closed, until the file `argv[3]` exists.
    static let slowloris = """
    import os, socket, sys, time
    port, n, stop = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    request = b"GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n" + b"X-a: b\\r\\n" * 1000
    def connect():
        # Non-blocking: a server that does not accept must not stall the script.
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        return s
    # [socket, bytes sent]; the first n drip the request, the others stay silent.
    clients = [[connect(), 0] for _ in range(2 * n)]
    print("started", flush=True)
    reconnects = 0
    while not os.path.exists(stop):
        for i, c in enumerate(clients):
            try:
                if i < n:
                    c[0].send(request[c[1]:c[1] + 1]); c[1] += 1
                elif c[0].recv(1) == b"":
                    raise OSError()
            except BlockingIOError:
                pass
            except OSError:
                c[0].close()
                c[0], c[1] = connect(), 0; reconnects += 1
        time.sleep(0.5)
    print("reconnects", reconnects, flush=True)
    """

    func testSlowlorisClientsDoNotStarveAScrape() throws {
        let port = 9477
        _ = try startDaemon(metricsPort: port)
        let stop = "\(net.work)/stop-slowloris"
        let loris = try net.spawn("s1", "slowloris", "\(try script("slowloris", Self.slowloris)) \(port) 50 \(stop)")
        try waitUntil(10, "the slowloris clients to connect") { net.output("slowloris").contains("started") || !loris.isRunning }
        XCTAssertTrue(loris.isRunning, net.errors("slowloris"))
        // Scrapes spread over several request timeouts, while the clients keep dripping and reconnecting.
        var scrapes: [Double] = []
        var statuses: [Double] = []
        var established: [Int] = []
        let end = Date().addingTimeInterval(Double(MetricsHTTPServer.requestTimeoutMillis) / 1000 * 3)
        while Date() < end {
            let r = try net.exec("s1", "curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 http://127.0.0.1:\(port)/metrics", check: false)
            let fields = r.out.split(separator: " ")
            XCTAssertEqual(fields.first, "200", r.out)
            scrapes.append(fields.count == 2 ? Double(fields[1]) ?? 99 : 99)
            statuses.append(try timedStatus())
            established.append(try net.exec("s1", "ss -Htn state established dport = :\(port)").out.split(separator: "\n").count)
            usleep(250_000)  // pacing, not waiting for anything
        }
        FileManager.default.createFile(atPath: stop, contents: nil)
        try waitUntil(5, "the slowloris clients to stop") { !loris.isRunning }
        XCTAssertTrue(net.output("slowloris").contains("reconnects"), net.output("slowloris") + net.errors("slowloris"))
        XCTAssertGreaterThanOrEqual(scrapes.count, 3)
        let worst = scrapes.max() ?? 99
        XCTAssertLessThan(worst, 1, "scrapes took \(scrapes) s under slowloris")
        XCTAssertLessThan(statuses.max() ?? 99, 1, "status took \(statuses) s under slowloris")
        // The server really held the slow clients (as many as it keeps open) while the scrapes ran.
        XCTAssertGreaterThanOrEqual(established.min() ?? 0, MetricsHTTPServer.maxConnections - 8,
                                    "slowloris connections established at each scrape: \(established)")
        print("metrics slowloris (50 dripping + 50 silent): \(scrapes.count) scrapes, slowest \(UTCTimestamp.fixed(worst * 1000, 1)) ms; "
              + "status slowest \(UTCTimestamp.fixed((statuses.max() ?? 0) * 1000, 1)) ms; \(net.output("slowloris").split(separator: "\n").last ?? "")")
    }
}
