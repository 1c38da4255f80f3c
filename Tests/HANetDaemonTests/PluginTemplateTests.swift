import Foundation
import HANetCore
import HANetDaemon
import HANetPluginTestKit
import XCTest

/// The third-party template builds outside the package with `make`, loads
/// from a plugins folder like any plugin, and its verdicts reach the host.
final class PluginTemplateTests: XCTestCase {
    func testTemplateBuildsOutOfTreeLoadsAndReportsFileFlag() throws {
        let work = try PluginTestKit.makeTrustedDirectory("template")
        let plugins = try PluginTestKit.makeTrustedDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: work)
            try? FileManager.default.removeItem(atPath: plugins)
        }
        let copy = work + "/my-detector"
        try FileManager.default.copyItem(atPath: PluginTestKit.templateDirectory, toPath: copy)
        try? FileManager.default.removeItem(atPath: copy + "/build")
        let make = try PluginTestKit.run("/usr/bin/make", ["HANET_CFLAGS=-I\(PluginTestKit.headerDirectory)"], directory: copy)
        XCTAssertEqual(make.status, 0, "make failed:\n\(make.stdout)\n\(make.stderr)")
        let built = copy + "/build/hanet-plugin-file-flag.so"
        try FileManager.default.copyItem(atPath: built, toPath: plugins + "/hanet-plugin-file-flag.so")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: plugins + "/hanet-plugin-file-flag.so")

        let host = PluginHost { _, _, _ in }
        let records = host.load(from: PluginSearchPath(directory: plugins, source: .option), disabled: [])
        XCTAssertEqual(records.count, 1)
        let r = try XCTUnwrap(records.first)
        XCTAssertEqual(r.id, "file-flag")
        XCTAssertEqual(r.state, .enabled, r.reason ?? "")
        XCTAssertEqual(r.detectorTypes, ["file-flag"])
        XCTAssertEqual(r.types.first?.defaultIntervalMillis, 100)

        let flag = work + "/fault-hnt0"
        let rec = ReportRecorder()
        let d = try host.createDetector(type: "file-flag", slave: "hnt0", ifindex: 0, layer: .l2, intervalMillis: nil,
                                        config: ["path": .string(flag)], report: rec.callback)
        defer { d.destroy() }
        XCTAssertEqual(d.intervalMillis, 100)
        XCTAssertTrue(rec.waitForLast(.good), "initial verdict: \(rec.reports)")

        // The daemon's timer calls poll; here the test is the timer, until the verdict arrives.
        func pollUntil(_ health: Health) -> Bool {
            let deadline = Date(timeIntervalSinceNow: 5)
            while Date() < deadline {
                d.poll()
                if rec.wait(timeout: 0.1, until: { $0.last?.health == health }) { return true }
            }
            return false
        }
        XCTAssertTrue(FileManager.default.createFile(atPath: flag, contents: Data()))
        XCTAssertTrue(pollUntil(.bad), "\(rec.reports)")
        XCTAssertEqual(rec.last?.reason, "fault flag \(flag) exists")
        try FileManager.default.removeItem(atPath: flag)
        XCTAssertTrue(pollUntil(.good), "\(rec.reports)")
        XCTAssertEqual(rec.reports.map(\.health), [.good, .bad, .good])

        // A relative path is refused at create with the key and what was expected.
        XCTAssertThrowsError(try host.createDetector(type: "file-flag", slave: "hnt0", ifindex: 0, layer: .l2, intervalMillis: nil,
                                                     config: ["path": .string("relative/flag")]) { _, _ in }) {
            XCTAssertTrue("\($0)".contains("path = relative/flag: expected an absolute file path"), "\($0)")
        }
    }
}

/// The template README's `sh` blocks, run literally one after another in a
/// scratch HOME, take an author from copying the folder to seeing verdicts.
final class PluginTemplateReadmeTests: XCTestCase {
    func testReadmeShellStepsRunFromCopyToVerdict() throws {
        let readme = try String(contentsOfFile: PluginTestKit.templateDirectory + "/README.md", encoding: .utf8)
        var blocks: [String] = []
        var current: [Substring]?
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```sh" { current = [] } else if current != nil, line == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else { current?.append(line) }
        }
        XCTAssertGreaterThanOrEqual(blocks.count, 3, "copy, build, try")
        let home = try PluginTestKit.makeTrustedDirectory("readme")
        defer { try? FileManager.default.removeItem(atPath: home) }
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = home
        env["HANET_SRC"] = PluginTestKit.packageRoot
        env["PATH"] = try PluginTestKit.productsDirectory() + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        env["HANET_PLUGINS_DIR"] = nil
        env["HANET_STATE_DIR"] = home + "/state"
        let script = "set -e\n" + blocks.joined(separator: "\n")
        let r = try PluginTestKit.run("/bin/bash", ["-c", script], directory: home, environment: env)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("file-flag  enabled"), r.stdout)
        XCTAssertTrue(r.stdout.contains("file-flag on lo: GOOD  no fault flag (\(home)/fault-flag absent)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("file-flag on lo: BAD  fault flag \(home)/fault-flag exists"), r.stdout)
    }
}
