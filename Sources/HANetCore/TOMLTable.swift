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
