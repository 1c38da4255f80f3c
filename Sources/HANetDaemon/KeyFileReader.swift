import Glibc
import HANetCore
import HANetSystem

extension PTAKeyFile {
    /// The largest key file read: a key is at most 256 hex digits, so
    /// anything near this is not a key file (and is not read into memory).
    static let maximumFileBytes = 64 * 1024

    /// Reads, checks and parses the key file at `path` (`[[sibling]] key_file`).
    /// The file is opened once and the opened descriptor is checked (`fstat`),
    /// so what is checked is what is read. It must be a regular file; with
    /// `strict` (the default when running as root) it must also be owned by
    /// root and have no permission bits for group or others, as OpenSSH's
    /// StrictModes asks of private keys: the key lets its holder take over
    /// this server's addresses. Errors name the file and the fix.
    public static func read(_ path: String, strict: Bool = geteuid() == 0) throws -> [UInt8] {
        // O_NONBLOCK: opening a FIFO planted at the path must not hang the daemon.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT {
                throw HANetError(.config, "key file \(path) does not exist (create one with `openssl rand -hex 32 > \(path)` and `chmod 600 \(path)`)")
            }
            throw HANetError(.config, "cannot read key file \(path): \(SystemCallError("open", code: e)) (the daemon runs as root; check its permissions)")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw HANetError(.config, "cannot read key file \(path)", SystemCallError.current("fstat"))
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw HANetError(.config, "key file \(path) is not a regular file; expected a file of hexadecimal text")
        }
        if strict { try checkOwnerAndMode(path, uid: st.st_uid, mode: st.st_mode) }
        guard st.st_size <= maximumFileBytes else {
            throw HANetError(.config, "key file \(path) is \(st.st_size) bytes; expected a key of at most \(maximumBytes * 2) hex digits")
        }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size) + 1)
        var count = 0
        while count < bytes.count {
            let n = bytes[count...].withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw HANetError(.config, "cannot read key file \(path)", SystemCallError.current("read")) }
            if n == 0 { break }
            count += n
            guard count <= maximumFileBytes else {
                throw HANetError(.config, "key file \(path) grew past \(maximumFileBytes) bytes while it was read; expected a key of at most \(maximumBytes * 2) hex digits")
            }
            if count == bytes.count { bytes += [UInt8](repeating: 0, count: 4096) }
        }
        guard let text = String(validating: bytes[0..<count], as: UTF8.self) else {
            throw HANetError(.config, "key file \(path): expected hexadecimal text (such as the output of `openssl rand -hex 32`), found bytes that are not UTF-8")
        }
        return try parse(text, file: path)
    }

    /// Root-owned, no bits for group or others; one message names every fault and its fix.
    static func checkOwnerAndMode(_ path: String, uid: uid_t, mode: mode_t) throws {
        var faults: [String] = []
        var fixes: [String] = []
        if uid != 0 {
            faults.append("is owned by uid \(uid), not root")
            fixes.append("chown root:root \(path)")
        }
        let open = mode & 0o077
        if open != 0 {
            let what = open & 0o044 != 0 ? "readable" : open & 0o022 != 0 ? "writable" : "executable"
            faults.append("is \(what) by group or others (mode \(octal(mode & 0o7777)))")
            fixes.append("chmod 600 \(path)")
        }
        guard !faults.isEmpty else { return }
        throw HANetError(.config, "key file \(path) \(faults.joined(separator: " and ")); run \(fixes.joined(separator: " && "))")
    }

    static func octal(_ mode: mode_t) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
