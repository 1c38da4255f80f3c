import ArgumentParser
import HANetDaemon

/// The `hanet` tool: the daemon (`hanet run`) and the commands that inspect and steer it.
struct HANetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hanet",
        abstract: "Keep a Linux server reachable when all of its public network interfaces fail.",
        discussion: """
        HANet puts the server's service addresses on a virtual master interface whose \
        active slave can be any link: a public NIC, or a private link to a sibling server \
        that then carries the traffic (the Packet Transmission Agent). Link types and fault \
        detectors are plugins loaded from the plugins directory.
        """,
        version: BuildInfo.versionText,
        subcommands: HANetSubcommands.all
    )
}
