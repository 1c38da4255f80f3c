import ArgumentParser
import FoundationEssentials
import HANetCore
import HANetDaemon
import HANetSystem

/// `hanet reload`: the same as SIGHUP, with the daemon's answer.
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Make the running daemon re-read its configuration file.",
        discussion: """
        The daemon parses and checks the file again (as `hanet check` does). A file with \
        problems is refused and the daemon keeps running on the configuration it has; so is \
        a change that only a restart can apply (node, master name/port/addresses/table, \
        [[sibling]], [pta], [routing]). Otherwise it applies, without a blip: failback, garp settings, \
        updelay/downdelay, each link's priority, role, speed, detectors, detector_policy, \
        slow_link_policy and detector settings (those detectors restart; the slave keeps its \
        health meanwhile), the order of the links, [hooks], [metrics] and [hotplug] (its \
        rules apply to devices plugged in from then on).

        Links are added and removed live. A new [[link]] is opened as at start and joins as \
        a backup; a removed one that is active first hands its traffic to the best other \
        slave (one switch). A link whose type, address, sibling, device, baud or other \
        plugin key changed is closed and opened again, unless it is the active one (fail \
        over first). Every new link is opened before anything changes: one that cannot be \
        (a missing interface, a plugin that refuses) refuses the whole reload, and so does \
        removing the active slave when no other slave that stays is GOOD.

        Prints what was applied, or every reason for the refusal. SIGHUP does the same and \
        logs the outcome.

        Exit status: 0 when applied, 1 when refused or no daemon answered.
        """)

    @OptionGroup var socket: SocketOptions
    @Flag(name: .long, help: "Print the daemon's answer as JSON: {ok, applied: [...], problems: [...]}.") var json = false

    func run() throws {
        let answer: ControlProtocol.Answer
        // A refused reload is an answer too (ok false, with its reasons): exchange, not send.
        do { answer = try ControlProtocol.exchange(.init(.reload), to: socket.socket, timeoutMillis: 30_000) } catch { fail(error) }
        guard let r = answer.reload else {
            fail(HANetError(HANetError.Code(rawValue: answer.code ?? "error"), answer.error ?? "the daemon sent no reload result"))
        }
        if json {
            print(try PluginAdmin.json(r))
        } else if r.ok {
            print(r.applied.isEmpty ? "reloaded: nothing changed" : "reloaded:\n" + r.applied.map { "  \($0)" }.joined(separator: "\n"))
        } else {
            ProcessSignals.writeStderr("hanet: reload refused, the daemon keeps its running configuration:\n"
                                       + r.problems.map { "  \($0)" }.joined(separator: "\n"))
        }
        if !r.ok { throw ExitCode.failure }
    }
}
