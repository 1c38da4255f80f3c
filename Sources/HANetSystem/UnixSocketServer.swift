import FoundationEssentials
import HANetCore
import Glibc

/// The control socket's transport: a Unix stream socket where every request
/// is one line and every answer is one line. Each connection is served on its
/// own thread so a slow client never holds up the daemon's control queue.
///
/// What a local client can cost the daemon is bounded (`Limits`):
/// - only root, or the daemon's own user, gets in: the socket is mode 0600,
///   and each accepted connection's SO_PEERCRED is checked as well;
/// - a request line is at most `maxLineBytes`; a longer one gets one error
///   answer and the connection is closed, so a client holds at most that much;
/// - at most `maxClients` request connections at once, each closed after
///   `idleTimeoutMillis` without a full request line. When all are taken, a
///   newcomer takes the slot of the client that has waited longest for a full
///   line (that one is closed), so a flood of idle connections cannot lock
///   out `hanet status`; only when every slot is busy answering is the
///   newcomer refused, with an error line, at once;
/// - `subscribe` streams (`hanet events --follow`) leave the request slots
///   for `maxStreams` slots of their own and have no receive timeout.
///
/// Threads: one accepting, at most `maxClients` + `maxStreams` serving. The
/// accept loop never waits for a client. Every refusal goes to `onRefused`.
public final class UnixSocketServer {
    /// SOCK_STREAM. Spelled as its value: with libnl's headers in the same
    /// module, Glibc's and the kernel's definitions of the name collide in
    /// whole-module (release) builds.
    static let streamType: Int32 = 1
    /// MSG_PEEK | MSG_DONTWAIT, spelled as values for the same reason.
    static let peekNoWait: Int32 = 0x2 | 0x40
    static let dontWait: Int32 = 0x40
    /// SO_PEERCRED (Linux): the connecting process's pid, uid and gid.
    static let peerCredentials: Int32 = 17

    public struct Limits: Sendable {
        public var maxLineBytes: Int
        public var maxClients: Int
        public var maxStreams: Int
        /// How long a request connection may go without sending a full line.
        public var idleTimeoutMillis: Int
        public var backlog: Int32

        public init(maxLineBytes: Int = 65536, maxClients: Int = 32, maxStreams: Int = 32,
                    idleTimeoutMillis: Int = 10_000, backlog: Int32 = 128) {
            self.maxLineBytes = maxLineBytes
            self.maxClients = maxClients
            self.maxStreams = maxStreams
            self.idleTimeoutMillis = idleTimeoutMillis
            self.backlog = backlog
        }
    }

    public let path: String
    public let limits: Limits
    private let handler: (String) -> String
    private let daemonUID = geteuid()

    /// Guards everything below: the accept thread, client threads and `stop()` meet here.
    private let lock = Lock()
    private var fd: Int32 = -1
    private var stopped = false
    private var clients: [Int: Client] = [:]
    private var lastSerial = 0
    private var streams = 0

    /// A request connection. `waitingSince` is when it began waiting for its
    /// current request line (CLOCK_MONOTONIC ns), nil while one is answered.
    private final class Client {
        let fd: Int32
        let serial: Int
        let pid: Int32
        var waitingSince: UInt64?
        init(fd: Int32, serial: Int, pid: Int32, waitingSince: UInt64) {
            self.fd = fd
            self.serial = serial
            self.pid = pid
            self.waitingSince = waitingSince
        }
    }

    /// A connection handed over for a long-lived answer (`subscribe`): write
    /// lines until `write` fails or `isOpen` says the peer hung up.
    public struct StreamSink {
        public let write: (String) -> Bool
        public let isOpen: () -> Bool
    }

    /// Consulted before `handler` for every request line: a non-nil stream
    /// takes over the connection (on its own thread) until it returns, and
    /// the connection is closed then. Set it before `start()`.
    public var streamHandler: ((String) -> ((StreamSink) -> Void)?)?

    /// Every refused client or request: the reason, its source ("uid 1000",
    /// "pid 123") and a line for the log. Called on the accept thread or a
    /// client's thread, never under the server's lock. Set it before `start()`.
    public var onRefused: ((RefusalReason, String, String) -> Void)?

    /// `handler` gets a request line (without newline) and returns the answer line.
    public init(path: String, limits: Limits = Limits(), handler: @escaping (String) -> String) {
        self.path = path
        self.limits = limits
        self.handler = handler
    }

