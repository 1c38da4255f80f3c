import HANetCore
import Glibc

/// Why a BIRD control-socket exchange failed, with the errno or BIRD's reply
/// code as a value.
public enum BIRDControlError: Error, Equatable, Sendable, CustomStringConvertible {
    /// connect(2) to the socket failed: ENOENT (no socket: BIRD not started
    /// or another path), ECONNREFUSED (BIRD gone), EACCES.
    case connect(path: String, errno: Int32)
    /// read or write on the connection failed.
    case io(errno: Int32)
    /// No complete reply within the timeout.
    case timedOut(command: String, millis: Int)
    /// BIRD closed the connection before the reply was complete.
    case closed(command: String)
    /// BIRD answered with an error: 8xxx run time (8002 configuration file
    /// error, 8003 no protocols match), 9xxx the command did not parse.
    case reply(command: String, code: Int, message: String)
    case malformed(String)
    /// The path does not fit a Unix socket address.
    case badPath(String)

    public var description: String {
        switch self {
        case .connect(let path, let e): return "BIRD does not answer at \(path): \(SystemError.message(e))"
        case .io(let e): return "BIRD control socket: \(SystemError.message(e))"
        case .timedOut(let c, let ms): return "BIRD did not answer `\(c)` within \(ms) ms"
        case .closed(let c): return "BIRD closed the control socket during `\(c)`"
        case .reply(let c, let code, let m): return "BIRD refused `\(c)`: \(code) \(m)"
        case .malformed(let l): return "BIRD control socket: not a reply line: \"\(l.prefix(80))\""
        case .badPath(let p): return "BIRD control socket path too long: \(p)"
        }
    }
}

/// A connection to BIRD 2's control socket, the protocol birdc speaks: a
/// 0001 greeting, then one command per line, each answered by numbered
/// lines (BIRDReply). Commands are serialized; each waits at most
/// `timeoutMillis` for its whole reply.
public final class BIRDControl: @unchecked Sendable {
    public let path: String
    public let timeoutMillis: Int
    /// The greeting's text, "BIRD 2.0.12 ready.".
    public private(set) var greeting = ""
    private let fd: Int32
    private let lock = Lock()
    private var buffer: [UInt8] = []

    public init(path: String, timeoutMillis: Int = 5000) throws(BIRDControlError) {
        self.path = path
        self.timeoutMillis = timeoutMillis
        guard let addr = try? UnixSocketServer.address(path) else { throw .badPath(path) }
        let opened: Int32
        do { opened = try Socket.open(AF_UNIX, UnixSocketServer.streamType) { _ in } } catch { throw .io(errno: error.errno.rawValue) }
        do {
            try Socket.connect(opened, addr)
        } catch {
            close(opened)
            throw .connect(path: path, errno: error.errno.rawValue)
        }
        fd = opened
        do throws(BIRDControlError) {
            let hello = try readReply(for: "(greeting)")
            guard hello.code == 1 else { throw BIRDControlError.malformed(hello.lines.last.map { "\($0.code) \($0.text)" } ?? "") }
            greeting = hello.message
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    /// Sends one command and returns its reply; a reply code of 8000 or more throws `.reply`.
    @discardableResult
    public func command(_ text: String) throws(BIRDControlError) -> BIRDReply {
        guard !text.contains("\n") else { throw .malformed(text) }
        lock.lock()
        defer { lock.unlock() }
        do { try sendAll(fd, Array((text + "\n").utf8)) } catch { throw .io(errno: error.errno.rawValue) }
        let reply = try readReply(for: text)
        if reply.isError { throw .reply(command: text, code: reply.code, message: reply.message) }
        return reply
    }

    /// `configure check`: parses the whole configuration (bird.conf and what
    /// it includes) without applying it. Throws `.reply` with BIRD's message
    /// ("…/hanet.conf:12:5 syntax error…", code 8002) when it does not parse.
    public func configureCheck() throws(BIRDControlError) {
        try command("configure check")
    }

    /// `configure`, or `configure timeout N`: BIRD applies the configuration
    /// at once and, with a timeout, returns to the previous one unless
    /// `configureConfirm()` comes within N seconds.
    public func configure(timeoutSeconds: Int? = nil) throws(BIRDControlError) {
        let reply = try command(timeoutSeconds.map { "configure timeout \($0)" } ?? "configure")
        // 0003 Reconfigured, 0004 in progress, 0005 queued: all applied or applying.
        guard [3, 4, 5].contains(reply.code) else {
            throw .reply(command: "configure", code: reply.code, message: reply.message)
        }
    }

    public func configureConfirm() throws(BIRDControlError) { try command("configure confirm") }
    public func configureUndo() throws(BIRDControlError) { try command("configure undo") }

    /// `enable NAME` / `disable NAME`; "already enabled/disabled" is fine.
    public func setEnabled(_ name: String, _ on: Bool) throws(BIRDControlError) {
        try command("\(on ? "enable" : "disable") \(name)")
    }

    /// `show protocols`, or the protocols matching `pattern` (BIRD's "*" and "?").
    public func protocols(_ pattern: String? = nil) throws(BIRDControlError) -> [BIRDProtocol] {
        BIRDProtocol.list(try command("show protocols" + (pattern.map { " \"\($0)\"" } ?? "")))
    }

    private func readReply(for cmd: String) throws(BIRDControlError) -> BIRDReply {
        let deadline = Condition.nowNanos() + UInt64(timeoutMillis) * 1_000_000
        var parser = BIRDReply.Parser()
        while true {
            while let nl = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeSubrange(...nl)
                do {
                    if let reply = try parser.feed(line) { return reply }
                } catch {
                    throw .malformed(line)
                }
            }
            let now = Condition.nowNanos()
            guard now < deadline else { throw .timedOut(command: cmd, millis: timeoutMillis) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, Int32((deadline - now) / 1_000_000 + 1))
            if r < 0 {
                if errno == EINTR { continue }
                throw .io(errno: errno)
            }
            if r == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = read(fd, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .io(errno: errno)
            }
            if n == 0 { throw .closed(command: cmd) }
            buffer.append(contentsOf: chunk[..<n])
        }
    }
}
