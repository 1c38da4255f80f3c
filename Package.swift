// swift-tools-version:6.0
import PackageDescription

/// Built-in plugins are C shared objects, one product per plugin folder under `Plugins/`.
/// C keeps them free of host symbols: the host and its plugins meet only at `hanet/plugin.h`.
/// SwiftPM links every library product with the Swift driver, which adds the Swift runtime
/// to these builds (the host has it loaded anyway); `make install` and `make deb` compile
/// the installed plugins with cc instead (mk/install.mk), and those need only libc.
///
/// The one list of them: mk/install.mk (and through it scripts/test-package.sh) and
/// HANetPluginTestKit read these two lines, so each stays on one line. SwiftPM caches the
/// evaluated manifest by its own text, so a list kept in another file would go unseen.
let builtinPlugins = ["ethernet", "usbnet", "ppp-serial", "ieee1394", "carrier", "arp-monitor", "ns-monitor", "ping-file"]
/// The plugins that link libpcap (the probing detectors send and capture with it).
let pcapPlugins = ["arp-monitor", "ns-monitor", "ping-file"]

func pluginTargetName(_ id: String) -> String {
    "HANetPlugin_" + String(id.map { $0 == "-" ? "_" : $0 })
}

/// Libraries a plugin links.
let pluginLinkerSettings: [String: [LinkerSetting]] = Dictionary(uniqueKeysWithValues: pcapPlugins.map { ($0, [.linkedLibrary("pcap")]) })

/// What the built-in plugins share (Plugins/support): a static C target linked into each
/// plugin's .so, hidden like the plugins' own code, so each .so still exports only the entry point.
/// plugin-template/ does not use it: a third-party plugin needs only `hanet/plugin.h`.
let pluginSupportTarget: Target = .target(
    name: "HANetPluginSupport",
    dependencies: ["CHANetPlugin"],
    path: "Plugins/support",
    cSettings: [.unsafeFlags(["-fvisibility=hidden", "-Wall", "-Werror"])]
)

let pluginTargets: [Target] = [pluginSupportTarget] + builtinPlugins.map { id in
    .target(
        name: pluginTargetName(id),
        dependencies: ["CHANetPlugin", "HANetPluginSupport"],
        path: "Plugins/\(id)",
        publicHeadersPath: ".",
        cSettings: [.unsafeFlags(["-fvisibility=hidden", "-Wall", "-Werror"])],
        linkerSettings: pluginLinkerSettings[id] ?? []
    )
}

let package = Package(
    name: "hanet",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "hanet", targets: ["hanet"]),
        .library(name: "HANetPluginTestKit", targets: ["HANetPluginTestKit"]),
    ] + builtinPlugins.map { .library(name: "hanet-plugin-\($0)", type: .dynamic, targets: [pluginTargetName($0)]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    ],
    targets: [
        // The plugin ABI: one header, no code.
        .target(name: "CHANetPlugin", path: "Sources/CHANetPlugin"),
        // Thin system-library modules.
        .systemLibrary(name: "CLibNL", path: "Sources/CLibNL", pkgConfig: "libnl-route-3.0",
                       providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]),
        .systemLibrary(name: "CNftables", path: "Sources/CNftables", pkgConfig: "libnftables",
                       providers: [.apt(["libnftables-dev"])]),
        .systemLibrary(name: "CPcap", path: "Sources/CPcap", providers: [.apt(["libpcap-dev"])]),
        .systemLibrary(name: "CUdev", path: "Sources/CUdev", pkgConfig: "libudev",
                       providers: [.apt(["libudev-dev"])]),
        .target(name: "CHANetShim", path: "Sources/CHANetShim"),

        // SHA-256 and HMAC-SHA256 (HANetCore/Digest.swift).
        .systemLibrary(name: "CLibCrypto", path: "Sources/CLibCrypto", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),

        .target(name: "HANetCore",
                dependencies: ["CLibCrypto"],
                swiftSettings: [.swiftLanguageMode(.v5)]),
        .target(name: "HANetSystem",
                dependencies: ["HANetCore", "CHANetPlugin", "CLibNL", "CNftables", "CPcap", "CUdev", "CHANetShim",
                               .product(name: "SystemPackage", package: "swift-system")],
                swiftSettings: [.swiftLanguageMode(.v5)]),
        .target(name: "HANetDaemon",
                dependencies: ["HANetCore", "HANetSystem", "CHANetPlugin",
                               .product(name: "Prometheus", package: "swift-prometheus"),
                               .product(name: "Logging", package: "swift-log"),
                               .product(name: "DequeModule", package: "swift-collections")],
                swiftSettings: [.swiftLanguageMode(.v5)]),
        .executableTarget(name: "hanet",
                          dependencies: ["HANetDaemon", "HANetCore", "HANetSystem",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: [.swiftLanguageMode(.v5)]),
        .target(name: "HANetPluginTestKit",
                dependencies: ["HANetDaemon", "HANetSystem", "CHANetPlugin"],
                swiftSettings: [.swiftLanguageMode(.v5)]),

        .testTarget(name: "HANetCoreTests", dependencies: ["HANetCore"],
                    swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(name: "HANetSystemTests", dependencies: ["HANetSystem", "HANetCore",
                                                            .product(name: "SystemPackage", package: "swift-system")],
                    swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(name: "HANetDaemonTests", dependencies: ["HANetDaemon", "HANetPluginTestKit", "HANetCore"],
                    swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(name: "HANetScenarioTests", dependencies: ["HANetCore", "HANetSystem", "HANetDaemon"],
                    swiftSettings: [.swiftLanguageMode(.v5)]),
    ] + pluginTargets
)
