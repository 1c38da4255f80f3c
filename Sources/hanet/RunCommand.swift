import ArgumentParser
import Dispatch
import FoundationEssentials
import HANetCore
import HANetDaemon
import HANetSystem

/// Options every command that talks to a running daemon shares.
struct SocketOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The daemon's control socket.", valueName: "path"))
    var socket: String = HANetConfig.defaultControlSocket
}

/// Prints an error the way every command does and exits non-zero.
func fail(_ error: Error) -> Never {
    if let c = error as? ConfigError {
        for p in c.problems { ProcessSignals.writeStderr("hanet: \(p)") }
    } else {
        ProcessSignals.writeStderr("hanet: \(error)")
    }
    ProcessSignals.exit(1)
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the HANet daemon in the foreground.",
        discussion: """
        Creates (or adopts) the master interface, programs the nftables netdev data plane, \
        starts the detectors of every configured link and switches the active slave when they \
        report faults. Logs go to stderr, at info and above unless HANET_LOG_LEVEL names \
        debug, warning or error; under systemd (stderr is the journal) each line carries its \
        journal priority instead of a time.

        The data plane is the kernel's: if the daemon dies, traffic keeps flowing on the \
        active slave, and the next daemon adopts the master and table it finds without a blip. \
        SIGTERM or SIGINT stop the daemon and leave forwarding in place unless --teardown is given.

        With [routing] (servers on different LANs), the daemon also writes BIRD's fragment \
        and announces this server's addresses through BIRD's control socket while a public \
        link is active, withdrawing them when none is (docs/routing.md); if BIRD does not \
        answer it runs on and tries again every second. --teardown withdraws them too.

        Needs root, and a kernel with nftables netdev `fwd` (CONFIG_NF_TABLES_NETDEV, \
        CONFIG_NFT_FWD_NETDEV) and veth.
        """)

    @Option(name: .long, help: ArgumentHelp("The configuration file (TOML).", valueName: "file"))
    var config: String = HANetConfig.defaultFile

    @Option(name: .long, help: ArgumentHelp("Control socket path; overrides node.control_socket.", valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("Where plugins are loaded from; overrides HANET_PLUGINS_DIR and plugins_dir.", valueName: "dir"))
    var pluginsDir: String?

    @Option(name: .long, help: ArgumentHelp("Where plugin enable/disable state is kept; overrides HANET_STATE_DIR.", valueName: "dir"))
    var stateDir: String?

    @Flag(name: .long, help: "On exit, remove the master interface and the data plane table.")
    var teardown = false

    func run() throws {
        // One malloc arena: about 2 MB less resident heap, see MallocArenas.
        MallocArenas.limit(to: 1)
        ProcessSignals.ignoreBrokenPipes()
        let cfg: HANetConfig
        do { cfg = try ConfigCheck.read(config) } catch { fail(error) }
        let daemon: Daemon
        do {
            daemon = Daemon(config: cfg, environment: try DaemonEnvironment.linux(),
                            options: DaemonOptions(socketPath: socket, pluginsDir: pluginsDir, stateDir: stateDir))
            try daemon.start()
        } catch { fail(error) }
        let teardown = self.teardown
        let signals = ProcessSignals.handle([.terminate, .interrupt], on: .main) { _ in
            daemon.stop(teardown: teardown)
            ProcessSignals.exit(0)
        }
        // SIGHUP: re-read the config (the same as `hanet reload`); the outcome is logged.
        let hangup = ProcessSignals.handle([.hangup], on: DispatchQueue(label: "hanet.reload")) { _ in _ = daemon.reload() }
        withExtendedLifetime((signals, hangup)) { dispatchMain() }
    }
}
