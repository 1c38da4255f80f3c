import FoundationEssentials
import HANetCore
import HANetSystem

/// What a control request asks for: the `command` of a request line.
/// docs/operations.md lists every one (a test holds the two together).
public enum ControlCommand: String, CaseIterable, Codable, Sendable {
    case ping
    case status
    /// Make `to` the active slave.
    case failover
    /// Re-read the plugins' enabled/disabled state file.
    case pluginsReload = "plugins-reload"
    /// Re-read the configuration file.
    case reload
    /// The stored events (`limit`, `after`).
    case events
    /// A stream of events: answered on the streaming path (`Daemon.streamControl`).
    case subscribe
}

/// The control socket's protocol: one JSON object per line each way.
///
/// Requests: `{"command":"status"}`, `{"command":"failover","to":"eth1"}`,
/// `{"command":"plugins-reload"}`, `{"command":"ping"}` (every `ControlCommand`).
/// Answers: `{"ok":true,"status":{…}}` or `{"ok":false,"error":"…","code":"…"}`.
public enum ControlProtocol {
    public struct Request: Codable {
        /// A `ControlCommand`'s raw value; kept as text on the wire so an unknown
        /// one is answered with the list of known ones, not a decoding error.
        public var command: String
        public var to: String?
        /// events: at most this many of the newest (default: all in the ring).
        public var limit: Int? = nil
        /// events/subscribe: only events with a larger `seq` (resume after a reconnect).
        public var after: UInt64? = nil
        public init(command: String, to: String? = nil) { self.command = command; self.to = to }
        public init(_ command: ControlCommand, to: String? = nil) { self.init(command: command.rawValue, to: to) }

        /// The command, or a usage error naming every known one.
        public func parsedCommand() throws -> ControlCommand {
            guard let c = ControlCommand(rawValue: command) else {
                throw HANetError(.usage, "unknown command \"\(command)\"; known: "
                                 + ControlCommand.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return c
        }
    }

    public struct Answer: Codable {
        public var ok: Bool
        public var error: String?
        public var code: String?
        public var status: DaemonStatus?
        /// `events`: the ring's events, oldest first.
        public var events: [DaemonEvent]? = nil
        /// `reload`: what was applied or why it was refused.
        public var reload: ReloadResult? = nil
    }

    /// Sends a request and decodes whatever the daemon answers, a refusal included.
    public static func exchange(_ request: Request, to path: String, timeoutMillis: Int = 5000) throws -> Answer {
        let line = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
        let reply = try UnixSocketClient.request(path: path, line: line, timeoutMillis: timeoutMillis)
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(reply.utf8)) else {
            throw HANetError(.protocolError, "the daemon at \(path) answered something that is not a HANet answer: \(reply.prefix(200))")
        }
        return answer
    }

    /// Sends a request to the daemon at `path` and decodes its answer;
    /// a refusal becomes a thrown HANetError carrying the daemon's words.
    public static func send(_ request: Request, to path: String) throws -> Answer {
        let answer = try exchange(request, to: path)
        if !answer.ok {
            throw HANetError(HANetError.Code(rawValue: answer.code ?? "error"), answer.error ?? "refused")
        }
        return answer
    }
}

extension Daemon {
    func handleControl(_ line: String) -> String {
        let answer: ControlProtocol.Answer
        do {
            guard let req = try? JSONDecoder().decode(ControlProtocol.Request.self, from: Data(line.utf8)) else {
                throw HANetError(.usage, "a request is one JSON object with a \"command\" field")
            }
            switch try req.parsedCommand() {
            case .ping:
                answer = .init(ok: true)
            case .status:
                answer = .init(ok: true, status: status())
            case .failover:
                guard let to = req.to else { throw HANetError(.usage, "failover needs \"to\"") }
                try failover(to: to)
                answer = .init(ok: true, status: status())
            case .pluginsReload:
                executor.sync { reloadPluginState() }
                answer = .init(ok: true)
            case .reload:
                answer = reloadAnswer()
            case .events:
                answer = .init(ok: true, events: ops.events.recent(after: req.after ?? 0, limit: req.limit))
            case .subscribe:
                // The socket server hands subscribe lines to streamControl, never here.
                throw HANetError(.usage, "subscribe is answered with a stream of events, not one answer")
            }
        } catch let e as HANetError {
            answer = .init(ok: false, error: e.message, code: e.code.rawValue)
        } catch {
            answer = .init(ok: false, error: "\(error)", code: "error")
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: (try? enc.encode(answer)) ?? Data(#"{"ok":false}"#.utf8), as: UTF8.self)
    }
}
