import FoundationEssentials

/// The TOML reader behind `TOMLDocument.parse`. It works on UTF-8 bytes with
/// a line counter, builds a mutable tree of `TOMLTableBuilder`s so that later
/// headers can add to earlier tables (TOML's `[[link]]` then
/// `[link.detector.x]` semantics), and freezes the tree at the end.
struct TOMLParser {
    private let bytes: [UInt8]
    private let file: String
    private var pos = 0
    private var line = 1
    /// The dotted key being read, so a syntax error inside a value names it.
    private var context = "syntax"

    init(text: String, file: String) {
        self.bytes = Array(text.utf8)
        self.file = file
    }

    // MARK: document

    mutating func parseDocument() throws -> TOMLTable {
        let root = TOMLTableBuilder(line: 1, origin: .implicit)
        var current = root
        var currentName = ""
        while true {
            skipWhitespace()
            guard let c = peek() else { break }
            switch c {
            case UInt8(ascii: "#"):
                try skipComment()
            case UInt8(ascii: "\n"):
                advanceNewline()
            case UInt8(ascii: "\r"):
                try expectNewline()
            case UInt8(ascii: "["):
                let headerLine = line
                let isArray = peek(1) == UInt8(ascii: "[")
                pos += isArray ? 2 : 1
                skipWhitespace()
                let path = try parseKeyPath()
                skipWhitespace()
                context = "[" + path.map(\.name).joined(separator: ".") + "]"
                guard peek() == UInt8(ascii: "]"), !isArray || peek(1) == UInt8(ascii: "]") else {
                    throw error(isArray ? "expected ']]' to close the array-of-tables header" : "expected ']' to close the table header")
                }
                pos += isArray ? 2 : 1
                try expectEndOfLine()
                currentName = path.map(\.name).joined(separator: ".")
                current = try isArray ? openArrayTable(root, path, line: headerLine)
                                      : openTable(root, path, line: headerLine)
                context = "syntax"
            default:
                try parseKeyValue(into: current, tableName: currentName)
                try expectEndOfLine()
                context = "syntax"
            }
        }
        return root.freeze()
    }

    private struct KeyPart { var name: String; var line: Int }

    private mutating func parseKeyValue(into table: TOMLTableBuilder, tableName: String) throws {
        let keyLine = line
        let path = try parseKeyPath()
        let dotted = path.map(\.name).joined(separator: ".")
        context = tableName.isEmpty ? dotted : tableName + "." + dotted
        skipWhitespace()
        guard peek() == UInt8(ascii: "=") else {
            throw error("expected '=' after key '\(dotted)'" + (peek().map { ", found \(describe($0))" } ?? ", found the end of the file"))
        }
        pos += 1
        skipWhitespace()
        let value = try parseValue()
        try insert(value, at: path, keyLine: keyLine, into: table, tableName: tableName)
    }

    /// Places `a.b.c = v` into `table`: `a` and `b` become tables defined by dotted keys.
    private mutating func insert(_ value: TOMLValue, at path: [KeyPart], keyLine: Int,
                                 into table: TOMLTableBuilder, tableName: String) throws {
        var t = table
        var name = tableName
        for part in path.dropLast() {
            name = name.isEmpty ? part.name : name + "." + part.name
            switch t.slots[part.name] {
            case nil:
                let sub = TOMLTableBuilder(line: keyLine, origin: .dottedKey)
                t.add(part.name, .table(sub, keyLine))
                t = sub
            case .table(let sub, let firstLine):
                guard sub.origin == .dottedKey else {
                    throw error("cannot add to table '\(name)' with a dotted key: it was defined on line \(firstLine)", at: keyLine)
                }
                t = sub
            case .value(_, let firstLine), .tableArray(_, let firstLine):
                throw error("key '\(name)' was already defined on line \(firstLine) and is not a table", at: keyLine)
            }
        }
        let last = path[path.count - 1].name
        if let existing = t.slots[last] {
            let where_ = name.isEmpty ? "the top level" : "[\(name)]"
            throw error("duplicate key '\(last)' in \(where_); first defined on line \(existing.line)", at: keyLine)
        }
        t.add(last, .value(value, keyLine))
    }

