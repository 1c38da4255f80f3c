import Foundation
import HANetCore
import HANetDaemon
import HANetPluginTestKit
import XCTest

/// `hanet plugins …` through the built executable (a fresh process per call,
/// so "survives a restart" is literal), and through its core, PluginAdmin.
final class PluginsCommandTests: XCTestCase {
    var stateDir = ""

    override func setUpWithError() throws {
        stateDir = try PluginTestKit.makeTrustedDirectory("state")
    }

    override func tearDownWithError() throws {
        if !stateDir.isEmpty { try? FileManager.default.removeItem(atPath: stateDir) }
    }

    func hanet(_ args: [String]) throws -> PluginTestKit.RunResult {
        let exe = try PluginTestKit.productsDirectory() + "/hanet"
        guard FileManager.default.isExecutableFile(atPath: exe) else {
            throw HANetError(.notFound, "\(exe) not built")
        }
        var env = ProcessInfo.processInfo.environment
        env["HANET_PLUGINS_DIR"] = nil
        env["HANET_STATE_DIR"] = nil
        return try PluginTestKit.run(exe, args + ["--state-dir", stateDir, "--socket", stateDir + "/no-daemon.sock"], environment: env)
    }

    func listJSON() throws -> [PluginRecord] {
        let r = try hanet(["plugins", "list", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        do {
            return try JSONDecoder().decode([PluginRecord].self, from: Data(r.stdout.utf8))
        } catch {
            XCTFail("`hanet plugins list --json` is not valid JSON of plugin records (\(error)):\n\(r.stdout)\n\(r.stderr)")
            throw error
        }
    }

    func testExecutableListsEnablesAndDisablesAcrossRestarts() throws {
        let exe = try PluginTestKit.productsDirectory() + "/hanet"
        let help = try PluginTestKit.run(exe, ["--help"])
        guard help.stdout.contains("\n  plugins ") else {
            XCTFail("`hanet plugins` is not registered (add PluginsCommand.self to HANetSubcommands.all):\n\(help.stdout)")
            return
        }
        let records = try listJSON()
        XCTAssertEqual(Set(records.compactMap(\.id)), Set(PluginTestKit.builtinPluginIDs))
        XCTAssertTrue(records.allSatisfy { $0.state == .enabled }, "\(records)")
        // The raw JSON carries the documented field names.
        let raw = try JSONSerialization.jsonObject(with: Data(try hanet(["plugins", "list", "--json"]).stdout.utf8)) as? [[String: Any]]
        let first = try XCTUnwrap(raw?.first)
        for key in ["id", "file", "version", "abiMajor", "abiMinor", "kinds", "linkTypes", "detectorTypes", "state", "types"] {
            XCTAssertNotNil(first[key], "missing \(key) in \(first)")
        }

        let off = try hanet(["plugins", "disable", "carrier"])
        XCTAssertEqual(off.status, 0, off.stderr)
        XCTAssertTrue(off.stdout.contains("no running daemon; applies at next start"), off.stdout)
        XCTAssertEqual(try listJSON().first { $0.id == "carrier" }?.state, .disabled, "the next process sees it disabled")
        XCTAssertEqual(try PluginStateFile(directory: stateDir).load(), ["carrier"])

        let text = try hanet(["plugins", "list"])
        XCTAssertTrue(text.stdout.contains("carrier") && text.stdout.contains("disabled"), text.stdout)

        let on = try hanet(["plugins", "enable", "carrier"])
        XCTAssertEqual(on.status, 0, on.stderr)
        XCTAssertEqual(try listJSON().first { $0.id == "carrier" }?.state, .enabled)

        let unknown = try hanet(["plugins", "disable", "no-such-plugin"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("no plugin with id \"no-such-plugin\""), unknown.stderr)

        let info = try hanet(["plugins", "info", "arp-monitor", "--json"])
        XCTAssertEqual(info.status, 0, info.stderr)
        let rec = try JSONDecoder().decode(PluginRecord.self, from: Data(info.stdout.utf8))
        XCTAssertEqual(rec.types.first?.name, "arp-monitor")
        XCTAssertNil(rec.types.first?.unavailableReason, "arp-monitor is implemented")
        XCTAssertTrue(rec.types.first?.description?.contains("RFC 5227") ?? false, "\(String(describing: rec.types.first))")
        let infoText = try hanet(["plugins", "info", "carrier"])
        XCTAssertTrue(infoText.stdout.contains("detector type carrier") && infoText.stdout.contains("event-driven"), infoText.stdout)
    }

    func testAdminCoreRoundTrip() throws {
        let search = PluginSearchPath(directory: try PluginTestKit.productsDirectory(), source: .buildTree)
        let admin = PluginAdmin(search: search, stateDirectory: stateDir, socketPath: stateDir + "/none.sock")
        XCTAssertEqual(try admin.records().count, PluginTestKit.builtinPluginIDs.count)
        let lines = try admin.setEnabled("usbnet", false)
        XCTAssertEqual(lines.last, "no running daemon; applies at next start")
        XCTAssertEqual(try PluginAdmin(search: search, stateDirectory: stateDir).records().first { $0.id == "usbnet" }?.state, .disabled)
        _ = try admin.setEnabled("usbnet", true)
        XCTAssertEqual(try admin.info("usbnet").state, .enabled)
        XCTAssertThrowsError(try admin.info("nope")) { XCTAssertEqual(($0 as? HANetError)?.code, .notFound) }
        let table = PluginAdmin.table(try admin.records(), search: search)
        XCTAssertTrue(table.contains("ID") && table.contains("usbnet") && table.contains("(buildTree)"), table)
    }
}
