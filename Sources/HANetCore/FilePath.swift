/// Path-string operations NSString offered (`lastPathComponent`,
/// `deletingLastPathComponent`, `appendingPathComponent`), on plain strings:
/// FoundationEssentials has them only on URL.
public enum FilePath {
    /// The last component: "/a/b/" → "b", "/" → "/", "" → "".
    public static func lastComponent(_ path: String) -> String {
        let trimmed = trimmingTrailingSlashes(path)
        if trimmed == "/" || trimmed.isEmpty { return trimmed }
        guard let slash = trimmed.lastIndex(of: "/") else { return trimmed }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// The path without its last component: "/a/b" → "/a", "/a" → "/", "a" → "", "/" → "/".
    public static func deletingLastComponent(_ path: String) -> String {
        let trimmed = trimmingTrailingSlashes(path)
        if trimmed == "/" { return "/" }
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        let head = trimmingTrailingSlashes(String(trimmed[..<slash]))
        return head.isEmpty ? "/" : head
    }

    /// `component` appended with one slash between: ("/a/", "b") → "/a/b", ("", "b") → "b".
    public static func appending(_ path: String, _ component: String) -> String {
        if path.isEmpty { return component }
        let base = trimmingTrailingSlashes(path)
        let tail = component.drop { $0 == "/" }
        return base == "/" ? "/" + tail : base + "/" + tail
    }

    /// Trailing slashes removed, except for the root itself.
    static func trimmingTrailingSlashes(_ path: String) -> String {
        var s = Substring(path)
        while s.count > 1, s.last == "/" { s = s.dropLast() }
        return String(s)
    }
}
