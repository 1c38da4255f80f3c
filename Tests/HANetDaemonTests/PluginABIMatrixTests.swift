import Foundation
import HANetCore
import HANetDaemon
import HANetPluginTestKit
import XCTest

/// The minor-version promise of hanet/plugin.h: a plugin states the minor it
/// requires, and every host of that minor or later loads it. Plugins built
/// against this header require 1.0, 1.1 and 1.2, and one is an old binary
/// built against the 1.1 header; the 1.1 host is old-host-1.1.c built against
/// that 1.1 header (Tests/PluginABIFixtures), making the 1.1 host's checks.
final class PluginABIMatrixTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try PluginTestKit.makeTrustedDirectory("abi")
    }

    override func tearDownWithError() throws {
        if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// A detector built with plugin-util.h requiring minor `minor`: its verdict
    /// lists `targets` element by element and says whether the host has config_get_at.
    static func utilPlugin(minor: Int) -> String {
        """
        #include <hanet/plugin-util.h>
        typedef struct { hanet_util_reporter r; } inst;
        static int create(void *s, const hanet_detector_context *ctx, void **out, char *e, size_t n) {
            (void)s; (void)e; (void)n;
            inst *x = calloc(1, sizeof *x);
            hanet_util_reporter_init(&x->r, ctx);
            char items[256] = "";
            size_t count = hanet_util_config_count(ctx->api, ctx->config, "targets");
            for (size_t i = 0; i < count; i++) {
                char item[64];
                if (hanet_util_config_item(ctx->api, ctx->config, "targets", i, item, sizeof item) != 1) continue;
                if (i > 0) strcat(items, "|");
                strcat(items, item);
            }
            hanet_util_report(&x->r, HANET_HEALTH_GOOD, "%zu targets: %s (config_get_at: %s)", count, items,
                              HANET_HOST_API_HAS(ctx->api, config_get_at) ? "yes" : "no");
            hanet_util_report_counters(ctx->api, ctx->handle, 1, 1, 0);
            *out = x;
            return HANET_OK;
        }
        static void destroy(void *i) { free(i); }
        static const hanet_detector_type type = {
            .struct_size = sizeof(hanet_detector_type), .name = "abi-1-\(minor)", .description = "ABI matrix",
            .create = create, .destroy = destroy,
        };
        HANET_UTIL_DETECTOR_PLUGIN("abi-1-\(minor)", "1.0.0", \(minor), type, "requires ABI 1.\(minor)")
        """
    }

    /// A plugin as written for the 1.1 header: it says nothing about the minor, so it requires 1.1.
    static let oldBinaryPlugin = """
        #include <hanet/plugin.h>
        #include <stdlib.h>
        static int create(void *s, const hanet_detector_context *ctx, void **out, char *e, size_t n) {
            (void)s; (void)e; (void)n; *out = NULL;
            const char *t = ctx->api->config_get(ctx->api, ctx->config, "targets");
            ctx->api->report(ctx->api, ctx->handle, HANET_HEALTH_GOOD, t ? t : "none");
            return HANET_OK;
        }
        static void destroy(void *i) { (void)i; }
        static const hanet_detector_type type = {
            .struct_size = sizeof(hanet_detector_type), .name = "abi-old", .description = "built against 1.1",
            .create = create, .destroy = destroy,
        };
        static int init(const hanet_host_api *api, void **state, char *error, size_t error_size) {
            (void)state; (void)error; (void)error_size;
            return api->register_detector(api, &type);
        }
        static const hanet_plugin_descriptor descriptor = {
            HANET_PLUGIN_DESCRIPTOR_HEADER, .id = "abi-old", .version = "1.1.0", .description = "old binary", .init = init,
        };
        HANET_PLUGIN_EXPORT const hanet_plugin_descriptor *HANET_PLUGIN_ENTRY(void) { return &descriptor; }
        """

    var oldHeader: String { PluginTestKit.abiFixturesDirectory + "/abi-1.1" }

    func buildMatrix() throws {
        for minor in 0...2 {
            try PluginTestKit.compilePlugin(source: Self.utilPlugin(minor: minor), fileName: "abi-1-\(minor).so", in: dir,
                                            flags: ["-Wextra"])
        }
        try PluginTestKit.compilePlugin(source: Self.oldBinaryPlugin, fileName: "abi-old.so", in: dir, includeDirectory: oldHeader)
    }

    func testHost12LoadsPluginsRequiring10And11And12AndA11Binary() throws {
        XCTAssertEqual(PluginHost.abiMinor, 2)
        try buildMatrix()
        let host = PluginHost { _, _, _ in }
        let records = host.load(from: PluginSearchPath(directory: dir, source: .option), disabled: [])
        XCTAssertEqual(records.map { "\($0.id ?? "-") \($0.state.rawValue) 1.\($0.abiMinor ?? -1)" },
                       ["abi-1-0 enabled 1.0", "abi-1-1 enabled 1.1", "abi-1-2 enabled 1.2", "abi-old enabled 1.1"],
                       records.compactMap(\.reason).joined(separator: "\n"))
        let table = PluginAdmin.table(records, search: PluginSearchPath(directory: dir, source: .option))
        XCTAssertTrue(table.contains("REQUIRES"), table)
        let row = table.split(separator: "\n").first { $0.hasPrefix("abi-1-0 ") }.map { $0.split(separator: " ") }
        XCTAssertEqual(row?.suffix(2), ["1.0", "abi-1-0.so"], table)

        // A 1.2 host hands arrays element by element: a comma inside an element stays inside it.
        let targets: HANetConfig.Value = .array([.string("198.51.100.1,x"), .string("198.51.100.2")])
        for minor in 0...2 {
            let rec = ReportRecorder()
            let d = try host.createDetector(type: "abi-1-\(minor)", slave: "abi0", ifindex: 0, layer: .l2, intervalMillis: nil,
                                            config: ["targets": targets], report: rec.callback)
            defer { d.destroy() }
            XCTAssertTrue(rec.waitForLast(.good), "\(rec.reports)")
            XCTAssertEqual(rec.last?.reason, "2 targets: 198.51.100.1,x|198.51.100.2 (config_get_at: yes)")
            XCTAssertEqual(d.counters?.probesSent, 1)
        }
        let rec = ReportRecorder()
        let old = try host.createDetector(type: "abi-old", slave: "abi0", ifindex: 0, layer: .l2, intervalMillis: nil,
                                          config: ["targets": targets], report: rec.callback)
        defer { old.destroy() }
        XCTAssertTrue(rec.waitForLast(.good), "\(rec.reports)")
        XCTAssertEqual(rec.last?.reason, "198.51.100.1,x,198.51.100.2", "config_get keeps its 1.1 encoding")
    }

    func testHost11LoadsA12PluginRequiring10AndRefusesOneRequiring12() throws {
        try buildMatrix()
        let fixtureHeader = try String(contentsOfFile: oldHeader + "/hanet/plugin.h", encoding: .utf8)
        XCTAssertTrue(fixtureHeader.contains("#define HANET_PLUGIN_ABI_MINOR 1\n"), "the old host is built from the 1.1 header")
        let oldHost = dir + "/old-host-1.1"
        let cc = try PluginTestKit.run("/usr/bin/cc", ["-std=c11", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Werror", "-I", oldHeader,
                                                       "-o", oldHost, PluginTestKit.abiFixturesDirectory + "/old-host-1.1.c", "-ldl"])
        XCTAssertEqual(cc.status, 0, cc.stderr)

        // 1.1 hosts join arrays with commas; HANET_HOST_API_HAS tells the plugin it must split them itself.
        let r0 = try PluginTestKit.run(oldHost, [dir + "/abi-1-0.so", "targets=198.51.100.1,198.51.100.2"])
        XCTAssertEqual(r0.status, 0, r0.stdout + r0.stderr)
        XCTAssertEqual(r0.stdout.split(separator: "\n"),
                       ["loaded abi-1-0 requires 1.0", "report 1 2 targets: 198.51.100.1|198.51.100.2 (config_get_at: no)", "counters 1 1"])

        let r1 = try PluginTestKit.run(oldHost, [dir + "/abi-1-1.so"])
        XCTAssertEqual(r1.status, 0, r1.stdout + r1.stderr)
        XCTAssertTrue(r1.stdout.hasPrefix("loaded abi-1-1 requires 1.1\n"), r1.stdout)

        let old = try PluginTestKit.run(oldHost, [dir + "/abi-old.so", "targets=a,b"])
        XCTAssertEqual(old.stdout.split(separator: "\n"), ["loaded abi-old requires 1.1", "report 1 a,b"])

        let r2 = try PluginTestKit.run(oldHost, [dir + "/abi-1-2.so"])
        XCTAssertEqual(r2.status, 1)
        XCTAssertEqual(r2.stdout, "refused: built for plugin ABI 1.2, newer than this host's 1.1\n")
    }
}
