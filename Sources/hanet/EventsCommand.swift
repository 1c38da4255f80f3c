import ArgumentParser
import FoundationEssentials
import HANetCore
import HANetDaemon
import HANetSystem

/// `hanet events`: what happened, from the daemon's event ring.
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Show the daemon's recent events, or follow them live.",
        discussion: """
        The daemon keeps its last 1000 events: start and ready, switches of the active \
        slave, detector verdict changes and slave health changes, PTA messages (TAKEOVER, \
        RELEASE, REFUSE, HELLO sent and received; RENEW and ACK are only counted in the \
        metrics), PTA services started, adopted and stopped, in the routed mode this \
        server's addresses announced and withdrawn, BIRD answering or not and its protocols' \
        state changes, and configuration reloads (applied or refused, with every change or \
        problem). Each event has a sequence \
        number, a wall-clock time and a CLOCK_MONOTONIC time in nanoseconds (comparable \
        with `hanet status` and across daemons on one host).

        With --follow the connection stays open and events are printed as they happen \
        until interrupted. With --json each event is one JSON object per line (fields in \
        docs/operations.md).
        """)

    @OptionGroup var socket: SocketOptions
    @Flag(name: [.short, .long], help: "Keep printing new events as they happen.") var follow = false
    @Flag(name: .long, help: "One JSON object per event per line.") var json = false
    @Option(name: [.customShort("n"), .long], help: ArgumentHelp("Show at most this many stored events (the newest).", valueName: "count"))
    var limit: Int?

    func run() throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func show(_ e: DaemonEvent) {
            if json, let d = try? enc.encode(e) { print(String(decoding: d, as: UTF8.self)) } else { print(e.line) }
            ProcessSignals.flushStandardOutput()
        }
        var req = ControlProtocol.Request(.events)
        req.limit = limit
        var last: UInt64 = 0
        do {
            let a = try ControlProtocol.send(req, to: socket.socket)
            for e in a.events ?? [] { show(e); last = e.seq }
        } catch { fail(error) }
        guard follow else { return }
        var sub = ControlProtocol.Request(.subscribe)
        sub.after = last
        let line = String(decoding: try JSONEncoder().encode(sub), as: UTF8.self)
        let dec = JSONDecoder()
        do {
            try UnixSocketClient.stream(path: socket.socket, line: line) { text in
                if let e = try? dec.decode(DaemonEvent.self, from: Data(text.utf8)) { show(e) }
                return true
            }
        } catch { fail(error) }
        ProcessSignals.writeStderr("hanet: the daemon closed the event stream (stopped?)")
        throw ExitCode.failure
    }
}
