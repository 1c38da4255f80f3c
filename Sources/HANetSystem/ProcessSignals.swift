import Dispatch
import FoundationEssentials
import Glibc
import HANetCore

/// Signal handling and process facts for the daemon, kept here so HANetDaemon needs no Glibc.
public enum ProcessSignals {
    public enum Signal: Int32 {
        case terminate = 15, interrupt = 2, hangup = 1
    }

    /// Routes `signals` to `handler` on `queue` (the default disposition is switched off first).
    public static func handle(_ signals: [Signal], on queue: DispatchQueue, handler: @escaping (Signal) -> Void) -> [DispatchSourceSignal] {
        signals.map { s in
            signal(s.rawValue, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: s.rawValue, queue: queue)
            src.setEventHandler { handler(s) }
            src.resume()
            return src
        }
    }

    public static var pid: Int32 { getpid() }

    /// A peer that hangs up before its answer is written (a `hanet status`
    /// that timed out, a metrics scraper that gave up) must cost an EPIPE on
    /// that one socket, not the daemon: SIGPIPE's default is to end the process.
    public static func ignoreBrokenPipes() {
        signal(SIGPIPE, SIG_IGN)
    }

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
        // Standard error that is gone has nobody left to tell.
        try? Array(line.utf8).withBytes { b throws(SystemCallError) in try SystemCalls.live.writeAll(2, b) }
    }
}
