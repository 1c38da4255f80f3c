/// Every error HANet reports: a stable code a script can match on, and the
/// context a person needs to fix the cause (file and line, interface, plugin).
public struct HANetError: Error, CustomStringConvertible, Equatable, Sendable {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let config = Code(rawValue: "config")
        public static let kernel = Code(rawValue: "kernel")
        public static let kernelUnsupported = Code(rawValue: "kernel-unsupported")
        public static let plugin = Code(rawValue: "plugin")
        public static let notFound = Code(rawValue: "not-found")
        public static let io = Code(rawValue: "io")
        public static let protocolError = Code(rawValue: "protocol")
        public static let state = Code(rawValue: "state")
        public static let usage = Code(rawValue: "usage")
    }

    public var code: Code
    public var message: String
    /// The errno of the system call that failed, when one did: callers decide on
    /// it (EEXIST, ENOENT, EAGAIN) without reading the message.
    public var errno: Int32?

    public init(_ code: Code, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String { message }
}
