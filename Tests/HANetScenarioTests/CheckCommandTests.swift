import Foundation
import XCTest
import HANetCore
import HANetDaemon

/// `hanet check` on Tests/configs/check: one broken file per failure mode,
/// each listing the messages it must produce as `# expect:` lines. `@DIR@`
/// in a file stands for the folder the fixtures are copied to. Key files are
/// copied with mode 0600, but loose.key with 0644 (key-mode.toml's problem).
final class CheckCommandTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "hanet-check-\(UInt32.random(in: 0..<UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let src = repositoryRoot + "/Tests/configs/check"
        for name in try FileManager.default.contentsOfDirectory(atPath: src) {
            let text = try String(contentsOfFile: "\(src)/\(name)", encoding: .utf8).replacingOccurrences(of: "@DIR@", with: dir)
            try text.write(toFile: "\(dir)/\(name)", atomically: true, encoding: .utf8)
            var mode = (try FileManager.default.attributesOfItem(atPath: "\(src)/\(name)")[.posixPermissions] as? Int) ?? 0o644
            // Git keeps no 0600; as root the daemon refuses a key file group or others may read.
            if name.hasSuffix(".key") { mode = name == "loose.key" ? 0o644 : 0o600 }
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: "\(dir)/\(name)")
        }
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// The real folder of the plugins (the host refuses a symlinked folder).
    var pluginsDir: String { (productsDirectory as NSString).resolvingSymlinksInPath }

    func check(_ name: String, json: Bool = false) throws -> (status: Int32, out: String) {
        try sh("\(productsDirectory)/hanet check --config \(dir)/\(name) --plugins-dir \(pluginsDir)\(json ? " --json" : "") 2>&1", check: false)
    }

    func testEveryBrokenConfigPrintsItsExpectedProblemsAndFails() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".toml") && $0 != "good.toml" }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 9)
        for f in files {
            let expected = try String(contentsOfFile: "\(dir)/\(f)", encoding: .utf8).split(separator: "\n")
                .filter { $0.hasPrefix("# expect: ") }.map { "\(dir)/" + $0.dropFirst("# expect: ".count) }
            XCTAssertFalse(expected.isEmpty, "\(f) has no # expect: line")
            let r = try check(f)
            XCTAssertEqual(r.status, 1, "\(f): \(r.out)")
            for e in expected {
                XCTAssertTrue(r.out.contains(e), "\(f): expected\n  \(e)\nin\n\(r.out)")
            }
        }
    }

    func testSeveralProblemsAreAllReportedInFileOrder() throws {
        let r = try check("several.toml")
        let lines = r.out.split(separator: "\n").filter { $0.contains("several.toml:") && !$0.hasSuffix("problems") }
        XCTAssertEqual(lines.count, 5, r.out)
        let numbers = lines.compactMap { l in l.split(separator: ":").dropFirst().first.flatMap { Int($0) } }
        XCTAssertEqual(numbers, numbers.sorted(), r.out)
    }

    func testValidConfigPassesAndJSONNamesTheProblems() throws {
        let good = try check("good.toml")
        XCTAssertEqual(good.status, 0, good.out)
        XCTAssertTrue(good.out.contains("OK"), good.out)

        let r = try check("plugins.toml", json: true)
        XCTAssertEqual(r.status, 1)
        let report = try JSONDecoder().decode(ConfigCheck.Report.self, from: Data(r.out.utf8))
        XCTAssertFalse(report.ok)
        XCTAssertEqual(report.problems.map(\.key), ["link[0].type", "link[0].detectors[1]"])
        XCTAssertTrue(report.detectors?.contains("carrier") ?? false)
    }

    /// The daemon refuses to start on the same offline problems, before it
    /// touches the kernel: run in a namespace of its own with an eth0, so
    /// only the hook check can stop it, and nothing must have been created.
    func testDaemonRefusesToStartOnTheSameProblems() throws {
        let ns = "hnt\(String(UInt32.random(in: 0..<UInt32.max), radix: 36))-chk"
        try sh("ip netns add \(ns) && ip -n \(ns) link add eth0 type veth peer name eth0x")
        defer { _ = try? sh("ip netns del \(ns)", check: false) }
        let r = try sh("ip netns exec \(ns) \(productsDirectory)/hanet run --config \(dir)/hook-exec.toml --socket \(dir)/s.sock --plugins-dir \(pluginsDir) 2>&1", check: false)
        XCTAssertNotEqual(r.status, 0, r.out)
        XCTAssertTrue(r.out.contains("hooks.on_pta: hook \(dir)/notexec.sh is not an executable file"), r.out)
        let links = try sh("ip -n \(ns) -o link show").out
        XCTAssertFalse(links.contains("hanet0"), "the refused daemon created the master: \(links)")
    }
}
