import FoundationEssentials
import HANetCore
import HANetSystem

/// The daemon's log: one line per event on stderr, with wall time, so that
/// journald or a terminal shows what happened and when. Lines below
/// `minimumLevel` are dropped: by default `debug` (plugins' chatter), unless
/// `HANET_LOG_LEVEL=debug` is in the daemon's environment.
final class DaemonLog {
    static let levels = ["debug", "info", "warning", "error"]
    let node: String
    let minimumLevel: Int
    private let lock = Lock()

    init(node: String, minimumLevel: Int = 1) {
        self.node = node
        self.minimumLevel = minimumLevel
    }

    /// The level `HANET_LOG_LEVEL` names (debug, info, warning, error), or info.
    static func level(from environment: [String: String]) -> Int {
        environment["HANET_LOG_LEVEL"].flatMap { levels.firstIndex(of: $0.lowercased()) } ?? 1
    }

    static func timestamp(_ d: Date) -> String {
        UTCTimestamp.iso8601(secondsSince1970: d.timeIntervalSince1970)
    }

    func write(level: Int, _ message: String) {
        let level = min(max(level, 0), 3)
        guard level >= minimumLevel else { return }
        let name = Self.levels[level]
        let line = "\(Self.timestamp(Date())) hanet[\(node)] \(name): \(message)"
        lock.lock(); defer { lock.unlock() }
        ProcessSignals.writeStderr(line)
    }

    func info(_ m: String) { write(level: 1, m) }
    func warning(_ m: String) { write(level: 2, m) }
    func error(_ m: String) { write(level: 3, m) }
}