    /// Binds the socket with mode 0600 (root only: the socket can steer failover).
    public func start() throws {
        let dir = FilePath.deletingLastComponent(path)
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        if let existing = try? UnixSocketClient.request(path: path, line: #"{"command":"ping"}"#, timeoutMillis: 200), !existing.isEmpty {
            throw HANetError(.state, "control socket \(path): another daemon is answering on it")
        }
        unlink(path)
        let fd = socket(AF_UNIX, Self.streamType, 0)
        guard fd >= 0 else { throw HANetError(.io, "control socket \(path): socket: \(String(cString: strerror(errno)))") }
        var addr = try Self.address(path)
        let old = umask(0o177)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(old)
        guard rc == 0 else {
            let e = String(cString: strerror(errno)); close(fd)
            throw HANetError(.io, "control socket \(path): bind: \(e)")
        }
        chmod(path, 0o600)
        guard listen(fd, limits.backlog) == 0 else {
            let e = String(cString: strerror(errno)); close(fd)
            throw HANetError(.io, "control socket \(path): listen: \(e)")
        }
        lock.withLock { self.fd = fd }
        SystemThread.start(name: "hanet-control") { [weak self] in self?.acceptLoop() }
    }

    public func stop() {
        lock.withLock {
            stopped = true
            if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)); close(fd); fd = -1 }
        }
        unlink(path)
    }

    static func address(_ path: String) throws -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw HANetError(.usage, "control socket path too long (\(bytes.count) bytes): \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        return addr
    }

    private func acceptLoop() {
        while true {
            let listener = lock.withLock { stopped ? -1 : fd }
            guard listener >= 0 else { return }
            let c = accept(listener, nil, nil)
            if c >= 0 {
                admit(c)
                continue
            }
            switch errno {
            case EINTR, ECONNABORTED: continue
            // Out of descriptors or memory: clients that finish free some; try again shortly.
            case EMFILE, ENFILE, ENOBUFS, ENOMEM: usleep(100_000)
            default: return
            }
        }
    }

    /// Checks the peer and finds it a slot; on the accept thread, so nothing here waits for a client.
    private func admit(_ c: Int32) {
        let (pid, uid) = Self.peer(c)
        guard let uid, uid == 0 || uid == daemonUID else {
            close(c)
            let who = uid.map { "uid \($0)" } ?? "a client whose uid is unknown"
            onRefused?(.controlNotRoot, who, "control socket \(path): refused \(who) (pid \(pid)): only root may use the control socket")
            return
        }
        var tv = timeval(tv_sec: limits.idleTimeoutMillis / 1000, tv_usec: (limits.idleTimeoutMillis % 1000) * 1000)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        // A client that stops reading its answers cannot hold a thread either.
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let now = Condition.nowNanos()
        var evicted: Client?
        let client: Client? = lock.withLock {
            if clients.count >= limits.maxClients {
                guard let oldest = clients.values.filter({ $0.waitingSince != nil }).min(by: { $0.waitingSince! < $1.waitingSince! }) else { return nil }
                clients[oldest.serial] = nil
                // Its thread's read returns at once; the thread closes the descriptor after taking this lock.
                shutdown(oldest.fd, Int32(SHUT_RDWR))
                evicted = oldest
            }
            lastSerial += 1
            let client = Client(fd: c, serial: lastSerial, pid: pid, waitingSince: now)
            clients[client.serial] = client
            return client
        }
        if let e = evicted {
            let idle = UTCTimestamp.fixed(Double(now &- (e.waitingSince ?? now)) / 1e9, 1)
            onRefused?(.controlTooManyClients, "pid \(e.pid)",
                       "control socket \(path): all \(limits.maxClients) client slots taken; closed the connection of pid \(e.pid), \(idle) s without a full request line")
        }
        guard let client else {
            _ = sendAll(c, Self.errorLine(code: "state", "all \(limits.maxClients) control clients are being answered; try again"), flags: Self.dontWait)
            close(c)
            onRefused?(.controlTooManyClients, "pid \(pid)",
                       "control socket \(path): refused pid \(pid): all \(limits.maxClients) client slots are answering requests")
            return
        }
        SystemThread.start(name: "hanet-client") { [self] in serve(client) }
    }

    /// Reads request lines and answers them until the client hangs up, stays
    /// silent too long, oversteps the line limit, is evicted or becomes a stream.
    private func serve(_ client: Client) {
        let c = client.fd
        defer {
            lock.withLock { if clients[client.serial] === client { clients[client.serial] = nil } }
            close(c)
        }
        var buffer = [UInt8]()
        var scanned = 0
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(c, &chunk, chunk.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return }
            buffer.append(contentsOf: chunk[0..<n])
            while let nl = buffer[scanned...].firstIndex(of: 10) {
                guard nl <= limits.maxLineBytes else { return refuseLongLine(client) }
                let line = String(decoding: buffer[0..<nl], as: UTF8.self)
                buffer.removeSubrange(0...nl)
                scanned = 0
                // Evicted between reading the line and now: its slot is someone else's.
                guard lock.withLock({ () -> Bool in
                    guard clients[client.serial] === client else { return false }
                    client.waitingSince = nil
                    return true
                }) else { return }
                if !Self.isRequest(line) {
                    onRefused?(.controlBadRequest, "pid \(client.pid)",
                               "control socket \(path): pid \(client.pid) sent a line of \(nl) bytes that is not a JSON request with a \"command\"")
                }
                if let stream = streamHandler?(line) { return runStream(stream, client) }
                guard sendAll(c, Array((handler(line) + "\n").utf8)) else { return }
                lock.withLock { client.waitingSince = Condition.nowNanos() }
            }
            scanned = buffer.count
            if buffer.count > limits.maxLineBytes { return refuseLongLine(client) }
        }
    }

    private func refuseLongLine(_ client: Client) {
        _ = sendAll(client.fd, Self.errorLine(code: "usage", "request line longer than \(limits.maxLineBytes) bytes"), flags: Self.dontWait)
        onRefused?(.controlLineTooLong, "pid \(client.pid)",
                   "control socket \(path): pid \(client.pid) sent a request line longer than \(limits.maxLineBytes) bytes; closed its connection")
    }

    /// Moves the connection from the request slots to the stream slots and runs the stream.
    private func runStream(_ stream: (StreamSink) -> Void, _ client: Client) {
        let admitted = lock.withLock { () -> Bool in
            clients[client.serial] = nil
            guard streams < limits.maxStreams else { return false }
            streams += 1
            return true
        }
        guard admitted else {
            // Run it on a closed sink so it releases what it set up (a subscription).
            stream(StreamSink(write: { _ in false }, isOpen: { false }))
            _ = sendAll(client.fd, Self.errorLine(code: "state", "all \(limits.maxStreams) stream slots are taken; try again"), flags: Self.dontWait)
            onRefused?(.controlTooManyClients, "pid \(client.pid)",
                       "control socket \(path): refused a stream for pid \(client.pid): all \(limits.maxStreams) stream slots are taken")
            return
        }
        defer { lock.withLock { streams -= 1 } }
        // A stream's client only listens: no receive timeout from here on.
        var none = timeval(tv_sec: 0, tv_usec: 0)
        setsockopt(client.fd, SOL_SOCKET, SO_RCVTIMEO, &none, socklen_t(MemoryLayout<timeval>.size))
        stream(Self.sink(client.fd))
    }

    /// The connecting process's pid and uid (nil when the kernel does not say).
    static func peer(_ c: Int32) -> (pid: Int32, uid: UInt32?) {
        // struct ucred: pid_t pid; uid_t uid; gid_t gid.
        var cred = [UInt32](repeating: 0, count: 3)
        var len = socklen_t(12)
        let rc = cred.withUnsafeMutableBytes { getsockopt(c, SOL_SOCKET, peerCredentials, $0.baseAddress, &len) }
        guard rc == 0, len >= 8 else { return (-1, nil) }
        return (Int32(bitPattern: cred[0]), cred[1])
    }

    /// True when `line` is a JSON object with a string "command": what every request is.
    static func isRequest(_ line: String) -> Bool {
        struct Envelope: Decodable { var command: String }
        return (try? JSONDecoder().decode(Envelope.self, from: Data(line.utf8))) != nil
    }

    /// An answer as the control protocol writes a refusal (sorted keys).
    static func errorLine(code: String, _ message: String) -> [UInt8] {
        Array(#"{"code":"\#(code)","error":"\#(message)","ok":false}"#.utf8 + [10])
    }
}

