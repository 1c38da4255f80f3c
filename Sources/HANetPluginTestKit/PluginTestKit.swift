import Foundation
import HANetCore
import HANetDaemon
import HANetSystem

/// Helpers for tests that load real plugins: where SwiftPM put the built
/// ones, the ABI header and template in the source tree, folders the
/// loader's root rules accept, and compiling small C plugins on the fly.
public enum PluginTestKit {
    /// The package root, from this file's location (Sources/HANetPluginTestKit/…).
    public static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }

    /// The directory that holds hanet/plugin.h, for `cc -I`.
    public static var headerDirectory: String { packageRoot + "/Sources/CHANetPlugin/include" }

    /// The third-party plugin template.
    public static var templateDirectory: String { packageRoot + "/plugin-template" }

    /// The out-of-tree example plugins, one folder each.
    public static var examplesDirectory: String { packageRoot + "/plugin-examples" }

    /// What the ABI compatibility tests build old hosts and old plugins from:
    /// the 1.1 header (abi-1.1/hanet/plugin.h) and a 1.1 host (old-host-1.1.c).
    public static var abiFixturesDirectory: String { packageRoot + "/Tests/PluginABIFixtures" }

    /// The built-in plugin ids, read from Package.swift's one-line `let builtinPlugins = [...]`
    /// as mk/install.mk reads it; empty when it is not there, which the tests comparing
    /// against it then report.
    public static var builtinPluginIDs: [String] {
        guard let manifest = try? String(contentsOfFile: packageRoot + "/Package.swift", encoding: .utf8),
              let line = manifest.split(separator: "\n").first(where: { $0.hasPrefix("let builtinPlugins = [") && $0.hasSuffix("]") })
        else { return [] }
        return line.dropFirst("let builtinPlugins = [".count).dropLast()
            .split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")) }
    }

    /// The SwiftPM products folder of the running tests: SwiftPM puts the
    /// plugin .so files, the `hanet` executable and the .xctest bundle side by
    /// side. On Linux the test process *is* the .xctest file, so its folder is
    /// the products folder; the loaded .xctest bundle's parent is tried too.
    /// Throws (never returns a guess) when the plugins are not there, so a test
    /// that needs them fails instead of silently skipping.
    public static func productsDirectory() throws -> String {
        var candidates = [ProcessSignals.executableDirectory]
        for b in Bundle.allBundles where b.bundlePath.hasSuffix(".xctest") {
            candidates.append((b.bundlePath as NSString).deletingLastPathComponent)
        }
        let marker = "libhanet-plugin-ethernet.so"
        for c in candidates where FileManager.default.fileExists(atPath: c + "/" + marker) {
            return c
        }
        throw HANetError(.notFound, "built plugins not found: no \(marker) in \(candidates.joined(separator: " or ")); build them with `swift build --product hanet-plugin-ethernet` (swift test builds every product)")
    }

    /// A fresh folder under /tmp with mode 0755, owned by the caller (root in
    /// the test runs), which the loader's root-ownership rules accept.
    public static func makeTrustedDirectory(_ tag: String = "plugins") throws -> String {
        let path = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("hanet-\(tag)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    /// Compiles C `source` into `directory/fileName` with `cc -shared -fPIC`
    /// against the in-tree header (or the one under `includeDirectory`), mode
    /// 0644. The .c file goes to a scratch folder so that it is not a
    /// candidate in the plugins folder.
    @discardableResult
    public static func compilePlugin(source: String, fileName: String, in directory: String, flags: [String] = [],
                                     includeDirectory: String = headerDirectory) throws -> String {
        let scratch = try makeTrustedDirectory("src")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let src = scratch + "/plugin.c"
        try source.write(toFile: src, atomically: true, encoding: .utf8)
        let out = directory + "/" + fileName
        let r = try run("/usr/bin/cc", ["-shared", "-fPIC", "-Wall", "-Werror", "-I", includeDirectory] + flags + ["-o", out, src])
        guard r.status == 0 else {
            throw HANetError(.io, "cc failed for \(fileName) (status \(r.status)):\n\(r.stderr)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: out)
        return out
    }

    public struct RunResult {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs a program to completion and captures its output.
    public static func run(_ executable: String, _ arguments: [String], directory: String? = nil,
                           environment: [String: String]? = nil) throws -> RunResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if let environment { p.environment = environment }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Drain stderr concurrently so a chatty child cannot block on a full pipe.
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errBox.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let errData = errBox.data
        p.waitUntilExit()
        return RunResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
    }
}
