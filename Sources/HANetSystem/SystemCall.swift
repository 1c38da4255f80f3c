import Glibc
import HANetCore
// errno as a value is swift-system's `Errno` rather than a type of our own: it names
// every code (`.interrupted`, `.wouldBlock`, `.noSuchFileOrDirectory`), so a match
// reads as what it means without a hand-kept list, its description is strerror(3)'s
// text, and it is the type swift-system's and swift-nio's APIs speak. It is a plain
// struct over an Int32 and pulls in no Foundation. Only the type is imported:
// SystemPackage's `FilePath` would shadow HANetCore's.
import struct SystemPackage.Errno

/// A system call that failed: its name and the errno it left. Reads as the call
/// and the C library's text ("bind: Address already in use"), so wrapped into a
/// `HANetError` it says what the bare strerror text said, and which call said it.
/// Code that decides on a failure matches `errno`, never the text.
public struct SystemCallError: Error, Equatable, Sendable, CustomStringConvertible {
    public let call: String
    public let errno: Errno

    public init(_ call: String, _ errno: Errno) {
        self.call = call
        self.errno = errno
    }

    /// For APIs that return the error number (pthread, posix_spawn) or its negation (libnl, libudev).
    public init(_ call: String, code: Int32) {
        self.init(call, Errno(rawValue: code < 0 ? -code : code))
    }

    /// The thread's errno, read now: call this right after the call that failed.
    public static func current(_ call: String) -> SystemCallError {
        SystemCallError(call, Errno(rawValue: Glibc.errno))
    }

    public var description: String { "\(call): \(errno)" }
}

extension HANetError {
    /// "`context`: `call`: reason" under `code`, carrying the errno. The one
    /// place a system call's failure becomes text for a person.
    public init(_ code: Code, _ context: String, _ error: SystemCallError) {
        self.init(code, "\(context): \(error)", errno: error.errno.rawValue)
    }
}

/// The system calls HANetSystem's retry and write loops make, as values a
/// test replaces to script EINTR, short writes and EAGAIN without a kernel
/// (as swift-system mocks its syscalls). A replacement sets `Glibc.errno`
/// and returns -1 to fail, as the C library does.
public struct SystemCalls: Sendable {
    public var send: @Sendable (_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int, _ flags: Int32) -> Int
    public var write: @Sendable (_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int
    public var read: @Sendable (_ fd: Int32, _ into: UnsafeMutableRawPointer?, _ count: Int) -> Int
    public var poll: @Sendable (_ fds: UnsafeMutablePointer<pollfd>?, _ count: nfds_t, _ timeoutMillis: Int32) -> Int32
    public var nowNanos: @Sendable () -> UInt64

    public init(send: @escaping @Sendable (Int32, UnsafeRawPointer?, Int, Int32) -> Int,
                write: @escaping @Sendable (Int32, UnsafeRawPointer?, Int) -> Int,
                read: @escaping @Sendable (Int32, UnsafeMutableRawPointer?, Int) -> Int,
                poll: @escaping @Sendable (UnsafeMutablePointer<pollfd>?, nfds_t, Int32) -> Int32,
                nowNanos: @escaping @Sendable () -> UInt64) {
        self.send = send
        self.write = write
        self.read = read
        self.poll = poll
        self.nowNanos = nowNanos
    }

    /// The kernel's.
    public static let live = SystemCalls(
        send: { Glibc.send($0, $1, $2, $3) },
        write: { Glibc.write($0, $1, $2) },
        read: { Glibc.read($0, $1, $2) },
        poll: { Glibc.poll($0, $1, $2) },
        nowNanos: { Condition.nowNanos() })

    /// Sends all of `bytes` on the socket `fd` (MSG_NOSIGNAL: a peer that is
    /// gone is an EPIPE here, not a SIGPIPE for the process).
    /// `deadlineNanos` (CLOCK_MONOTONIC) is for a non-blocking socket: a full
    /// buffer (EAGAIN) is waited out with poll until then. Without one, EAGAIN
    /// fails at once (a SO_SNDTIMEO that passed, or MSG_DONTWAIT).
    public func sendAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, flags: Int32 = 0,
                        deadlineNanos: UInt64? = nil) throws(SystemCallError) {
        try writeAll("send", fd, bytes, deadlineNanos: deadlineNanos) { send(fd, $0, $1, Int32(MSG_NOSIGNAL) | flags) }
    }

