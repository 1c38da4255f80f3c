import ArgumentParser
import FoundationEssentials
import HANetCore
import HANetDaemon
import HANetSystem

/// `hanet plugins`: what is in the plugins directory, and switching plugins on and off.
struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List, inspect, enable and disable plugins.",
        discussion: """
        The plugins directory is --plugins-dir, else $HANET_PLUGINS_DIR, else /usr/lib/hanet/plugins, \
        else (in a build tree) the folder of the hanet executable. Enable/disable is saved in \
        STATE_DIR/plugins.json (--state-dir, else $HANET_STATE_DIR, else /var/lib/hanet) and applied \
        by a running daemon at once.
        """,
        subcommands: [List.self, Info.self, Enable.self, Disable.self, Try.self],
        defaultSubcommand: List.self
    )

    struct Locations: ParsableArguments {
        @Option(name: .customLong("plugins-dir"), help: "Folder to load plugins from.")
        var pluginsDir: String?

        @Option(name: .customLong("state-dir"), help: "Folder holding plugins.json.")
        var stateDir: String?

        @Option(name: .customLong("socket"), help: "The daemon's control socket.")
        var socket: String = PluginAdmin.defaultSocketPath

        func admin() -> PluginAdmin {
            let env = ProcessInfo.processInfo.environment
            let search = PluginHost.defaultPluginsDirectory(explicit: pluginsDir, environment: env, configured: nil,
                                                            executableDirectory: ProcessSignals.executableDirectory)
            return PluginAdmin(search: search,
                               stateDirectory: PluginStateFile.resolveDirectory(explicit: stateDir, environment: env),
                               socketPath: socket)
        }
    }

    static func fail(_ error: Error) -> Error {
        ProcessSignals.writeStderr("hanet plugins: \(error)")
        return ExitCode.failure
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every plugin file found, with its state and the reason for a refusal.")
        @OptionGroup var locations: Locations
        @Flag(help: "Print JSON (an array of plugin records).") var json = false

        func run() throws {
            let admin = locations.admin()
            do {
                let records = try admin.records()
                print(json ? try PluginAdmin.json(records) : PluginAdmin.table(records, search: admin.search), terminator: json ? "\n" : "")
            } catch { throw PluginsCommand.fail(error) }
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Everything about one plugin: its types, their flags and descriptions.")
        @OptionGroup var locations: Locations
        @Flag(help: "Print JSON (one plugin record).") var json = false
        @Argument(help: "Plugin id (or file name).") var name: String

        func run() throws {
            do {
                let r = try locations.admin().info(name)
                print(json ? try PluginAdmin.json(r) : PluginAdmin.details(r), terminator: json ? "\n" : "")
            } catch { throw PluginsCommand.fail(error) }
        }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a plugin (persisted; a running daemon applies it at once).")
        @OptionGroup var locations: Locations
        @Argument(help: "Plugin id.") var name: String

        func run() throws {
            do { try locations.admin().setEnabled(name, true).forEach { print($0) } } catch { throw PluginsCommand.fail(error) }
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a plugin: its detectors stop (persisted; a running daemon applies it at once).")
        @OptionGroup var locations: Locations
        @Argument(help: "Plugin id.") var name: String

        func run() throws {
            do { try locations.admin().setEnabled(name, false).forEach { print($0) } } catch { throw PluginsCommand.fail(error) }
        }
    }
}
