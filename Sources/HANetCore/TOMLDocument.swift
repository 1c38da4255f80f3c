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
