/// BIRD 2's control-socket replies (what birdc reads), parsed without I/O.
///
/// Each reply line starts with a four-digit code and a separator: '-' when
/// more lines follow, ' ' on the last line of the reply. A line starting
/// with a space continues the previous line's code. Codes 0xxx are
/// successes (0000 "OK", 0001 the greeting, 0003 "Reconfigured", 0020
/// "Configuration OK", ...), 1xxx table rows, 2xxx table headings, 8xxx
/// run-time errors (8002 a configuration file error, 8003 "No protocols
/// match") and 9xxx parse errors of the command (9001 syntax error).
public struct BIRDReply: Equatable, Sendable {
    public struct Line: Equatable, Sendable {
        public var code: Int
        public var text: String
        public init(code: Int, text: String) { self.code = code; self.text = text }
    }

    public var lines: [Line]
    /// The code of the last line: the reply's outcome.
    public var code: Int { lines.last?.code ?? 0 }
    public var isError: Bool { code >= 8000 }
    /// The final line's text (the message of an error).
    public var message: String { lines.last?.text ?? "" }
    /// The text of the lines with code `code`.
    public func texts(_ code: Int) -> [String] { lines.filter { $0.code == code }.map(\.text) }

    public init(lines: [Line]) { self.lines = lines }

    /// Collects lines until a reply is complete.
    public struct Parser: Sendable {
        private var pending: [Line] = []
        private var lastCode: Int?
        public init() {}

        /// Feeds one line (without its newline). A complete reply, nil while
        /// more lines belong to it; throws on a line that is not BIRD's format.
        public mutating func feed(_ raw: String) throws(BIRDReplyError) -> BIRDReply? {
            let u = Array(raw.utf8)
            if u.first == 0x20 {
                guard let c = lastCode else { throw .malformed(raw) }
                pending.append(Line(code: c, text: String(decoding: u.dropFirst(), as: UTF8.self)))
                return nil
            }
            guard u.count >= 5, u[0..<4].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), u[4] == 0x2D || u[4] == 0x20,
                  let code = Int(String(decoding: u[0..<4], as: UTF8.self)) else {
                throw .malformed(raw)
            }
            pending.append(Line(code: code, text: String(decoding: u[5...], as: UTF8.self)))
            lastCode = code
            guard u[4] == 0x20 else { return nil }
            defer { pending = []; lastCode = nil }
            return BIRDReply(lines: pending)
        }
    }
}

public enum BIRDReplyError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    public var description: String { "not a BIRD reply line: \"\(String(malformed.prefix(80)))\"" }
    private var malformed: String { if case .malformed(let s) = self { return s }; return "" }
}

/// One row of `show protocols`.
public struct BIRDProtocol: Equatable, Sendable {
    public enum State: Equatable, Sendable {
        case up, down, start, stop, flush
        case other(String)
        init(_ s: String) {
            switch s {
            case "up": self = .up
            case "down": self = .down
            case "start": self = .start
            case "stop": self = .stop
            case "flush": self = .flush
            default: self = .other(s)
            }
        }
    }

    public var name: String
    /// "BGP", "Static", "Kernel", "BFD", ...
    public var proto: String
    public var table: String
    public var state: State
    public var since: String
    /// What BIRD adds: for BGP its session state ("Established", "Active",
    /// "Idle") and the last error.
    public var info: String

    /// A BGP session's state, the first word of `info`; nil for other protocols.
    public var bgpState: String? {
        guard proto == "BGP" else { return nil }
        return info.split(separator: " ").first.map(String.init) ?? ""
    }

    /// The rows of a `show protocols` reply (code 1002; the 2002 heading skipped).
    public static func list(_ reply: BIRDReply) -> [BIRDProtocol] {
        reply.texts(1002).compactMap(parse)
    }

    /// "name proto table state since [info]"; since is "hh:mm:ss.sss" or, with
    /// an ISO time format, a date and a time.
    static func parse(_ row: String) -> BIRDProtocol? {
        let words = row.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard words.count >= 5 else { return nil }
        var sinceWords = 1
        if words[4].count == 10, words[4].filter({ $0 == "-" }).count == 2, words.count >= 6 { sinceWords = 2 }
        let rest = words.dropFirst(4 + sinceWords).joined(separator: " ")
        // Info keeps BIRD's own spacing collapsed: "Idle Error: BFD session down".
        return BIRDProtocol(name: words[0], proto: words[1], table: words[2], state: State(words[3]),
                            since: words[4..<(4 + sinceWords)].joined(separator: " "), info: rest)
    }
}
