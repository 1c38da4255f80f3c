import ArgumentParser

/// Every subcommand, in the order `hanet --help` lists them.
enum HANetSubcommands {
    static let all: [ParsableCommand.Type] = [RunCommand.self, StatusCommand.self, FailoverCommand.self, PluginsCommand.self,
                                             CheckCommand.self, ReloadCommand.self, EventsCommand.self]
}
