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