    private mutating func openTable(_ root: TOMLTableBuilder, _ path: [KeyPart], line headerLine: Int) throws -> TOMLTableBuilder {
        let parent = try walkHeader(root, path.dropLast(), line: headerLine)
        let last = path[path.count - 1].name
        let full = path.map(\.name).joined(separator: ".")
        switch parent.slots[last] {
        case nil:
            let t = TOMLTableBuilder(line: headerLine, origin: .header)
            parent.add(last, .table(t, headerLine))
            return t
        case .table(let t, let firstLine):
            guard t.origin == .implicit else {
                throw error("table [\(full)] is defined twice; first defined on line \(firstLine)", at: headerLine)
            }
            t.origin = .header
            t.line = headerLine
            return t
        case .value(_, let firstLine):
            throw error("table [\(full)] redefines the key '\(full)' set on line \(firstLine)", at: headerLine)
        case .tableArray(_, let firstLine):
            throw error("table [\(full)] redefines the array of tables [[\(full)]] started on line \(firstLine)", at: headerLine)
        }
    }

    private mutating func openArrayTable(_ root: TOMLTableBuilder, _ path: [KeyPart], line headerLine: Int) throws -> TOMLTableBuilder {
        let parent = try walkHeader(root, path.dropLast(), line: headerLine)
        let last = path[path.count - 1].name
        let full = path.map(\.name).joined(separator: ".")
        let t = TOMLTableBuilder(line: headerLine, origin: .header)
        switch parent.slots[last] {
        case nil:
            parent.add(last, .tableArray([t], headerLine))
        case .tableArray(var list, let firstLine):
            list.append(t)
            parent.slots[last] = .tableArray(list, firstLine)
        case .table(_, let firstLine), .value(_, let firstLine):
            throw error("[[\(full)]] redefines '\(full)', already defined on line \(firstLine) as a table or value", at: headerLine)
        }
        return t
    }

    /// Follows a header's leading components, creating implicit tables and
    /// descending into the last element of an array of tables.
    private mutating func walkHeader(_ root: TOMLTableBuilder, _ path: ArraySlice<KeyPart>, line headerLine: Int) throws -> TOMLTableBuilder {
        var t = root
        var name = ""
        for part in path {
            name = name.isEmpty ? part.name : name + "." + part.name
            switch t.slots[part.name] {
            case nil:
                let sub = TOMLTableBuilder(line: headerLine, origin: .implicit)
                t.add(part.name, .table(sub, headerLine))
                t = sub
            case .table(let sub, _):
                guard !sub.isInline else {
                    throw error("cannot extend the inline table '\(name)' with a header", at: headerLine)
                }
                t = sub
            case .tableArray(let list, _):
                t = list[list.count - 1]
            case .value(_, let firstLine):
                throw error("'\(name)' was set to a value on line \(firstLine); it cannot also be a table", at: headerLine)
            }
        }
        return t
    }

    // MARK: keys

    private mutating func parseKeyPath() throws -> [KeyPart] {
        var parts: [KeyPart] = []
        while true {
            let keyLine = line
            parts.append(KeyPart(name: try parseSimpleKey(), line: keyLine))
            skipWhitespace()
            guard peek() == UInt8(ascii: ".") else { return parts }
            pos += 1
            skipWhitespace()
        }
    }

