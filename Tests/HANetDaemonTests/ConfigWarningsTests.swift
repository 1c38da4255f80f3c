import Foundation
import HANetCore
import HANetDaemon
import HANetPluginTestKit
import XCTest

/// `hanet check` warnings: configurations that parse and pass every check but
/// are almost certainly not what was meant. Each case is a small edit of one
/// valid base file, so a warning can only come from that edit.
final class ConfigWarningsTests: XCTestCase {
    static let base = """
    [node]
    name = "s1"

    [master]
    addresses = ["198.51.100.11/24"]

    [[link]]
    interface = "eth0"
    role = "public"
    detectors = ["carrier"]

    [[link]]
    interface = "priv0"
    role = "private"
    sibling = "s2"
    address = "169.254.77.1/30"

    [[sibling]]
    name = "s2"
    address = "169.254.77.2"
    key_file = "/etc/hanet/s2.key"
    addresses = ["198.51.100.12/32"]

    """

    func warnings(_ text: String) throws -> [ConfigProblem] {
        ConfigCheck.warnings(try HANetConfig.parse(text, file: "w.toml"))
    }

    func base(replacing old: String, with new: String) -> String {
        precondition(Self.base.contains(old), "the base has no \(old)")
        return Self.base.replacingOccurrences(of: old, with: new)
    }

    func testTheBaseHasNoWarning() throws {
        XCTAssertEqual(try warnings(Self.base), [])
    }

    /// A valid `[routing]` is driven by the daemon: nothing to warn about.
    func testAValidRoutingTableHasNoWarning() throws {
        XCTAssertEqual(try warnings(Self.base + "\n[routing]\nengine = \"bird\"\nlocal_as = 65001\nannounce = [\"198.51.100.11\"]\n"), [])
    }

