import FoundationEssentials
import HANetCore
import struct SystemPackage.Errno
#if canImport(Glibc)
import Glibc
#endif

/// A shared object mapped into the process: the only place that calls
/// dlopen, dlsym and stat for plugins, so the host above it stays free of
/// Glibc and the loading policy can be read in one file.
///
/// There is deliberately no `close`: the host never dlclose()s a plugin (a
/// plugin's function pointers may still sit in a queue or a timer, and a C
/// plugin may have started threads of its own), so a `DynamicLibrary` simply
/// lives forever.
public final class DynamicLibrary: @unchecked Sendable {
    public let path: String
    private let handle: UnsafeMutableRawPointer

    private init(path: String, handle: UnsafeMutableRawPointer) {
        self.path = path
        self.handle = handle
    }

    /// dlopen(RTLD_NOW | RTLD_LOCAL): every undefined symbol is resolved now,
    /// so a plugin missing a dependency fails here with the loader's words
    /// rather than crashing later; LOCAL keeps one plugin's symbols from
    /// satisfying another's.
    public static func open(_ path: String) throws -> DynamicLibrary {
        _ = dlerror()
        guard let h = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let why = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw HANetError(.plugin, why)
        }
        return DynamicLibrary(path: path, handle: h)
    }

    /// The address of an exported symbol, or nil when the object does not export it.
    public func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        _ = dlerror()
        return dlsym(handle, name)
    }

    /// What lstat says about a path, reduced to what the loading policy needs.
    public struct FileStatus: Equatable, Sendable {
        public enum Kind: String, Sendable { case regular, directory, symlink, other }
        public var kind: Kind
        public var ownerUID: UInt32
        /// Permission bits (07777).
        public var mode: UInt32

        public var groupWritable: Bool { mode & 0o020 != 0 }
        public var worldWritable: Bool { mode & 0o002 != 0 }
    }

    /// lstat(2): a symbolic link is reported as such, never followed, so a
    /// link cannot smuggle in a file from an unchecked folder.
    public static func status(of path: String) throws -> FileStatus {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            let e = SystemCallError.current("lstat")
            throw HANetError(e.errno == .noSuchFileOrDirectory ? .notFound : .io, "\(path): \(e.errno)")
        }
        let fmt = st.st_mode & S_IFMT
        let kind: FileStatus.Kind = fmt == S_IFREG ? .regular : fmt == S_IFDIR ? .directory : fmt == S_IFLNK ? .symlink : .other
        return FileStatus(kind: kind, ownerUID: st.st_uid, mode: UInt32(st.st_mode & 0o7777))
    }

    /// `path` with every symbolic link resolved (realpath(3)), or `path` itself
    /// when it cannot be resolved (it does not exist): what NSString's
    /// `resolvingSymlinksInPath` gave for the plugins directory.
    public static func resolvingSymlinks(_ path: String) -> String {
        guard let p = realpath(path, nil) else { return path }
        defer { free(p) }
        return String(cString: p)
    }

    /// True when the process runs with root's effective uid: only then are
    /// ownership rules enforced (a user's own build tree is theirs to trust).
    public static var runningAsRoot: Bool { geteuid() == 0 }

    /// Why `path` must not be loaded, or nil when it may be. `expect` is the
    /// kind it must be; as root it must also be owned by root and writable by
    /// nobody else, because whoever can write it can run code as root.
    public static func trustProblem(_ path: String, expect: FileStatus.Kind, asRoot: Bool = runningAsRoot) -> String? {
        let st: FileStatus
        do { st = try status(of: path) } catch let e as HANetError { return e.message } catch { return "\(error)" }
        let noun = expect == .directory ? "directory" : "regular file"
        guard st.kind == expect else {
            return "not a \(noun) (it is a \(st.kind == .regular ? "regular file" : st.kind.rawValue))"
        }
        guard asRoot else { return nil }
        if st.ownerUID != 0 {
            return "not owned by root (owner uid \(st.ownerUID)); as root only root-owned plugins are loaded"
        }
        if st.worldWritable || st.groupWritable {
            let who = st.worldWritable ? "world-writable" : "group-writable"
            return "\(who) (mode \(String(st.mode, radix: 8))); as root a plugin \(expect == .directory ? "folder" : "file") must be writable by root only"
        }
        return nil
    }
}
