/// A parsed TOML file in which every key and every value remembers its line,
/// so that the configuration checker can point at the exact line of a
/// problem. TOMLKit drops positions, hence this small strict parser.
///
/// Supported: comments, `[table]`, `[a.b.c]`, `[[array.of.tables]]`, bare,
/// quoted and dotted keys, basic and literal strings (single- and
/// multi-line), integers (decimal with `_`, hex/octal/binary), floats
/// (including `inf`/`nan`), booleans, arrays (multi-line, trailing comma,
/// nested) and inline tables. Dates and times are rejected with a clear error
/// because nothing in HANet's configuration uses them.
public struct TOMLDocument: Equatable, Sendable {
    public var file: String
    public var root: TOMLTable

    public init(file: String, root: TOMLTable) {
        self.file = file
        self.root = root
    }

    /// Parses `text`; the first syntax error is thrown as a `ConfigError`
    /// with one problem naming `file`, the line, and the key being read.
    public static func parse(_ text: String, file: String) throws -> TOMLDocument {
        var parser = TOMLParser(text: text, file: file)
        let root = try parser.parseDocument()
        return TOMLDocument(file: file, root: root)
    }
}

/// A table: its entries in file order. `line` is the line of its header, of
/// the key that created it, or 1 for the root.
public struct TOMLTable: Equatable, Sendable {
    public var line: Int
    public private(set) var entries: [TOMLEntry]

    public init(line: Int, entries: [TOMLEntry] = []) {
        self.line = line
        self.entries = entries
    }

    public subscript(key: String) -> TOMLEntry? {
        entries.first { $0.key == key }
    }

    public var keys: [String] { entries.map(\.key) }
}

/// One `key = value` (or sub-table, or array of tables) with the line of its key.
public struct TOMLEntry: Equatable, Sendable {
    public var key: String
    public var keyLine: Int
    public var value: TOMLValue

    public init(key: String, keyLine: Int, value: TOMLValue) {
        self.key = key
        self.keyLine = keyLine
        self.value = value
    }
}

/// A value with the line where it starts.
public struct TOMLValue: Equatable, Sendable {
    public indirect enum Kind: Equatable, Sendable {
        case string(String)
        case integer(Int64)
        case float(Double)
        case boolean(Bool)
        case array([TOMLValue])
        case table(TOMLTable)
        /// `[[name]]` tables, in file order.
        case tableArray([TOMLTable])
    }

    public var kind: Kind
    public var line: Int

    public init(_ kind: Kind, line: Int) {
        self.kind = kind
        self.line = line
    }

    /// What the value is, for "expected X, got Y" messages.
    public var typeName: String {
        switch kind {
        case .string: return "a string"
        case .integer: return "an integer"
        case .float: return "a float"
        case .boolean: return "a boolean"
        case .array: return "an array"
        case .table: return "a table"
        case .tableArray: return "an array of tables"
        }
    }

    /// The value as it would be written, for messages (strings quoted).
    public var rendered: String {
        switch kind {
        case .string(let s): return "\"" + s + "\""
        case .integer(let i): return String(i)
        case .float(let d): return String(d)
        case .boolean(let b): return b ? "true" : "false"
        case .array(let a): return "[" + a.map(\.rendered).joined(separator: ", ") + "]"
        case .table: return "{...}"
        case .tableArray: return "[[...]]"
        }
    }
}
