/// The text helpers the daemon used from Foundation's NSString bridge
/// (`trimmingCharacters(in:)`, `padding(toLength:)`, `range(of:)`), in plain
/// Swift: it links FoundationEssentials only, which has none of them.
/// (Fixed-point numbers: `UTCTimestamp.fixed`.)
extension StringProtocol {
    /// Without leading and trailing whitespace and newlines.
    public func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = lastIndex(where: { !$0.isWhitespace })!
        return String(self[first...last])
    }

    /// Padded with spaces (or cut) to exactly `width` characters.
    public func padded(to width: Int) -> String {
        if count >= width { return String(prefix(width)) }
        return String(self) + String(repeating: " ", count: width - count)
    }

    /// The range of the first occurrence of `needle`, nil when absent (or empty).
    public func firstRange(ofText needle: String) -> Range<Index>? {
        let n = Array(needle)
        guard let head = n.first else { return nil }
        var i = startIndex
        while let start = self[i...].firstIndex(of: head) {
            var a = start, k = 0
            while k < n.count, a < endIndex, self[a] == n[k] { a = index(after: a); k += 1 }
            if k == n.count { return start..<a }
            i = index(after: start)
        }
        return nil
    }
}
