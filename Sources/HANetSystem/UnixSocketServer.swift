import FoundationEssentials
import HANetCore
import Glibc

/// The control socket's transport: a Unix stream socket where every request
/// is one line and every answer is one line. Each connection is served on its
/// own thread so a slow client never holds up the daemon's control queue.
public final class UnixSocketServer {
    /// SOCK_STREAM. Spelled as its value: with libnl's headers in the same
    /// module, Glibc's and the kernel's definitions of the name collide in
    /// whole-module (release) builds.
    static let streamType: Int32 = 1
    /// MSG_PEEK | MSG_DONTWAIT, spelled as values for the same reason.
    static let peekNoWait: Int32 = 0x2 | 0x40

    public let path: String
    private var fd: Int32 = -1
    private let handler: (String) -> String
    private var stopped = false

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

    /// `handler` gets a request line (without newline) and returns the answer line.
    public init(path: String, handler: @escaping (String) -> String) {
        self.path = path
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
        fd = socket(AF_UNIX, Self.streamType, 0)
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
        guard listen(fd, 16) == 0 else { throw HANetError(.io, "control socket \(path): listen: \(String(cString: strerror(errno)))") }
        SystemThread.start(name: "hanet-control") { [weak self] in self?.acceptLoop() }
    }

    public func stop() {
        stopped = true
        if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)); close(fd); fd = -1 }
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
        while !stopped {
            let c = accept(fd, nil, nil)
            if c < 0 {
                if errno == EINTR { continue }
                return
            }
            SystemThread.start(name: "hanet-client") { [handler, streamHandler] in
                defer { close(c) }
                var buffer = [UInt8]()
                var chunk = [UInt8](repeating: 0, count: 4096)
                while true {
                    let n = read(c, &chunk, chunk.count)
                    if n <= 0 { return }
                    buffer.append(contentsOf: chunk[0..<n])
                    while let nl = buffer.firstIndex(of: 10) {
                        let line = String(decoding: buffer[0..<nl], as: UTF8.self)
                        buffer.removeSubrange(0...nl)
                        if let stream = streamHandler?(line) {
                            stream(Self.sink(c))
                            return
                        }
                        let answer = Array((handler(line) + "\n").utf8)
                        var off = 0
                        while off < answer.count {
                            let w = answer[off...].withUnsafeBytes { write(c, $0.baseAddress, $0.count) }
                            if w <= 0 { return }
                            off += w
                        }
                    }
                    if buffer.count > 1 << 20 { return }
                }
            }
        }
    }
}

extension UnixSocketServer {
    static func sink(_ c: Int32) -> StreamSink {
        StreamSink(write: { text in
            let bytes = Array((text + "\n").utf8)
            var off = 0
            while off < bytes.count {
                let w = bytes[off...].withUnsafeBytes { Glibc.send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if w <= 0 { return false }
                off += w
            }
            return true
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
    /// Connects to the daemon at `path` and sends `line` and a newline; the
    /// caller reads the answer and closes the descriptor. `timeoutMillis`
    /// bounds each send and receive; nil waits as long as the daemon talks.
    static func connect(path: String, sending line: String, timeoutMillis: Int?) throws -> Int32 {
        let fd = socket(AF_UNIX, UnixSocketServer.streamType, 0)
        guard fd >= 0 else { throw HANetError(.io, "socket: \(String(cString: strerror(errno)))") }
        do {
            if let ms = timeoutMillis {
                var tv = timeval(tv_sec: ms / 1000, tv_usec: (ms % 1000) * 1000)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            }
            var addr = try UnixSocketServer.address(path)
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard rc == 0 else { throw HANetError(.notFound, "no daemon at \(path): \(String(cString: strerror(errno)))") }
            let out = Array((line + "\n").utf8)
            var off = 0
            while off < out.count {
                let w = out[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                guard w > 0 else { throw HANetError(.io, "write to \(path): \(String(cString: strerror(errno)))") }
                off += w
            }
            return fd
        } catch {
            close(fd)
            throw error
        }
    }
}
