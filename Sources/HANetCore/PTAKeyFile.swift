/// The shared PTA key of a sibling (`[[sibling]] key_file`): hexadecimal
/// text, so it can be made with `openssl rand -hex 32` and copied to both
/// servers by hand. Lines starting with '#' are comments; whitespace is
/// ignored. At least 16 bytes (128 bits) are required because a short key
/// would let anyone on the private link forge a TAKEOVER. The daemon reads the
/// file (and checks its permissions); this only decides what its text means.
public enum PTAKeyFile {
    public static let minimumBytes = 16
    public static let maximumBytes = 128

    public static func parse(_ text: String, file: String) throws -> [UInt8] {
        var nibbles: [UInt8] = []
        var line = 1
        var inComment = false
        var atLineStart = true
        // Scalars, not Characters: "\r\n" is one Character and would hide the line break.
        for ch in text.unicodeScalars {
            if ch == "\n" { line += 1; inComment = false; atLineStart = true; continue }
            if inComment || ch == " " || ch == "\t" || ch == "\r" { continue }
            if ch == "#" && atLineStart { inComment = true; continue }
            atLineStart = false
            guard ch.isASCII, let v = Character(ch).hexDigitValue else {
                throw HANetError(.config, "\(file):\(line): expected hexadecimal key text (such as the output of `openssl rand -hex 32`), found '\(Character(ch))'")
            }
            nibbles.append(UInt8(v))
        }
        guard nibbles.count % 2 == 0 else {
            throw HANetError(.config, "\(file): expected an even number of hex digits (two per byte), got \(nibbles.count)")
        }
        let count = nibbles.count / 2
        guard (minimumBytes...maximumBytes).contains(count) else {
            throw HANetError(.config, "\(file): expected a key of \(minimumBytes) to \(maximumBytes) bytes (\(minimumBytes * 2) to \(maximumBytes * 2) hex digits), got \(count) bytes")
        }
        return stride(from: 0, to: nibbles.count, by: 2).map { nibbles[$0] << 4 | nibbles[$0 + 1] }
    }
}
