import Foundation
import Glibc

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
        return (exe as NSString).deletingLastPathComponent
    }

    public static func writeStderr(_ s: String) {
        FileHandle.standardError.write((s.hasSuffix("\n") ? s : s + "\n").data(using: .utf8)!)
    }
}
