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
