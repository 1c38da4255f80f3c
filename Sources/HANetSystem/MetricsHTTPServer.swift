import FoundationEssentials
import Glibc
import HANetCore
import struct SystemPackage.Errno

/// The smallest HTTP/1.1 server a Prometheus scrape needs: GET one path,
/// get one text body, connection closed.
///
/// One thread polls the listener and every open connection, so no client
/// waits behind another. A connection gets `requestTimeoutMillis` in all
/// (not per read: a byte every 500 ms would defeat that) to send its request
/// headers and as long again to take its answer; at most `maxConnections`
/// are open, and a newcomer beyond that replaces the oldest. So slow or
/// silent clients (slowloris) cannot delay a scrape by their slowness: it is
/// answered as soon as its request is in, after at most the answers already
/// being written. The daemon's control queue is never involved.
public final class MetricsHTTPServer {
    static let streamType: Int32 = 1
    /// SOCK_CLOEXEC / O_CLOEXEC and O_NONBLOCK, spelled as values (see UnixSocketServer.streamType).
    static let closeOnExec: Int32 = 0o2000000
    static let nonBlocking: Int32 = 0o4000
    public static let requestTimeoutMillis = 2000
    public static let maxConnections = 64
    static let maxRequestBytes = 16384

    public let address: IPv4Address
    public private(set) var port: UInt16
    public let path: String
    private let body: () -> String

    /// Guards the listener between the server's thread and `stop()`.
    private let lock = Lock()
    /// The listening socket, owned by the server's thread, the only one that
    /// closes it (as UnixSocketServer's): `stop()` shuts it down, which wakes
    /// the poll. Shut down, it listens no more, so a server started again on
    /// the same port binds at once (SO_REUSEADDR).
    private var fd: Int32 = -1
    private var stopped = false
    private var thread: SystemThread?

    /// An open connection and what it has sent so far.
    private struct Connection {
        let fd: Int32
        let deadline: UInt64
        var request: [UInt8] = []
    }

    /// `body` is called on the server's thread for every GET of `path`.
    public init(address: IPv4Address, port: UInt16, path: String = "/metrics", body: @escaping () -> String) {
        self.address = address
        self.port = port
        self.path = path
        self.body = body
    }

    /// Binds and listens; port 0 picks a free port (read `port` afterwards).
    public func start() throws {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = address.value.bigEndian
        let fd: Int32
        do {
            fd = try Socket.open(AF_INET, Self.streamType | Self.closeOnExec | Self.nonBlocking) { fd throws(SystemCallError) in
                var one: Int32 = 1
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
                try Socket.bind(fd, addr)
                try Socket.listen(fd, backlog: 128)
            }
        } catch {
            throw HANetError(.io, "metrics on \(address):\(port)", error)
        }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        port = UInt16(bigEndian: bound.sin_port)
        lock.withLock {
            self.fd = fd
            thread = SystemThread.start(name: "hanet-metrics") { [weak self] in self?.pollLoop() }
        }
    }

    /// Stops listening now; the thread closes the socket and any open
    /// connection as it wakes (at once).
    public func stop() {
        lock.withLock {
            stopped = true
            if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    private func pollLoop() {
        var open: [Connection] = []
        defer {
            for c in open { close(c.fd) }
            lock.withLock {
                assert(thread?.isCurrent != false, "the listening socket is closed only by its thread")
                if fd >= 0 { close(fd); fd = -1 }
            }
        }
        var chunk = [UInt8](repeating: 0, count: 2048)
        while true {
            let listener = lock.withLock { stopped ? -1 : fd }
            guard listener >= 0 else { return }
            let now = Condition.nowNanos()
            open.removeAll { c in
                if c.deadline > now { return false }
                close(c.fd)
                return true
            }
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
                + open.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            // Wake for the next deadline, and at least once a second to see `stop()`.
            let wait = open.map { Int32(min(($0.deadline &- now) / 1_000_000 + 1, 1000)) }.min() ?? 1000
            guard (try? retryingInterrupts("poll", { poll(&fds, nfds_t(fds.count), wait) })) != nil else { return }
            for i in open.indices.reversed() where fds[i + 1].revents != 0 {
                if readRequest(&open[i], &chunk) {
                    close(open[i].fd)
                    open.remove(at: i)
                }
            }
            if fds[0].revents & Int16(POLLIN) != 0 { acceptAll(listener, into: &open) }
        }
    }

    /// Takes every pending connection; beyond `maxConnections` the oldest goes.
    private func acceptAll(_ listener: Int32, into open: inout [Connection]) {
        while true {
            let c = accept(listener, nil, nil)
            guard c >= 0 else { return }
            _ = fcntl(c, F_SETFD, FD_CLOEXEC)
            _ = fcntl(c, F_SETFL, fcntl(c, F_GETFL) | Self.nonBlocking)
            if open.count >= Self.maxConnections {
                close(open[0].fd)
                open.removeFirst()
            }
            let deadline = Condition.nowNanos() + UInt64(Self.requestTimeoutMillis) * 1_000_000
            open.append(Connection(fd: c, deadline: deadline))
        }
    }

    /// Reads what `c` has sent and answers once its headers are in; true
    /// when the connection is done with (answered, or gone).
    private func readRequest(_ c: inout Connection, _ chunk: inout [UInt8]) -> Bool {
        let n: Int
        do throws(SystemCallError) {
            n = try SystemCalls.live.readSome(c.fd, into: &chunk)
        } catch {
            // Nothing more yet (a spurious wake-up): keep it; any other failure ends it.
            return error.errno != .wouldBlock
        }
        if n == 0 { return true }
        let from = max(0, c.request.count - 3)
        c.request.append(contentsOf: chunk[0..<n])
        let end: [UInt8] = [13, 10, 13, 10]
        let complete = c.request.count >= 4 && (from...(c.request.count - 4)).contains { c.request[$0..<$0 + 4].elementsEqual(end) }
        guard complete || c.request.count >= Self.maxRequestBytes else { return false }
        answer(c)
        return true
    }

    private func answer(_ c: Connection) {
        let firstLine = String(decoding: c.request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = firstLine.split(separator: " ")
        let status: String
        var text: String
        var type = "text/plain; charset=utf-8"
        if parts.count < 2 || (parts[0] != "GET" && parts[0] != "HEAD") {
            status = "405 Method Not Allowed"
            text = "only GET \(path)\n"
        } else if parts[1].split(separator: "?").first.map(String.init) != path {
            status = "404 Not Found"
            text = "metrics are at \(path)\n"
        } else {
            status = "200 OK"
            text = body()
            // The Prometheus text exposition format, version 0.0.4.
            type = "text/plain; version=0.0.4; charset=utf-8"
        }
        let payload = Array(text.utf8)
        var out = Array("HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(payload.count)\r\nConnection: close\r\n\r\n".utf8)
        if parts.first != "HEAD" { out += payload }
        try? sendAll(c.fd, out, deadlineNanos: Condition.nowNanos() + UInt64(Self.requestTimeoutMillis) * 1_000_000)
    }
}