    func testProbingDetectorWithCarrierUnderAnyWarnsAndAllDoesNot() throws {
        let any = try warnings(base(replacing: #"detectors = ["carrier"]"#, with: #"detectors = ["carrier", "arp-monitor"]"#))
        XCTAssertEqual(any.map(\.key), ["link[0].detectors"])
        XCTAssertEqual(any.first?.line, 7)
        XCTAssertTrue(any.first?.message.contains("'arp-monitor' can never mark it BAD") ?? false, "\(any)")
        XCTAssertTrue(any.first?.message.contains(#"detector_policy = "all""#) ?? false, "\(any)")

        let all = try warnings(base(replacing: #"detectors = ["carrier"]"#,
                                    with: "detectors = [\"carrier\", \"arp-monitor\"]\ndetector_policy = \"all\""))
        XCTAssertEqual(all, [])
        // A probing detector alone is what "any" is for.
        XCTAssertEqual(try warnings(base(replacing: #"detectors = ["carrier"]"#, with: #"detectors = ["arp-monitor"]"#)), [])
    }

    func testPrivateLinkWithoutSiblingAndSiblingOnPublicLinkWarn() throws {
        let noSibling = try warnings(base(replacing: "sibling = \"s2\"\n", with: ""))
        XCTAssertEqual(noSibling.map(\.key), ["link[1].sibling"])
        XCTAssertTrue(noSibling[0].message.contains("names no sibling"), "\(noSibling)")

        let onPublic = try warnings(base(replacing: "interface = \"eth0\"\n", with: "interface = \"eth0\"\nsibling = \"s2\"\n"))
        XCTAssertEqual(onPublic.map(\.key), ["link[0].sibling"])
        XCTAssertTrue(onPublic[0].message.contains("ignored"), "\(onPublic)")
    }

    func testSiblingAllowedToCarryThisNodesOwnAddressesWarns() throws {
        let w = try warnings(base(replacing: #"addresses = ["198.51.100.12/32"]"#, with: #"addresses = ["198.51.100.11/32"]"#))
        XCTAssertEqual(w.map(\.key), ["sibling[0].addresses"])
        XCTAssertTrue(w[0].message.contains("198.51.100.11/32 is this node's own"), "\(w)")
    }

    func testDetectorSettingsNoLinkRunsWarn() throws {
        let table = try warnings(Self.base + "[detector.arp-monitr]\ninterval_ms = 50\n")
        XCTAssertEqual(table.map(\.key), ["detector.arp-monitr"])
        let override = try warnings(base(replacing: "address = \"169.254.77.1/30\"\n",
                                          with: "address = \"169.254.77.1/30\"\n[link.detector.arp-monitor]\ninterval_ms = 20\n"))
        XCTAssertEqual(override.map(\.key), ["link[1].detector.arp-monitor"])
    }

    func hotplug(_ rules: String, enabled: Bool = true, detectors: String = #"["carrier"]"#) -> String {
        Self.base + "[hotplug]\nenabled = \(enabled)\ndetectors = \(detectors)\n" + rules
    }

    func testHotplugRulesThatCanNeverMatchWarn() throws {
        let w = try warnings(hotplug("""
        [[hotplug.allow]]
        name = "usb*"
        [[hotplug.allow]]
        name = "usb0"
        [[hotplug.allow]]
        subsystem = "usb"
        [[hotplug.allow]]
        name = "eth0"
        [[hotplug.allow]]
        driver = "cdc_ether"
        name = "enx*"
        [[hotplug.allow]]
        driver = "cdc_ether"

        """))
        XCTAssertEqual(w.map(\.key), ["hotplug.allow[1]", "hotplug.allow[2].subsystem", "hotplug.allow[3].name"], "\(w)")
        XCTAssertTrue(w[0].message.contains("hotplug.allow[0]"), "\(w)")
        XCTAssertTrue(w[1].message.contains("never matches"), "\(w)")
        XCTAssertTrue(w[2].message.contains("a configured [[link]]"), "\(w)")
        // The narrower rule before the broader one: both can match.
        XCTAssertFalse(w.contains { $0.key == "hotplug.allow[5]" })
    }

    func testHotplugRulesWhileOffAndProbingHotDetectorsWarn() throws {
        let off = try warnings(hotplug("[[hotplug.allow]]\nname = \"usb*\"\n", enabled: false))
        XCTAssertEqual(off.map(\.key), ["hotplug.enabled"])
        let masked = try warnings(hotplug("[[hotplug.allow]]\nsubsystem = \"tty\"\ndetectors = [\"carrier\", \"ppp-echo\"]\n",
                                          detectors: #"["carrier", "arp-monitor"]"#))
        XCTAssertEqual(masked.map(\.key), ["hotplug.detectors", "hotplug.allow[0].detectors"])
    }

    /// Through the executable: warnings are printed, the exit status stays 0,
    /// and --json carries them in `warnings` while `ok` stays true.
    func testCheckPrintsWarningsExitsZeroAndJSONListsThem() throws {
        let dir = try PluginTestKit.makeTrustedDirectory("warn")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let key = dir + "/s2.key"
        FileManager.default.createFile(atPath: key, contents: Data(String(repeating: "ab", count: 32).utf8),
                                       attributes: [.posixPermissions: 0o600])
        let file = dir + "/w.toml"
        try base(replacing: #"detectors = ["carrier"]"#, with: #"detectors = ["carrier", "arp-monitor"]"#)
            .replacingOccurrences(of: "/etc/hanet/s2.key", with: key).write(toFile: file, atomically: true, encoding: .utf8)
        let exe = try PluginTestKit.productsDirectory() + "/hanet"

        let text = try PluginTestKit.run(exe, ["check", "--config", file, "--no-plugins"], environment: [:])
        XCTAssertEqual(text.status, 0, text.stdout + text.stderr)
        XCTAssertTrue(text.stdout.contains("\(file):7: link[0].detectors: warning: "), text.stdout)
        XCTAssertTrue(text.stdout.hasSuffix("\(file): OK, 1 warning\n"), text.stdout)

        let json = try PluginTestKit.run(exe, ["check", "--config", file, "--no-plugins", "--json"], environment: [:])
        XCTAssertEqual(json.status, 0, json.stderr)
        let report = try JSONDecoder().decode(ConfigCheck.Report.self, from: Data(json.stdout.utf8))
        XCTAssertTrue(report.ok)
        XCTAssertEqual(report.problems.count, 0)
        XCTAssertEqual(report.warnings.map(\.key), ["link[0].detectors"])
        XCTAssertEqual(report.warnings.first?.line, 7)
    }
}
