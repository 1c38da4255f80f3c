import HANetDaemon

/// What `hanet --version` prints: the release, the commit it was built from,
/// and the plugin ABI this host speaks.
enum BuildInfo {
    /// The release. The Makefile reads it from this line for the package and hanet-plugin.pc.
    static let version = "0.1.0"

    static var versionText: String {
        "hanet \(version) (commit \(commit), plugin ABI \(PluginHost.abiMajor).\(PluginHost.abiMinor))"
    }
}

// The Makefile's release build defines HANET_BUILD_INFO and writes the commit
// into BuildCommit.generated.swift (scripts/build-info.sh); a plain
// `swift build` has neither and says so.
#if !HANET_BUILD_INFO
extension BuildInfo {
    static let commit = "unknown: not built by make"
}
#endif
