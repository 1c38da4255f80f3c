import ArgumentParser
import FoundationEssentials
import Glibc
import HANetCore
import HANetDaemon
import HANetSystem

extension PluginsCommand {
    /// `hanet plugins try`: a plugin on a real interface, with no daemon and no configuration file.
    struct Try: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one detector (or link type) on a real interface, without a daemon or a configuration file.",
            discussion: """
            Loads every plugin from the plugins directory (disabled ones too), then:

            For a DETECTOR type: creates one instance watching --slave, polls it every interval \
            (interval_ms, else the type's default) on the daemon's scheduler, forwards the kernel's \
            link events for the interface to it, and prints each verdict as it arrives with its reason \
            and, for probing detectors, its probe counters. A poll that takes longer than the budget \
            of \(PluginHost.pollBudgetNanos / 1_000_000) ms (HANET_POLL_BUDGET_MS) is printed as \
            SLOW POLL. After --for, the instance is destroyed and a summary of its polls is printed; \
            without --for it runs until interrupted.

            For a LINK type: prints what the type's probe answers for the interface (its score; 0 means \
            it does not claim it) and what describe says about it (layer, role, header and address \
            sizes, MTU, speed, flags), then exits.

            --set takes the keys of [detector.TYPE] (or of a [[link]] for a link type) and may be \
            repeated. The value is read as TOML (42, true, "text", ["198.51.100.1", "198.51.100.2"]); \
            anything else is taken as a bare string, so --set path=/run/flag needs no quotes. The \
            damping keys init_wait_ms, updelay_ms and downdelay_ms apply as under the daemon.

            Detectors that open raw sockets (arp-monitor, ns-monitor, ping-file) need root or CAP_NET_RAW, as \
            under the daemon.

            EXAMPLES
              hanet plugins try carrier --slave eth0 --for 10s
              hanet plugins try arp-monitor --slave eth0 --set 'targets=["198.51.100.1"]' --set interval_ms=100
              hanet plugins try file-flag --slave eth0 --set path=/run/hanet/fault-eth0 --json
              hanet plugins try ethernet --slave eth0

            OUTPUT
              Text: one line per event, "SECONDS  TYPE on SLAVE: HEALTH  REASON  [probes N, replies N, ...]".
              --json: one JSON object per line with "event" (verdict, slow-poll, probe, describe, summary), \
            "elapsedMillis", "type", "slave" and, by event, "health", "reason", "counters", "pollMillis", \
            "budgetMillis", "score", "attributes", "polls", "slowPolls", "meanPollMicros".

            EXIT STATUS
              0 when the plugin ran; 1 when it could not be loaded or refused the interface or the settings.
            """
        )

        @OptionGroup var locations: Locations

        @Argument(help: "The detector or link type to try, as a link's `detectors` list or `type` names it.")
        var type: String

        @Option(name: .customLong("slave"), help: ArgumentHelp("The network interface to watch.", valueName: "IF"))
        var slave: String

        @Option(name: .customLong("set"), help: ArgumentHelp("A setting of the type, as in [detector.TYPE]; repeatable.", valueName: "key=value"))
        var settings: [String] = []

        @Option(name: .customLong("for"), help: ArgumentHelp("How long to run a detector: 5s, 500ms, 2m (default: until interrupted).", valueName: "duration"))
        var duration: String?

        @Flag(help: "Print JSON lines, one per event.") var json = false

        @Flag(help: "Also print the host's and plugins' debug and info log lines (warnings and errors always go to stderr).")
        var verbose = false

        func validate() throws {
            for s in settings where !s.contains("=") || s.hasPrefix("=") {
                throw ValidationError("--set \(s): expected key=value")
            }
            if let d = duration, Self.seconds(d) == nil {
                throw ValidationError("--for \(d): expected a duration such as 5s, 500ms or 2m")
            }
        }

        /// "5s", "500ms", "2m" or a bare number of seconds.
        static func seconds(_ text: String) -> Double? {
            for (suffix, scale) in [("ms", 0.001), ("s", 1.0), ("m", 60.0)] where text.hasSuffix(suffix) {
                guard let v = Double(text.dropLast(suffix.count)), v > 0 else { return nil }
                return v * scale
            }
            return Double(text).flatMap { $0 > 0 ? $0 : nil }
        }

        func run() throws {
            var config: [String: HANetConfig.Value] = [:]
            for s in settings {
                let eq = s.firstIndex(of: "=")!
                config[String(s[..<eq])] = PluginTrial.configValue(String(s[s.index(after: eq)...]))
            }
            let search = locations.admin().search
            let verbose = verbose
            let host = PluginHost { plugin, level, message in
                if verbose || level >= 2 /* HANET_LOG_WARNING */ { ProcessSignals.writeStderr("\(plugin): \(message)") }
            }
            let records = host.load(from: search, disabled: [])
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            do {
                guard host.linkTypeNames().contains(type) || host.detectorTypeNames().contains(type) else {
                    let known = (host.detectorTypeNames() + host.linkTypeNames()).sorted().joined(separator: ", ")
                    let refused = records.filter { $0.reason != nil }.map { "\(FilePath.lastComponent($0.file)): \($0.reason ?? "")" }
                    throw HANetError(.notFound, "no plugin in \(search.directory) provides type \"\(type)\" (known: \(known.isEmpty ? "none" : known))"
                                     + (refused.isEmpty ? "" : "; refused: " + refused.joined(separator: "; ")))
                }
                try PluginTrial(host: host).run(type: type, slave: slave, config: config, seconds: duration.flatMap(Self.seconds)) { event in
                    if json, let data = try? encoder.encode(event) {
                        print(String(decoding: data, as: UTF8.self))
                    } else {
                        print(event.text)
                    }
                    // Lines go out as they happen, also into a pipe.
                    fflush(stdout)
                }
            } catch { throw PluginsCommand.fail(error) }
        }
    }
}
