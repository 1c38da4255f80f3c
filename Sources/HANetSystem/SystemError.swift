import FoundationEssentials
import Glibc
import struct SystemPackage.Errno

/// Text for errors thrown by FoundationEssentials' file APIs. Without full
/// Foundation there is no `localizedDescription`, and `"\(error)"` prints a
/// CocoaError's whole userInfo; this gives the C library's message instead.
public enum SystemError {
    /// "No such file or directory", "Permission denied", ... for errors that carry an
    /// errno (directly or under a CocoaError); the error's own description otherwise.
    public static func describe(_ error: Error) -> String {
        if let e = error as? POSIXError { return message(e.code.rawValue) }
        if let e = error as? CocoaError {
            if let u = e.underlying as? POSIXError { return message(u.code.rawValue) }
            switch e.code {
            case .fileNoSuchFile, .fileReadNoSuchFile: return message(ENOENT)
            case .fileReadNoPermission, .fileWriteNoPermission: return message(EACCES)
            default: return "error \(e.code.rawValue)"
            }
        }
        return "\(error)"
    }

    /// The C library's text for the errno `code`.
    public static func message(_ code: Int32) -> String { Errno(rawValue: code).description }
}