/// Writes all of `bytes` to the socket `fd` (no SIGPIPE). False when the
/// peer is gone or a send fails: a timeout (SO_SNDTIMEO), or with
/// `deadlineNanos` on a non-blocking socket, that CLOCK_MONOTONIC deadline.
func sendAll(_ fd: Int32, _ bytes: [UInt8], flags: Int32 = 0, deadlineNanos: UInt64? = nil) -> Bool {
    var off = 0
    while off < bytes.count {
        let w = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | flags) }
        if w > 0 { off += w; continue }
        if w < 0, errno == EINTR { continue }
        if w < 0, errno == EAGAIN, let deadline = deadlineNanos {
            let now = Condition.nowNanos()
            guard now < deadline else { return false }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, Int32(min((deadline - now) / 1_000_000 + 1, 60_000)))
            continue
        }
        return false
    }
    return true
}

extension UnixSocketServer {
    static func sink(_ c: Int32) -> StreamSink {
        StreamSink(write: { text in
            sendAll(c, Array((text + "\n").utf8))
        }, isOpen: {
            // Readable with nothing to read means the peer closed its end.
            var p = pollfd(fd: c, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 0) > 0 else { return true }
            if p.revents & Int16(POLLHUP | POLLERR) != 0 { return false }
            var b: UInt8 = 0
            return recv(c, &b, 1, Self.peekNoWait) != 0
        })
    }
}

