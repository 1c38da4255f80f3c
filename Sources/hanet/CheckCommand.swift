import ArgumentParser
import FoundationEssentials
import HANetCore
import HANetDaemon
import HANetSystem

/// `hanet check`: validate a config without touching the kernel.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration file and print every problem in it.",
        discussion: """
        Parses the file and reports all problems at once, in file order, each as \
        FILE:LINE: KEY: what was expected and what was found. Then runs the checks the daemon \
        makes before it touches the kernel and that need no kernel: every sibling's key_file \
        readable and a valid key, every [hooks] script an executable file, and every link type \
        and detector name provided by a plugin in the plugins directory (loaded as \
        `hanet plugins list` does). The daemon refuses to start, and a reload is refused, on \
        the same problems. Interfaces that do not exist on this host are only found by the daemon.

        Then it warns about what is valid but almost certainly not meant: carrier listed with \
        a probing detector under detector_policy = "any" (the probe can never mark the link \
        BAD), a private link that names no sibling, a sibling on a public link, a sibling \
        allowed to carry this node's own addresses, detector settings no link uses, and \
        hot-plug rules that can never match. The daemon logs the same warnings at start.

        Exit status: 0 when the file is valid (with or without warnings), 1 when it has problems.
        """)

    @Option(name: .long, help: ArgumentHelp("The configuration file (TOML).", valueName: "file"))
    var config: String = HANetConfig.defaultFile

    @Option(name: .long, help: ArgumentHelp("Where plugins are loaded from; overrides HANET_PLUGINS_DIR and node.plugins_dir.", valueName: "dir"))
    var pluginsDir: String?

    @Flag(name: .long, help: "Skip the plugin checks (link types and detector names).")
    var noPlugins = false

    @Flag(name: .long, help: "Print one JSON object: {file, ok, problems: [{file, line, key, message}], warnings: [same], detectors, link_types}.")
    var json = false

    func run() throws {
        var search: PluginSearchPath?
        if !noPlugins {
            let configured = (try? ConfigCheck.read(config))?.node.pluginsDir
            search = PluginHost.defaultPluginsDirectory(explicit: pluginsDir, environment: ProcessInfo.processInfo.environment,
                                                        configured: configured, executableDirectory: ProcessSignals.executableDirectory)
        }
        let report = ConfigCheck.run(path: config, search: search)
        if json {
            print(try PluginAdmin.json(report))
        } else if report.ok {
            print(ConfigCheck.text(report))
        } else {
            ProcessSignals.writeStderr(ConfigCheck.text(report))
        }
        if !report.ok { throw ExitCode.failure }
    }
}
