import FoundationEssentials
import HANetCore
import HANetSystem

/// The daemon's log: one line per event on stderr, with wall time, so that
/// journald or a terminal shows what happened and when.
final class DaemonLog {
    let node: String
    private let lock = Lock()

    init(node: String) { self.node = node }

    static func timestamp(_ d: Date) -> String {
        UTCTimestamp.iso8601(secondsSince1970: d.timeIntervalSince1970)
    }

    func write(level: Int, _ message: String) {
        let name = ["debug", "info", "warning", "error"][min(max(level, 0), 3)]
        let line = "\(Self.timestamp(Date())) hanet[\(node)] \(name): \(message)"
        lock.lock(); defer { lock.unlock() }
        ProcessSignals.writeStderr(line)
    }

    func info(_ m: String) { write(level: 1, m) }
    func warning(_ m: String) { write(level: 2, m) }
    func error(_ m: String) { write(level: 3, m) }
}
