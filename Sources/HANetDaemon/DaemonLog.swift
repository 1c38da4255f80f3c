import FoundationEssentials
import Glibc
import HANetCore
import HANetSystem
import Logging

/// The daemon's log: a swift-log `Logger` whose handler (`DaemonLogHandler`)
/// writes one line per message on stderr. Lines below the configured level
/// are dropped: by default `debug` (plugins' chatter), unless
/// `HANET_LOG_LEVEL` names another level in the daemon's environment.
///
/// `DaemonLog`'s own levels are the plugin ABI's (`hanet_log_level`):
/// 0 debug, 1 info, 2 warning, 3 error; `write(level:_:)` takes them as a
/// plugin passes them, so a plugin's level is honoured like the daemon's own.
final class DaemonLog {
    /// The names of levels 0...3, as `HANET_LOG_LEVEL` accepts them.
    static let levels = ["debug", "info", "warning", "error"]
    let node: String
    let minimumLevel: Int
    /// The swift-log logger behind every line; parts may log through it directly.
    let logger: Logger

    /// Writes to stderr, with journal priority prefixes when stderr is the journal.
    convenience init(node: String, minimumLevel: Int = 1) {
        self.init(node: node, minimumLevel: minimumLevel,
                  format: DaemonLogHandler.Format.detect(environment: DaemonLog.processEnvironment(["JOURNAL_STREAM"])),
                  sink: ProcessSignals.writeStderr)
    }

    /// `sink` receives each line (without its newline); tests capture it.
    init(node: String, minimumLevel: Int, format: DaemonLogHandler.Format, sink: @escaping @Sendable (String) -> Void) {
        self.node = node
        self.minimumLevel = Self.clamp(minimumLevel)
        let handler = DaemonLogHandler(node: node, format: format, logLevel: Self.swiftLogLevel(minimumLevel), sink: sink)
        self.logger = Logger(label: "hanet", factory: { _ in handler })
    }

    /// The level `HANET_LOG_LEVEL` names (debug, info, warning, error, any case), or info.
    /// Another value is reported on stderr (not silently ignored) and logs at info.
    static func level(from environment: [String: String]) -> Int {
        guard let value = environment["HANET_LOG_LEVEL"] else { return 1 }
        if let level = levels.firstIndex(of: value.lowercased()) { return level }
        ProcessSignals.writeStderr("hanet: HANET_LOG_LEVEL=\"\(value)\" is not one of \(levels.joined(separator: ", ")); logging at info")
        return 1
    }

    static func timestamp(_ d: Date) -> String {
        UTCTimestamp.iso8601(secondsSince1970: d.timeIntervalSince1970)
    }

    /// The swift-log level of an ABI level; out-of-range values (a plugin may pass any int) are clamped.
    static func swiftLogLevel(_ level: Int) -> Logger.Level {
        [Logger.Level.debug, .info, .warning, .error][clamp(level)]
    }

    private static func clamp(_ level: Int) -> Int { min(max(level, 0), levels.count - 1) }

    /// The named variables of the process environment (getenv: no Foundation).
    static func processEnvironment(_ names: [String]) -> [String: String] {
        var env: [String: String] = [:]
        for n in names { if let v = getenv(n) { env[n] = String(cString: v) } }
        return env
    }

    func write(level: Int, _ message: String) {
        logger.log(level: Self.swiftLogLevel(level), "\(message)")
    }

    /// A plugin's line, as the host's log callback passes it (`PluginHost.Logger`):
    /// at the plugin's own level, so its debug lines stay out of an info log.
    func plugin(_ id: String, _ level: Int32, _ message: String) {
        write(level: Int(level), "plugin \(id): \(message)")
    }

    func debug(_ m: String) { write(level: 0, m) }
    func info(_ m: String) { write(level: 1, m) }
    func warning(_ m: String) { write(level: 2, m) }
    func error(_ m: String) { write(level: 3, m) }
}

/// Formats a swift-log event as one line of the daemon's log and hands it to a sink.
///
/// - `human`: `2026-01-02T03:04:05.678Z hanet[s1] warning: message`, for a terminal or a file.
/// - `journal`: `<4>hanet[s1] warning: message`, each line of it so prefixed: the journal reads the `<N>` syslog
///   priority prefix off each stderr line (systemd.exec, SyslogLevelPrefix=, on by
///   default) and stamps the time itself, so `journalctl -p warning` selects by level.
struct DaemonLogHandler: LogHandler {
    enum Format: Equatable, Sendable {
        case human
        case journal

        /// `journal` when stderr is the stream systemd connected to the journal: systemd sets
        /// JOURNAL_STREAM to that stream's "device:inode" (systemd.exec(5)), and a child whose
        /// stderr was redirected keeps the variable but not the stream, so both must match.
        static func detect(environment: [String: String], stderrIdentity: (dev: UInt64, ino: UInt64)? = stderrIdentity()) -> Format {
            guard let stream = environment["JOURNAL_STREAM"], let id = stderrIdentity else { return .human }
            let parts = stream.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return .human }
            return dev == id.dev && ino == id.ino ? .journal : .human
        }

        /// fstat(2) of fd 2: its device and inode, nil when it is closed.
        static func stderrIdentity() -> (dev: UInt64, ino: UInt64)? {
            var st = stat()
            guard fstat(2, &st) == 0 else { return nil }
            return (UInt64(st.st_dev), UInt64(st.st_ino))
        }
    }

    let node: String
    let format: Format
    let sink: @Sendable (String) -> Void
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    /// One line at a time, whichever thread logs.
    private let lock = Lock()

    init(node: String, format: Format, logLevel: Logger.Level, sink: @escaping @Sendable (String) -> Void) {
        self.node = node
        self.format = format
        self.logLevel = logLevel
        self.sink = sink
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The syslog priority (sd-daemon.h SD_ERR ... SD_DEBUG) of a level.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// The line for one message; `now` is the wall time the human format shows.
    func line(level: Logger.Level, message: String, metadata extra: Logger.Metadata?, now: Date) -> String {
        var text = "hanet[\(node)] \(level.rawValue): \(message)"
        let all = metadata.merging(extra ?? [:]) { $1 }
        if !all.isEmpty { text += " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
        switch format {
        case .human: return "\(DaemonLog.timestamp(now)) \(text)"
        case .journal:
            // The journal takes each stderr line as an entry: every line of a
            // multi-line message carries the priority, not only the first.
            let prefix = "<\(Self.priority(level))>"
            return text.split(separator: "\n", omittingEmptySubsequences: false).map { prefix + $0 }.joined(separator: "\n")
        }
    }

    func log(event: LogEvent) {
        let text = line(level: event.level, message: event.message.description, metadata: event.metadata, now: Date())
        lock.withLock { sink(text) }
    }
}
