import Dispatch
import FoundationEssentials
import Glibc
import HANetCore

/// Signal handling and process facts for the daemon, kept here so HANetDaemon needs no Glibc.
public enum ProcessSignals {
    public enum Signal: Int32 {
        case terminate = 15, interrupt = 2, hangup = 1
        var raw: Int32 { rawValue }
    }

    /// Routes `signals` to `handler` on `queue` (the default disposition is switched off first).
    public static func handle(_ signals: [Signal], on queue: DispatchQueue, handler: @escaping (Signal) -> Void) -> [DispatchSourceSignal] {
        signals.map { s in
            signal(s.raw, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: s.raw, queue: queue)
            src.setEventHandler { handler(s) }
            src.resume()
            return src
        }
    }

    public static var pid: Int32 { getpid() }
    public static var isRoot: Bool { geteuid() == 0 }

    /// The directory holding the running executable (for finding build-tree plugins).
    public static var executableDirectory: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return FilePath.deletingLastComponent(exe)
    }

    /// exit(3): flushes standard output and ends the process.
    public static func exit(_ status: Int32) -> Never { Glibc.exit(status) }

    /// fflush(stdout): what `print` wrote reaches a pipe now, not when the buffer fills.
    public static func flushStandardOutput() { fflush(stdout) }

    public static func writeStderr(_ s: String) {
        let line = s.hasSuffix("\n") ? s : s + "\n"
        line.utf8CString.withUnsafeBufferPointer { buf in
            var p = 0
            let n = buf.count - 1
            while p < n {
                let w = Glibc.write(2, buf.baseAddress! + p, n - p)
                if w < 0 && errno == EINTR { continue }
                if w <= 0 { return }
                p += w
            }
        }
    }
}