    /// Writes all of `bytes` to `fd` with write(2) (a pipe, a terminal, standard error).
    public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, deadlineNanos: UInt64? = nil) throws(SystemCallError) {
        try writeAll("write", fd, bytes, deadlineNanos: deadlineNanos) { write(fd, $0, $1) }
    }

    /// The one write-everything loop: a short write continues where it
    /// stopped, EINTR is retried, EAGAIN waits for POLLOUT until the deadline.
    private func writeAll(_ call: String, _ fd: Int32, _ bytes: UnsafeRawBufferPointer, deadlineNanos: UInt64?,
                          _ op: (UnsafeRawPointer, Int) -> Int) throws(SystemCallError) {
        guard let base = bytes.baseAddress else { return }
        var off = 0
        while off < bytes.count {
            let w = op(base + off, bytes.count - off)
            if w > 0 { off += w; continue }
            // write(2) returns 0 only for a count of 0; anything else is a failure to stop on, not to spin on.
            let e = w == 0 ? Errno.ioError : Errno(rawValue: Glibc.errno)
            if e == .interrupted { continue }
            if e == .wouldBlock, let deadline = deadlineNanos {
                try waitWritable(fd, call: call, until: deadline)
                continue
            }
            throw SystemCallError(call, e)
        }
    }

    /// Polls `fd` for POLLOUT until `deadline`; EAGAIN as the error once it has passed.
    private func waitWritable(_ fd: Int32, call: String, until deadline: UInt64) throws(SystemCallError) {
        let now = nowNanos()
        guard now < deadline else { throw SystemCallError(call, .wouldBlock) }
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let r = poll(&p, 1, Int32(min((deadline - now) / 1_000_000 + 1, 60_000)))
        if r < 0, Glibc.errno != EINTR { throw SystemCallError.current("poll") }
    }

    /// One read(2), retried on EINTR: the count read (0 at the end), or the failure.
    public func readSome(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> Int {
        try retryingInterrupts("read") { read(fd, buffer.baseAddress, buffer.count) }
    }

    /// `readSome` into the whole of `chunk`.
    public func readSome(_ fd: Int32, into chunk: inout [UInt8]) throws(SystemCallError) -> Int {
        try chunk.withUnsafeMutableBytes { b in Result { () throws(SystemCallError) in try readSome(fd, into: b) } }.get()
    }
}

/// Calls `body` again while it fails with EINTR; its result, or its failure
/// (-1 and errno) as a `SystemCallError` naming `call`. Every system call
/// HANetSystem retries goes through here.
@inline(__always)
public func retryingInterrupts<T: FixedWidthInteger & SignedInteger>(_ call: String, _ body: () -> T) throws(SystemCallError) -> T {
    while true {
        let r = body()
        if r != -1 { return r }
        let e = Glibc.errno
        if e == EINTR { continue }
        throw SystemCallError(call, Errno(rawValue: e))
    }
}

/// Socket set-up steps as throwing calls, shared by the servers and clients here.
enum Socket {
    /// socket(2), then `setUp` on it; the descriptor is closed when `setUp` throws.
    static func open(_ domain: Int32, _ type: Int32, protocol: Int32 = 0,
                     _ setUp: (Int32) throws(SystemCallError) -> Void) throws(SystemCallError) -> Int32 {
        let fd = socket(domain, type, `protocol`)
        guard fd >= 0 else { throw SystemCallError.current("socket") }
        do {
            try setUp(fd)
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// bind(2) to `address` (a sockaddr_in or sockaddr_un).
    static func bind<Address>(_ fd: Int32, _ address: Address) throws(SystemCallError) {
        try withAddress(address) { sa, len throws(SystemCallError) in
            guard Glibc.bind(fd, sa, len) == 0 else { throw SystemCallError.current("bind") }
        }
    }

    /// connect(2) to `address`, retried on EINTR.
    static func connect<Address>(_ fd: Int32, _ address: Address) throws(SystemCallError) {
        try withAddress(address) { sa, len throws(SystemCallError) in
            _ = try retryingInterrupts("connect") { Glibc.connect(fd, sa, len) }
        }
    }

    static func listen(_ fd: Int32, backlog: Int32) throws(SystemCallError) {
        guard Glibc.listen(fd, backlog) == 0 else { throw SystemCallError.current("listen") }
    }

    private static func withAddress<Address, T>(_ address: Address,
                                                _ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemCallError) -> T) throws(SystemCallError) -> T {
        var a = address
        return try withUnsafePointer(to: &a) { p throws(SystemCallError) in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa throws(SystemCallError) in
                try body(sa, socklen_t(MemoryLayout<Address>.size))
            }
        }
    }
}

/// Sends all of `bytes` on the socket `fd`: `SystemCalls.sendAll` with the kernel's calls.
func sendAll(_ fd: Int32, _ bytes: [UInt8], flags: Int32 = 0, deadlineNanos: UInt64? = nil) throws(SystemCallError) {
    try bytes.withBytes { b throws(SystemCallError) in try SystemCalls.live.sendAll(fd, b, flags: flags, deadlineNanos: deadlineNanos) }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a body that throws a `SystemCallError` (the
    /// standard one rethrows, which erases the error's type).
    func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws(SystemCallError) -> T) throws(SystemCallError) -> T {
        try withUnsafeBytes { b in Result { () throws(SystemCallError) in try body(b) } }.get()
    }
}

/// open(2), retried on EINTR.
func openFile(_ path: String, _ flags: Int32) throws(SystemCallError) -> Int32 {
    try retryingInterrupts("open") { open(path, flags) }
}