extension UnixSocketClient {
    /// Sends one line and hands every answer line to `onLine` until it
    /// returns false or the daemon closes the connection (`hanet events --follow`).
    public static func stream(path: String, line: String, onLine: (String) -> Bool) throws {
        let fd = try connect(path: path, sending: line, timeoutMillis: nil)
        defer { close(fd) }
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw HANetError(.io, "read from \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { return }
            buffer.append(contentsOf: chunk[0..<n])
            while let nl = buffer.firstIndex(of: 10) {
                let l = String(decoding: buffer[0..<nl], as: UTF8.self)
                buffer.removeSubrange(0...nl)
                if !onLine(l) { return }
            }
        }
    }
}

/// The other end: `hanet status` and friends.
public enum UnixSocketClient {
    /// Sends one line, returns the first line of the answer.
    public static func request(path: String, line: String, timeoutMillis: Int = 5000) throws -> String {
        let fd = try connect(path: path, sending: line, timeoutMillis: timeoutMillis)
        defer { close(fd) }
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 { throw HANetError(.io, "read from \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            buffer.append(contentsOf: chunk[0..<n])
            if let nl = buffer.firstIndex(of: 10) { return String(decoding: buffer[0..<nl], as: UTF8.self) }
        }
        return String(decoding: buffer, as: UTF8.self)
    }
}

extension UnixSocketClient {
    public enum OpenError: Error, Equatable { case socket(Int32), connect(Int32) }

    /// A connected stream socket to `addr`, or the errno of the step that
    /// failed. `timeoutMillis` bounds each send and receive (SO_SNDTIMEO,
    /// SO_RCVTIMEO); nil leaves them unbounded.
    public static func openStream(_ addr: inout sockaddr_un, timeoutMillis: Int?) -> Result<Int32, OpenError> {
        let fd = socket(AF_UNIX, UnixSocketServer.streamType, 0)
        guard fd >= 0 else { return .failure(.socket(errno)) }
        if let ms = timeoutMillis {
            var tv = timeval(tv_sec: ms / 1000, tv_usec: (ms % 1000) * 1000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            return .failure(.connect(e))
        }
        return .success(fd)
    }

    /// Connects to the daemon at `path` and sends `line` and a newline; the
    /// caller reads the answer and closes the descriptor. `timeoutMillis`
    /// bounds each send and receive; nil waits as long as the daemon talks.
    static func connect(path: String, sending line: String, timeoutMillis: Int?) throws -> Int32 {
        var addr = try UnixSocketServer.address(path)
        let fd: Int32
        switch openStream(&addr, timeoutMillis: timeoutMillis) {
        case .success(let d): fd = d
        case .failure(.socket(let e)): throw HANetError(.io, "socket: \(String(cString: strerror(e)))")
        case .failure(.connect(let e)): throw HANetError(.notFound, "no daemon at \(path): \(String(cString: strerror(e)))")
        }
        do {
            guard sendAll(fd, Array((line + "\n").utf8)) else {
                throw HANetError(.io, "write to \(path): \(String(cString: strerror(errno)))")
            }
            return fd
        } catch {
            close(fd)
            throw error
        }
    }
}