    private mutating func parseSimpleKey() throws -> String {
        guard let c = peek() else { throw error("expected a key, found the end of the file") }
        if c == UInt8(ascii: "\"") {
            if peek(1) == UInt8(ascii: "\""), peek(2) == UInt8(ascii: "\"") { throw error("a key cannot be a multi-line string") }
            return try parseBasicString()
        }
        if c == UInt8(ascii: "'") {
            if peek(1) == UInt8(ascii: "'"), peek(2) == UInt8(ascii: "'") { throw error("a key cannot be a multi-line string") }
            return try parseLiteralString()
        }
        let start = pos
        while let b = peek(), Self.isBareKeyByte(b) { pos += 1 }
        guard pos > start else {
            throw error("expected a key (letters, digits, '_', '-' or a quoted string), found \(describe(c))")
        }
        return String(decoding: bytes[start..<pos], as: UTF8.self)
    }

    private static func isBareKeyByte(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
            || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }

    // MARK: values

    private mutating func parseValue() throws -> TOMLValue {
        let valueLine = line
        guard let c = peek() else { throw error("expected a value, found the end of the file") }
        switch c {
        case UInt8(ascii: "\""):
            if peek(1) == UInt8(ascii: "\""), peek(2) == UInt8(ascii: "\"") {
                return TOMLValue(.string(try parseMultilineBasicString()), line: valueLine)
            }
            return TOMLValue(.string(try parseBasicString()), line: valueLine)
        case UInt8(ascii: "'"):
            if peek(1) == UInt8(ascii: "'"), peek(2) == UInt8(ascii: "'") {
                return TOMLValue(.string(try parseMultilineLiteralString()), line: valueLine)
            }
            return TOMLValue(.string(try parseLiteralString()), line: valueLine)
        case UInt8(ascii: "["):
            return TOMLValue(.array(try parseArray()), line: valueLine)
        case UInt8(ascii: "{"):
            return TOMLValue(.table(try parseInlineTable()), line: valueLine)
        case UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "#"):
            throw error("expected a value after '='")
        default:
            return TOMLValue(try parseScalarWord(), line: valueLine)
        }
    }

    /// Booleans, integers, floats: read up to a delimiter, then decide.
    private mutating func parseScalarWord() throws -> TOMLValue.Kind {
        let start = pos
        while let b = peek(), !Self.isValueTerminator(b) { pos += 1 }
        let word = String(decoding: bytes[start..<pos], as: UTF8.self)
        if word == "true" { return .boolean(true) }
        if word == "false" { return .boolean(false) }
        if let i = Self.integer(word) { return .integer(i) }
        if let d = Self.float(word) { return .float(d) }
        // A date such as 1979-05-27 or a time 07:32:00 reaches here.
        if word.count >= 8, word.first?.isNumber == true, word.contains("-") || word.contains(":") {
            throw error("dates and times are not supported; write \"\(word)\" as a string")
        }
        if word.isEmpty { throw error("expected a value, found \(describe(peek() ?? 0))") }
        if Self.looksNumeric(word) {
            throw error("invalid number '\(word)' (no leading zeros, '_' only between digits, integers fit in 64 bits)")
        }
        throw error("expected a value (string in quotes, number, true/false, array or inline table), found '\(word)'")
    }

    private static func isValueTerminator(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r")
            || b == UInt8(ascii: ",") || b == UInt8(ascii: "]") || b == UInt8(ascii: "}") || b == UInt8(ascii: "#")
    }

    private static func looksNumeric(_ w: String) -> Bool {
        guard let f = w.first else { return false }
        return f.isNumber || ((f == "+" || f == "-") && w.dropFirst().first?.isNumber == true)
    }

    /// Digits with single underscores between them.
    private static func digitsValid(_ s: Substring, _ isDigit: (Character) -> Bool) -> Bool {
        guard let f = s.first, let l = s.last, isDigit(f), isDigit(l) else { return false }
        var prevUnderscore = false
        for ch in s {
            if ch == "_" {
                if prevUnderscore { return false }
                prevUnderscore = true
            } else if isDigit(ch) {
                prevUnderscore = false
            } else {
                return false
            }
        }
        return true
    }

    static func integer(_ word: String) -> Int64? {
        var s = Substring(word)
        if s.hasPrefix("0x") || s.hasPrefix("0o") || s.hasPrefix("0b") {
            let radix = s.hasPrefix("0x") ? 16 : s.hasPrefix("0o") ? 8 : 2
            s = s.dropFirst(2)
            let isDigit: (Character) -> Bool = { ch in ch.isASCII && ch.hexDigitValue.map { $0 < radix } == true }
            guard digitsValid(s, isDigit) else { return nil }
            return Int64(s.filter { $0 != "_" }, radix: radix)
        }
        var negative = false
        if s.first == "+" || s.first == "-" {
            negative = s.first == "-"
            s = s.dropFirst()
        }
        let isDigit: (Character) -> Bool = { $0.isASCII && $0.isNumber }
        guard digitsValid(s, isDigit) else { return nil }
        let digits = s.filter { $0 != "_" }
        if digits.count > 1 && digits.first == "0" { return nil }
        return Int64((negative ? "-" : "") + digits)
    }

    static func float(_ word: String) -> Double? {
        var s = Substring(word)
        var sign = 1.0
        if s.first == "+" || s.first == "-" {
            sign = s.first == "-" ? -1 : 1
            s = s.dropFirst()
        }
        if s == "inf" { return sign * .infinity }
        if s == "nan" { return .nan }
        let isDigit: (Character) -> Bool = { $0.isASCII && $0.isNumber }
        // integer part [. fraction] [e|E [+-] exponent], with at least one of fraction/exponent
        var mantissa = s
        var exponent: Substring?
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = s[..<e]
            exponent = s[s.index(after: e)...]
        }
        var intPart = mantissa
        var fraction: Substring?
        if let dot = mantissa.firstIndex(of: ".") {
            intPart = mantissa[..<dot]
            fraction = mantissa[mantissa.index(after: dot)...]
        }
        guard fraction != nil || exponent != nil, digitsValid(intPart, isDigit) else { return nil }
        let intDigits = intPart.filter { $0 != "_" }
        if intDigits.count > 1 && intDigits.first == "0" { return nil }
        if let f = fraction, !digitsValid(f, isDigit) { return nil }
        if var e = exponent {
            if e.first == "+" || e.first == "-" { e = e.dropFirst() }
            guard digitsValid(e, isDigit) else { return nil }
        }
        guard let d = Double(s.filter { $0 != "_" }) else { return nil }
        return sign * d
    }

    private mutating func parseArray() throws -> [TOMLValue] {
        pos += 1 // [
        var items: [TOMLValue] = []
        while true {
            try skipWhitespaceNewlinesAndComments()
            guard let c = peek() else { throw error("unterminated array: expected ']'") }
            if c == UInt8(ascii: "]") { pos += 1; return items }
            items.append(try parseValue())
            try skipWhitespaceNewlinesAndComments()
            guard let d = peek() else { throw error("unterminated array: expected ']'") }
            if d == UInt8(ascii: ",") { pos += 1; continue }
            if d == UInt8(ascii: "]") { pos += 1; return items }
            throw error("expected ',' or ']' in array, found \(describe(d))")
        }
    }

    private mutating func parseInlineTable() throws -> TOMLTable {
        let tableLine = line
        pos += 1 // {
        let t = TOMLTableBuilder(line: tableLine, origin: .header)
        t.isInline = true
        let outerContext = context
        skipWhitespace()
        if peek() == UInt8(ascii: "}") { pos += 1; return t.freeze() }
        while true {
            skipWhitespace()
            let keyLine = line
            let path = try parseKeyPath()
            context = outerContext + "." + path.map(\.name).joined(separator: ".")
            skipWhitespace()
            guard peek() == UInt8(ascii: "=") else { throw error("expected '=' after key in inline table") }
            pos += 1
            skipWhitespace()
            let v = try parseValue()
            try insert(v, at: path, keyLine: keyLine, into: t, tableName: outerContext)
            context = outerContext
            skipWhitespace()
            guard let c = peek() else { throw error("unterminated inline table: expected '}'") }
            if c == UInt8(ascii: ",") { pos += 1; continue }
            if c == UInt8(ascii: "}") { pos += 1; return t.freeze() }
            throw error("expected ',' or '}' in inline table (inline tables are on one line), found \(describe(c))")
        }
    }

    // MARK: strings

    private mutating func parseBasicString() throws -> String {
        pos += 1
        var out: [UInt8] = []
        while true {
            guard let c = peek() else { throw error("unterminated string: expected '\"'") }
            switch c {
            case UInt8(ascii: "\""):
                pos += 1
                return try utf8(out)
            case UInt8(ascii: "\\"):
                try parseEscape(into: &out)
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                throw error("unterminated string: a basic string ends on its line (use \"\"\" for several lines)")
            default:
                if c < 0x20 && c != UInt8(ascii: "\t") || c == 0x7F { throw error("control character \(describe(c)) in string; use an escape") }
                out.append(c)
                pos += 1
            }
        }
    }

    private mutating func parseMultilineBasicString() throws -> String {
        pos += 3
        if peek() == UInt8(ascii: "\n") { advanceNewline() } else if peek() == UInt8(ascii: "\r"), peek(1) == UInt8(ascii: "\n") { pos += 1; advanceNewline() }
        var out: [UInt8] = []
        while true {
            guard let c = peek() else { throw error("unterminated multi-line string: expected '\"\"\"'") }
            if c == UInt8(ascii: "\""), peek(1) == UInt8(ascii: "\""), peek(2) == UInt8(ascii: "\"") {
                pos += 3
                // Up to two quotes right before the closing delimiter belong to the string.
                var extra = 0
                while extra < 2, peek() == UInt8(ascii: "\"") { out.append(c); pos += 1; extra += 1 }
                return try utf8(out)
            }
            if c == UInt8(ascii: "\\") {
                // A line-ending backslash trims the newline and following whitespace.
                var p = pos + 1
                while p < bytes.count, bytes[p] == UInt8(ascii: " ") || bytes[p] == UInt8(ascii: "\t") { p += 1 }
                if p < bytes.count, bytes[p] == UInt8(ascii: "\n") || bytes[p] == UInt8(ascii: "\r") {
                    pos = p
                    while let w = peek(), w == UInt8(ascii: " ") || w == UInt8(ascii: "\t") || w == UInt8(ascii: "\n") || w == UInt8(ascii: "\r") {
                        if w == UInt8(ascii: "\n") { advanceNewline() } else { pos += 1 }
                    }
                    continue
                }
                try parseEscape(into: &out)
                continue
            }
            if c == UInt8(ascii: "\n") { out.append(c); advanceNewline(); continue }
            if c < 0x20 && c != UInt8(ascii: "\t") && c != UInt8(ascii: "\r") || c == 0x7F {
                throw error("control character \(describe(c)) in string; use an escape")
            }
            out.append(c)
            pos += 1
        }
    }

    private mutating func parseLiteralString() throws -> String {
        pos += 1
        let start = pos
        while true {
            guard let c = peek() else { throw error("unterminated literal string: expected \"'\"") }
            if c == UInt8(ascii: "'") { break }
            if c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") { throw error("unterminated literal string: it ends on its line") }
            if c < 0x20 && c != UInt8(ascii: "\t") || c == 0x7F { throw error("control character \(describe(c)) in string") }
            pos += 1
        }
        let s = try utf8(Array(bytes[start..<pos]))
        pos += 1
        return s
    }

    private mutating func parseMultilineLiteralString() throws -> String {
        pos += 3
        if peek() == UInt8(ascii: "\n") { advanceNewline() } else if peek() == UInt8(ascii: "\r"), peek(1) == UInt8(ascii: "\n") { pos += 1; advanceNewline() }
        var out: [UInt8] = []
        while true {
            guard let c = peek() else { throw error("unterminated multi-line literal string: expected \"'''\"") }
            if c == UInt8(ascii: "'"), peek(1) == UInt8(ascii: "'"), peek(2) == UInt8(ascii: "'") {
                pos += 3
                var extra = 0
                while extra < 2, peek() == UInt8(ascii: "'") { out.append(c); pos += 1; extra += 1 }
                return try utf8(out)
            }
            if c == UInt8(ascii: "\n") { out.append(c); advanceNewline(); continue }
            out.append(c)
            pos += 1
        }
    }

    private mutating func parseEscape(into out: inout [UInt8]) throws {
        pos += 1 // backslash
        guard let e = peek() else { throw error("unterminated escape sequence") }
        pos += 1
        switch e {
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "e"): out.append(0x1B)
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let n = e == UInt8(ascii: "u") ? 4 : 8
            guard pos + n <= bytes.count else { throw error("escape \\\(Character(Unicode.Scalar(e))) needs \(n) hex digits") }
            let hex = String(decoding: bytes[pos..<pos + n], as: UTF8.self)
            guard hex.allSatisfy(\.isHexDigit), let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) else {
                throw error("escape \\\(Character(Unicode.Scalar(e)))\(hex) is not a Unicode scalar value")
            }
            pos += n
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        default:
            throw error("unknown escape sequence '\\\(describeRaw(e))' (expected one of \\b \\t \\n \\f \\r \\e \\\" \\\\ \\uXXXX \\UXXXXXXXX)")
        }
    }

    private func utf8(_ b: [UInt8]) throws -> String {
        guard let s = String(validating: b, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return s
    }

    // MARK: lexing helpers

    private func peek(_ ahead: Int = 0) -> UInt8? {
        pos + ahead < bytes.count ? bytes[pos + ahead] : nil
    }

    private mutating func skipWhitespace() {
        while let c = peek(), c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { pos += 1 }
    }

    private mutating func advanceNewline() {
        pos += 1
        line += 1
    }

    private mutating func expectNewline() throws {
        if peek() == UInt8(ascii: "\r") {
            guard peek(1) == UInt8(ascii: "\n") else { throw error("carriage return not followed by a newline") }
            pos += 1
        }
        advanceNewline()
    }

    private mutating func skipComment() throws {
        while let c = peek(), c != UInt8(ascii: "\n") {
            if c == UInt8(ascii: "\r"), peek(1) == UInt8(ascii: "\n") { break }
            if c < 0x20 && c != UInt8(ascii: "\t") || c == 0x7F { throw error("control character \(describe(c)) in comment") }
            pos += 1
        }
    }

    private mutating func skipWhitespaceNewlinesAndComments() throws {
        while let c = peek() {
            switch c {
            case UInt8(ascii: " "), UInt8(ascii: "\t"): pos += 1
            case UInt8(ascii: "\n"): advanceNewline()
            case UInt8(ascii: "\r"): try expectNewline()
            case UInt8(ascii: "#"): try skipComment()
            default: return
            }
        }
    }

    /// After a statement only whitespace and a comment may follow on the line.
    private mutating func expectEndOfLine() throws {
        skipWhitespace()
        guard let c = peek() else { return }
        switch c {
        case UInt8(ascii: "#"):
            try skipComment()
            if peek() != nil { try expectNewline() }
        case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
            try expectNewline()
        default:
            throw error("expected the end of the line, found \(describe(c)) (one key = value per line)")
        }
    }

    private func describe(_ b: UInt8) -> String {
        switch b {
        case UInt8(ascii: "\n"): return "the end of the line"
        case 0x20...0x7E: return "'\(Character(Unicode.Scalar(b)))'"
        default: return "byte 0x" + String(b, radix: 16)
        }
    }

    private func describeRaw(_ b: UInt8) -> String {
        (0x21...0x7E).contains(b) ? String(Character(Unicode.Scalar(b))) : "0x" + String(b, radix: 16)
    }

    private func error(_ message: String, at errorLine: Int? = nil) -> ConfigError {
        ConfigError(problems: [ConfigProblem(file: file, line: errorLine ?? line, key: context, message: message)])
    }
}
