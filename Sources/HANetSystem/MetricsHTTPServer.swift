import FoundationEssentials
import Glibc
import HANetCore

/// The smallest HTTP/1.1 server a Prometheus scrape needs: GET one path,
/// get one text body, connection closed. One thread, one connection at a
/// time with short socket timeouts: a scraper is the only client, and a stuck
/// client costs at most the timeout, never the daemon's control queue.
public final class MetricsHTTPServer {
    static let streamType: Int32 = 1

    public let address: IPv4Address
    public private(set) var port: UInt16
    public let path: String
    private var fd: Int32 = -1
    private var stopped = false
    private let body: () -> String

    /// `body` is called on the server's thread for every GET of `path`.
    public init(address: IPv4Address, port: UInt16, path: String = "/metrics", body: @escaping () -> String) {
        self.address = address
        self.port = port
        self.path = path
        self.body = body
    }

    /// Binds and listens; port 0 picks a free port (read `port` afterwards).
    public func start() throws {
        fd = socket(AF_INET, Self.streamType | 0o2000000, 0)
        guard fd >= 0 else { throw HANetError(.io, "metrics: socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = address.value.bigEndian
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = String(cString: strerror(errno)); close(fd); fd = -1
            throw HANetError(.io, "metrics: bind \(address):\(port): \(e)")
        }
        guard listen(fd, 8) == 0 else {
            let e = String(cString: strerror(errno)); close(fd); fd = -1
            throw HANetError(.io, "metrics: listen \(address):\(port): \(e)")
        }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        port = UInt16(bigEndian: bound.sin_port)
        SystemThread.start(name: "hanet-metrics") { [weak self] in self?.acceptLoop() }
    }

    public func stop() {
        stopped = true
        if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)); close(fd); fd = -1 }
    }

    private func acceptLoop() {
        while !stopped {
            let listener = fd
            guard listener >= 0 else { return }
            let c = accept(listener, nil, nil)
            if c < 0 {
                if errno == EINTR { continue }
                return
            }
            serve(c)
            close(c)
        }
    }

    private func serve(_ c: Int32) {
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var request = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 2048)
        let end: [UInt8] = [13, 10, 13, 10]
        while request.count < 16384 {
            let n = read(c, &chunk, chunk.count)
            if n <= 0 { return }
            request.append(contentsOf: chunk[0..<n])
            if request.count >= 4, (0...(request.count - 4)).contains(where: { Array(request[$0..<$0 + 4]) == end }) { break }
        }
        let firstLine = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
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
        var off = 0
        while off < out.count {
            let w = out[off...].withUnsafeBytes { write(c, $0.baseAddress, $0.count) }
            if w <= 0 { return }
            off += w
        }
    }
}
