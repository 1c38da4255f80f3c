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
